import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsEmail, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { ROLES, Role } from '@app/shared';
import { IsIanaTimeZone, IsKnownTimeZone } from '../http/common.dto';

export class CreateUserDto {
  @ApiProperty({ example: 'Sarah Lee' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role: Role;

  @ApiPropertyOptional()
  @IsOptional()
  @IsEmail()
  email?: string;

  @ApiPropertyOptional({ description: 'Free text' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  branch?: string;

  @ApiPropertyOptional({ description: 'Free text' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  department?: string;

  @ApiPropertyOptional({ description: "IANA time zone; default: the organization's, following its changes", example: 'Europe/London' })
  @IsOptional()
  @IsIanaTimeZone()
  timezone?: string;
}

/** PATCH /api/users/:id: absent fields stay as they are; branch and department take null to clear them. */
export class UpdateUserDto {
  // absent: unchanged; null is refused for name and active (they always have a value), taken by branch, department and timezone
  @ApiPropertyOptional()
  @ValidateIf((_, v) => v !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: String, description: 'Free text; null clears it', nullable: true })
  @ValidateIf((_, v) => v !== undefined && v !== null)
  @IsString()
  @MaxLength(200)
  branch?: string | null;

  @ApiPropertyOptional({ type: String, description: 'Free text; null clears it', nullable: true })
  @ValidateIf((_, v) => v !== undefined && v !== null)
  @IsString()
  @MaxLength(200)
  department?: string | null;

  @ApiPropertyOptional({ type: String, description: "IANA time zone; null: the organization's, following its changes", nullable: true })
  @ValidateIf((_, v) => v !== undefined && v !== null)
  @IsKnownTimeZone()
  timezone?: string | null;

  @ApiPropertyOptional({ description: 'false: their keys stop working and auto-assignment no longer picks them' })
  @ValidateIf((_, v) => v !== undefined)
  @IsBoolean()
  active?: boolean;
}

/** POST /api/users/:id/api-keys: the body may be empty. */
export class IssueApiKeyDto {
  @ApiPropertyOptional({ type: String, description: 'Free text to tell the user\'s keys apart; not secret, listed with the key', example: 'dialler, rotated 2026-03', nullable: true, maxLength: 100 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name?: string | null;
}

export class ListAgentsQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'] })
  @IsOptional()
  @IsIn(['true', 'false'])
  active?: 'true' | 'false';
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { HubAction, HubFilter } from '@app/hub';

const FILTERS: HubFilter[] = ['all', 'overdue', 'today', 'hot'];
const ACTIONS: HubAction[] = ['done', 'snooze'];

export class DueQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 10 })
  @IsOptional()
  // Strictly digits: "1e2", "0x10", " 1" or "2.0" are not what a client means by a positive integer.
  @Transform(({ value }) => (typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : Number.NaN))
  @IsInt({ message: 'limit must be a positive integer' })
  @Min(1, { message: 'limit must be a positive integer' })
  @Max(200, { message: 'limit must not be greater than 200' })
  limit?: number;

  @ApiPropertyOptional({ enum: FILTERS, default: 'all' })
  @IsOptional()
  @IsIn(FILTERS)
  filter?: HubFilter;

  @ApiPropertyOptional({ description: "another agent's hub (supervisors and admins only)" })
  @IsOptional()
  @IsUUID()
  agentId?: string;
}

export class DueActionDto {
  @ApiPropertyOptional({ description: 'one contact (inline row action); send this or personIds' })
  @ValidateIf((o) => o.personId !== undefined)
  @IsString()
  @MaxLength(100)
  personId?: string;

  @ApiPropertyOptional({ type: [String], maxItems: 200, description: 'several contacts (bulk action bar)' })
  @ValidateIf((o) => o.personIds !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  personIds?: string[];

  @ApiProperty({ enum: ACTIONS })
  @IsIn(ACTIONS)
  action: HubAction;
}

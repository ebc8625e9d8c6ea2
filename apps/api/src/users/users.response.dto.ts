import { ApiProperty } from '@nestjs/swagger';
import { Role, ROLES } from '@app/shared';

/** A user as the API returns it (UserRepository). */
export class UserDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'Sarah Lee' }) name: string;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty({ type: String, nullable: true }) branch: string | null;
  @ApiProperty({ type: String, nullable: true }) department: string | null;
  @ApiProperty({ example: 'Europe/London', description: "IANA time zone: their own, else the organization's as it is now" }) timezone: string;
  @ApiProperty({ description: "true: they have no time zone of their own and follow the organization's" }) timezoneFromOrg: boolean;
  @ApiProperty({ description: 'false: their keys do not work and auto-assignment does not pick them' }) active: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

/** POST /api/users: the new user and their first API key, shown this once. */
export class CreatedUserDto extends UserDto {
  @ApiProperty({ example: 'fk_…', description: 'The API key: shown this once, stored only as a hash' }) apiKey: string;
  @ApiProperty({ format: 'uuid', description: "The key's id (DELETE /api/api-keys/{id} revokes it)" }) apiKeyId: string;
}

export class AgentListDto {
  @ApiProperty({ type: [UserDto], description: 'By name' }) agents: UserDto[];
}

/** One of a user's API keys as an admin sees it: never the key or its hash. */
export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty({ type: String, nullable: true, description: "Free text to tell the user's keys apart" }) name: string | null;
  @ApiProperty({ example: 'fk_AbCdEfG', description: "The key's first characters (fk_ and 7 more), to tell which key a client is configured with" }) prefix: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'null: the key works (while its user is active)' }) revokedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it last authenticated a request, up to a minute behind; null: never' })
  lastUsedAt: string | null;
}

/** POST /api/users/{id}/api-keys: the key issued, shown this once. */
export class IssuedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ example: 'fk_…', description: 'The API key: shown this once, stored only as a hash' }) apiKey: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto], description: 'Oldest first, revoked ones included' }) apiKeys: ApiKeyDto[];
}

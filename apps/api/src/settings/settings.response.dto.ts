import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { ASSIGNMENT_SCOPES, ASSIGNMENT_STRATEGIES, AssignmentScope, AssignmentStrategy, RECYCLABLE_STATUSES, RecyclableStatus, WEEK_DAYS, WeekDay } from '@app/settings';

export class CallingWindowSettingsDto {
  @ApiProperty({ enum: WEEK_DAYS, isArray: true, example: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'] }) days: WeekDay[];
  @ApiProperty({ example: '08:00', description: "HH:MM, 24 h, in the contact's time zone" }) start: string;
  @ApiProperty({ example: '21:00', description: 'HH:MM, 24 h, exclusive; 24:00 is the end of the day' }) end: string;
}

export class AutoAssignmentSettingsDto {
  @ApiProperty() enabled: boolean;
  @ApiProperty({ enum: RECYCLABLE_STATUSES, isArray: true }) statuses: RecyclableStatus[];
  @ApiProperty({ type: 'integer' }) delaySeconds: number;
  @ApiProperty({ enum: ASSIGNMENT_STRATEGIES }) strategy: AssignmentStrategy;
  @ApiProperty({ enum: ASSIGNMENT_SCOPES }) scope: AssignmentScope;
  @ApiProperty({ type: 'integer' }) maxReassignments: number;
}

export class EndpointSettingsDto {
  @ApiProperty({ type: String, nullable: true, description: 'null: none configured. Shown to other roles than admin without its query string (`?[redacted]`)' }) url: string | null;
}

export class WebhookSettingsDto {
  @ApiProperty({ type: [String], description: 'Hosts that may be reached over plain http or at a private address' }) allowHttpHosts: string[];
}

/** An organization's settings (SPEC §7, SettingsController). */
export class SettingsDto {
  @ApiProperty({ example: 'UTC', description: "The organization's IANA time zone" }) timezone: string;
  @ApiProperty({ type: CallingWindowSettingsDto }) callingWindow: CallingWindowSettingsDto;
  @ApiProperty({ type: 'integer' }) snoozeDays: number;
  @ApiProperty({ type: 'integer' }) expireAfterDays: number;
  @ApiProperty({ type: 'integer' }) retryDelaySeconds: number;
  @ApiProperty({ type: 'integer' }) attemptTimeoutSeconds: number;
  @ApiProperty({ type: AutoAssignmentSettingsDto }) autoAssignment: AutoAssignmentSettingsDto;
  @ApiProperty({ type: EndpointSettingsDto, description: 'Receives signed dial requests for due call follow-ups' }) dialler: EndpointSettingsDto;
  @ApiProperty({ type: EndpointSettingsDto, description: 'The HTTP SMS provider' }) sms: EndpointSettingsDto;
  @ApiProperty({ type: WebhookSettingsDto }) webhooks: WebhookSettingsDto;
  @ApiPropertyOptional({ description: 'Signs webhooks, dial requests and SMS requests (Standard Webhooks): admins only, absent for every other role' })
  signingSecret?: string;
}

/** POST /api/settings/signing-secret/rotate (admins only, so the new secret is there). */
export class RotatedSettingsDto extends OmitType(SettingsDto, ['signingSecret'] as const) {
  @ApiProperty({ description: 'The new secret' }) signingSecret: string;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Until when the replaced secret keeps signing beside the new one (receivers must have the new one by then); null: it stopped at once',
  })
  previousSigningSecretExpiresAt: string | null;
}

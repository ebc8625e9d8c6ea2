import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import {
  ASSIGNMENT_SCOPES,
  ASSIGNMENT_STRATEGIES,
  AssignmentScope,
  AssignmentStrategy,
  DEFAULT_SIGNING_SECRET_GRACE_SECONDS,
  END_HH_MM,
  HH_MM,
  isValidHost,
  RECYCLABLE_STATUSES,
  RecyclableStatus,
  SETTINGS_LIMITS as L,
  settingsPatchProblems,
  WEEK_DAYS,
  WeekDay,
} from '@app/settings';
import { registerInputCheck } from '../http/validation.pipe';
import { IsKnownTimeZone, nonIanaZoneProblems } from '../http/common.dto';

/** Absent is fine; null is not (unlike @IsOptional, which lets null through). */
const Optional = () => ValidateIf((_o, v) => v !== undefined);

const IsHost = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isHost',
      validator: {
        validate: (v: unknown) => typeof v === 'string' && isValidHost(v),
        defaultMessage: () => 'allowHttpHosts must contain only hostnames or IP addresses (no scheme, port or path)',
      },
    },
    options,
  );

export class CallingWindowPatchDto {
  @ApiPropertyOptional({ enum: WEEK_DAYS, isArray: true, example: ['mon', 'tue', 'wed', 'thu', 'fri'] })
  @Optional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique({ message: 'days must not repeat a day' })
  @IsIn(WEEK_DAYS, { each: true, message: 'days must contain only mon, tue, wed, thu, fri, sat, sun' })
  days?: WeekDay[];

  @ApiPropertyOptional({ example: '08:00', description: 'HH:MM, 24 h, from 00:00 to 23:59' })
  @Optional()
  @IsString()
  @Matches(HH_MM, { message: 'start must be HH:MM (24 h), from 00:00 to 23:59' })
  start?: string;

  @ApiPropertyOptional({ example: '21:00', description: 'HH:MM, 24 h; after start, exclusive; 24:00 is the end of the day (calling until midnight)' })
  @Optional()
  @IsString()
  @Matches(END_HH_MM, { message: 'end must be HH:MM (24 h), up to 24:00 (the end of the day)' })
  end?: string;
}

export class AutoAssignmentPatchDto {
  @ApiPropertyOptional()
  @Optional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ enum: RECYCLABLE_STATUSES, isArray: true })
  @Optional()
  @IsArray()
  @ArrayUnique({ message: 'statuses must not repeat a status' })
  @IsIn(RECYCLABLE_STATUSES, { each: true, message: `statuses must contain only ${RECYCLABLE_STATUSES.join(', ')}` })
  statuses?: RecyclableStatus[];

  @ApiPropertyOptional({ minimum: L.delaySeconds.min, maximum: L.delaySeconds.max })
  @Optional()
  @IsInt()
  @Min(L.delaySeconds.min)
  @Max(L.delaySeconds.max)
  delaySeconds?: number;

  @ApiPropertyOptional({ enum: ASSIGNMENT_STRATEGIES })
  @Optional()
  @IsIn(ASSIGNMENT_STRATEGIES)
  strategy?: AssignmentStrategy;

  @ApiPropertyOptional({ enum: ASSIGNMENT_SCOPES })
  @Optional()
  @IsIn(ASSIGNMENT_SCOPES)
  scope?: AssignmentScope;

  @ApiPropertyOptional({ minimum: L.maxReassignments.min, maximum: L.maxReassignments.max })
  @Optional()
  @IsInt()
  @Min(L.maxReassignments.min)
  @Max(L.maxReassignments.max)
  maxReassignments?: number;
}

export class EndpointPatchDto {
  @ApiPropertyOptional({ nullable: true, type: String, description: 'https URL (http only to a host in webhooks.allowHttpHosts); null clears' })
  @IsOptional()
  @IsString()
  @MaxLength(L.url.maxLength)
  url?: string | null;
}

export class WebhooksPatchDto {
  @ApiPropertyOptional({ type: [String], description: 'Hosts that may be reached over plain http or at a private address', example: ['dialler.internal'] })
  @Optional()
  @IsArray()
  @ArrayMaxSize(L.allowHttpHosts.max)
  @IsHost({ each: true })
  allowHttpHosts?: string[];
}

const nested = <T>(cls: new () => T) => [Optional(), IsObject(), ValidateNested(), Type(() => cls)];
const apply =
  (...decorators: PropertyDecorator[]): PropertyDecorator =>
  (target, key) =>
    decorators.forEach((d) => d(target, key));

/** PATCH /api/settings: any subset; the nested sections merge one level deep. The signing secret is rotated, not patched. */
export class UpdateSettingsDto {
  @ApiPropertyOptional({ example: 'Europe/London', description: 'IANA time zone' })
  @Optional()
  @IsString()
  @IsKnownTimeZone({ message: 'timezone must be an IANA time zone such as Europe/London' })
  timezone?: string;

  @ApiPropertyOptional({ type: CallingWindowPatchDto })
  @apply(...nested(CallingWindowPatchDto))
  callingWindow?: CallingWindowPatchDto;

  @ApiPropertyOptional({ minimum: L.snoozeDays.min, maximum: L.snoozeDays.max })
  @Optional()
  @IsInt()
  @Min(L.snoozeDays.min)
  @Max(L.snoozeDays.max)
  snoozeDays?: number;

  @ApiPropertyOptional({ minimum: L.expireAfterDays.min, maximum: L.expireAfterDays.max })
  @Optional()
  @IsInt()
  @Min(L.expireAfterDays.min)
  @Max(L.expireAfterDays.max)
  expireAfterDays?: number;

  @ApiPropertyOptional({ minimum: L.retryDelaySeconds.min, maximum: L.retryDelaySeconds.max })
  @Optional()
  @IsInt()
  @Min(L.retryDelaySeconds.min)
  @Max(L.retryDelaySeconds.max)
  retryDelaySeconds?: number;

  @ApiPropertyOptional({ minimum: L.attemptTimeoutSeconds.min, maximum: L.attemptTimeoutSeconds.max })
  @Optional()
  @IsInt()
  @Min(L.attemptTimeoutSeconds.min)
  @Max(L.attemptTimeoutSeconds.max)
  attemptTimeoutSeconds?: number;

  @ApiPropertyOptional({ type: AutoAssignmentPatchDto })
  @apply(...nested(AutoAssignmentPatchDto))
  autoAssignment?: AutoAssignmentPatchDto;

  @ApiPropertyOptional({ type: EndpointPatchDto, description: 'Receives signed dial requests for due call follow-ups' })
  @apply(...nested(EndpointPatchDto))
  dialler?: EndpointPatchDto;

  @ApiPropertyOptional({ type: EndpointPatchDto, description: 'The HTTP SMS provider' })
  @apply(...nested(EndpointPatchDto))
  sms?: EndpointPatchDto;

  @ApiPropertyOptional({ type: WebhooksPatchDto })
  @apply(...nested(WebhooksPatchDto))
  webhooks?: WebhooksPatchDto;
}

// A refused patch names its other bad fields too (SPEC §9), those that need no stored setting.
registerInputCheck(UpdateSettingsDto, (body) => [...settingsPatchProblems(body), ...nonIanaZoneProblems(body.timezone)]);

/** POST /api/settings/signing-secret/rotate: the body is optional. */
export class RotateSigningSecretDto {
  @ApiPropertyOptional({
    minimum: L.graceSeconds.min,
    maximum: L.graceSeconds.max,
    default: DEFAULT_SIGNING_SECRET_GRACE_SECONDS,
    description: 'How long the replaced secret keeps signing beside the new one (a second signature in webhook-signature); 0: it stops at once',
  })
  @Optional()
  @IsInt()
  @Min(L.graceSeconds.min)
  @Max(L.graceSeconds.max)
  graceSeconds?: number;
}

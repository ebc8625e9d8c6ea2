import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  CALL_DIRECTIONS,
  CALL_STATUSES,
  CallDirection,
  CallStatus,
  FOLLOW_UP_TYPES,
  FollowUpPriority,
  FollowUpSource,
  FollowUpType,
  LEAD_STATUSES,
  LeadStatus,
  PRIORITIES,
  SOURCES,
  callPushProblems,
} from '@app/contacts';
import { TimeBoundField } from '../http/time-bound';
import { PageQuery, TagsField } from '../http/common.dto';
import { registerFastCheck, registerInputCheck } from '../http/validation.pipe';
import { isPlainValidCall } from './call.fast-check';

const ISO = { strict: true, strictSeparator: true };

/** SPEC §5 fields of a follow-up, every one optional (defaults in the handler). */
export class FollowUpFieldsDto {
  @ApiPropertyOptional({ enum: FOLLOW_UP_TYPES, default: 'call' }) @IsOptional() @IsIn(FOLLOW_UP_TYPES) type?: FollowUpType;
  @ApiPropertyOptional({ description: 'ISO-8601; default one hour from now; a past time is due at once' })
  @IsOptional()
  @IsISO8601(ISO)
  scheduledAt?: string;
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, description: 'null or absent: inherit from the contact' })
  @ValidateIf((o) => o.agentId !== null && o.agentId !== undefined)
  @IsUUID()
  agentId?: string | null;
  @ApiPropertyOptional({ enum: PRIORITIES, default: 'normal' }) @IsOptional() @IsIn(PRIORITIES) priority?: FollowUpPriority;
  @ApiPropertyOptional({ minimum: 1, maximum: 10, default: 3 }) @IsOptional() @IsInt() @Min(1) @Max(10) maxAttempts?: number;
  @ApiPropertyOptional({ default: false }) @IsOptional() @IsBoolean() allowOutOfWindow?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5000) notes?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() campaignId?: string;
  @ApiPropertyOptional({ enum: SOURCES, description: 'default: manual from the schedule endpoint, call_outcome in a Follow up push' })
  @IsOptional()
  @IsIn(SOURCES)
  source?: FollowUpSource;
  // Checked when sent with another type too (then ignored): a number or a 100k-char string is bad input whatever the type.
  @ApiPropertyOptional({ description: 'sms only' })
  @ValidateIf((o) => o.type === 'sms' || (o.message !== undefined && o.message !== null))
  @IsString()
  @IsNotEmpty()
  @MaxLength(1600)
  message?: string;
  @ApiPropertyOptional({ description: 'webhook only' })
  @ValidateIf((o) => o.type === 'webhook' || (o.url !== undefined && o.url !== null))
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(2000)
  url?: string;
}

/** One call as a dialler pushes it (SPEC §9). */
export class CallDto {
  @ApiProperty({ description: "The dialler's id of the call", maxLength: 200 }) @IsString() @IsNotEmpty() @MaxLength(200) callId: string;
  @ApiProperty() @IsUUID() contactId: string;
  @ApiProperty() @IsUUID() agentId: string;
  @ApiProperty({ enum: CALL_DIRECTIONS }) @IsIn(CALL_DIRECTIONS) direction: CallDirection;
  @ApiProperty({ enum: CALL_STATUSES }) @IsIn(CALL_STATUSES) status: CallStatus;
  @ApiProperty({ minimum: 0, maximum: 7 * 24 * 3600, description: 'Seconds; startedAt + durationSec at most 24 h in the future' }) @IsInt() @Min(0) @Max(7 * 24 * 3600) durationSec: number;
  @ApiProperty({ description: 'ISO-8601, at most 24 h in the future' }) @IsISO8601(ISO) startedAt: string;
  @ApiPropertyOptional({ maxLength: 10_000 }) @IsOptional() @IsString() @MaxLength(10_000) note?: string;
  @ApiPropertyOptional({ enum: LEAD_STATUSES, description: 'for Called: the lead status the call ends in' })
  @IsOptional()
  @IsIn(LEAD_STATUSES)
  leadStatus?: LeadStatus;
  @ApiPropertyOptional() @IsOptional() @IsUUID() campaignId?: string;
  @TagsField()
  tags?: string[];
  @ApiPropertyOptional({ description: 'the follow-up this call was an attempt of' }) @IsOptional() @IsUUID() followUpId?: string;

  @ApiPropertyOptional({ type: FollowUpFieldsDto, description: 'required when status is Follow up; with Rescheduled, optional: the callback\'s agent, priority, attempts, allowOutOfWindow, notes, campaign (a call at callbackAt, source lead_request); refused with other statuses' })
  @ValidateIf((o) => o.status === 'Follow up' || o.followUp !== undefined)
  @IsDefined({ message: 'followUp is required when status is Follow up' })
  @IsObject()
  @ValidateNested()
  @Type(() => FollowUpFieldsDto)
  followUp?: FollowUpFieldsDto;

  @ApiPropertyOptional({ description: 'required when status is Rescheduled; ignored with In-progress; refused with other statuses' })
  @ValidateIf((o) => o.status === 'Rescheduled' || o.callbackAt !== undefined)
  @IsDefined({ message: 'callbackAt is required when status is Rescheduled' })
  @IsISO8601(ISO)
  callbackAt?: string;

  @ApiPropertyOptional({ description: 'why the lead asked to be called back: the callback\'s notes (else followUp.notes, else the call\'s note)' }) @IsOptional() @IsString() @MaxLength(5000) reason?: string;
}

registerFastCheck(CallDto, isPlainValidCall);
// a refused push names its other bad fields too: the decider's and the time's (the references are looked up later)
registerInputCheck(CallDto, (body, { now, failed }) => callPushProblems(body, now, failed));

export class CallBatchDto {
  @ApiProperty({ type: [CallDto], minItems: 1, maxItems: 1000, description: 'each item is validated and answered on its own' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  calls: unknown[];
}

export class ListCallsQuery extends PageQuery {
  @ApiPropertyOptional() @IsOptional() @IsUUID() contactId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() agentId?: string;
  @ApiPropertyOptional({ enum: CALL_STATUSES }) @IsOptional() @IsIn(CALL_STATUSES) status?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() campaignId?: string;
  @TimeBoundField('started at or after') from?: string;
  @TimeBoundField('started before (a timestamp), or on or before (a calendar day)') to?: string;
}

import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { problemsOf } from '@app/shared';
import { FOLLOW_UP_STATUSES, FOLLOW_UP_TYPES, FollowUpFields, isoUtc } from '@app/contacts';
import { scheduleFollowUpProblems } from '@app/follow-ups';
import { FollowUpFieldsDto } from '../calls/calls.dto';
import { PageQuery } from '../http/common.dto';
import { TimeBoundField } from '../http/time-bound';
import { registerInputCheck } from '../http/validation.pipe';

const ISO = { strict: true, strictSeparator: true };

/** The §5 fields, `source` included (default manual here). */
export class ScheduleFollowUpDto extends FollowUpFieldsDto {}

// A refused body names its other bad fields too (SPEC §9): the domain's checks (the references are looked up later).
registerInputCheck(ScheduleFollowUpDto, (body, { now }) => scheduleFollowUpProblems(body as FollowUpFields, now));

export class RescheduleDto {
  @ApiProperty({ description: 'the new due time (ISO-8601)' })
  @IsISO8601(ISO)
  scheduledAt: string;
}

registerInputCheck(RescheduleDto, (body) => problemsOf(() => isoUtc(body.scheduledAt, 'scheduledAt')));

/** The body of a snooze or a completion: nothing to say (a snooze lasts the org's snoozeDays); a field sent is refused, not ignored. */
export class NoFieldsDto {}

export class CancelDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(2000) reason?: string;
}

export class ListFollowUpsQuery extends PageQuery {
  @ApiPropertyOptional() @IsOptional() @IsUUID() contactId?: string;
  @ApiPropertyOptional({ description: "the follow-up's agent: its own, or, when it inherits, its contact's current assigned agent" })
  @IsOptional()
  @IsUUID()
  agentId?: string;
  @ApiPropertyOptional({ enum: FOLLOW_UP_STATUSES }) @IsOptional() @IsIn(FOLLOW_UP_STATUSES) status?: string;
  @ApiPropertyOptional({ enum: FOLLOW_UP_TYPES }) @IsOptional() @IsIn(FOLLOW_UP_TYPES) type?: string;
  @TimeBoundField('due at or after') from?: string;
  @TimeBoundField('due before (a timestamp), or on or before (a calendar day)') to?: string;
}

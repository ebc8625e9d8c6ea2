import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CALL_DIRECTIONS, CALL_STATUSES, CallDirection, CallStatus, LEAD_STATUSES, LeadStatus } from '@app/contacts';

/** A recorded call as the API returns it (CallsRepository). */
export class CallRecordDto {
  @ApiProperty({ description: "The dialler's id of the call" }) callId: string;
  @ApiProperty({ format: 'uuid' }) contactId: string;
  @ApiProperty({ format: 'uuid' }) agentId: string;
  @ApiProperty({ enum: CALL_DIRECTIONS }) direction: CallDirection;
  @ApiProperty({ enum: CALL_STATUSES }) status: CallStatus;
  @ApiProperty({
    description:
      'In-progress: live state, no final status yet, however long ago it started. GET /api/calls/live shows only those started within LIVE_CALL_MAX_AGE_MS (4 h): an older one whose final status never came is no longer taken as live there',
  })
  live: boolean;
  @ApiProperty({ type: 'integer' }) durationSec: number;
  @ApiProperty({ description: 'durationSec > 0' }) connected: boolean;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty({ type: String, nullable: true }) note: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) campaignId: string | null;
  @ApiProperty({ type: [String] }) tags: string[];
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The follow-up this call was an attempt of' }) followUpId: string | null;
}

export class CallPageDto {
  @ApiProperty({ type: [CallRecordDto], description: 'Newest started first' }) calls: CallRecordDto[];
  @ApiProperty({ type: String, nullable: true, description: 'The cursor of the next page; null: this is the last' }) nextCursor: string | null;
}

export class LiveCallsDto {
  @ApiProperty({ type: [CallRecordDto], description: 'In-progress now, newest started first' }) calls: CallRecordDto[];
}

/** POST /api/calls: what the push did. */
export class CallPushResultDto {
  @ApiProperty({ enum: ['accepted', 'duplicate'], description: 'duplicate: this callId was pushed with this status before, nothing new recorded' })
  status: 'accepted' | 'duplicate';
  @ApiProperty() callId: string;
  @ApiProperty({ format: 'uuid' }) contactId: string;
  @ApiProperty({ enum: LEAD_STATUSES, description: "The contact's lead status after the call" }) leadStatus: LeadStatus;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The follow-up a Follow up or Rescheduled call scheduled; else null' })
  followUpId: string | null;
}

export class CallBatchItemResultDto {
  @ApiProperty({ type: 'integer', description: 'The position of the call in the batch' }) index: number;
  @ApiProperty({ enum: ['accepted', 'duplicate', 'rejected'] }) status: 'accepted' | 'duplicate' | 'rejected';
  @ApiPropertyOptional({ description: "The item's callId; absent for an item refused by validation" }) callId?: string;
  @ApiPropertyOptional({ type: 'integer', example: 400, description: 'rejected only: the status a single push of this item would have had (400, 403, 404, 409)' })
  statusCode?: number;
  @ApiPropertyOptional({ description: 'rejected only: why; a validation refusal names each field, separated by "; "' }) error?: string;
}

export class CallBatchResultDto {
  @ApiProperty({ type: [CallBatchItemResultDto], description: 'One per call sent, in order' }) results: CallBatchItemResultDto[];
}

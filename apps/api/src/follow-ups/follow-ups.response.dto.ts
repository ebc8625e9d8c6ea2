import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { FOLLOW_UP_STATUSES, FOLLOW_UP_TYPES, FollowUpPriority, FollowUpSource, FollowUpStatus, FollowUpType, PRIORITIES, SOURCES } from '@app/contacts';

/** A follow-up as the API returns it (SPEC §5, FollowUpsRepository), with the names the contact card shows. */
export class FollowUpDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) contactId: string;
  @ApiProperty({ example: 'Sarah Lee' }) contactName: string;
  @ApiProperty({ enum: FOLLOW_UP_TYPES }) type: FollowUpType;
  @ApiProperty({ enum: FOLLOW_UP_STATUSES }) status: FollowUpStatus;
  @ApiProperty({ format: 'date-time', description: 'The due time: moved only by a snooze or a reschedule' }) scheduledAt: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: "Its own agent; null: it inherits the contact's assigned agent" })
  agentId: string | null;
  @ApiProperty({ type: String, nullable: true, description: "agentId's name" }) agentName: string | null;
  @ApiProperty({ enum: PRIORITIES }) priority: FollowUpPriority;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 10 }) maxAttempts: number;
  @ApiProperty({ type: 'integer', description: 'Attempts started so far' }) attempts: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the next attempt runs (deferrals and retries move it, never scheduledAt)' })
  nextAttemptAt: string | null;
  @ApiProperty() allowOutOfWindow: boolean;
  @ApiProperty({ description: 'An attempt ran outside the calling window' }) outOfWindow: boolean;
  @ApiProperty({ type: String, nullable: true }) notes: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) campaignId: string | null;
  @ApiProperty({ type: String, nullable: true, description: "campaignId's name" }) campaignName: string | null;
  @ApiProperty({ enum: SOURCES }) source: FollowUpSource;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'type sms only (absent otherwise): the text to send' }) message?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'type webhook only (absent otherwise): where to POST' }) url?: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Why the last attempt failed' }) lastError: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it ended (completed, failed, cancelled, expired)' }) resolvedAt: string | null;
}

export class FollowUpPageDto {
  @ApiProperty({ type: [FollowUpDto], description: 'Newest created first' }) followUps: FollowUpDto[];
  @ApiProperty({ type: String, nullable: true, description: 'The cursor of the next page; null: this is the last' }) nextCursor: string | null;
}

import { ApiProperty } from '@nestjs/swagger';
import { CONTACT_STATUSES, ContactStatus, LEAD_QUALITIES, LEAD_STATUSES, LeadQuality, LeadStatus } from '@app/contacts';
import { WEEK_DAYS, WeekDay } from '@app/settings';

/** A contact as the API returns it (ContactsRepository). */
export class ContactDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'Sarah Lee' }) name: string;
  @ApiProperty({ example: '+14155550123', description: 'E.164' }) phone: string;
  @ApiProperty({ example: 'America/Los_Angeles', description: "IANA time zone: its own, else the organization's as it is now" }) timezone: string;
  @ApiProperty({ description: "true: it has no time zone of its own and follows the organization's" }) timezoneFromOrg: boolean;
  @ApiProperty({ enum: LEAD_QUALITIES }) leadQuality: LeadQuality;
  @ApiProperty({ enum: LEAD_STATUSES }) leadStatus: LeadStatus;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) assignedAgentId: string | null;
  @ApiProperty({ type: [String] }) tags: string[];
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) campaignId: string | null;
  @ApiProperty({ enum: CONTACT_STATUSES }) status: ContactStatus;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'The due time of its earliest open call follow-up' })
  nextFollowUpAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastCallAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class ContactPageDto {
  @ApiProperty({ type: [ContactDto], description: 'Oldest created first' }) contacts: ContactDto[];
  @ApiProperty({ type: String, nullable: true, description: 'The cursor of the next page; null: this is the last' }) nextCursor: string | null;
}

/** POST /api/contacts/:id/notes: the note added. */
export class NoteDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) contactId: string;
  @ApiProperty({ enum: ['note'] }) kind: 'note';
  @ApiProperty() text: string;
  @ApiProperty({ format: 'uuid', description: 'The user who wrote it' }) authorId: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ description: 'Always true: a note is never due' }) resolved: boolean;
}

/** One event of the contact's stream (TimelineRepository). */
export class TimelineEntryDto {
  @ApiProperty({ format: 'date-time', description: 'When it happened (a note: when it was written)' }) at: string;
  @ApiProperty({
    example: 'call',
    description:
      'contact_created, contact_updated, reassigned, lead_quality_changed, contact_status_changed, lead_status_changed, call_started, call, note, ' +
      'and the follow-up events under their own names (follow_up_scheduled, follow_up_snoozed, follow_up_completed, …)',
  })
  kind: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The user who did it; null: the system (a worker, a projection)' })
  actorId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "The event's data, as recorded; its fields depend on kind" })
  data: Record<string, unknown>;
  @ApiProperty({ type: 'integer', description: "Its position in the contact's stream" }) version: number;
}

export class TimelinePageDto {
  @ApiProperty({ type: [TimelineEntryDto], description: 'Newest first' }) entries: TimelineEntryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'The cursor of the next (older) page; null: this is the last' }) nextCursor: string | null;
}

export class CampaignCallingWindowDto {
  @ApiProperty({ enum: WEEK_DAYS, isArray: true, example: ['mon', 'tue', 'wed', 'thu', 'fri'] }) days: WeekDay[];
  @ApiProperty({ example: '09:00', description: 'HH:MM, 24 h' }) start: string;
  @ApiProperty({ example: '18:00', description: 'HH:MM, 24 h, exclusive; 24:00 is the end of the day' }) end: string;
}

export class CampaignDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: CampaignCallingWindowDto, nullable: true, description: "Narrows the organization's calling window; null: the organization's" })
  callingWindow: CampaignCallingWindowDto | null;
  @ApiProperty({ type: [String], description: 'Agent ids; empty: no pool' }) agentPool: string[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class CampaignPageDto {
  @ApiProperty({ type: [CampaignDto], description: 'By name' }) campaigns: CampaignDto[];
  @ApiProperty({ type: String, nullable: true, description: 'The cursor of the next page; null: this is the last' }) nextCursor: string | null;
}

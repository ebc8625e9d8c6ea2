import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DigitsParam } from '../http/common.dto';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { CONTACT_STATUSES, ContactStatus, LEAD_QUALITIES, LEAD_STATUSES, LeadQuality, LeadStatus } from '@app/contacts';
import { HubAction, HubFilter } from '@app/hub';
import { problemsOf, ValidationError } from '@app/shared';
import { registerInputCheck } from '../http/validation.pipe';

const FILTERS: HubFilter[] = ['all', 'overdue', 'today', 'hot'];
const ACTIONS: HubAction[] = ['done', 'snooze'];

export class DueQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 10 })
  @IsOptional()
  @DigitsParam()
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

/** A row action or a bulk one: exactly one of personId and personIds. */
export function checkOnePersonField(body: { personId?: unknown; personIds?: unknown }): void {
  if ((body.personId === undefined) === (body.personIds === undefined)) throw new ValidationError('personIds', 'send exactly one of personId or personIds');
}

registerInputCheck(DueActionDto, (body) => problemsOf(() => checkOnePersonField(body)));

/** One contact of the hub (SPEC §6): id and contactId are both the contact's. */
export class HubItemDto {
  @ApiProperty({ format: 'uuid', description: "The contact's id" }) id: string;
  @ApiProperty({ format: 'uuid' }) contactId: string;
  @ApiProperty({ example: 'Sarah Lee' }) contactName: string;
  @ApiProperty({ example: 'Follow-up overdue by 4 days', description: 'Follow-up due today, or Follow-up overdue by N day(s)' }) reason: string;
  @ApiProperty({ enum: ['Due today', 'Overdue'] }) suggestedTiming: 'Due today' | 'Overdue';
  @ApiProperty({ description: 'leadQuality is HOT' }) isHot: boolean;
  @ApiProperty({ enum: LEAD_QUALITIES }) leadQuality: LeadQuality;
  @ApiProperty({ enum: CONTACT_STATUSES, description: "The contact's status (the hub lists ACTIVE contacts only)" }) status: ContactStatus;
  @ApiProperty({ type: 'integer', description: "0 when due today, else whole calendar days past due in the caller's time zone" }) overdueDays: number;
  @ApiProperty({ format: 'date-time', description: "The contact's nextFollowUpAt" }) dueAt: string;
  @ApiProperty({ enum: LEAD_STATUSES }) leadStatus: LeadStatus;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'Its earliest open call follow-up' }) followUpId: string | null;
}

export class HubCountsDto {
  @ApiProperty({ type: 'integer' }) all: number;
  @ApiProperty({ type: 'integer' }) overdue: number;
  @ApiProperty({ type: 'integer' }) today: number;
  @ApiProperty({ type: 'integer' }) hot: number;
}

export class HubPageDto {
  @ApiProperty({ type: [HubItemDto], description: 'Hot and overdue first, then hot, then overdue, then the rest; oldest due first in each' }) followUps: HubItemDto[];
  @ApiProperty({ type: HubCountsDto, description: "Over the caller's whole due list, not the page" }) counts: HubCountsDto;
}

export class HubActionResultDto {
  @ApiProperty({ type: Boolean, description: 'Always true' }) ok: true;
  @ApiProperty({ type: 'integer', description: 'Contacts updated' }) count: number;
  @ApiProperty({ enum: ACTIONS }) action: HubAction;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsObject,
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
  ArrayNotEmpty,
  IsInt,
  Min,
  Max,
} from 'class-validator';
import { problemsOf } from '@app/shared';
import {
  assertCampaignWindow,
  campaignName,
  CallingWindow,
  CONTACT_STATUSES,
  ContactStatus,
  CreateContact,
  createContactProblems,
  LEAD_QUALITIES,
  LEAD_STATUSES,
  LeadQuality,
  LeadStatus,
  noteText,
  UpdateContact,
  updateContactProblems,
} from '@app/contacts';
import { END_HH_MM, HH_MM } from '@app/settings';
import { DigitsParam, E164, IsIanaTimeZone, IsKnownTimeZone, PageQuery, TagsField } from '../http/common.dto';
import { registerInputCheck } from '../http/validation.pipe';

export class CreateContactDto {
  @ApiProperty({ example: 'Sarah Lee' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ example: '+14155550123', description: 'E.164' })
  @IsString()
  @Matches(E164, { message: 'phone must be an E.164 number such as +14155550123' })
  phone: string;

  @ApiPropertyOptional({ description: "IANA time zone; default: the organization's, following its changes", example: 'America/Los_Angeles' })
  @IsOptional()
  @IsIanaTimeZone()
  timezone?: string;

  @ApiPropertyOptional({ enum: LEAD_QUALITIES, default: 'WARM' })
  @IsOptional()
  @IsIn(LEAD_QUALITIES)
  leadQuality?: LeadQuality;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  assignedAgentId?: string | null;

  @TagsField()
  tags?: string[];

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  campaignId?: string | null;
}

// A refused body names its other bad fields too (SPEC §9): the domain's checks, here a blank name (not the references:
// those are looked up later).
registerInputCheck(CreateContactDto, (body) => createContactProblems({ ...body, type: 'CreateContact', contactId: '' } as CreateContact));

export class UpdateContactDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(E164, { message: 'phone must be an E.164 number such as +14155550123' })
  phone?: string;

  @ApiPropertyOptional({ type: String, description: "IANA time zone; null: the organization's, following its changes", nullable: true })
  @ValidateIf((_, v) => v !== undefined && v !== null)
  @IsKnownTimeZone()
  timezone?: string | null;

  @ApiPropertyOptional({ enum: LEAD_QUALITIES })
  @IsOptional()
  @IsIn(LEAD_QUALITIES)
  leadQuality?: LeadQuality;

  @ApiPropertyOptional({ enum: LEAD_STATUSES })
  @IsOptional()
  @IsIn(LEAD_STATUSES)
  leadStatus?: LeadStatus;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, description: 'null unassigns' })
  @ValidateIf((o) => o.assignedAgentId !== null && o.assignedAgentId !== undefined)
  @IsUUID()
  assignedAgentId?: string | null;

  @TagsField()
  tags?: string[];

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, description: 'null clears' })
  @ValidateIf((o) => o.campaignId !== null && o.campaignId !== undefined)
  @IsUUID()
  campaignId?: string | null;

  @ApiPropertyOptional({ enum: CONTACT_STATUSES })
  @IsOptional()
  @IsIn(CONTACT_STATUSES)
  status?: ContactStatus;
}

registerInputCheck(UpdateContactDto, (body) => updateContactProblems({ ...body, type: 'UpdateContact', contactId: '', at: '' } as UpdateContact));

export class ListContactsQuery extends PageQuery {
  @ApiPropertyOptional() @IsOptional() @IsUUID() assignedAgentId?: string;
  @ApiPropertyOptional({ enum: CONTACT_STATUSES }) @IsOptional() @IsIn(CONTACT_STATUSES) status?: string;
  @ApiPropertyOptional({ enum: LEAD_STATUSES }) @IsOptional() @IsIn(LEAD_STATUSES) leadStatus?: string;
  @ApiPropertyOptional({ enum: LEAD_QUALITIES }) @IsOptional() @IsIn(LEAD_QUALITIES) leadQuality?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() campaignId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(50) tag?: string;
  @ApiPropertyOptional({ description: 'part of the name or phone' }) @IsOptional() @IsString() @MaxLength(100) q?: string;
}

export class CreateNoteDto {
  @ApiProperty({ example: 'Decision-maker is the office manager, not the CEO.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(10_000)
  text: string;
}

registerInputCheck(CreateNoteDto, (body) => problemsOf(() => noteText(body.text)));

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export class CallingWindowDto {
  @ApiProperty({ example: ['mon', 'tue', 'wed', 'thu', 'fri'] })
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(DAYS, { each: true })
  days: string[];

  @ApiProperty({ example: '09:00', description: 'HH:MM, 24 h, from 00:00 to 23:59' })
  @Matches(HH_MM, { message: 'start must be HH:MM, from 00:00 to 23:59' })
  start: string;

  @ApiProperty({ example: '18:00', description: 'HH:MM, 24 h; after start, exclusive; 24:00 is the end of the day (calling until midnight)' })
  @Matches(END_HH_MM, { message: 'end must be HH:MM, up to 24:00 (the end of the day)' })
  end: string;
}

export class CreateCampaignDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional({ type: CallingWindowDto, description: "Narrows the organization's calling window" })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => CallingWindowDto)
  callingWindow?: CallingWindowDto;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  agentPool?: string[];
}

// an end not after the start (the organization's window is read later, by the handler)
registerInputCheck(CreateCampaignDto, (body, { failed }) => {
  const name = failed('name') ? [] : problemsOf(() => campaignName(body.name as string));
  const window = body.callingWindow as CallingWindow | null | undefined;
  if (window == null || ['callingWindow', 'callingWindow.start', 'callingWindow.end'].some(failed)) return name;
  return [...name, ...problemsOf(() => assertCampaignWindow(window))];
});

/** Campaigns a page at a time, by name: up to 1,000 a page (500 by default), so most orgs get all of theirs at once. */
export class ListCampaignsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 500 })
  @IsOptional()
  @DigitsParam()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  cursor?: string;
}

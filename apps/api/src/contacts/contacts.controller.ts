import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '@app/shared';
import {
  AddNoteCommand,
  CallsRepository,
  ContactsRepository,
  CreateCampaignCommand,
  CreateContactCommand,
  NoteAddedData,
  TimelineRepository,
  UpdateContactCommand,
} from '@app/contacts';
import { AnyRole, CurrentActor, Roles, Staff } from '../auth/auth.decorators';
import { PageQuery, uuidParam } from '../http/common.dto';
import { ApiErrors, ApiKeyErrors } from '../http/error-response.dto';
import { ApiIdempotencyKey, IdempotencyKey, idempotencyKeyProblems } from '../http/idempotency-key';
import { BodyWith } from '../http/validation.pipe';
import { CallPageDto } from '../calls/calls.response.dto';
import { CreateCampaignDto, CreateContactDto, CreateNoteDto, ListCampaignsQuery, ListContactsQuery, UpdateContactDto } from './contacts.dto';
import { CampaignDto, CampaignPageDto, ContactDto, ContactPageDto, NoteDto, TimelinePageDto } from './contacts.response.dto';

const STAFF_ONLY = 'Integrations';
const NO_CONTACT = 'No such contact, or not one the caller sees (an agent sees those assigned to them)';

@ApiTags('contacts')
@ApiBearerAuth()
@ApiKeyErrors()
@Staff()
@Controller('api')
export class ContactsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly contacts: ContactsRepository,
    private readonly calls: CallsRepository,
    private readonly timeline: TimelineRepository,
  ) {}

  @Post('contacts')
  @ApiIdempotencyKey(
    'contact you mean to create (a UUID, or the record id in your CRM)',
    'A retry with the same key and the same fields creates nothing new and answers the contact the first request created, as it is now',
  )
  @ApiCreatedResponse({ type: ContactDto })
  @ApiErrors({
    400: 'A field missing or invalid (each named), an assignedAgentId or campaignId not of the organization, or a malformed Idempotency-Key',
    403: `${STAFF_ONLY}; an agent assigning the contact to someone else`,
    404: "An agent's retry (same Idempotency-Key) for a contact handed on since",
    422: 'The Idempotency-Key was used before with other fields',
  })
  @ApiBody({ type: CreateContactDto })
  // the key before the body: Nest resolves parameters last first, and the body's refusal names a bad key too
  async create(@CurrentActor() actor: Actor, @IdempotencyKey() idempotencyKey: string | null, @BodyWith(CreateContactDto, idempotencyKeyProblems) body: CreateContactDto) {
    const command = new CreateContactCommand(actor, body, idempotencyKey);
    const { id } = await this.commands.execute<CreateContactCommand, { id: string }>(command);
    return this.contacts.written(actor, id);
  }

  @Get('contacts')
  @ApiOkResponse({ type: ContactPageDto })
  @ApiErrors({ 400: 'A query parameter invalid (each named), or a cursor this API did not return', 403: STAFF_ONLY })
  list(@CurrentActor() actor: Actor, @Query() query: ListContactsQuery) {
    return this.contacts.list(actor, { ...query, limit: query.limit ?? 50 });
  }

  @Get('contacts/:id')
  @ApiOkResponse({ type: ContactDto })
  @ApiErrors({ 403: STAFF_ONLY, 404: NO_CONTACT })
  get(@CurrentActor() actor: Actor, @Param('id', uuidParam('contact')) id: string) {
    return this.contacts.get(actor, id);
  }

  @Patch('contacts/:id')
  @ApiOkResponse({ type: ContactDto })
  @ApiErrors({
    400: 'A field invalid (each named), or an assignedAgentId or campaignId not of the organization',
    403: `${STAFF_ONLY}; an agent reassigning the contact`,
    404: NO_CONTACT,
  })
  async update(@CurrentActor() actor: Actor, @Param('id', uuidParam('contact')) id: string, @Body() body: UpdateContactDto) {
    await this.commands.execute(new UpdateContactCommand(actor, id, body));
    return this.contacts.written(actor, id);
  }

  @Post('contacts/:id/notes')
  @ApiIdempotencyKey(
    'note you mean to add (a UUID, say)',
    'A retry with the same key and text for the same contact adds nothing new and answers the note the first request added',
  )
  @ApiCreatedResponse({ type: NoteDto })
  @ApiErrors({ 400: 'text missing or invalid, or a malformed Idempotency-Key', 403: STAFF_ONLY, 404: NO_CONTACT, 422: 'The Idempotency-Key was used before with another text' })
  @ApiBody({ type: CreateNoteDto })
  async addNote(
    @CurrentActor() actor: Actor,
    @Param('id', uuidParam('contact')) id: string,
    @IdempotencyKey() idempotencyKey: string | null, // before the body: see create
    @BodyWith(CreateNoteDto, idempotencyKeyProblems) body: CreateNoteDto,
  ) {
    const command = new AddNoteCommand(actor, id, body.text, idempotencyKey);
    const note = await this.commands.execute<AddNoteCommand, NoteAddedData>(command);
    return { id: note.noteId, contactId: note.contactId, kind: 'note', text: note.text, authorId: note.authorId, createdAt: note.at, resolved: true };
  }

  @Get('contacts/:id/timeline')
  @ApiOkResponse({ type: TimelinePageDto })
  @ApiErrors({ 400: 'limit invalid, or a cursor this API did not return', 403: STAFF_ONLY, 404: NO_CONTACT })
  async getTimeline(@CurrentActor() actor: Actor, @Param('id', uuidParam('contact')) id: string, @Query() query: PageQuery) {
    await this.contacts.get(actor, id);
    return this.timeline.forContact(actor, id, { before: query.cursor === undefined ? undefined : Number(query.cursor), limit: query.limit ?? 50 });
  }

  @Get('contacts/:id/calls')
  @ApiOkResponse({ type: CallPageDto, description: "The contact's calls, newest started first" })
  @ApiErrors({ 400: 'limit invalid, or a cursor this API did not return', 403: STAFF_ONLY, 404: NO_CONTACT })
  async contactCalls(@CurrentActor() actor: Actor, @Param('id', uuidParam('contact')) id: string, @Query() query: PageQuery) {
    await this.contacts.get(actor, id);
    return this.calls.list(actor, { contactId: id, cursor: query.cursor, limit: query.limit ?? 50 });
  }

  @Post('campaigns')
  @Roles('admin', 'supervisor')
  @HttpCode(201)
  @ApiCreatedResponse({ type: CampaignDto })
  @ApiErrors({
    400: "A field missing or invalid (each named), a calling window with no time in common with the organization's, or an agentPool id not an active agent",
    403: 'Agents and integrations',
  })
  async createCampaign(@CurrentActor() actor: Actor, @Body() body: CreateCampaignDto) {
    const { id } = await this.commands.execute<CreateCampaignCommand, { id: string }>(new CreateCampaignCommand(actor, body));
    return this.contacts.campaign(actor.orgId, id);
  }

  /** Integrations too: a pushed call names its campaignId. */
  @Get('campaigns')
  @AnyRole()
  @ApiOkResponse({ type: CampaignPageDto })
  @ApiErrors({ 400: 'limit invalid, or a cursor this API did not return' })
  async listCampaigns(@CurrentActor() actor: Actor, @Query() query: ListCampaignsQuery) {
    return this.contacts.listCampaigns(actor.orgId, { cursor: query.cursor, limit: query.limit ?? 500 });
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '@app/shared';
import { ContactsRepository, FollowUpFields } from '@app/contacts';
import { ChangeFollowUpCommand, FollowUpAction, FollowUpsRepository, ScheduleFollowUpCommand } from '@app/follow-ups';
import { CurrentActor, Staff } from '../auth/auth.decorators';
import { PageQuery, uuidParam } from '../http/common.dto';
import { ApiErrors, ApiKeyErrors } from '../http/error-response.dto';
import { ApiIdempotencyKey, IdempotencyKey, idempotencyKeyProblems } from '../http/idempotency-key';
import { BodyWith } from '../http/validation.pipe';
import { timeRange } from '../http/time-bound';
import { CancelDto, ListFollowUpsQuery, NoFieldsDto, RescheduleDto, ScheduleFollowUpDto } from './follow-ups.dto';
import { FollowUpDto, FollowUpPageDto } from './follow-ups.response.dto';

const STAFF_ONLY = 'Integrations';
const NO_FOLLOW_UP = 'No such follow-up, or not one the caller sees (an agent sees those of the contacts assigned to them)';
const ENDED = 'The follow-up has ended (completed, failed, cancelled or expired)';

@ApiTags('follow-ups')
@ApiBearerAuth()
@ApiKeyErrors()
@Staff()
@Controller('api')
export class FollowUpsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly followUps: FollowUpsRepository,
    private readonly contacts: ContactsRepository,
  ) {}

  @Post('contacts/:id/follow-ups')
  @ApiIdempotencyKey(
    'follow-up you mean to schedule (a UUID, say)',
    'A retry with the same key and fields for the same contact schedules nothing new and answers the follow-up the first request scheduled',
  )
  @ApiCreatedResponse({ type: FollowUpDto })
  @ApiErrors({
    400: 'A field invalid (each named), an agentId or campaignId not of the organization, a url refused, or a malformed Idempotency-Key',
    403: STAFF_ONLY,
    404: 'No such contact, or not one the caller sees',
    422: 'The Idempotency-Key was used before with other fields',
  })
  @ApiBody({ type: ScheduleFollowUpDto })
  async schedule(
    @CurrentActor() actor: Actor,
    @Param('id', uuidParam('contact')) contactId: string,
    // the key before the body: Nest resolves parameters last first, and the body's refusal names a bad key too
    @IdempotencyKey() idempotencyKey: string | null,
    @BodyWith(ScheduleFollowUpDto, idempotencyKeyProblems) body: ScheduleFollowUpDto,
  ) {
    const command = new ScheduleFollowUpCommand(actor, contactId, body as FollowUpFields, idempotencyKey);
    const { id } = await this.commands.execute<ScheduleFollowUpCommand, { id: string }>(command);
    return this.followUps.get(actor, id, true);
  }

  /** The contact card: this contact's follow-ups, newest first. */
  @Get('contacts/:id/follow-ups')
  @ApiOkResponse({ type: FollowUpPageDto })
  @ApiErrors({ 400: 'limit invalid, or a cursor this API did not return', 403: STAFF_ONLY, 404: 'No such contact, or not one the caller sees' })
  async card(@CurrentActor() actor: Actor, @Param('id', uuidParam('contact')) contactId: string, @Query() query: PageQuery) {
    await this.contacts.get(actor, contactId);
    return this.followUps.list(actor, { contactId, cursor: query.cursor, limit: query.limit ?? 50 });
  }

  @Get('follow-ups')
  @ApiOkResponse({ type: FollowUpPageDto })
  @ApiErrors({ 400: 'A query parameter invalid (each named), or a cursor this API did not return', 403: STAFF_ONLY })
  list(@CurrentActor() actor: Actor, @Query() query: ListFollowUpsQuery) {
    return this.followUps.list(actor, { ...query, ...timeRange(query, actor.timezone), limit: query.limit ?? 50 });
  }

  @Get('follow-ups/:id')
  @ApiOkResponse({ type: FollowUpDto })
  @ApiErrors({ 403: STAFF_ONLY, 404: NO_FOLLOW_UP })
  get(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string) {
    return this.followUps.get(actor, id);
  }

  @Post('follow-ups/:id/snooze')
  @HttpCode(200)
  @ApiOkResponse({ type: FollowUpDto, description: "Snoozed for the organization's snoozeDays" })
  @ApiErrors({ 400: 'A body field sent (a snooze takes none)', 403: STAFF_ONLY, 404: NO_FOLLOW_UP, 409: `${ENDED}, or it is due after a snooze would end (reschedule it instead)` })
  snooze(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string, @Body() _body: NoFieldsDto) {
    return this.change(actor, id, { action: 'snooze' });
  }

  @Post('follow-ups/:id/reschedule')
  @HttpCode(200)
  @ApiOkResponse({ type: FollowUpDto })
  @ApiErrors({ 400: 'scheduledAt missing or invalid', 403: STAFF_ONLY, 404: NO_FOLLOW_UP, 409: ENDED })
  reschedule(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string, @Body() body: RescheduleDto) {
    return this.change(actor, id, { action: 'reschedule', scheduledAt: body.scheduledAt });
  }

  @Post('follow-ups/:id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: FollowUpDto })
  @ApiErrors({ 400: 'reason invalid', 403: STAFF_ONLY, 404: NO_FOLLOW_UP, 409: ENDED })
  cancel(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string, @Body() body: CancelDto) {
    return this.change(actor, id, { action: 'cancel', reason: body.reason ?? null });
  }

  @Post('follow-ups/:id/complete')
  @HttpCode(200)
  @ApiOkResponse({ type: FollowUpDto })
  @ApiErrors({ 400: 'A body field sent (a completion takes none)', 403: STAFF_ONLY, 404: NO_FOLLOW_UP, 409: ENDED })
  complete(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string, @Body() _body: NoFieldsDto) {
    return this.change(actor, id, { action: 'complete', how: 'manual' });
  }

  private async change(actor: Actor, id: string, change: FollowUpAction) {
    await this.commands.execute(new ChangeFollowUpCommand(actor, id, change));
    return this.followUps.get(actor, id, true);
  }
}

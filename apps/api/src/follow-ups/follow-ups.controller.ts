import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Actor } from '@app/shared';
import { ContactsRepository, FollowUpFields } from '@app/contacts';
import { ChangeFollowUpCommand, FollowUpAction, FollowUpsRepository, ScheduleFollowUpCommand } from '@app/follow-ups';
import { CurrentActor, Staff } from '../auth/auth.decorators';
import { PageQuery, uuidParam } from '../http/common.dto';
import { ApiIdempotencyKey, IdempotencyKey } from '../http/idempotency-key';
import { timeRange } from '../http/time-bound';
import { CancelDto, ListFollowUpsQuery, NoFieldsDto, RescheduleDto, ScheduleFollowUpDto } from './follow-ups.dto';

@ApiTags('follow-ups')
@ApiBearerAuth()
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
  async schedule(@CurrentActor() actor: Actor, @Param('id', uuidParam('contact')) contactId: string, @Body() body: ScheduleFollowUpDto, @IdempotencyKey() idempotencyKey: string | null) {
    const command = new ScheduleFollowUpCommand(actor, contactId, body as FollowUpFields, idempotencyKey);
    const { id } = await this.commands.execute<ScheduleFollowUpCommand, { id: string }>(command);
    return this.followUps.get(actor, id, true);
  }

  /** The contact card: this contact's follow-ups, newest first. */
  @Get('contacts/:id/follow-ups')
  async card(@CurrentActor() actor: Actor, @Param('id', uuidParam('contact')) contactId: string, @Query() query: PageQuery) {
    await this.contacts.get(actor, contactId);
    return this.followUps.list(actor, { contactId, cursor: query.cursor, limit: query.limit ?? 50 });
  }

  @Get('follow-ups')
  list(@CurrentActor() actor: Actor, @Query() query: ListFollowUpsQuery) {
    return this.followUps.list(actor, { ...query, ...timeRange(query, actor.timezone), limit: query.limit ?? 50 });
  }

  @Get('follow-ups/:id')
  get(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string) {
    return this.followUps.get(actor, id);
  }

  @Post('follow-ups/:id/snooze')
  @HttpCode(200)
  snooze(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string, @Body() _body: NoFieldsDto) {
    return this.change(actor, id, { action: 'snooze' });
  }

  @Post('follow-ups/:id/reschedule')
  @HttpCode(200)
  reschedule(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string, @Body() body: RescheduleDto) {
    return this.change(actor, id, { action: 'reschedule', scheduledAt: body.scheduledAt });
  }

  @Post('follow-ups/:id/cancel')
  @HttpCode(200)
  cancel(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string, @Body() body: CancelDto) {
    return this.change(actor, id, { action: 'cancel', reason: body.reason ?? null });
  }

  @Post('follow-ups/:id/complete')
  @HttpCode(200)
  complete(@CurrentActor() actor: Actor, @Param('id', uuidParam('follow-up')) id: string, @Body() _body: NoFieldsDto) {
    return this.change(actor, id, { action: 'complete', how: 'manual' });
  }

  private async change(actor: Actor, id: string, change: FollowUpAction) {
    await this.commands.execute(new ChangeFollowUpCommand(actor, id, change));
    return this.followUps.get(actor, id, true);
  }
}

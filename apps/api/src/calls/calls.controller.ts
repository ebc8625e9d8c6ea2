import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Actor, Clock, DomainError } from '@app/shared';
import { CallPush, CallPushResult, CallsRepository, LogCallCommand, LogCallsBatchCommand } from '@app/contacts';
import { CurrentActor, Roles, Staff } from '../auth/auth.decorators';
import { DOMAIN_STATUS } from '../http/error.filter';
import { ApiErrors, ApiKeyErrors } from '../http/error-response.dto';
import { RawBody, validateEnvelope, validateItems } from '../http/validation.pipe';
import { timeRange } from '../http/time-bound';
import { CallBatchDto, CallDto, ListCallsQuery } from './calls.dto';
import { CallBatchResultDto, CallPageDto, CallPushResultDto, LiveCallsDto } from './calls.response.dto';

type BatchResult = { index: number; status: 'accepted' | 'duplicate' | 'rejected'; error?: string; statusCode?: number; callId?: string };

@ApiTags('calls')
@ApiBearerAuth()
@ApiKeyErrors()
@Controller('api/calls')
export class CallsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly calls: CallsRepository,
    private readonly clock: Clock,
  ) {}

  /** 201 when recorded; 200 with status "duplicate" when this callId and status were pushed before. */
  @Post()
  @ApiResponse({ status: 201, description: 'recorded (status "accepted")', type: CallPushResultDto })
  @ApiResponse({ status: 200, description: 'this callId was pushed with this status before: nothing new recorded (status "duplicate")', type: CallPushResultDto })
  @ApiErrors({
    400: 'A field missing or invalid (each named), or an agentId, campaignId or followUp reference not of the organization',
    403: 'An agent pushing a call of another agent',
    404: 'No such contact, or not one the caller sees',
    409: 'This callId was logged for another contact, or already with another final status; or the contact is being written by someone else (retry)',
  })
  async push(@CurrentActor() actor: Actor, @Body() body: CallDto, @Res({ passthrough: true }) res: FastifyReply): Promise<CallPushResult> {
    const result = await this.commands.execute<LogCallCommand, CallPushResult>(new LogCallCommand(actor, body as CallPush));
    res.status(result.status === 'duplicate' ? HttpStatus.OK : HttpStatus.CREATED);
    return result;
  }

  /** Up to 1,000 calls, answered per item and in order: one bad item does not sink the others. */
  // The envelope is checked here and the items one by one (validateItems yields between chunks), not by the
  // global pipe: a batch of 1,000 would otherwise be copied and validated in one block of the event loop.
  @Post('batch')
  @HttpCode(200)
  @ApiBody({ type: CallBatchDto })
  @ApiOkResponse({ type: CallBatchResultDto, description: 'Each call answered on its own, in order: a bad item is rejected, the others recorded' })
  @ApiErrors({ 400: 'Not a batch: calls missing, not a list, empty or longer than 1,000 (the items are answered in results instead)' })
  async batch(@CurrentActor() actor: Actor, @RawBody() raw: unknown): Promise<{ results: BatchResult[] }> {
    const body = validateEnvelope(CallBatchDto, raw);
    const results: BatchResult[] = new Array(body.calls.length);
    const valid: { index: number; call: CallPush }[] = [];
    (await validateItems(CallDto, body.calls, this.clock.now())).forEach((checked, index) => {
      if ('errors' in checked) results[index] = { index, status: 'rejected', statusCode: 400, error: checked.errors.join('; ') };
      else valid.push({ index, call: checked.value as CallPush });
    });
    const outcomes = await this.commands.execute<LogCallsBatchCommand, ({ ok: CallPushResult } | { error: Error })[]>(
      new LogCallsBatchCommand(
        actor,
        valid.map((v) => v.call),
      ),
    );
    outcomes.forEach((outcome, k) => {
      const index = valid[k].index;
      const callId = valid[k].call.callId;
      if ('ok' in outcome) results[index] = { index, status: outcome.ok.status, callId };
      else if (outcome.error instanceof DomainError) results[index] = { index, status: 'rejected', callId, statusCode: statusOf(outcome.error), error: outcome.error.message };
      else throw outcome.error; // our fault, not the item's: a 500 for the whole batch, which the dialler retries safely
    });
    return { results };
  }

  /** The calls of the contacts the caller sees; an integration pushes calls, it does not read them back (SPEC §9). */
  @Get()
  @Staff()
  @ApiOkResponse({ type: CallPageDto })
  @ApiErrors({ 400: 'A query parameter invalid (each named), or a cursor this API did not return', 403: 'Integrations' })
  list(@CurrentActor() actor: Actor, @Query() query: ListCallsQuery) {
    return this.calls.list(actor, { ...query, ...timeRange(query, actor.timezone), limit: query.limit ?? 50 });
  }

  /**
   * Calls In-progress now, newest first: at most the 1,000 most recently started (a wallboard's view; past that, page
   * through GET /api/calls?status=In-progress), and none older than LIVE_CALL_MAX_AGE_MS.
   */
  @Get('live')
  @Roles('admin', 'supervisor')
  @ApiOperation({ summary: 'Calls in progress now: the 1,000 most recently started at most, none older than LIVE_CALL_MAX_AGE_MS' })
  @ApiOkResponse({ type: LiveCallsDto })
  @ApiErrors({ 403: 'Agents and integrations' })
  async live(@CurrentActor() actor: Actor) {
    return { calls: await this.calls.live(actor) };
  }
}

const statusOf = (e: DomainError) => DOMAIN_STATUS[e.code];

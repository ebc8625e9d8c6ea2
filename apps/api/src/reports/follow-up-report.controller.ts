import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor, Clock, ValidationError } from '@app/shared';
import { FollowUpReport, FollowUpReportRepository } from '@app/reports';
import { CurrentActor, Roles } from '../auth/auth.decorators';
import { ApiErrors, ApiKeyErrors } from '../http/error-response.dto';
import { FollowUpReportDto, FollowUpReportQueryDto } from './follow-up-report.dto';

@ApiTags('reports')
@ApiBearerAuth()
@ApiKeyErrors()
@Controller('api/reports')
export class FollowUpReportController {
  constructor(
    private readonly reports: FollowUpReportRepository,
    private readonly clock: Clock,
  ) {}

  @Get('follow-ups')
  @Roles('admin', 'supervisor')
  @ApiOperation({
    summary: 'Follow-up report per agent (supervisors and admins)',
    description: [
      "Effective agent of a follow-up: its own agentId, else the contact's assigned agent at that moment (a reassignment, manual or automatic,",
      'moves the open follow-ups that inherit their agent; those with an agent of their own stay), else none: the agentId null row.',
      'Notes count for their author. Notes are never follow-ups: an agent who only writes notes has notesWritten and nothing due.',
      "Snapshot, now, over open follow-ups (scheduled, queued, in_progress, snoozed) of ACTIVE contacts (the hub's; an archived contact's count again once it is made ACTIVE): dueToday, overdue (due date before today) and upcoming",
      "by the due time (scheduledAt, moved only by snooze and reschedule), today being the viewer's in the viewer's timezone;",
      'snoozed = open and snoozed right now (also counted in one of the three).',
      'Activity in the range from..to (days of the organization\'s timezone, both included; both absent: all time), each counted for the',
      'effective agent when it happened: scheduled, completed (by hand, by the hub, or a successful attempt), failed (the last attempt failed),',
      'expired, cancelled, notesWritten.',
      'Built asynchronously from the event log: what happened a moment ago may not be counted yet.',
    ].join(' '),
  })
  @ApiOkResponse({ type: FollowUpReportDto })
  @ApiErrors({ 400: 'A bad date, to before from, or a groupBy other than agent', 403: 'Agents and integrations' })
  followUps(@CurrentActor() actor: Actor, @Query() query: FollowUpReportQueryDto): Promise<FollowUpReport> {
    const from = query.from ?? null;
    const to = query.to ?? null;
    // Dates as YYYY-MM-DD compare in calendar order.
    if (from !== null && to !== null && to < from) throw new ValidationError('to', `must not be before from (${from})`);
    return this.reports.report(actor.orgId, actor.timezone, this.clock.now(), { from, to });
  }
}

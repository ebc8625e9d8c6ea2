import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '@app/shared';
import { CallReport, CallReportRepository } from '@app/reports';
import { CurrentActor, Roles } from '../auth/auth.decorators';
import { ApiErrors, ApiKeyErrors } from '../http/error-response.dto';
import { CallReportDto, CallReportQueryDto } from './call-report.dto';

@ApiTags('reports')
@ApiBearerAuth()
@ApiKeyErrors()
@Controller('api/reports')
export class CallReportController {
  constructor(private readonly reports: CallReportRepository) {}

  @Get('calls')
  @Roles('admin', 'supervisor')
  @ApiOperation({
    summary: 'Call report (supervisors and admins)',
    description: [
      "Final calls (every status but In-progress) per bucket of the organization's timezone: a call at 23:30 local counts on its local day.",
      'attempts = final calls; connected = calls with durationSec > 0; connectRate = connected / attempts (4 decimals); missed = status Missed;',
      'talkTimeSec = sum of durationSec; byStatus = calls per final status.',
      'groupBy status, agent (with the agent\'s name), branch and department (the agent\'s when the call was recorded), tag (a call counts once per tag;',
      'a call without tags under null) or campaign. totals count each call once, so with groupBy tag the rows can add up to more than totals.',
      'Built asynchronously from the event log: a call pushed a moment ago may not be counted yet. A change of the organization\'s timezone',
      'applies to calls recorded after it; history keeps its days (a rebuild replays the change at the same point of the log).',
    ].join(' '),
  })
  @ApiOkResponse({ type: CallReportDto })
  @ApiErrors({ 400: 'A bad date, to before from, a range too long for the granularity, or an unknown granularity or groupBy', 403: 'Agents and integrations' })
  calls(@CurrentActor() actor: Actor, @Query() query: CallReportQueryDto): Promise<CallReport> {
    return this.reports.report(actor.orgId, { from: query.from, to: query.to, granularity: query.granularity ?? 'day', groupBy: query.groupBy ?? 'status' });
  }
}

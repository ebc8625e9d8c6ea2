import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, ValidateBy } from 'class-validator';
import { FOLLOW_UP_REPORT_GROUPS, FollowUpReportGroup, isFollowUpReportDay } from '@app/reports';

const IsReportDay = () =>
  ValidateBy({
    name: 'isReportDay',
    validator: {
      validate: (v: unknown) => isFollowUpReportDay(v),
      defaultMessage: (args) => `${args?.property} must be a calendar date YYYY-MM-DD`,
    },
  });

/** GET /api/reports/follow-ups. `to` before `from` is refused by the controller (a cross-field rule). */
export class FollowUpReportQueryDto {
  @ApiPropertyOptional({ enum: FOLLOW_UP_REPORT_GROUPS, default: 'agent' })
  @IsOptional()
  @IsIn(FOLLOW_UP_REPORT_GROUPS, { message: `groupBy must be one of: ${FOLLOW_UP_REPORT_GROUPS.join(', ')}` })
  groupBy?: FollowUpReportGroup;

  @ApiPropertyOptional({ format: 'date', example: '2026-03-01', description: "First day of the activity counts, in the organization's timezone (included); absent: from the beginning" })
  @IsOptional()
  @IsReportDay()
  from?: string;

  @ApiPropertyOptional({ format: 'date', example: '2026-03-31', description: "Last day of the activity counts, in the organization's timezone (included), not before from; absent: up to now" })
  @IsOptional()
  @IsReportDay()
  to?: string;
}

export class FollowUpCountsDto {
  @ApiProperty({ description: "Open follow-ups due today (the viewer's today)" }) dueToday: number;
  @ApiProperty({ description: 'Open follow-ups due before today' }) overdue: number;
  @ApiProperty({ description: 'Open follow-ups due after today' }) upcoming: number;
  @ApiProperty({ description: 'Open follow-ups snoozed right now; each is also in dueToday, overdue or upcoming by its due time' }) snoozed: number;
  @ApiProperty({ description: 'Follow-ups scheduled in the range' }) scheduled: number;
  @ApiProperty({ description: 'Completed in the range: by hand, by the hub, or by a successful attempt' }) completed: number;
  @ApiProperty({ description: 'Failed in the range: the last attempt failed' }) failed: number;
  @ApiProperty({ description: 'Expired in the range' }) expired: number;
  @ApiProperty({ description: 'Cancelled in the range' }) cancelled: number;
  @ApiProperty({ description: 'Notes written in the range, by their author' }) notesWritten: number;
}

export class FollowUpReportRowDto extends FollowUpCountsDto {
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'The agent; null: follow-ups with no agent (none of their own, on an unassigned contact)' })
  agentId: string | null;
  @ApiProperty({ nullable: true, type: String, description: "The user's name; null for the no-agent row" }) name: string | null;
}

export class FollowUpReportDto {
  @ApiProperty({ enum: FOLLOW_UP_REPORT_GROUPS }) groupBy: FollowUpReportGroup;
  @ApiProperty({ description: "The viewer's timezone: today, overdue and upcoming are taken in it", example: 'Europe/London' }) timezone: string;
  @ApiProperty({ format: 'date', description: "Today in the viewer's timezone" }) today: string;
  @ApiProperty({ description: "The organization's timezone: activity is dated in it, and from/to are its days", example: 'America/New_York' }) orgTimezone: string;
  @ApiProperty({ format: 'date', nullable: true, type: String }) from: string | null;
  @ApiProperty({ format: 'date', nullable: true, type: String }) to: string | null;
  @ApiProperty({
    type: [FollowUpReportRowDto],
    description: 'One row per user with any count, plus every active agent (zeros too), ordered by name then id; then the agentId null row when follow-ups without an agent count anything',
  })
  rows: FollowUpReportRowDto[];
  @ApiProperty({ type: FollowUpCountsDto, description: 'The sum of the rows' }) totals: FollowUpCountsDto;
}

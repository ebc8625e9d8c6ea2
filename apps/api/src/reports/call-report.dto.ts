import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, ValidateBy } from 'class-validator';
import { CALENDAR_DAY_MESSAGE, CALL_REPORT_DIMENSIONS, CallReportDimension, dayNumber, Granularity, GRANULARITIES, MAX_RANGE_DAYS } from '@app/reports';

const IsCalendarDay = () =>
  ValidateBy({
    name: 'isCalendarDay',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && dayNumber(v) !== null,
      defaultMessage: (args) => `${args?.property} ${CALENDAR_DAY_MESSAGE}`,
    },
  });

/** GET /api/reports/calls. Cross-field rules (to ≥ from, longest range) are checked by the report itself. */
export class CallReportQueryDto {
  @ApiProperty({ format: 'date', example: '2026-03-01', description: "First day, in the organization's timezone (included)" })
  @IsCalendarDay()
  from: string;

  @ApiProperty({
    format: 'date',
    example: '2026-03-31',
    description: `Last day, in the organization's timezone (included); not before from. The range may cover at most ${MAX_RANGE_DAYS.day} days with granularity day, ${MAX_RANGE_DAYS.week} (5 years) otherwise.`,
  })
  @IsCalendarDay()
  to: string;

  @ApiPropertyOptional({ enum: GRANULARITIES, default: 'day', description: 'day; week (ISO, labelled by its Monday); month (labelled YYYY-MM-01)' })
  @IsOptional()
  @IsIn(GRANULARITIES)
  granularity?: Granularity;

  @ApiPropertyOptional({ enum: CALL_REPORT_DIMENSIONS, default: 'status' })
  @IsOptional()
  @IsIn(CALL_REPORT_DIMENSIONS)
  groupBy?: CallReportDimension;
}

export class CallReportByStatusDto {
  @ApiProperty() Called: number;
  @ApiProperty() Busy: number;
  @ApiProperty() 'No Answer': number;
  @ApiProperty() Missed: number;
  @ApiProperty() 'Follow up': number;
  @ApiProperty() Rescheduled: number;
}

export class CallReportFiguresDto {
  @ApiProperty({ description: 'Final calls (In-progress is live state and never counts)' }) attempts: number;
  @ApiProperty({ description: 'Calls with durationSec > 0, whatever their status' }) connected: number;
  @ApiProperty({ description: 'connected / attempts, rounded to 4 decimals; 0 when there are no attempts', example: 0.6667 }) connectRate: number;
  @ApiProperty({ description: 'Calls with status Missed' }) missed: number;
  @ApiProperty({ description: 'Sum of durationSec' }) talkTimeSec: number;
  @ApiProperty({ type: CallReportByStatusDto }) byStatus: CallReportByStatusDto;
}

export class CallReportRowDto extends CallReportFiguresDto {
  @ApiProperty({ format: 'date', description: 'The day; the Monday of the ISO week; or the first of the month' }) bucket: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The status, agent id, branch, department, tag or campaign id; null for none (no branch, department, campaign or tag)',
  })
  key: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: "groupBy agent only: the agent's name" }) name?: string | null;
}

export class CallReportDto {
  @ApiProperty({ format: 'date' }) from: string;
  @ApiProperty({ format: 'date' }) to: string;
  @ApiProperty({ enum: GRANULARITIES }) granularity: Granularity;
  @ApiProperty({ enum: CALL_REPORT_DIMENSIONS }) groupBy: CallReportDimension;
  @ApiProperty({ description: "The organization's timezone the days are counted in", example: 'America/New_York' }) timezone: string;
  @ApiProperty({ type: [CallReportRowDto], description: 'Only buckets and keys with calls, ordered by bucket then key (null last)' }) rows: CallReportRowDto[];
  @ApiProperty({
    type: CallReportFiguresDto,
    description: 'Every call of the range once, whatever groupBy. With groupBy tag a call counts once per tag in rows, so rows may add up to more than totals.',
  })
  totals: CallReportFiguresDto;
}

import { Injectable } from '@nestjs/common';
import { Database, ValidationError } from '@app/shared';
import { FINAL_CALL_STATUSES, FinalCallStatus } from '@app/contacts';
import { CallReportDimension, NO_KEY, STATUS_COLUMNS } from './call-report.aggregation';
import { bucketsByDay, CALENDAR_DAY_MESSAGE, dayNumber, Granularity, MAX_RANGE_DAYS } from './call-report.calendar';

export type ByStatus = Record<FinalCallStatus, number>;

export interface CallReportFigures {
  attempts: number;
  connected: number;
  /** connected / attempts, rounded to 4 decimals; 0 when there are no attempts. */
  connectRate: number;
  /** Calls with status Missed. */
  missed: number;
  talkTimeSec: number;
  byStatus: ByStatus;
}

export interface CallReportRow extends CallReportFigures {
  bucket: string;
  /** The status, agent id, branch, department, tag or campaign id; null for none. */
  key: string | null;
  /** groupBy agent only: the user's name. */
  name?: string | null;
}

export interface CallReport {
  from: string;
  to: string;
  granularity: Granularity;
  groupBy: CallReportDimension;
  timezone: string;
  rows: CallReportRow[];
  /** Each call once, whatever groupBy (from the status rows): with groupBy tag, rows may sum to more. */
  totals: CallReportFigures;
}

export interface CallReportQuery {
  from: string;
  to: string;
  granularity: Granularity;
  groupBy: CallReportDimension;
}

type Grouped = { dimension: CallReportDimension; bucket: string; key: string; name: string | null; attempts: number; connected: number; talk_sec: number } & Record<
  string,
  number | string | null
>;

const STATUS_COLS = Object.values(STATUS_COLUMNS)
  .map((c) => `g.${c}`)
  .join(', ');
const STATUS_SUMS = Object.values(STATUS_COLUMNS)
  .map((c) => `sum(r.${c})::bigint AS ${c}`)
  .join(', ');

/**
 * SPEC §8 call report: one query over call_report_days per request. The primary key (org, dimension, day, key)
 * bounds the scan to the org's rows of the asked dimension (and `status`, whose rows count each call once, for the
 * totals) within [from, to]. Each day finds its bucket in a list of one bucket per day of the range (day - from is
 * its index), so the calendar rules live in one tested place (call-report.calendar) and no join is needed.
 */
@Injectable()
export class CallReportRepository {
  constructor(private readonly db: Database) {}

  async report(orgId: string, q: CallReportQuery): Promise<CallReport> {
    const from = dayNumber(q.from);
    const to = dayNumber(q.to);
    if (from === null) throw new ValidationError('from', CALENDAR_DAY_MESSAGE);
    if (to === null) throw new ValidationError('to', CALENDAR_DAY_MESSAGE);
    if (to < from) throw new ValidationError('to', 'must not be before from');
    const max = MAX_RANGE_DAYS[q.granularity];
    if (to - from + 1 > max) throw new ValidationError('to', `must leave the range at most ${max} days long (from and to included) for granularity ${q.granularity}`);

    const { buckets } = bucketsByDay(q.from, q.to, q.granularity);
    const dimensions = q.groupBy === 'status' ? ['status'] : [q.groupBy, 'status'];
    // One row at least (the timezone), with the grouped rows left-joined to it: null dimension when there are none.
    const { rows } = await this.db.query<Grouped & { timezone: string | null }>(
      `WITH grouped AS (
         SELECT r.dimension, ($3::date[])[r.day - $4::date + 1] AS bucket, r.key,
                sum(r.attempts)::bigint AS attempts, sum(r.connected)::bigint AS connected, sum(r.talk_sec)::bigint AS talk_sec, ${STATUS_SUMS}
           FROM call_report_days r
          WHERE r.org_id = $1 AND r.dimension = ANY ($2::text[]) AND r.day BETWEEN $4::date AND $5::date
          GROUP BY 1, 2, 3
       )
       SELECT tz.timezone, g.dimension, to_char(g.bucket, 'YYYY-MM-DD') AS bucket, g.key, u.name, g.attempts, g.connected, g.talk_sec, ${STATUS_COLS}
         FROM (SELECT coalesce((SELECT timezone FROM call_report_orgs WHERE org_id = $1), (SELECT timezone FROM organizations WHERE id = $1)) AS timezone) tz
         LEFT JOIN (grouped g
                    LEFT JOIN users u ON g.dimension = 'agent' AND u.org_id = $1
                                     AND u.id = CASE WHEN g.dimension = 'agent' AND g.key <> '' THEN g.key::uuid END) ON true
        ORDER BY g.dimension, g.bucket, g.key = '', g.key COLLATE "C"`,
      [orgId, dimensions, buckets, q.from, q.to],
    );
    const out = rows.filter((g) => g.dimension === q.groupBy).map((g) => this.row(g, q.groupBy === 'agent'));
    const totals = rows.filter((g) => g.dimension === 'status').reduce(addFigures, emptySums());
    return { from: q.from, to: q.to, granularity: q.granularity, groupBy: q.groupBy, timezone: rows[0]?.timezone ?? 'UTC', rows: out, totals: figures(totals) };
  }

  private row(g: Grouped, withName: boolean): CallReportRow {
    const row: CallReportRow = { bucket: g.bucket, key: g.key === NO_KEY ? null : g.key, ...figures(addFigures(emptySums(), g)) };
    if (withName) row.name = g.name ?? null;
    return row;
  }
}

interface Sums {
  attempts: number;
  connected: number;
  talkSec: number;
  byStatus: ByStatus;
}

const emptySums = (): Sums => ({
  attempts: 0,
  connected: 0,
  talkSec: 0,
  byStatus: Object.fromEntries(FINAL_CALL_STATUSES.map((s) => [s, 0])) as ByStatus,
});

function addFigures(sums: Sums, g: Grouped): Sums {
  sums.attempts += Number(g.attempts);
  sums.connected += Number(g.connected);
  sums.talkSec += Number(g.talk_sec);
  for (const s of FINAL_CALL_STATUSES) sums.byStatus[s] += Number(g[STATUS_COLUMNS[s]] ?? 0);
  return sums;
}

function figures(s: Sums): CallReportFigures {
  return {
    attempts: s.attempts,
    connected: s.connected,
    connectRate: s.attempts === 0 ? 0 : Math.round((s.connected / s.attempts) * 10_000) / 10_000,
    missed: s.byStatus.Missed,
    talkTimeSec: s.talkSec,
    byStatus: s.byStatus,
  };
}

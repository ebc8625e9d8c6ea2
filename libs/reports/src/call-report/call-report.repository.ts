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

type Grouped = { bucket: string; key: string; attempts: number; connected: number; talk_sec: number } & Record<string, number | string | null>;

const STATUS_LIST = Object.values(STATUS_COLUMNS);
const SUMS = ['attempts', 'connected', 'talk_sec', ...STATUS_LIST].map((c) => `sum(r.${c})::bigint AS ${c}`).join(', ');
const PLAIN = ['attempts', 'connected', 'talk_sec', ...STATUS_LIST].map((c) => `r.${c}`).join(', ');

/**
 * SPEC §8 call report over call_report_days, never the calls: the primary key (org, dimension, day, key) bounds
 * every read to the org's rows of one dimension within [from, to]. By day the rows are read as stored (one per
 * day and key, nothing to add up); by week or month each day finds its bucket in a list of one bucket per day of
 * the range (day - from is its index), so the calendar rules live in one tested place (call-report.calendar).
 * Totals come from the `status` rows, which count each call once, summed in one more indexed read. Rows are
 * ordered here rather than in SQL (bucket, then key in code-point order, none last): a sort of 15,000 rows in
 * the query spilled to disk at the default work_mem.
 */
/**
 * The most rows a report answers; past it, a 400 asks for a narrower one. Tags are free text, up to 50 a call: a
 * client pushing calls with thousands of new tags (a security review did, 200,000 report rows from four batches) made
 * a year's report by tag tens of megabytes, built in one event-loop turn of the API process every tenant shares. A
 * year of days for 130 agents fits.
 */
export const MAX_REPORT_ROWS = 50_000;

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

    const range = [orgId, q.groupBy, q.from, q.to];
    let grouped: Promise<{ rows: Grouped[] }>;
    if (q.granularity === 'day') {
      grouped = this.db.query<Grouped>(
        `SELECT to_char(r.day, 'YYYY-MM-DD') AS bucket, r.key, ${PLAIN} FROM call_report_days r
          WHERE r.org_id = $1 AND r.dimension = $2 AND r.day BETWEEN $3::date AND $4::date LIMIT ${MAX_REPORT_ROWS + 1}`,
        range,
      );
    } else {
      // whole weeks or months from their own rows; a bucket the range cuts, summed from its days inside the range
      const { days, buckets } = bucketsByDay(q.from, q.to, q.granularity);
      const inRange = new Map<string, number>();
      for (const b of buckets) inRange.set(b, (inRange.get(b) ?? 0) + 1);
      const grain = q.granularity;
      const whole = [...inRange].filter(([b, n]) => b >= q.from && n === bucketLength(b, grain)).map(([b]) => b);
      const wholeSet = new Set(whole);
      const cutDays = days.filter((_, i) => !wholeSet.has(buckets[i]));
      grouped = Promise.all([
        whole.length
          ? this.db.query<Grouped>(
              `SELECT to_char(r.start, 'YYYY-MM-DD') AS bucket, r.key, ${PLAIN} FROM call_report_periods r
                WHERE r.org_id = $1 AND r.dimension = $2 AND r.grain = $3 AND r.start BETWEEN $4::date AND $5::date LIMIT ${MAX_REPORT_ROWS + 1}`,
              // whole buckets are consecutive (only the first and the last can be cut): one range of the primary key
              [orgId, q.groupBy, q.granularity, whole[0], whole[whole.length - 1]],
            )
          : { rows: [] as Grouped[] },
        cutDays.length
          ? this.db.query<Grouped>(
              `SELECT to_char(($5::date[])[r.day - $3::date + 1], 'YYYY-MM-DD') AS bucket, r.key, ${SUMS} FROM call_report_days r
                WHERE r.org_id = $1 AND r.dimension = $2 AND r.day BETWEEN $3::date AND $4::date AND r.day = ANY ($6::date[])
                GROUP BY 1, 2 LIMIT ${MAX_REPORT_ROWS + 1}`,
              [...range, buckets, cutDays],
            )
          : { rows: [] as Grouped[] },
      ]).then(([a, b]) => ({ rows: [...a.rows, ...b.rows] }));
    }
    const totals = this.db.query<Grouped>(
      `SELECT '' AS bucket, '' AS key, ${SUMS} FROM call_report_days r
        WHERE r.org_id = $1 AND r.dimension = 'status' AND r.day BETWEEN $2::date AND $3::date`,
      [orgId, q.from, q.to],
    );
    const context = this.db.query<{ timezone: string | null; names: Record<string, string> | null }>(
      `SELECT coalesce((SELECT timezone FROM call_report_orgs WHERE org_id = $1), (SELECT timezone FROM organizations WHERE id = $1)) AS timezone,
              CASE WHEN $2 THEN (SELECT jsonb_object_agg(u.id, u.name) FROM users u WHERE u.org_id = $1) END AS names`,
      [orgId, q.groupBy === 'agent'],
    );
    const [g, t, c] = await Promise.all([grouped, totals, context]);
    if (g.rows.length > MAX_REPORT_ROWS) {
      // a range of one day cannot be narrowed: then the grouping is what to change
      const [field, remedy] = q.from === q.to ? ['groupBy', 'choose another groupBy'] : ['to', 'narrow the range, or choose a coarser granularity or another groupBy'];
      throw new ValidationError(field, `must leave the report at most ${MAX_REPORT_ROWS.toLocaleString('en')} rows (this one has more): ${remedy}`);
    }
    const names = c.rows[0]?.names ?? {};
    const rows = g.rows.sort(byBucketThenKey).map((r) => this.row(r, q.groupBy === 'agent' ? names : null));
    return {
      from: q.from,
      to: q.to,
      granularity: q.granularity,
      groupBy: q.groupBy,
      timezone: c.rows[0]?.timezone ?? 'UTC',
      rows,
      totals: figures(addFigures(emptySums(), t.rows[0])),
    };
  }

  private row(g: Grouped, names: Record<string, string> | null): CallReportRow {
    const row: CallReportRow = { bucket: g.bucket, key: g.key === NO_KEY ? null : g.key, ...figures(addFigures(emptySums(), g)) };
    if (names) row.name = g.key === NO_KEY ? null : (names[g.key] ?? null);
    return row;
  }
}

/** Days in the week or month that starts on `start`. */
function bucketLength(start: string, granularity: 'week' | 'month'): number {
  if (granularity === 'week') return 7;
  const [y, m] = start.split('-').map(Number);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** Bucket, then key in UTF-16 order (COLLATE "C" order but for characters outside the BMP), the none key ('') last. */
function byBucketThenKey(a: Grouped, b: Grouped): number {
  if (a.bucket !== b.bucket) return a.bucket < b.bucket ? -1 : 1;
  if (a.key === b.key) return 0;
  if (a.key === NO_KEY) return 1;
  if (b.key === NO_KEY) return -1;
  return a.key < b.key ? -1 : 1;
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

import { Injectable } from '@nestjs/common';
import { Database, localDate } from '@app/shared';
import { NO_AGENT, todayWindow } from './due-slots';

export const FOLLOW_UP_REPORT_GROUPS = ['agent'] as const;
export type FollowUpReportGroup = (typeof FOLLOW_UP_REPORT_GROUPS)[number];

/** Inclusive local days in the org's time zone (`YYYY-MM-DD`); null: unbounded on that side. */
export interface DayRange {
  readonly from: string | null;
  readonly to: string | null;
}

/** Open figures count only ACTIVE contacts' follow-ups, as the hub lists only ACTIVE contacts (SPEC §6). */
export interface FollowUpCounts {
  /** Open follow-ups due today, in the viewer's time zone. */
  dueToday: number;
  /** Open follow-ups due before today. */
  overdue: number;
  /** Open follow-ups due after today. */
  upcoming: number;
  /** Open follow-ups snoozed right now (also counted in the three above by their due time). */
  snoozed: number;
  scheduled: number;
  completed: number;
  failed: number;
  expired: number;
  cancelled: number;
  notesWritten: number;
}

export interface FollowUpReportRow extends FollowUpCounts {
  /** null: follow-ups with no agent (none of their own, and an unassigned contact). */
  agentId: string | null;
  /** null for the no-agent row, or an id that is not a user of the org. */
  name: string | null;
}

export interface FollowUpReport {
  groupBy: FollowUpReportGroup;
  /** The viewer's time zone: today, overdue and upcoming are taken in it. */
  timezone: string;
  today: string;
  /** The org's time zone, in which activity is dated and from/to are read. */
  orgTimezone: string;
  from: string | null;
  to: string | null;
  rows: FollowUpReportRow[];
  totals: FollowUpCounts;
}

const zero = (): FollowUpCounts => ({ dueToday: 0, overdue: 0, upcoming: 0, snoozed: 0, scheduled: 0, completed: 0, failed: 0, expired: 0, cancelled: 0, notesWritten: 0 });
const COUNT_KEYS = Object.keys(zero()) as (keyof FollowUpCounts)[];

/**
 * Reads the follow-up report projection: a few indexed queries over its pre-aggregated tables (one org's open cells
 * and activity days, and the org's users for names), never follow_ups or calls.
 */
@Injectable()
export class FollowUpReportRepository {
  constructor(private readonly db: Database) {}

  async report(orgId: string, viewerTimezone: string, now: Date, range: DayRange): Promise<FollowUpReport> {
    // Today's bounds fall on slot boundaries in every zone in use today (see due-slots.ts), so overdue, due today and
    // upcoming are exact sums over whole slots.
    const today = todayWindow(viewerTimezone, now);
    const [open, activity, orgTz] = await Promise.all([
      this.db.query<{ agent_id: string; overdue: number; due_today: number; upcoming: number; snoozed: number }>(
        `SELECT agent_id,
                coalesce(sum(open) FILTER (WHERE slot < $2), 0) AS overdue,
                coalesce(sum(open) FILTER (WHERE slot >= $2 AND slot < $3), 0) AS due_today,
                coalesce(sum(open) FILTER (WHERE slot >= $3), 0) AS upcoming,
                sum(snoozed) AS snoozed
           FROM fu_report_open WHERE org_id = $1 GROUP BY agent_id`,
        [orgId, today.start, today.end],
      ),
      this.db.query<{ agent_id: string; scheduled: number; completed: number; failed: number; expired: number; cancelled: number; notes_written: number }>(
        `SELECT agent_id, sum(scheduled) AS scheduled, sum(completed) AS completed, sum(failed) AS failed, sum(expired) AS expired,
                sum(cancelled) AS cancelled, sum(notes_written) AS notes_written
           FROM fu_report_activity WHERE org_id = $1 AND day BETWEEN $2::date AND $3::date GROUP BY agent_id`,
        [orgId, range.from ?? '-infinity', range.to ?? 'infinity'],
      ),
      this.db.query<{ timezone: string }>('SELECT timezone FROM fu_report_org_timezones WHERE org_id = $1', [orgId]),
    ]);

    const byAgent = new Map<string, FollowUpCounts>();
    const countsOf = (agentId: string) => byAgent.get(agentId) ?? byAgent.set(agentId, zero()).get(agentId)!;
    for (const r of open.rows) Object.assign(countsOf(r.agent_id), { overdue: r.overdue, dueToday: r.due_today, upcoming: r.upcoming, snoozed: r.snoozed });
    for (const r of activity.rows) {
      Object.assign(countsOf(r.agent_id), {
        scheduled: r.scheduled,
        completed: r.completed,
        failed: r.failed,
        expired: r.expired,
        cancelled: r.cancelled,
        notesWritten: r.notes_written,
      });
    }
    const counted = [...byAgent.entries()].filter(([id, c]) => id !== NO_AGENT && COUNT_KEYS.some((k) => c[k] !== 0)).map(([id]) => id);
    // Every active agent (zeros too), and any user with a count whatever the role.
    const users = await this.db.query<{ id: string; name: string }>(
      `SELECT id, name FROM users WHERE org_id = $1 AND ((role = 'agent' AND active) OR id = ANY ($2::uuid[]))`,
      [orgId, counted],
    );
    const names = new Map(users.rows.map((u) => [u.id, u.name]));
    const rows: FollowUpReportRow[] = [...new Set([...names.keys(), ...counted])].map((id) => ({ agentId: id, name: names.get(id) ?? null, ...(byAgent.get(id) ?? zero()) }));
    rows.sort(byNameThenId);
    const unassigned = byAgent.get(NO_AGENT);
    if (unassigned && COUNT_KEYS.some((k) => unassigned[k] !== 0)) rows.push({ agentId: null, name: null, ...unassigned });

    const totals = zero();
    for (const r of rows) for (const k of COUNT_KEYS) totals[k] += r[k];
    return {
      groupBy: 'agent',
      timezone: viewerTimezone,
      today: localDate(now, viewerTimezone),
      orgTimezone: orgTz.rows[0]?.timezone ?? 'UTC',
      from: range.from,
      to: range.to,
      rows,
      totals,
    };
  }

  /**
   * Open follow-ups (scheduled, queued, in_progress, snoozed) of ACTIVE contacts per effective agent, for the `least_loaded` strategy:
   * one query on the primary key of the pre-aggregated cells. Every asked id is in the answer (0 when it has none).
   */
  async openFollowUpsByAgent(orgId: string, agentIds: string[]): Promise<Map<string, number>> {
    const result = new Map<string, number>(agentIds.map((id) => [id, 0]));
    if (agentIds.length === 0) return result;
    const { rows } = await this.db.query<{ agent_id: string; open: number }>(
      'SELECT agent_id, sum(open)::int AS open FROM fu_report_open WHERE org_id = $1 AND agent_id = ANY ($2::uuid[]) GROUP BY agent_id',
      [orgId, agentIds],
    );
    for (const r of rows) result.set(r.agent_id, r.open);
    return result;
  }
}

/** Rows by name, then id; rows without a name (ids that are not users of the org) after the named ones. */
function byNameThenId(a: FollowUpReportRow, b: FollowUpReportRow): number {
  if (a.name !== b.name) {
    if (a.name === null) return 1;
    if (b.name === null) return -1;
    const byName = a.name.localeCompare(b.name);
    if (byName !== 0) return byName;
  }
  return a.agentId! < b.agentId! ? -1 : a.agentId! > b.agentId! ? 1 : 0;
}

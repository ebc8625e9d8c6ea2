import { StoredEvent } from '@app/event-store';
import { CallLogged, CallLoggedData, FINAL_CALL_STATUSES, FinalCallStatus } from '@app/contacts';
import { UserCreated, UserCreatedData, UserUpdated, UserUpdatedData } from '@app/tenancy';
import { orgTimezoneSetBy } from '../shared/org-timezone';
import { bucketOf, reportDay } from './call-report.calendar';

/** What a report row can be grouped by: every call counts once in each dimension (in `tag`, once per tag). */
export const CALL_REPORT_DIMENSIONS = ['status', 'agent', 'branch', 'department', 'tag', 'campaign'] as const;
export type CallReportDimension = (typeof CALL_REPORT_DIMENSIONS)[number];

/** The key of "none" (no campaign, branch, department or tag) in the tables; the API shows it as null. */
export const NO_KEY = '';

/** The stored per-status columns, in the order of FINAL_CALL_STATUSES. */
export const STATUS_COLUMNS: Record<FinalCallStatus, string> = {
  Called: 's_called',
  Busy: 's_busy',
  'No Answer': 's_no_answer',
  Missed: 's_missed',
  'Follow up': 's_follow_up',
  Rescheduled: 's_rescheduled',
};

/** One row of call_report_days: the calls of one org, local day and dimension key. */
export interface CallReportDayRow {
  orgId: string;
  dimension: CallReportDimension;
  day: string;
  key: string;
  attempts: number;
  connected: number;
  talkSec: number;
  /** Counts per final status, in the order of FINAL_CALL_STATUSES. */
  byStatus: number[];
}

export interface ReportUser {
  orgId: string;
  branch: string;
  department: string;
}

/** The projection's own state, read from its own tables: each org's timezone and each user's branch and department. */
export interface CallReportState {
  readonly orgTimezones: Map<string, string>;
  readonly users: Map<string, ReportUser>;
}

export interface CallReportDelta {
  /** Counts to add, one per (org, dimension, day, key). */
  readonly rows: CallReportDayRow[];
  /** Orgs and users whose state the events changed (their new values are in the state). */
  readonly changedOrgs: Set<string>;
  readonly changedUsers: Set<string>;
}

const STATUS_INDEX = new Map<string, number>(FINAL_CALL_STATUSES.map((s, i) => [s, i]));
const validZones = new Map<string, boolean>();

/** A zone Intl cannot use would stop the projection on every retry: such a change is ignored instead. */
function isValidTimezone(tz: string): boolean {
  let ok = validZones.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    validZones.set(tz, ok);
  }
  return ok;
}

/**
 * Folds a batch of events, in log order, into the counts it adds and the state it leaves (mutating `state`).
 * A call is bucketed by its local day in the org's timezone as the log has it at that point, and counted
 * under its agent's branch and department as they are at that point: both depend on the log only, so a
 * replay gives the same rows whatever the batch boundaries.
 */
export function aggregateCallReport(events: readonly StoredEvent[], state: CallReportState): CallReportDelta {
  const rows: CallReportDayRow[] = [];
  // The rows of each org and day, by dimension and key: maps keyed by the strings the events and the state already
  // hold (V8 keeps a string's hash on it), not by a key concatenated afresh for each of a call's six or more rows.
  const byOrgDay = new Map<string, Map<string, Record<CallReportDimension, Map<string, CallReportDayRow>>>>();
  const rowsOf = (orgId: string, day: string) => {
    let days = byOrgDay.get(orgId);
    if (!days) byOrgDay.set(orgId, (days = new Map()));
    let of = days.get(day);
    if (!of) {
      of = { status: new Map(), agent: new Map(), branch: new Map(), department: new Map(), tag: new Map(), campaign: new Map() };
      days.set(day, of);
    }
    return of;
  };
  const changedOrgs = new Set<string>();
  const changedUsers = new Set<string>();
  // A zone's local date can only change on a whole UTC minute (every offset since 1972 is whole minutes), so the
  // calls of one minute share it: one Intl lookup per zone and minute instead of one per call.
  const days = new Map<string, string | null>();
  const dayOf = (startedAt: string, timezone: string): string | null => {
    const ms = Date.parse(startedAt);
    if (Number.isNaN(ms)) return null;
    const slot = `${timezone} ${Math.floor(ms / 60_000)}`;
    let day = days.get(slot);
    if (day === undefined) {
      day = reportDay(startedAt, timezone);
      days.set(slot, day);
    }
    return day;
  };

  const add = (
    of: Record<CallReportDimension, Map<string, CallReportDayRow>>,
    orgId: string,
    dimension: CallReportDimension,
    day: string,
    key: string,
    d: CallLoggedData,
    status: number | undefined,
  ) => {
    let row = of[dimension].get(key);
    if (!row) {
      row = { orgId, dimension, day, key, attempts: 0, connected: 0, talkSec: 0, byStatus: FINAL_CALL_STATUSES.map(() => 0) };
      of[dimension].set(key, row);
      rows.push(row);
    }
    row.attempts += 1;
    const duration = Number(d.durationSec) || 0;
    if (duration > 0) row.connected += 1; // SPEC §3: connected means durationSec > 0, whatever the status
    row.talkSec += Math.max(0, duration);
    if (status !== undefined) row.byStatus[status] += 1;
  };

  for (const e of events) {
    const tz = orgTimezoneSetBy(e);
    if (tz) {
      if (isValidTimezone(tz.timezone)) {
        state.orgTimezones.set(tz.orgId, tz.timezone);
        changedOrgs.add(tz.orgId);
      }
      continue;
    }
    switch (e.type) {
      case UserCreated: {
        const d = e.data as UserCreatedData;
        state.users.set(d.userId, { orgId: e.orgId, branch: d.branch ?? NO_KEY, department: d.department ?? NO_KEY });
        changedUsers.add(d.userId);
        break;
      }
      case UserUpdated: {
        const d = e.data as UserUpdatedData;
        const c = d.changes ?? {};
        if (!('branch' in c) && !('department' in c)) break;
        const user = state.users.get(d.userId) ?? { orgId: e.orgId, branch: NO_KEY, department: NO_KEY };
        if ('branch' in c) user.branch = c.branch ?? NO_KEY;
        if ('department' in c) user.department = c.department ?? NO_KEY;
        state.users.set(d.userId, user);
        changedUsers.add(d.userId);
        break;
      }
      case CallLogged: {
        const d = e.data as CallLoggedData;
        // Validated at ingest; an unreadable time is skipped rather than stopping the projection for good.
        const day = dayOf(d.startedAt, state.orgTimezones.get(e.orgId) ?? 'UTC');
        if (day === null) break;
        const status = STATUS_INDEX.get(d.status);
        const user = state.users.get(d.agentId);
        const of = rowsOf(e.orgId, day);
        add(of, e.orgId, 'status', day, d.status, d, status);
        add(of, e.orgId, 'agent', day, d.agentId, d, status);
        add(of, e.orgId, 'branch', day, user?.branch ?? NO_KEY, d, status);
        add(of, e.orgId, 'department', day, user?.department ?? NO_KEY, d, status);
        add(of, e.orgId, 'campaign', day, d.campaignId ?? NO_KEY, d, status);
        const tags = [...new Set(d.tags ?? [])].filter((t) => t !== NO_KEY);
        if (tags.length === 0) add(of, e.orgId, 'tag', day, NO_KEY, d, status);
        for (const tag of tags) add(of, e.orgId, 'tag', day, tag, d, status);
        break;
      }
    }
  }
  return { rows, changedOrgs, changedUsers };
}

/** The orgs and users whose stored state a batch needs before it is folded. */
export function stateNeededBy(events: readonly StoredEvent[]): { orgIds: string[]; userIds: string[] } {
  const orgIds = new Set<string>();
  const userIds = new Set<string>();
  for (const e of events) {
    if (e.type === CallLogged) {
      orgIds.add(e.orgId);
      userIds.add((e.data as CallLoggedData).agentId);
    } else if (e.type === UserUpdated) {
      userIds.add((e.data as UserUpdatedData).userId);
    }
  }
  return { orgIds: [...orgIds], userIds: [...userIds] };
}

export interface CallReportPeriodRow {
  orgId: string;
  dimension: CallReportDimension;
  grain: 'week' | 'month';
  /** The ISO week's Monday or the month's first day. */
  start: string;
  key: string;
  attempts: number;
  connected: number;
  talkSec: number;
  byStatus: number[];
}

/** The same counts by whole ISO week and calendar month: each day row added to its week's and its month's. */
export function periodRows(days: readonly CallReportDayRow[]): CallReportPeriodRow[] {
  const out = new Map<string, CallReportPeriodRow>();
  for (const d of days) {
    for (const grain of ['week', 'month'] as const) {
      const start = bucketOf(d.day, grain);
      const id = `${d.orgId}|${d.dimension}|${grain}|${start}|${d.key}`;
      let p = out.get(id);
      if (!p) {
        p = { orgId: d.orgId, dimension: d.dimension, grain, start, key: d.key, attempts: 0, connected: 0, talkSec: 0, byStatus: d.byStatus.map(() => 0) };
        out.set(id, p);
      }
      p.attempts += d.attempts;
      p.connected += d.connected;
      p.talkSec += d.talkSec;
      d.byStatus.forEach((n, i) => (p!.byStatus[i] += n));
    }
  }
  return [...out.values()];
}

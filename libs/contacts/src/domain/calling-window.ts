import { DateTime, IANAZone } from 'luxon';
import { ValidationError } from '@app/shared';
import { validTimeZone } from './contact.invariants';
import { FollowUpWindowCheck } from './follow-up.decider';

/**
 * The calling window (SPEC §7): the days and local hours in which call and sms follow-ups may run, applied in
 * the contact's timezone, DST-correct. Pure: `now` comes in; luxon does every time-zone conversion.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const isWeekday = (day: unknown): day is Weekday => typeof day === 'string' && (WEEKDAYS as readonly string[]).includes(day);

/**
 * The org's window, or a campaign's narrowing of it. `start` and `end` are local `HH:MM`, end exclusive; `end` may be
 * `24:00`, the end of the local day, so that a window can run up to midnight (an end of 23:59 leaves a minute closed).
 * `days` holds Weekday names; it is typed `string` because windows arrive from DTOs and JSON columns as
 * strings: a name that is not a Weekday never opens.
 */
export interface CallingWindow {
  readonly days: readonly string[];
  readonly start: string;
  readonly end: string;
}

export interface WindowCheck {
  readonly inWindow: boolean;
  /** now when in window; else the next opening, strictly after now; null when the window never opens. */
  readonly nextOpening: Date | null;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const END_OF_DAY = '24:00';
const MINUTE_MS = 60_000;
const HOUR_MS = 3600_000;
const DAY_MS = 86_400_000;
const NEVER_OPEN: WindowCheck = { inWindow: false, nextOpening: null };

/**
 * Minutes since local midnight of an `HH:MM`. An end may be `24:00` (1440: every minute of the local day is before it);
 * a start may not, as nothing of the day would be left to open.
 */
export function minutesOfDay(hhmm: string, field: string, bound: 'start' | 'end'): number {
  if (bound === 'end' && hhmm === END_OF_DAY) return 24 * 60;
  const m = typeof hhmm === 'string' ? HHMM.exec(hhmm) : null;
  if (!m) throw new ValidationError(field, bound === 'start' ? 'must be HH:MM, from 00:00 to 23:59' : 'must be HH:MM, up to 24:00 (the end of the day)');
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * A campaign narrows the org's window: the days of both, the later start, the earlier end (24:00 the latest). null
 * when nothing is left (no common day, or start not before end): the window never opens. The worker then passes
 * `{ inWindow: false, nextOpening: null }` (what checkWindow answers for null), and a call or sms follow-up
 * without the out-of-window override is not run and not deferred: it stays due in the hub until an agent acts
 * on it or it expires.
 */
export function effectiveWindow(org: CallingWindow, campaign: CallingWindow | null): CallingWindow | null {
  let startMinute = minutesOfDay(org.start, 'callingWindow.start', 'start');
  let endMinute = minutesOfDay(org.end, 'callingWindow.end', 'end');
  let days: Weekday[] = WEEKDAYS.filter((d) => org.days.includes(d));
  let start = org.start;
  let end = org.end;
  if (campaign) {
    const campaignStart = minutesOfDay(campaign.start, 'campaign.callingWindow.start', 'start');
    const campaignEnd = minutesOfDay(campaign.end, 'campaign.callingWindow.end', 'end');
    days = days.filter((d) => campaign.days.includes(d));
    if (campaignStart > startMinute) [start, startMinute] = [campaign.start, campaignStart];
    if (campaignEnd < endMinute) [end, endMinute] = [campaign.end, campaignEnd];
  }
  if (days.length === 0 || startMinute >= endMinute) return null;
  return { days, start, end };
}

/**
 * Whether `now` is inside the window in `timezone`, and when it next opens.
 *
 * In window: the local weekday is one of `days` and start <= local time < end (end exclusive), on the local
 * wall clock. An end of 24:00 keeps it open to the end of the local day, however long: through an hour repeated
 * before midnight, and up to a change that skips midnight (America/Santiago, America/Havana), where the next
 * day's rules take over. Next opening: the first instant after now at which that wall-clock test holds. The wall clock
 * enters the window either by reaching the start time on an allowed day, or by a clock change that lands it
 * inside the window, so the opening is the earliest of those two kinds of instant:
 * - the start time happens twice (fall-back): each occurrence counts, so a window that is over at the first
 *   pass opens again at the second (e.g. 01:30–01:45 on the night New York falls back, asked at 01:50 EDT);
 * - the clocks fall back into the window: it opens at the change itself;
 * - the start time does not exist that day (spring-forward gap, e.g. 02:30 in America/New_York on the second
 *   Sunday of March): it opens at the end of the gap (03:00 local) when that is inside the window, and not that
 *   day when the gap swallows the whole window (02:00–02:59 there).
 * A null window, no valid day, or start not before end: never open (nextOpening null).
 */
export function checkWindow(now: Date, timezone: string, window: CallingWindow | null): WindowCheck {
  validTimeZone(timezone);
  const nowMs = now instanceof Date ? now.getTime() : NaN;
  if (Number.isNaN(nowMs)) throw new ValidationError('now', 'must be a valid date');
  if (!window) return NEVER_OPEN;
  const start = minutesOfDay(window.start, 'callingWindow.start', 'start');
  const end = minutesOfDay(window.end, 'callingWindow.end', 'end');
  const days = new Set(window.days.filter(isWeekday));
  if (days.size === 0 || start >= end) return NEVER_OPEN;

  const zone = IANAZone.create(timezone);
  const offsetAt = (ms: number) => zone.offset(ms) * MINUTE_MS;
  const isOpen = (ms: number) => {
    const local = DateTime.fromMillis(ms, { zone });
    const minute = local.hour * 60 + local.minute;
    return days.has(weekdayOf(local)) && minute >= start && minute < end;
  };
  if (isOpen(nowMs)) return { inWindow: true, nextOpening: new Date(nowMs) };

  // calendar days in UTC: pure date arithmetic, no offsets involved
  const local = DateTime.fromMillis(nowMs, { zone });
  const today = DateTime.utc(local.year, local.month, local.day);
  let best = Infinity;
  for (let i = 0; i <= 14; i++) {
    const day = today.plus({ days: i });
    const midnight = day.toMillis(); // the day's 00:00 on the wall clock, read as if it were UTC
    // the instants whose wall clock is on this day lie in [midnight - 14 h, midnight + 36 h] (offsets -12 h to +14 h)
    const from = midnight - 15 * HOUR_MS;
    if (from > best) break;
    if (days.has(weekdayOf(day))) {
      for (const at of instantsReading(midnight + start * MINUTE_MS, offsetAt)) if (at > nowMs && at < best) best = at;
    }
    const change = offsetChange(from, midnight + DAY_MS + 13 * HOUR_MS, offsetAt);
    if (change !== null && change > nowMs && change < best && isOpen(change)) best = change;
  }
  // an allowed day comes within a week; if a gap swallows its window, the same day a week later has no gap
  return best === Infinity ? NEVER_OPEN : { inWindow: false, nextOpening: new Date(best) };
}

/** The ISO shape StartFollowUpAttempt takes. */
export function toFollowUpWindowCheck(check: WindowCheck): FollowUpWindowCheck {
  return { inWindow: check.inWindow, nextOpening: check.nextOpening ? check.nextOpening.toISOString() : null };
}

function weekdayOf(dt: DateTime): Weekday {
  return WEEKDAYS[dt.weekday - 1];
}

/**
 * Every instant at which the wall clock reads `wall` (a local time written as if it were UTC): none in a
 * spring-forward gap, two in a fall-back overlap. Zones change their offset at most once within a day either side.
 */
function instantsReading(wall: number, offsetAt: (ms: number) => number): number[] {
  const offsets = new Set([offsetAt(wall - DAY_MS), offsetAt(wall + DAY_MS)]);
  return [...offsets].map((offset) => wall - offset).filter((at) => offsetAt(at) === wall - at);
}

/** The instant in [from, to] at which the zone's offset changes, or null: at most one change in such a span. */
function offsetChange(from: number, to: number, offsetAt: (ms: number) => number): number | null {
  const before = offsetAt(from);
  if (offsetAt(to) === before) return null;
  let lo = from; // offset still `before`
  let hi = to; // offset changed
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

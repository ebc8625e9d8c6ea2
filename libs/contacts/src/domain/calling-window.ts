import { DateTime } from 'luxon';
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
 * The org's window, or a campaign's narrowing of it. `start` and `end` are local `HH:MM`, end exclusive.
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
const HOUR_MS = 3600_000;
/** Longer than any gap a zone has had (Pacific/Apia skipped one calendar day in 2011). */
const GAP_SEARCH_MS = 26 * HOUR_MS;
const NEVER_OPEN: WindowCheck = { inWindow: false, nextOpening: null };

/** Minutes since local midnight of an `HH:MM`. */
export function minutesOfDay(hhmm: string, field: string): number {
  const m = typeof hhmm === 'string' ? HHMM.exec(hhmm) : null;
  if (!m) throw new ValidationError(field, 'must be HH:MM, from 00:00 to 23:59');
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * A campaign narrows the org's window: the days of both, the later start, the earlier end. null when nothing
 * is left (no common day, or start not before end): the window never opens. The worker then passes
 * `{ inWindow: false, nextOpening: null }` (what checkWindow answers for null), and a call or sms follow-up
 * without the out-of-window override is not run and not deferred: it stays due in the hub until an agent acts
 * on it or it expires.
 */
export function effectiveWindow(org: CallingWindow, campaign: CallingWindow | null): CallingWindow | null {
  const orgStart = minutesOfDay(org.start, 'callingWindow.start');
  const orgEnd = minutesOfDay(org.end, 'callingWindow.end');
  let days: Weekday[] = WEEKDAYS.filter((d) => org.days.includes(d));
  let start = org.start;
  let end = org.end;
  if (campaign) {
    const campaignStart = minutesOfDay(campaign.start, 'campaign.callingWindow.start');
    const campaignEnd = minutesOfDay(campaign.end, 'campaign.callingWindow.end');
    days = days.filter((d) => campaign.days.includes(d));
    if (campaignStart > orgStart) start = campaign.start;
    if (campaignEnd < orgEnd) end = campaign.end;
  }
  if (days.length === 0 || minutesOfDay(start, 'start') >= minutesOfDay(end, 'end')) return null;
  return { days, start, end };
}

/**
 * Whether `now` is inside the window in `timezone`, and when it next opens.
 *
 * In window: the local weekday is one of `days` and start <= local time < end (end exclusive), on the local
 * wall clock. Next opening: the start time on the next allowed day (today if before start), as an instant.
 * Two DST rules decide that instant:
 * - the start time does not exist that day (spring-forward gap, e.g. 02:30 in America/New_York on the second
 *   Sunday of March): the window opens at the first instant after the gap (03:00 local), which is also the
 *   first instant the wall-clock test above says is in the window;
 * - the start time happens twice (fall-back): the first occurrence.
 * A null window, no valid day, or start not before end: never open (nextOpening null).
 */
export function checkWindow(now: Date, timezone: string, window: CallingWindow | null): WindowCheck {
  validTimeZone(timezone);
  const nowMs = now instanceof Date ? now.getTime() : NaN;
  if (Number.isNaN(nowMs)) throw new ValidationError('now', 'must be a valid date');
  if (!window) return NEVER_OPEN;
  const start = minutesOfDay(window.start, 'callingWindow.start');
  const end = minutesOfDay(window.end, 'callingWindow.end');
  const days = new Set(window.days.filter(isWeekday));
  if (days.size === 0 || start >= end) return NEVER_OPEN;

  const local = DateTime.fromMillis(nowMs, { zone: timezone });
  const minute = local.hour * 60 + local.minute;
  if (days.has(weekdayOf(local)) && minute >= start && minute < end) return { inWindow: true, nextOpening: new Date(nowMs) };

  // calendar days in UTC: pure date arithmetic, no offsets involved
  const today = DateTime.utc(local.year, local.month, local.day);
  for (let i = 0; i <= 14; i++) {
    const day = today.plus({ days: i });
    if (!days.has(weekdayOf(day))) continue;
    const opening = openingOn(day, start, timezone);
    if (opening > nowMs) return { inWindow: false, nextOpening: new Date(opening) };
  }
  return NEVER_OPEN; // unreachable: some allowed day comes within a week
}

/** The ISO shape StartFollowUpAttempt takes. */
export function toFollowUpWindowCheck(check: WindowCheck): FollowUpWindowCheck {
  return { inWindow: check.inWindow, nextOpening: check.nextOpening ? check.nextOpening.toISOString() : null };
}

function weekdayOf(dt: DateTime): Weekday {
  return WEEKDAYS[dt.weekday - 1];
}

/** The instant the local wall clock of `zone` first reads `minutes` on the calendar date `day` (or first passes it, in a gap). */
function openingOn(day: DateTime, minutes: number, zone: string): number {
  const hour = Math.floor(minutes / 60);
  const minute = minutes % 60;
  const dt = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone });
  const exists = dt.year === day.year && dt.month === day.month && dt.day === day.day && dt.hour === hour && dt.minute === minute;
  if (exists) return Math.min(...dt.getPossibleOffsets().map((candidate) => candidate.toMillis()));

  // In a gap luxon moves the time forward by the gap's length; the gap ends at the first instant whose wall
  // clock reads the wanted time or later. The wall clock only grows across a gap, so bisect for it.
  const wanted = DateTime.utc(day.year, day.month, day.day, hour, minute).toMillis();
  const wallOf = (ms: number) => DateTime.fromMillis(ms, { zone }).setZone('utc', { keepLocalTime: true }).toMillis();
  let before = dt.toMillis() - GAP_SEARCH_MS; // wall clock earlier than wanted
  let after = dt.toMillis(); // wall clock later than wanted
  while (after - before > 1) {
    const mid = Math.floor((before + after) / 2);
    if (wallOf(mid) >= wanted) after = mid;
    else before = mid;
  }
  return after;
}

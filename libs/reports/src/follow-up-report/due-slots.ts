import { localDate, localDayStart } from '@app/shared';

/**
 * Open follow-ups are counted per due slot: the due time (scheduledAt) truncated to 15 minutes, UTC. Every real
 * time zone's offset is a whole multiple of 15 minutes, so a viewer's local midnight always falls on a slot
 * boundary and "due today" / "overdue" in ANY time zone is a sum over whole slots, without keeping a count per
 * zone.
 */
export const SLOT_MS = 15 * 60_000;
const DAY_MS = 86_400_000;

/** Stands for "no agent" where a primary key needs a value: unassigned follow-ups. Never a real user id. */
export const NO_AGENT = '00000000-0000-0000-0000-000000000000';

/** The start of the 15-minute UTC slot an instant falls in, as epoch milliseconds. */
export function slotOf(at: Date | string): number {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  return Math.floor(ms / SLOT_MS) * SLOT_MS;
}

/** A calendar day in a time zone as the half-open UTC interval [start, end) of slot boundaries. */
export interface DayWindow {
  readonly start: Date;
  readonly end: Date;
}

/**
 * The local day `date` (YYYY-MM-DD) in `timezone`: [its first instant, the next day's first instant). A DST day is
 * 23 or 25 hours long; where a change skips midnight, the day starts at the first local time that exists; where
 * the clocks fall back to midnight (America/Havana), at the first of the two midnights.
 */
export function dayWindow(date: string, timezone: string): DayWindow {
  if (!isLocalDate(date)) throw new RangeError(`not a day in ${timezone}: ${date}`);
  const day = Date.parse(`${date}T00:00:00Z`) / DAY_MS;
  return { start: localDayStart(day, timezone), end: localDayStart(day + 1, timezone) };
}

/** The viewer's today as a window (the report's "today", "overdue" and "upcoming" split at its bounds). */
export const todayWindow = (timezone: string, now: Date): DayWindow => dayWindow(localDate(now, timezone), timezone);

/** The slot starts a day covers, oldest first (92, 96 or 100 of them in a zone with DST). */
export function slotsOf(window: DayWindow): number[] {
  const slots: number[] = [];
  for (let s = slotOf(window.start); s < window.end.getTime(); s += SLOT_MS) slots.push(s);
  return slots;
}

/** True when both bounds of the window are slot boundaries, so a sum over slots counts exactly that day. */
export const alignedToSlots = (w: DayWindow): boolean => w.start.getTime() % SLOT_MS === 0 && w.end.getTime() % SLOT_MS === 0;

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` naming a real calendar day (no 2025-02-30). */
export function isLocalDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = LOCAL_DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = new Date(Date.UTC(y, mo - 1, d));
  return y >= 1 && at.getUTCFullYear() === y && at.getUTCMonth() === mo - 1 && at.getUTCDate() === d;
}

/**
 * The local calendar day an event is dated on, in the org's time zone. A zone the runtime does not know falls back
 * to UTC rather than stopping the projection (settings validate zones, so this is a guard, not a path).
 */
export function activityDay(at: string, timezone: string): string {
  const instant = new Date(at);
  try {
    return localDate(instant, timezone);
  } catch {
    return localDate(instant, 'UTC');
  }
}

import { localDate } from '@app/shared';

/**
 * The call report's calendar (pure): the local day a call lands on, and the bucket a local day belongs to.
 * Days are calendar dates `YYYY-MM-DD`; internally numbers of days since 1970-01-01, which have no time zone and
 * no DST, so a bucket is plain arithmetic once the call's local day is known.
 */

export const GRANULARITIES = ['day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** Longest range a report may cover, in days (both ends included): a leap year by day, any 5 calendar years otherwise. */
export const MAX_RANGE_DAYS: Record<Granularity, number> = { day: 366, week: 5 * 365 + 2, month: 5 * 365 + 2 };

const DAY_MS = 86_400_000;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const MIN_YEAR = 1900;

/** What a field that is not a report day is told (after its name). */
export const CALENDAR_DAY_MESSAGE = 'must be a calendar date YYYY-MM-DD (year 1900 or later)';

/** The day number of a `YYYY-MM-DD` calendar date (years 1900–9999), or null when it is not one. */
export function dayNumber(day: string): number | null {
  const m = DAY_PATTERN.exec(day);
  if (!m || Number(m[1]) < MIN_YEAR) return null;
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) return null; // 2026-02-30 rolls over: refused
  return ms / DAY_MS;
}

export function dayString(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

/** The local date of a call in the org's zone: a call at 23:30 local lands on its local day, whatever UTC says. */
export function reportDay(startedAt: string, timezone: string): string | null {
  const at = new Date(startedAt);
  return Number.isNaN(at.getTime()) ? null : localDate(at, timezone);
}

/** The Monday of the ISO week of a day (1970-01-01, day 0, was a Thursday). */
export function weekStart(n: number): number {
  return n - ((((n + 3) % 7) + 7) % 7);
}

/** The bucket label of a day: the day itself, its ISO week's Monday, or the first of its month. */
export function bucketOf(day: string, granularity: Granularity): string {
  switch (granularity) {
    case 'day':
      return day;
    case 'week':
      return dayString(weekStart(dayNumber(day)!));
    case 'month':
      return `${day.slice(0, 8)}01`;
  }
}

/**
 * Every day of [from, to] with its bucket, in order (the report looks a day's bucket up at index day - from), so a
 * bucket sums only the days inside the range (a week or month cut by `from` or `to` keeps its label, Monday or
 * first of the month).
 */
export function bucketsByDay(from: string, to: string, granularity: Granularity): { days: string[]; buckets: string[] } {
  const first = dayNumber(from)!;
  const last = dayNumber(to)!;
  const days: string[] = [];
  const buckets: string[] = [];
  for (let n = first; n <= last; n++) {
    const day = dayString(n);
    days.push(day);
    buckets.push(bucketOf(day, granularity));
  }
  return { days, buckets };
}

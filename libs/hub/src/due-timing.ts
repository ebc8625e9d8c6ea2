import { DateTime } from 'luxon';
import { localDayNumber as localDay } from '@app/shared';

/** The caller's calendar day in their time zone: [start, end). */
export function todayIn(timezone: string, now: Date): { start: Date; end: Date } {
  const local = DateTime.fromJSDate(now, { zone: timezone }).startOf('day');
  // the next day's own start: where DST begins at midnight (America/Santiago), today's start is 01:00 and
  // start + 1 day would run an hour into tomorrow
  return { start: local.toJSDate(), end: local.plus({ days: 1 }).startOf('day').toJSDate() };
}

/**
 * Whole calendar days from the due date to today, both taken in the viewer's time zone: 0 when due today.
 * Calendar days, not 24-hour spans, so a DST change or a month end in between counts as one day.
 */
export function overdueDays(dueAt: Date, timezone: string, now: Date): number {
  return Math.max(0, localDay(now, timezone) - localDay(dueAt, timezone));
}

export interface Timing {
  readonly overdueDays: number;
  readonly reason: string;
  readonly suggestedTiming: 'Due today' | 'Overdue';
}

/** SPEC §6: "Follow-up due today" / "Follow-up overdue by N day(s)". */
export function timing(dueAt: Date, timezone: string, now: Date): Timing {
  const days = overdueDays(dueAt, timezone, now);
  if (days === 0) return { overdueDays: 0, reason: 'Follow-up due today', suggestedTiming: 'Due today' };
  return { overdueDays: days, reason: `Follow-up overdue by ${days} ${days === 1 ? 'day' : 'days'}`, suggestedTiming: 'Overdue' };
}

/** SPEC §6 order: hot and overdue, then hot, then overdue, then the rest. */
export function group(isHot: boolean, isOverdue: boolean): number {
  if (isHot && isOverdue) return 0;
  if (isHot) return 1;
  if (isOverdue) return 2;
  return 3;
}

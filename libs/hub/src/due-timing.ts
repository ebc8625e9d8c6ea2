import { localDayNumber as localDay, localDayStart } from '@app/shared';

/**
 * The caller's calendar day in their time zone: [its first instant, the next day's first instant). Where DST
 * begins at midnight (America/Santiago) today starts at 01:00; where the clocks fall back to midnight
 * (America/Havana) it starts at the first 00:00, whatever the offset at `now`.
 */
export function todayIn(timezone: string, now: Date): { start: Date; end: Date } {
  const today = localDay(now, timezone);
  return { start: localDayStart(today, timezone), end: localDayStart(today + 1, timezone) };
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

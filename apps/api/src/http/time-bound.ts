import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, ValidateBy } from 'class-validator';
import { isoUtc } from '@app/contacts';
import { localDayStart, ValidationError } from '@app/shared';

const CALENDAR_DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/**
 * The instant a list's `from` or `to` names, ISO-8601 UTC; null when it names none (see TimeBoundField). A calendar
 * day is its start where the caller is, or for `to` the start of the day after (`end`): the day is in the range.
 */
function instantOf(value: unknown, timezone: string, end = false): string | null {
  try {
    if (typeof value === 'string' && CALENDAR_DAY.test(value)) {
      // the calendar check of timestamps, on the day's UTC midnight; then the day's start where the caller is
      const day = Date.parse(isoUtc(`${value}T00:00:00Z`, 'day')) / DAY_MS;
      return localDayStart(end ? day + 1 : day, timezone).toISOString();
    }
    return isoUtc(value, 'time');
  } catch {
    return null;
  }
}

/**
 * `from` or `to` of a list: a timestamp with an offset, or a calendar day (`2026-03-01`) in the caller's timezone (as
 * the hub counts days), from its start for `from` and through its end for `to`, as the reports take days
 * (`from=2026-03-01&to=2026-03-31` is the whole of March). Checked by the same rule as the timestamps a client writes:
 * class-validator's ISO-8601 check alone let through forms Postgres refuses (`2026-03`, `2026-W10-1`: a 500), and a
 * bare date was read in the database session's timezone.
 */
export const TimeBoundField = (description: string) =>
  applyDecorators(
    ApiPropertyOptional({
      description: `${description}: an ISO-8601 timestamp with an offset (2026-03-01T09:00:00Z), or a calendar day (2026-03-01) in your timezone, from its start for from and through its end for to`,
    }),
    IsOptional(),
    ValidateBy({
      name: 'isTimeBound',
      validator: {
        validate: (v: unknown) => instantOf(v, 'UTC') !== null,
        defaultMessage: (args) =>
          `${args?.property} must be an ISO-8601 timestamp with an offset, like 2026-03-01T09:00:00Z, or a calendar day, like 2026-03-01, from 1900 to 9999`,
      },
    }),
  );

/**
 * The instant of a `from` or `to` that TimeBoundField checked, in the caller's timezone (UTC should Node not read that
 * zone, rather than drop the filter); undefined stays undefined.
 */
function timeBound(value: string | undefined, timezone: string, end: boolean): string | undefined {
  return value === undefined ? undefined : (instantOf(value, timezone, end) ?? instantOf(value, 'UTC', end) ?? undefined);
}

/**
 * A list's `from` (included) and `to` (excluded: a calendar day's end) as instants; `to` before `from` is a 400 naming
 * `to`, as in the reports.
 */
export function timeRange(query: { from?: string; to?: string }, timezone: string): { from?: string; to?: string } {
  const from = timeBound(query.from, timezone, false);
  const to = timeBound(query.to, timezone, true);
  if (from !== undefined && to !== undefined && Date.parse(to) < Date.parse(from)) throw new ValidationError('to', 'must not be before from');
  return { from, to };
}

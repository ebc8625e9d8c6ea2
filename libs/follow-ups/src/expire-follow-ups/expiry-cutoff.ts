import { isKnownTimeZone, localDayNumber, localDayStart } from '@app/shared';

/**
 * The instant before which an open follow-up due then has expired at `now`: the start of local day today − N, in
 * the org's zone, worked out with the functions the decider counts with.
 *
 * The decider (follow-up.decider.ts expire) expires it iff localDayNumber(now) − localDayNumber(due) > N, i.e. (whole
 * numbers) iff localDayNumber(due) < today − N. localDayStart(d) is the first instant localDayNumber dates d or later,
 * and local dates never go backwards (a fall-back repeats hours of one date: Havana 01:00 → 00:00, São Paulo until
 * 2019 24:00 → 23:00), so an instant is dated before d exactly when it is before localDayStart(d): due < cutoff.
 * Where a day starts at 01:00 (Santiago's spring-forward skips 00:00–01:00) its start is that 01:00, and the evening
 * before up to 23:59:59.999 is still the day before; a skipped date (Apia, 2011-12-30) starts when the next one does.
 * Offsets change at whole seconds, so the microseconds the database keeps change nothing. expiry-cutoff.spec.ts
 * checks the two against each other around cutoffs in zones with such days.
 */
export function expiryCutoff(now: Date, timezone: string, expireAfterDays: number): Date {
  if (!isKnownTimeZone(timezone)) throw new Error(`unknown time zone ${JSON.stringify(timezone)}`);
  return localDayStart(localDayNumber(now, timezone) - expireAfterDays, timezone);
}

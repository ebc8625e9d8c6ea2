import { isIanaTimeZone, isKnownTimeZone, ValidationError } from '@app/shared';

/** Pure checks and normalisations the contact decider applies; the API's DTOs may reuse the predicates. */

/** A call's followUpId that names no follow-up of its contact (the decider's rule, and the ingest's check of it). */
export const UNKNOWN_FOLLOW_UP = "must be a follow-up of the call's contact";

export const isOneOf = <T extends string>(values: readonly T[], value: unknown): value is T => typeof value === 'string' && (values as readonly string[]).includes(value);

export function requireOneOf<T extends string>(values: readonly T[], value: unknown, field: string): asserts value is T {
  if (!isOneOf(values, value)) throw new ValidationError(field, `must be one of ${values.join(', ')}`);
}

export function requireText(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(field, 'is required');
}

/** Trimmed; blank or absent is null. */
export function optionalText(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const t = value.trim();
  return t === '' ? null : t;
}

export function validName(name: string): string {
  const t = typeof name === 'string' ? name.trim() : '';
  if (!t) throw new ValidationError('name', 'must not be empty');
  return t;
}

const E164 = /^\+[1-9]\d{1,14}$/;
export const isE164 = (phone: unknown): phone is string => typeof phone === 'string' && E164.test(phone);

export function validPhone(phone: string): string {
  if (!isE164(phone)) throw new ValidationError('phone', 'must be an E.164 number, like +14155550100');
  return phone;
}

/** A zone to compute with: Intl knows it (a stored name an earlier version accepted included; see @app/shared time-zone). */
export function validTimeZone(zone: string): string {
  if (!isKnownTimeZone(zone)) throw new ValidationError('timezone', 'must be an IANA time zone, like Europe/Madrid');
  return zone;
}

/** A zone a client sends: a name of the IANA database, not one of the abbreviations Intl also takes (BST: Dhaka). */
export function newTimeZone(zone: string): string {
  if (!isIanaTimeZone(zone)) throw new ValidationError('timezone', 'must be an IANA time zone, like Europe/Madrid');
  return zone;
}

// A timestamp must say its offset: the domain cannot guess whose local time a bare one is.
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/i;

/** The last few timestamps isoUtc accepted, with what it made of them: a batch repeats the handler's `now` for every
 * call and a dialler's `startedAt` often, and checking one took a regex, a calendar check, a parse and a format
 * (about 4% of the service's CPU in a 500-call batch). Strings are immutable, so a hit is the same answer. */
const recentTimestamps = new Map<string, string>();
const RECENT_TIMESTAMPS = 64;

/**
 * The instants a timestamp may name, UTC: years 1900 to 9999, as the reports' calendar days. Outside, `toISOString`
 * writes a six-digit year that Postgres refuses (a 500 from the projection), and local-day arithmetic (`Date.UTC`)
 * reads years below 100 as 19xx.
 */
const EARLIEST = Date.UTC(1900, 0, 1);
const LATEST = Date.UTC(10000, 0, 1) - 1;

/** Timestamps are stored normalised to UTC (`toISOString`), so projections compare them as strings. */
export function isoUtc(value: unknown, field: string): string {
  const known = typeof value === 'string' ? recentTimestamps.get(value) : undefined;
  if (known !== undefined) return known;
  const m = typeof value === 'string' ? ISO_TIMESTAMP.exec(value) : null;
  const ms = m && isRealDateTime(m) ? Date.parse(value as string) : NaN;
  if (Number.isNaN(ms)) throw new ValidationError(field, 'must be an ISO-8601 timestamp with an offset, like 2025-01-31T09:30:00Z');
  if (ms < EARLIEST || ms > LATEST) throw new ValidationError(field, 'must be between 1900-01-01T00:00:00Z and 9999-12-31T23:59:59Z');
  const utc = new Date(ms).toISOString();
  if (recentTimestamps.size >= RECENT_TIMESTAMPS) recentTimestamps.delete(recentTimestamps.keys().next().value as string);
  recentTimestamps.set(value as string, utc);
  return utc;
}

/** UTC offsets in use on Earth run from -12:00 to +14:00: a wider one (+23:59) is a typo that moves the time by a day. */
const MAX_OFFSET_EAST_MIN = 14 * 60;
const MAX_OFFSET_WEST_MIN = 12 * 60;

// Date.parse rolls 2025-02-30 over to March: check the calendar ourselves.
function isRealDateTime(m: RegExpExecArray): boolean {
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map((p) => (p === undefined ? 0 : Number(p)));
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years below 100 as 19xx
  const offset = Number(m[8] ?? 0) * 60 + Number(m[9] ?? 0);
  return (
    day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d &&
    h < 24 && mi < 60 && sec < 60 && Number(m[9] ?? 0) < 60 &&
    offset <= (m[7] === '-' ? MAX_OFFSET_WEST_MIN : MAX_OFFSET_EAST_MIN)
  );
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Trimmed, blanks dropped, duplicates dropped, first order kept. */
export function normaliseTags(tags: readonly string[], field: string): string[] {
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw new ValidationError(field, 'must be a list of strings');
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t !== ''))];
}

/** Tags are a set: the same tags in another order are no change. */
export function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(b);
  return a.every((t) => set.has(t));
}

import { isISO8601, isUUID } from 'class-validator';
import { CALL_DIRECTIONS, CALL_STATUSES, LEAD_STATUSES, PRIORITIES, SOURCES } from '@app/contacts';
import { isWellFormed } from '../http/validation.pipe';

/**
 * A fast "certainly valid" test for a pushed call (CallDto), run before class-validator on the ingest path.
 *
 * Why it exists: class-validator costs 40-60 µs per call on the benchmark machine (its executor builds and
 * groups metadata for every object), which made validating a 1,000-call batch the largest block of CPU in the
 * API, held for tens of milliseconds against every agent's hub request. A dialler pushes thousands of calls
 * per second, almost all of them plain and valid, so those are accepted here in about a microsecond.
 *
 * It only ever answers "valid" or "ask class-validator": anything it does not recognise as plainly valid
 * (an unknown field, a sms or webhook follow-up, a null where a value is required, ...) goes to the DTO's
 * rules, which stay the one source of errors and of the OpenAPI schema. The unit test generates many
 * thousands of mutated calls and checks that nothing this accepts is refused by CallDto's rules.
 * Where it has a choice it is stricter than the DTO: lengths in UTF-16 units (the DTO counts a surrogate
 * pair once), `null` optional fields refused here (the DTO accepts them).
 */
export function isPlainValidCall(value: unknown): boolean {
  if (!isRecord(value)) return false;
  let keys = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key) || !CALL_KEYS.has(key)) return false;
    keys++;
  }
  if (keys === 0) return false;
  const v = value;
  if (!(text(200)(v.callId) && v.callId !== '')) return false;
  if (!uuid(v.contactId) || !uuid(v.agentId)) return false;
  if (!CALL_DIRECTION_SET.has(v.direction) || !CALL_STATUS_SET.has(v.status)) return false;
  if (!int(0, 7 * 24 * 3600)(v.durationSec)) return false;
  if (!isISO8601(v.startedAt, ISO)) return false;
  if (!absentOr(v.note, text(10_000))) return false;
  if (!absentOr(v.leadStatus, (s) => LEAD_STATUS_SET.has(s))) return false;
  if (!absentOr(v.campaignId, uuid) || !absentOr(v.followUpId, uuid)) return false;
  if (!absentOr(v.tags, (t) => Array.isArray(t) && t.length <= 50 && t.every(text(50)))) return false;
  if (!absentOr(v.reason, text(5000))) return false;
  if (v.followUp === undefined ? v.status === 'Follow up' : !isPlainCallFollowUp(v.followUp)) return false;
  if (v.callbackAt === undefined ? v.status === 'Rescheduled' : !isISO8601(v.callbackAt, ISO)) return false;
  return true;
}

/** A call follow-up's fields (sms and webhook ones, whose rules depend on the type, are left to the DTO). */
function isPlainCallFollowUp(f: unknown): boolean {
  if (!isRecord(f)) return false;
  for (const key in f) if (!Object.prototype.hasOwnProperty.call(f, key) || !FOLLOW_UP_KEYS.has(key)) return false;
  return (
    absentOr(f.type, (t) => t === 'call') &&
    absentOr(f.scheduledAt, (s) => isISO8601(s, ISO)) &&
    absentOr(f.agentId, uuid) &&
    absentOr(f.priority, (p) => PRIORITY_SET.has(p)) &&
    absentOr(f.maxAttempts, int(1, 10)) &&
    absentOr(f.allowOutOfWindow, (b) => typeof b === 'boolean') &&
    absentOr(f.notes, text(5000)) &&
    absentOr(f.campaignId, uuid) &&
    absentOr(f.source, (s) => SOURCE_SET.has(s))
  );
}

/** The DTOs' ISO-8601 options (calls.dto.ts). */
const ISO = { strict: true, strictSeparator: true };
/** The fields of CallDto. */
export const CALL_KEYS = new Set([
  'callId',
  'contactId',
  'agentId',
  'direction',
  'status',
  'durationSec',
  'startedAt',
  'note',
  'leadStatus',
  'campaignId',
  'tags',
  'followUpId',
  'followUp',
  'callbackAt',
  'reason',
]);
// message and url are left out on purpose: they belong to sms and webhook follow-ups, which the DTO checks.
const FOLLOW_UP_KEYS = new Set(['type', 'scheduledAt', 'agentId', 'priority', 'maxAttempts', 'allowOutOfWindow', 'notes', 'campaignId', 'source']);
const CALL_DIRECTION_SET = new Set<unknown>(CALL_DIRECTIONS);
const CALL_STATUS_SET = new Set<unknown>(CALL_STATUSES);
const LEAD_STATUS_SET = new Set<unknown>(LEAD_STATUSES);
const PRIORITY_SET = new Set<unknown>(PRIORITIES);
const SOURCE_SET = new Set<unknown>(SOURCES);

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** Absent (the field left out), or present and passing `ok`; null goes to the DTO. */
const absentOr = (value: unknown, ok: (v: unknown) => boolean): boolean => value === undefined || ok(value);

/** A string of at most `max` UTF-16 units (never longer than the DTO's MaxLength counts it), without NUL or a lone surrogate (the pipe names them). */
const text =
  (max: number) =>
  (v: unknown): v is string =>
    typeof v === 'string' && v.length <= max && !v.includes('\0') && isWellFormed(v);

/** A UUID as the DTO takes it, in lower case: an upper-case one goes to the DTO's path, which lowers it. */
const uuid = (v: unknown): boolean => isUUID(v) && (v as string) === (v as string).toLowerCase();

/** An integer from `min` to `max`, as the DTO's IsInt, Min and Max. */
const int = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

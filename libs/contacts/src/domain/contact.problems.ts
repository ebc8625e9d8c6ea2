import { FieldProblem, problemsOf, ValidationError } from '@app/shared';
import {
  CALL_DIRECTIONS,
  CALL_STATUSES,
  CONTACT_STATUSES,
  DEFAULT_LEAD_QUALITY,
  FOLLOW_UP_TYPES,
  LEAD_QUALITIES,
  LEAD_STATUSES,
  MAX_ATTEMPTS,
  MIN_ATTEMPTS,
  PRIORITIES,
  SOURCES,
  isFinalCallStatus,
} from './contact.events';
import { isHttpUrl, isOneOf, isoUtc, newTimeZone, normaliseTags, optionalText, requireOneOf, requireText, validName, validPhone } from './contact.invariants';
import type { CallbackInput, CreateContact, FollowUpInput, LogCall, UpdateContact } from './contact.decider';

/*
 * The contact decider's checks of a command's input that need no state, each throwing at its fault. The decider runs
 * them in its order and stops at the first, so valid input pays for nothing more; the *Problems functions run every
 * one, for a refusal that names each bad field (SPEC §9), and the decider answers with them (withEveryInputProblem).
 * Written for input of any type (the API's pipe runs them beside a DTO that refused some field's type): a check whose
 * field failed an earlier one is skipped, and the caller drops a second message for a field already named.
 */

type FollowUpCheck = (f: FollowUpInput, source: unknown, field: (name: string) => string) => void;

/** The §5 fields of a follow-up to schedule, but its id and scheduledAt (read by isoUtc where the event is made). */
const FOLLOW_UP_CHECKS: readonly FollowUpCheck[] = [
  (f, _, field) => requireOneOf(FOLLOW_UP_TYPES, f.type, field('type')),
  (f, _, field) => requireOneOf(PRIORITIES, f.priority, field('priority')),
  (f, _, field) => {
    if (!Number.isInteger(f.maxAttempts) || f.maxAttempts < MIN_ATTEMPTS || f.maxAttempts > MAX_ATTEMPTS) {
      throw new ValidationError(field('maxAttempts'), `must be an integer from ${MIN_ATTEMPTS} to ${MAX_ATTEMPTS}`);
    }
  },
  (f, _, field) => {
    if (typeof f.allowOutOfWindow !== 'boolean') throw new ValidationError(field('allowOutOfWindow'), 'must be a boolean');
  },
  (_, source, field) => requireOneOf(SOURCES, source, field('source')),
  (f, _, field) => {
    if (f.type === 'sms' && !optionalText(f.message)) throw new ValidationError(field('message'), 'is required for an sms follow-up');
  },
  (f, _, field) => {
    if (f.type !== 'webhook') return;
    const url = optionalText(f.url);
    if (!url || !isHttpUrl(url)) throw new ValidationError(field('url'), 'must be an http(s) URL for a webhook follow-up');
  },
];

/** The follow-up's fields, `field` naming each (`followUp.priority` in a call push): throws at the first bad one. */
export function checkFollowUpFields(f: FollowUpInput, source: unknown, field: (name: string) => string): void {
  requireText(f.followUpId, field('followUpId'));
  for (const check of FOLLOW_UP_CHECKS) check(f, source, field);
}

/** Every problem of a follow-up to schedule, its fields named with `prefix`. */
export function followUpProblems(f: FollowUpInput, source: unknown, prefix: string): FieldProblem[] {
  const field = (name: string) => `${prefix}${name}`;
  return [
    ...problemsOf(() => requireText(f.followUpId, field('followUpId'))),
    ...FOLLOW_UP_CHECKS.flatMap((check) => problemsOf(() => check(f, source, field))),
    ...problemsOf(() => isoUtc(f.scheduledAt, field('scheduledAt'))),
  ];
}

export function checkDuration(durationSec: unknown): void {
  if (!Number.isFinite(durationSec) || (durationSec as number) < 0) throw new ValidationError('durationSec', 'must be a number of seconds, 0 or more');
}

/**
 * Follow-up fields that would be dropped are refused instead: a dialler that sends them with Called learns at once that
 * nothing was scheduled, rather than when nobody calls back. (A duplicate push is answered before this check.)
 */
export function refuseStrayFollowUp(c: LogCall): void {
  if (c.followUp && c.call.status !== 'Follow up' && c.call.status !== 'Rescheduled') {
    throw new ValidationError('followUp', "is taken only with status Follow up (required) or Rescheduled (the callback's fields), or In-progress (ignored)");
  }
  // A callback time with another status would be dropped: with Follow up, a dialler meaning it as the follow-up's time
  // would find the follow-up due at followUp.scheduledAt instead, without a word.
  if (c.callback && c.call.status !== 'Rescheduled') {
    throw new ValidationError('callbackAt', 'is taken only with status Rescheduled (required), or In-progress (ignored)');
  }
}

export function requireFollowUp(followUp: FollowUpInput | undefined): asserts followUp is FollowUpInput {
  if (!followUp) throw new ValidationError('followUp', 'is required when status is Follow up');
}

export function requireCallbackAt(callback: CallbackInput | undefined): asserts callback is CallbackInput {
  if (!callback || callback.callbackAt === undefined || callback.callbackAt === null || callback.callbackAt === '') {
    throw new ValidationError('callbackAt', 'is required when status is Rescheduled');
  }
}

/** A `Rescheduled` push's followUp gives the callback's fields: a call at callbackAt, source lead_request. */
const CALLBACK_FIELD_CHECKS: readonly ((fields: FollowUpInput) => void)[] = [
  (fields) => {
    if (fields.type !== 'call') throw new ValidationError('followUp.type', 'must be call (or left out) when status is Rescheduled: the callback is a call');
  },
  (fields) => {
    if (fields.source !== undefined && fields.source !== 'lead_request') {
      throw new ValidationError('followUp.source', 'must be lead_request (or left out) when status is Rescheduled');
    }
  },
];

/** `scheduledAt`, the callback's time (UTC), is the one the push's followUp may give: it is due at callbackAt. */
function checkCallbackTime(fields: FollowUpInput, scheduledAt: string): void {
  if (isoUtc(fields.scheduledAt, 'followUp.scheduledAt') !== scheduledAt) {
    throw new ValidationError('followUp.scheduledAt', 'must be left out when status is Rescheduled: the callback is at callbackAt');
  }
}

/** A `Rescheduled` push's callback (requireCallbackAt first) and the fields its followUp gives; answers its time, UTC. */
export function checkCallback(callback: CallbackInput, fields: FollowUpInput | undefined): string {
  requireText(callback.followUpId, 'callback.followUpId');
  const scheduledAt = isoUtc(callback.callbackAt, 'callbackAt');
  if (fields) {
    for (const check of CALLBACK_FIELD_CHECKS) check(fields);
    checkCallbackTime(fields, scheduledAt);
  }
  return scheduledAt;
}

function callbackProblems(callback: CallbackInput | undefined, fields: FollowUpInput | undefined): FieldProblem[] {
  const problems = [...problemsOf(() => requireCallbackAt(callback))];
  let scheduledAt: string | null = null;
  if (callback && problems.length === 0) {
    problems.push(...problemsOf(() => requireText(callback.followUpId, 'callback.followUpId')));
    try {
      scheduledAt = isoUtc(callback.callbackAt, 'callbackAt');
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (!fields) return problems;
  problems.push(...CALLBACK_FIELD_CHECKS.flatMap((check) => problemsOf(() => check(fields))));
  const at = scheduledAt;
  if (at !== null) problems.push(...problemsOf(() => checkCallbackTime(fields, at)));
  // the callback's other §5 fields, as the decider checks them on the call follow-up it makes of them
  const input: FollowUpInput = { ...fields, type: 'call' };
  return [...problems, ...FOLLOW_UP_CHECKS.flatMap((check) => problemsOf(() => check(input, 'lead_request', (name) => `followUp.${name}`)))];
}

/** Every problem of a call to log that the decider would refuse it for without looking at the contact. */
export function logCallProblems(c: LogCall): FieldProblem[] {
  const { call } = c;
  const problems = [
    ...problemsOf(() => requireOneOf(CALL_STATUSES, call.status, 'status')),
    ...problemsOf(() => requireText(call.callId, 'callId')),
    ...problemsOf(() => requireText(call.agentId, 'agentId')),
    ...problemsOf(() => requireOneOf(CALL_DIRECTIONS, call.direction, 'direction')),
    ...problemsOf(() => isoUtc(call.startedAt, 'startedAt')),
    ...(call.tags == null ? [] : problemsOf(() => normaliseTags(call.tags!, 'tags'))),
  ];
  // An In-progress push is taken with the fields only a final one reads (and ignores them); an unknown status has none.
  if (!isOneOf(CALL_STATUSES, call.status) || !isFinalCallStatus(call.status)) return problems;
  problems.push(...problemsOf(() => checkDuration(call.durationSec)), ...problemsOf(() => refuseStrayFollowUp(c)));
  if (call.status === 'Follow up') {
    if (!c.followUp) problems.push(...problemsOf(() => requireFollowUp(c.followUp)));
    else problems.push(...followUpProblems(c.followUp, c.followUp.source ?? 'call_outcome', 'followUp.'));
  } else if (call.status === 'Rescheduled') problems.push(...callbackProblems(c.callback, c.followUp));
  return problems;
}

/** A note's text, trimmed: not blank. */
export function noteText(text: unknown): string {
  const t = typeof text === 'string' ? text.trim() : '';
  if (!t) throw new ValidationError('text', 'must not be empty');
  return t;
}

/** Every problem of a contact to create. */
export function createContactProblems(c: CreateContact): FieldProblem[] {
  return [
    ...problemsOf(() => requireOneOf(LEAD_QUALITIES, c.leadQuality ?? DEFAULT_LEAD_QUALITY, 'leadQuality')),
    ...problemsOf(() => validName(c.name)),
    ...problemsOf(() => validPhone(c.phone)),
    ...(c.timezone == null ? [] : problemsOf(() => newTimeZone(c.timezone!))),
    ...problemsOf(() => normaliseTags(c.tags ?? [], 'tags')),
  ];
}

/** Every problem of the changes to a contact (a value that differs from a valid one: the decider checks those). */
export function updateContactProblems(c: UpdateContact): FieldProblem[] {
  return [
    ...(c.name === undefined ? [] : problemsOf(() => validName(c.name!))),
    ...(c.phone === undefined ? [] : problemsOf(() => validPhone(c.phone!))),
    // Run only for a change refused anyway: a zone that is no IANA name is named with the rest, even the stored one sent
    // again (which the decider takes when it is the only thing sent that way).
    ...(c.timezone == null ? [] : problemsOf(() => newTimeZone(c.timezone!))),
    ...(c.tags === undefined ? [] : problemsOf(() => normaliseTags(c.tags!, 'tags'))),
    ...(c.leadQuality === undefined ? [] : problemsOf(() => requireOneOf(LEAD_QUALITIES, c.leadQuality, 'leadQuality'))),
    ...(c.leadStatus === undefined ? [] : problemsOf(() => requireOneOf(LEAD_STATUSES, c.leadStatus, 'leadStatus'))),
    ...(c.status === undefined ? [] : problemsOf(() => requireOneOf(CONTACT_STATUSES, c.status, 'status'))),
  ];
}

/** Stands for the id of a follow-up a command would schedule, where only its fields are checked (any id checks the same). */
export const ANY_FOLLOW_UP_ID = '00000000-0000-4000-8000-000000000000';

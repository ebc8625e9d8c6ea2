import { DateTime } from 'luxon';
import { ConflictError, localDayNumber, ValidationError } from '@app/shared';
import {
  CallLoggedData,
  ContactEvent,
  FIRST_FOLLOW_UP_SCHEDULE,
  FOLLOW_UP_COMPLETIONS,
  FollowUpAttemptFailed,
  FollowUpAttemptFailedData,
  FollowUpAttemptStarted,
  FollowUpAttemptSucceeded,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpCompletion,
  FollowUpDeferred,
  FollowUpExpired,
  FollowUpPriority,
  FollowUpRescheduled,
  FollowUpScheduledData,
  FollowUpSnoozed,
  FollowUpStatus,
  FollowUpType,
  isOpenFollowUpStatus,
} from './contact.events';
import { isOneOf, isoUtc, optionalText, requireText, validTimeZone } from './contact.invariants';

/**
 * The follow-up lifecycle (SPEC §5) inside the contact aggregate: the state of one follow-up, how its events
 * fold, and the decisions on it. The contact decider finds the follow-up (NotFoundError when the contact has
 * none with that id) and delegates here. Pure: the clock (`now`), the retry time and the calling-window check
 * come in with the command.
 */

// ---------------------------------------------------------------------------------------------------------------
// State

export interface FollowUpState {
  readonly id: string;
  readonly type: FollowUpType;
  readonly status: FollowUpStatus;
  /** The due time the hub, overdue and expiry use: moved only by snooze and reschedule. */
  readonly scheduledAt: string;
  /** When the worker should next run it: scheduledAt, or later after a deferral or a failed attempt. */
  readonly nextAttemptAt: string;
  readonly agentId: string | null;
  readonly priority: FollowUpPriority;
  readonly campaignId: string | null;
  readonly maxAttempts: number;
  /** Attempts started (and not withdrawn by a snooze or reschedule). */
  readonly attempts: number;
  /**
   * Attempt number `attempts` is running: started, no result yet. An sms attempt a crash left undelivered, found out of
   * the calling window when resumed, stays open (counted once) while its delivery waits for the window: status
   * `scheduled`, nextAttemptAt the opening (FollowUpDeferred).
   */
  readonly attemptOpen: boolean;
  /** Some attempt ran outside the calling window (by the override). */
  readonly outOfWindow: boolean;
  /** The agent the last attempt was routed to (see routeAttempt); undefined when it recorded none (started before routing was, or by a pushed call). */
  readonly attemptAgentId?: string | null;
  /** When the last failed attempt ended (FollowUpAttemptFailed.at); null when unknown (stored before it was recorded). */
  readonly lastAttemptEndedAt?: string | null;
  /** When the last attempt started (FollowUpAttemptStarted.at); undefined for a state folded before it was kept. */
  readonly attemptStartedAt?: string;
  /**
   * The schedule the last attempt started under (FollowUpAttemptStarted.schedule): with its number, it names the
   * attempt. It differs from `schedule` only while an open sms attempt's delivery waits for the window (a deferral
   * moves `schedule`, not the attempt). undefined for an attempt that did not record it: `schedule` stands in.
   */
  readonly attemptSchedule?: number;
  /**
   * Whether the last call attempt was sent to a dialler (FollowUpAttemptStarted.dialled): only then does a timeout end
   * it, and only then is its dial request sent again when it is resumed. undefined when the attempt did not record it
   * (recorded before it was, or an sms or webhook): the org's dialler setting of the moment stands in.
   */
  readonly attemptDialled?: boolean;
  readonly allowOutOfWindow: boolean;
  /**
   * Starts at 1; grows by one with every event that sets a new next attempt time (snoozed, rescheduled,
   * deferred, failed with a retry). A worker job carries the number it was made for: another number is stale.
   */
  readonly schedule: number;
  /**
   * The schedule under which the due time was last set, by a snooze or reschedule; absent before the first (then
   * FIRST_FOLLOW_UP_SCHEDULE). Deferrals and retries leave it: however many attempts a due time takes, it is one
   * message to an SMS provider or webhook receiver, and a new due time is a new one (the worker's webhook-id).
   */
  readonly occurrence?: number;
  /** What to deliver: the sms text, the webhook URL, the notes (the worker needs no read-model query). */
  readonly message?: string | null;
  readonly url?: string | null;
  readonly notes?: string | null;
}

export function followUpFromScheduled(d: FollowUpScheduledData): FollowUpState {
  return {
    id: d.followUpId,
    type: d.type,
    status: 'scheduled',
    scheduledAt: d.scheduledAt,
    nextAttemptAt: d.scheduledAt,
    agentId: d.agentId,
    priority: d.priority,
    campaignId: d.campaignId,
    maxAttempts: d.maxAttempts,
    attempts: 0,
    attemptOpen: false,
    outOfWindow: false,
    allowOutOfWindow: d.allowOutOfWindow,
    schedule: FIRST_FOLLOW_UP_SCHEDULE,
    message: d.message,
    url: d.url,
    notes: d.notes,
  };
}

export type FollowUpLifecycleEvent = Extract<
  ContactEvent,
  {
    type:
      | typeof FollowUpSnoozed
      | typeof FollowUpRescheduled
      | typeof FollowUpCancelled
      | typeof FollowUpCompleted
      | typeof FollowUpDeferred
      | typeof FollowUpAttemptStarted
      | typeof FollowUpAttemptSucceeded
      | typeof FollowUpAttemptFailed
      | typeof FollowUpExpired;
  }
>;

export function evolveFollowUp(f: FollowUpState, event: FollowUpLifecycleEvent): FollowUpState {
  switch (event.type) {
    case FollowUpSnoozed: {
      const d = event.data;
      const attempts = d.withdrawnAttempt === null ? f.attempts : d.withdrawnAttempt - 1;
      return { ...f, status: 'snoozed', scheduledAt: d.until, nextAttemptAt: d.until, schedule: d.schedule, occurrence: d.schedule, attempts, attemptOpen: false };
    }
    case FollowUpRescheduled: {
      const d = event.data;
      const attempts = d.withdrawnAttempt === null ? f.attempts : d.withdrawnAttempt - 1;
      return { ...f, status: 'scheduled', scheduledAt: d.scheduledAt, nextAttemptAt: d.scheduledAt, schedule: d.schedule, occurrence: d.schedule, attempts, attemptOpen: false };
    }
    case FollowUpCancelled:
      return { ...f, status: 'cancelled', attemptOpen: false };
    case FollowUpCompleted:
      return { ...f, status: 'completed', attemptOpen: false };
    case FollowUpDeferred:
      // Only the next attempt moves; the due time stays. A snoozed follow-up is deferred only once its snooze has
      // ended (its job runs at the snooze's end), so it is scheduled again: SPEC §5, "snoozed until then". An open sms
      // attempt (resumed out of the window) stays open and counted: its delivery, not a new attempt, waits.
      return { ...f, status: 'scheduled', nextAttemptAt: event.data.nextAttemptAt, schedule: event.data.schedule };
    case FollowUpAttemptStarted: {
      const d = event.data;
      return {
        ...f,
        status: f.type === 'call' ? 'queued' : 'in_progress',
        attempts: d.attempt,
        attemptOpen: true,
        outOfWindow: f.outOfWindow || d.outOfWindow,
        attemptAgentId: d.agentId,
        attemptStartedAt: d.at,
        attemptSchedule: d.schedule,
        attemptDialled: d.dialled,
      };
    }
    case FollowUpAttemptSucceeded:
      return { ...f, status: 'completed', attemptOpen: false };
    case FollowUpAttemptFailed: {
      const d = event.data;
      if (d.retryAt === null) return { ...f, status: 'failed', attemptOpen: false };
      return { ...f, status: 'scheduled', attemptOpen: false, nextAttemptAt: d.retryAt, schedule: d.schedule ?? f.schedule + 1, lastAttemptEndedAt: d.at ?? null };
    }
    case FollowUpExpired:
      return { ...f, status: 'expired', attemptOpen: false };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Commands (each names the contact's stream and one of its follow-ups)

interface FollowUpCommandBase {
  readonly contactId: string;
  readonly followUpId: string;
}

/** Open follow-ups only. The handler computes `until` (now + the org's snoozeDays). */
export interface SnoozeFollowUp extends FollowUpCommandBase {
  readonly type: 'SnoozeFollowUp';
  readonly until: string;
}

/** Open follow-ups only. */
export interface RescheduleFollowUp extends FollowUpCommandBase {
  readonly type: 'RescheduleFollowUp';
  readonly scheduledAt: string;
}

/** Open follow-ups only. */
export interface CancelFollowUp extends FollowUpCommandBase {
  readonly type: 'CancelFollowUp';
  readonly reason?: string | null;
}

/** Open follow-ups only: by hand (`manual`) or by the hub's `done` (`hub`). */
export interface CompleteFollowUp extends FollowUpCommandBase {
  readonly type: 'CompleteFollowUp';
  readonly how: FollowUpCompletion;
  readonly by: string | null;
}

/** The calling-window check the worker made for the contact (see calling-window.ts), ISO timestamps. */
export interface FollowUpWindowCheck {
  readonly inWindow: boolean;
  /** The next opening after now; null when the window never opens. Read only when out of window. */
  readonly nextOpening: string | null;
}

/** What the worker runs when a job comes due: starts an attempt, defers it, or does nothing when the job is stale. */
export interface StartFollowUpAttempt extends FollowUpCommandBase {
  readonly type: 'StartFollowUpAttempt';
  /** The schedule number the job was made for. */
  readonly schedule: number;
  readonly now: string;
  readonly window: FollowUpWindowCheck;
  /** The agent the attempt is for, as routeAttempt decided it; recorded on the attempt. Absent: not recorded. */
  readonly agentId?: string | null;
  /** A call attempt: the executor sends it to the org's dialler (its settings have one); recorded on the attempt. */
  readonly dialled?: boolean;
}

/** The outcome of the open attempt (sms provider, webhook, dialler timeout). Calls end theirs through LogCall. */
export interface RecordFollowUpAttemptResult extends FollowUpCommandBase {
  readonly type: 'RecordFollowUpAttemptResult';
  readonly attempt: number;
  /**
   * The schedule the attempt started under. A withdrawn attempt's number comes again under a new schedule, so the
   * number alone would let a late result of the withdrawn attempt end the new one. Omitted: not checked.
   */
  readonly schedule?: number;
  readonly success: boolean;
  /** Why it failed; read on failure only (default `failed`). */
  readonly reason: string | null;
  readonly callId?: string | null;
  readonly detail?: string | null;
  /** now + the org's retryDelaySeconds; used only on a failure with attempts left. */
  readonly retryAt: string;
  /** The handler's clock (ISO): when a failed attempt ended (FollowUpAttemptFailed.at). */
  readonly now?: string;
}

/** The periodic expiry job. */
export interface ExpireFollowUp extends FollowUpCommandBase {
  readonly type: 'ExpireFollowUp';
  readonly now: string;
  readonly expireAfterDays: number;
  /** The organization's timezone, whose calendar days "overdue" is counted in (the job has no viewer). */
  readonly timezone: string;
}

export type FollowUpCommand =
  | SnoozeFollowUp
  | RescheduleFollowUp
  | CancelFollowUp
  | CompleteFollowUp
  | StartFollowUpAttempt
  | RecordFollowUpAttemptResult
  | ExpireFollowUp;

export const FOLLOW_UP_COMMAND_TYPES: readonly FollowUpCommand['type'][] = [
  'SnoozeFollowUp',
  'RescheduleFollowUp',
  'CancelFollowUp',
  'CompleteFollowUp',
  'StartFollowUpAttempt',
  'RecordFollowUpAttemptResult',
  'ExpireFollowUp',
];

// ---------------------------------------------------------------------------------------------------------------
// Decide

/**
 * Snooze, reschedule, cancel and complete refuse an ended follow-up (ConflictError naming its status). The
 * worker's commands (start, result, expire) answer [] instead: a job may race a user's action, and losing the
 * race is not an error.
 */
export function decideFollowUp(c: FollowUpCommand, f: FollowUpState): ContactEvent[] {
  switch (c.type) {
    case 'SnoozeFollowUp':
      return snooze(c, f);
    case 'RescheduleFollowUp':
      return reschedule(c, f);
    case 'CancelFollowUp':
      ensureOpen(f);
      return [{ type: FollowUpCancelled, data: { ...ref(c), reason: optionalText(c.reason) } }];
    case 'CompleteFollowUp':
      return complete(c, f);
    case 'StartFollowUpAttempt':
      return startAttempt(c, f);
    case 'RecordFollowUpAttemptResult':
      return recordResult(c, f);
    case 'ExpireFollowUp':
      return expire(c, f);
  }
}

/**
 * When a follow-up snoozed at `now` is due again: `snoozeDays` calendar days later at the same wall-clock time in
 * `timezone` (the contact's, where its calling window applies), not snoozeDays × 24 h, which slides by an hour across
 * a DST change (a call snoozed at 20:30 on the Friday before the clocks go forward came due at 21:30 on Monday, past
 * a 21:00 window's end, and was deferred to Tuesday). A wall-clock time the change skips moves forward (luxon).
 */
export function snoozeUntil(now: Date, snoozeDays: number, timezone: string): string {
  const local = DateTime.fromJSDate(now, { zone: timezone });
  // a zone this Node cannot read (its time-zone data older than the one that stored it): whole days of 24 h
  if (!local.isValid) return new Date(now.getTime() + snoozeDays * 86_400_000).toISOString();
  return local.plus({ days: snoozeDays }).toUTC().toISO()!;
}

/**
 * A snooze to `until` would bring the follow-up forward: it is due after the snooze would end. A snooze puts off (SPEC
 * §6: "pushes out"); a callback the lead asked for in a month must not become due in three days. Moving it there is a
 * reschedule.
 */
export function snoozeBringsForward(f: Pick<FollowUpState, 'scheduledAt'>, until: string): boolean {
  return Date.parse(until) < Date.parse(f.scheduledAt);
}

function snooze(c: SnoozeFollowUp, f: FollowUpState): ContactEvent[] {
  const until = isoUtc(c.until, 'until');
  ensureOpen(f);
  if (f.status === 'snoozed' && f.scheduledAt === until) return []; // the same snooze again
  if (snoozeBringsForward(f, until)) {
    throw new ConflictError(`follow-up ${c.followUpId} is due at ${f.scheduledAt}, after a snooze would end (${until}): reschedule it to move it`);
  }
  return [
    {
      type: FollowUpSnoozed,
      data: { ...ref(c), until, previousScheduledAt: f.scheduledAt, schedule: f.schedule + 1, withdrawnAttempt: f.attemptOpen ? f.attempts : null },
    },
  ];
}

function reschedule(c: RescheduleFollowUp, f: FollowUpState): ContactEvent[] {
  const scheduledAt = isoUtc(c.scheduledAt, 'scheduledAt');
  ensureOpen(f);
  if (f.status === 'scheduled' && f.scheduledAt === scheduledAt && f.nextAttemptAt === scheduledAt) return []; // nothing moves
  return [
    {
      type: FollowUpRescheduled,
      data: { ...ref(c), scheduledAt, previousScheduledAt: f.scheduledAt, schedule: f.schedule + 1, withdrawnAttempt: f.attemptOpen ? f.attempts : null },
    },
  ];
}

function complete(c: CompleteFollowUp, f: FollowUpState): ContactEvent[] {
  if (!isOneOf(FOLLOW_UP_COMPLETIONS, c.how)) throw new ValidationError('how', `must be one of ${FOLLOW_UP_COMPLETIONS.join(', ')}`);
  ensureOpen(f);
  return [{ type: FollowUpCompleted, data: { ...ref(c), how: c.how, by: optionalText(c.by) } }];
}

/**
 * Stale ([]) unless the follow-up waits for this very job: scheduled or snoozed, the job's schedule number is
 * the current one, no attempt is open and attempts are left. Webhooks ignore the calling window. A call or sms
 * outside it is deferred to the next opening without counting an attempt, or runs marked outOfWindow when the
 * follow-up allows it. A window that never opens (nextOpening null) leaves nothing to defer to: [] — the
 * follow-up stays due in the hub until an agent acts on it or it expires.
 *
 * An sms attempt found open by this job is one a crash left in flight (the worker resumes it, under the same
 * webhook-id): out of the window it is deferred like a new one, so the lead is not texted at night, but it stays the
 * same attempt, counted once and still open, delivered at the opening (see resumeSms).
 */
function startAttempt(c: StartFollowUpAttempt, f: FollowUpState): ContactEvent[] {
  const now = isoUtc(c.now, 'now');
  if (!Number.isInteger(c.schedule)) throw new ValidationError('schedule', 'must be an integer');
  if (!c.window || typeof c.window.inWindow !== 'boolean') throw new ValidationError('window.inWindow', 'must be a boolean');
  if (f.attemptOpen && f.type === 'sms' && c.schedule === f.schedule && isOpenFollowUpStatus(f.status)) return resumeSms(c, f, now);
  if ((f.status !== 'scheduled' && f.status !== 'snoozed') || c.schedule !== f.schedule || f.attemptOpen || f.attempts >= f.maxAttempts) return [];

  let outOfWindow = false;
  if (f.type !== 'webhook' && !c.window.inWindow) {
    if (f.allowOutOfWindow) {
      outOfWindow = true;
    } else {
      const deferred = deferral(c, f, now);
      return deferred ? [deferred] : [];
    }
  }
  if (c.agentId !== undefined && c.agentId !== null && (typeof c.agentId !== 'string' || c.agentId === '')) throw new ValidationError('agentId', 'must be a user id or null');
  if (c.dialled !== undefined && typeof c.dialled !== 'boolean') throw new ValidationError('dialled', 'must be a boolean');
  const routed = c.agentId === undefined ? {} : { agentId: c.agentId };
  // only a call is dialled; the fact is kept for its timeout job and a resumed run, whatever the settings say later
  const dialled = f.type === 'call' && c.dialled !== undefined ? { dialled: c.dialled } : {};
  return [{ type: FollowUpAttemptStarted, data: { ...ref(c), attempt: f.attempts + 1, maxAttempts: f.maxAttempts, outOfWindow, at: now, schedule: f.schedule, ...routed, ...dialled } }];
}

/**
 * The job of an sms attempt that is open: [] to resume its delivery now (in the window, or allowed out of it; the
 * worker also leaves alone one it is delivering itself), FollowUpDeferred to the window's opening outside it. A window
 * that never opens leaves nothing to defer to: [] here too, and the worker does not send (it checks the window too).
 */
function resumeSms(c: StartFollowUpAttempt, f: FollowUpState, now: string): ContactEvent[] {
  if (c.window.inWindow || f.allowOutOfWindow) return [];
  const deferred = deferral(c, f, now);
  return deferred ? [deferred] : [];
}

/** To the window's next opening (only the next attempt moves, SPEC §5); null when the window never opens. */
function deferral(c: StartFollowUpAttempt, f: FollowUpState, now: string): ContactEvent | null {
  if (c.window.nextOpening === null || c.window.nextOpening === undefined) return null;
  const nextAttemptAt = isoUtc(c.window.nextOpening, 'window.nextOpening');
  if (Date.parse(nextAttemptAt) <= Date.parse(now)) throw new ValidationError('window.nextOpening', 'must be after now when out of window');
  return { type: FollowUpDeferred, data: { ...ref(c), reason: 'out_of_window', nextAttemptAt, schedule: f.schedule + 1 } };
}

/**
 * SPEC §5 routing at execution: the agent an attempt is for. The follow-up's own agent; else (it inherits) the
 * contact's assigned agent, which after an auto reassignment is the new owner; else an agent of its campaign's pool
 * (`pool`: the pool's active agents; null when nobody is left). An unassigned lead's attempts are spread over the
 * pool: the follow-up's id picks where in the pool (id order) its first attempt lands, and each further attempt
 * goes to the next agent, so a lead nobody reached is tried by someone else. Deterministic, so a job run again
 * routes its attempt to the same agent; no state, so any number of workers agree.
 */
export function routeAttempt(r: { ownAgentId: string | null; contactAgentId: string | null; pool: readonly string[]; followUpId: string; attempt: number }): string | null {
  if (r.ownAgentId) return r.ownAgentId;
  if (r.contactAgentId) return r.contactAgentId;
  if (r.pool.length === 0) return null;
  const agents = [...r.pool].sort();
  return agents[(fnv1a(r.followUpId) + Math.max(0, r.attempt - 1)) % agents.length];
}

/** FNV-1a, 32 bits: a stable spread of ids (not a security measure). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The schedule the open attempt started under (see FollowUpState.attemptSchedule). An sms attempt's result names it
 * whichever delivery reports it: a stalled worker's delivery that went on after another worker deferred the attempt to
 * the window's opening, or the delivery resumed there. The first result ends the attempt and the other is stale, so
 * the text a provider accepted is recorded and not sent again at the opening.
 */
export function openAttemptSchedule(f: FollowUpState): number {
  return f.attemptOpen && f.attemptSchedule !== undefined ? f.attemptSchedule : f.schedule;
}

/** Stale ([]) unless `attempt` (under `schedule`, when given) is the open one. A failure retries at retryAt while attempts are left, else fails the follow-up. */
function recordResult(c: RecordFollowUpAttemptResult, f: FollowUpState): ContactEvent[] {
  if (!Number.isInteger(c.attempt)) throw new ValidationError('attempt', 'must be an integer');
  if (typeof c.success !== 'boolean') throw new ValidationError('success', 'must be a boolean');
  // A result naming the schedule of the deferral is also the open attempt's: a worker from before attemptSchedule was
  // recorded names it so for a resumed delivery.
  if (!f.attemptOpen || f.attempts !== c.attempt || (c.schedule !== undefined && c.schedule !== openAttemptSchedule(f) && c.schedule !== f.schedule)) return [];
  const callId = optionalText(c.callId);
  if (c.success) {
    return [{ type: FollowUpAttemptSucceeded, data: { ...ref(c), attempt: c.attempt, callId, detail: optionalText(c.detail) } }];
  }
  const at = c.now === undefined ? undefined : isoUtc(c.now, 'now');
  return [attemptFailed(f, c.contactId, c.attempt, optionalText(c.reason) ?? 'failed', callId, () => isoUtc(c.retryAt, 'retryAt'), at)];
}

/**
 * [] unless the follow-up is open and overdue for longer than expireAfterDays. SPEC §5: overdue is "due date before
 * today", so a follow-up is overdue from the start of the day after its due date, and has been so for longer than N
 * days from the start of the (N + 1)th day after it: it expires when today is more than N calendar days past its due
 * date, the count the hub shows as "overdue by N days" (due Monday 09:00, N = 7: shown "overdue by 7 days" all next
 * Monday, expired from Tuesday 00:00). Days of the organization's timezone, the job having no viewer.
 */
function expire(c: ExpireFollowUp, f: FollowUpState): ContactEvent[] {
  const now = isoUtc(c.now, 'now');
  if (!Number.isFinite(c.expireAfterDays) || c.expireAfterDays < 0) throw new ValidationError('expireAfterDays', 'must be a number of days, 0 or more');
  validTimeZone(c.timezone);
  if (!isOpenFollowUpStatus(f.status)) return [];
  const overdueDays = localDayNumber(new Date(now), c.timezone) - localDayNumber(new Date(f.scheduledAt), c.timezone);
  if (overdueDays <= c.expireAfterDays) return [];
  if (deliveringNow(f, now)) return []; // its delivery's result ends it, or gives it a retry the next run expires

  return [{ type: FollowUpExpired, data: { ...ref(c), overdueSince: f.scheduledAt, at: now } }];
}

/**
 * How long after its attempt started an sms or webhook is taken to be still in delivery (a delivery times out after
 * 10 s; one a crash interrupted is resumed within minutes, by BullMQ or jobs:reconcile). Expiry waits for it: an SMS
 * that went out must not be recorded as expired, its success then ignored as stale.
 */
export const DELIVERY_GRACE_MS = 10 * 60_000;

function deliveringNow(f: FollowUpState, now: string): boolean {
  if (f.type === 'call' || !f.attemptOpen || f.attemptStartedAt === undefined) return false;
  const sinceStart = Date.parse(now) - Date.parse(f.attemptStartedAt);
  if (f.status === 'scheduled') {
    // An sms whose resumed delivery was deferred to the window's opening: delivered from then on, not while it waits;
    // and just after its start, when the deferral came from another worker while a stalled one was still delivering.
    const sinceOpening = Date.parse(now) - Date.parse(f.nextAttemptAt);
    return (sinceOpening >= 0 && sinceOpening < DELIVERY_GRACE_MS) || sinceStart < DELIVERY_GRACE_MS;
  }
  return sinceStart < DELIVERY_GRACE_MS;
}

// ---------------------------------------------------------------------------------------------------------------
// A logged call ending a call follow-up's attempt (SPEC §5 step 3, `call`)

/**
 * The follow-up a final call is an attempt of: the open call follow-up it names, or, when it names none and it
 * is outbound, the call follow-up with an open (queued) attempt that is due earliest. A call naming a follow-up
 * that is not an open call follow-up of this contact (unknown, ended, sms) ends nothing: diallers lag.
 */
/** A contact's follow-ups by id, as the contact's state keeps them (an immutable.js Map) or any map. */
export interface FollowUpsById {
  get(id: string): FollowUpState | undefined;
}

/** A call follow-up whose attempt is open: one an outbound call naming no follow-up may end. */
export function hasOpenCallAttempt(f: FollowUpState): boolean {
  return f.type === 'call' && f.attemptOpen && isOpenFollowUpStatus(f.status);
}

/** A call follow-up between attempts: tried, its retry pending (scheduled; a snoozed one is the agent's to pick up). */
function awaitsRetry(f: FollowUpState): boolean {
  return f.type === 'call' && f.status === 'scheduled' && !f.attemptOpen && f.attempts > 0;
}

/**
 * A call placed after the last attempt ended: one placed during it (pushed late, after the attempt timed out) belongs
 * to that attempt, not the next. Unknown for an attempt that failed before the end time was recorded: not taken.
 */
function startedAfterLastAttempt(f: FollowUpState, startedAt: string): boolean {
  return typeof f.lastAttemptEndedAt === 'string' && startedAt >= f.lastAttemptEndedAt;
}

/**
 * An unanswered call that began before the follow-up's last attempt ended: that attempt's late result (it timed out
 * while the dialler's No Answer was on its way), counted failed already, so neither the open attempt's nor the next's.
 */
function lateResultOfLastAttempt(f: FollowUpState, call: Pick<CallLoggedData, 'startedAt' | 'durationSec'>): boolean {
  return call.durationSec === 0 && typeof f.lastAttemptEndedAt === 'string' && call.startedAt < f.lastAttemptEndedAt;
}

/**
 * How much earlier than the attempt's start a call may say it started and still be that attempt's call: the dialler's
 * clock is not ours. A call from longer before (a late push of an earlier call) is not the attempt's.
 */
export const CALL_CLOCK_SKEW_MS = 60_000;

/**
 * A call still going on when the open attempt started, or placed after it, give or take CALL_CLOCK_SKEW_MS: it ended
 * (start + duration) no earlier than the attempt started. An agent's call from 09:58 that was live when the engine
 * started the 10:00 attempt, and connected, is that attempt's; one that ended hours before is a late push of an
 * earlier call. A state that did not keep the attempt's start takes any.
 */
function endedDuringAttempt(f: FollowUpState, call: Pick<CallLoggedData, 'startedAt' | 'durationSec'>): boolean {
  return f.attemptStartedAt === undefined || Date.parse(callEnd(call)) >= Date.parse(f.attemptStartedAt) - CALL_CLOCK_SKEW_MS;
}

/**
 * When the lead is on the phone for a call attempt: the start of a call of the contact still `In-progress` (no final
 * status pushed), placed since the attempt started (give or take CALL_CLOCK_SKEW_MS) and younger than `maxAgeMs` (the
 * live view's age limit: a dialler that never sends the final status leaves it "live" forever). The timeout waits for
 * such a call's final status (SPEC §5: "no call within the attempt timeout", and one came): failed meanwhile, the
 * attempt's retry would dial a lead who is talking to an agent. null: none.
 */
export function liveCallOfAttempt(calls: Iterable<[string, { final: boolean; startedAt?: string }]>, f: FollowUpState, now: Date, maxAgeMs: number): string | null {
  if (f.type !== 'call' || !f.attemptOpen) return null;
  const since = f.attemptStartedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(f.attemptStartedAt) - CALL_CLOCK_SKEW_MS;
  let latest: string | null = null;
  for (const [, call] of calls) {
    if (call.final || call.startedAt === undefined) continue;
    const at = Date.parse(call.startedAt);
    if (at >= since && now.getTime() - at < maxAgeMs && (latest === null || call.startedAt > latest)) latest = call.startedAt;
  }
  return latest;
}

/** When a final call ended, ISO-8601 UTC: its start plus its duration (SPEC §4's last call is the one that ended last). */
export function callEnd(call: Pick<CallLoggedData, 'startedAt' | 'durationSec'>): string {
  return new Date(Date.parse(call.startedAt) + call.durationSec * 1000).toISOString();
}

/**
 * Whether a call attempt was sent to a dialler: what its start recorded (FollowUpAttemptStarted.dialled), else, for an
 * attempt started before that was recorded, whether the org has a dialler now (`hasDialler`), as it was decided then.
 * The timeout job, the reconcile and a resumed run all go by it, not by a dialler added or removed since.
 */
export const wasDialled = (recorded: boolean | undefined, hasDialler: boolean): boolean => recorded ?? hasDialler;

/** A call follow-up an outbound call naming no follow-up may be an attempt of (ContactState.callAttemptCandidates). */
export function isCallAttemptCandidate(f: FollowUpState): boolean {
  return hasOpenCallAttempt(f) || awaitsRetry(f);
}

/**
 * `candidates`: the ids of the contact's call follow-ups that are candidates (ContactState.callAttemptCandidates).
 * A call naming none ends the open attempt due earliest among those it was going on at or placed after (a late push
 * of a call that ended before the attempt started is not its call: SPEC §5 "the next final outbound call"); with
 * none, it is the next attempt of the call
 * follow-up due earliest among those awaiting a retry, due by the call's start and whose last attempt ended before
 * the call started (a late push of a call placed during that attempt is not the next one): the agent spoke to the lead
 * between the engine's attempts, so the engine does not ring them again. A follow-up never tried is not taken
 * (a call the same day is not the callback it schedules; the hub's done ends it), nor a snoozed one.
 */
export function followUpOfCall(
  call: Pick<CallLoggedData, 'followUpId' | 'direction' | 'startedAt' | 'durationSec'>,
  followUps: FollowUpsById,
  candidates: readonly string[],
): FollowUpState | null {
  if (call.followUpId !== null) {
    const named = followUps.get(call.followUpId);
    if (!named || named.type !== 'call' || !isOpenFollowUpStatus(named.status)) return null;
    // Named: the dialler says which follow-up the call was for, whatever its clock says of when it began; but not the
    // late result of the last attempt.
    if (named.attemptOpen && lateResultOfLastAttempt(named, call)) return null;
    return named;
  }
  if (call.direction !== 'outbound') return null;
  let open: FollowUpState | null = null;
  let retrying: FollowUpState | null = null;
  const earlier = (f: FollowUpState, than: FollowUpState | null) => !than || f.scheduledAt < than.scheduledAt || (f.scheduledAt === than.scheduledAt && f.id < than.id);
  for (const id of candidates) {
    const f = followUps.get(id);
    if (!f) continue;
    if (hasOpenCallAttempt(f)) {
      if (endedDuringAttempt(f, call) && earlier(f, open)) open = f;
    } else if (awaitsRetry(f) && f.scheduledAt <= call.startedAt && startedAfterLastAttempt(f, call.startedAt) && earlier(f, retrying)) retrying = f;
  }
  return open ?? retrying;
}

/**
 * The attempt events a final call causes. Connected (durationSec > 0) is a success; any call that did not
 * connect is a failed attempt: Busy, No Answer and Missed by the spec, and also Called, Follow up or Rescheduled
 * with 0 s (nobody was spoken to, whatever the agent picked), with the call status as the reason. The failure
 * retries at now + retryDelaySeconds, or fails the follow-up on its last attempt. A follow-up with no open
 * attempt (the agent called before the worker ran) first gets its attempt started, at the call's start,
 * never out of window: the engine did not run it.
 */
export function callAttemptEvents(
  call: CallLoggedData,
  followUps: FollowUpsById,
  candidates: readonly string[],
  now: string,
  retryDelaySeconds: number,
): ContactEvent[] {
  const f = followUpOfCall(call, followUps, candidates);
  if (!f) return [];
  const events: ContactEvent[] = [];
  let attempt = f.attempts;
  if (!f.attemptOpen) {
    if (f.attempts >= f.maxAttempts) return []; // cannot happen with the transitions above; never count past the maximum
    // An outbound call that did not connect, naming a follow-up not due when it started (snoozed, or rescheduled
    // later: the dialler's late result of an attempt the snooze withdrew, say), spends no attempt and does not bring
    // the next one forward to now + retryDelaySeconds: the lead is not rung again before the time someone chose.
    // Connected, it is the callback. (A missed inbound call from the lead still asks for a call back soon.)
    if (!call.connected && call.direction === 'outbound' && (f.status === 'snoozed' || f.scheduledAt > call.startedAt)) return [];
    // the late result of the last attempt is not the next one too
    if (lateResultOfLastAttempt(f, call)) return [];
    attempt = f.attempts + 1;
    events.push({
      type: FollowUpAttemptStarted,
      // not dialled: the call was placed without the engine, and ends the attempt in the same append (no timeout job)
      data: { followUpId: f.id, contactId: call.contactId, attempt, maxAttempts: f.maxAttempts, outOfWindow: false, at: call.startedAt, schedule: f.schedule, dialled: false },
    });
  }
  if (call.connected) {
    events.push({ type: FollowUpAttemptSucceeded, data: { followUpId: f.id, contactId: call.contactId, attempt, callId: call.callId, detail: null } });
  } else {
    const retryAt = () => new Date(Date.parse(now) + retryDelaySeconds * 1000).toISOString();
    events.push(attemptFailed(f, call.contactId, attempt, call.status, call.callId, retryAt, now));
  }
  return events;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function ensureOpen(f: FollowUpState): void {
  if (!isOpenFollowUpStatus(f.status)) throw new ConflictError(`follow-up ${f.id} is ${f.status}`);
}

function ref(c: FollowUpCommandBase) {
  requireText(c.followUpId, 'followUpId');
  return { followUpId: c.followUpId, contactId: c.contactId };
}

/** `attempt` is the last one (attempts == maxAttempts) → retryAt null, the follow-up fails; else it retries at retryAt. */
function attemptFailed(f: FollowUpState, contactId: string, attempt: number, reason: string, callId: string | null, retryAt: () => string, at?: string): ContactEvent {
  const last = attempt >= f.maxAttempts;
  const data: FollowUpAttemptFailedData = {
    followUpId: f.id,
    contactId,
    attempt,
    reason,
    callId,
    retryAt: last ? null : retryAt(),
    schedule: last ? null : f.schedule + 1,
    ...(at === undefined ? {} : { at }),
  };
  return { type: FollowUpAttemptFailed, data };
}

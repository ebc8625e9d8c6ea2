import { DateTime } from 'luxon';
import { ConflictError, ValidationError } from '@app/shared';
import {
  CallDirection,
  CallStatus,
  ContactEvent,
  FOLLOW_UP_LIFECYCLE_EVENT_TYPES,
  FollowUpAttemptFailed,
  FollowUpAttemptStarted,
  FollowUpAttemptSucceeded,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpDeferred,
  FollowUpExpired,
  FollowUpRescheduled,
  FollowUpScheduled,
  FollowUpSnoozed,
  FollowUpSource,
  FollowUpStatus,
  FollowUpType,
  isOpenFollowUpStatus,
} from './contact.events';
import { ContactCommand, ContactState, FollowUpInput, decideContact, evolveContact, initialContactState } from './contact.decider';
import { CALL_CLOCK_SKEW_MS, DELIVERY_GRACE_MS, FollowUpState } from './follow-up.decider';
import { CallingWindow, WEEKDAYS, checkWindow, effectiveWindow, toFollowUpWindowCheck } from './calling-window';
import { prng } from '@app/testing/seeded-random';

/*
 * Model-based test of one contact's follow-ups (SPEC §5): a small reference model of each follow-up's state machine,
 * written from the spec, and the real decider (decideContact → follow-up.decider.ts, contact.decider.ts for the calls
 * that end attempts, calling-window.ts for the window, called as FollowUpExecutor, AttemptTimeoutHandler,
 * ExpireFollowUpsHandler, ChangeFollowUpHandler and CallIngest call them) driven with the same seeded random
 * sequences. After every step the decider's state (its events folded with the real evolve) must equal the model,
 * a read model folded from the events' data alone (as contacts.projection.ts does) must equal it too, and the
 * invariants (checkEvent, checkInvariants, checkAgreement) must hold. Set MODEL_SEED=<n>[,<n>…] to replay seeds
 * (every test names its seed), SHOW_COVERAGE=1 to print what the sequences reached.
 *
 * Where SPEC is silent the model follows what the code documents:
 * - a snooze or reschedule withdraws the attempt in flight: its number comes again under the new schedule and its
 *   late result is stale (docs/architecture.md "Follow-up execution" §6; FollowUpSnoozedData.withdrawnAttempt);
 * - a window that never opens leaves the follow-up waiting for its agent, neither run nor deferred (calling-window.ts
 *   effectiveWindow);
 * - a deferral keeps the status (scheduled or snoozed) (follow-up.decider.ts evolveFollowUp);
 * - a job run again that finds an sms attempt open (a crash left it in flight) resumes its delivery in the window; out
 *   of it the delivery is deferred to the opening, the attempt staying open and counted once (scheduled meanwhile);
 *   the result of either delivery (one a stalled worker went on with, or the one resumed at the opening) ends it,
 *   named by the schedule the attempt started under or the deferral's;
 * - a call attempt records whether it was dialled (the settings it started with had a dialler); its timeout job
 *   follows that record, and an attempt a pushed call started is not dialled;
 * - a call naming a follow-up ends it only when it is an open call follow-up, whatever the direction, starting the
 *   attempt first when none is open; a call naming none ends the open call attempt due earliest (scheduledAt, then
 *   id), outbound only, or with none open is the next attempt of the call follow-up due earliest (by the call's
 *   start) among those awaiting a retry (scheduled, tried before; not snoozed) whose last attempt failed before the
 *   call started; a final call of 0 s is a failed attempt whatever its status (follow-up.decider.ts
 *   followUpOfCall, callAttemptEvents);
 * - "overdue for longer than N days" is N × 24 h after scheduledAt (ExpireFollowUpsHandler);
 * - attempts go down only by that withdrawal, by one; otherwise they never decrease;
 * - a snooze never brings a follow-up forward: one due after the snooze would end is refused (ConflictError);
 * - snooze, reschedule, cancel and complete refuse an ended follow-up (ConflictError); the worker's commands answer
 *   nothing (decideFollowUp); the same snooze, or a reschedule that moves nothing, records nothing.
 */

const SEEDS = process.env.MODEL_SEED ? process.env.MODEL_SEED.split(',').map(Number) : [20250311, 7, 4242];
const SEQUENCES = 80;
const STEPS = 60;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const CONTACT = 'c1';
const MAX_FOLLOW_UPS = 4;

type Rng = ReturnType<typeof prng>;

const iso = (ms: number) => new Date(ms).toISOString();
const ENDED: readonly FollowUpStatus[] = ['completed', 'failed', 'cancelled', 'expired'];
const isEnded = (s: FollowUpStatus) => ENDED.includes(s);

// ---- settings and windows (SPEC §7) ----------------------------------------------------------------------------

interface Settings {
  retryDelaySeconds: number;
  snoozeDays: number;
  expireAfterDays: number;
  attemptTimeoutSeconds: number;
  dialler: boolean;
  timezone: string;
  orgWindow: CallingWindow;
  /** Campaign windows by id; camp2 has none. */
  campaigns: Record<string, CallingWindow>;
}

const ZONES = ['UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
const ORG_WINDOWS: CallingWindow[] = [
  { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', end: '21:00' },
  { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:30', end: '17:00' },
  { days: ['sat', 'sun'], start: '01:30', end: '03:00' },
];
const CAMPAIGN_WINDOWS: CallingWindow[] = [
  { days: ['mon', 'wed', 'fri'], start: '10:00', end: '16:00' },
  { days: ['sun'], start: '08:00', end: '21:00' }, // with the default org window: never opens
  { days: ['tue', 'sun'], start: '00:00', end: '23:59' },
];

/** The model's window, from SPEC §7 alone: the org's, narrowed by the campaign's (common days, later start, earlier end). */
function modelWindow(org: CallingWindow, campaign: CallingWindow | null): CallingWindow | null {
  if (!campaign) return org;
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
  const days = org.days.filter((d) => campaign.days.includes(d));
  const start = minutes(campaign.start) > minutes(org.start) ? campaign.start : org.start;
  const end = minutes(campaign.end) < minutes(org.end) ? campaign.end : org.end;
  return days.length === 0 || minutes(start) >= minutes(end) ? null : { days, start, end };
}

/** Inside the window on the contact's wall clock (end exclusive). */
function modelInWindow(ms: number, zone: string, w: CallingWindow | null): boolean {
  if (!w) return false;
  const local = DateTime.fromMillis(ms, { zone });
  const minute = local.hour * 60 + local.minute;
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
  return w.days.includes(WEEKDAYS[local.weekday - 1]) && minute >= minutes(w.start) && minute < minutes(w.end);
}

// ---- the reference model ---------------------------------------------------------------------------------------

interface ModelFollowUp {
  id: string;
  type: FollowUpType;
  maxAttempts: number;
  allowOutOfWindow: boolean;
  campaignId: string | null;
  status: FollowUpStatus;
  attempts: number;
  /** An attempt is running (counted, no result yet). */
  attemptOpen: boolean;
  scheduledAt: number;
  nextAttemptAt: number;
  outOfWindow: boolean;
  /** Which job is the live one: a job made for another number is stale. */
  schedule: number;
  /** The step it ended at (the read model's resolvedAt is that event's time). */
  resolvedAtStep: number | null;
  /** Not run and not deferred: its window never opens (it waits for its agent or expiry). */
  waitingForAgent: boolean;
  /** When its last failed attempt ended. */
  lastFailedAt?: number;
  /** When its last attempt started. */
  attemptStartedAt?: number;
  /** The schedule its last attempt started under (a deferral of an open sms attempt moves `schedule`, not this). */
  attemptSchedule?: number;
}

/** What the API shows of a follow-up (the read model): nextAttemptAt only while it waits for an attempt. */
interface View {
  status: FollowUpStatus;
  attempts: number;
  maxAttempts: number;
  scheduledAt: string;
  nextAttemptAt: string | null;
  outOfWindow: boolean;
  attemptOpen: boolean;
  schedule: number;
}

const modelView = (m: ModelFollowUp): View => ({
  status: m.status,
  attempts: m.attempts,
  maxAttempts: m.maxAttempts,
  scheduledAt: iso(m.scheduledAt),
  nextAttemptAt: (m.attemptOpen && m.status !== 'scheduled') || isEnded(m.status) ? null : iso(m.nextAttemptAt),
  outOfWindow: m.outOfWindow,
  attemptOpen: m.attemptOpen,
  schedule: m.schedule,
});

const deciderView = (f: FollowUpState): View => ({
  status: f.status,
  attempts: f.attempts,
  maxAttempts: f.maxAttempts,
  scheduledAt: f.scheduledAt,
  nextAttemptAt: (f.attemptOpen && f.status !== 'scheduled') || isEnded(f.status) ? null : f.nextAttemptAt,
  outOfWindow: f.outOfWindow,
  attemptOpen: f.attemptOpen,
  schedule: f.schedule,
});

/** A row of the follow-ups read model, folded from the events' data alone (contacts.projection.ts does the same). */
interface ReadRow {
  type: FollowUpType;
  status: FollowUpStatus;
  scheduledAt: string;
  nextAttemptAt: string | null;
  attempts: number;
  maxAttempts: number;
  outOfWindow: boolean;
  resolved: boolean;
  schedule: number;
}

function foldReadRow(rows: Map<string, ReadRow>, e: ContactEvent): void {
  if (e.type === FollowUpScheduled) {
    const d = e.data;
    rows.set(d.followUpId, { type: d.type, status: 'scheduled', scheduledAt: d.scheduledAt, nextAttemptAt: d.scheduledAt, attempts: 0, maxAttempts: d.maxAttempts, outOfWindow: false, resolved: false, schedule: 1 });
    return;
  }
  if (!(FOLLOW_UP_LIFECYCLE_EVENT_TYPES as readonly string[]).includes(e.type)) return;
  const r = rows.get((e.data as { followUpId: string }).followUpId);
  if (!r) return;
  const end = (status: FollowUpStatus) => Object.assign(r, { status, resolved: true, nextAttemptAt: null });
  switch (e.type) {
    case FollowUpSnoozed:
    case FollowUpRescheduled: {
      const d = e.data;
      const due = e.type === FollowUpSnoozed ? e.data.until : e.data.scheduledAt;
      Object.assign(r, { status: e.type === FollowUpSnoozed ? 'snoozed' : 'scheduled', scheduledAt: due, nextAttemptAt: due, schedule: d.schedule });
      if (d.withdrawnAttempt !== null) r.attempts = d.withdrawnAttempt - 1;
      return;
    }
    case FollowUpDeferred:
      Object.assign(r, { status: 'scheduled', nextAttemptAt: e.data.nextAttemptAt, schedule: e.data.schedule });
      return;
    case FollowUpAttemptStarted:
      Object.assign(r, { status: r.type === 'call' ? 'queued' : 'in_progress', attempts: e.data.attempt, outOfWindow: r.outOfWindow || e.data.outOfWindow, nextAttemptAt: null });
      return;
    case FollowUpAttemptFailed:
      if (e.data.retryAt) Object.assign(r, { status: 'scheduled', nextAttemptAt: e.data.retryAt, schedule: e.data.schedule ?? undefined });
      else end('failed');
      return;
    case FollowUpAttemptSucceeded:
    case FollowUpCompleted:
      end('completed');
      return;
    case FollowUpCancelled:
      end('cancelled');
      return;
    case FollowUpExpired:
      end('expired');
      return;
  }
}

const readView = (r: ReadRow): Omit<View, 'attemptOpen'> & { resolved: boolean } => ({
  status: r.status,
  attempts: r.attempts,
  maxAttempts: r.maxAttempts,
  scheduledAt: r.scheduledAt,
  nextAttemptAt: r.nextAttemptAt,
  outOfWindow: r.outOfWindow,
  schedule: r.schedule,
  resolved: r.resolved,
});

// ---- what the driver does --------------------------------------------------------------------------------------

interface CallPush {
  callId: string;
  direction: CallDirection;
  status: CallStatus;
  durationSec: number;
  followUpId: string | null;
  /** `Follow up`: the follow-up the push schedules; `Rescheduled`: the callback's follow-up and time. */
  scheduled?: { followUpId: string; type: FollowUpType; at: number; maxAttempts: number; allowOutOfWindow: boolean };
}

type Intent =
  | { kind: 'schedule'; followUpId: string; type: FollowUpType; at: number; maxAttempts: number; allowOutOfWindow: boolean; campaignId: string | null; source: FollowUpSource }
  | { kind: 'job'; followUpId: string; schedule: number }
  | { kind: 'result'; followUpId: string; attempt: number; schedule: number; success: boolean }
  | { kind: 'timeout'; followUpId: string; attempt: number; schedule: number }
  | { kind: 'call'; push: CallPush }
  | { kind: 'snooze' | 'cancel' | 'complete' | 'expire'; followUpId: string }
  | { kind: 'reschedule'; followUpId: string; at: number };

interface Job {
  id: string;
  followUpId: string;
  schedule: number;
  runAt: number;
  attempt?: number;
}

/**
 * What the model says a step does to the follow-ups: refused with a conflict (or, `invalid`, as bad input), or these
 * follow-ups changed.
 */
type Expectation = { refused: true; invalid?: boolean } | { refused: false; changed: Set<string> };

class Coverage {
  readonly counts = new Map<string, number>();
  add(what: string) {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
  }
}

class Sequence {
  private now: number;
  private state: ContactState = initialContactState;
  private readonly models = new Map<string, ModelFollowUp>();
  private readonly rows = new Map<string, ReadRow>();
  private readonly calls = new Map<string, { status: CallStatus; final: boolean }>();
  /** Delayed jobs by their deterministic id, as BullMQ keeps them (follow-up.jobs.ts), and the ones already run. */
  private readonly jobs = new Map<string, Job>();
  private readonly timeouts = new Map<string, Job>();
  private readonly ran: Job[] = [];
  /** Deliveries in flight or answered (an sms, webhook or dial request), whose results may come late or twice. */
  private readonly deliveries: { followUpId: string; attempt: number; schedule: number }[] = [];
  private readonly pushes: CallPush[] = [];
  private readonly userIntents: Intent[] = [];
  private readonly schedules: Intent[] = [];
  /** The last user command, replayed as it was (FollowUpWriter decides the same command again after a conflict). */
  private lastUserCommand: { intent: Intent; command: ContactCommand } | null = null;
  private replay: ContactCommand | null = null;
  private readonly trace: string[] = [];
  private step = 0;
  private nextFollowUp = 1;
  private nextCall = 1;

  constructor(
    private readonly rng: Rng,
    private readonly s: Settings,
    private readonly label: string,
    private readonly coverage: Coverage,
  ) {
    this.now = Date.UTC(2025, 2, 1) + rng.int(0, 250) * DAY + rng.int(0, 24 * 60) * MINUTE;
    const events = decideContact(
      { type: 'CreateContact', contactId: CONTACT, name: 'Sarah Lee', phone: '+14155550100', timezone: s.timezone, campaignId: rng.pick([null, 'camp1', 'camp2']) },
      this.state,
    );
    this.state = events.reduce(evolveContact, this.state);
  }

  run(steps: number): void {
    for (this.step = 1; this.step <= steps; this.step++) this.apply(this.nextIntent());
  }

  // ---- choosing the next thing that happens ----

  private nextIntent(): Intent {
    const r = this.rng;
    const ids = [...this.models.keys()];
    const anyId = () => r.pick(ids);
    for (;;) {
      const roll = r.int(1, 100);
      if (roll <= 10 || ids.length === 0) {
        if (this.schedules.length && r.chance(0.1)) return r.pick(this.schedules); // the same request again
        if (ids.length >= MAX_FOLLOW_UPS) continue;
        const type = r.pick<FollowUpType>(['call', 'call', 'sms', 'webhook']);
        const intent: Intent = {
          kind: 'schedule',
          followUpId: `f${this.nextFollowUp++}`,
          type,
          // past times (imports, due at once; some long overdue) and future ones
          at: this.now + r.pick([-10 * DAY, -2 * DAY, -HOUR, 0, HOUR, 5 * HOUR, 2 * DAY]) + r.int(-30, 30) * MINUTE,
          maxAttempts: r.int(1, 10),
          allowOutOfWindow: r.chance(0.3),
          campaignId: r.pick([null, 'camp1', 'camp2']),
          source: r.pick<FollowUpSource>(['manual', 'api', 'automation', 'import']),
        };
        this.schedules.push(intent);
        return intent;
      }
      if (roll <= 38) {
        // a job comes due: usually the earliest, sometimes any (late, or run again)
        const pending = [...this.jobs.values()].sort((a, b) => a.runAt - b.runAt);
        if (pending.length === 0) continue;
        const job = r.chance(0.75) ? pending[0] : r.pick(pending);
        this.jobs.delete(job.id);
        this.ran.push(job);
        this.advanceTo(job.runAt);
        return { kind: 'job', followUpId: job.followUpId, schedule: job.schedule };
      }
      if (roll <= 42) {
        // the job of an sms whose delivery a crash interrupted, run again (BullMQ, or jobs:reconcile hours later)
        const inFlight = [...this.models.values()].filter((f) => f.type === 'sms' && f.attemptOpen && !isEnded(f.status));
        if (inFlight.length && r.chance(0.5)) {
          const f = r.pick(inFlight);
          this.advanceBy(r.int(0, 12 * 60) * MINUTE);
          return { kind: 'job', followUpId: f.id, schedule: f.schedule };
        }
        // a stale or duplicate job: one already run, or a made-up older schedule
        if (this.ran.length && r.chance(0.6)) {
          const job = r.pick(this.ran);
          return { kind: 'job', followUpId: job.followUpId, schedule: job.schedule };
        }
        const id = anyId();
        return { kind: 'job', followUpId: id, schedule: r.int(1, this.models.get(id)!.schedule + 1) };
      }
      if (roll <= 55) {
        if (this.deliveries.length === 0) continue;
        // the latest delivery usually; an older one is a late or repeated answer
        const d = r.chance(0.7) ? this.deliveries[this.deliveries.length - 1] : r.pick(this.deliveries);
        const f = this.models.get(d.followUpId)!;
        this.advanceBy(r.int(0, 120) * 1000);
        // a dial request only ever fails (an accepted one is ended by a call or the timeout)
        return { kind: 'result', ...d, success: f.type !== 'call' && r.chance(0.45) };
      }
      if (roll <= 60) {
        const pending = [...this.timeouts.values()];
        if (pending.length === 0) continue;
        const t = r.pick(pending);
        if (r.chance(0.8)) this.timeouts.delete(t.id);
        this.advanceTo(t.runAt);
        return { kind: 'timeout', followUpId: t.followUpId, attempt: t.attempt!, schedule: t.schedule };
      }
      if (roll <= 76) {
        this.advanceBy(r.int(1, 90) * MINUTE);
        if (this.pushes.length && r.chance(0.12)) return { kind: 'call', push: this.repush(r.pick(this.pushes)) };
        return { kind: 'call', push: this.newPush() };
      }
      if (roll <= 92) {
        this.advanceBy(r.int(0, 180) * MINUTE);
        if (this.lastUserCommand && r.chance(0.1)) {
          this.replay = this.lastUserCommand.command;
          return this.lastUserCommand.intent;
        }
        if (this.userIntents.length && r.chance(0.1)) return r.pick(this.userIntents); // a client's retry, made anew
        const kind = r.pick(['snooze', 'snooze', 'reschedule', 'reschedule', 'cancel', 'complete'] as const);
        const intent: Intent =
          kind === 'reschedule'
            ? { kind, followUpId: anyId(), at: r.chance(0.15) ? this.models.get(ids[0])!.scheduledAt : this.now + r.int(-3 * 24, 5 * 24) * HOUR }
            : { kind, followUpId: anyId() };
        this.userIntents.push(intent);
        return intent;
      }
      // the periodic expiry job, sometimes after a long quiet spell
      this.advanceBy(r.chance(0.3) ? r.int(1, 9) * DAY : r.int(0, 6) * HOUR);
      return { kind: 'expire', followUpId: anyId() };
    }
  }

  private newPush(): CallPush {
    const r = this.rng;
    const ids = [...this.models.keys()];
    const status = r.pick<CallStatus>(['Called', 'Called', 'Busy', 'No Answer', 'Missed', 'In-progress', 'Follow up', 'Rescheduled']);
    const direction: CallDirection = status === 'Missed' ? 'inbound' : r.chance(0.8) ? 'outbound' : 'inbound';
    const connectedLikely = status === 'Called' || status === 'Follow up' || status === 'Rescheduled';
    const durationSec = status === 'In-progress' ? 0 : connectedLikely ? (r.chance(0.85) ? r.int(1, 600) : 0) : r.chance(0.05) ? r.int(1, 30) : 0;
    const followUpId = r.chance(0.45) && ids.length ? (r.chance(0.9) ? r.pick(ids) : 'f-unknown') : null;
    const push: CallPush = { callId: `call${this.nextCall++}`, direction, status, durationSec, followUpId };
    if (status === 'Follow up' || status === 'Rescheduled') {
      if (ids.length >= MAX_FOLLOW_UPS) return { ...push, status: 'Called' };
      push.scheduled = {
        followUpId: `f${this.nextFollowUp++}`,
        type: status === 'Follow up' ? r.pick<FollowUpType>(['call', 'call', 'sms']) : 'call',
        at: this.now + r.int(-2, 72) * HOUR,
        maxAttempts: status === 'Follow up' ? r.int(1, 10) : 3,
        allowOutOfWindow: status === 'Follow up' && r.chance(0.3),
      };
    }
    this.pushes.push(push);
    return push;
  }

  /** The dialler pushes a call again: the same final status (a duplicate), the final status of a live call, or another one. */
  private repush(p: CallPush): CallPush {
    const r = this.rng;
    if (p.status === 'In-progress') {
      const final: CallPush = { ...p, status: r.pick<CallStatus>(['Called', 'Busy', 'No Answer']), durationSec: 0 };
      if (final.status === 'Called') final.durationSec = r.chance(0.8) ? r.int(1, 300) : 0;
      this.pushes.push(final);
      return final;
    }
    return r.chance(0.85) ? p : { ...p, status: p.status === 'Busy' ? 'No Answer' : 'Busy', durationSec: 0, scheduled: undefined };
  }

  private advanceTo(at: number) {
    this.now = Math.max(this.now, at) + this.rng.int(0, 5) * 1000;
  }

  private advanceBy(ms: number) {
    this.now += ms;
  }

  // ---- the decider's command for an intent, made as the handlers make it ----

  private command(intent: Intent): ContactCommand {
    const now = iso(this.now);
    const base = { contactId: CONTACT, followUpId: 'followUpId' in intent ? intent.followUpId : '' };
    const retryAt = iso(this.now + this.s.retryDelaySeconds * 1000);
    switch (intent.kind) {
      case 'schedule':
        return {
          type: 'ScheduleFollowUp',
          contactId: CONTACT,
          source: intent.source,
          followUp: this.followUpInput(intent.followUpId, intent.type, intent.at, intent.maxAttempts, intent.allowOutOfWindow, intent.campaignId),
        };
      case 'job': {
        // FollowUpExecutor.decideStart: webhooks' window is not worked out
        const f = this.state.followUps.get(intent.followUpId)!;
        // the executor does not work out a webhook's window; half the time it is passed anyway, which the decider must ignore
        const window =
          f.type === 'webhook' && this.rng.chance(0.5)
            ? { inWindow: true, nextOpening: null }
            : toFollowUpWindowCheck(checkWindow(new Date(this.now), this.state.timezone ?? this.s.timezone, effectiveWindow(this.s.orgWindow, (f.campaignId && this.s.campaigns[f.campaignId]) || null)));
        // FollowUpExecutor.decideStart: a call attempt is dialled when the settings it starts with have a dialler
        return { type: 'StartFollowUpAttempt', ...base, schedule: intent.schedule, now, window, ...(f.type === 'call' ? { dialled: this.s.dialler } : {}) };
      }
      case 'result':
        return {
          type: 'RecordFollowUpAttemptResult',
          ...base,
          attempt: intent.attempt,
          schedule: intent.schedule,
          success: intent.success,
          reason: intent.success ? null : 'status 500',
          detail: intent.success ? 'status 200' : null,
          retryAt,
          now,
        };
      case 'timeout':
        return { type: 'RecordFollowUpAttemptResult', ...base, attempt: intent.attempt, schedule: intent.schedule, success: false, reason: 'timeout: no call within the attempt timeout', retryAt, now };
      case 'call': {
        const p = intent.push;
        return {
          type: 'LogCall',
          contactId: CONTACT,
          now,
          retryDelaySeconds: this.s.retryDelaySeconds,
          call: { callId: p.callId, agentId: 'a1', direction: p.direction, status: p.status, durationSec: p.durationSec, startedAt: iso(this.now - p.durationSec * 1000 - 5000), followUpId: p.followUpId },
          followUp:
            p.status === 'Follow up' && p.scheduled
              ? this.followUpInput(p.scheduled.followUpId, p.scheduled.type, p.scheduled.at, p.scheduled.maxAttempts, p.scheduled.allowOutOfWindow, null)
              : undefined,
          callback: p.status === 'Rescheduled' && p.scheduled ? { followUpId: p.scheduled.followUpId, callbackAt: iso(p.scheduled.at), reason: 'asked to call back' } : undefined,
        };
      }
      case 'snooze':
        return { type: 'SnoozeFollowUp', ...base, until: iso(this.now + this.s.snoozeDays * DAY) };
      case 'reschedule':
        return { type: 'RescheduleFollowUp', ...base, scheduledAt: iso(intent.at) };
      case 'cancel':
        return { type: 'CancelFollowUp', ...base, reason: 'lead bought elsewhere' };
      case 'complete':
        return { type: 'CompleteFollowUp', ...base, how: this.rng.chance(0.5) ? 'manual' : 'hub', by: 'a1' };
      case 'expire':
        return { type: 'ExpireFollowUp', ...base, now, expireAfterDays: this.s.expireAfterDays, timezone: this.s.timezone };
    }
  }

  private followUpInput(followUpId: string, type: FollowUpType, at: number, maxAttempts: number, allowOutOfWindow: boolean, campaignId: string | null): FollowUpInput {
    return {
      followUpId,
      type,
      scheduledAt: iso(at),
      priority: 'normal',
      maxAttempts,
      allowOutOfWindow,
      campaignId,
      message: type === 'sms' ? 'See you tomorrow' : null,
      url: type === 'webhook' ? 'https://hooks.example/fu' : null,
    };
  }

  // ---- the model's step (SPEC §5, and the documented choices at the top of this file) ----

  private expect(intent: Intent, command: ContactCommand): Expectation {
    const changed = new Set<string>();
    const m = 'followUpId' in intent ? this.models.get(intent.followUpId) : undefined;
    const now = this.now;
    const fail = (f: ModelFollowUp, at: number) => {
      f.attemptOpen = false;
      f.lastFailedAt = at;
      if (f.attempts >= f.maxAttempts) return this.end(f, 'failed');
      f.status = 'scheduled';
      f.nextAttemptAt = at + this.s.retryDelaySeconds * 1000;
      f.schedule++;
      f.waitingForAgent = false;
    };
    const withdraw = (f: ModelFollowUp) => {
      if (!f.attemptOpen) return;
      f.attemptOpen = false;
      f.attempts--;
    };
    switch (intent.kind) {
      case 'schedule': {
        if (this.models.has(intent.followUpId)) {
          this.coverage.add('scheduled again: replay');
          return { refused: false, changed }; // a replay of the same request
        }
        this.models.set(intent.followUpId, this.newModel(intent.followUpId, intent.type, intent.at, intent.maxAttempts, intent.allowOutOfWindow, intent.campaignId ?? this.state.campaignId));
        changed.add(intent.followUpId);
        return { refused: false, changed };
      }
      case 'job': {
        const f = m!;
        if (f.type === 'sms' && f.attemptOpen && !isEnded(f.status) && intent.schedule === f.schedule) return this.resumeSms(f, command, changed);
        if ((f.status !== 'scheduled' && f.status !== 'snoozed') || intent.schedule !== f.schedule || f.attemptOpen || f.attempts >= f.maxAttempts) {
          this.coverage.add('stale job ignored');
          return { refused: false, changed };
        }
        changed.add(f.id);
        const w = modelWindow(this.s.orgWindow, (f.campaignId && this.s.campaigns[f.campaignId]) || null);
        const inWindow = f.type === 'webhook' || modelInWindow(now, this.s.timezone, w);
        const window = (command as Extract<ContactCommand, { type: 'StartFollowUpAttempt' }>).window;
        if (f.type !== 'webhook') this.check(window.inWindow === inWindow, `the window check says inWindow ${window.inWindow}, the model ${inWindow}`);
        if (!inWindow && !f.allowOutOfWindow) {
          if (w === null) {
            this.check(window.nextOpening === null, 'a window that never opens has no next opening');
            f.waitingForAgent = true;
            changed.delete(f.id);
            this.coverage.add('never-open window: waits');
            return { refused: false, changed };
          }
          const opening = Date.parse(window.nextOpening ?? 'none');
          this.check(opening > now && opening - now <= 15 * DAY, `next opening ${window.nextOpening} is not within two weeks after now`);
          this.check(modelInWindow(opening, this.s.timezone, w) && !modelInWindow(opening - 1, this.s.timezone, w), `next opening ${window.nextOpening} is not where the window opens`);
          f.nextAttemptAt = opening; // never scheduledAt, no attempt counted
          f.schedule++;
          if (f.status === 'snoozed') {
            f.status = 'scheduled'; // its snooze is over: "snoozed until then"
            this.coverage.add('deferred after a snooze: scheduled');
          }
          this.coverage.add('deferred');
          return { refused: false, changed };
        }
        f.attempts++;
        f.attemptOpen = true;
        f.attemptStartedAt = now;
        f.attemptSchedule = f.schedule;
        f.status = f.type === 'call' ? 'queued' : 'in_progress';
        if (!inWindow) {
          f.outOfWindow = true;
          this.coverage.add('ran out of window');
        }
        return { refused: false, changed };
      }
      case 'result':
      case 'timeout': {
        const f = m!;
        if (!f.attemptOpen || f.attempts !== intent.attempt || (f.schedule !== intent.schedule && f.attemptSchedule !== intent.schedule)) {
          this.coverage.add(`stale ${intent.kind} ignored`);
          return { refused: false, changed };
        }
        changed.add(f.id);
        if (intent.kind === 'result' && intent.success) this.end(f, 'completed');
        else fail(f, now);
        this.coverage.add(`${intent.kind} recorded`);
        return { refused: false, changed };
      }
      case 'call': {
        const p = intent.push;
        const known = this.calls.get(p.callId);
        // a call may name only a follow-up of its contact (checked once it is not a duplicate)
        const namesUnknown = p.followUpId !== null && !this.models.has(p.followUpId);
        if (p.status === 'In-progress') {
          if (known) return { refused: false, changed };
          if (namesUnknown) return { refused: true, invalid: true };
          this.calls.set(p.callId, { status: p.status, final: false });
          return { refused: false, changed };
        }
        if (known?.final) {
          if (known.status === p.status) {
            this.coverage.add('duplicate call');
            return { refused: false, changed };
          }
          this.coverage.add('conflicting call refused');
          return { refused: true };
        }
        if (namesUnknown && !known) {
          this.coverage.add('call naming an unknown follow-up refused');
          return { refused: true, invalid: true };
        }
        // the final push of a live call naming an unknown follow-up is taken as naming none
        const namedId = namesUnknown ? null : p.followUpId;
        if (namesUnknown) this.coverage.add('live call naming an unknown follow-up ended as naming none');
        this.calls.set(p.callId, { status: p.status, final: true });
        const open = (f: ModelFollowUp | undefined) => !!f && f.type === 'call' && !isEnded(f.status);
        let target: ModelFollowUp | undefined;
        const startedAt = now - p.durationSec * 1000 - 5000; // as the command states it
        // SPEC §5: "the next final outbound call": one that ended before the open attempt started (a late push; the
        // dialler's clock may run CALL_CLOCK_SKEW_MS behind) is not its call, unless it names the follow-up.
        const during = (f: ModelFollowUp) => f.attemptStartedAt === undefined || startedAt + p.durationSec * 1000 >= f.attemptStartedAt - CALL_CLOCK_SKEW_MS;
        if (namedId !== null) {
          const named = this.models.get(namedId);
          target = open(named) ? named : undefined;
          if (target && target.attemptOpen && p.durationSec === 0 && target.lastFailedAt !== undefined && startedAt < target.lastFailedAt) {
            this.coverage.add("late result of a failed attempt left the open one");
            target = undefined;
          }
          // An outbound call not connected, naming a follow-up not due when it started (snoozed, or due later), leaves it.
          if (target && !target.attemptOpen && p.durationSec === 0 && p.direction === 'outbound' && (target.status === 'snoozed' || target.scheduledAt > startedAt)) {
            this.coverage.add('call before the due time left the follow-up');
            target = undefined;
          }
          // An unanswered call from before its last attempt ended was that attempt's (already failed): not the next one.
          if (target && !target.attemptOpen && p.durationSec === 0 && target.lastFailedAt !== undefined && startedAt < target.lastFailedAt) {
            this.coverage.add("late result of a failed attempt left the follow-up");
            target = undefined;
          }
        } else if (p.direction === 'outbound') {
          const byDue = (a: ModelFollowUp, b: ModelFollowUp) => a.scheduledAt - b.scheduledAt || (a.id < b.id ? -1 : 1);
          const calls = [...this.models.values()].filter(open);
          if (calls.some((f) => f.attemptOpen && !during(f))) this.coverage.add('call from before the open attempt not taken');
          target =
            calls.filter((f) => f.attemptOpen && during(f)).sort(byDue)[0] ??
            calls
              .filter((f) => !f.attemptOpen && f.status === 'scheduled' && f.attempts > 0 && f.scheduledAt <= startedAt && f.lastFailedAt !== undefined && f.lastFailedAt <= startedAt)
              .sort(byDue)[0];
          if (target && !target.attemptOpen) this.coverage.add('call between attempts taken as the next');
        }
        if (target && (target.attemptOpen || target.attempts < target.maxAttempts)) {
          changed.add(target.id);
          if (!target.attemptOpen) {
            target.attempts++; // the agent called before the worker ran it: this call is its attempt
            this.coverage.add('call started and ended an attempt');
          }
          target.attemptOpen = false;
          if (p.durationSec > 0) this.end(target, 'completed');
          else fail(target, now);
          this.coverage.add(p.durationSec > 0 ? 'call connected: completed' : `call not connected (${p.status})`);
        }
        if (p.scheduled) {
          const sd = p.scheduled;
          this.models.set(sd.followUpId, this.newModel(sd.followUpId, sd.type, sd.at, sd.maxAttempts, sd.allowOutOfWindow, this.state.campaignId));
          changed.add(sd.followUpId);
        }
        return { refused: false, changed };
      }
      case 'snooze':
      case 'reschedule':
      case 'cancel':
      case 'complete': {
        const f = m!;
        if (isEnded(f.status)) {
          this.coverage.add(`${intent.kind} of an ended follow-up refused`);
          return { refused: true };
        }
        if (intent.kind === 'snooze') {
          const until = Date.parse((command as Extract<ContactCommand, { type: 'SnoozeFollowUp' }>).until);
          if (f.status === 'snoozed' && f.scheduledAt === until) return { refused: false, changed };
          if (until < f.scheduledAt) {
            this.coverage.add('snooze that would bring it forward refused');
            return { refused: true };
          }
          if (f.attemptOpen) this.coverage.add('snooze withdrew an attempt');
          withdraw(f);
          Object.assign(f, { status: 'snoozed', scheduledAt: until, nextAttemptAt: until, waitingForAgent: false });
          f.schedule++;
        } else if (intent.kind === 'reschedule') {
          if (f.status === 'scheduled' && f.scheduledAt === intent.at && f.nextAttemptAt === intent.at) return { refused: false, changed };
          withdraw(f);
          Object.assign(f, { status: 'scheduled', scheduledAt: intent.at, nextAttemptAt: intent.at, waitingForAgent: false });
          f.schedule++;
        } else {
          f.attemptOpen = false;
          this.end(f, intent.kind === 'cancel' ? 'cancelled' : 'completed');
        }
        changed.add(f.id);
        return { refused: false, changed };
      }
      case 'expire': {
        const f = m!;
        // overdue from the start of the day after its due date, calendar days of the org's zone (luxon, not the decider's arithmetic)
        const day = (ms: number) => DateTime.fromMillis(ms, { zone: this.s.timezone }).startOf('day');
        const overdueDays = Math.round(day(now).diff(day(f.scheduledAt), 'days').days);
        if (isEnded(f.status) || overdueDays <= this.s.expireAfterDays) return { refused: false, changed };
        // an sms whose resumed delivery waits for the window's opening is delivered from the opening on, and may still be
        // delivered by the run its deferral interrupted just after its start
        const within = (since: number | undefined) => since !== undefined && now >= since && now - since < DELIVERY_GRACE_MS;
        const delivering = within(f.attemptStartedAt) || (f.status === 'scheduled' && within(f.nextAttemptAt));
        if (f.type !== 'call' && f.attemptOpen && delivering) {
          this.coverage.add('expiry waits for a delivery');
          return { refused: false, changed };
        }
        f.attemptOpen = false;
        this.end(f, 'expired');
        changed.add(f.id);
        this.coverage.add('expired');
        return { refused: false, changed };
      }
    }
  }

  /**
   * The job of an sms whose attempt is open (run again after a crash, or at the opening it was deferred to): delivered
   * again under its open attempt in the window (or with the override), its delivery deferred to the opening outside it.
   */
  private resumeSms(f: ModelFollowUp, command: ContactCommand, changed: Set<string>): Expectation {
    const w = modelWindow(this.s.orgWindow, (f.campaignId && this.s.campaigns[f.campaignId]) || null);
    const inWindow = modelInWindow(this.now, this.s.timezone, w);
    const window = (command as Extract<ContactCommand, { type: 'StartFollowUpAttempt' }>).window;
    this.check(window.inWindow === inWindow, `the window check says inWindow ${window.inWindow}, the model ${inWindow}`);
    if (inWindow || f.allowOutOfWindow) {
      // the worker sends it again under the same attempt and schedule: its answer may come
      this.deliveries.push({ followUpId: f.id, attempt: f.attempts, schedule: f.schedule });
      this.coverage.add('sms resumed');
      return { refused: false, changed };
    }
    if (w === null) {
      this.coverage.add('sms resumed: never-open window, not sent');
      return { refused: false, changed };
    }
    const opening = Date.parse(window.nextOpening ?? 'none');
    this.check(modelInWindow(opening, this.s.timezone, w) && !modelInWindow(opening - 1, this.s.timezone, w), `next opening ${window.nextOpening} is not where the window opens`);
    f.status = 'scheduled';
    f.nextAttemptAt = opening;
    f.schedule++;
    changed.add(f.id);
    this.coverage.add('sms resumed out of window: deferred');
    return { refused: false, changed };
  }

  private newModel(id: string, type: FollowUpType, at: number, maxAttempts: number, allowOutOfWindow: boolean, campaignId: string | null): ModelFollowUp {
    return {
      id,
      type,
      maxAttempts,
      allowOutOfWindow,
      campaignId,
      status: 'scheduled',
      attempts: 0,
      attemptOpen: false,
      scheduledAt: at,
      nextAttemptAt: at,
      outOfWindow: false,
      schedule: 1,
      resolvedAtStep: null,
      waitingForAgent: false,
    };
  }

  private end(f: ModelFollowUp, status: FollowUpStatus) {
    f.status = status;
    f.attemptOpen = false;
    f.resolvedAtStep = this.step;
    this.coverage.add(`ended ${status}`);
  }

  // ---- one step: model and decider side by side ----

  private apply(intent: Intent): void {
    const command = this.replay ?? this.command(intent);
    this.replay = null;
    if (['snooze', 'reschedule', 'cancel', 'complete'].includes(intent.kind)) this.lastUserCommand = { intent, command };
    this.trace.push(`#${this.step} @${iso(this.now)} ${JSON.stringify(intent)}`);
    const before = this.state;
    const expected = this.expect(intent, command);

    let events: ContactEvent[] = [];
    let thrown: unknown = null;
    try {
      events = decideContact(command, before);
    } catch (e) {
      thrown = e;
    }
    if (expected.refused) {
      const kind = expected.invalid ? ValidationError : ConflictError;
      this.check(thrown instanceof kind, `expected a ${kind.name}, got ${thrown ? String(thrown) : JSON.stringify(events.map((e) => e.type))}`);
      return;
    }
    this.check(thrown === null, `expected no error, got ${String(thrown)}`);
    this.trace.push(`   → ${events.map((e) => e.type).join(', ') || 'nothing'}`);
    for (const e of events) this.coverage.add(e.type);

    const after = events.reduce(evolveContact, before);
    this.state = after;
    for (const e of events) foldReadRow(this.rows, e);

    // which follow-ups the events touched, each checked against the model's expectation
    const touched = new Set(events.filter((e) => e.type === FollowUpScheduled || (FOLLOW_UP_LIFECYCLE_EVENT_TYPES as readonly string[]).includes(e.type)).map((e) => (e.data as { followUpId: string }).followUpId));
    this.check(JSON.stringify([...touched].sort()) === JSON.stringify([...expected.changed].sort()), `events touched [${[...touched]}], the model changed [${[...expected.changed]}]`);

    for (const e of events) this.checkEvent(e, before, after);
    this.checkInvariants(before, after, events);
    this.makeJobs(events);
    this.checkAgreement();
  }

  /** What the read models and the job source read from each event is there and consistent. */
  private checkEvent(e: ContactEvent, before: ContactState, after: ContactState): void {
    if (!(FOLLOW_UP_LIFECYCLE_EVENT_TYPES as readonly string[]).includes(e.type)) return;
    const d = e.data as { followUpId: string; contactId: string };
    this.check(d.contactId === CONTACT && typeof d.followUpId === 'string', `${e.type} names its follow-up and contact`);
    const prev = before.followUps.get(d.followUpId)!;
    const next = after.followUps.get(d.followUpId)!;
    this.check(!isEnded(prev.status), `${e.type} on ${d.followUpId}, which had already ended (${prev.status})`);
    switch (e.type) {
      case FollowUpAttemptStarted:
        this.check(e.data.maxAttempts === prev.maxAttempts && e.data.attempt >= 1 && e.data.attempt <= prev.maxAttempts, 'FollowUpAttemptStarted says n of maxAttempts');
        this.check(typeof e.data.schedule === 'number' && typeof e.data.at === 'string', 'FollowUpAttemptStarted carries its schedule and time (the timeout job needs them)');
        // whether it was dialled, for a call attempt only (the timeout job follows it, not the settings of later)
        this.check(prev.type === 'call' ? typeof e.data.dialled === 'boolean' : e.data.dialled === undefined, 'FollowUpAttemptStarted of a call says whether it was dialled, of another type nothing');
        break;
      case FollowUpAttemptFailed:
        this.check((e.data.retryAt === null) === (e.data.schedule === null), 'FollowUpAttemptFailed has retryAt and schedule together');
        this.check((e.data.retryAt === null) === (next.status === 'failed'), 'FollowUpAttemptFailed without retryAt fails the follow-up, with one retries it');
        this.check(e.data.reason.length > 0, 'FollowUpAttemptFailed says why');
        break;
      case FollowUpSnoozed:
      case FollowUpRescheduled:
        this.check(e.data.previousScheduledAt === prev.scheduledAt, `${e.type} names the due time it moved from`);
        this.check(e.data.withdrawnAttempt === (prev.attemptOpen ? prev.attempts : null), `${e.type} names the attempt it withdrew`);
        break;
      case FollowUpExpired:
        this.check(e.data.overdueSince === prev.scheduledAt, 'FollowUpExpired says since when it was overdue');
        break;
    }
    if (([FollowUpSnoozed, FollowUpRescheduled, FollowUpDeferred] as string[]).includes(e.type)) {
      this.check((e.data as { schedule: number }).schedule === prev.schedule + 1, `${e.type} raises the schedule by one`);
    }
  }

  private checkInvariants(before: ContactState, after: ContactState, events: ContactEvent[]): void {
    for (const [id, f] of after.followUps) {
      const prev = before.followUps.get(id);
      const own = events.filter((e) => (e.data as { followUpId?: string }).followUpId === id);
      this.check(f.attempts >= 0 && f.attempts <= f.maxAttempts, `${id}: attempts ${f.attempts} of ${f.maxAttempts}`);
      this.check(f.maxAttempts >= 1 && f.maxAttempts <= 10, `${id}: maxAttempts ${f.maxAttempts}`);
      if (!prev) continue;
      if (isEnded(prev.status)) {
        this.check(f === prev || JSON.stringify(f) === JSON.stringify(prev), `${id} ended (${prev.status}) and changed again`);
        continue;
      }
      this.check(f.schedule >= prev.schedule, `${id}: schedule went back from ${prev.schedule} to ${f.schedule}`);
      const withdrawn = own.find((e) => (e.type === FollowUpSnoozed || e.type === FollowUpRescheduled) && e.data.withdrawnAttempt !== null);
      if (f.attempts < prev.attempts) {
        // the only way back: a snooze or reschedule withdrawing the attempt in flight (architecture.md §6)
        this.check(!!withdrawn && f.attempts === prev.attempts - 1 && prev.attemptOpen, `${id}: attempts went back from ${prev.attempts} to ${f.attempts}`);
      }
      if (f.scheduledAt !== prev.scheduledAt) {
        this.check(own.some((e) => e.type === FollowUpSnoozed || e.type === FollowUpRescheduled), `${id}: scheduledAt moved without a snooze or reschedule`);
      }
      // a deferral counts no attempt; it leaves an sms attempt a crash left open (its delivery waits for the window)
      if (own.some((e) => e.type === FollowUpDeferred)) {
        this.check(f.attempts === prev.attempts && f.attemptOpen === prev.attemptOpen, `${id}: a deferral counted or ended an attempt`);
        this.check(!f.attemptOpen || f.type === 'sms', `${id}: a deferral of an open ${f.type} attempt`);
      }
    }
  }

  /** The jobs the job source makes from these events (follow-up.job-source.ts), with BullMQ's deterministic ids. */
  private makeJobs(events: ContactEvent[]): void {
    const add = (followUpId: string, schedule: number, runAt: string) => {
      const id = `fu-exec.${followUpId}.${schedule}`;
      if (!this.jobs.has(id) && !this.ran.some((j) => j.id === id)) this.jobs.set(id, { id, followUpId, schedule, runAt: Date.parse(runAt) });
    };
    for (const e of events) {
      switch (e.type) {
        case FollowUpScheduled:
          add(e.data.followUpId, 1, e.data.scheduledAt);
          break;
        case FollowUpSnoozed:
          add(e.data.followUpId, e.data.schedule, e.data.until);
          break;
        case FollowUpRescheduled:
          add(e.data.followUpId, e.data.schedule, e.data.scheduledAt);
          break;
        case FollowUpDeferred:
          add(e.data.followUpId, e.data.schedule, e.data.nextAttemptAt);
          break;
        case FollowUpAttemptFailed:
          if (e.data.retryAt) add(e.data.followUpId, e.data.schedule!, e.data.retryAt);
          break;
        case FollowUpAttemptStarted: {
          const f = this.state.followUps.get(e.data.followUpId)!;
          const schedule = e.data.schedule!;
          if (f.type !== 'call') this.deliveries.push({ followUpId: f.id, attempt: e.data.attempt, schedule });
          // as the start recorded it (follow-up.job-source.ts), the settings of the moment only for an attempt that did not
          else if (e.data.dialled ?? this.s.dialler) {
            this.deliveries.push({ followUpId: f.id, attempt: e.data.attempt, schedule }); // the dial request, refused sometimes
            const id = `fu-timeout.${f.id}.${schedule}.${e.data.attempt}`;
            this.timeouts.set(id, { id, followUpId: f.id, schedule, attempt: e.data.attempt, runAt: Date.parse(e.data.at) + this.s.attemptTimeoutSeconds * 1000 });
          }
          break;
        }
      }
    }
  }

  /** Decider, read model and model agree on every follow-up, and nothing open is left without a way to go on. */
  private checkAgreement(): void {
    this.check(this.state.followUps.size === this.models.size, `the decider has ${this.state.followUps.size} follow-ups, the model ${this.models.size}`);
    for (const [id, m] of this.models) {
      const f = this.state.followUps.get(id);
      this.check(!!f, `the decider has no follow-up ${id}`);
      const want = modelView(m);
      const got = deciderView(f!);
      this.check(JSON.stringify(got) === JSON.stringify(want), `${id}: decider ${JSON.stringify(got)}\n   model   ${JSON.stringify(want)}`);
      const { attemptOpen: _open, ...wantRead } = want;
      const row = readView(this.rows.get(id)!);
      this.check(JSON.stringify(row) === JSON.stringify({ ...wantRead, resolved: isEnded(m.status) }), `${id}: read model ${JSON.stringify(row)}\n   model      ${JSON.stringify(wantRead)}`);
      this.check((m.resolvedAtStep !== null) === isEnded(m.status), `${id}: resolved iff ended`);
      // an open follow-up waiting for its next attempt has a live job at that time, unless its window never opens
      if (!isEnded(m.status) && !m.attemptOpen && !m.waitingForAgent && m.attempts < m.maxAttempts) {
        const job = this.jobs.get(`fu-exec.${id}.${m.schedule}`);
        this.check(!!job && job.runAt === m.nextAttemptAt, `${id}: no job for schedule ${m.schedule} at ${iso(m.nextAttemptAt)}`);
      }
      this.check(isEnded(m.status) || m.attemptOpen || m.attempts < m.maxAttempts, `${id}: open, no attempt running and none left`);
      this.check(isOpenFollowUpStatus(f!.status) === !isEnded(m.status), `${id}: open in one, ended in the other`);
    }
  }

  private check(ok: boolean, message: string): void {
    if (ok) return;
    throw new Error(`${this.label} step ${this.step}: ${message}\n${this.trace.slice(-40).join('\n')}`);
  }
}

function settingsFor(r: Rng): Settings {
  return {
    retryDelaySeconds: r.pick([900, 900, 60, 7200]),
    snoozeDays: r.pick([3, 3, 1]),
    expireAfterDays: r.pick([7, 7, 2, 0]),
    attemptTimeoutSeconds: 3600,
    dialler: r.chance(0.5),
    timezone: r.pick(ZONES),
    orgWindow: r.pick(ORG_WINDOWS),
    campaigns: { camp1: r.pick(CAMPAIGN_WINDOWS) },
  };
}

describe('follow-up lifecycle against its reference model', () => {
  const REQUIRED = [
    FollowUpDeferred,
    FollowUpAttemptStarted,
    FollowUpAttemptSucceeded,
    FollowUpAttemptFailed,
    FollowUpSnoozed,
    FollowUpRescheduled,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpExpired,
    'ran out of window',
    'never-open window: waits',
    'stale job ignored',
    'scheduled again: replay',
    'stale result ignored',
    'stale timeout ignored',
    'result recorded',
    'timeout recorded',
    'snooze withdrew an attempt',
    'sms resumed',
    'sms resumed out of window: deferred',
    'call started and ended an attempt',
    'call between attempts taken as the next',
    'deferred after a snooze: scheduled',
    'call connected: completed',
    'call not connected (Busy)',
    'call not connected (Missed)',
    'duplicate call',
    'conflicting call refused',
    'snooze of an ended follow-up refused',
    'snooze that would bring it forward refused',
    'complete of an ended follow-up refused',
    'ended failed',
    'ended expired',
  ];

  it.each(SEEDS)('should agree with the model after every step of %i-seeded random sequences', (seed) => {
    const coverage = new Coverage();
    for (let i = 0; i < SEQUENCES; i++) {
      const r = prng(seed * 7919 + i);
      new Sequence(r, settingsFor(r), `seed ${seed} sequence ${i}`, coverage).run(STEPS);
    }
    // the sequences reached every part of the lifecycle: a run that exercised less proves less
    if (process.env.SHOW_COVERAGE) console.log(JSON.stringify([...coverage.counts].sort()));
    expect(REQUIRED.filter((what) => !coverage.counts.get(what))).toEqual([]);
  });
});

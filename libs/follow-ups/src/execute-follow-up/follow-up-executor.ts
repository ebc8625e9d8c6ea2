import { Injectable, Logger } from '@nestjs/common';
import { Clock, Database, groupBy, GroupQueue } from '@app/shared';
import { AppendRequest, EventStore } from '@app/event-store';
import { JobContext } from '@app/queue';
import { mayPassOnRetry, OrgSettings, OutboundHttp, SettingsRepository } from '@app/settings';
import {
  ContactsRepository,
  ContactStateCache,
  CallingWindow,
  checkWindow,
  ContactCommand,
  contactDecider,
  ContactEvent,
  ContactState,
  contactStream,
  effectiveWindow,
  FIRST_FOLLOW_UP_SCHEDULE,
  FollowUpAttemptStarted,
  FollowUpState,
  openAttemptSchedule,
  routeAttempt,
  toFollowUpWindowCheck,
  wasDialled,
} from '@app/contacts';
import { Counter, Histogram } from 'prom-client';
import { ExecuteFollowUpPayload } from '../follow-up.jobs';

const MAX_ROUNDS = 8;
const NOT_APPLICABLE = { inWindow: true, nextOpening: null };
/**
 * Grouped writes at once. Two, not more: a burst of due jobs then forms groups of ~70 (with WORKER_CONCURRENCY
 * 400), and each append costs Postgres about the same whatever its size (bench:worker: 295 executions/s with 4
 * in flight and 100 jobs when the stages were written apart; 798/s with 3 in flight against ~940 with 2 now).
 */
const IN_FLIGHT = 2;
/** Attempts to start and results to record written together; both stages' items of a burst fit in one group. */
const MAX_GROUP = 400;

const dialRequestsResent = new Counter({
  name: 'follow_up_dial_requests_resent_total',
  help: 'Dial requests sent again because the dialler did not take them (no answer, 408, 425, 429 or 5xx): a dialler outage shows here',
});

const windowNeverOpens = new Counter({
  name: 'follow_ups_window_never_opens_total',
  help: "Due call or SMS follow-ups left unsent because their campaign's calling window has no time in common with the org's",
});

const groupSize = new Histogram({
  name: 'follow_up_execution_group_size',
  help: 'Due follow-ups whose attempts were started, or results recorded, in one group (one read, one append for both stages)',
  labelNames: ['stage'],
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
});

/** What one job needs done after the attempt was counted (or found open from an earlier run of the same job). */
interface Attempt {
  job: ExecuteFollowUpPayload;
  followUp: FollowUpState;
  phone: string;
  /** The contact's assigned agent when the attempt started: who an inheriting call follow-up is for. */
  assignedAgentId: string | null;
  settings: OrgSettings;
}

/** What a group's call and SMS follow-ups are decided with beyond their contacts' streams. */
interface StartFacts {
  /** The narrower calling windows of their campaigns. */
  windows: Map<string, CallingWindow>;
  /** The agent pools of their campaigns (as created; whoever of them is still active is in `active`). */
  pools: Map<string, readonly string[]>;
  /** Among the agents a call attempt may be routed to (own, contact's, pools'): those still active, by org. */
  active: Map<string, Set<string>>;
}

interface Outcome {
  ok: boolean;
  error: string | null;
  status?: number | null;
  /** A dial request the dialler did not take, but may take if sent again soon (mayPassOnRetry). */
  redial?: boolean;
  /** When the dialler asked to be asked again (its answer's Retry-After). */
  retryAfterMs?: number;
}

/** What a job asks of the grouped writer: count its attempt (or defer it), or record the attempt's result. */
type Write =
  | { kind: 'start'; job: ExecuteFollowUpPayload; redelivered: boolean }
  | { kind: 'result'; job: ExecuteFollowUpPayload; attempt: FollowUpState; outcome: Outcome; retryDelaySeconds: number };
/**
 * `settings`: those the attempt was decided with, so that its delivery goes where the start said (a dialler or not).
 * NEVER_OPENS: nothing to start, its calling window never opens (see neverOpens); null: nothing to do.
 */
type Started = { attempt: FollowUpState; state: ContactState; settings: OrgSettings } | typeof NEVER_OPENS | null;
const NEVER_OPENS = 'never-opens';

/**
 * How long after finding its calling window never opens a follow-up's job looks again: an admin may widen the org's
 * window meanwhile (nothing else records the wait, so nothing else would run it again before jobs:reconcile).
 */
export const NEVER_OPENS_RECHECK_MS = 15 * 60_000;

/**
 * How much of a call attempt's timeout must be left for its dial request to be sent again when the attempt is resumed:
 * a dialler places the call some minutes after the request (its pacing, a free agent), and a call placed as the
 * timeout fails the attempt rings the lead for an attempt given up, then the retry rings them again. Five minutes, or a
 * tenth of a long timeout (24 minutes of 4 hours); at most half the timeout, so that a short one can still be resumed.
 */
const REDIAL_MARGIN_MIN_MS = 5 * 60_000;
const REDIAL_MARGIN_SHARE = 0.1;

/** A call attempt with more than the redial margin of its attemptTimeoutSeconds left (unknown for a state that did not keep its start: yes). */
const timeLeftToRedial = (f: FollowUpState, now: Date, s: OrgSettings): boolean => {
  if (f.attemptStartedAt === undefined) return true;
  const timeoutMs = s.attemptTimeoutSeconds * 1000;
  const margin = Math.min(Math.max(REDIAL_MARGIN_MIN_MS, timeoutMs * REDIAL_MARGIN_SHARE), timeoutMs / 2);
  return now.getTime() < Date.parse(f.attemptStartedAt) + timeoutMs - margin;
};

/**
 * How long after the n-th dial request the dialler did not take the job sends it again: 15 s, doubling up to 5 minutes
 * (a twentieth and a tenth of the attempt's timeout when that is short, at least a second), with up to a fifth more
 * at random so that the attempts of an outage do not all come back in the same second.
 */
export const redialDelayMs = (n: number, attemptTimeoutSeconds: number, random = Math.random()): number => {
  const timeoutMs = attemptTimeoutSeconds * 1000;
  const first = Math.max(1000, Math.min(15_000, timeoutMs / 20));
  const cap = Math.max(first, Math.min(5 * 60_000, timeoutMs / 10));
  return Math.round(Math.min(cap, first * 2 ** Math.min(n - 1, 20)) * (1 + random / 5));
};

/** `agentId` when it is an active agent of the org (StartFacts.active), else null. */
const isActive = (active: Map<string, Set<string>>, orgId: string, agentId: string | null): string | null =>
  agentId && active.get(orgId)?.has(agentId) ? agentId : null;

/**
 * One attempt of one follow-up: a withdrawn attempt's number can come again, never under the same schedule. An open
 * attempt is named by the schedule it started under, which an sms deferred while open keeps (openAttemptSchedule).
 */
const attemptKey = (f: FollowUpState) => `${f.id}.${openAttemptSchedule(f)}.${f.attempts}`;

/**
 * The webhook-id of an attempt's request, which receivers de-duplicate on (Standard Webhooks: "the same when the same
 * webhook is being resent"). A text or webhook is one message per due time: its retries (after a timeout, or a 5xx
 * from a provider that may have sent the text all the same) and its deferral to the window's opening keep the id, so
 * the lead gets one text; a snooze or reschedule sets a new due time, a new message. A dial request is a new call each
 * attempt: its id is the attempt's (attemptKey).
 */
const messageIdOf = (f: FollowUpState) => (f.type === 'call' ? attemptKey(f) : `${f.id}.${f.occurrence ?? FIRST_FOLLOW_UP_SCHEDULE}`);

/** Whether to log for `orgId` now: at most once a minute an organization (`warnedAt` remembers when; bounded). */
const warnOncePerMinute = (warnedAt: Map<string, number>, orgId: string): boolean => {
  const now = Date.now();
  if ((warnedAt.get(orgId) ?? 0) > now - 60_000) return false;
  if (warnedAt.size >= 10_000) warnedAt.clear();
  warnedAt.set(orgId, now);
  return true;
};

/** A delivery (webhook, SMS, dial request) this long marks its organization slow for the worker's fairness share. */
const SLOW_DELIVERY_MS = 3000;

/**
 * SPEC §5 execution, for many due follow-ups at once. A job counts its attempt (or defers it, outside the calling
 * window), performs the delivery on its own, then records the result. The counting and the recording of all the
 * jobs that arrive together are one group: one read of their contacts' streams, one append (fu_append_many), so
 * one job's attempt start travels in the same transaction as another's result, and a burst costs half the
 * transactions of a stage-by-stage pipeline. Groups form without a timer (GroupQueue): a lone job runs at once.
 * A contact another writer changed meanwhile is decided again on a fresh read. Each job is decided on its own
 * exactly as alone: stale jobs (another schedule, or a follow-up no longer waiting) do nothing; attempts are
 * counted in the event stream, never by BullMQ, and counted before the delivery starts; a job run again after a
 * crash finds its attempt open and performs it again with the same message id.
 */
@Injectable()
export class FollowUpExecutor {
  private readonly logger = new Logger(FollowUpExecutor.name);
  private readonly writes = new GroupQueue<Write, Started>((group) => this.write(group), MAX_GROUP, IN_FLIGHT);
  /**
   * The attempts this process is delivering, claimed when decided (before their append, so no other group can see
   * the attempt open and not claimed). A job delivered again while its attempt is in flight here (a twin, a stalled
   * job handed out again) finds it claimed and does nothing; only an attempt nobody here performs is resumed.
   */
  private readonly performing = new Set<string>();
  /** Orgs warned about a calling window that never opens (neverOpens), or a dialler not taking requests, and when. */
  private readonly neverOpensWarnedAt = new Map<string, number>();
  private readonly dialRefusedWarnedAt = new Map<string, number>();

  constructor(
    private readonly store: EventStore,
    private readonly settings: SettingsRepository,
    private readonly outbound: OutboundHttp,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly states: ContactStateCache,
    private readonly contacts: ContactsRepository,
  ) {}

  /**
   * Runs one due job. The delivery runs on its own (a slow receiver delays only its own job), between two grouped
   * writes.
   */
  async execute(
    job: ExecuteFollowUpPayload,
    { redelivered, slowOutside, runAgainAt }: Pick<JobContext, 'redelivered' | 'slowOutside' | 'runAgainAt'> = { redelivered: false },
  ): Promise<void> {
    const started = await this.writes.push({ kind: 'start', job, redelivered });
    if (started === NEVER_OPENS) return runAgainAt?.(this.clock.now().getTime() + NEVER_OPENS_RECHECK_MS);
    if (!started) return;
    try {
      const { settings } = started; // those the attempt started with, read once for the group
      const sentAt = performance.now();
      const outcome = await this.perform({ job, followUp: started.attempt, phone: started.state.phone, assignedAgentId: started.state.assignedAgentId, settings });
      // The receiver's time alone (not the grouped writes', which a busy database stretches for every organization).
      if (performance.now() - sentAt >= SLOW_DELIVERY_MS) slowOutside?.();
      if (outcome?.redial && runAgainAt && this.redialLater(job, started.attempt, settings, outcome, runAgainAt)) return;
      if (outcome) await this.writes.push({ kind: 'result', job, attempt: started.attempt, outcome, retryDelaySeconds: settings.retryDelaySeconds });
    } finally {
      this.performing.delete(attemptKey(started.attempt));
    }
  }

  /**
   * A dial request the dialler did not take for a reason that passes (it is restarting, overloaded, unreachable): the
   * attempt stays open and queued, and the same job sends the request again later under the same webhook-id (decideStart
   * resumes an attempt for a job that says `redial`), backing off, while the attempt has more than its redial margin
   * left at that time. SPEC §5 ends a dialled attempt with a call for it or its timeout; a dialler away for half an hour
   * used to fail an attempt a retry delay, and with the defaults a lead's callback, for every request it did not take.
   * False when no redial fits before the margin: the refusal is then the attempt's result, retried after the retry
   * delay as before, rather than left to wait out the rest of its timeout.
   */
  private redialLater(
    job: ExecuteFollowUpPayload,
    attempt: FollowUpState,
    settings: OrgSettings,
    outcome: Outcome,
    runAgainAt: NonNullable<JobContext['runAgainAt']>,
  ): boolean {
    const sent = (job.redial ?? 0) + 1;
    // not sooner than the dialler asked (Retry-After), if that still fits before the margin
    const at = this.clock.now().getTime() + Math.max(redialDelayMs(sent, settings.attemptTimeoutSeconds), outcome.retryAfterMs ?? 0);
    if (!timeLeftToRedial(attempt, new Date(at), settings)) return false;
    dialRequestsResent.inc();
    if (warnOncePerMinute(this.dialRefusedWarnedAt, job.orgId)) {
      this.logger.warn(
        { orgId: job.orgId, followUpId: job.followUpId, attempt: attempt.attempts, status: outcome.status ?? null, error: outcome.error, sentTimes: sent, againInMs: at - Date.now() },
        'the dialler did not take a dial request; sending it again (logged at most once a minute an organization; see follow_up_dial_requests_resent_total)',
      );
    }
    runAgainAt(at, { redial: sent, redialError: outcome.error ?? `status ${outcome.status}` });
    return true;
  }

  private async write(group: { item: Write; done: (r: Started) => void }[]): Promise<void> {
    const items = group.map((g) => g.item);
    const starts = items.filter((w) => w.kind === 'start');
    if (starts.length) groupSize.observe({ stage: 'start' }, starts.length);
    if (items.length > starts.length) groupSize.observe({ stage: 'result' }, items.length - starts.length);
    const settings = new Map<string, OrgSettings>();
    for (const orgId of new Set(starts.map((w) => w.job.orgId))) settings.set(orgId, await this.settings.getCached(orgId));
    const now = this.clock.now();
    // the starts last decided to wait for a window that never opens (a round decided again starts afresh)
    const neverOpen = new Set<Write>();
    const performed = await this.writeRounds(
      items,
      now,
      (state) => this.startFacts(starts.map((w) => ({ orgId: w.job.orgId, state: state(w.job.orgId, w.job.contactId), followUpId: w.job.followUpId }))),
      (state, w, windows) => {
        neverOpen.delete(w);
        return w.kind === 'start' ? this.decideStart(state, w, now, settings.get(w.job.orgId)!, windows, () => neverOpen.add(w)) : this.decideResult(state, w, now);
      },
    );
    const byItem = new Map(performed.map((a) => [a.item, a]));
    for (const g of group) {
      const a = byItem.get(g.item);
      g.done(a ? { attempt: a.attempt, state: a.state, settings: settings.get(g.item.job.orgId)! } : neverOpen.has(g.item) ? NEVER_OPENS : null);
    }
  }

  private decideStart(
    state: ContactState,
    { job, redelivered }: Extract<Write, { kind: 'start' }>,
    now: Date,
    s: OrgSettings,
    { windows, pools, active }: StartFacts,
    waitsForWindow: () => void,
  ): { events: ContactEvent[]; attempt?: FollowUpState } {
    const f = state.followUps.get(job.followUpId);
    if (!f || f.schedule !== job.schedule) return { events: [] };
    // Resume a crashed run, unless this process is performing the attempt right now. A webhook or SMS attempt is
    // open only while it is being delivered. A call attempt stays open (queued) after its dial request went out,
    // until a call or the timeout ends it, so only a job run again (its worker died or stalled, or recording the
    // result failed) or one jobs:reconcile made for it after Redis lost the first (`resume`) asks the dialler again:
    // whether the first request went out before the crash is unknown, and a dial request lost there would otherwise
    // leave the attempt waiting out its whole timeout for a call that never comes. The repeat has the same webhook-id,
    // which the dialler de-duplicates on, as webhook receivers do. Not outside the contact's calling window (unless
    // allowOutOfWindow): a dial request now would ring the lead at night. Nor with less than the redial margin of the
    // attempt's timeout left: its timeout job would fail it as the call comes, and the retry ring the lead again. Then
    // nothing is sent: the timeout fails the attempt, and its retry meets the window like any attempt. Nor for an
    // attempt that was not dialled (no dialler when it started: its agent calls), though a dialler was added since.
    // An SMS is bound by the window too (SPEC §5 step 2): resumed outside it, the decider defers its delivery to the
    // opening (the attempt stays open and counted), whose job sends it under the same webhook-id.
    const windowNow = () => checkWindow(now, state.timezone ?? s.timezone, effectiveWindow(s.callingWindow as CallingWindow, (f.campaignId && windows.get(f.campaignId)) || null));
    if (f.attemptOpen) {
      // this process is delivering it right now: its own result will land
      if (this.performing.has(attemptKey(f))) return { events: [] };
      // The decider starts no second attempt, but may end the follow-up instead of a resumption (an archived contact),
      // or defer an SMS's out of the window.
      const window = f.type === 'sms' ? toFollowUpWindowCheck(windowNow()) : NOT_APPLICABLE;
      const start: ContactCommand = { type: 'StartFollowUpAttempt', contactId: job.contactId, followUpId: f.id, schedule: job.schedule, now: now.toISOString(), window };
      const events = contactDecider.decide(start, state);
      if (events.length > 0) return { events };
      if (f.type === 'sms' && !f.allowOutOfWindow && !window.inWindow && window.nextOpening === null) {
        this.neverOpens(job, f);
        waitsForWindow();
      }
      // A redial that runs past the attempt's redial margin (it was planned inside it, but BullMQ took it up late, or put
      // it back for the fairness share): nothing is sent, and the last refusal is the attempt's result now, as when no
      // redial fits (redialLater), rather than the attempt waiting out its timeout.
      if (f.type === 'call' && job.redial !== undefined && f.status === 'queued' && wasDialled(f.attemptDialled, !!s.dialler.url) && !timeLeftToRedial(f, now, s)) {
        const refused: Outcome = { ok: false, error: job.redialError ?? 'the dialler did not take the dial request' };
        return { events: contactDecider.decide(this.attemptResult(job, f, refused, now, s.retryDelaySeconds), state) };
      }
      const resumable =
        f.type === 'webhook'
          ? f.status === 'in_progress'
          : f.type === 'sms'
            ? // in_progress, or scheduled: deferred to the window's opening, which has come; never out of the window
              (f.status === 'in_progress' || f.status === 'scheduled') && (f.allowOutOfWindow || window.inWindow)
            : f.status === 'queued' &&
              (redelivered || job.resume === true || job.redial !== undefined) &&
              wasDialled(f.attemptDialled, !!s.dialler.url) &&
              timeLeftToRedial(f, now, s) &&
              (f.allowOutOfWindow || windowNow().inWindow);
      return { events: [], attempt: resumable ? f : undefined };
    }
    if (f.status !== 'scheduled' && f.status !== 'snoozed') return { events: [] };
    // a twin of this job, decided in another group, is starting this very attempt
    if (this.performing.has(attemptKey({ ...f, attempts: f.attempts + 1 }))) return { events: [] };
    const command: ContactCommand = {
      type: 'StartFollowUpAttempt',
      contactId: job.contactId,
      followUpId: job.followUpId,
      schedule: job.schedule,
      now: now.toISOString(),
      // The calling window is for calls and texts to a person (SPEC §5); a webhook runs whenever it is due, so
      // its window (which the decider does not look at) is not worked out.
      window:
        f.type === 'webhook'
          ? NOT_APPLICABLE
          : toFollowUpWindowCheck(windowNow()),
      // Whom a call attempt is for (the dialler connects the call to that agent); texts and webhooks go to nobody.
      // Whether it is sent to a dialler, decided here from these settings and recorded on the attempt: its timeout job
      // and a resumed run follow that, not a dialler the admin adds or removes while it waits.
      ...(f.type === 'call'
        ? {
            dialled: !!s.dialler.url,
            // only agents still active: a departed one is passed over, as if the follow-up named nobody
            agentId: routeAttempt({
              ownAgentId: isActive(active, job.orgId, f.agentId),
              contactAgentId: isActive(active, job.orgId, state.assignedAgentId),
              pool: ((f.campaignId && pools.get(f.campaignId)) || []).filter((id) => isActive(active, job.orgId, id)),
              followUpId: f.id,
              attempt: f.attempts + 1,
            }),
          }
        : {}),
    };
    const events = contactDecider.decide(command, state);
    if (events.length === 0 && !f.allowOutOfWindow && command.window.nextOpening === null && !command.window.inWindow) {
      this.neverOpens(job, f);
      waitsForWindow();
    }
    const started = events.some((e) => e.type === FollowUpAttemptStarted);
    return { events, attempt: started ? events.reduce(contactDecider.evolve, state).followUps.get(job.followUpId) : undefined };
  }

  /**
   * A due call or text whose window never opens: its campaign's calling window has no time in common with the org's
   * (campaign creation refuses that, but the org's window may be changed after). It stays due in the hub, unsent, until
   * an agent acts on it or it expires: counted and logged (at most once a minute an org), so an operator finds out; its
   * job looks again every NEVER_OPENS_RECHECK_MS, so a window widened meanwhile sends it (or defers it to the opening).
   */
  private neverOpens(job: ExecuteFollowUpPayload, f: FollowUpState): void {
    windowNeverOpens.inc();
    if (!warnOncePerMinute(this.neverOpensWarnedAt, job.orgId)) return;
    this.logger.warn(
      { orgId: job.orgId, followUpId: f.id, campaignId: f.campaignId },
      "follow-up not sent: its campaign's calling window has no time in common with the organization's",
    );
  }

  private decideResult(state: ContactState, w: Extract<Write, { kind: 'result' }>, now: Date): { events: ContactEvent[] } {
    const { job, attempt, outcome, retryDelaySeconds } = w;
    return { events: contactDecider.decide(this.attemptResult(job, attempt, outcome, now, retryDelaySeconds), state) };
  }

  /** The command recording an attempt's outcome (a failure logged: an operator finds the tenant and receiver from the log alone). */
  private attemptResult(job: ExecuteFollowUpPayload, attempt: FollowUpState, o: Outcome, now: Date, retryDelaySeconds: number): ContactCommand {
    if (!o.ok) this.logger.warn({ orgId: job.orgId, followUpId: job.followUpId, type: attempt.type, attempt: attempt.attempts, status: o.status ?? null, error: o.error }, 'follow-up attempt failed');
    return {
      type: 'RecordFollowUpAttemptResult',
      contactId: job.contactId,
      followUpId: job.followUpId,
      attempt: attempt.attempts,
      schedule: openAttemptSchedule(attempt),
      success: o.ok,
      reason: o.ok ? null : (o.error ?? `status ${o.status}`),
      detail: o.ok ? `status ${o.status ?? ''}`.trim() : null,
      retryAt: new Date(now.getTime() + retryDelaySeconds * 1000).toISOString(),
      now: now.toISOString(),
    };
  }

  /**
   * Decides every job on a fresh read of its contact's stream (jobs of one contact in order, each on the state
   * the previous left), appends all in one transaction, and decides again what another writer raced.
   * Returns the jobs whose decision says an attempt is to be performed.
   */
  private async writeRounds<C>(
    items: Write[],
    now: Date,
    /** Runs once a round's states are read, before its decisions: what they need beyond the states. */
    prepare: (state: (orgId: string, contactId: string) => ContactState | undefined) => Promise<C>,
    decide: (state: ContactState, item: Write, prepared: C) => { events: ContactEvent[]; attempt?: FollowUpState },
  ): Promise<{ item: Write; attempt: FollowUpState; state: ContactState }[]> {
    const toPerform: { item: Write; attempt: FollowUpState; state: ContactState }[] = [];
    const contactKey = (w: Write) => `${w.job.orgId}|${w.job.contactId}`;
    // The attempts this call claimed (see `performing`) and still holds: given up when not appended, all of them
    // when the call fails (its jobs are retried, and resume what was appended).
    const claimed = new Set<string>();
    const claim = (f: FollowUpState) => {
      this.performing.add(attemptKey(f));
      claimed.add(attemptKey(f));
    };
    const unclaim = (f: FollowUpState | undefined) => {
      if (!f || !claimed.delete(attemptKey(f))) return;
      this.performing.delete(attemptKey(f));
    };
    let pending = items;
    try {
      for (let round = 1; pending.length > 0; round++) {
        if (round > MAX_ROUNDS) throw new Error(`follow-ups of ${pending.length} contact(s) keep changing; the jobs will be retried`);
        const byContact = groupBy(pending, contactKey);
        const requests: { orgId: string; request: AppendRequest; contactKey: string; item: Write; attempt?: FollowUpState; state: ContactState }[] = [];
        const statesByOrg = new Map<string, Map<string, { state: ContactState; version: number }>>();
        for (const orgId of new Set(pending.map((w) => w.job.orgId))) {
          const ids = [...new Set(pending.filter((w) => w.job.orgId === orgId).map((w) => w.job.contactId))];
          statesByOrg.set(orgId, await this.states.load(orgId, ids));
        }
        const prepared = await prepare((orgId, contactId) => statesByOrg.get(orgId)?.get(contactId)?.state);
        for (const [key, group] of byContact) {
          let { state, version } = statesByOrg.get(group[0].job.orgId)!.get(group[0].job.contactId)!;
          for (const item of group) {
            const { job } = item;
            const { events, attempt } = decide(state, item, prepared);
            // claimed before the append, so no other group can find it open and unclaimed
            if (attempt) claim(attempt);
            if (events.length === 0) {
              if (attempt) toPerform.push({ item, attempt, state });
              continue;
            }
            requests.push({ orgId: job.orgId, contactKey: key, item, attempt, state, request: { streamId: contactStream(job.contactId), expectedVersion: version, events } });
            state = events.reduce(contactDecider.evolve, state);
            version += events.length;
          }
        }
        const retry = new Set<string>();
        for (const orgId of new Set(requests.map((r) => r.orgId))) {
          const mine = requests.filter((r) => r.orgId === orgId);
          const outcomes = await this.store.appendMany(
            mine.map((r) => r.request),
            // The decisions' instant, from which a failure's retryAt counts: the retry then comes retryDelaySeconds
            // after the failure event's time, however long the append itself waited.
            { orgId, actorId: null, occurredAt: now.toISOString() },
          );
          outcomes.forEach((o, i) => {
            const r = mine[i];
            if (retry.has(r.contactKey)) return unclaim(r.attempt);
            if (o.outcome === 'ok') {
              if (r.attempt) toPerform.push({ item: r.item, attempt: r.attempt, state: r.state });
            } else {
              unclaim(r.attempt);
              if (o.outcome === 'conflict' || o.outcome === 'replayed') retry.add(r.contactKey);
            }
          });
        }
        pending = pending.filter((w) => retry.has(contactKey(w)));
      }
    } catch (err) {
      for (const key of claimed) this.performing.delete(key);
      throw err;
    }
    return toPerform;
  }

  private async perform(a: Attempt): Promise<Outcome | null> {
    const { job, followUp: f, settings } = a;
    const messageId = messageIdOf(f);
    // What every request says of the follow-up (docs/operations.md, "Outbound requests"): a dialler orders its calls by
    // priority and shows the agent the notes.
    const common = {
      followUpId: f.id,
      contactId: job.contactId,
      attempt: f.attempts,
      maxAttempts: f.maxAttempts,
      scheduledAt: f.scheduledAt,
      priority: f.priority,
      campaignId: f.campaignId,
    };
    switch (f.type) {
      case 'webhook':
        return this.outbound.post(job.orgId, { url: f.url ?? '', messageId, body: { type: 'follow_up.due', ...common, notes: f.notes ?? null } });
      case 'sms': {
        if (!settings.sms.url) return { ok: false, error: 'no SMS provider configured' };
        return this.outbound.post(job.orgId, { url: settings.sms.url, messageId, body: { type: 'sms.send', ...common, to: a.phone, message: f.message ?? '' } });
      }
      case 'call': {
        // Queued: the contact shows in its agent's hub anyway. Dialled (the start said so), ask the dialler to dial;
        // the attempt then ends with the next call for it or with the timeout job. Not dialled, the agent's call ends it.
        // An attempt that did not record it (started before it was) goes by the settings, as it always did.
        // (dialled, but resumed after the dialler was removed: nothing to ask; its timeout job fails it)
        if (!wasDialled(f.attemptDialled, !!settings.dialler.url) || !settings.dialler.url) return null;
        // The agent the attempt was routed to (routeAttempt); an attempt recorded before routing was: the follow-up's
        // own agent, else the contact's. null leaves the choice to the dialler.
        const agentId = f.attemptAgentId !== undefined ? f.attemptAgentId : (f.agentId ?? a.assignedAgentId);
        const dial = await this.outbound.post(job.orgId, { url: settings.dialler.url, messageId, body: { type: 'call.dial', ...common, to: a.phone, agentId, notes: f.notes ?? null } });
        return dial.ok ? null : { ...dial, redial: mayPassOnRetry(dial) };
      }
      default:
        return null;
    }
  }

  /**
   * The calling windows and agent pools of the campaigns of the call and SMS follow-ups about to start, and which of
   * the agents their call attempts may be routed to are still active (a webhook keeps no window and is for nobody):
   * no query at all for a group of webhooks.
   */
  private async startFacts(starts: { orgId: string; state: ContactState | undefined; followUpId: string }[]): Promise<StartFacts> {
    const facts: StartFacts = { windows: new Map(), pools: new Map(), active: new Map() };
    const followUps = starts.flatMap(({ orgId, state, followUpId }) => {
      const f = state?.followUps.get(followUpId);
      return f && f.type !== 'webhook' ? [{ orgId, f, contactAgentId: state!.assignedAgentId }] : [];
    });
    const ids = [...new Set(followUps.flatMap(({ f }) => (f.campaignId ? [f.campaignId] : [])))];
    if (ids.length > 0) {
      const { rows } = await this.db.query<{ id: string; calling_window: CallingWindow | null; agent_pool: string[] }>(
        'SELECT id, calling_window, agent_pool FROM campaigns WHERE id = ANY ($1::uuid[]) AND (calling_window IS NOT NULL OR cardinality(agent_pool) > 0)',
        [ids],
      );
      for (const r of rows) {
        if (r.calling_window) facts.windows.set(r.id, r.calling_window);
        if (r.agent_pool.length > 0) facts.pools.set(r.id, r.agent_pool);
      }
    }
    const candidates = new Map<string, string[]>();
    for (const { orgId, f, contactAgentId } of followUps) {
      if (f.type !== 'call') continue;
      const mine = candidates.get(orgId) ?? candidates.set(orgId, []).get(orgId)!;
      for (const id of [f.agentId, contactAgentId, ...((f.campaignId && facts.pools.get(f.campaignId)) || [])]) if (id) mine.push(id);
    }
    facts.active = await this.contacts.activeStaffOfOrgs(candidates);
    return facts;
  }
}

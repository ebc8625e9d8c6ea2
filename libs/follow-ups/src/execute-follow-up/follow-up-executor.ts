import { Injectable, Logger } from '@nestjs/common';
import { Clock, Database, GroupQueue } from '@app/shared';
import { AppendRequest, EventStore } from '@app/event-store';
import { OrgSettings, OutboundHttp, SettingsRepository } from '@app/settings';
import {
  ContactStateCache,
  CallingWindow,
  checkWindow,
  ContactCommand,
  contactDecider,
  ContactEvent,
  ContactState,
  contactStream,
  effectiveWindow,
  FollowUpAttemptStarted,
  FollowUpState,
  toFollowUpWindowCheck,
} from '@app/contacts';
import { Histogram } from 'prom-client';
import { ExecuteFollowUpPayload } from '../follow-up.jobs';

const MAX_ROUNDS = 8;
const NOT_APPLICABLE = { inWindow: true, nextOpening: null };
/**
 * Appends of each stage at once. Two, not more: a burst of due jobs then forms groups of ~50 (with
 * WORKER_CONCURRENCY 400) instead of ~8, and each append costs Postgres about the same whatever its size
 * (bench:worker: 295 executions/s with 4 in flight and 100 jobs, 525 with 2 and 400).
 */
const IN_FLIGHT = 2;

const groupSize = new Histogram({
  name: 'follow_up_execution_group_size',
  help: 'Due follow-ups whose attempts were started, or results recorded, together (one read, one append)',
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

interface Outcome {
  ok: boolean;
  error: string | null;
  status?: number | null;
}

/**
 * SPEC §5 execution, for many due follow-ups at once, in three stages: the attempts of the jobs that arrive
 * together are counted (or deferred, outside the calling window) with one read of their contacts' streams and
 * one append (fu_append_many); each delivery then runs on its own; the results that finish together are
 * recorded with one more read and append. Groups form without a timer (GroupQueue): a lone job runs at once.
 * A contact another writer changed meanwhile is decided again on a fresh read. Each job is decided on its own exactly as alone: stale jobs (another schedule,
 * or a follow-up no longer waiting) do nothing; attempts are counted in the event stream, never by BullMQ; a
 * job run again after a crash finds its attempt open and performs it again with the same message id.
 */
@Injectable()
export class FollowUpExecutor {
  private readonly logger = new Logger(FollowUpExecutor.name);
  /** Stage 1: count the attempts (or defer), one append per group. Resolves with what each job must perform. */
  private readonly starts = new GroupQueue<ExecuteFollowUpPayload, { attempt: FollowUpState; state: ContactState } | null>(
    (group) => this.start(group),
    200,
    IN_FLIGHT,
    (n) => groupSize.observe({ stage: 'start' }, n),
  );

  /** Stage 3: record the results, one append per group. */
  private readonly results = new GroupQueue<{ job: ExecuteFollowUpPayload; attempt: FollowUpState; outcome: Outcome; retryDelaySeconds: number }, void>(
    (group) => this.record(group),
    200,
    IN_FLIGHT,
    (n) => groupSize.observe({ stage: 'result' }, n),
  );

  constructor(
    private readonly store: EventStore,
    private readonly settings: SettingsRepository,
    private readonly outbound: OutboundHttp,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly states: ContactStateCache,
  ) {}

  /**
   * Runs one due job. Stage 2, the delivery, runs on its own (a slow receiver delays only its own job), between
   * two grouped appends.
   */
  async execute(job: ExecuteFollowUpPayload): Promise<void> {
    const started = await this.starts.push(job);
    if (!started) return;
    const settings = await this.settings.getCached(job.orgId);
    const outcome = await this.perform({ job, followUp: started.attempt, phone: started.state.phone, assignedAgentId: started.state.assignedAgentId, settings });
    if (outcome) await this.results.push({ job, attempt: started.attempt, outcome, retryDelaySeconds: settings.retryDelaySeconds });
  }

  private async start(group: { item: ExecuteFollowUpPayload; done: (r: { attempt: FollowUpState; state: ContactState } | null) => void }[]): Promise<void> {
    const jobs = group.map((g) => g.item);
    const settings = new Map<string, OrgSettings>();
    for (const orgId of new Set(jobs.map((j) => j.orgId))) settings.set(orgId, await this.settings.getCached(orgId));
    const windows = await this.campaignWindows(jobs);
    const now = this.clock.now();
    const attempts = await this.writeRounds(jobs, (state, job) => {
      const f = state.followUps.get(job.followUpId);
      if (!f || f.schedule !== job.schedule) return { events: [] };
      if (f.attemptOpen) return { events: [], attempt: f.status === 'in_progress' ? f : undefined }; // resume a crashed run
      if (f.status !== 'scheduled' && f.status !== 'snoozed') return { events: [] };
      const s = settings.get(job.orgId)!;
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
            : toFollowUpWindowCheck(checkWindow(now, state.timezone, effectiveWindow(s.callingWindow as CallingWindow, (f.campaignId && windows.get(f.campaignId)) || null))),
      };
      const events = contactDecider.decide(command, state);
      const started = events.some((e) => e.type === FollowUpAttemptStarted);
      return { events, attempt: started ? events.reduce(contactDecider.evolve, state).followUps.get(job.followUpId) : undefined };
    });
    const byJob = new Map(attempts.map((a) => [a.job, a]));
    for (const g of group) {
      const a = byJob.get(g.item);
      g.done(a ? { attempt: a.attempt, state: a.state } : null);
    }
  }

  private async record(group: { item: { job: ExecuteFollowUpPayload; attempt: FollowUpState; outcome: Outcome; retryDelaySeconds: number }; done: () => void }[]): Promise<void> {
    const byId = new Map(group.map((g) => [g.item.job.followUpId, g.item]));
    const later = this.clock.now();
    await this.writeRounds(
      group.map((g) => g.item.job),
      (state, job) => {
        const { attempt, outcome: o, retryDelaySeconds } = byId.get(job.followUpId)!;
        if (!o.ok) this.logger.warn({ followUpId: job.followUpId, attempt: attempt.attempts, error: o.error }, 'follow-up attempt failed');
        const command: ContactCommand = {
          type: 'RecordFollowUpAttemptResult',
          contactId: job.contactId,
          followUpId: job.followUpId,
          attempt: attempt.attempts,
          success: o.ok,
          reason: o.ok ? null : (o.error ?? `status ${o.status}`),
          detail: o.ok ? `status ${o.status ?? ''}`.trim() : null,
          retryAt: new Date(later.getTime() + retryDelaySeconds * 1000).toISOString(),
        };
        return { events: contactDecider.decide(command, state) };
      },
    );
    group.forEach((g) => g.done());
  }

  /**
   * Decides every job on a fresh read of its contact's stream (jobs of one contact in order, each on the state
   * the previous left), appends all in one transaction, and decides again what another writer raced.
   * Returns the jobs whose decision says an attempt is to be performed.
   */
  private async writeRounds(
    jobs: ExecuteFollowUpPayload[],
    decide: (state: ContactState, job: ExecuteFollowUpPayload) => { events: ContactEvent[]; attempt?: FollowUpState },
  ): Promise<{ job: ExecuteFollowUpPayload; attempt: FollowUpState; state: ContactState }[]> {
    const toPerform: { job: ExecuteFollowUpPayload; attempt: FollowUpState; state: ContactState }[] = [];
    let pending = jobs;
    for (let round = 1; pending.length > 0; round++) {
      if (round > MAX_ROUNDS) throw new Error(`follow-ups of ${pending.length} contact(s) keep changing; the jobs will be retried`);
      const byContact = new Map<string, ExecuteFollowUpPayload[]>();
      for (const j of pending) byContact.set(`${j.orgId}|${j.contactId}`, [...(byContact.get(`${j.orgId}|${j.contactId}`) ?? []), j]);
      const requests: { orgId: string; request: AppendRequest; contactKey: string; job: ExecuteFollowUpPayload; attempt?: FollowUpState; state: ContactState }[] = [];
      const statesByOrg = new Map<string, Map<string, { state: ContactState; version: number }>>();
      for (const orgId of new Set(pending.map((j) => j.orgId))) {
        const ids = [...new Set(pending.filter((j) => j.orgId === orgId).map((j) => j.contactId))];
        statesByOrg.set(orgId, await this.states.load(orgId, ids));
      }
      for (const [key, group] of byContact) {
        let { state, version } = statesByOrg.get(group[0].orgId)!.get(group[0].contactId)!;
        for (const job of group) {
          const { events, attempt } = decide(state, job);
          if (events.length === 0) {
            if (attempt) toPerform.push({ job, attempt, state });
            continue;
          }
          requests.push({ orgId: job.orgId, contactKey: key, job, attempt, state, request: { streamId: contactStream(job.contactId), expectedVersion: version, events } });
          state = events.reduce(contactDecider.evolve, state);
          version += events.length;
        }
      }
      const retry = new Set<string>();
      for (const orgId of new Set(requests.map((r) => r.orgId))) {
        const mine = requests.filter((r) => r.orgId === orgId);
        const outcomes = await this.store.appendMany(
          mine.map((r) => r.request),
          { orgId, actorId: null, occurredAt: this.clock.now().toISOString() },
        );
        outcomes.forEach((o, i) => {
          const r = mine[i];
          if (retry.has(r.contactKey)) return;
          if (o.outcome === 'ok') {
            if (r.attempt) toPerform.push({ job: r.job, attempt: r.attempt, state: r.state });
          } else if (o.outcome === 'conflict' || o.outcome === 'replayed') retry.add(r.contactKey);
        });
      }
      pending = pending.filter((j) => retry.has(`${j.orgId}|${j.contactId}`));
    }
    return toPerform;
  }

  private async perform(a: Attempt): Promise<Outcome | null> {
    const { job, followUp: f, settings } = a;
    // Stable across re-runs of this attempt (receivers drop the repeat), new for every attempt: a withdrawn
    // attempt's number can come again, but never with the same schedule.
    const messageId = `${f.id}.${f.schedule}.${f.attempts}`;
    const common = { followUpId: f.id, contactId: job.contactId, attempt: f.attempts, maxAttempts: f.maxAttempts, scheduledAt: f.scheduledAt };
    switch (f.type) {
      case 'webhook':
        return this.outbound.post(job.orgId, { url: f.url ?? '', messageId, body: { type: 'follow_up.due', ...common, notes: f.notes ?? null } });
      case 'sms': {
        if (!settings.sms.url) return { ok: false, error: 'no SMS provider configured' };
        return this.outbound.post(job.orgId, { url: settings.sms.url, messageId, body: { type: 'sms.send', ...common, to: a.phone, message: f.message ?? '' } });
      }
      case 'call': {
        // Queued: the contact shows in its agent's hub anyway. With a dialler, ask it to dial; the attempt then
        // ends with the next call for it or with the timeout job. Without one, the agent's call ends it.
        if (!settings.dialler.url) return null;
        // SPEC §5 routing at execution: the follow-up's own agent, else (inherit) the contact's current one, which
        // after an auto reassignment is the new owner; null leaves the choice to the dialler.
        const agentId = f.agentId ?? a.assignedAgentId;
        const dial = await this.outbound.post(job.orgId, { url: settings.dialler.url, messageId, body: { type: 'call.dial', ...common, to: a.phone, agentId } });
        return dial.ok ? null : dial;
      }
      default:
        return null;
    }
  }

  private async campaignWindows(jobs: ExecuteFollowUpPayload[]): Promise<Map<string, CallingWindow>> {
    const { rows } = await this.db.query<{ id: string; calling_window: CallingWindow | null }>(
      `SELECT c.id, c.calling_window FROM campaigns c JOIN follow_ups f ON f.campaign_id = c.id
        WHERE f.id = ANY ($1::uuid[]) AND c.calling_window IS NOT NULL`,
      [jobs.map((j) => j.followUpId)],
    );
    return new Map(rows.map((r) => [r.id, r.calling_window!]));
  }
}

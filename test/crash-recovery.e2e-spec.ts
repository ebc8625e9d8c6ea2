import { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import { ALWAYS_OPEN, consumersCaughtUp, createTestDatabase, eventually, followUpEvents, FollowUpView, HttpSink, readFollowUp, requestsFor, runTs, scheduleFollowUp, Send, sinkPool, SinkRequest, spawnTs, startHttpSink, startPrivateRedis, testEnvironment, TimelineEntry } from '@app/testing';

/**
 * Crash and Redis-loss recovery with the service as real processes (SPEC §1: "correct under retries, crashes and
 * hostile input"; "Redis holds only what can be rebuilt from PostgreSQL"): an API process and a worker process on
 * this file's database and a private redis-server (so it may be flushed), SIGKILLed (not shut down) at the worst
 * moments, and the operator's recovery path (`jobs:reconcile`) run as the CLI process docs/operations.md names.
 * What is asserted is what users and receivers see: the follow-ups through the API, their timelines, what the local
 * HTTP receivers were sent. No timing thresholds: only generous waits for a state.
 */

jest.setTimeout(240_000);

type FollowUp = FollowUpView;
type Entry = TimelineEntry;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });

/** One process of the service (the built entry points, run by ts-node as processes.e2e-spec does). */
interface ServiceProcess {
  readonly url: string;
  readonly proc: ChildProcess;
  output(): string;
  /** SIGKILL: no shutdown hook runs, nothing is flushed or closed. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

async function startService(role: 'api' | 'worker', env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const entry = role === 'api' ? 'apps/api/src/main.ts' : 'apps/worker/src/main.ts';
  const proc = spawnTs(entry, role === 'api' ? ['--api-only'] : [], { ...env, PORT: String(port) });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(async () => {
      if (proc.exitCode !== null) throw Object.assign(new Error(`${role} exited ${proc.exitCode}: ${out}`), { fatal: true });
      const res = await fetch(`${url}/health/ready`);
      if (res.status !== 200) throw new Error(`${role} not ready: ${res.status}`);
    }, 120_000, 200);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    proc,
    output: () => out,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

const CLI = 'apps/cli/src/main.ts';

describe('crash and Redis-loss recovery with real processes (SPEC §1, §5, §9)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let env: Record<string, string>;
  let pg: Client;
  let api: ServiceProcess;
  let worker: ServiceProcess | null = null;
  const sinks = sinkPool();
  const processes: ServiceProcess[] = [];

  const spawnService = async (role: 'api' | 'worker') => {
    const p = await startService(role, env);
    processes.push(p);
    return p;
  };
  const cli = async (...args: string[]) => {
    const r = await runTs(CLI, args, env);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return JSON.parse(r.stdout);
  };
  const sink = () => sinks.open();

  /** Every response a client got from the service: SPEC §9, never a 5xx for anything a client sent. */
  const seen: { req: string; status: number; body: unknown }[] = [];
  const send = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    seen.push({ req: `${method} ${path}`, status: res.status, body: parsed });
    return { status: res.status, body: parsed };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    env = testEnvironment(database, { REDIS_URL: redis.url, LOG_LEVEL: 'error', EXPIRY_INTERVAL_MS: '1000' });
    pg = new Client({ connectionString: database.url });
    await pg.connect();
    // One organization, made by the CLI as an operator does, while the API boots (each process takes a while to load).
    const [made] = await Promise.all([cli('org:create', '--name', 'Crash test org'), spawnService('api').then((p) => (api = p))]);
    const agent = await send('POST', '/api/users', made.adminKey, { name: 'Ana', role: 'agent' });
    expect(agent.status).toBe(201);
    org = { orgId: made.orgId, admin: made.adminKey, agentId: agent.body.id };
  });
  afterAll(async () => {
    for (const p of processes) await p.kill().catch(() => undefined);
    await sinks.closeAll();
    for (const q of queues) await q.close();
    await pg?.end();
    await redis?.stop();
    await database?.drop();
  });

  type Org = { orgId: string; admin: string; agentId: string };
  let org: Org;
  /**
   * The org's settings for a scenario (the scenarios run one after the other): window always open, http allowed to
   * local receivers, then `settings`. Processes trust settings they read for up to a second, hence the wait.
   */
  const setupOrg = async (settings: Record<string, unknown> = {}): Promise<Org> => {
    const patched = await send('PATCH', '/api/settings', org.admin, {
      webhooks: { allowHttpHosts: ['127.0.0.1'] },
      retryDelaySeconds: 1,
      attemptTimeoutSeconds: 3600,
      callingWindow: ALWAYS_OPEN,
      dialler: { url: null },
      autoAssignment: { enabled: false },
      ...settings,
    });
    expect({ status: patched.status, body: patched.body }).toMatchObject({ status: 200 });
    await sleep(1500);
    return org;
  };

  let phoneSeq = 1000;
  const createContact = async (o: Org, body: Record<string, unknown> = {}) => {
    const res = await send('POST', '/api/contacts', o.admin, {
      name: `Lead ${phoneSeq}`,
      phone: `+1415559${String(phoneSeq++).padStart(4, '0')}`,
      assignedAgentId: o.agentId,
      timezone: 'UTC',
      ...body,
    });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body.id as string;
  };
  /** The shared follow-up fixtures over this file's fetch client (methods upper case, as HTTP writes them). */
  const http: Send = (method, path, key, body) => send(method.toUpperCase(), path, key, body);
  const schedule = (o: Org, contactId: string, body: Record<string, unknown>) => scheduleFollowUp(http, o.admin, contactId, body);
  const followUp = (o: Org, id: string) => readFollowUp(http, o.admin, id);
  const eventsOf = (o: Org, contactId: string, followUpId: string) => followUpEvents(http, o.admin, contactId, followUpId);
  const queues: Queue[] = [];
  const followUpsQueue = () => {
    const q = new Queue('follow-ups', { connection: { host: '127.0.0.1', port: Number(new URL(redis.url).port) }, prefix: database.name });
    queues.push(q);
    return q;
  };
  const forFollowUp = requestsFor;

  /**
   * SPEC §5 over one follow-up's timeline: each attempt starts while none is open and gets at most one result; the
   * number of attempts started is the follow-up's `attempts`; the receiver was sent each started attempt, and nothing
   * else, under the webhook-id of its due time (`<followUp>.<schedule>`: 1, or the schedule of the last snooze or
   * reschedule before it), which re-sends and retries share and Standard Webhooks receivers de-duplicate on.
   */
  const expectConsistent = async (o: Org, f: FollowUp, receiver: HttpSink) => {
    const events = await eventsOf(o, f.contactId, f.id);
    const now = await followUp(o, f.id);
    const starts = events.filter((e) => e.kind === 'follow_up_attempt_started');
    const results = events.filter((e) => e.kind === 'follow_up_attempt_succeeded' || e.kind === 'follow_up_attempt_failed');
    const describeIt = { id: f.id, timeline: events.map((e) => `${e.kind} ${JSON.stringify(e.data)}`) };
    expect({ ...describeIt, attempts: now.attempts }).toEqual({ ...describeIt, attempts: starts.length });
    // one result per attempt, for that attempt
    expect({ ...describeIt, results: results.map((e) => e.data.attempt) }).toEqual({ ...describeIt, results: starts.map((e) => e.data.attempt) });
    let occurrence = 1;
    const expected: string[] = [];
    for (const e of events) {
      if (e.kind === 'follow_up_snoozed' || e.kind === 'follow_up_rescheduled') occurrence = e.data.schedule;
      if (e.kind === 'follow_up_attempt_started') expected.push(`${f.id}.${occurrence} attempt ${e.data.attempt}`);
    }
    const sent = [...new Set(forFollowUp(receiver, f.id).map((r) => `${r.headers['webhook-id']} attempt ${r.body.attempt}`))];
    expect({ ...describeIt, sent }).toEqual({ ...describeIt, sent: expected });
    return { events, now, starts };
  };

  describe('the worker is SIGKILLed while webhooks and dial requests are in flight', () => {
    it('should end every follow-up once a fresh worker runs: attempts counted as delivered, re-sends under the same webhook-id', async () => {
      const dialler = await sink();
      dialler.hold();
      const o = await setupOrg({ retryDelaySeconds: 2, dialler: { url: `${dialler.url}/dial` } });
      const hook = await sink();
      hook.hold();
      const contacts = await Promise.all(Array.from({ length: 10 }, () => createContact(o)));
      const N = 30;
      const fus: FollowUp[] = [];
      for (let i = 0; i < N; i++) fus.push(await schedule(o, contacts[i % contacts.length], { type: 'webhook', url: `${hook.url}/h`, scheduledAt: iso(-1000), maxAttempts: 3 }));
      const calls: FollowUp[] = [];
      for (let i = 0; i < 5; i++) calls.push(await schedule(o, contacts[i], { type: 'call', scheduledAt: iso(-1000), maxAttempts: 3 }));

      worker = await spawnService('worker');
      // every follow-up's first delivery is held open by the receiver, and every call's dial request by the dialler
      await eventually(() => expect(new Set(hook.requests.map((r) => r.body?.followUpId)).size).toBe(N), 60_000, 50);
      await eventually(() => expect(new Set(dialler.requests.map((r) => r.body?.followUpId)).size).toBe(calls.length), 60_000, 50);
      // a third are answered 200 and a sixth 500 just before the crash, the rest stay in flight
      hook.requests.slice(0, 10).forEach((r) => r.release(200));
      hook.requests.slice(10, 15).forEach((r) => r.release(500));
      await worker.kill();

      hook.respondWith(200);
      dialler.respondWith(200);
      worker = await spawnService('worker');
      // BullMQ hands the killed worker's jobs out again once their locks expire (30 s)
      await eventually(async () => {
        for (const f of fus) expect({ id: f.id, status: (await followUp(o, f.id)).status }).toEqual({ id: f.id, status: 'completed' });
      }, 150_000, 500);
      for (const f of fus) await expectConsistent(o, f, hook);
      // The dial requests whose answer the crash lost went out again, for the same attempt under the same webhook-id
      // (which the dialler de-duplicates on): the dialler may never have had the first, and the attempt would
      // otherwise wait out its hour-long timeout for a call that never comes.
      await eventually(() => {
        for (const f of calls) expect({ id: f.id, dials: forFollowUp(dialler, f.id).length }).toEqual({ id: f.id, dials: 2 });
      }, 60_000, 200);
      for (const f of calls) {
        // still waiting for the dialler's call: one attempt, counted once, no result yet
        expect({ ...(await followUp(o, f.id)), id: f.id }).toMatchObject({ id: f.id, status: 'queued', attempts: 1 });
        const kinds = (await eventsOf(o, f.contactId, f.id)).map((e) => e.kind).filter((k) => k.startsWith('follow_up_attempt'));
        expect({ id: f.id, kinds }).toEqual({ id: f.id, kinds: ['follow_up_attempt_started'] });
        expect({ id: f.id, sent: forFollowUp(dialler, f.id).map((r) => r.headers['webhook-id']) }).toEqual({ id: f.id, sent: [`${f.id}.1.1`, `${f.id}.1.1`] });
        // the dialler's call ends it, so that nothing of this scenario is still pending in the next ones
        const call = await send('POST', '/api/calls', o.admin, {
          callId: randomUUID(), contactId: f.contactId, agentId: o.agentId, direction: 'outbound', status: 'Called', durationSec: 30, followUpId: f.id, startedAt: new Date().toISOString(),
        });
        expect({ id: f.id, status: call.status, body: call.body }).toMatchObject({ id: f.id, status: 201, body: { status: 'accepted' } });
        expect({ ...(await followUp(o, f.id)), id: f.id }).toMatchObject({ id: f.id, status: 'completed', attempts: 1 });
      }
      expect(await followUpsQueue().getJobCounts('failed', 'active', 'wait')).toEqual({ failed: 0, active: 0, wait: 0 });
    });
  });

  describe('Redis loses its data while work is pending and a worker has crashed', () => {
    it('should bring back every due job with jobs:reconcile: each next attempt at its time, once; timeouts and reassignments still happen', async () => {
      const DELAY_S = 25;
      worker ??= await spawnService('worker');
      const hookS = await sink(); // scheduled, due later
      const hookR = await sink(); // failed once, retrying
      const hookI = await sink(); // in flight when the worker died
      const dialler = await sink();
      hookR.respondWith(500);
      hookI.hold();
      const o = await setupOrg({
        retryDelaySeconds: DELAY_S,
        attemptTimeoutSeconds: DELAY_S,
        dialler: { url: `${dialler.url}/dial` },
        autoAssignment: { enabled: true, delaySeconds: DELAY_S, statuses: ['Not Picked', 'Missed'], strategy: 'round_robin', scope: 'org', maxReassignments: 3 },
      });
      const ben = await send('POST', '/api/users', o.admin, { name: 'Ben', role: 'agent' });
      expect(ben.status).toBe(201);
      const tomorrow = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date().getUTCDay() + 1) % 7];
      const campaign = await send('POST', '/api/campaigns', o.admin, { name: 'Tomorrow only', callingWindow: { days: [tomorrow], start: '00:00', end: '23:59' } });
      expect(campaign.status).toBe(201);

      const c = await createContact(o);
      const dialled = await createContact(o);
      const lead = await createContact(o); // no follow-up of its own: a call follow-up would make it Followups (SPEC §4)
      const deferredContact = await createContact(o, { campaignId: campaign.body.id });
      const fS = await schedule(o, c, { type: 'webhook', url: `${hookS.url}/s`, scheduledAt: iso(40_000) });
      const fR = await schedule(o, c, { type: 'webhook', url: `${hookR.url}/r`, scheduledAt: iso(-1000), maxAttempts: 3 });
      const fI = await schedule(o, c, { type: 'webhook', url: `${hookI.url}/i`, scheduledAt: iso(-1000), maxAttempts: 3 });
      const fT = await schedule(o, dialled, { type: 'call', scheduledAt: iso(-1000), maxAttempts: 1 });
      const fD = await schedule(o, deferredContact, { type: 'call', scheduledAt: iso(-1000) });
      const call = await send('POST', '/api/calls', o.admin, {
        callId: randomUUID(), contactId: lead, agentId: o.agentId, direction: 'outbound', status: 'Busy', durationSec: 0, startedAt: new Date().toISOString(),
      });
      expect({ status: call.status, body: call.body }).toMatchObject({ status: 201, body: { status: 'accepted' } });
      expect((await send('GET', `/api/contacts/${lead}`, o.admin)).body).toMatchObject({ leadStatus: 'Not Picked', assignedAgentId: o.agentId });
      const reassignments = async () => ((await send('GET', `/api/contacts/${lead}/timeline?limit=200`, o.admin)).body.entries as Entry[]).filter((e) => e.kind === 'reassigned').length;
      const reassignedBefore = await reassignments();

      // every state a follow-up can wait in: retrying, dialled (awaiting the timeout), deferred by the window, in flight
      const retrying = await eventually(async () => {
        const f = await followUp(o, fR.id);
        expect(f).toMatchObject({ status: 'scheduled', attempts: 1, nextAttemptAt: expect.any(String) });
        return f;
      }, 60_000, 100);
      await eventually(async () => expect(await followUp(o, fT.id)).toMatchObject({ status: 'queued', attempts: 1 }), 60_000, 100);
      await eventually(() => expect(forFollowUp(dialler, fT.id)).toHaveLength(1), 60_000, 50);
      const deferred = await eventually(async () => {
        const f = await followUp(o, fD.id);
        expect(f).toMatchObject({ status: 'scheduled', attempts: 0, nextAttemptAt: expect.any(String) });
        expect(f.nextAttemptAt).not.toBe(fD.scheduledAt);
        return f;
      }, 60_000, 100);
      await eventually(() => expect(forFollowUp(hookI, fI.id)).toHaveLength(1), 60_000, 50);
      expect(await followUp(o, fI.id)).toMatchObject({ status: 'in_progress', attempts: 1 });
      // The worker dies with the delivery in flight, and Redis loses everything (a failover without persistence).
      await worker!.kill();
      const flusher = new Redis(redis.url);
      await flusher.flushall();
      flusher.disconnect();
      hookR.respondWith(200);
      hookI.respondWith(200);
      worker = await spawnService('worker');
      // The operator's recovery (docs/operations.md): start the service as usual, then run jobs:reconcile.
      const reconciled = await cli('jobs:reconcile');
      expect(reconciled.jobs).toBeGreaterThanOrEqual(5);
      const deferredJob = await eventually(async () => {
        const job = await followUpsQueue().getJob(`fu-exec.${fD.id}.${(await eventsOf(o, deferredContact, fD.id)).filter((e) => e.kind === 'follow_up_deferred').at(-1)!.data.schedule}`);
        expect(job).toBeTruthy();
        return job!;
      });
      // due at the window's opening (BullMQ keeps it as the enqueue instant plus a delay, so give or take a moment)
      expect(Math.abs(deferredJob.timestamp + (deferredJob.opts.delay ?? 0) - Date.parse(deferred.nextAttemptAt!))).toBeLessThan(1000);

      await eventually(async () => expect(await followUp(o, fS.id)).toMatchObject({ status: 'completed', attempts: 1 }), 90_000, 200);
      await eventually(async () => expect(await followUp(o, fR.id)).toMatchObject({ status: 'completed', attempts: 2 }), 90_000, 200);
      await eventually(async () => expect(await followUp(o, fI.id)).toMatchObject({ status: 'completed', attempts: 1 }), 90_000, 200);
      await eventually(async () => expect(await followUp(o, fT.id)).toMatchObject({ status: 'failed', attempts: 1 }), 90_000, 200);
      await eventually(async () => expect((await send('GET', `/api/contacts/${lead}`, o.admin)).body.assignedAgentId).toBe(ben.body.id), 90_000, 200);

      expect(forFollowUp(hookS, fS.id)).toHaveLength(1);
      expect(forFollowUp(hookS, fS.id)[0].receivedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(fS.scheduledAt));
      const { starts: startsR } = await expectConsistent(o, fR, hookR);
      expect(startsR).toHaveLength(2);
      expect(forFollowUp(hookR, fR.id).at(-1)!.receivedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(retrying.nextAttemptAt!));
      await expectConsistent(o, fI, hookI);
      const timeoutEvents = await eventsOf(o, dialled, fT.id);
      expect(timeoutEvents.filter((e) => e.kind === 'follow_up_attempt_failed')).toEqual([expect.objectContaining({ data: expect.objectContaining({ attempt: 1, reason: expect.stringContaining('timeout') }) })]);
      // Its dial request went out before the crash, but Redis lost the job that sent it, so whether it did is unknown:
      // asked again under the same webhook-id (the dialler places one call), unless the attempt's timeout had passed.
      const dials = forFollowUp(dialler, fT.id);
      expect(dials.length).toBeLessThanOrEqual(2);
      expect(dials.map((r) => `${r.headers['webhook-id']} attempt ${r.body.attempt}`)).toEqual(dials.map(() => `${fT.id}.1.1 attempt 1`));
      expect(await reassignments()).toBe(reassignedBefore + 1);
      // the deferred one waits for its window: not run, not counted
      expect(await followUp(o, fD.id)).toMatchObject({ status: 'scheduled', attempts: 0, nextAttemptAt: deferred.nextAttemptAt });
    });
  });

  describe('Redis loses its data after admins added or removed their dialler while call attempts waited', () => {
    it("should keep each attempt's own dialler: the dialled one still times out, the one its agent is to call gets neither a timeout nor a dial request", async () => {
      // SPEC §5: a dialled attempt with no call within attemptTimeoutSeconds fails; one without a dialler waits for its
      // agent, with no timeout. Regression: jobs:reconcile asked each org's settings of the moment instead, so the attempt
      // whose dialler was removed stayed queued for good, and the one whose org configured a dialler since was failed.
      worker ??= await spawnService('worker');
      const TIMEOUT_S = 20;
      const dialler = await sink();
      const orgSettings = { attemptTimeoutSeconds: TIMEOUT_S, retryDelaySeconds: 3600 };
      // one org without a dialler (this file's), one with (made as an operator does)
      const o1 = await setupOrg(orgSettings);
      const made = await cli('org:create', '--name', 'Dialler org');
      const ben = await send('POST', '/api/users', made.adminKey, { name: 'Ben', role: 'agent' });
      expect(ben.status).toBe(201);
      const o2: Org = { orgId: made.orgId, admin: made.adminKey, agentId: ben.body.id };
      const patch = (o: Org, body: Record<string, unknown>) => send('PATCH', '/api/settings', o.admin, body);
      expect((await patch(o2, { webhooks: { allowHttpHosts: ['127.0.0.1'] }, callingWindow: ALWAYS_OPEN, autoAssignment: { enabled: false }, ...orgSettings, dialler: { url: dialler.url } })).status).toBe(200);
      await sleep(1500); // processes trust settings they read for up to a second

      const undialled = await schedule(o1, await createContact(o1), { type: 'call', scheduledAt: iso(-1000), maxAttempts: 2 });
      const dialled = await schedule(o2, await createContact(o2), { type: 'call', scheduledAt: iso(-1000), maxAttempts: 2 });
      await eventually(async () => expect(await followUp(o1, undialled.id)).toMatchObject({ status: 'queued', attempts: 1 }), 60_000, 100);
      await eventually(() => expect(forFollowUp(dialler, dialled.id)).toHaveLength(1), 60_000, 50);
      await eventually(async () => expect(await followUp(o2, dialled.id)).toMatchObject({ status: 'queued', attempts: 1 }), 60_000, 100);

      // the admins change their minds while both attempts wait; then the worker dies and Redis loses everything
      expect((await patch(o1, { dialler: { url: dialler.url } })).status).toBe(200);
      expect((await patch(o2, { dialler: { url: null } })).status).toBe(200);
      // the job outbox has made the attempts' jobs (the dialled one's timeout among them), so that Redis loses them
      await consumersCaughtUp(pg);
      await worker.kill();
      const flusher = new Redis(redis.url);
      await flusher.flushall();
      flusher.disconnect();
      worker = await spawnService('worker');
      await cli('jobs:reconcile');

      const failed = await eventually(async () => {
        const f = await followUp(o2, dialled.id);
        expect(f).toMatchObject({ status: 'scheduled', attempts: 1, lastError: expect.stringMatching(/timeout/i) });
        return f;
      }, 90_000, 200);
      expect(Date.parse(failed.nextAttemptAt!)).toBeGreaterThan(Date.now() + 3000_000);
      await sleep(2000); // past the other attempt's timeout, had it been given one
      expect(await followUp(o1, undialled.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      expect(forFollowUp(dialler, undialled.id)).toEqual([]);
      expect(forFollowUp(dialler, dialled.id)).toHaveLength(1);

      // nothing of this scenario left pending for the next ones: its agent's call ends one, the other is cancelled
      const call = await send('POST', '/api/calls', o1.admin, {
        callId: randomUUID(), contactId: undialled.contactId, agentId: o1.agentId, direction: 'outbound', status: 'Called', durationSec: 30, startedAt: new Date().toISOString(),
      });
      expect({ status: call.status, body: call.body }).toMatchObject({ status: 201, body: { status: 'accepted' } });
      expect(await followUp(o1, undialled.id)).toMatchObject({ status: 'completed', attempts: 1 });
      expect((await send('POST', `/api/follow-ups/${dialled.id}/cancel`, o2.admin, {})).status).toBe(200);
    });
  });

  describe('the API process is SIGKILLed in the middle of a 1,000-call batch', () => {
    it('should store each call once when the dialler pushes the batch again to a restarted API, the read models agreeing with the event store', async () => {
      worker ??= await spawnService('worker');
      const o = await setupOrg();
      const report = async () => {
        const day = new Date().toISOString().slice(0, 10);
        const res = await send('GET', `/api/reports/calls?from=${day}&to=${day}&groupBy=status`, o.admin);
        expect(res.status).toBe(200);
        return res.body.totals.attempts as number;
      };
      const before = await report();
      const contacts: string[] = [];
      for (let i = 0; i < 100; i += 10) contacts.push(...(await Promise.all(Array.from({ length: 10 }, () => createContact(o)))));
      // Ten calls a lead, in order; the last decides its status: Interested, Followups (with a follow-up due now), Not Picked.
      const expected = (i: number) => ['Interested', 'Followups', 'Not Picked'][i % 3];
      const start = Date.now() - 3600_000;
      const calls = contacts.flatMap((contactId, i) =>
        Array.from({ length: 10 }, (_, k) => {
          const base = { callId: randomUUID(), contactId, agentId: o.agentId, direction: 'outbound', startedAt: new Date(start + (i * 10 + k) * 1000).toISOString() };
          if (k < 9 || i % 3 === 2) return { ...base, status: k % 2 ? 'Busy' : 'No Answer', durationSec: 0 };
          if (i % 3 === 0) return { ...base, status: 'Called', durationSec: 60, leadStatus: 'Interested' };
          return { ...base, status: 'Follow up', durationSec: 45, followUp: { type: 'call', scheduledAt: iso(-60_000) } };
        }),
      );
      const callIds = calls.map((c) => c.callId);
      const stored = async () => (await pg.query('SELECT count(*)::int AS n FROM calls WHERE call_id = ANY ($1)', [callIds])).rows[0].n as number;

      // Killed while it appends (or, if the append won the race, before it answers): the dialler never gets an answer.
      const lost = fetch(`${api.url}/api/calls/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${o.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ calls }),
      }).then(
        (r) => r.status,
        () => 'no answer',
      );
      await eventually(async () => {
        const { rows } = await pg.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND query LIKE '%fu_append_many%'`);
        if (rows[0].n === 0 && (await stored()) === 0) throw new Error('not appending yet');
      }, 60_000, 2);
      await api.kill();
      expect(await lost).toBe('no answer');
      const atCrash = await stored();
      expect([0, 1000]).toContain(atCrash); // one batch, one transaction: all or nothing

      api = await spawnService('api');
      const again = await send('POST', '/api/calls/batch', o.admin, { calls });
      expect(again.status).toBe(200);
      const answers = (again.body.results as { status: string }[]).map((r) => r.status);
      expect(answers).toEqual(Array(1000).fill(atCrash === 0 ? 'accepted' : 'duplicate'));
      const third = await send('POST', '/api/calls/batch', o.admin, { calls });
      expect((third.body.results as { status: string }[]).every((r) => r.status === 'duplicate')).toBe(true);

      // Exactly one call per callId, in the event store and in the read models.
      const { rows: logged } = await pg.query(`SELECT data->>'callId' AS id, count(*)::int AS n FROM events WHERE type = 'CallLogged' AND data->>'callId' = ANY ($1) GROUP BY 1`, [callIds]);
      expect(logged.length).toBe(1000);
      expect(logged.filter((r) => r.n !== 1)).toEqual([]);
      expect(await stored()).toBe(1000);
      for (const [i, contactId] of contacts.entries()) {
        const c = await send('GET', `/api/contacts/${contactId}`, o.admin);
        expect({ i, leadStatus: c.body.leadStatus }).toEqual({ i, leadStatus: expected(i) });
        const listed = await send('GET', `/api/calls?contactId=${contactId}&limit=50`, o.admin);
        expect({ i, calls: listed.body.calls.map((x: { callId: string }) => x.callId).sort() }).toEqual({ i, calls: callIds.slice(i * 10, i * 10 + 10).sort() });
        const fus = await send('GET', `/api/contacts/${contactId}/follow-ups`, o.admin);
        const items = (fus.body.followUps ?? fus.body.items ?? fus.body) as unknown[];
        expect({ i, followUps: items.length }).toEqual({ i, followUps: i % 3 === 1 ? 1 : 0 });
      }
      // The hub shows each lead with a follow-up due once.
      const hub = await send('GET', `/api/follow-ups/due?limit=200&agentId=${o.agentId}`, o.admin);
      expect(hub.status).toBe(200);
      const mine = new Set(contacts);
      const dueLeads = (hub.body.followUps as { contactId: string }[]).map((h) => h.contactId).filter((id) => mine.has(id));
      expect(dueLeads.sort()).toEqual(contacts.filter((_, i) => i % 3 === 1).sort());
      // The async consumers catch up: the call report counts each call once.
      await eventually(async () => expect(await report()).toBe(before + 1000), 60_000, 200);

      // The inline read models equal a rebuild from the event store (once the worker has started the due follow-ups).
      await eventually(async () => {
        const { rows } = await pg.query(`SELECT count(*)::int AS n FROM follow_ups WHERE contact_id = ANY ($1) AND status <> 'queued'`, [contacts]);
        expect(rows[0].n).toBe(0);
      }, 60_000, 200);
      const dump = async () => {
        const tables = [];
        for (const q of [`SELECT * FROM contacts WHERE org_id = $1 ORDER BY id`, `SELECT * FROM calls WHERE org_id = $1 ORDER BY call_id`, `SELECT * FROM follow_ups WHERE org_id = $1 ORDER BY id`]) {
          tables.push((await pg.query(q, [o.orgId])).rows);
        }
        return tables;
      };
      const live = await dump();
      await cli('projection:rebuild', 'contacts');
      expect(await dump()).toEqual(live);
    });
  });

  describe('Postgres is unreachable for a few seconds', () => {
    it('should recover without a restart: no push refused as bad, each stored once, no 5xx once it is back, follow-ups ended as SPEC says', async () => {
      // A duplicate is answered 200, a new call 201.
      worker ??= await spawnService('worker');
      const o = await setupOrg({ retryDelaySeconds: 1 });
      const hook = await sink();
      hook.respondWith(200, 200);
      const contacts: string[] = [];
      for (let i = 0; i < 20; i += 10) contacts.push(...(await Promise.all(Array.from({ length: 10 }, () => createContact(o)))));
      const fus: FollowUp[] = [];
      for (let i = 0; i < 20; i++) fus.push(await schedule(o, contacts[i], { type: 'webhook', url: `${hook.url}/pg`, scheduledAt: iso(1000 + i * 200), maxAttempts: 3 }));

      // Four diallers push calls one at a time, each retried until it is answered 2xx.
      const during: { status: number | string; body: unknown; retryAfter?: string | null }[] = [];
      const pushes = contacts.slice(0, 4).map((contactId) =>
        Array.from({ length: 100 }, (_, k) => ({
          callId: randomUUID(), contactId, agentId: o.agentId, direction: 'outbound', status: 'No Answer', durationSec: 0, startedAt: new Date(Date.now() - 600_000 + k * 1000).toISOString(),
        })),
      );
      const push = (body: unknown) =>
        fetch(`${api.url}/api/calls`, { method: 'POST', headers: { authorization: `Bearer ${o.admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
          async (r) => ({ status: r.status as number | string, body: await r.json().catch(() => null), retryAfter: r.headers.get('retry-after') }),
          (err: Error) => ({ status: `error ${err.message}`, body: null }),
        );
      const diallers = pushes.map(async (list) => {
        for (const call of list) {
          for (;;) {
            const res = await push(call);
            during.push(res);
            if (res.status === 201 || res.status === 200) break;
            await sleep(100);
          }
          await sleep(20);
        }
      });
      // The outage: the database takes no connection and every one the service held is cut, for three seconds.
      const admin = new Client({ connectionString: database.url.replace(/\/[^/]+$/, '/postgres') });
      await admin.connect();
      try {
        await sleep(1000);
        await admin.query(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS false`);
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'followup-engine'`, [database.name]);
        await sleep(3000);
      } finally {
        await admin.query(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS true`);
        await admin.end();
      }
      await Promise.all(diallers);

      // Some pushes failed while it was down (that is what the dialler retried), but none was refused as bad input.
      expect(during.filter((r) => typeof r.status === 'number' && r.status >= 400 && r.status < 500)).toEqual([]);
      const failed = during.filter((r) => typeof r.status !== 'number' || r.status >= 500);
      expect(failed.length).toBeGreaterThan(0);
      // ...and each failure said "unavailable, retry" (503 with Retry-After), not "a bug" (500).
      expect(failed.filter((r) => r.status !== 503 || r.retryAfter !== '1')).toEqual([]);
      expect(failed[0].body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the database is unavailable; retry shortly' });
      // Once it is back: every push again is a plain duplicate, no 5xx.
      await Promise.all(
        pushes.map(async (list) => {
          for (const call of list) {
            const res = await send('POST', '/api/calls', o.admin, call);
            expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { status: 'duplicate' } });
          }
        }),
      );
      const callIds = pushes.flat().map((c) => c.callId);
      const { rows } = await pg.query(`SELECT data->>'callId' AS id, count(*)::int AS n FROM events WHERE type = 'CallLogged' AND data->>'callId' = ANY ($1) GROUP BY 1`, [callIds]);
      expect({ calls: rows.length, twice: rows.filter((r) => r.n !== 1) }).toEqual({ calls: 400, twice: [] });
      for (const contactId of contacts.slice(0, 4)) {
        const listed = await send('GET', `/api/calls?contactId=${contactId}&limit=200`, o.admin);
        expect(listed.body.calls).toHaveLength(100);
      }

      // Every follow-up due across the outage ends, its attempts matching what the receiver was sent.
      await eventually(async () => {
        for (const f of fus) expect({ id: f.id, status: (await followUp(o, f.id)).status }).toEqual({ id: f.id, status: 'completed' });
      }, 120_000, 500);
      for (const f of fus) await expectConsistent(o, f, hook);
      for (const p of [api, worker!]) expect((await fetch(`${p.url}/health/ready`)).status).toBe(200);
    });
  });

  it('should not have answered any request of this file with a 5xx (SPEC §9)', () => {
    expect(seen.filter((s) => s.status >= 500)).toEqual([]);
  });
});

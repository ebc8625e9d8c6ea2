import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { Webhook } from 'standardwebhooks';
import { CallingWindow, checkWindow, effectiveWindow } from '@app/contacts';
import { executeJob, FollowUpWriter, NEVER_OPENS_RECHECK_MS } from '@app/follow-ups';
import { Clock, systemActor } from '@app/shared';
import { JobQueues, JobReconciler, QueueName } from '@app/queue';
import { ALL_DAYS, ALWAYS_OPEN, consumersCaughtUp, etcZoneAtLocalHour, eventually, executionOrg, flushPrefix, followUpEvents, FollowUpView, HttpSink, nightZone, readFollowUp, recordingClient, requestsFor, scheduleFollowUp, scrapedMetric, sinkPool, SinkRequest, startAttemptByHand, startHttpSink, startTestApp, TestApp } from '@app/testing';

type FollowUp = FollowUpView;

const SECOND = 1000;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open all day, every day: execution tests do not depend on the time they run at. */
/** SPEC §7 default window. */
const DEFAULT_WINDOW: CallingWindow = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', end: '21:00' };

jest.setTimeout(90_000);

// Root-level hooks: `it.concurrent` tests start right after these (jest-circus), before any nested beforeAll.
let t: TestApp;
const sinks = sinkPool();
/**
 * Every request goes through here. SPEC §9: never a 500 for anything a client sent; checked per request (a 5xx fails
 * the request: concurrent tests share no afterEach) and once more at the end.
 */
const client = recordingClient(() => t, { throwOn5xx: true });
beforeAll(async () => {
  t = await startTestApp({ env: { EXPIRY_INTERVAL_MS: '300' } });
});
afterAll(async () => {
  await sinks.closeAll();
  await t?.close();
});

/**
 * Most scenarios mostly wait (retry delays, timeouts, due times), so they run as `it.concurrent`, each in its own org
 * with its own sinks and contacts: no shared state. The Redis-loss tests delete every key of this file, so they run
 * last and alone.
 */
describe('follow-up execution (SPEC §5 execution, §7 calling window)', () => {
  const { send } = client;

  const sink = () => sinks.open();

  /** An org (window always open, http to the sinks allowed, retries after 1 s) with one agent. */
  const setup = (settings: Record<string, unknown> = {}) => executionOrg(t, send, settings);
  type Org = Awaited<ReturnType<typeof setup>>;

  let phoneSeq = 1000;
  /** A contact assigned to the org's agent, by default in a zone where it is about noon now. */
  const createContact = async (o: Org, body: Record<string, unknown> = {}): Promise<{ id: string; phone: string; timezone: string }> => {
    const phone = `+1415558${String(phoneSeq++).padStart(4, '0')}`;
    const res = await send('post', '/api/contacts', o.admin, { name: 'Sarah Lee', phone, assignedAgentId: o.agent.id, timezone: etcZoneAtLocalHour(12), ...body });
    expect(res.status).toBe(201);
    return { id: res.body.id, phone, timezone: res.body.timezone };
  };
  const schedule = (o: Org, contactId: string, body: Record<string, unknown>) => scheduleFollowUp(send, o.admin, contactId, body);
  const followUp = (o: Org, id: string) => readFollowUp(send, o.admin, id);
  const waitFor = (o: Org, id: string, expected: Partial<FollowUp>, timeoutMs = 30_000) =>
    eventually(async () => {
      const f = await followUp(o, id);
      expect(f).toMatchObject(expected);
      return f;
    }, timeoutMs);
  const pushCall = async (o: Org, contactId: string, body: Record<string, unknown>) => {
    const res = await send('post', '/api/calls', o.admin, {
      callId: randomUUID(),
      contactId,
      agentId: o.agent.id,
      direction: 'outbound',
      status: 'Called',
      durationSec: 42,
      startedAt: new Date().toISOString(),
      ...body,
    });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201, body: { status: 'accepted' } });
    return res.body;
  };
  /**
   * The attempt start the executor appends for a follow-up due now, as it decides it with the settings it read (a worker
   * trusts them for a second): `dialled` when those had a dialler. Nothing is delivered: only the start is recorded.
   */
  const startAttempt = (o: Org, contactId: string, f: FollowUp, fields: { dialled?: boolean } = {}) =>
    startAttemptByHand(t, o.orgId, contactId, f.id, { ...(f.type === 'call' ? { agentId: o.agent.id } : {}), ...fields });
  /** Standard Webhooks verification with the org's secret; also proves a changed body would not verify. */
  const expectSigned = (r: SinkRequest, secret: string, messageId: string) => {
    expect(r.method).toBe('POST');
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['webhook-id']).toBe(messageId);
    const headers = r.headers as Record<string, string>;
    expect(new Webhook(secret).verify(r.rawBody, headers)).toEqual(r.body);
    expect(() => new Webhook(secret).verify(r.rawBody.replace('"attempt"', '"attempts"'), headers)).toThrow();
    expect(() => new Webhook(`whsec_${Buffer.from('another secret of 32 bytes......').toString('base64')}`).verify(r.rawBody, headers)).toThrow();
  };

  type Entry = { at: string; kind: string; data: Record<string, unknown> };
  const eventsOf = (o: Org, contactId: string, followUpId: string) => followUpEvents(send, o.admin, contactId, followUpId);
  const timeOf = (events: Entry[], kind: string, n = 0): number => {
    const found = events.filter((e) => e.kind === kind)[n];
    expect({ kind, n, found: !!found }).toEqual({ kind, n, found: true });
    return Date.parse(found.at);
  };

  describe('webhook', () => {
    it.concurrent('should retry a failing webhook after retryDelaySeconds and fail it after the last attempt', async () => {
      const o = await setup({ retryDelaySeconds: 1 });
      const hook = await sink();
      hook.respondWith(500);
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(0), maxAttempts: 3 });

      // after the first failure: scheduled again, due at the same time, next attempt retryDelaySeconds later
      const retrying = await waitFor(o, f.id, { status: 'scheduled', attempts: 1, lastError: 'HTTP 500' });
      expect(retrying.scheduledAt).toBe(f.scheduledAt);
      expect(Date.parse(retrying.nextAttemptAt!) - hook.requests[0].receivedAt.getTime()).toBeGreaterThanOrEqual(SECOND - 50);

      const failed = await waitFor(o, f.id, { status: 'failed' }, 45_000);
      expect(failed).toMatchObject({ attempts: 3, maxAttempts: 3, lastError: 'HTTP 500', scheduledAt: f.scheduledAt, nextAttemptAt: null });
      expect(failed.resolvedAt).not.toBeNull();
      // one message resent (Standard Webhooks): the receiver may have acted on an attempt it failed to answer
      expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([`${f.id}.1`, `${f.id}.1`, `${f.id}.1`]);
      expect(hook.requests.map((r) => r.body.attempt)).toEqual([1, 2, 3]);
      for (const r of hook.requests) expectSigned(r, o.secret, `${f.id}.1`);
      const times = hook.requests.map((r) => r.receivedAt.getTime());
      for (let i = 1; i < times.length; i++) {
        expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(SECOND - 50);
        expect(times[i] - times[i - 1]).toBeLessThan(5 * SECOND);
      }
      // no attempt past the last one
      await sleep(1300);
      expect(hook.requests).toHaveLength(3);
      expect((await followUp(o, f.id)).attempts).toBe(3);
    });

    it.concurrent('should wait retryDelaySeconds between attempts', async () => {
      const o = await setup({ retryDelaySeconds: 3 });
      const hook = await sink();
      hook.respondWith(500);
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(0), maxAttempts: 2 });
      const failed = await waitFor(o, f.id, { status: 'failed' }, 45_000);
      expect(failed.attempts).toBe(2);
      const events = await eventsOf(o, c.id, f.id);
      expect(timeOf(events, 'follow_up_attempt_started', 1) - timeOf(events, 'follow_up_attempt_failed', 0)).toBeGreaterThanOrEqual(3 * SECOND - 50);
      expect(hook.requests[1].receivedAt.getTime() - hook.requests[0].receivedAt.getTime()).toBeGreaterThanOrEqual(3 * SECOND - 50);
    });

    it.concurrent('should POST a signed webhook when it comes due and complete the follow-up', async () => {
      const o = await setup();
      const hook = await sink();
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: `${hook.url}/hooks/follow-up?x=1`, scheduledAt: iso(0), notes: 'renewal', maxAttempts: 4 });
      const done = await waitFor(o, f.id, { status: 'completed' });
      expect(done).toMatchObject({ attempts: 1, maxAttempts: 4, outOfWindow: false, lastError: null, nextAttemptAt: null });
      expect(done.resolvedAt).not.toBeNull();

      expect(hook.requests).toHaveLength(1);
      const [r] = hook.requests;
      expect(r.path).toBe('/hooks/follow-up?x=1');
      expectSigned(r, o.secret, `${f.id}.1`);
      expect(r.body).toEqual({ type: 'follow_up.due', followUpId: f.id, contactId: c.id, attempt: 1, maxAttempts: 4, scheduledAt: f.scheduledAt, priority: 'normal', campaignId: null, notes: 'renewal' });
    });

    it.concurrent('should complete on a retry that succeeds', async () => {
      const o = await setup();
      const hook = await sink();
      hook.respondWith(503);
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(0), maxAttempts: 3 });
      await eventually(() => expect(hook.requests).toHaveLength(1));
      hook.respondWith(204);
      const done = await waitFor(o, f.id, { status: 'completed' });
      expect(done.attempts).toBe(2);
      expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([`${f.id}.1`, `${f.id}.1`]);
    });
  });

  describe('sms', () => {
    it.concurrent('should hand the message to the SMS provider, signed, and complete the follow-up', async () => {
      const sms = await sink();
      const o = await setup({ sms: { url: `${sms.url}/send` } });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'sms', message: 'Your quote is ready', scheduledAt: iso(0) });
      const done = await waitFor(o, f.id, { status: 'completed' });
      expect(done).toMatchObject({ attempts: 1, outOfWindow: false, lastError: null });
      expect(sms.requests).toHaveLength(1);
      const [r] = sms.requests;
      expect(r.path).toBe('/send');
      expectSigned(r, o.secret, `${f.id}.1`);
      expect(r.body).toMatchObject({ type: 'sms.send', followUpId: f.id, contactId: c.id, to: c.phone, message: 'Your quote is ready', attempt: 1 });
    });

    it.concurrent('should text, dial and call out to nobody archived: its follow-ups are cancelled when they come due, saying why', async () => {
      const [sms, dialler, hook] = await Promise.all([sink(), sink(), sink()]);
      const o = await setup({ sms: { url: sms.url }, dialler: { url: dialler.url } });
      const c = await createContact(o);
      const again = await createContact(o);
      // due once both leads are archived and the second reactivated (a few requests; 5 s leaves room on a busy host)
      const due = iso(5000);
      const fus = [
        await schedule(o, c.id, { type: 'sms', message: 'Your quote is ready', scheduledAt: due }),
        await schedule(o, c.id, { type: 'call', scheduledAt: due }),
        await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: due }),
      ];
      const back = await schedule(o, again.id, { type: 'sms', message: 'Hi again', scheduledAt: due });
      for (const id of [c.id, again.id]) expect((await send('patch', `/api/contacts/${id}`, o.admin, { status: 'ARCHIVED' })).status).toBe(200);
      // the second lead is reactivated before its follow-up comes due: it runs as usual
      expect((await send('patch', `/api/contacts/${again.id}`, o.admin, { status: 'ACTIVE' })).status).toBe(200);

      for (const f of fus) {
        const ended = await waitFor(o, f.id, { status: 'cancelled', attempts: 0 });
        expect(ended.resolvedAt).not.toBeNull();
        const cancelled = (await eventsOf(o, c.id, f.id)).filter((e) => e.kind === 'follow_up_cancelled');
        expect(cancelled.map((e) => e.data.reason)).toEqual([expect.stringMatching(/archived/)]);
      }
      await waitFor(o, back.id, { status: 'completed', attempts: 1 });
      await sleep(300);
      expect([dialler.requests.length, hook.requests.length]).toEqual([0, 0]);
      expect(sms.requests.map((r) => r.body.contactId)).toEqual([again.id]);
    });

    it.concurrent('should send the retry of an SMS the provider failed to answer under the same webhook-id, so a provider that sent it drops the repeat', async () => {
      // A provider that handed the text on and then answered 5xx (or after the 10 s timeout): the retry is the same
      // message, which a Standard Webhooks receiver recognises by its id, and the lead gets one text, not two.
      const sms = await sink();
      sms.respondWith(503);
      const o = await setup({ sms: { url: sms.url } });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'sms', message: 'Your quote is ready', scheduledAt: iso(0), maxAttempts: 3 });
      await eventually(() => expect(requestsFor(sms, f.id)).toHaveLength(1));
      sms.respondWith(200);
      await waitFor(o, f.id, { status: 'completed', attempts: 2 });
      const [first, retry] = requestsFor(sms, f.id);
      expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
      expectSigned(retry, o.secret, first.headers['webhook-id'] as string);
      expect([first.body.attempt, retry.body.attempt]).toEqual([1, 2]);
      expect(retry.body).toMatchObject({ to: c.phone, message: 'Your quote is ready' });
    });

    it.concurrent('should send an SMS rescheduled after a failed attempt under a new webhook-id: a new due time is a new message', async () => {
      const sms = await sink();
      sms.respondWith(503);
      const o = await setup({ sms: { url: sms.url }, retryDelaySeconds: 3600 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'sms', message: 'Call us back', scheduledAt: iso(0), maxAttempts: 3 });
      await waitFor(o, f.id, { status: 'scheduled', attempts: 1, lastError: 'HTTP 503' });
      sms.respondWith(200);
      const moved = await send('post', `/api/follow-ups/${f.id}/reschedule`, o.admin, { scheduledAt: iso(300) });
      expect(moved.status).toBe(200);
      await waitFor(o, f.id, { status: 'completed', attempts: 2 });
      const [first, second] = requestsFor(sms, f.id);
      expect(second.body).toMatchObject({ attempt: 2, scheduledAt: moved.body.scheduledAt });
      expectSigned(second, o.secret, second.headers['webhook-id'] as string);
      expect(second.headers['webhook-id']).not.toBe(first.headers['webhook-id']);
    });

    it.concurrent('should fail every attempt when no SMS provider is configured, saying why', async () => {
      const o = await setup();
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'sms', message: 'Hi', scheduledAt: iso(0), maxAttempts: 2 });
      const failed = await waitFor(o, f.id, { status: 'failed' });
      expect(failed.attempts).toBe(2);
      expect(failed.lastError).toMatch(/no SMS provider/i);
    });
  });

  describe('call', () => {
    it.concurrent('should fail an attempt when no call arrives within attemptTimeoutSeconds, then fail the follow-up after the last', async () => {
      const dial = await sink();
      const o = await setup({ dialler: { url: dial.url }, attemptTimeoutSeconds: 1 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0), maxAttempts: 2 });
      const failed = await waitFor(o, f.id, { status: 'failed' }, 45_000);
      expect(failed.attempts).toBe(2);
      expect(failed.lastError).toMatch(/timeout/i);
      expect(requestsFor(dial, f.id).map((r) => r.body.attempt)).toEqual([1, 2]);
      // each attempt ends attemptTimeoutSeconds (1 s) after it started; the retry comes retryDelaySeconds (1 s) after
      const events = await eventsOf(o, c.id, f.id);
      for (const n of [0, 1]) {
        expect(timeOf(events, 'follow_up_attempt_failed', n) - timeOf(events, 'follow_up_attempt_started', n)).toBeGreaterThanOrEqual(SECOND - 50);
      }
      expect(timeOf(events, 'follow_up_attempt_started', 1) - timeOf(events, 'follow_up_attempt_failed', 0)).toBeGreaterThanOrEqual(SECOND - 50);
    });

    it.concurrent('should not fail the attempt, nor dial the lead again, while its call is in progress past attemptTimeoutSeconds', async () => {
      // Regression: the timeout failed the attempt while the lead was talking to an agent, and the retry dialled them
      // again mid-conversation; the final status then completed the follow-up at attempt 2 for one call.
      const dial = await sink();
      const o = await setup({ dialler: { url: dial.url }, attemptTimeoutSeconds: 4 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0), maxAttempts: 3 });
      await eventually(() => expect(requestsFor(dial, f.id)).toHaveLength(1));
      const callId = randomUUID();
      const startedAt = new Date().toISOString();
      await pushCall(o, c.id, { callId, followUpId: f.id, status: 'In-progress', durationSec: 0, startedAt });
      await sleep(6500); // past the timeout (4 s from the attempt's start) and the retry delay (1 s) after it
      expect(requestsFor(dial, f.id)).toHaveLength(1);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      await pushCall(o, c.id, { callId, followUpId: f.id, status: 'Called', durationSec: 45, startedAt });
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      expect(requestsFor(dial, f.id)).toHaveLength(1);
    });

    it.concurrent("should not ring the lead again at the retry delay when the dialler reports a snoozed follow-up's withdrawn attempt unanswered", async () => {
      // The dial request of attempt 1 went out; the agent snoozed the follow-up in the meantime; then the dialler's No
      // Answer for that call came. It spends no attempt and does not bring the next one forward: the follow-up waits
      // for the snooze's end, as the agent chose, instead of being dialled again retryDelaySeconds later.
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, retryDelaySeconds: 1, snoozeDays: 1 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0) });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      const startedAt = new Date().toISOString();
      const snoozed = await send('post', `/api/follow-ups/${f.id}/snooze`, o.admin);
      expect(snoozed.body).toMatchObject({ status: 'snoozed', attempts: 0 });
      await pushCall(o, c.id, { followUpId: f.id, status: 'No Answer', durationSec: 0, startedAt });
      await sleep(2500); // past retryDelaySeconds: a retry would have been dialled by now
      expect(requestsFor(dialler, f.id)).toHaveLength(1);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'snoozed', attempts: 0, scheduledAt: snoozed.body.scheduledAt, nextAttemptAt: snoozed.body.scheduledAt });
    });

    it.concurrent('should give a re-dialled attempt its full attemptTimeoutSeconds after a reschedule', async () => {
      // Regression: attemptTimeoutSeconds 3. Attempt 1 is dialled at t0 (timeout job `fu-timeout.<id>.1` due at t0+3 s); the
      // follow-up is rescheduled while queued to t0+~1 s, which withdraws attempt 1; at t0+1 s it is dialled again as
      // attempt 1, whose timeout job gets the same deterministic id `fu-timeout.<id>.1`, so BullMQ keeps the old one and
      // the new attempt times out at t0+3 s: ~2 s after it started instead of 3 s. Likely cause: timeoutJob's jobId
      // (libs/follow-ups/src/follow-up.jobs.ts) is made of the attempt number, which a withdrawal makes repeat; the
      // handler then accepts the stale timeout because the attempt number matches the open attempt.
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 3, retryDelaySeconds: 3600 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0) });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      await send('post', `/api/follow-ups/${f.id}/reschedule`, o.admin, { scheduledAt: iso(1000) });
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(2));
      await waitFor(o, f.id, { status: 'scheduled', attempts: 1, lastError: expect.stringMatching(/timeout/i) }, 30_000);
      const events = await eventsOf(o, c.id, f.id);
      expect(timeOf(events, 'follow_up_attempt_failed') - timeOf(events, 'follow_up_attempt_started', 1)).toBeGreaterThanOrEqual(3 * SECOND - 50);
    });

    it.concurrent('should dial again with a new webhook-id after a queued call follow-up is rescheduled', async () => {
      // Regression: a call follow-up is dialled (webhook-id `<id>.1`), then rescheduled while queued (POST
      // /api/follow-ups/:id/reschedule, 200): the reschedule withdraws the open attempt, and when the new time comes the
      // dial request is sent again with the SAME webhook-id `<id>.1` (but another body: a new scheduledAt). The
      // webhook-id is the receiver's de-duplication key ("stable across retries of one message, so the receiver can drop
      // duplicates", OutboundRequest; Standard Webhooks), so a compliant dialler drops the second dial and the lead is
      // never called. The same happens after a snooze (e.g. the hub's snooze). Likely cause: ExecuteFollowUpHandler
      // builds messageId as `${f.id}.${f.attempts}`, and a withdrawn attempt makes the attempt number repeat; the id
      // needs something that does not repeat, e.g. the schedule number.
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url } });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0) });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      const moved = await send('post', `/api/follow-ups/${f.id}/reschedule`, o.admin, { scheduledAt: iso(300) });
      expect(moved.body).toMatchObject({ status: 'scheduled', attempts: 0 });
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(2));
      const [first, second] = requestsFor(dialler, f.id);
      expect(second.body.scheduledAt).toBe(moved.body.scheduledAt);
      expectSigned(second, o.secret, second.headers['webhook-id'] as string);
      expect(second.headers['webhook-id']).not.toBe(first.headers['webhook-id']);
    });

    it.concurrent('should leave a call follow-up queued without a dialler until a logged call ends it (no timeout)', async () => {
      const o = await setup({ attemptTimeoutSeconds: 1 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0) });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      await sleep(1600); // past attemptTimeoutSeconds
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null, resolvedAt: null });

      // the next final outbound call to the contact ends the attempt, even without followUpId, and is listed as its call
      await pushCall(o, c.id, { status: 'Called', durationSec: 60 });
      expect(await followUp(o, f.id)).toMatchObject({ status: 'completed', attempts: 1 });
      expect((await send('get', `/api/calls?contactId=${c.id}`, o.admin)).body.calls).toMatchObject([{ followUpId: f.id }]);
    });

    it.concurrent('should still fail a dialled attempt on its timeout when the dialler is removed before the job outbox reaches its start', async () => {
      // The executor dialled with the settings it had read; the admin removed the dialler before the job outbox made the
      // attempt's timeout job. Regression: the outbox asked the settings of its own moment, made no timeout job, and the
      // attempt waited for a call that no dialler would ever push (SPEC §5: no call within the timeout is a failure).
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 2, retryDelaySeconds: 3600 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(HOUR), maxAttempts: 2 });
      expect((await send('patch', '/api/settings', o.admin, { dialler: { url: null } })).status).toBe(200);
      await startAttempt(o, c.id, f, { dialled: true });
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1 });
      const failed = await waitFor(o, f.id, { status: 'scheduled', attempts: 1, lastError: expect.stringMatching(/timeout/i) }, 20_000);
      expect(Date.parse(failed.nextAttemptAt!) - Date.now()).toBeGreaterThan(3000 * SECOND);
    });

    it.concurrent('should not time out an attempt started without a dialler when one is added before the job outbox reaches its start', async () => {
      // Without a dialler the attempt waits for its agent (SPEC §5: no timeout); a dialler configured meanwhile does
      // not give it one. Regression: the outbox saw the new dialler and made a timeout job that failed the attempt.
      const dialler = await sink();
      const o = await setup({ attemptTimeoutSeconds: 1 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(HOUR) });
      expect((await send('patch', '/api/settings', o.admin, { dialler: { url: dialler.url } })).status).toBe(200);
      await startAttempt(o, c.id, f, { dialled: false });
      await consumersCaughtUp(t.db);
      await sleep(2500); // past the attempt timeout a timeout job would have had
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      expect(requestsFor(dialler, f.id)).toEqual([]);
      // its agent's call ends it, as for any attempt without a dialler
      await pushCall(o, c.id, { status: 'Called', durationSec: 60 });
      expect(await followUp(o, f.id)).toMatchObject({ status: 'completed', attempts: 1 });
    });

    it.concurrent('should take an outbound call between attempts as the next one: the lead the agent spoke to is not dialled again', async () => {
      const dialler = await sink();
      const d = await setup({ dialler: { url: dialler.url }, retryDelaySeconds: 2 });
      const c = await createContact(d);
      const f = await schedule(d, c.id, { type: 'call', scheduledAt: iso(0) });
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(1));
      await waitFor(d, f.id, { status: 'queued', attempts: 1 });
      await pushCall(d, c.id, { followUpId: f.id, status: 'No Answer', durationSec: 0 });
      expect(await followUp(d, f.id)).toMatchObject({ status: 'scheduled', attempts: 1, lastError: 'No Answer' });

      // the agent rings the lead from their own phone before the retry, naming no follow-up, and they talk
      await pushCall(d, c.id, { status: 'Called', durationSec: 95 });
      expect(await followUp(d, f.id)).toMatchObject({ status: 'completed', attempts: 2, nextAttemptAt: null });
      await sleep(3000); // past the retry that would have come
      expect(requestsFor(dialler, f.id)).toHaveLength(1);
    });

    it.concurrent('should count a Busy call as a failed attempt and dial again after the retry delay', async () => {
      const dialler = await sink();
      const d = await setup({ dialler: { url: dialler.url } });
      const c = await createContact(d);
      const f = await schedule(d, c.id, { type: 'call', scheduledAt: iso(0) });
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(1));
      await waitFor(d, f.id, { status: 'queued', attempts: 1 });

      await pushCall(d, c.id, { followUpId: f.id, status: 'Busy', durationSec: 0 });
      const retrying = await followUp(d, f.id);
      expect(retrying).toMatchObject({ status: 'scheduled', attempts: 1, lastError: 'Busy', scheduledAt: f.scheduledAt });

      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(2));
      const [first, second] = requestsFor(dialler, f.id);
      expectSigned(second, d.secret, `${f.id}.2.2`);
      expect(second.body.attempt).toBe(2);
      expect(second.receivedAt.getTime() - first.receivedAt.getTime()).toBeGreaterThanOrEqual(SECOND - 50);
      await waitFor(d, f.id, { status: 'queued', attempts: 2 });

      await pushCall(d, c.id, { followUpId: f.id, status: 'Called', durationSec: 30 });
      expect(await followUp(d, f.id)).toMatchObject({ status: 'completed', attempts: 2 });
    });

    it.concurrent('should send a signed dial request, stay queued, and complete when a connected call is pushed for it', async () => {
      const dialler = await sink();
      const d = await setup({ dialler: { url: `${dialler.url}/dial` } });
      const c = await createContact(d);
      const f = await schedule(d, c.id, { type: 'call', scheduledAt: iso(0), agentId: d.agent.id, priority: 'urgent', notes: 'wants the renewal price' });
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(1));
      const [r] = requestsFor(dialler, f.id);
      expect(r.path).toBe('/dial');
      expectSigned(r, d.secret, `${f.id}.1.1`);
      // the whole body, as docs/operations.md documents it
      expect(r.body).toEqual({
        type: 'call.dial',
        followUpId: f.id,
        contactId: c.id,
        attempt: 1,
        maxAttempts: 3,
        scheduledAt: f.scheduledAt,
        priority: 'urgent',
        campaignId: null,
        to: c.phone,
        agentId: d.agent.id,
        notes: 'wants the renewal price',
      });

      const queued = await waitFor(d, f.id, { status: 'queued', attempts: 1 });
      expect(queued.resolvedAt).toBeNull();

      await pushCall(d, c.id, { followUpId: f.id, status: 'Called', durationSec: 95 });
      const done = await followUp(d, f.id); // the next read after the push reflects it
      expect(done).toMatchObject({ status: 'completed', attempts: 1, lastError: null });
      expect(done.resolvedAt).not.toBeNull();
      await sleep(300);
      expect(requestsFor(dialler, f.id)).toHaveLength(1);
    });

    it.concurrent("should route an unassigned lead's call attempts to its campaign's active pool agents, the next one on each retry (SPEC §5 routing)", async () => {
      const dialler = await sink();
      const d = await setup({ dialler: { url: dialler.url } });
      const ben = await t.createUser(d.admin, { name: 'Ben', role: 'agent' });
      const cleo = await t.createUser(d.admin, { name: 'Cleo', role: 'agent' });
      const dan = await t.createUser(d.admin, { name: 'Dan', role: 'agent' });
      const campaign = await send('post', '/api/campaigns', d.admin, { name: 'Pooled', agentPool: [dan.id, ben.id, cleo.id] });
      expect(campaign.status).toBe(201);
      // Dan has left since: the pool's attempts go to Ben and Cleo only
      expect((await send('patch', `/api/users/${dan.id}`, d.admin, { active: false })).status).toBe(200);
      const leads = await Promise.all(Array.from({ length: 6 }, () => createContact(d, { assignedAgentId: null, campaignId: campaign.body.id })));
      const fus = await Promise.all(leads.map((c) => schedule(d, c.id, { type: 'call', scheduledAt: iso(0), maxAttempts: 2 })));
      const firsts: string[] = [];
      await Promise.all(
        fus.map(async (f, i) => {
          await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(1));
          const first = requestsFor(dialler, f.id)[0].body.agentId as string;
          expect([ben.id, cleo.id]).toContain(first);
          firsts.push(first);
          await waitFor(d, f.id, { status: 'queued', attempts: 1 });
          // nobody answered: the retry goes to the pool's other agent
          await pushCall(d, leads[i].id, { followUpId: f.id, status: 'No Answer', durationSec: 0, agentId: first });
          await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(2));
          const second = requestsFor(dialler, f.id)[1].body.agentId;
          expect(second).toBe(first === ben.id ? cleo.id : ben.id);
          // each attempt on the lead's timeline says whom it was for
          const starts = (await eventsOf(d, leads[i].id, f.id)).filter((e) => e.kind === 'follow_up_attempt_started');
          expect(starts.map((e) => e.data.agentId)).toEqual([first, second]);
        }),
      );
      // the follow-up's own agent field stays "inherit"
      expect((await followUp(d, fus[0].id)).agentId).toBeNull();
    });

    it.concurrent('should pass over agents who have left: the follow-up\'s own, then the contact\'s, then the pool', async () => {
      const dialler = await sink();
      const d = await setup({ dialler: { url: dialler.url } });
      const [ben, cleo, dan] = await Promise.all(['Ben', 'Cleo', 'Dan'].map((name) => t.createUser(d.admin, { name, role: 'agent' })));
      const campaign = await send('post', '/api/campaigns', d.admin, { name: 'Pooled', agentPool: [ben.id] });
      expect(campaign.status).toBe(201);
      const anas = await createContact(d, { campaignId: campaign.body.id }); // Ana's, who leaves
      const cleos = await createContact(d, { assignedAgentId: cleo.id });
      const toPool = await schedule(d, anas.id, { type: 'call', scheduledAt: iso(2000) });
      const toOwner = await schedule(d, cleos.id, { type: 'call', scheduledAt: iso(2000), agentId: dan.id }); // Dan's, who leaves
      for (const gone of [d.agent.id, dan.id]) expect((await send('patch', `/api/users/${gone}`, d.admin, { active: false })).status).toBe(200);
      await eventually(() => {
        for (const f of [toPool, toOwner]) expect(requestsFor(dialler, f.id)).toHaveLength(1);
      });
      expect(requestsFor(dialler, toPool.id)[0].body.agentId).toBe(ben.id);
      expect(requestsFor(dialler, toOwner.id)[0].body.agentId).toBe(cleo.id);
    });

    it.concurrent("should route a call attempt to the follow-up's own agent, else the contact's, before the campaign's pool", async () => {
      const dialler = await sink();
      const d = await setup({ dialler: { url: dialler.url } });
      const ben = await t.createUser(d.admin, { name: 'Ben', role: 'agent' });
      const campaign = await send('post', '/api/campaigns', d.admin, { name: 'Pooled', agentPool: [ben.id] });
      expect(campaign.status).toBe(201);
      const owned = await createContact(d, { campaignId: campaign.body.id }); // assigned to Ana
      const unowned = await createContact(d, { assignedAgentId: null });
      const inherits = await schedule(d, owned.id, { type: 'call', scheduledAt: iso(0) });
      const own = await schedule(d, owned.id, { type: 'call', scheduledAt: iso(0), agentId: ben.id, campaignId: null });
      const nobody = await schedule(d, unowned.id, { type: 'call', scheduledAt: iso(0) }); // no campaign, no owner
      await eventually(() => {
        for (const f of [inherits, own, nobody]) expect(requestsFor(dialler, f.id)).toHaveLength(1);
      });
      expect(requestsFor(dialler, inherits.id)[0].body.agentId).toBe(d.agent.id);
      expect(requestsFor(dialler, own.id)[0].body.agentId).toBe(ben.id);
      expect(requestsFor(dialler, nobody.id)[0].body.agentId).toBeNull();
    });

    it.concurrent('should complete a call follow-up on a connected call pushed before it comes due, and never dial it', async () => {
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url } });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(1000) });
      await pushCall(o, c.id, { followUpId: f.id, status: 'Called', durationSec: 20 });
      expect(await followUp(o, f.id)).toMatchObject({ status: 'completed', attempts: 1 });
      await sleep(Date.parse(f.scheduledAt) + 700 - Date.now());
      expect(requestsFor(dialler, f.id)).toEqual([]);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'completed', attempts: 1 });
    });

    it.concurrent('should not time out an attempt that a snooze withdrew', async () => {
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 1 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0) });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      const snoozed = await send('post', `/api/follow-ups/${f.id}/snooze`, o.admin);
      expect(snoozed.body).toMatchObject({ status: 'snoozed', attempts: 0 });
      await sleep(1800); // past the withdrawn attempt's timeout and a retry delay
      expect(await followUp(o, f.id)).toMatchObject({ status: 'snoozed', attempts: 0, lastError: null, scheduledAt: snoozed.body.scheduledAt });
      expect(requestsFor(dialler, f.id)).toHaveLength(1);
    });

    it.concurrent.each(['No Answer', 'Missed'])('should count a %s call for it as a failed attempt', async (status) => {
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, retryDelaySeconds: 3600 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0), maxAttempts: 2 });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      await pushCall(o, c.id, { followUpId: f.id, status, durationSec: 0, direction: status === 'Missed' ? 'inbound' : 'outbound' });
      const retrying = await followUp(o, f.id);
      expect(retrying).toMatchObject({ status: 'scheduled', attempts: 1, lastError: status });
      expect(Date.parse(retrying.nextAttemptAt!) - Date.now()).toBeGreaterThan(3500 * SECOND);
    });

    /** A call follow-up due now, of `maxAttempts`, for an org whose dialler answers every dial request `status`. */
    const dialledAnswering = async (status: number, maxAttempts: number, settings: Record<string, unknown> = {}) => {
      const dialler = await sink();
      dialler.respondWith(status);
      const o = await setup({ dialler: { url: dialler.url }, ...settings });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0), maxAttempts });
      return { dialler, o, c, f };
    };

    it.concurrent('should fail the attempt when the dialler refuses the dial request for good (a 4xx)', async () => {
      const { dialler, o, f } = await dialledAnswering(422, 2);
      const failed = await waitFor(o, f.id, { status: 'failed' });
      expect(failed).toMatchObject({ attempts: 2, lastError: 'HTTP 422' });
      expect(requestsFor(dialler, f.id).map((r) => r.body.attempt)).toEqual([1, 2]);
    });

    it.concurrent('should send the dial request again, counting no attempt, while the dialler is unavailable', async () => {
      // Regression: a 503 from a dialler that was restarting failed the attempt, and with the defaults a dialler away
      // for half an hour failed every callback due meanwhile. SPEC §5: a dialled attempt ends with a call or its timeout.
      const { dialler, o, c, f } = await dialledAnswering(503, 3, { attemptTimeoutSeconds: 60, retryDelaySeconds: 3600 });
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(2));
      dialler.respondWith(200);
      // sent again (3 s after the first refusal, then 6 s: a twentieth and a tenth of the timeout) until it is taken
      await eventually(() => expect(requestsFor(dialler, f.id).length).toBeGreaterThanOrEqual(3));
      await sleep(4500);
      const dials = requestsFor(dialler, f.id);
      expect(new Set(dials.map((r) => r.headers['webhook-id']))).toEqual(new Set([`${f.id}.1.1`]));
      expect(new Set(dials.map((r) => r.rawBody)).size).toBe(1);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      // the dialler's call ends the attempt as usual
      await pushCall(o, c.id, { followUpId: f.id, status: 'Called', durationSec: 30 });
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      expect(requestsFor(dialler, f.id)).toHaveLength(dials.length);
      expect(await scrapedMetric(t, 'follow_up_dial_requests_resent_total')).toBeGreaterThanOrEqual(2);
    });

    it.concurrent('should fail the attempt once no request fits in its timeout when the dialler stays unavailable', async () => {
      // timeout 6 s: sent again after 1 s and 2 s; the next would come within the attempt's redial margin (its last 3 s)
      const { dialler, o, c, f } = await dialledAnswering(503, 2, { attemptTimeoutSeconds: 6, retryDelaySeconds: 3600 });
      const retrying = await waitFor(o, f.id, { status: 'scheduled', attempts: 1, lastError: 'HTTP 503' });
      expect(Date.parse(retrying.nextAttemptAt!) - Date.now()).toBeGreaterThan(3000 * SECOND);
      const dials = requestsFor(dialler, f.id);
      expect(dials.length).toBeGreaterThanOrEqual(2);
      expect(new Set(dials.map((r) => r.headers['webhook-id']))).toEqual(new Set([`${f.id}.1.1`]));
      // before the attempt's timeout: the refusal was its result, not the timeout
      const events = await eventsOf(o, c.id, f.id);
      expect(timeOf(events, 'follow_up_attempt_failed') - timeOf(events, 'follow_up_attempt_started')).toBeLessThan(6 * SECOND);
      await sleep(2000);
      expect(requestsFor(dialler, f.id)).toHaveLength(dials.length);
    });
  });

  describe('calling window (SPEC §5 step 2, §7)', () => {
    /** An org with the default window (mon-sat 08:00-21:00) and an SMS sink; a contact where it is about 03:00 now. */
    const nightSetup = async () => {
      const sms = await sink();
      const o = await setup({ callingWindow: DEFAULT_WINDOW, sms: { url: sms.url } });
      const zone = nightZone();
      const c = await createContact(o, { timezone: zone });
      expect(c.timezone).toBe(zone);
      const hour = DateTime.now().setZone(zone).hour;
      expect(hour >= 1 && hour < 5).toBe(true);
      return { o, c, zone, sms };
    };

    it.concurrent.each(['call', 'sms'])('should defer a %s follow-up due at 03:00 local time to the next opening, counting no attempt', async (type) => {
      const { o, c, zone, sms } = await nightSetup();
      const f = await schedule(o, c.id, { type, scheduledAt: iso(0), ...(type === 'sms' ? { message: 'Hi' } : {}) });
      const expected = checkWindow(new Date(), zone, DEFAULT_WINDOW).nextOpening!.toISOString();
      const deferred = await waitFor(o, f.id, { nextAttemptAt: expected });
      expect(deferred).toMatchObject({ status: 'scheduled', attempts: 0, scheduledAt: f.scheduledAt, outOfWindow: false, lastError: null });
      // independently of checkWindow: 08:00 on the contact's wall clock, on a window day, after now and within two days
      const opening = DateTime.fromISO(expected).setZone(zone);
      expect(opening.toFormat('HH:mm')).toBe('08:00');
      expect(DEFAULT_WINDOW.days).toContain(opening.toFormat('ccc').toLowerCase());
      expect(opening.toMillis()).toBeGreaterThan(Date.now());
      expect(opening.toMillis() - Date.now()).toBeLessThan(2 * DAY + 6 * HOUR);

      const deferral = (await eventsOf(o, c.id, f.id)).find((e) => e.kind === 'follow_up_deferred');
      expect(deferral).toMatchObject({ data: { reason: 'out_of_window', nextAttemptAt: expected } });
      await sleep(300);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'scheduled', attempts: 0, nextAttemptAt: expected });
      expect(requestsFor(sms, f.id)).toEqual([]);
    });

    it.concurrent('should run a call out of window when allowOutOfWindow is true, marking it outOfWindow', async () => {
      const { o, c } = await nightSetup();
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0), allowOutOfWindow: true });
      const queued = await waitFor(o, f.id, { status: 'queued' });
      expect(queued).toMatchObject({ attempts: 1, outOfWindow: true, allowOutOfWindow: true, scheduledAt: f.scheduledAt });
      // the contact card shows the out-of-window marker (SPEC §8)
      const card = await send('get', `/api/contacts/${c.id}/follow-ups`, o.admin);
      expect(card.body.followUps).toEqual([expect.objectContaining({ id: f.id, outOfWindow: true, status: 'queued', attempts: 1, maxAttempts: 3 })]);
    });

    it.concurrent('should send an sms out of window when allowOutOfWindow is true, marking it outOfWindow', async () => {
      const { o, c, sms } = await nightSetup();
      const f = await schedule(o, c.id, { type: 'sms', message: 'Hi', scheduledAt: iso(0), allowOutOfWindow: true });
      const done = await waitFor(o, f.id, { status: 'completed' });
      expect(done).toMatchObject({ attempts: 1, outOfWindow: true });
      expect(requestsFor(sms, f.id)).toHaveLength(1);
      expect(requestsFor(sms, f.id)[0].body.to).toBe(c.phone);
    });

    it.concurrent('should run a webhook whatever the window', async () => {
      const { o, c } = await nightSetup();
      const hook = await sink();
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(0) });
      const done = await waitFor(o, f.id, { status: 'completed' });
      expect(done).toMatchObject({ attempts: 1, outOfWindow: false });
      expect(requestsFor(hook, f.id)).toHaveLength(1);
    });

    it.concurrent("should defer to the opening of a campaign's narrower window", async () => {
      const o = await setup({ callingWindow: DEFAULT_WINDOW });
      const campaignWindow: CallingWindow = { days: ALL_DAYS, start: '14:00', end: '15:00' };
      const campaign = await send('post', '/api/campaigns', o.admin, { name: 'Afternoons', callingWindow: campaignWindow });
      expect(campaign.status).toBe(201);
      const noonZone = etcZoneAtLocalHour(12);
      const c = await createContact(o, { timezone: noonZone, campaignId: campaign.body.id });
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0) });
      expect(f.campaignId).toBe(campaign.body.id);
      const expected = checkWindow(new Date(), noonZone, effectiveWindow(DEFAULT_WINDOW, campaignWindow)).nextOpening!.toISOString();
      expect(DateTime.fromISO(expected).setZone(noonZone).toFormat('HH:mm')).toBe('14:00');
      const deferred = await waitFor(o, f.id, { nextAttemptAt: expected });
      expect(deferred).toMatchObject({ status: 'scheduled', attempts: 0, scheduledAt: f.scheduledAt });
    });

    /** An org open 08:00-21:00 where it is about noon now, with an SMS sink, and a campaign of its own narrower window. */
    const noonOrgWithCampaign = async (name: string, window: { start: string; end: string }) => {
      const sms = await sink();
      const noonZone = etcZoneAtLocalHour(12);
      const o = await setup({ callingWindow: { days: ALL_DAYS, start: '08:00', end: '21:00' }, sms: { url: sms.url }, timezone: noonZone });
      const campaign = await send('post', '/api/campaigns', o.admin, { name, callingWindow: { days: ALL_DAYS, ...window } });
      expect(campaign.status).toBe(201);
      return { sms, noonZone, o, campaign };
    };

    it("should leave a text unsent, counted and logged, when the org's window was changed to have no time in common with its campaign's", async () => {
      const { sms, noonZone, o, campaign } = await noonOrgWithCampaign('Evenings', { start: '18:00', end: '20:00' });
      // later the org's window shrinks to mornings: the campaign's evenings no longer meet it
      expect((await send('patch', '/api/settings', o.admin, { callingWindow: { days: ALL_DAYS, start: '08:00', end: '12:00' } })).status).toBe(200);
      const c = await createContact(o, { timezone: noonZone, campaignId: campaign.body.id });
      const counted = () => scrapedMetric(t, 'follow_ups_window_never_opens_total');
      const before = await counted();

      const f = await schedule(o, c.id, { type: 'sms', message: 'Hi', scheduledAt: iso(0) });
      await eventually(async () => expect(await counted()).toBeGreaterThan(before), 20_000);
      expect((await send('get', `/api/follow-ups/${f.id}`, o.admin)).body).toMatchObject({ status: 'scheduled', attempts: 0 });
      expect(requestsFor(sms, f.id)).toEqual([]);

      // Its job waits to look again, not gone: regression, it completed, and once the admin widened the window again
      // nothing ever ran the follow-up (until expiry, or a jobs:reconcile).
      const job = await eventually(async () => {
        const j = (await t.app.get(JobQueues).queue(QueueName.FollowUps).getJob(`fu-exec.${f.id}.1`))!;
        expect(await j.getState()).toBe('delayed');
        return j;
      });
      expect(job.timestamp + job.delay).toBeGreaterThan(Date.now() + NEVER_OPENS_RECHECK_MS - 60_000);
      expect((await send('patch', '/api/settings', o.admin, { callingWindow: { days: ALL_DAYS, start: '08:00', end: '21:00' } })).status).toBe(200);
      await job.promote(); // as if the recheck's time had come
      const opening = checkWindow(new Date(), noonZone, { days: ALL_DAYS, start: '18:00', end: '20:00' }).nextOpening!.toISOString();
      await eventually(async () => expect((await send('get', `/api/follow-ups/${f.id}`, o.admin)).body).toMatchObject({ status: 'scheduled', attempts: 0, nextAttemptAt: opening }), 20_000);
      expect((await eventsOf(o, c.id, f.id)).map((e) => e.kind)).toEqual(['follow_up_scheduled', 'follow_up_deferred']);
    });

    it("should hold a text a crash left in flight while its window never opens, and send it once, under its webhook-id, when the window is widened", async () => {
      const { sms, noonZone, o, campaign } = await noonOrgWithCampaign('Lunch', { start: '11:00', end: '14:00' });
      const c = await createContact(o, { timezone: noonZone, campaignId: campaign.body.id });
      // due in an hour: its job waits; a worker counted the attempt (by hand here) and died before the provider had it
      const f = await schedule(o, c.id, { type: 'sms', message: 'Your quote is ready', scheduledAt: iso(3600_000) });
      await startAttemptByHand(t, o.orgId, c.id, f.id);
      // the org's window then shrinks to evenings, which the campaign's lunchtime never meets
      expect((await send('patch', '/api/settings', o.admin, { callingWindow: { days: ALL_DAYS, start: '18:00', end: '21:00' } })).status).toBe(200);
      const counted = () => scrapedMetric(t, 'follow_ups_window_never_opens_total');
      const before = await counted();
      // the job the outbox made when it was scheduled (due in an hour), run now, as BullMQ or jobs:reconcile would resume it
      const job = await eventually(async () => {
        const j = await t.app.get(JobQueues).queue(QueueName.FollowUps).getJob(`fu-exec.${f.id}.1`);
        expect(j).toBeTruthy();
        return j!;
      });
      await job.promote();
      await eventually(async () => expect(await counted()).toBeGreaterThan(before), 20_000);
      await eventually(async () => expect(await job.getState()).toBe('delayed'));
      await sleep(300);
      expect(requestsFor(sms, f.id)).toEqual([]);
      expect((await send('get', `/api/follow-ups/${f.id}`, o.admin)).body).toMatchObject({ status: 'in_progress', attempts: 1 });

      expect((await send('patch', '/api/settings', o.admin, { callingWindow: { days: ALL_DAYS, start: '08:00', end: '21:00' } })).status).toBe(200);
      await job.promote(); // as if the recheck's time had come
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      const sent = requestsFor(sms, f.id);
      expect(sent).toHaveLength(1);
      expectSigned(sent[0], o.secret, `${f.id}.1`);
      expect((await eventsOf(o, c.id, f.id)).map((e) => e.kind)).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_attempt_succeeded']);
    });

    it.concurrent("should apply the window in the org's current timezone to a contact created without one, after the admin changed it", async () => {
      // Every day 08:00-21:00: the window is open now where it is noon, and closed where it is about 03:00.
      const window: CallingWindow = { days: ALL_DAYS, start: '08:00', end: '21:00' };
      const sms = await sink();
      const o = await setup({ callingWindow: window, sms: { url: sms.url }, timezone: etcZoneAtLocalHour(12) });
      const c = await createContact(o, { timezone: undefined });
      // the admin then sets the org's real timezone, where it is night now
      const zone = nightZone();
      expect((await send('patch', '/api/settings', o.admin, { timezone: zone })).status).toBe(200);
      expect((await send('get', `/api/contacts/${c.id}`, o.admin)).body).toMatchObject({ timezone: zone, timezoneFromOrg: true });

      const f = await schedule(o, c.id, { type: 'sms', message: 'Hi', scheduledAt: iso(0) });
      const expected = checkWindow(new Date(), zone, window).nextOpening!.toISOString();
      expect(DateTime.fromISO(expected).setZone(zone).toFormat('HH:mm')).toBe('08:00');
      const deferred = await waitFor(o, f.id, { nextAttemptAt: expected });
      expect(deferred).toMatchObject({ status: 'scheduled', attempts: 0, outOfWindow: false });
      expect((await eventsOf(o, c.id, f.id)).map((e) => e.kind)).toEqual(['follow_up_scheduled', 'follow_up_deferred']);
      await sleep(300);
      expect(requestsFor(sms, f.id)).toEqual([]);
    });
  });

  describe('snooze, reschedule, cancel (SPEC §5)', () => {
    it.concurrent('should not run a snoozed follow-up at its old time, and run a rescheduled one at its new time, not before', async () => {
      const o = await setup({ snoozeDays: 2 });
      const hook = await sink();
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(1000) });

      const before = Date.now();
      const snoozed = await send('post', `/api/follow-ups/${f.id}/snooze`, o.admin);
      expect(snoozed.status).toBe(200);
      expect(snoozed.body).toMatchObject({ status: 'snoozed', attempts: 0 });
      expect(Date.parse(snoozed.body.scheduledAt)).toBeGreaterThanOrEqual(before + 2 * DAY - SECOND);
      expect(Date.parse(snoozed.body.scheduledAt)).toBeLessThanOrEqual(Date.now() + 2 * DAY + SECOND);
      expect(snoozed.body.nextAttemptAt).toBe(snoozed.body.scheduledAt);

      await sleep(Date.parse(f.scheduledAt) + 800 - Date.now()); // past the old due time
      expect(hook.requests).toEqual([]);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'snoozed', attempts: 0, scheduledAt: snoozed.body.scheduledAt });

      const newTime = iso(1000);
      const rescheduled = await send('post', `/api/follow-ups/${f.id}/reschedule`, o.admin, { scheduledAt: newTime });
      expect(rescheduled.status).toBe(200);
      expect(rescheduled.body).toMatchObject({ status: 'scheduled', scheduledAt: newTime, nextAttemptAt: newTime });
      await sleep(Date.parse(newTime) - 300 - Date.now());
      expect(hook.requests).toEqual([]);

      const done = await waitFor(o, f.id, { status: 'completed' });
      expect(done.attempts).toBe(1);
      expect(hook.requests).toHaveLength(1);
      expect(hook.requests[0].receivedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(newTime) - 20);
      expect(hook.requests[0].body.scheduledAt).toBe(newTime);
    });

    it.concurrent('should run a follow-up rescheduled earlier once, at its new time, and not again at the old one', async () => {
      const o = await setup();
      const hook = await sink();
      const c = await createContact(o);
      // The old time is far enough out that a loaded CI machine still delivers at the new time before it.
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(6000) });
      const newTime = iso(300);
      expect((await send('post', `/api/follow-ups/${f.id}/reschedule`, o.admin, { scheduledAt: newTime })).status).toBe(200);
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      expect(hook.requests[0].receivedAt.getTime()).toBeLessThan(Date.parse(f.scheduledAt));
      await sleep(Date.parse(f.scheduledAt) + 500 - Date.now());
      expect(hook.requests).toHaveLength(1);
      expect(hook.requests[0].body.scheduledAt).toBe(newTime);
    });

    it.concurrent('should never deliver a follow-up cancelled before its time', async () => {
      const o = await setup();
      const hook = await sink();
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(800) });
      const cancelled = await send('post', `/api/follow-ups/${f.id}/cancel`, o.admin, { reason: 'no longer needed' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      await sleep(Date.parse(f.scheduledAt) + 800 - Date.now());
      expect(hook.requests).toEqual([]);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'cancelled', attempts: 0 });
    });
  });

  describe('exactly once (SPEC §1, §5 step 1)', () => {
    it.concurrent('should execute a job delivered twice once', async () => {
      const o = await setup();
      const hook = await sink();
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(0) });
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });

      // the same job again, by reconcile and by hand (completed jobs are removed, so this one is added and runs)
      await t.app.get(JobReconciler).reconcile();
      const job = executeJob({ orgId: o.orgId, contactId: c.id, followUpId: f.id, schedule: 1 }, new Date().toISOString(), 'normal');
      await t.app.get(JobQueues).enqueue([job]);
      await t.app.get(JobQueues).enqueue([job]);
      await eventually(async () => expect(await t.app.get(JobQueues).queue(QueueName.FollowUps).getJob(job.jobId)).toBeFalsy());
      await sleep(300);
      expect(hook.requests).toHaveLength(1);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'completed', attempts: 1 });
    });

    it.concurrent('should execute once when its job is enqueued again and reconciled before it runs', async () => {
      const o = await setup();
      const hook = await sink();
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(800) });
      const job = executeJob({ orgId: o.orgId, contactId: c.id, followUpId: f.id, schedule: 1 }, f.scheduledAt, 'normal');
      await t.app.get(JobQueues).enqueue([job, job]);
      await t.app.get(JobReconciler).reconcile();
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      await sleep(500);
      expect(hook.requests).toHaveLength(1);
    });
  });

  describe('expiry (SPEC §5)', () => {
    it.concurrent('should expire open follow-ups overdue for longer than expireAfterDays, and only those', async () => {
      const o = await setup({ expireAfterDays: 1, retryDelaySeconds: 3600 });
      const failing = await sink();
      failing.respondWith(500);
      const c = await createContact(o);
      // a call with no dialler waits (queued) for its agent; a webhook that keeps failing waits for its next retry in 1 h
      const call = await schedule(o, c.id, { type: 'call', scheduledAt: iso(-2 * DAY) });
      const hook = await schedule(o, c.id, { type: 'webhook', url: failing.url, scheduledAt: iso(-2 * DAY), maxAttempts: 10 });
      const recent = await schedule(o, c.id, { type: 'call', scheduledAt: iso(-12 * HOUR) });

      for (const f of [call, hook]) {
        const expired = await waitFor(o, f.id, { status: 'expired' }, 30_000);
        expect(expired.scheduledAt).toBe(f.scheduledAt);
        expect(expired.resolvedAt).not.toBeNull();
      }
      await sleep(1000); // several more runs of the periodic job
      expect((await followUp(o, recent.id)).status).toBe('queued');
      expect(failing.requests.length).toBeLessThanOrEqual(1);
      const timeline = await send('get', `/api/contacts/${c.id}/timeline`, o.admin);
      expect(timeline.body.entries.filter((e: { kind: string }) => e.kind === 'follow_up_expired').map((e: { data: { followUpId: string } }) => e.data.followUpId).sort()).toEqual(
        [call.id, hook.id].sort(),
      );
    });
  });

  // Last: it deletes every Redis key of this file, the periodic expiry schedule included.
  describe('Redis loss (SPEC §1: Redis holds only what can be rebuilt)', () => {
    it('should still execute a follow-up once after its Redis keys are lost and jobs are reconciled', async () => {
      const o = await setup();
      const hook = await sink();
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'webhook', url: hook.url, scheduledAt: iso(3000) });
      const jobId = `fu-exec.${f.id}.1`;
      const queue = t.app.get(JobQueues).queue(QueueName.FollowUps);
      await eventually(async () => expect(await queue.getJob(jobId)).toBeTruthy());
      await sleep(500);

      await flushPrefix(t.name);
      expect(await queue.getJob(jobId)).toBeFalsy();
      await t.app.get(JobReconciler).reconcile();
      expect(await queue.getJob(jobId)).toBeTruthy();

      const done = await waitFor(o, f.id, { status: 'completed' }, 30_000);
      expect(done.attempts).toBe(1);
      await sleep(300);
      expect(hook.requests).toHaveLength(1);
      expect(hook.requests[0].receivedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(f.scheduledAt) - 20);
    });

    /**
     * The crash state of a call attempt whose worker died between counting it and sending its dial request: the
     * attempt start the worker appends, then Redis loses every key (the follow-up is due in an hour, so no job of its
     * own runs meanwhile).
     */
    const attemptCountedThenRedisLost = async (o: Org, c: { id: string }) => {
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(HOUR), maxAttempts: 1 });
      await t.app.get(FollowUpWriter).write(systemActor(o.orgId), c.id, () => ({
        type: 'StartFollowUpAttempt',
        contactId: c.id,
        followUpId: f.id,
        schedule: 1,
        now: new Date().toISOString(),
        window: { inWindow: true, nextOpening: null },
        agentId: o.agent.id,
      }));
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1 });
      // the timeout job the attempt start makes, enqueued before Redis loses it
      const queue = t.app.get(JobQueues).queue(QueueName.FollowUps);
      await eventually(async () => expect(await queue.getJob(`fu-timeout.${f.id}.1.1`)).toBeTruthy());
      await flushPrefix(t.name);
      return f;
    };

    it('should ring the lead for a call attempt counted but never dialled when Redis lost its jobs, under the webhook-id it would have had', async () => {
      // Regression: the attempt waited out attemptTimeoutSeconds (an hour) for a call nobody placed, and with
      // maxAttempts 1 the follow-up then failed without the lead ever being rung: reconcile re-created only its timeout.
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 3600 });
      const c = await createContact(o);
      const f = await attemptCountedThenRedisLost(o, c);
      expect(requestsFor(dialler, f.id)).toEqual([]);

      await t.app.get(JobReconciler).reconcile();
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(1));
      const [dial] = requestsFor(dialler, f.id);
      // the id the dial request had if it did leave before the crash: a dialler that placed that call drops this one
      expectSigned(dial, o.secret, `${f.id}.1.1`);
      expect(dial.body).toMatchObject({ type: 'call.dial', attempt: 1, maxAttempts: 1, to: c.phone, agentId: o.agent.id });
      // the same attempt, not a second one
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      await pushCall(o, c.id, { followUpId: f.id, status: 'Called', durationSec: 40 });
      expect(await followUp(o, f.id)).toMatchObject({ status: 'completed', attempts: 1 });
      expect((await eventsOf(o, c.id, f.id)).filter((e) => e.kind === 'follow_up_attempt_started')).toHaveLength(1);
      expect(requestsFor(dialler, f.id)).toHaveLength(1);
    });

    it('should not ring the lead again when jobs are reconciled and Redis lost nothing', async () => {
      // Reconcile is also run after a database outage (docs/operations.md): a dialled attempt's dial request left.
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 3600 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0) });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(1));
      const queue = t.app.get(JobQueues).queue(QueueName.FollowUps);
      await eventually(async () => expect(await queue.getJob(`fu-timeout.${f.id}.1.1`)).toBeTruthy());
      await eventually(async () => expect(await queue.getJob(`fu-exec.${f.id}.1`)).toBeFalsy());

      await t.app.get(JobReconciler).reconcile();
      await sleep(800);
      expect(requestsFor(dialler, f.id)).toHaveLength(1);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1 });
    });

    it('should still fail a dialled call attempt on its timeout after Redis loss and reconcile, though the dialler was removed meanwhile', async () => {
      // Regression: reconcile made a timeout job only for an org that has a dialler now, so the attempt dialled before the
      // admin removed it lost its timeout with Redis and stayed queued for good.
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 5, retryDelaySeconds: 3600 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0), maxAttempts: 2 });
      await eventually(() => expect(requestsFor(dialler, f.id)).toHaveLength(1));
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      expect((await send('patch', '/api/settings', o.admin, { dialler: { url: null } })).status).toBe(200);
      // the job outbox has made the attempt's jobs, so that Redis loses them (made after the flush, they would survive it)
      await consumersCaughtUp(t.db);
      await flushPrefix(t.name);
      await t.app.get(JobReconciler).reconcile();
      await waitFor(o, f.id, { status: 'scheduled', attempts: 1, lastError: expect.stringMatching(/timeout/i) }, 20_000);
      // nothing to ask again: the dialler is gone
      expect(requestsFor(dialler, f.id)).toHaveLength(1);
    });

    it('should neither dial nor time out, after Redis loss and reconcile, a call attempt started without a dialler, though one was added since', async () => {
      // Regression: reconcile took the dialler configured since for the attempt's own, and made it a timeout job that
      // failed the attempt its agent was to call (SPEC §5: without a dialler, no timeout).
      const dialler = await sink();
      const o = await setup({ attemptTimeoutSeconds: 2 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(0) });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      expect((await send('patch', '/api/settings', o.admin, { dialler: { url: dialler.url } })).status).toBe(200);
      await consumersCaughtUp(t.db);
      await flushPrefix(t.name);
      await t.app.get(JobReconciler).reconcile();
      await sleep(3000); // past the attempt timeout a timeout job would have had
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      expect(requestsFor(dialler, f.id)).toEqual([]);
      await pushCall(o, c.id, { status: 'Called', durationSec: 60 });
      expect(await followUp(o, f.id)).toMatchObject({ status: 'completed', attempts: 1 });
    });

    it("should text a lead whose SMS a crash left in flight only when the window opens, after Redis loss and reconcile at night, once, under the original webhook-id", async () => {
      // The worker counted the attempt and died before the provider had the text; Redis lost the jobs; the operator runs
      // jobs:reconcile while it is night where the lead is. Regression: the attempt was resumed at once, texting the lead
      // at night, though SPEC §5 binds texts to the calling window as it binds calls.
      const sms = await sink();
      // every day one hour, twelve hours from now (UTC, the contact's zone): shut now
      const opensAt = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
      const window: CallingWindow = { days: ALL_DAYS, start: `${opensAt}:00`, end: `${opensAt}:59` };
      const o = await setup({ sms: { url: sms.url }, callingWindow: window });
      const c = await createContact(o, { timezone: 'Etc/UTC' });
      // due in an hour: its own job does not run meanwhile (and Redis loses it)
      const f = await schedule(o, c.id, { type: 'sms', message: 'Your quote is ready', scheduledAt: iso(HOUR), maxAttempts: 2 });
      await startAttempt(o, c.id, f);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'in_progress', attempts: 1 });
      // the job outbox has made the follow-up's job (due in an hour), so that Redis loses it: made after the flush, it
      // would keep reconcile's job (the same id) out, and nothing would run before the hour
      await consumersCaughtUp(t.db);
      await flushPrefix(t.name);
      await t.app.get(JobReconciler).reconcile();
      const opening = checkWindow(new Date(), 'Etc/UTC', window).nextOpening!.toISOString();
      // the same attempt, counted once, its delivery waiting for the opening; the due time stays (SPEC §5 step 5)
      const waiting = await waitFor(o, f.id, { status: 'scheduled', attempts: 1, nextAttemptAt: opening });
      expect(waiting).toMatchObject({ scheduledAt: f.scheduledAt, lastError: null, outOfWindow: false });
      const events = await eventsOf(o, c.id, f.id);
      expect(events.map((e) => e.kind)).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_deferred']);
      expect(events[2].data).toMatchObject({ reason: 'out_of_window', nextAttemptAt: opening, schedule: 2 });
      await sleep(500);
      expect(requestsFor(sms, f.id)).toEqual([]);

      // The window opens: the service's clock is moved there, and the job for the opening (a delayed job of BullMQ,
      // which keeps real time) is run now.
      const clock = t.app.get(Clock);
      const shift = Date.parse(opening) + SECOND - Date.now();
      clock.now = () => new Date(Date.now() + shift);
      try {
        const job = await t.app.get(JobQueues).queue(QueueName.FollowUps).getJob(`fu-exec.${f.id}.2`);
        expect(job).toBeTruthy();
        await job!.promote();
        await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      } finally {
        delete (clock as Partial<Clock>).now; // the prototype's again
      }
      await sleep(300);
      const sent = requestsFor(sms, f.id);
      expect(sent).toHaveLength(1);
      // the id the text had if it did leave before the crash: a provider that sent it drops this one
      expectSigned(sent[0], o.secret, `${f.id}.1`);
      expect(sent[0].body).toMatchObject({ type: 'sms.send', attempt: 1, to: c.phone, message: 'Your quote is ready' });
      expect((await eventsOf(o, c.id, f.id)).map((e) => e.kind)).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_deferred', 'follow_up_attempt_succeeded']);
    });

    it('should keep expiring follow-ups after Redis keys are lost and jobs are reconciled', async () => {
      // Regression: Redis loses its data under a running service (failover without persistence) and `jobs:reconcile` runs
      // (here t.app.get(JobReconciler).reconcile()); docs/operations.md says "nothing else is needed". But the periodic
      // expiry job is gone for good: with EXPIRY_INTERVAL_MS 300 and expireAfterDays 1, a call follow-up due 2 days ago
      // stays `queued` (never `expired`) until a worker process restarts. The worker also prints "Missing key for job
      // repeat:follow-ups.expire:…" with console.error (the BullMQ workers have no 'error' listener, so it bypasses the
      // structured logger). Likely cause: the job scheduler is upserted only in ExpiryScheduler.onApplicationBootstrap;
      // JobReconciler re-creates only what the job sources list, and nothing re-upserts the repeatable expiry schedule.
      await flushPrefix(t.name);
      await t.app.get(JobReconciler).reconcile();
      const o = await setup({ expireAfterDays: 1 });
      const c = await createContact(o);
      const f = await schedule(o, c.id, { type: 'call', scheduledAt: iso(-2 * DAY) });
      await waitFor(o, f.id, { status: 'expired' }, 20_000);
    });
  });

  it('should not have answered any request of this file with a 500 (SPEC §9)', () => {
    client.expectNo5xx();
  });
});

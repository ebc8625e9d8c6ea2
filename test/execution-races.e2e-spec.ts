import { randomUUID } from 'node:crypto';
import { checkWindow } from '@app/contacts';
import { executeJob } from '@app/follow-ups';
import { JobQueues } from '@app/queue';
import { ALL_DAYS, ALWAYS_OPEN, consumersCaughtUp, eventually, executionOrg, followUpEvents, FollowUpView, HttpSink, readFollowUp, recordingClient, requestsFor, scheduleFollowUp, sinkPool, startAttemptByHand, startHttpSink, startTestApp, TestApp, TimelineEntry } from '@app/testing';
import { ExecuteFollowUpHandler } from '../libs/follow-ups/src/execute-follow-up/execute-follow-up.handler';
import { ExpireFollowUpsHandler } from '../libs/follow-ups/src/expire-follow-ups/expire-follow-ups.handler';

/**
 * Follow-up execution by the BullMQ workers racing what happens around it in production (SPEC §5): users who cancel,
 * snooze or reschedule while an attempt is in flight, diallers whose call lands as the attempt times out, the expiry
 * job, retries, and the same job delivered twice. What is asserted is what a user sees (the follow-up, its timeline,
 * the hub) and what the fake endpoints received; never a timing threshold.
 */

type FollowUp = FollowUpView;
type Entry = TimelineEntry;

const DAY = 24 * 3600_000;
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const ENDINGS = ['follow_up_completed', 'follow_up_cancelled', 'follow_up_expired'];

/**
 * SPEC §5 as a state machine over one follow-up's timeline: an attempt starts only while none is open and the
 * follow-up is open; each attempt gets at most one result (success, failure) or is withdrawn (snooze, reschedule)
 * or ended with the follow-up; nothing happens after an ending. Returns the attempts started, in order.
 */
function checkLifecycle(events: Entry[]): { starts: { attempt: number; schedule: number; version: number }[]; ending: Entry | null } {
  const starts: { attempt: number; schedule: number; version: number }[] = [];
  let open: { attempt: number; schedule: number } | null = null;
  let ending: Entry | null = null;
  const fail = (why: string, e: Entry) => {
    throw new Error(`${why} at ${e.kind} ${JSON.stringify(e.data)}\ntimeline: ${events.map((x) => `${x.version} ${x.kind} ${JSON.stringify(x.data)}`).join('\n')}`);
  };
  // the follow-up's own events: a call pushed for it is a record of the call, not a step of its lifecycle
  for (const e of events.filter((x) => x.kind.startsWith('follow_up_'))) {
    if (ending) fail('event after the follow-up ended', e);
    switch (e.kind) {
      case 'follow_up_attempt_started':
        if (open) fail(`attempt started while attempt ${open.attempt} is open`, e);
        open = { attempt: e.data.attempt, schedule: e.data.schedule };
        starts.push({ attempt: e.data.attempt, schedule: e.data.schedule, version: e.version });
        break;
      case 'follow_up_attempt_succeeded':
        if (!open || open.attempt !== e.data.attempt) fail('result for an attempt that is not open', e);
        open = null;
        ending = e;
        break;
      case 'follow_up_attempt_failed':
        if (!open || open.attempt !== e.data.attempt) fail('result for an attempt that is not open', e);
        open = null;
        if (e.data.retryAt === null) ending = e;
        break;
      case 'follow_up_snoozed':
      case 'follow_up_rescheduled':
        if ((e.data.withdrawnAttempt ?? null) !== (open?.attempt ?? null)) fail('withdrawn attempt is not the open one', e);
        open = null;
        break;
      default:
        if (ENDINGS.includes(e.kind)) {
          open = null;
          ending = e;
        }
    }
  }
  return { starts, ending };
}

/**
 * What a webhook receiver should have been sent for each attempt started, from the timeline alone: its number, under
 * the webhook-id of its due time (`<followUp>.<schedule>`, the schedule of the last snooze or reschedule before it, 1
 * before any), which retries keep and a snooze or reschedule changes (docs/operations.md, "Outbound requests").
 */
function webhookMessages(followUpId: string, events: Entry[]): string[] {
  let occurrence = 1;
  const sent: string[] = [];
  for (const e of events) {
    if (e.kind === 'follow_up_snoozed' || e.kind === 'follow_up_rescheduled') occurrence = e.data.schedule;
    if (e.kind === 'follow_up_attempt_started') sent.push(`${followUpId}.${occurrence} attempt ${e.data.attempt}`);
  }
  return sent;
}

/** The status the timeline says the follow-up is in (for the final-state check against the API). */
function statusFromTimeline(events: Entry[], type: 'webhook' | 'call'): string {
  let status = 'scheduled';
  for (const e of events) {
    switch (e.kind) {
      case 'follow_up_attempt_started':
        status = type === 'call' ? 'queued' : 'in_progress';
        break;
      case 'follow_up_attempt_succeeded':
      case 'follow_up_completed':
        status = 'completed';
        break;
      case 'follow_up_attempt_failed':
        status = e.data.retryAt === null ? 'failed' : 'scheduled';
        break;
      case 'follow_up_snoozed':
        status = 'snoozed';
        break;
      case 'follow_up_rescheduled':
        status = 'scheduled';
        break;
      case 'follow_up_cancelled':
        status = 'cancelled';
        break;
      case 'follow_up_expired':
        status = 'expired';
        break;
    }
  }
  return status;
}

jest.setTimeout(90_000);

let t: TestApp;
const sinks = sinkPool();
/** SPEC §9: never a 5xx. Concurrent tests share no afterEach, so a 5xx fails its own request, and all are checked at the end. */
const client = recordingClient(() => t, { throwOn5xx: true });
beforeAll(async () => {
  t = await startTestApp({ env: { EXPIRY_INTERVAL_MS: '200' } });
});
afterAll(async () => {
  await sinks.closeAll();
  await t?.close();
});

describe('follow-up execution races (SPEC §5)', () => {
  const { send } = client;

  const sink = () => sinks.open();
  const forFollowUp = requestsFor;

  /** An org (window always open, http to the sinks allowed, retries after 1 s) with one agent. */
  const setup = (settings: Record<string, unknown> = {}) => executionOrg(t, send, settings);
  type Org = Awaited<ReturnType<typeof setup>>;

  let phoneSeq = 2000;
  const createContact = async (o: Org): Promise<string> => {
    const res = await send('post', '/api/contacts', o.admin, { name: `Lead ${phoneSeq}`, phone: `+1415557${String(phoneSeq++).padStart(4, '0')}`, assignedAgentId: o.agent.id, timezone: 'Etc/UTC' });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const schedule = (o: Org, contactId: string, body: Record<string, unknown>) => scheduleFollowUp(send, o.admin, contactId, body);
  const followUp = (o: Org, id: string) => readFollowUp(send, o.admin, id);
  const waitFor = (o: Org, id: string, expected: Partial<FollowUp>, timeoutMs = 20_000) =>
    eventually(async () => {
      const f = await followUp(o, id);
      expect(f).toMatchObject(expected);
      return f;
    }, timeoutMs);
  const eventsOf = (o: Org, contactId: string, followUpId: string) => followUpEvents(send, o.admin, contactId, followUpId);
  const kinds = (events: Entry[]) => events.map((e) => e.kind);
  const change = (o: Org, id: string, action: 'cancel' | 'snooze' | 'reschedule' | 'complete', body?: Record<string, unknown>) =>
    send('post', `/api/follow-ups/${id}/${action}`, o.admin, body ?? {});
  const pushCall = (o: Org, contactId: string, body: Record<string, unknown>) =>
    send('post', '/api/calls', o.admin, {
      callId: randomUUID(),
      contactId,
      agentId: o.agent.id,
      direction: 'outbound',
      status: 'Called',
      durationSec: 42,
      startedAt: new Date().toISOString(),
      ...body,
    });
  /** The contacts in the agent's hub (SPEC §6). */
  const hubContacts = async (o: Org): Promise<string[]> => {
    const res = await send('get', '/api/follow-ups/due?limit=200', o.agent.apiKey);
    expect(res.status).toBe(200);
    return res.body.followUps.map((e: { contactId: string }) => e.contactId);
  };

  /**
   * The consistency every scenario ends with: the timeline is a valid lifecycle, the API's status is the one the
   * timeline implies, attempts are the attempts started and not withdrawn, and every started webhook attempt was
   * delivered exactly once, under the webhook-id of its due time (webhookMessages), and nothing else was delivered.
   */
  const expectConsistent = async (o: Org, contactId: string, f: { id: string }, type: 'webhook' | 'call', delivered?: HttpSink) => {
    const events = await eventsOf(o, contactId, f.id);
    const { starts, ending } = checkLifecycle(events);
    const now = await followUp(o, f.id);
    expect(now.status).toBe(statusFromTimeline(events, type));
    expect(now.resolvedAt === null).toBe(ending === null);
    const lastStart = starts[starts.length - 1];
    const withdrawnAfter = lastStart ? events.filter((e) => e.version > lastStart.version && e.data.withdrawnAttempt === lastStart.attempt).length : 0;
    expect(now.attempts).toBe(lastStart ? lastStart.attempt - withdrawnAfter : 0);
    if (delivered) {
      const sent = forFollowUp(delivered, f.id).map((r) => `${r.headers['webhook-id']} attempt ${r.body.attempt}`);
      expect([...sent].sort()).toEqual(webhookMessages(f.id, events).sort());
    }
    return { events, starts, ending, now };
  };

  /** A webhook follow-up of a new contact, due now, whose first delivery is in flight: the receiver holds it open. */
  const inFlight = async (o: Org, fields: Record<string, unknown> = { maxAttempts: 3 }) => {
    const hook = await sink();
    hook.hold();
    const c = await createContact(o);
    const f = await schedule(o, c, { type: 'webhook', url: hook.url, scheduledAt: iso(0), ...fields });
    await eventually(() => expect(forFollowUp(hook, f.id)).toHaveLength(1));
    return { hook, c, f };
  };

  describe('a user acts while a webhook is in flight', () => {
    it.concurrent.each([200, 500])('should stay cancelled when the webhook cancelled in flight answers %s late', async (lateStatus) => {
      const o = await setup();
      const { hook, c, f } = await inFlight(o);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'in_progress', attempts: 1 });

      const cancelled = await change(o, f.id, 'cancel', { reason: 'customer called in' });
      expect({ status: cancelled.status, body: cancelled.body }).toMatchObject({ status: 200, body: { status: 'cancelled' } });
      hook.respondWith(lateStatus);
      forFollowUp(hook, f.id)[0].release(lateStatus);

      // past the result's append and a retry delay (1 s): nothing reopens, completes or retries it
      await sleep(2500);
      const { events, now } = await expectConsistent(o, c, f, 'webhook', hook);
      expect(now).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect(kinds(events)).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_cancelled']);
      expect(forFollowUp(hook, f.id)).toHaveLength(1);
      // a user's second cancel is a conflict, not a 5xx, and changes nothing
      expect((await change(o, f.id, 'cancel')).status).toBe(409);
    });

    it.concurrent.each([
      ['before the new attempt starts', 200, null],
      ['after the new attempt started, failure then success', 500, 200],
      ['after the new attempt started, success then failure', 200, 500],
    ] as const)('should run a webhook rescheduled in flight once at its new time when the old attempt answers %s', async (_when, oldStatus, newStatus) => {
      const o = await setup({ retryDelaySeconds: 3600 });
      const { hook, c, f } = await inFlight(o);
      const [old] = forFollowUp(hook, f.id);

      const newTime = iso(1200);
      const moved = await change(o, f.id, 'reschedule', { scheduledAt: newTime });
      // SPEC §5 / withdrawal: the in-flight attempt no longer counts; the follow-up waits for its new time
      expect({ status: moved.status, body: moved.body }).toMatchObject({ status: 200, body: { status: 'scheduled', attempts: 0, scheduledAt: newTime, nextAttemptAt: newTime } });

      if (newStatus === null) {
        old.release(oldStatus);
        await sleep(300);
        expect(await followUp(o, f.id)).toMatchObject({ status: 'scheduled', attempts: 0, scheduledAt: newTime });
        hook.respondWith(200);
        await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      } else {
        // the new attempt is in flight too; the old one answers first, then the new one
        await eventually(() => expect(forFollowUp(hook, f.id)).toHaveLength(2));
        expect(await followUp(o, f.id)).toMatchObject({ status: 'in_progress', attempts: 1 });
        old.release(oldStatus);
        await sleep(500);
        // the old attempt's answer is not the new attempt's: still in flight
        expect(await followUp(o, f.id)).toMatchObject({ status: 'in_progress', attempts: 1 });
        forFollowUp(hook, f.id)[1].release(newStatus);
        if (newStatus === 200) await waitFor(o, f.id, { status: 'completed', attempts: 1 });
        else await waitFor(o, f.id, { status: 'scheduled', attempts: 1, lastError: 'HTTP 500' });
      }
      await sleep(1500);
      const { starts } = await expectConsistent(o, c, f, 'webhook', hook);
      const requests = forFollowUp(hook, f.id);
      expect(requests).toHaveLength(2);
      expect(requests[1].body.scheduledAt).toBe(newTime);
      expect(starts.map((s) => s.schedule)).toEqual([1, 2]);
      // attempt 1 again, at a new due time: a new message, which a receiver that had the withdrawn one does not drop
      expect(requests.map((r) => r.body.attempt)).toEqual([1, 1]);
      expect(requests[1].headers['webhook-id']).not.toBe(requests[0].headers['webhook-id']);
    });

    it.concurrent.each([200, 500])('should keep a webhook snoozed in flight snoozed when the old attempt answers %s, and run it once when rescheduled', async (oldStatus) => {
      const o = await setup({ retryDelaySeconds: 3600 });
      const { hook, c, f } = await inFlight(o);

      const snoozed = await change(o, f.id, 'snooze');
      expect({ status: snoozed.status, body: snoozed.body }).toMatchObject({ status: 200, body: { status: 'snoozed', attempts: 0 } });
      hook.respondWith(200);
      forFollowUp(hook, f.id)[0].release(oldStatus);
      await sleep(1500);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'snoozed', attempts: 0, scheduledAt: snoozed.body.scheduledAt, resolvedAt: null });
      expect(forFollowUp(hook, f.id)).toHaveLength(1);

      const newTime = iso(300);
      expect((await change(o, f.id, 'reschedule', { scheduledAt: newTime })).status).toBe(200);
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      await sleep(1000);
      const { events } = await expectConsistent(o, c, f, 'webhook', hook);
      expect(kinds(events)).toEqual([
        'follow_up_scheduled',
        'follow_up_attempt_started',
        'follow_up_snoozed',
        'follow_up_rescheduled',
        'follow_up_attempt_started',
        'follow_up_attempt_succeeded',
      ]);
      expect(forFollowUp(hook, f.id).map((r) => r.body.scheduledAt)).toEqual([f.scheduledAt, newTime]);
    });
  });

  describe('the same job delivered twice (SPEC §5 step 1)', () => {
    const payload = (o: Org, contactId: string, f: FollowUp) => ({ orgId: o.orgId, contactId, followUpId: f.id, schedule: 1 });
    /** A call follow-up of a new contact whose attempt 1 is queued, its dial request answered (attempts time out in an hour). */
    const dialled = async (settings: Record<string, unknown> = {}, fields: Record<string, unknown> = {}) => {
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 3600, ...settings });
      const c = await createContact(o);
      const f = await schedule(o, c, { type: 'call', scheduledAt: iso(0), maxAttempts: 3, ...fields });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      await eventually(() => expect(forFollowUp(dialler, f.id)).toHaveLength(1));
      return { dialler, o, c, f };
    };
    /** The job's handler run by hand: a twin (a job of its own), or the same job run again after a failure or a stall. */
    const run = (o: Org, contactId: string, f: FollowUp, redelivered = false) =>
      t.app.get(ExecuteFollowUpHandler).run(payload(o, contactId, f), { jobId: `by-hand.${f.id}`, attemptsMade: redelivered ? 1 : 0, redelivered });

    it.concurrent('should start one attempt and send one webhook when the job handler runs twice at once', async () => {
      const o = await setup();
      const hook = await sink();
      const c = await createContact(o);
      // due in a while: the two runs by hand come first, the queued job later finds it ended
      const f = await schedule(o, c, { type: 'webhook', url: hook.url, scheduledAt: iso(2000) });
      await Promise.all([run(o, c, f), run(o, c, f)]);
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      await sleep(Date.parse(f.scheduledAt) + 1000 - Date.now());
      await expectConsistent(o, c, f, 'webhook', hook);
      expect(forFollowUp(hook, f.id)).toHaveLength(1);
    });

    it.concurrent('should send one webhook when a duplicate of the job runs while its webhook is in flight', async () => {
      const o = await setup();
      const { hook, c, f } = await inFlight(o, {});
      // the same job again, by hand and through the queue under another id, while the first delivery is in flight
      const again = run(o, c, f, true);
      const twin = { ...executeJob(payload(o, c, f), iso(0), 'normal'), jobId: `twin.${f.id}` };
      await t.app.get(JobQueues).enqueue([twin]);
      await eventually(async () => expect(await t.app.get(JobQueues).queue(twin.queue).getJob(twin.jobId)).toBeFalsy());
      await sleep(300);
      expect(forFollowUp(hook, f.id)).toHaveLength(1);
      hook.respondWith(200);
      forFollowUp(hook, f.id)[0].release(200);
      await again;
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      await sleep(500);
      await expectConsistent(o, c, f, 'webhook', hook);
      expect(forFollowUp(hook, f.id)).toHaveLength(1);
    });

    it.concurrent('should ask the dialler again, under the same webhook-id, when the job runs again and finds its call attempt queued', async () => {
      const { dialler, o, c, f } = await dialled();
      // A twin (another job for the same schedule) finds the attempt waiting for its call: the dial request went out.
      await run(o, c, f);
      await sleep(300);
      expect(forFollowUp(dialler, f.id)).toHaveLength(1);
      // The job itself run again (its worker died after counting the attempt, perhaps before the dial request left):
      // the dialler is asked again for the same attempt, which is not counted twice.
      await run(o, c, f, true);
      const dials = forFollowUp(dialler, f.id);
      expect(dials).toHaveLength(2);
      expect(new Set(dials.map((r) => r.headers['webhook-id']))).toEqual(new Set([`${f.id}.1.1`]));
      expect(dials[1].body).toEqual(dials[0].body);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1 });
      // the dialler's call ends the attempt as usual
      const pushed = await pushCall(o, c, { followUpId: f.id, status: 'Called', durationSec: 30 });
      expect(pushed.status).toBe(201);
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      await expectConsistent(o, c, f, 'call');
    });

    it.concurrent('should record a failed attempt when the dialler refuses the repeated dial request', async () => {
      const { dialler, o, c, f } = await dialled({ retryDelaySeconds: 3600 });
      dialler.respondWith(422);
      await run(o, c, f, true);
      // the refusal is the attempt's result: retried after the delay, not left waiting out the attempt timeout
      await waitFor(o, f.id, { status: 'scheduled', attempts: 1 });
      const { events } = await expectConsistent(o, c, f, 'call');
      expect(events.filter((e) => e.kind === 'follow_up_attempt_failed').map((e) => e.data.attempt)).toEqual([1]);
      expect(forFollowUp(dialler, f.id).map((r) => r.headers['webhook-id'])).toEqual([`${f.id}.1.1`, `${f.id}.1.1`]);
    });

    it.concurrent('should ask for the job to run again, and send the same dial request then, while the dialler is unavailable; nothing once a call ended the attempt', async () => {
      const { dialler, o, c, f } = await dialled({ retryDelaySeconds: 3600 });
      dialler.respondWith(503);
      const again: { at: number; payload?: Record<string, unknown> }[] = [];
      const runAs = (extra: Record<string, unknown>, redelivered: boolean) =>
        t.app.get(ExecuteFollowUpHandler).run({ ...payload(o, c, f), ...extra }, {
          jobId: `by-hand.${f.id}`,
          attemptsMade: redelivered ? 1 : 0,
          redelivered,
          runAgainAt: (at, p) => void again.push({ at, payload: p }),
        });
      const before = Date.now();
      await runAs({}, true);
      const after = Date.now();
      // not a failed attempt: the job is to run again 15 s (and up to a fifth more) after the refusal (attemptTimeoutSeconds
      // 3600), saying it redials and why
      expect(again).toEqual([{ at: expect.any(Number), payload: { redial: 1, redialError: 'HTTP 503' } }]);
      expect(again[0].at - before).toBeGreaterThanOrEqual(15_000);
      expect(again[0].at - after).toBeLessThanOrEqual(18_000);
      await sleep(300);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      // that run (a job neither failed nor stalled, which would not resume the attempt otherwise) sends it again
      dialler.respondWith(200);
      await runAs({ redial: 1, redialError: 'HTTP 503' }, false);
      expect(again).toHaveLength(1);
      expect(forFollowUp(dialler, f.id).map((r) => r.headers['webhook-id'])).toEqual([`${f.id}.1.1`, `${f.id}.1.1`, `${f.id}.1.1`]);
      // a call ends the attempt: a later redial finds nothing to send
      expect((await pushCall(o, c, { followUpId: f.id, status: 'Called', durationSec: 30 })).status).toBe(201);
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      await runAs({ redial: 2 }, false);
      expect(forFollowUp(dialler, f.id)).toHaveLength(3);
      await expectConsistent(o, c, f, 'call');
    });

    it.concurrent('should cancel, not dial again, when the job runs again after the contact was archived', async () => {
      const { dialler, o, c, f } = await dialled();
      expect((await send('patch', `/api/contacts/${c}`, o.admin, { status: 'ARCHIVED' })).status).toBe(200);
      await run(o, c, f, true);
      await waitFor(o, f.id, { status: 'cancelled' });
      expect((await eventsOf(o, c, f.id)).filter((e) => e.kind === 'follow_up_cancelled').map((e) => e.data.reason)).toEqual([expect.stringMatching(/archived/)]);
      expect(forFollowUp(dialler, f.id)).toHaveLength(1);
    });

    it.concurrent("should not ask the dialler again when the job runs again after the attempt's timeout passed", async () => {
      // The timeout job is failing the attempt: a call placed now would ring the lead for an attempt already given up,
      // and the retry would ring them again. (The timeout is shortened after the attempt started, so that its own
      // timeout job, due in an hour, does not end the attempt first.)
      const { dialler, o, c, f } = await dialled();
      // the job outbox has made the attempt's timeout job (due in an hour) before the timeout is shortened: made after,
      // it would take the short one and fail the attempt, and its retry would dial again
      await consumersCaughtUp(t.db);
      expect((await send('patch', '/api/settings', o.admin, { attemptTimeoutSeconds: 1 })).status).toBe(200);
      await sleep(2200); // past the attempt's timeout, and the second settings are trusted for
      await run(o, c, f, true);
      await sleep(300);
      expect(forFollowUp(dialler, f.id)).toHaveLength(1);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1 });
    });

    /** A calling window, every day, shut now where the contacts are (Etc/UTC): open one hour, twelve hours from now. */
    const shutNow = () => {
      const hour = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
      return { days: ALL_DAYS, start: `${hour}:00`, end: `${hour}:59` };
    };

    it.concurrent.each([
      ['should not ask the dialler again', false],
      ['should ask the dialler again, for a follow-up allowed out of window,', true],
    ] as const)("%s when the job runs again after the contact's calling window closed", async (_what, allowOutOfWindow) => {
      // As after a crash, or a jobs:reconcile hours after Redis was lost: a dial request sent again now rings the lead at night.
      const { dialler, o, c, f } = await dialled({}, { allowOutOfWindow });
      // a settings write forgets this process's cached settings at once: the executor decides with the shut window
      expect((await send('patch', '/api/settings', o.admin, { callingWindow: shutNow() })).status).toBe(200);
      await run(o, c, f, true);
      await sleep(300);
      const dials = forFollowUp(dialler, f.id);
      expect(dials).toHaveLength(allowOutOfWindow ? 2 : 1);
      expect(new Set(dials.map((r) => r.headers['webhook-id']))).toEqual(new Set([`${f.id}.1.1`]));
      // not failed nor deferred by the job: the attempt waits for a call, or its timeout job, as before
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1 });
      expect(kinds(await eventsOf(o, c, f.id))).toEqual(['follow_up_scheduled', 'follow_up_attempt_started']);
    });

    it.concurrent('should not ask a dialler added since for a call attempt started without one when the job runs again', async () => {
      // Started without a dialler, the attempt is its agent's to call (SPEC §5); a dialler configured meanwhile is not
      // asked to place it. Regression: the job run again sent the dial request, as if the attempt had been dialled.
      const dialler = await sink();
      const o = await setup({ attemptTimeoutSeconds: 3600 });
      const c = await createContact(o);
      const f = await schedule(o, c, { type: 'call', scheduledAt: iso(0), maxAttempts: 3 });
      await waitFor(o, f.id, { status: 'queued', attempts: 1 });
      // a settings write forgets this process's cached settings at once: the executor sees the dialler
      expect((await send('patch', '/api/settings', o.admin, { dialler: { url: dialler.url } })).status).toBe(200);
      await run(o, c, f, true);
      await sleep(300);
      expect(forFollowUp(dialler, f.id)).toEqual([]);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      expect(kinds(await eventsOf(o, c, f.id))).toEqual(['follow_up_scheduled', 'follow_up_attempt_started']);
    });

    it.concurrent.each([
      ['should not text the lead now, deferring the delivery to the opening,', false],
      ['should text the lead again now, under the same webhook-id, for a follow-up allowed out of window,', true],
    ] as const)("%s when the job of an SMS left in flight runs again after the contact's calling window closed", async (_what, allowOutOfWindow) => {
      // As after a crash, or a jobs:reconcile hours after Redis was lost: SPEC §5 binds texts to the window as it binds calls.
      const sms = await sink();
      const o = await setup({ sms: { url: sms.url } });
      const c = await createContact(o);
      const f = await schedule(o, c, { type: 'sms', message: 'Your quote is ready', scheduledAt: iso(3600_000), allowOutOfWindow });
      // the worker counted the attempt and died before the provider had the text
      await startAttemptByHand(t, o.orgId, c, f.id);
      const window = shutNow();
      expect((await send('patch', '/api/settings', o.admin, { callingWindow: window })).status).toBe(200);
      await run(o, c, f, true);
      if (allowOutOfWindow) {
        await waitFor(o, f.id, { status: 'completed', attempts: 1 });
        expect(forFollowUp(sms, f.id).map((r) => `${r.headers['webhook-id']} attempt ${r.body.attempt}`)).toEqual([`${f.id}.1 attempt 1`]);
        return;
      }
      const opening = checkWindow(new Date(), 'Etc/UTC', window).nextOpening!.toISOString();
      // the same attempt, still counted once, its delivery waiting for the window's opening
      expect(await followUp(o, f.id)).toMatchObject({ status: 'scheduled', attempts: 1, nextAttemptAt: opening, scheduledAt: f.scheduledAt, resolvedAt: null });
      const events = await eventsOf(o, c, f.id);
      expect(kinds(events)).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_deferred']);
      checkLifecycle(events);
      // run again at night (a twin, BullMQ's redelivery of the old job): nothing
      await run(o, c, f, true);
      await sleep(300);
      expect(forFollowUp(sms, f.id)).toEqual([]);
      expect(kinds(await eventsOf(o, c, f.id))).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_deferred']);
    });

    it.concurrent('should record the text a stalled worker delivered after another worker deferred its attempt, and send nothing at the opening', async () => {
      // Worker A's job stalls while the provider holds its request; worker B, handed the job as the window closes, finds
      // the attempt open and defers its delivery to the opening. A's text then goes out. Regression: its success was
      // ignored as stale (the deferral had moved the schedule), and the opening texted the lead again.
      const sms = await sink();
      sms.hold();
      const o = await setup({ sms: { url: sms.url } });
      const c = await createContact(o);
      const f = await schedule(o, c, { type: 'sms', message: 'Your quote is ready', scheduledAt: iso(0) });
      await eventually(() => expect(forFollowUp(sms, f.id)).toHaveLength(1));
      await startAttemptByHand(t, o.orgId, c, f.id, { window: { inWindow: false, nextOpening: new Date(Date.now() + 12 * 3600_000).toISOString() } });
      expect(await followUp(o, f.id)).toMatchObject({ status: 'scheduled', attempts: 1 });
      forFollowUp(sms, f.id)[0].release(200);
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      const events = await eventsOf(o, c, f.id);
      expect(kinds(events)).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_deferred', 'follow_up_attempt_succeeded']);
      checkLifecycle(events);
      // the deferral's job, at the opening: nothing left to send
      await t.app.get(ExecuteFollowUpHandler).run({ ...payload(o, c, f), schedule: 2 }, { jobId: `by-hand.${f.id}.2`, attemptsMade: 0, redelivered: false });
      await sleep(300);
      expect(forFollowUp(sms, f.id)).toHaveLength(1);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'completed', attempts: 1 });
    });

    it.concurrent("should not ask the dialler again when the job runs again with less than the redial margin of the attempt's timeout left", async () => {
      // A call placed as the timeout fails the attempt rings the lead, and the retry rings them again. The margin of a
      // 10 s timeout is half of it (5 minutes or a tenth of the timeout, at most half); the job runs again 7 s in.
      const { dialler, o, c, f } = await dialled();
      const startedAt = Date.parse((await eventsOf(o, c, f.id)).find((e) => e.kind === 'follow_up_attempt_started')!.at);
      // the attempt's timeout job (due in an hour) is made before the timeout is shortened, or it would fail the attempt
      await consumersCaughtUp(t.db);
      expect((await send('patch', '/api/settings', o.admin, { attemptTimeoutSeconds: 10 })).status).toBe(200);
      await sleep(startedAt + 7000 - Date.now());
      await run(o, c, f, true);
      // the run came before the timeout passed: what kept the dial request back is the margin, not the timeout
      expect(Date.now()).toBeLessThan(startedAt + 10_000);
      await sleep(300);
      expect(forFollowUp(dialler, f.id)).toHaveLength(1);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1 });
    });

    it.concurrent('should send the dial request again no sooner than the dialler asked (Retry-After)', async () => {
      const { dialler, o, c, f } = await dialled({ retryDelaySeconds: 3600 });
      dialler.respondWith(503, 0, { 'retry-after': '120' });
      const again: number[] = [];
      const before = Date.now();
      await t.app.get(ExecuteFollowUpHandler).run(payload(o, c, f), { jobId: `by-hand.${f.id}`, attemptsMade: 1, redelivered: true, runAgainAt: (at) => void again.push(at) });
      // 120 s, not the 15 s of the first redial
      expect(again).toHaveLength(1);
      expect(again[0] - before).toBeGreaterThanOrEqual(120_000);
      expect(again[0] - before).toBeLessThan(125_000);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1, lastError: null });
      expect(forFollowUp(dialler, f.id)).toHaveLength(2);
    });

    it.concurrent("should record the dialler's last refusal as the attempt's result when a redial runs past the margin, sending nothing", async () => {
      // A redial planned inside the margin that BullMQ took up late (or put back for the fairness share): it used to
      // send nothing and record nothing, and the attempt waited out its timeout, failing with the timeout's reason.
      const { dialler, o, c, f } = await dialled({ retryDelaySeconds: 3600 });
      const startedAt = Date.parse((await eventsOf(o, c, f.id)).find((e) => e.kind === 'follow_up_attempt_started')!.at);
      await consumersCaughtUp(t.db);
      expect((await send('patch', '/api/settings', o.admin, { attemptTimeoutSeconds: 10 })).status).toBe(200);
      await sleep(startedAt + 7000 - Date.now());
      await t.app.get(ExecuteFollowUpHandler).run({ ...payload(o, c, f), redial: 3, redialError: 'HTTP 503' }, { jobId: `by-hand.${f.id}`, attemptsMade: 0, redelivered: false });
      expect(Date.now()).toBeLessThan(startedAt + 10_000); // before the timeout: the margin decided
      expect(await followUp(o, f.id)).toMatchObject({ status: 'scheduled', attempts: 1, lastError: 'HTTP 503' });
      expect(forFollowUp(dialler, f.id)).toHaveLength(1);
      await expectConsistent(o, c, f, 'call');
    });

    it.concurrent('should not ask the dialler again while this process is sending the dial request', async () => {
      const dialler = await sink();
      dialler.hold();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 3600 });
      const c = await createContact(o);
      const f = await schedule(o, c, { type: 'call', scheduledAt: iso(0), maxAttempts: 3 });
      await eventually(() => expect(forFollowUp(dialler, f.id)).toHaveLength(1));
      await run(o, c, f, true);
      await sleep(300);
      expect(forFollowUp(dialler, f.id)).toHaveLength(1);
      forFollowUp(dialler, f.id)[0].release(200);
      await sleep(300);
      expect(await followUp(o, f.id)).toMatchObject({ status: 'queued', attempts: 1 });
    });

    it.concurrent('should start one attempt when the job and twins under other ids come due together', async () => {
      const o = await setup();
      const hook = await sink();
      const c = await createContact(o);
      const f = await schedule(o, c, { type: 'webhook', url: hook.url, scheduledAt: iso(1000) });
      const job = executeJob(payload(o, c, f), f.scheduledAt, 'normal');
      await t.app.get(JobQueues).enqueue([1, 2, 3].map((n) => ({ ...job, jobId: `${job.jobId}.twin${n}` })));
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      await sleep(800);
      const { starts } = await expectConsistent(o, c, f, 'webhook', hook);
      expect(starts).toHaveLength(1);
      expect(forFollowUp(hook, f.id)).toHaveLength(1);
    });
  });

  describe('a call lands as the attempt times out (SPEC §5 step 3, call)', () => {
    // Offsets around the attempt timeout (1 s after the attempt started), so both orders occur across the leads.
    it.concurrent.each([
      ['Called', 30],
      ['No Answer', 0],
    ] as const)('should record one result per attempt when a %s call races the timeout', async (callStatus, durationSec) => {
      const dialler = await sink();
      const o = await setup({ dialler: { url: dialler.url }, attemptTimeoutSeconds: 1, retryDelaySeconds: 3600 });
      const offsets = [-150, -60, -20, 0, 20, 60, 150];
      await Promise.all(
        offsets.map(async (offset) => {
          const c = await createContact(o);
          const f = await schedule(o, c, { type: 'call', scheduledAt: iso(0), maxAttempts: 3 });
          await waitFor(o, f.id, { status: 'queued', attempts: 1 });
          const started = (await eventsOf(o, c, f.id)).find((e) => e.kind === 'follow_up_attempt_started')!;
          await sleep(Date.parse(started.data.at) + 1000 + offset - Date.now());
          const callId = randomUUID();
          const startedAt = new Date().toISOString();
          const pushed = await pushCall(o, c, { callId, followUpId: f.id, status: callStatus, durationSec, startedAt });
          expect({ status: pushed.status, body: pushed.body }).toMatchObject({ status: 201, body: { status: 'accepted' } });

          // both the call and the timeout job have had their say
          await eventually(async () => {
            const events = await eventsOf(o, c, f.id);
            expect(events.some((e) => e.data.callId === callId)).toBe(true);
            expect(events.filter((e) => e.kind === 'follow_up_attempt_failed' && /timeout/.test(e.data.reason)).length + (events.some((e) => e.data.callId === callId && e.data.attempt === 1) ? 1 : 0)).toBe(1);
          });
          await sleep(1500);
          const { events, starts, now } = await expectConsistent(o, c, f, 'call');
          const results = events.filter((e) => e.kind === 'follow_up_attempt_succeeded' || e.kind === 'follow_up_attempt_failed');
          // one result per attempt; the call is the result of attempt 1 (it won), or of an attempt 2 it started (it lost),
          // or, unanswered and placed before the timeout ended attempt 1, that attempt's late result: counted once, by
          // the timeout (follow-up.decider.ts callAttemptEvents)
          expect(results.map((e) => e.data.attempt)).toEqual(starts.map((s) => s.attempt));
          const callWon = results[0].data.callId === callId;
          const lateResult = !callWon && durationSec === 0 && startedAt < results[0].data.at;
          if (callWon) {
            expect(starts).toHaveLength(1);
          } else {
            expect(results[0].data).toMatchObject({ attempt: 1, reason: expect.stringMatching(/timeout/) });
            if (lateResult) expect(results).toHaveLength(1);
            else expect(results[1].data).toMatchObject({ attempt: 2, callId });
          }
          expect(now).toMatchObject({ attempts: callWon || lateResult ? 1 : 2, status: callStatus === 'Called' ? 'completed' : 'scheduled' });
          if (callStatus !== 'Called') expect(now.lastError).toMatch(lateResult ? /timeout/ : new RegExp(`^${callStatus}$`));
          // one dial request (the retry is an hour away)
          expect(forFollowUp(dialler, f.id)).toHaveLength(1);
          return { callWon, contactId: c, status: now.status };
        }),
      ).then(async (outcomes) => {
        // the hub lists the leads whose follow-up is still open, and only those
        const hub = await hubContacts(o);
        for (const x of outcomes) expect({ contactId: x.contactId, inHub: hub.includes(x.contactId) }).toEqual({ contactId: x.contactId, inHub: x.status !== 'completed' });
      });
    });
  });

  describe('expiry races an ending (SPEC §5 expiry)', () => {
    it.concurrent('should not expire a text while the provider holds its delivery, and record what the provider answered', async () => {
      // Overdue by 10 days with 7 to expire (an import's backlog, say): the text goes out at once, and the provider is
      // slow. Expired meanwhile, its success would be stale: the lead texted, the follow-up "expired".
      const sms = await sink();
      sms.hold();
      // kept 30 days while its text goes out (the periodic expiry, every 200 ms here, must not take it first), then 7
      const o = await setup({ sms: { url: sms.url }, expireAfterDays: 30 });
      const c = await createContact(o);
      const f = await schedule(o, c, { type: 'sms', message: 'Your quote is ready', scheduledAt: iso(-10 * DAY) });
      await eventually(() => expect(forFollowUp(sms, f.id)).toHaveLength(1));
      expect((await send('patch', '/api/settings', o.admin, { expireAfterDays: 7 })).status).toBe(200);
      await t.app.get(ExpireFollowUpsHandler).run();
      await sleep(500); // and the periodic runs (every 200 ms)
      expect(await followUp(o, f.id)).toMatchObject({ status: 'in_progress', attempts: 1 });
      forFollowUp(sms, f.id)[0].release(200);
      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      expect(kinds(await eventsOf(o, c, f.id))).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_attempt_succeeded']);
    });

    it.concurrent('should end each follow-up once, by whichever won, when expiry races complete, a call or the hub', async () => {
      // Overdue by 2 days, not expirable while the org keeps them 5; the admin shortens that to 1 as the race starts, so
      // some actions run before expiry could take them and some after (expiry counts calendar days, so a due time
      // cannot be made to cross the line at a chosen instant: the setting does).
      const o = await setup({ expireAfterDays: 5 });
      const expireHandler = t.app.get(ExpireFollowUpsHandler);
      const actions = ['complete', 'call', 'hub'] as const;
      const cases = await Promise.all(
        [0, 1, 2, 3].flatMap((i) =>
          actions.map(async (action) => {
            const c = await createContact(o);
            // a call without a dialler waits queued
            const f = await schedule(o, c, { type: 'call', scheduledAt: iso(-2 * DAY - i * 60_000) });
            return { c, f, action };
          }),
        ),
      );
      await waitFor(o, cases[0].f.id, { status: 'queued', attempts: 1 });
      const [shortened, ...answers] = await Promise.all([
        send('patch', '/api/settings', o.admin, { expireAfterDays: 1 }),
        ...cases.map(async ({ c, f, action }) => {
          // the periodic job runs every 200 ms; one more run by hand races the action for sure
          const [res] = await Promise.all([
            action === 'complete'
              ? change(o, f.id, 'complete')
              : action === 'call'
                ? pushCall(o, c, { followUpId: f.id, status: 'Called', durationSec: 25 })
                : send('patch', '/api/follow-ups/due', o.agent.apiKey, { personId: c, action: 'done' }),
            expireHandler.run(),
          ]);
          return res;
        }),
      ]);
      expect(shortened.status).toBe(200);
      await sleep(800); // more runs of the periodic job
      const hub = await hubContacts(o);
      for (const [i, { c, f, action }] of cases.entries()) {
        const res = answers[i];
        const { ending, now, events } = await expectConsistent(o, c, f, 'call');
        expect(ending).not.toBeNull();
        expect(events.filter((e) => ENDINGS.includes(e.kind) || e.kind === 'follow_up_attempt_succeeded')).toHaveLength(1);
        expect(hub).not.toContain(c);
        if (action === 'complete') {
          // the API's answer says who won: 200 completed, or 409 because it had expired
          expect([200, 409]).toContain(res.status);
          expect({ action, answered: res.status, status: now.status }).toEqual({ action, answered: res.status, status: res.status === 200 ? 'completed' : 'expired' });
        } else if (action === 'call') {
          expect({ status: res.status, body: res.body }).toMatchObject({ status: 201, body: { status: 'accepted' } });
          expect(['completed', 'expired']).toContain(now.status);
          // completed only through this call's success
          expect(now.status === 'completed').toBe(events.some((e) => e.kind === 'follow_up_attempt_succeeded' && e.data.callId === res.body.callId));
        } else {
          // the hub answers how many contacts its done updated: 1 (it won) or 0 (nothing due left: expired first)
          expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { ok: true, action: 'done' } });
          expect({ action, count: res.body.count, status: now.status }).toEqual({ action, count: res.body.count, status: res.body.count === 1 ? 'completed' : 'expired' });
        }
      }
    });
  });

  describe('a retry races a reschedule (SPEC §5 steps 4-5)', () => {
    it.concurrent('should make one next attempt when a user reschedules as the retry comes due', async () => {
      const o = await setup({ retryDelaySeconds: 1 });
      const offsets = [-100, -40, -10, 0, 10, 40, 100];
      await Promise.all(
        offsets.map(async (offset) => {
          const hook = await sink();
          hook.respondWith(500);
          const c = await createContact(o);
          const f = await schedule(o, c, { type: 'webhook', url: hook.url, scheduledAt: iso(0), maxAttempts: 3 });
          const retrying = await waitFor(o, f.id, { status: 'scheduled', attempts: 1, lastError: 'HTTP 500' });
          hook.respondWith(200);
          await sleep(Date.parse(retrying.nextAttemptAt!) + offset - Date.now());
          const newTime = iso(1500);
          const moved = await change(o, f.id, 'reschedule', { scheduledAt: newTime });
          // 409 only if the retry already completed it
          expect([200, 409]).toContain(moved.status);
          await waitFor(o, f.id, { status: 'completed' });
          await sleep(Math.max(Date.parse(newTime) - Date.now(), 0) + 1000);
          const { events, starts, now } = await expectConsistent(o, c, f, 'webhook', hook);
          expect(now.status).toBe('completed');
          if (moved.status === 200) {
            expect(moved.body).toMatchObject({ scheduledAt: newTime, nextAttemptAt: newTime });
            const rescheduled = events.find((e) => e.kind === 'follow_up_rescheduled')!;
            const after = starts.filter((s) => s.version > rescheduled.version);
            // exactly one attempt after the reschedule, made for its schedule, at the new time; none for the retry
            expect(after).toEqual([expect.objectContaining({ schedule: rescheduled.data.schedule })]);
            const last = forFollowUp(hook, f.id).at(-1)!;
            expect(last.body.scheduledAt).toBe(newTime);
          } else {
            expect(starts).toHaveLength(2);
          }
        }),
      );
    });
  });

  // Not concurrent, and last: it shuts down the service every other test runs on.
  describe('the service stops while a webhook is in flight (SPEC §5; Standard Webhooks)', () => {
    it('should end the follow-up once, delivering it only under its one webhook-id, when another instance takes over', async () => {
      const o = await setup();
      const { hook, c, f } = await inFlight(o);
      // due after the restart: only the new instance can run it
      const later = await schedule(o, c, { type: 'webhook', url: hook.url, scheduledAt: iso(2500) });

      // A rolling restart: the old instance shuts down (its workers take no new job and finish the active one) while the
      // new one boots on the same database and Redis; the receiver answers only then.
      const old = t;
      const closing = old.app.close();
      t = await old.reopen();
      hook.respondWith(200);
      for (const r of forFollowUp(hook, f.id)) r.release(200);
      await closing;

      await waitFor(o, f.id, { status: 'completed', attempts: 1 });
      await waitFor(o, later.id, { status: 'completed', attempts: 1 });
      await sleep(1500);
      // One attempt, ended once. The endpoint may have been sent it more than once (at-least-once), but only ever as the
      // same message: the webhook-id receivers de-duplicate on.
      const { starts, events } = await expectConsistent(o, c, f, 'webhook');
      expect(starts).toEqual([expect.objectContaining({ attempt: 1, schedule: 1 })]);
      expect(kinds(events)).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_attempt_succeeded']);
      const ids = forFollowUp(hook, f.id).map((r) => r.headers['webhook-id']);
      expect([...new Set(ids)]).toEqual([`${f.id}.1`]);
      await expectConsistent(o, c, later, 'webhook', hook);
      expect(forFollowUp(hook, later.id)).toHaveLength(1);
    });
  });

  it('should not have answered any request of this file with a 5xx (SPEC §9)', () => {
    client.expectNo5xx();
  });
});

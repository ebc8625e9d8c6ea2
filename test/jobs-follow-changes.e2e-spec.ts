import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { Queue } from 'bullmq';
import { BRING_FORWARD_DELAY_MS, BringForwardDeferredHandler } from '@app/follow-ups';
import { EventStore } from '@app/event-store';
import { JobQueues, JobReconciler, QueueName } from '@app/queue';
import { settingsStream } from '@app/settings';
import {
  ALL_DAYS,
  ALWAYS_OPEN,
  consumersCaughtUp,
  etcZoneAtLocalHour,
  eventually,
  executionOrg,
  followUpEvents,
  FollowUpView,
  nightZone,
  readFollowUp,
  recordingClient,
  requestsFor,
  scheduleFollowUp,
  sinkPool,
  startTestApp,
  TestApp,
} from '@app/testing';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Every day 08:00-21:00: closed where it is about 03:00 now. */
const DAYTIME = { days: ALL_DAYS, start: '08:00', end: '21:00' };

jest.setTimeout(120_000);

let t: TestApp;
const sinks = sinkPool();
const client = recordingClient(() => t, { throwOn5xx: true });
beforeAll(async () => {
  t = await startTestApp();
  BringForwardDeferredHandler.PAGE = 2; // a sweep walks several pages
});
afterAll(async () => {
  await sinks.closeAll();
  await t?.close();
});

/**
 * What an operator sees in Redis, and a lead on their phone, when follow-ups change: the jobs a change made pointless
 * leave Redis at once (not at their old time), and a change of the calling window brings deferred texts and calls
 * forward. Every test has its own org, sinks and contacts, so they run concurrently.
 */
describe('jobs follow the changes of their follow-ups', () => {
  const { send } = client;
  const setup = (settings: Record<string, unknown> = {}) => executionOrg(t, send, settings);
  type Org = Awaited<ReturnType<typeof setup>>;
  const followUps = (): Queue => t.app.get(JobQueues).queue(QueueName.FollowUps);
  /** The state of each job in Redis ('unknown': not there). */
  const states = (ids: string[]) => Promise.all(ids.map((id) => followUps().getJobState(id)));
  const exec = (f: { id: string }, schedule: number) => `fu-exec.${f.id}.${schedule}`;

  let phoneSeq = 2000;
  const createContact = async (o: Org, body: Record<string, unknown> = {}) => {
    const res = await send('post', '/api/contacts', o.admin, { name: 'Sam Reed', phone: `+1415559${String(phoneSeq++).padStart(4, '0')}`, assignedAgentId: o.agent.id, ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string; timezone: string; timezoneFromOrg: boolean };
  };
  const schedule = (o: Org, contactId: string, body: Record<string, unknown>) => scheduleFollowUp(send, o.admin, contactId, body);
  const waitFor = (o: Org, id: string, expected: Partial<FollowUpView>, timeoutMs = 30_000) =>
    eventually(async () => {
      const f = await readFollowUp(send, o.admin, id);
      expect(f).toMatchObject(expected);
      return f;
    }, timeoutMs);
  /** Deferred to a window's opening, at least an hour away (the leads are where it is about 03:00). */
  const waitDeferred = (o: Org, id: string) =>
    eventually(async () => {
      const f = await readFollowUp(send, o.admin, id);
      expect(f).toMatchObject({ status: 'scheduled', attempts: 0 });
      expect(Date.parse(f.nextAttemptAt!)).toBeGreaterThan(Date.now() + HOUR);
      return f;
    }, 30_000);
  const kinds = async (o: Org, f: FollowUpView) => (await followUpEvents(send, o.admin, f.contactId, f.id)).map((e) => e.kind);
  const patchSettings = async (o: Org, body: Record<string, unknown>) => expect((await send('patch', '/api/settings', o.admin, body)).status).toBe(200);

  describe('superseded jobs', () => {
    it.concurrent('should take the delayed jobs of far-future callbacks out of Redis when they are cancelled in bulk', async () => {
      const o = await setup();
      const contacts = await Promise.all(Array.from({ length: 60 }, () => createContact(o)));
      const cancelled: FollowUpView[][] = [];
      for (let round = 0; round < 5; round++) {
        cancelled.push(await Promise.all(contacts.map((c, i) => schedule(o, c.id, { type: 'call', scheduledAt: iso(60 * DAY + (round * 60 + i) * 1000) }))));
      }
      const kept = await schedule(o, contacts[0].id, { type: 'call', scheduledAt: iso(60 * DAY) });
      const ids = cancelled.flat().map((f) => exec(f, 1));
      expect(ids).toHaveLength(300);
      await eventually(async () => expect(new Set(await states([...ids, exec(kept, 1)]))).toEqual(new Set(['delayed'])), 30_000);

      // one follow-up per contact at a time: a CRM's bulk cancel
      for (const round of cancelled) {
        const answers = await Promise.all(round.map((f) => send('post', `/api/follow-ups/${f.id}/cancel`, o.admin, { reason: 'campaign closed' })));
        expect(answers.map((a) => a.status)).toEqual(round.map(() => 200));
      }

      // gone from Redis, not waiting two months to find themselves stale
      await eventually(async () => expect(new Set(await states(ids))).toEqual(new Set(['unknown'])), 30_000);
      const delayed = new Set((await followUps().getDelayed(0, -1)).map((j) => j.id));
      expect(ids.filter((id) => delayed.has(id))).toEqual([]);
      // the one not cancelled keeps its job
      expect(await states([exec(kept, 1)])).toEqual(['delayed']);
      expect(await readFollowUp(send, o.admin, cancelled[2][7].id)).toMatchObject({ status: 'cancelled', nextAttemptAt: null });
    });

    it.concurrent('should leave only the job of the new schedule after a snooze or a reschedule, and none after a completion by hand', async () => {
      const o = await setup({ snoozeDays: 3 });
      const c = await createContact(o);
      const [snoozed, moved, done] = await Promise.all([iso(HOUR), iso(HOUR), iso(HOUR)].map((at) => schedule(o, c.id, { type: 'call', scheduledAt: at })));
      await eventually(async () => expect(await states([exec(snoozed, 1), exec(moved, 1), exec(done, 1)])).toEqual(['delayed', 'delayed', 'delayed']));

      const until = (await send('post', `/api/follow-ups/${snoozed.id}/snooze`, o.admin)).body.scheduledAt as string;
      const newTime = iso(5 * DAY);
      expect((await send('post', `/api/follow-ups/${moved.id}/reschedule`, o.admin, { scheduledAt: newTime })).status).toBe(200);
      expect((await send('post', `/api/follow-ups/${done.id}/complete`, o.admin)).status).toBe(200);

      await eventually(async () =>
        expect(await states([exec(snoozed, 1), exec(snoozed, 2), exec(moved, 1), exec(moved, 2), exec(done, 1)])).toEqual(['unknown', 'delayed', 'unknown', 'delayed', 'unknown']),
      );
      // the new jobs are due at the new times
      for (const [f, at] of [
        [snoozed, until],
        [moved, newTime],
      ] as const) {
        const job = (await followUps().getJob(exec(f, 2)))!;
        expect(Math.abs(job.timestamp + job.delay - Date.parse(at))).toBeLessThan(2000);
      }
    });

    it.concurrent('should take out the timeout of a dialled call attempt once a pushed call ended it', async () => {
      const dialler = await sinks.open();
      const o = await setup({ dialler: { url: dialler.url }, retryDelaySeconds: 3600 });
      const c = await createContact(o);
      const [answered, unanswered] = await Promise.all([0, 1].map(() => schedule(o, c.id, { type: 'call', scheduledAt: iso(0), maxAttempts: 3 })));
      const timeout = (f: FollowUpView) => `fu-timeout.${f.id}.1.1`;
      await eventually(async () => {
        expect(requestsFor(dialler, answered.id)).toHaveLength(1);
        expect(requestsFor(dialler, unanswered.id)).toHaveLength(1);
        expect(await states([timeout(answered), timeout(unanswered)])).toEqual(['delayed', 'delayed']);
      }, 30_000);

      const push = (f: FollowUpView, status: string, durationSec: number) =>
        send('post', '/api/calls', o.admin, { callId: randomUUID(), contactId: c.id, agentId: o.agent.id, direction: 'outbound', status, durationSec, startedAt: new Date().toISOString(), followUpId: f.id });
      expect((await push(answered, 'Called', 42)).status).toBe(201);
      expect((await push(unanswered, 'No Answer', 0)).status).toBe(201);
      await waitFor(o, answered.id, { status: 'completed' });
      await waitFor(o, unanswered.id, { status: 'scheduled', attempts: 1 });

      // the hour-long timeouts are gone; the retry's job waits, and nothing is left of the first schedule
      await eventually(async () =>
        expect(await states([timeout(answered), timeout(unanswered), exec(unanswered, 1), exec(unanswered, 2)])).toEqual(['unknown', 'unknown', 'unknown', 'delayed']),
      );
    });
  });

  describe('a change of the calling window (SPEC §5 step 2, §7)', () => {
    it.concurrent('should send a deferred text soon after the window is widened, and not a snoozed, a later or a retrying one', async () => {
      const sms = await sinks.open();
      const o = await setup({ sms: { url: sms.url }, retryDelaySeconds: 3600, snoozeDays: 3 });
      const zone = nightZone();
      const c = await createContact(o, { timezone: zone });

      // While the window is open: one text fails its first attempt and waits an hour for its retry.
      sms.respondWith(503);
      const retrying = await schedule(o, c.id, { type: 'sms', message: 'Your quote', scheduledAt: iso(0), maxAttempts: 3 });
      const waiting = await waitFor(o, retrying.id, { status: 'scheduled', attempts: 1, lastError: 'HTTP 503' });
      sms.respondWith(200);

      // The admin narrows the window to daytime, where it is night for the leads: texts due now are deferred to 08:00.
      await patchSettings(o, { callingWindow: DAYTIME });
      const others = await Promise.all(Array.from({ length: 4 }, () => createContact(o, { timezone: zone })));
      const texts = await Promise.all([c, ...others].map((x) => schedule(o, x.id, { type: 'sms', message: 'Hi', scheduledAt: iso(0) })));
      const [deferred] = texts;
      for (const f of texts) await waitDeferred(o, f.id);
      // and a snoozed text and one due later wait for their own times
      const snoozed = await schedule(o, c.id, { type: 'sms', message: 'Later', scheduledAt: iso(HOUR) });
      const snooze = await send('post', `/api/follow-ups/${snoozed.id}/snooze`, o.admin);
      expect(snooze.body).toMatchObject({ status: 'snoozed' });
      const later = await schedule(o, c.id, { type: 'sms', message: 'Tomorrow', scheduledAt: iso(2 * HOUR) });
      await eventually(async () => expect(await states([exec(deferred, 2), exec(snoozed, 2), exec(later, 1), exec(retrying, 2)])).toEqual(['delayed', 'delayed', 'delayed', 'delayed']));

      // Then the admin opens the window all day: the deferred texts go now, not at 08:00.
      const widenedAt = Date.now();
      await patchSettings(o, { callingWindow: ALWAYS_OPEN });
      for (const f of texts) {
        await waitFor(o, f.id, { status: 'completed', attempts: 1 }, 90_000);
        const sent = requestsFor(sms, f.id);
        expect(sent).toHaveLength(1);
        // within a minute (seconds when the machine is not loaded), where the old opening is hours away
        expect(sent[0].receivedAt.getTime() - widenedAt).toBeLessThan(BRING_FORWARD_DELAY_MS + 60_000);
        expect(sent[0].body).toMatchObject({ type: 'sms.send', message: 'Hi', attempt: 1 });
      }

      await sleep(1500);
      expect(requestsFor(sms, snoozed.id)).toEqual([]);
      expect(requestsFor(sms, later.id)).toEqual([]);
      expect(requestsFor(sms, retrying.id)).toHaveLength(1);
      expect(await readFollowUp(send, o.admin, snoozed.id)).toMatchObject({ status: 'snoozed', scheduledAt: snooze.body.scheduledAt, nextAttemptAt: snooze.body.scheduledAt });
      expect(await readFollowUp(send, o.admin, later.id)).toMatchObject({ status: 'scheduled', scheduledAt: later.scheduledAt, nextAttemptAt: later.scheduledAt });
      expect(await readFollowUp(send, o.admin, retrying.id)).toMatchObject({ status: 'scheduled', attempts: 1, nextAttemptAt: waiting.nextAttemptAt });
      // none of them was run to be put back: their timelines hold no deferral, their jobs wait
      expect(await kinds(o, snoozed)).toEqual(['follow_up_scheduled', 'follow_up_snoozed']);
      expect(await kinds(o, later)).toEqual(['follow_up_scheduled']);
      expect(await kinds(o, retrying)).toEqual(['follow_up_scheduled', 'follow_up_attempt_started', 'follow_up_attempt_failed']);
      expect(await states([exec(snoozed, 2), exec(later, 1), exec(retrying, 2)])).toEqual(['delayed', 'delayed', 'delayed']);
    });

    it.concurrent('should defer again, to the new opening, a follow-up whose window is still closed after the change', async () => {
      const sms = await sinks.open();
      const o = await setup({ sms: { url: sms.url }, callingWindow: DAYTIME });
      const zone = nightZone();
      const c = await createContact(o, { timezone: zone });
      const f = await schedule(o, c.id, { type: 'sms', message: 'Hi', scheduledAt: iso(0) });
      const first = await waitDeferred(o, f.id);
      expect(DateTime.fromISO(first.nextAttemptAt!).setZone(zone).toFormat('HH:mm')).toBe('08:00');

      // opens an hour earlier: still closed at 03:00
      await patchSettings(o, { callingWindow: { ...DAYTIME, start: '07:00' } });
      const again = await eventually(async () => {
        const now = await readFollowUp(send, o.admin, f.id);
        expect(now).toMatchObject({ status: 'scheduled', attempts: 0, scheduledAt: f.scheduledAt });
        expect(DateTime.fromISO(now.nextAttemptAt!).setZone(zone).toFormat('HH:mm')).toBe('07:00');
        return now;
      }, 30_000);
      expect(Date.parse(again.nextAttemptAt!)).toBeLessThan(Date.parse(first.nextAttemptAt!));
      expect(await kinds(o, f)).toEqual(['follow_up_scheduled', 'follow_up_deferred', 'follow_up_deferred']);
      expect(requestsFor(sms, f.id)).toEqual([]);
      await eventually(async () => expect(await states([exec(f, 2), exec(f, 3)])).toEqual(['unknown', 'delayed']));
    });

    it.concurrent("should bring forward, after the org's timezone changed, the texts of contacts that take it and not of those with their own", async () => {
      const sms = await sinks.open();
      const zone = nightZone();
      const o = await setup({ sms: { url: sms.url }, callingWindow: DAYTIME, timezone: zone });
      const follows = await createContact(o);
      expect(follows).toMatchObject({ timezone: zone, timezoneFromOrg: true });
      const own = await createContact(o, { timezone: zone });
      const [fFollows, fOwn] = await Promise.all([follows, own].map((c) => schedule(o, c.id, { type: 'sms', message: 'Hi', scheduledAt: iso(0) })));
      await waitDeferred(o, fFollows.id);
      await waitDeferred(o, fOwn.id);
      await eventually(async () => expect(await states([exec(fFollows, 2), exec(fOwn, 2)])).toEqual(['delayed', 'delayed']));

      // the org moves to where it is noon now
      await patchSettings(o, { timezone: etcZoneAtLocalHour(12) });
      await waitFor(o, fFollows.id, { status: 'completed', attempts: 1 }, 30_000);
      expect(requestsFor(sms, fFollows.id)).toHaveLength(1);

      await sleep(1500);
      expect(requestsFor(sms, fOwn.id)).toEqual([]);
      expect(await kinds(o, fOwn)).toEqual(['follow_up_scheduled', 'follow_up_deferred']);
      expect(await states([exec(fOwn, 2)])).toEqual(['delayed']);
    });

    it.concurrent("should run no deferred follow-up again for a settings change that leaves the window and the timezone as they were, or the lead's next opening where it was", async () => {
      const sms = await sinks.open();
      const o = await setup({ sms: { url: sms.url }, callingWindow: DAYTIME });
      const c = await createContact(o, { timezone: nightZone() });
      const f = await schedule(o, c.id, { type: 'sms', message: 'Hi', scheduledAt: iso(0) });
      await waitDeferred(o, f.id);
      await eventually(async () => expect(await states([exec(f, 2)])).toEqual(['delayed']));

      // the settings' version before these changes: setup's own change of the window made a sweep, which may still wait
      const before = (await t.app.get(EventStore).readStream(o.orgId, settingsStream(o.orgId))).length;
      await patchSettings(o, { retryDelaySeconds: 120 });
      await patchSettings(o, { callingWindow: { start: '08:00' }, snoozeDays: 2 });
      // a change of the window that leaves the lead's next opening where it was (a later end, at their night)
      await patchSettings(o, { callingWindow: { end: '22:00' } });
      // The outbox has handled the first two changes and made no sweep for them (one would wait BRING_FORWARD_DELAY_MS in
      // Redis); the third made one...
      await consumersCaughtUp(t.db);
      const maintenance = t.app.get(JobQueues).queue(QueueName.Maintenance);
      const sweeps = async () =>
        (await maintenance.getJobs(['delayed', 'waiting', 'prioritized', 'active', 'failed'])).filter(
          (j) => j.id?.startsWith(`fu-forward.${o.orgId}.`) && Number(j.id.split('.').pop()) > before,
        );
      expect((await sweeps()).map((j) => j.id)).not.toContain(`fu-forward.${o.orgId}.${before + 1}`);
      expect((await sweeps()).map((j) => j.id)).not.toContain(`fu-forward.${o.orgId}.${before + 2}`);
      expect((await sweeps()).length).toBeLessThanOrEqual(1);
      // ...and past the time it ran, the worker with it, nothing ran again: the lead's window opens when it did
      await sleep(BRING_FORWARD_DELAY_MS + 4000);
      expect(await kinds(o, f)).toEqual(['follow_up_scheduled', 'follow_up_deferred']);
      expect(await states([exec(f, 2)])).toEqual(['delayed']);
      expect(requestsFor(sms, f.id)).toEqual([]);
      // while a change that opens the window sooner, still closed at the lead's night, does run it again (deferred anew)
      await patchSettings(o, { callingWindow: { start: '07:00' } });
      await eventually(async () => expect(await kinds(o, f)).toEqual(['follow_up_scheduled', 'follow_up_deferred', 'follow_up_deferred']), 30_000);
      expect(requestsFor(sms, f.id)).toEqual([]);
    });
  });

  // Last and alone: reconcile re-creates the jobs of every org of this file, which the concurrent tests must not meet.
  it('should not bring back, with jobs:reconcile, the jobs it removed', async () => {
    const o = await setup({ snoozeDays: 3 });
    const c = await createContact(o);
    const [cancelled, snoozed, moved, kept] = await Promise.all([0, 1, 2, 3].map(() => schedule(o, c.id, { type: 'call', scheduledAt: iso(HOUR) })));
    await eventually(async () => expect(new Set(await states([cancelled, snoozed, moved, kept].map((f) => exec(f, 1))))).toEqual(new Set(['delayed'])));
    expect((await send('post', `/api/follow-ups/${cancelled.id}/cancel`, o.admin)).status).toBe(200);
    expect((await send('post', `/api/follow-ups/${snoozed.id}/snooze`, o.admin)).status).toBe(200);
    expect((await send('post', `/api/follow-ups/${moved.id}/reschedule`, o.admin, { scheduledAt: iso(2 * HOUR) })).status).toBe(200);
    const expected = ['unknown', 'unknown', 'delayed', 'unknown', 'delayed', 'delayed'];
    const ids = [exec(cancelled, 1), exec(snoozed, 1), exec(snoozed, 2), exec(moved, 1), exec(moved, 2), exec(kept, 1)];
    await eventually(async () => expect(await states(ids)).toEqual(expected));

    await t.app.get(JobReconciler).reconcile();
    expect(await states(ids)).toEqual(expected);
  });

  afterAll(() => client.expectNo5xx());
});

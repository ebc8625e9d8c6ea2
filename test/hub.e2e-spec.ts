import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { Clock } from '@app/shared';
import { expectError, fieldsNamed, installNo5xxGuard, recordingClient, startTestApp, TestApp } from '@app/testing';

/**
 * SPEC §6, the follow-ups hub: the contract of an existing front end (field names, defaults, limits, order,
 * reasons and status codes are theirs). Every due time is built from the calendar day it must fall on, in the
 * viewer's time zone, so the tests hold at any hour.
 */

type User = { id: string; apiKey: string };
type HubItem = {
  id: string;
  contactId: string;
  contactName: string;
  reason: string;
  suggestedTiming: string;
  isHot: boolean;
  leadQuality: string;
  status: string;
  overdueDays: number;
  dueAt: string;
  leadStatus: string;
  followUpId: string | null;
};
type HubPage = { followUps: HubItem[]; counts: { all: number; overdue: number; today: number; hot: number } };
type Entry = { at: string; kind: string; actorId: string | null; data: Record<string, unknown>; version: number };

const HUB = '/api/follow-ups/due';
const DAY_MS = 86_400_000;
const ITEM_FIELDS = [
  'contactId',
  'contactName',
  'dueAt',
  'followUpId',
  'id',
  'isHot',
  'leadQuality',
  'leadStatus',
  'overdueDays',
  'reason',
  'status',
  'suggestedTiming',
];

/** A time on a UTC calendar day: `daysAgo` days before today (negative: after), at `hour` o'clock. */
const utcDay = (daysAgo: number, hour: number): Date =>
  DateTime.utc().startOf('day').minus({ days: daysAgo }).plus({ hours: hour }).toJSDate();

const mid = (a: DateTime | Date, b: DateTime | Date): Date => new Date((a.valueOf() + b.valueOf()) / 2);

// whole flows over HTTP with workers running, on a machine other suites share
jest.setTimeout(30_000);

describe('follow-ups hub (SPEC §6)', () => {
  let t: TestApp;
  /** Every response of the current test, to prove none was a 500. */
  const client = recordingClient(() => t);
  installNo5xxGuard(client);

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  const { get, post, patch } = client;

  let phoneSeq = 1000;
  const nextPhone = () => `+1415555${String(phoneSeq++).padStart(4, '0')}`;

  /** An org (UTC) with its admin, a supervisor and two agents. */
  const setup = async (agentTimezone?: string) => {
    const org = await t.createOrg('Org', 'UTC');
    const admin: User = { id: org.adminUserId, apiKey: org.adminKey };
    const supervisor = await t.createUser(org.adminKey, { name: 'Sue', role: 'supervisor' });
    const ana = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent', ...(agentTimezone ? { timezone: agentTimezone } : {}) });
    const bob = await t.createUser(org.adminKey, { name: 'Bob', role: 'agent' });
    return { org, admin, supervisor, ana, bob };
  };

  const createContact = async (adminKey: string, name: string, assignedAgentId: string | null, leadQuality = 'WARM'): Promise<string> => {
    const res = await post('/api/contacts', adminKey, { name, phone: nextPhone(), assignedAgentId, leadQuality });
    expect(res.status).toBe(201);
    return res.body.id;
  };

  const schedule = async (adminKey: string, contactId: string, dueAt: Date, extra: Record<string, unknown> = {}): Promise<string> => {
    const res = await post(`/api/contacts/${contactId}/follow-ups`, adminKey, { scheduledAt: dueAt.toISOString(), ...extra });
    expect(res.status).toBe(201);
    return res.body.id;
  };

  /** A contact assigned to `agentId` with one open call follow-up due at `dueAt`. */
  const dueContact = async (adminKey: string, agentId: string | null, name: string, leadQuality: string, dueAt: Date) => {
    const id = await createContact(adminKey, name, agentId, leadQuality);
    const followUpId = await schedule(adminKey, id, dueAt);
    return { id, followUpId, dueAt };
  };

  const hub = async (key: string, query = ''): Promise<HubPage> => {
    const res = await get(`${HUB}${query ? `?${query}` : ''}`, key);
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: expect.anything() });
    expect(Object.keys(res.body).sort()).toEqual(['counts', 'followUps']);
    return res.body;
  };
  const hubIds = async (key: string, query = ''): Promise<string[]> => (await hub(key, query)).followUps.map((f) => f.id);

  const act = (key: string, body: unknown) => patch(HUB, key, body);

  const followUp = async (adminKey: string, id: string) => {
    const res = await get(`/api/follow-ups/${id}`, adminKey);
    expect(res.status).toBe(200);
    return res.body as { id: string; status: string; scheduledAt: string; type: string };
  };

  const timeline = async (adminKey: string, contactId: string): Promise<Entry[]> => {
    const res = await get(`/api/contacts/${contactId}/timeline?limit=200`, adminKey);
    expect(res.status).toBe(200);
    return res.body.entries;
  };
  const followUpIdsOf = (entries: Entry[], kind: string): string[] => entries.filter((e) => e.kind === kind).map((e) => e.data.followUpId as string);

  describe('GET order, limit, counts and filters', () => {
    it('should order hot+overdue, hot, overdue, rest, oldest due first then by name, and cut with limit after ordering', async () => {
      const { admin, ana } = await setup();
      const k = admin.apiKey;
      // created out of order, so insertion order cannot pass for the hub's order
      const paul = await dueContact(k, ana.id, 'Paul', 'NURTURE', utcDay(0, 23));
      const adam = await dueContact(k, ana.id, 'Adam', 'HOT', utcDay(0, 15));
      const nina = await dueContact(k, ana.id, 'Nina', 'COLD', utcDay(1, 20));
      const hotB = await dueContact(k, ana.id, 'Hana B', 'HOT', utcDay(1, 10));
      const rita = await dueContact(k, ana.id, 'Rita', 'WARM', utcDay(0, 1));
      const olga = await dueContact(k, ana.id, 'Olga', 'WARM', utcDay(2, 8));
      const hotOld = await dueContact(k, ana.id, 'Hugo', 'HOT', utcDay(4, 10));
      const quinn = await dueContact(k, ana.id, 'Quinn', 'COLD', utcDay(0, 1));
      const zara = await dueContact(k, ana.id, 'Zara', 'HOT', utcDay(0, 5));
      const mia = await dueContact(k, ana.id, 'Mia', 'NURTURE', utcDay(1, 20));
      const hotA = await dueContact(k, ana.id, 'Hana A', 'HOT', utcDay(1, 10));
      await dueContact(k, ana.id, 'Tomorrow', 'HOT', utcDay(-1, 1));

      const full = [
        hotOld, hotA, hotB, // hot and overdue: 4 days, then the two 1-day ties by name
        zara, adam, // hot, due today: oldest first although the names sort the other way
        olga, mia, nina, // overdue: 2 days, then the 1-day tie by name
        quinn, rita, paul, // the rest: the tie at 01:00 by name, then 23:00
      ].map((c) => c.id);
      const counts = { all: 11, overdue: 6, today: 5, hot: 5 };

      const page = await hub(ana.apiKey, 'limit=200');
      expect(page.followUps.map((f) => f.id)).toEqual(full);
      expect(page.counts).toEqual(counts);

      // limit cuts after ordering; counts stay over the whole list
      expect(await hub(ana.apiKey, 'limit=2')).toEqual({ followUps: page.followUps.slice(0, 2), counts });
      expect(await hub(ana.apiKey, 'limit=1')).toEqual({ followUps: page.followUps.slice(0, 1), counts });
      // default limit is 10
      expect(await hub(ana.apiKey)).toEqual({ followUps: page.followUps.slice(0, 10), counts });
      expect(await hub(ana.apiKey, 'filter=all&limit=200')).toEqual(page);
    });

    it('should give each filter its subset in the hub order with the same counts', async () => {
      const { admin, ana } = await setup();
      const k = admin.apiKey;
      const hotOverdue = await dueContact(k, ana.id, 'Hot Overdue', 'HOT', utcDay(3, 9));
      const hotToday = await dueContact(k, ana.id, 'Hot Today', 'HOT', utcDay(0, 12));
      const overdue1 = await dueContact(k, ana.id, 'Overdue One', 'WARM', utcDay(1, 9));
      const overdue2 = await dueContact(k, ana.id, 'Overdue Two', 'COLD', utcDay(2, 9));
      const today1 = await dueContact(k, ana.id, 'Today One', 'NURTURE', utcDay(0, 2));
      const today2 = await dueContact(k, ana.id, 'Today Two', 'WARM', utcDay(0, 22));
      const counts = { all: 6, overdue: 3, today: 3, hot: 2 };

      const all = await hub(ana.apiKey, 'filter=all&limit=200');
      expect(all.followUps.map((f) => f.id)).toEqual([hotOverdue, hotToday, overdue2, overdue1, today1, today2].map((c) => c.id));
      const byId = new Map(all.followUps.map((f) => [f.id, f]));
      const pick = (...cs: { id: string }[]) => cs.map((c) => byId.get(c.id));

      expect(await hub(ana.apiKey, 'filter=overdue&limit=200')).toEqual({ followUps: pick(hotOverdue, overdue2, overdue1), counts });
      expect(await hub(ana.apiKey, 'filter=today&limit=200')).toEqual({ followUps: pick(hotToday, today1, today2), counts });
      expect(await hub(ana.apiKey, 'filter=hot&limit=200')).toEqual({ followUps: pick(hotOverdue, hotToday), counts });
      expect(await hub(ana.apiKey, 'filter=overdue&limit=2')).toEqual({ followUps: pick(hotOverdue, overdue2), counts });
      expect(await hub(ana.apiKey, 'filter=today&limit=1')).toEqual({ followUps: pick(hotToday), counts });
      expect(all.counts).toEqual(counts);
    });

    it('should answer an empty list with zero counts when nothing is due', async () => {
      const { admin, ana } = await setup();
      await dueContact(admin.apiKey, ana.id, 'Next week', 'HOT', utcDay(-6, 9));
      for (const filter of ['all', 'overdue', 'today', 'hot']) {
        expect(await hub(ana.apiKey, `filter=${filter}`)).toEqual({ followUps: [], counts: { all: 0, overdue: 0, today: 0, hot: 0 } });
      }
    });
  });

  describe('GET row fields', () => {
    it('should fill every field: reason and timing for 0, 1 and 4 days, isHot, ids, dueAt, leadStatus, status and followUpId', async () => {
      const { admin, ana } = await setup();
      const k = admin.apiKey;
      const four = await dueContact(k, ana.id, 'Sarah Lee', 'HOT', utcDay(4, 10));
      // more follow-ups on Sarah: followUpId and dueAt are those of the earliest OPEN CALL one
      const sms = await schedule(k, four.id, utcDay(5, 10), { type: 'sms', message: 'Hello' });
      const cancelled = await schedule(k, four.id, utcDay(5, 11));
      expect((await post(`/api/follow-ups/${cancelled}/cancel`, k, {})).status).toBe(200);
      await schedule(k, four.id, utcDay(0, 3));
      await schedule(k, four.id, utcDay(-1, 3));
      const one = await dueContact(k, ana.id, 'Omar', 'WARM', utcDay(1, 23));
      const zero = await dueContact(k, ana.id, 'Zoe', 'NURTURE', utcDay(0, 0));

      const page = await hub(ana.apiKey, 'limit=200');
      expect(page.followUps.map((f) => f.id)).toEqual([four.id, one.id, zero.id]);
      for (const f of page.followUps) expect(Object.keys(f).sort()).toEqual(ITEM_FIELDS);

      const leadStatus = async (id: string) => (await get(`/api/contacts/${id}`, k)).body.leadStatus as string;
      expect(page.followUps[0]).toEqual({
        id: four.id,
        contactId: four.id,
        contactName: 'Sarah Lee',
        reason: 'Follow-up overdue by 4 days',
        suggestedTiming: 'Overdue',
        isHot: true,
        leadQuality: 'HOT',
        status: 'ACTIVE',
        overdueDays: 4,
        dueAt: four.dueAt.toISOString(),
        leadStatus: await leadStatus(four.id),
        followUpId: four.followUpId,
      });
      expect(page.followUps[0].followUpId).not.toBe(sms);
      expect(page.followUps[1]).toEqual({
        id: one.id,
        contactId: one.id,
        contactName: 'Omar',
        reason: 'Follow-up overdue by 1 day',
        suggestedTiming: 'Overdue',
        isHot: false,
        leadQuality: 'WARM',
        status: 'ACTIVE',
        overdueDays: 1,
        dueAt: one.dueAt.toISOString(),
        leadStatus: await leadStatus(one.id),
        followUpId: one.followUpId,
      });
      expect(page.followUps[2]).toEqual({
        id: zero.id,
        contactId: zero.id,
        contactName: 'Zoe',
        reason: 'Follow-up due today',
        suggestedTiming: 'Due today',
        isHot: false,
        leadQuality: 'NURTURE',
        status: 'ACTIVE',
        overdueDays: 0,
        dueAt: zero.dueAt.toISOString(),
        leadStatus: await leadStatus(zero.id),
        followUpId: zero.followUpId,
      });
      expect(page.counts).toEqual({ all: 3, overdue: 2, today: 1, hot: 1 });
    });

    it("should follow a lead quality change at once: isHot and the group move with it", async () => {
      const { admin, ana } = await setup();
      const a = await dueContact(admin.apiKey, ana.id, 'Amy', 'WARM', utcDay(2, 9));
      const b = await dueContact(admin.apiKey, ana.id, 'Ben', 'COLD', utcDay(0, 9));
      expect(await hubIds(ana.apiKey)).toEqual([a.id, b.id]);
      expect((await patch(`/api/contacts/${b.id}`, admin.apiKey, { leadQuality: 'HOT' })).status).toBe(200);
      const page = await hub(ana.apiKey);
      expect(page.followUps.map((f) => [f.id, f.isHot, f.leadQuality])).toEqual([
        [b.id, true, 'HOT'],
        [a.id, false, 'WARM'],
      ]);
      expect(page.counts).toEqual({ all: 2, overdue: 1, today: 1, hot: 1 });
    });
  });

  describe("the agent's time zone", () => {
    it("should take today, overdueDays, reason, counts and done's reach from the agent's zone, not UTC", async () => {
      const now = DateTime.utc();
      // a zone whose date differs from UTC's right now, with at least an hour of its day left
      const zone = now.hour >= 10 ? 'Pacific/Kiritimati' : 'Pacific/Pago_Pago';
      const local = now.setZone(zone);
      expect(local.toISODate()).not.toBe(now.toISODate());
      const agentStart = local.startOf('day');
      const agentEnd = agentStart.plus({ days: 1 });
      const utcStart = now.startOf('day');
      const utcEnd = utcStart.plus({ days: 1 });
      const utcDaysAgo = (d: Date) => Math.round(utcStart.diff(DateTime.fromJSDate(d, { zone: 'utc' }).startOf('day'), 'days').days);
      const agentDaysAgo = (d: Date) => Math.round(agentStart.diff(DateTime.fromJSDate(d, { zone }).startOf('day'), 'days').days);

      // today for the agent, but another day in UTC (yesterday west of UTC, tomorrow east)
      const todayElsewhere = agentStart < utcStart ? mid(agentStart, utcStart) : mid(utcEnd, agentEnd);
      // yesterday for the agent, but not yesterday in UTC (today east of UTC, two days ago west)
      const yesterday = agentStart < utcStart ? mid(agentStart.minus({ days: 1 }), utcStart.minus({ days: 1 })) : mid(utcStart, agentStart);
      // later today for the agent (still in the future)
      const laterToday = mid(now, agentEnd);
      // tomorrow for the agent (today in UTC west of UTC)
      const tomorrow = agentEnd.plus({ hours: 1 }).toJSDate();
      expect([todayElsewhere, yesterday, laterToday, tomorrow].map(agentDaysAgo)).toEqual([0, 1, 0, -1]);
      expect(utcDaysAgo(todayElsewhere)).not.toBe(0);
      expect(utcDaysAgo(yesterday)).not.toBe(1);
      expect(laterToday.getTime()).toBeGreaterThan(Date.now());

      const { admin, ana } = await setup(zone);
      const k = admin.apiKey;
      const alpha = await dueContact(k, ana.id, 'Alpha', 'WARM', todayElsewhere);
      const bravo = await dueContact(k, ana.id, 'Bravo', 'WARM', yesterday);
      await dueContact(k, ana.id, 'Charlie', 'WARM', tomorrow);
      const delta = await dueContact(k, ana.id, 'Delta', 'WARM', laterToday);
      const echo = await dueContact(k, ana.id, 'Echo', 'WARM', yesterday);
      const echoLater = await schedule(k, echo.id, laterToday);
      const echoTomorrow = await schedule(k, echo.id, tomorrow);

      const todays = [alpha, delta].sort((x, y) => x.dueAt.getTime() - y.dueAt.getTime());
      const page = await hub(ana.apiKey, 'limit=200');
      expect(page.followUps.map((f) => f.contactName)).toEqual(['Bravo', 'Echo', ...todays.map((c) => (c === alpha ? 'Alpha' : 'Delta'))]);
      expect(page.counts).toEqual({ all: 4, overdue: 2, today: 2, hot: 0 });
      const row = (id: string) => page.followUps.find((f) => f.id === id)!;
      expect(row(bravo.id)).toMatchObject({ overdueDays: 1, reason: 'Follow-up overdue by 1 day', suggestedTiming: 'Overdue' });
      expect(row(alpha.id)).toMatchObject({ overdueDays: 0, reason: 'Follow-up due today', suggestedTiming: 'Due today' });
      expect(row(delta.id)).toMatchObject({ overdueDays: 0, reason: 'Follow-up due today', suggestedTiming: 'Due today', dueAt: laterToday.toISOString() });
      expect(await hubIds(ana.apiKey, 'filter=today')).toEqual(todays.map((c) => c.id));
      expect(await hubIds(ana.apiKey, 'filter=overdue')).toEqual([bravo.id, echo.id]);

      // done reaches every call follow-up due up to the end of the agent's today, and no further
      expect((await act(ana.apiKey, { personId: echo.id, action: 'done' })).body).toEqual({ ok: true, count: 1, action: 'done' });
      expect((await followUp(k, echo.followUpId)).status).toBe('completed');
      expect((await followUp(k, echoLater)).status).toBe('completed');
      expect((await followUp(k, echoTomorrow)).status).toBe('scheduled');
      const after = await hub(ana.apiKey, 'limit=200');
      expect(after.followUps.map((f) => f.id)).not.toContain(echo.id);
      expect(after.counts).toEqual({ all: 3, overdue: 1, today: 2, hot: 0 });
    });
  });

  describe('who is on the list', () => {
    it('should list only ACTIVE contacts assigned to the caller with an open call follow-up due by the end of today', async () => {
      const { admin, ana, bob } = await setup();
      const k = admin.apiKey;
      const archived = await dueContact(k, ana.id, 'Archived', 'HOT', utcDay(3, 8));
      const completed = await dueContact(k, ana.id, 'Completed', 'WARM', utcDay(3, 9));
      const cancelled = await dueContact(k, ana.id, 'Cancelled', 'WARM', utcDay(3, 10));
      const moved = await dueContact(k, ana.id, 'Moved', 'WARM', utcDay(3, 11));
      const stays = await dueContact(k, ana.id, 'Stays', 'WARM', utcDay(0, 12));

      const smsOnly = await createContact(k, 'Sms only', ana.id, 'HOT');
      await schedule(k, smsOnly, utcDay(1, 10), { type: 'sms', message: 'We tried to reach you' });
      const webhookOnly = await createContact(k, 'Webhook only', ana.id, 'HOT');
      await schedule(k, webhookOnly, utcDay(1, 10), { type: 'webhook', url: 'https://example.com/x' });
      const noteOnly = await createContact(k, 'Note only', ana.id, 'HOT');
      expect((await post(`/api/contacts/${noteOnly}/notes`, k, { text: 'Call her back on Monday' })).status).toBe(201);
      await dueContact(k, bob.id, "Bob's", 'HOT', utcDay(2, 10));
      await dueContact(k, null, 'Nobody', 'HOT', utcDay(2, 10));

      expect(await hubIds(ana.apiKey, 'limit=200')).toEqual([archived, completed, cancelled, moved, stays].map((c) => c.id));

      expect((await patch(`/api/contacts/${archived.id}`, k, { status: 'ARCHIVED' })).status).toBe(200);
      expect((await post(`/api/follow-ups/${completed.followUpId}/complete`, k, {})).status).toBe(200);
      expect((await post(`/api/follow-ups/${cancelled.followUpId}/cancel`, k, {})).status).toBe(200);
      expect((await patch(`/api/contacts/${moved.id}`, k, { assignedAgentId: bob.id })).status).toBe(200);

      // the very next reads reflect each write
      expect(await hub(ana.apiKey, 'limit=200')).toEqual({ followUps: [expect.objectContaining({ id: stays.id })], counts: { all: 1, overdue: 0, today: 1, hot: 0 } });
      const bobs = await hub(bob.apiKey, 'limit=200');
      expect(bobs.followUps.map((f) => f.contactName)).toEqual(["Bob's", 'Moved']);
      expect(bobs.counts).toEqual({ all: 2, overdue: 2, today: 0, hot: 1 });

      // archiving only takes it off the hub: back to ACTIVE, back on the list
      expect((await patch(`/api/contacts/${archived.id}`, k, { status: 'ACTIVE' })).status).toBe(200);
      expect(await hubIds(ana.apiKey, 'limit=200')).toEqual([archived.id, stays.id]);
    });

    it('should drop a contact when its last due call follow-up is rescheduled past today, and list it when one is scheduled due', async () => {
      const { admin, ana } = await setup();
      const k = admin.apiKey;
      const c = await dueContact(k, ana.id, 'Rescheduled', 'WARM', utcDay(1, 9));
      expect(await hubIds(ana.apiKey)).toEqual([c.id]);
      const res = await post(`/api/follow-ups/${c.followUpId}/reschedule`, k, { scheduledAt: utcDay(-2, 9).toISOString() });
      expect(res.status).toBe(200);
      expect(await hub(ana.apiKey)).toEqual({ followUps: [], counts: { all: 0, overdue: 0, today: 0, hot: 0 } });
      const again = await schedule(k, c.id, utcDay(0, 6));
      expect(await hub(ana.apiKey)).toEqual({
        followUps: [expect.objectContaining({ id: c.id, followUpId: again, dueAt: utcDay(0, 6).toISOString(), overdueDays: 0 })],
        counts: { all: 1, overdue: 0, today: 1, hot: 0 },
      });
    });
  });

  describe('PATCH done and snooze', () => {
    it('should snooze by snoozeDays and complete with done, updating counts on the next read and the timeline', async () => {
      const { admin, ana } = await setup();
      const k = admin.apiKey;
      const hot = await dueContact(k, ana.id, 'Hot', 'HOT', utcDay(2, 9));
      const hotSecond = await schedule(k, hot.id, utcDay(0, 1));
      const overdue = await dueContact(k, ana.id, 'Overdue', 'COLD', utcDay(1, 9));
      const today = await dueContact(k, ana.id, 'Today', 'WARM', utcDay(0, 9));
      expect(await hub(ana.apiKey)).toMatchObject({ counts: { all: 3, overdue: 2, today: 1, hot: 1 } });

      const before = Date.now();
      const snoozed = await act(ana.apiKey, { personId: hot.id, action: 'snooze' });
      const afterSnooze = Date.now();
      expect({ status: snoozed.status, body: snoozed.body }).toEqual({ status: 200, body: { ok: true, count: 1, action: 'snooze' } });
      expect(await hub(ana.apiKey)).toEqual({
        followUps: [expect.objectContaining({ id: overdue.id }), expect.objectContaining({ id: today.id })],
        counts: { all: 2, overdue: 1, today: 1, hot: 0 },
      });
      expect(await hub(ana.apiKey, 'filter=hot')).toEqual({ followUps: [], counts: { all: 2, overdue: 1, today: 1, hot: 0 } });
      for (const id of [hot.followUpId, hotSecond]) {
        const f = await followUp(k, id);
        expect(f.status).toBe('snoozed');
        const at = Date.parse(f.scheduledAt);
        expect(at).toBeGreaterThanOrEqual(before + 3 * DAY_MS - 1000);
        expect(at).toBeLessThanOrEqual(afterSnooze + 3 * DAY_MS + 1000);
      }
      expect(followUpIdsOf(await timeline(k, hot.id), 'follow_up_snoozed').sort()).toEqual([hot.followUpId, hotSecond].sort());
      expect(followUpIdsOf(await timeline(k, hot.id), 'follow_up_completed')).toEqual([]);

      const done = await act(ana.apiKey, { personIds: [overdue.id], action: 'done' });
      expect({ status: done.status, body: done.body }).toEqual({ status: 200, body: { ok: true, count: 1, action: 'done' } });
      expect(await hub(ana.apiKey)).toEqual({ followUps: [expect.objectContaining({ id: today.id })], counts: { all: 1, overdue: 0, today: 1, hot: 0 } });
      expect((await followUp(k, overdue.followUpId)).status).toBe('completed');
      const entries = await timeline(k, overdue.id);
      expect(followUpIdsOf(entries, 'follow_up_completed')).toEqual([overdue.followUpId]);
      expect(entries.find((e) => e.kind === 'follow_up_completed')?.actorId).toBe(ana.id);

      const last = await act(ana.apiKey, { personIds: [today.id], action: 'done' });
      expect(last.body).toEqual({ ok: true, count: 1, action: 'done' });
      expect(await hub(ana.apiKey)).toEqual({ followUps: [], counts: { all: 0, overdue: 0, today: 0, hot: 0 } });
    });

    it("should update only the caller's contacts: another agent's and another org's are dropped silently, none of them left is 404", async () => {
      const { admin, ana, bob } = await setup();
      const k = admin.apiKey;
      const mine1 = await dueContact(k, ana.id, 'Mine one', 'WARM', utcDay(1, 9));
      const mine2 = await dueContact(k, ana.id, 'Mine two', 'WARM', utcDay(1, 10));
      const mine3 = await dueContact(k, ana.id, 'Mine three', 'WARM', utcDay(1, 11));
      const bobs = await dueContact(k, bob.id, "Bob's", 'HOT', utcDay(1, 9));
      const other = await setup();
      const foreign = await dueContact(other.admin.apiKey, other.ana.id, 'Foreign', 'HOT', utcDay(1, 9));

      const mixed = await act(ana.apiKey, { personIds: [bobs.id, mine1.id, foreign.id, mine2.id, randomUUID(), 'not-a-uuid'], action: 'done' });
      expect({ status: mixed.status, body: mixed.body }).toEqual({ status: 200, body: { ok: true, count: 2, action: 'done' } });
      expect(await hubIds(ana.apiKey)).toEqual([mine3.id]);

      for (const body of [
        { personIds: [bobs.id, foreign.id], action: 'done' },
        { personId: bobs.id, action: 'snooze' },
        { personId: foreign.id, action: 'done' },
        { personId: randomUUID(), action: 'done' },
        { personId: 'not-a-uuid', action: 'done' },
      ]) {
        expectError(await act(ana.apiKey, body), 404, 'Not Found');
      }
      // the others' contacts are untouched
      expect(await hub(bob.apiKey)).toEqual({ followUps: [expect.objectContaining({ id: bobs.id })], counts: { all: 1, overdue: 1, today: 0, hot: 1 } });
      expect((await followUp(k, bobs.followUpId)).status).not.toMatch(/completed|snoozed/);
      expect(followUpIdsOf(await timeline(k, bobs.id), 'follow_up_completed')).toEqual([]);
      expect(await hubIds(other.ana.apiKey)).toEqual([foreign.id]);
      expect((await followUp(other.admin.apiKey, foreign.followUpId)).status).not.toMatch(/completed|snoozed/);
      // an admin acting through the hub acts on the contacts assigned to the admin: none here
      expectError(await act(k, { personIds: [mine3.id], action: 'done' }), 404, 'Not Found');
      expect(await hubIds(ana.apiKey)).toEqual([mine3.id]);

      // the single form
      const single = await act(ana.apiKey, { personId: mine3.id, action: 'snooze' });
      expect({ status: single.status, body: single.body }).toEqual({ status: 200, body: { ok: true, count: 1, action: 'snooze' } });
      expect(await hub(ana.apiKey)).toEqual({ followUps: [], counts: { all: 0, overdue: 0, today: 0, hot: 0 } });
    });

    it("should answer 200 with count 0 for the caller's own contact with nothing due, so a repeated done changes nothing", async () => {
      const { admin, ana } = await setup();
      const c = await dueContact(admin.apiKey, ana.id, 'Twice', 'WARM', utcDay(1, 9));
      const later = await dueContact(admin.apiKey, ana.id, 'Next week', 'WARM', utcDay(-5, 9));
      expect((await act(ana.apiKey, { personId: c.id, action: 'done' })).body).toEqual({ ok: true, count: 1, action: 'done' });
      const again = await act(ana.apiKey, { personIds: [c.id, later.id], action: 'done' });
      expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: { ok: true, count: 0, action: 'done' } });
      expect(followUpIdsOf(await timeline(admin.apiKey, c.id), 'follow_up_completed')).toEqual([c.followUpId]);
      expect((await followUp(admin.apiKey, later.followUpId)).status).toBe('scheduled');
    });

    it('should let the new agent, not the old one, act on a reassigned contact', async () => {
      const { admin, ana, bob } = await setup();
      const c = await dueContact(admin.apiKey, ana.id, 'Moving', 'HOT', utcDay(1, 9));
      expect((await patch(`/api/contacts/${c.id}`, admin.apiKey, { assignedAgentId: bob.id })).status).toBe(200);
      expectError(await act(ana.apiKey, { personId: c.id, action: 'done' }), 404, 'Not Found');
      expect(await hubIds(bob.apiKey)).toEqual([c.id]);
      expect((await act(bob.apiKey, { personId: c.id, action: 'done' })).body).toEqual({ ok: true, count: 1, action: 'done' });
      expect(await hubIds(bob.apiKey)).toEqual([]);
      expect((await timeline(admin.apiKey, c.id)).find((e) => e.kind === 'follow_up_completed')?.actorId).toBe(bob.id);
    });

    it("should snooze by the organization's snoozeDays once an admin changes it", async () => {
      const { admin, ana } = await setup();
      const settings = await patch('/api/settings', admin.apiKey, { snoozeDays: 5 });
      expect(settings.status).toBe(200);
      const c = await dueContact(admin.apiKey, ana.id, 'Five days', 'WARM', utcDay(1, 9));
      const before = Date.now();
      expect((await act(ana.apiKey, { personIds: [c.id], action: 'snooze' })).body).toEqual({ ok: true, count: 1, action: 'snooze' });
      const after = Date.now();
      const f = await followUp(admin.apiKey, c.followUpId);
      expect(f.status).toBe('snoozed');
      expect(Date.parse(f.scheduledAt)).toBeGreaterThanOrEqual(before + 5 * DAY_MS - 1000);
      expect(Date.parse(f.scheduledAt)).toBeLessThanOrEqual(after + 5 * DAY_MS + 1000);
    });

    it('should snooze to the same wall-clock time where each contact is, across a DST change, not 72 hours on', async () => {
      const { admin, ana } = await setup('America/New_York');
      const res = await post('/api/contacts', admin.apiKey, { name: 'Nora', phone: nextPhone(), assignedAgentId: ana.id, timezone: 'America/New_York' });
      expect(res.status).toBe(201);
      const newYork = { id: res.body.id as string, followUpId: await schedule(admin.apiKey, res.body.id, new Date('2026-03-06T20:00:00Z')) };
      const utc = await dueContact(admin.apiKey, ana.id, 'Uma', 'WARM', new Date('2026-03-06T20:00:00Z')); // the org's zone, UTC
      const clock = t.app.get(Clock);
      clock.now = () => new Date('2026-03-07T01:30:00Z'); // Friday 20:30 in New York; its clocks go forward on Sunday
      try {
        expect((await act(ana.apiKey, { personIds: [newYork.id, utc.id], action: 'snooze' })).body).toEqual({ ok: true, count: 2, action: 'snooze' });
      } finally {
        delete (clock as Partial<Clock>).now; // the prototype's again
      }
      // Monday 20:30 EDT (72 hours would be 21:30, past the default window's end); in UTC, no clock change: 72 hours.
      // (Their due times only: in real time those snoozes ended long ago, so the workers may be running them already.)
      expect((await followUp(admin.apiKey, newYork.followUpId)).scheduledAt).toBe('2026-03-10T00:30:00.000Z');
      expect((await followUp(admin.apiKey, utc.followUpId)).scheduledAt).toBe('2026-03-10T01:30:00.000Z');
    });

    it('should accept 200 ids and count only the contacts it updated', async () => {
      const { admin, ana } = await setup();
      const c = await dueContact(admin.apiKey, ana.id, 'One of many', 'WARM', utcDay(1, 9));
      const ids = [c.id, c.id, ...Array.from({ length: 198 }, () => randomUUID())];
      const res = await act(ana.apiKey, { personIds: ids, action: 'done' });
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { ok: true, count: 1, action: 'done' } });
      expect(followUpIdsOf(await timeline(admin.apiKey, c.id), 'follow_up_completed')).toEqual([c.followUpId]);
    });
  });

  describe('bad requests', () => {
    let ana: User;
    let admin: User;
    let supervisor: User;
    let contact: { id: string; followUpId: string };

    beforeAll(async () => {
      const s = await setup();
      ({ ana, admin, supervisor } = s);
      contact = await dueContact(admin.apiKey, ana.id, 'Untouched', 'HOT', utcDay(1, 9));
    });

    it.each<[string, unknown, string[]]>([
      ['both personId and personIds', { personId: 'a', personIds: ['a'], action: 'done' }, ['personIds']],
      ['neither personId nor personIds', { action: 'done' }, ['personIds']],
      ['201 ids', { personIds: Array.from({ length: 201 }, () => randomUUID()), action: 'done' }, ['personIds']],
      ['an empty personIds', { personIds: [], action: 'done' }, ['personIds']],
      ['personIds that is not an array', { personIds: 'abc', action: 'done' }, ['personIds']],
      ['ids that are not strings', { personIds: [1, 2], action: 'done' }, ['personIds']],
      ['a personId that is not a string', { personId: 123, action: 'done' }, ['personId']],
      ['an unknown action', { personIds: ['a'], action: 'archive' }, ['action']],
      ['no action', { personIds: ['a'] }, ['action']],
      ['an unknown field', { personIds: ['a'], action: 'done', force: true }, ['force']],
    ])('should answer 400 naming the field for %s', async (_, body, fields) => {
      const withOwn = JSON.parse(JSON.stringify(body).replaceAll('"a"', JSON.stringify(contact.id)));
      const res = await act(ana.apiKey, withOwn);
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(fields);
      if (fields[0] === 'personIds' && 'personId' in (body as object)) expect(String(res.body.message)).toMatch(/personId\b/);
      expect(await hubIds(ana.apiKey)).toEqual([contact.id]);
    });

    it.each<[string, unknown, string[]]>([
      ['neither personId nor personIds, and an unknown action', { action: 'archive' }, ['action', 'personIds']],
      ['both personId and personIds, an unknown action and an unknown field', { personId: 'a', personIds: ['a'], action: 'archive', force: true }, ['action', 'force', 'personIds']],
    ])('should answer one 400 naming every bad field for %s (SPEC §9)', async (_, body, fields) => {
      const withOwn = JSON.parse(JSON.stringify(body).replaceAll('"a"', JSON.stringify(contact.id)));
      const res = await act(ana.apiKey, withOwn);
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(fields);
      expect(await hubIds(ana.apiKey)).toEqual([contact.id]);
    });

    // Regression: null ids once passed @IsOptional() unvalidated and answered 404 instead of a 400 naming the field.
    it.each<[string, unknown]>([
      ['a null personIds', { personIds: null, action: 'done' }],
      ['a null personId', { personId: null, action: 'done' }],
    ])('should answer 400 naming the field for %s', async (_, body) => {
      const res = await act(ana.apiKey, body);
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res).length).toBeGreaterThan(0);
      for (const f of fieldsNamed(res)) expect(['personId', 'personIds']).toContain(f);
    });

    it.each([
      ['0', 'limit must be a positive integer'],
      ['-1', 'limit must be a positive integer'],
      ['201', 'limit must not be greater than 200'],
      ['1.5', 'limit must be a positive integer'],
      ['abc', 'limit must be a positive integer'],
      ['', 'limit must be a positive integer'],
    ])('should answer 400 naming limit, once and truly, when limit=%s', async (limit, message) => {
      const res = await get(`${HUB}?limit=${limit}`, ana.apiKey);
      expectError(res, 400, 'Bad Request');
      expect(res.body.message).toEqual([message]);
    });

    it('should accept limit=200 and limit=1', async () => {
      expect(await hub(ana.apiKey, 'limit=200')).toMatchObject({ counts: { all: 1 } });
      expect(await hubIds(ana.apiKey, 'limit=1')).toEqual([contact.id]);
    });

    it.each(['soon', 'ALL', 'Hot', ''])('should answer 400 naming filter when filter=%s', async (filter) => {
      const res = await get(`${HUB}?filter=${filter}`, ana.apiKey);
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['filter']);
    });

    it('should answer 400 naming an unknown query parameter', async () => {
      const res = await get(`${HUB}?page=2`, ana.apiKey);
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['page']);
    });

    it("should answer 403 when an agent asks for an agent's hub, even their own", async () => {
      const other = await t.createUser(admin.apiKey, { name: 'Other agent', role: 'agent' });
      expectError(await get(`${HUB}?agentId=${other.id}`, ana.apiKey), 403, 'Forbidden');
      expectError(await get(`${HUB}?agentId=${ana.id}`, ana.apiKey), 403, 'Forbidden');
    });

    it("should give a supervisor or an admin that agent's hub with agentId", async () => {
      const own = await hub(ana.apiKey, 'limit=200');
      expect(own.followUps.map((f) => f.id)).toEqual([contact.id]);
      expect(await hub(supervisor.apiKey, `agentId=${ana.id}&limit=200`)).toEqual(own);
      expect(await hub(admin.apiKey, `agentId=${ana.id}&limit=200`)).toEqual(own);
      expect(await hub(admin.apiKey, `agentId=${ana.id}&filter=hot&limit=1`)).toEqual(own);
      // without agentId, their own hub
      expect(await hub(supervisor.apiKey)).toEqual({ followUps: [], counts: { all: 0, overdue: 0, today: 0, hot: 0 } });
    });

    it('should answer 404 for an agentId of another org or of nobody, and 400 for one that is not an id', async () => {
      const other = await setup();
      await dueContact(other.admin.apiKey, other.ana.id, 'Elsewhere', 'HOT', utcDay(1, 9));
      expectError(await get(`${HUB}?agentId=${other.ana.id}`, supervisor.apiKey), 404, 'Not Found');
      expectError(await get(`${HUB}?agentId=${randomUUID()}`, admin.apiKey), 404, 'Not Found');
      const res = await get(`${HUB}?agentId=ana`, admin.apiKey);
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['agentId']);
    });
  });

  describe('concurrency', () => {
    it('should complete each follow-up exactly once when the same agent sends overlapping done requests at once', async () => {
      const { admin, ana } = await setup();
      const k = admin.apiKey;
      for (let round = 0; round < 3; round++) {
        const contacts = await Promise.all(
          Array.from({ length: 6 }, async (_, i) => {
            const c = await dueContact(k, ana.id, `Round ${round} contact ${i}`, i % 2 ? 'HOT' : 'WARM', utcDay(1 + (i % 3), 9));
            const second = await schedule(k, c.id, utcDay(0, 1));
            return { ...c, followUpIds: [c.followUpId, second] };
          }),
        );
        const ids = contacts.map((c) => c.id);
        expect((await hub(ana.apiKey, 'limit=200')).counts.all).toBe(6);

        const [a, b] = await Promise.all([
          act(ana.apiKey, { personIds: ids.slice(0, 4), action: 'done' }),
          act(ana.apiKey, { personIds: ids.slice(2).reverse(), action: 'done' }),
        ]);
        expect([a.status, b.status]).toEqual([200, 200]);
        expect(a.body).toEqual({ ok: true, count: expect.any(Number), action: 'done' });
        expect(b.body).toEqual({ ok: true, count: expect.any(Number), action: 'done' });
        // every contact was updated by exactly one of the two
        expect(a.body.count + b.body.count).toBe(6);

        for (const c of contacts) {
          expect(followUpIdsOf(await timeline(k, c.id), 'follow_up_completed').sort()).toEqual([...c.followUpIds].sort());
          for (const id of c.followUpIds) expect((await followUp(k, id)).status).toBe('completed');
        }
        expect(await hub(ana.apiKey, 'limit=200')).toEqual({ followUps: [], counts: { all: 0, overdue: 0, today: 0, hot: 0 } });
      }
    });

    it('should give each follow-up one outcome when done and snooze race on the same contacts', async () => {
      const { admin, ana } = await setup();
      const k = admin.apiKey;
      const contacts = await Promise.all(Array.from({ length: 5 }, (_, i) => dueContact(k, ana.id, `Race ${i}`, 'WARM', utcDay(1, 9 + i))));
      const ids = contacts.map((c) => c.id);
      const [done, snooze] = await Promise.all([act(ana.apiKey, { personIds: ids, action: 'done' }), act(ana.apiKey, { personIds: [...ids].reverse(), action: 'snooze' })]);
      expect([done.status, snooze.status]).toEqual([200, 200]);
      expect(done.body.count + snooze.body.count).toBe(5);
      for (const c of contacts) {
        const entries = await timeline(k, c.id);
        const outcomes = [...followUpIdsOf(entries, 'follow_up_completed'), ...followUpIdsOf(entries, 'follow_up_snoozed')];
        expect(outcomes).toEqual([c.followUpId]);
      }
      expect(await hub(ana.apiKey, 'limit=200')).toEqual({ followUps: [], counts: { all: 0, overdue: 0, today: 0, hot: 0 } });
    });
  });
});

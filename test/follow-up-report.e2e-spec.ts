import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { ProjectionRebuilder } from '@app/event-store';
import { FOLLOW_UP_REPORT_PROJECTION } from '@app/reports';
import { consumersCaughtUp, eventually, expectError, fieldsNamed, installNo5xxGuard, recordingClient, startTestApp, TestApp } from '@app/testing';

/**
 * SPEC §8 follow-up report per agent, `GET /api/reports/follow-ups`, over HTTP with the workers running (the report
 * is an async projection: reads poll until it has caught up).
 *
 * Time: "today" is the viewer's. Two fixed-offset zones are picked at the start whose local dates differ (V2 is one
 * day ahead of V1) and whose local times are as far from midnight as possible (at least an hour whatever the time
 * of day), and every due time is placed relative to both days, so the expected numbers below hold at any hour.
 *
 *   S1 ────────── S2 ── now ── E1 ────────── E2
 *   |  V1 today, V2 yesterday |  both today  |  V1 tomorrow, V2 today  |
 */

type Counts = {
  dueToday: number;
  overdue: number;
  upcoming: number;
  snoozed: number;
  scheduled: number;
  completed: number;
  failed: number;
  expired: number;
  cancelled: number;
  notesWritten: number;
};
type Row = Counts & { agentId: string | null; name: string | null };
type User = { id: string; apiKey: string };

const REPORT = '/api/reports/follow-ups';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const ZERO: Counts = { dueToday: 0, overdue: 0, upcoming: 0, snoozed: 0, scheduled: 0, completed: 0, failed: 0, expired: 0, cancelled: 0, notesWritten: 0 };
const counts = (c: Partial<Counts>): Counts => ({ ...ZERO, ...c });
const row = (agentId: string | null, name: string | null, c: Partial<Counts>): Row => ({ agentId, name, ...counts(c) });
const sum = (rows: Row[]): Counts => {
  const total = counts({});
  for (const r of rows) for (const k of Object.keys(ZERO) as (keyof Counts)[]) total[k] += r[k];
  return total;
};

const etcZone = (offsetHours: number) => (offsetHours === 0 ? 'Etc/UTC' : offsetHours > 0 ? `Etc/GMT-${offsetHours}` : `Etc/GMT+${-offsetHours}`);

/** Two whole-hour zones, V2's date one day after V1's, both local times as far from midnight as can be now. */
function viewerZones(now: Date): { v1: string; v2: string; marginMinutes: number } {
  let best = { v1: 'Etc/UTC', v2: 'Etc/UTC', marginMinutes: -1 };
  const utcMinutes = now.getUTCHours() * 60 + now.getUTCMinutes();
  for (let a = -12; a <= 14; a++) {
    for (let b = a + 1; b <= 14 && b - a <= 23; b++) {
      const la = utcMinutes + a * 60;
      const lb = utcMinutes + b * 60;
      if (Math.floor(lb / 1440) !== Math.floor(la / 1440) + 1) continue;
      const ra = ((la % 1440) + 1440) % 1440;
      const rb = ((lb % 1440) + 1440) % 1440;
      const margin = Math.min(ra, 1440 - ra, rb, 1440 - rb);
      if (margin > best.marginMinutes) best = { v1: etcZone(a), v2: etcZone(b), marginMinutes: margin };
    }
  }
  return best;
}

// whole flows over HTTP with workers running, on a machine other suites share
jest.setTimeout(60_000);

describe('follow-up report (SPEC §8, GET /api/reports/follow-ups)', () => {
  let t: TestApp;
  const client = recordingClient(() => t);
  installNo5xxGuard(client);
  const { get, post, patch } = client;

  const zones = viewerZones(new Date());
  const { v1, v2 } = zones;
  const now = DateTime.now();
  const S1 = now.setZone(v1).startOf('day');
  const E1 = S1.plus({ days: 1 });
  const S2 = now.setZone(v2).startOf('day');
  const E2 = S2.plus({ days: 1 });
  const today1 = now.setZone(v1).toISODate()!;
  const today2 = now.setZone(v2).toISODate()!;
  const at = {
    /** before both days: overdue for both viewers (and less than a day ago, so it does not expire here) */
    overdue: S1.minus({ minutes: 1 }).toJSDate(),
    /** V1's today, V2's yesterday */
    v1TodayV2Overdue: S1.plus({ minutes: 1 }).toJSDate(),
    /** today for both, later today */
    today: new Date(Date.now() + 30 * MINUTE),
    /** V1's tomorrow, V2's today */
    v1UpcomingV2Today: E1.plus({ minutes: 1 }).toJSDate(),
    /** after both days */
    upcoming: E2.plus({ hours: 1 }).toJSDate(),
  };

  let org: { orgId: string; admin: User; sue: User; vic: User; ana: User; bob: User; cal: User; dan: User; eve: User };
  let cMove: string;
  let other: { admin: User; zed: User };

  let phoneSeq = 1000;
  const nextPhone = () => `+1415557${String(phoneSeq++).padStart(4, '0')}`;
  const createContact = async (adminKey: string, assignedAgentId: string | null): Promise<string> => {
    const res = await post('/api/contacts', adminKey, { name: `Lead ${phoneSeq}`, phone: nextPhone(), assignedAgentId });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body.id;
  };
  const schedule = async (adminKey: string, contactId: string, dueAt: Date, extra: Record<string, unknown> = {}): Promise<string> => {
    const res = await post(`/api/contacts/${contactId}/follow-ups`, adminKey, { scheduledAt: dueAt.toISOString(), ...extra });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body.id;
  };
  const note = async (key: string, contactId: string) => {
    const res = await post(`/api/contacts/${contactId}/notes`, key, { text: 'Spoke to the office manager' });
    expect(res.status).toBe(201);
  };
  const statusOf = async (adminKey: string, id: string): Promise<string> => (await get(`/api/follow-ups/${id}`, adminKey)).body.status;
  const pushCall = async (adminKey: string, contactId: string, agentId: string, body: Record<string, unknown>) => {
    const res = await post('/api/calls', adminKey, {
      callId: randomUUID(),
      contactId,
      agentId,
      direction: 'outbound',
      startedAt: new Date().toISOString(),
      ...body,
    });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201, body: { status: 'accepted' } });
  };
  const report = async (key: string, query = '') => {
    const res = await get(`${REPORT}${query ? `?${query}` : ''}`, key);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    return res.body as { groupBy: string; timezone: string; today: string; orgTimezone: string; from: string | null; to: string | null; rows: Row[]; totals: Counts };
  };
  const REPORT_TABLES: Record<string, string> = {
    fu_report_org_timezones: 'org_id',
    fu_report_contacts: 'contact_id',
    fu_report_follow_ups: 'follow_up_id',
    fu_report_open: 'org_id, agent_id, slot',
    fu_report_activity: 'org_id, day, agent_id',
  };
  /** The projection's tables, whole. */
  const dumpReportTables = async () => {
    const out: Record<string, unknown[]> = {};
    for (const [table, order] of Object.entries(REPORT_TABLES)) out[table] = (await t.db.query(`SELECT * FROM ${table} ORDER BY ${order}`)).rows;
    return out;
  };
  /** Polls until the projection has caught up with what the test expects. */
  const expectReport = (key: string, query: string, expected: { rows: Row[]; [k: string]: unknown }) =>
    eventually(async () => expect(await report(key, query)).toEqual({ ...expected, totals: sum(expected.rows) }), 20_000);

  beforeAll(async () => {
    // Expiry every 300 ms; the org expires after 1 day, which nothing but the follow-up meant to expire is overdue by.
    t = await startTestApp({ env: { EXPIRY_INTERVAL_MS: '300' } });

    const created = await t.createOrg('Acme', v1);
    const admin: User = { id: created.adminUserId, apiKey: created.adminKey };
    const k = admin.apiKey;
    expect((await patch('/api/settings', k, { expireAfterDays: 1 })).status).toBe(200);
    const user = (name: string, role: string, extra: Record<string, unknown> = {}) => t.createUser(k, { name, role, ...extra });
    org = {
      orgId: created.orgId,
      admin,
      sue: await user('Sue', 'supervisor'),
      vic: await user('Vic', 'supervisor', { timezone: v2 }),
      ana: await user('Ana', 'agent'),
      bob: await user('Bob', 'agent'),
      cal: await user('Cal', 'agent'),
      dan: await user('Dan', 'agent'),
      eve: await user('Eve', 'agent'),
    };
    const { ana, bob, cal, eve } = org;
    expect((await patch(`/api/users/${eve.id}`, k, { active: false })).status).toBe(200);

    // Ana's contact: follow-ups that inherit Ana, one with Bob as its own agent
    const cAna = await createContact(k, ana.id);
    await schedule(k, cAna, at.overdue);
    await schedule(k, cAna, at.today);
    await schedule(k, cAna, at.v1TodayV2Overdue);
    await schedule(k, cAna, at.v1UpcomingV2Today, { agentId: bob.id });
    const snoozed = await schedule(k, cAna, at.upcoming);
    expect((await post(`/api/follow-ups/${snoozed}/snooze`, k)).body.status).toBe('snoozed'); // due in 3 days: upcoming
    const cancelled = await schedule(k, cAna, at.today);
    expect((await post(`/api/follow-ups/${cancelled}/cancel`, k, {})).body.status).toBe('cancelled');
    const byHand = await schedule(k, cAna, at.today);
    expect((await post(`/api/follow-ups/${byHand}/complete`, k)).body.status).toBe('completed');
    const stale = await schedule(k, cAna, new Date(Date.now() - 3 * DAY));
    await note(ana.apiKey, cAna);

    // completed by a connected call for it
    const cAnaCalled = await createContact(k, ana.id);
    const called = await schedule(k, cAnaCalled, at.upcoming);
    await pushCall(k, cAnaCalled, ana.id, { followUpId: called, status: 'Called', durationSec: 60 });
    expect(await statusOf(k, called)).toBe('completed');

    // Bob's contact: done from his hub; a single-attempt follow-up failed by a Busy call; a note by the admin
    const cBob = await createContact(k, bob.id);
    const done = await schedule(k, cBob, at.today);
    expect((await patch('/api/follow-ups/due', bob.apiKey, { personId: cBob, action: 'done' })).body).toEqual({ ok: true, count: 1, action: 'done' });
    expect(await statusOf(k, done)).toBe('completed');
    // due already (after the hub's done): an unanswered call naming a follow-up not yet due leaves it for its time
    // (follow-up.decider.ts callAttemptEvents)
    const busy = await schedule(k, cBob, new Date(Date.now() - 60_000), { maxAttempts: 1 });
    await pushCall(k, cBob, bob.id, { followUpId: busy, status: 'Busy', durationSec: 0 });
    expect(await statusOf(k, busy)).toBe('failed');
    await note(k, cBob);

    // Cal only writes notes
    const cCal = await createContact(k, cal.id);
    await note(cal.apiKey, cCal);
    await note(cal.apiKey, cCal);

    // nobody's: an unassigned contact
    const cNone = await createContact(k, null);
    await schedule(k, cNone, at.overdue);
    await schedule(k, cNone, at.upcoming);

    // to be reassigned from Ana to Dan: two inheriting follow-ups, one with Ana as its own agent
    cMove = await createContact(k, ana.id);
    await schedule(k, cMove, at.today);
    await schedule(k, cMove, at.overdue, { agentId: ana.id });
    await schedule(k, cMove, at.upcoming);

    await eventually(async () => expect(await statusOf(k, stale)).toBe('expired'), 30_000);

    // another organization, with an agent of its own
    const second = await t.createOrg('Other', 'UTC');
    const otherAdmin: User = { id: second.adminUserId, apiKey: second.adminKey };
    const zed = await t.createUser(second.adminKey, { name: 'Zed', role: 'agent' });
    const cZed = await createContact(second.adminKey, zed.id);
    await schedule(second.adminKey, cZed, new Date(Date.now() + 5 * DAY));
    await note(zed.apiKey, cZed);
    other = { admin: otherAdmin, zed };
  }, 120_000);
  afterAll(async () => t?.close());

  /** Stage 1, as V1 sees it (hand-counted from the workload above). */
  const v1Rows = () => [
    row(org.admin.id, 'Administrator', { notesWritten: 1 }),
    // open: overdue ×2 (one on the contact to move, with Ana as its own agent); today ×3; upcoming ×2, one snoozed
    row(org.ana.id, 'Ana', { overdue: 2, dueToday: 3, upcoming: 2, snoozed: 1, scheduled: 11, completed: 2, cancelled: 1, expired: 1, notesWritten: 1 }),
    // open: the one with Bob as its own agent, tomorrow for V1; done from the hub; failed by the Busy call
    row(org.bob.id, 'Bob', { upcoming: 1, scheduled: 3, completed: 1, failed: 1 }),
    row(org.cal.id, 'Cal', { notesWritten: 2 }),
    row(org.dan.id, 'Dan', {}),
    row(null, null, { overdue: 1, upcoming: 1, scheduled: 2 }),
  ];

  it('should count per agent for a viewer: due today, overdue, upcoming, snoozed, and activity; a notes-only agent has nothing due', async () => {
    await expectReport(org.sue.apiKey, '', { groupBy: 'agent', timezone: v1, today: today1, orgTimezone: v1, from: null, to: null, rows: v1Rows() });
    // groupBy=agent is the default; an admin sees the same (same timezone as Sue: the org's)
    await expectReport(org.admin.apiKey, 'groupBy=agent', { groupBy: 'agent', timezone: v1, today: today1, orgTimezone: v1, from: null, to: null, rows: v1Rows() });
    const res = await report(org.sue.apiKey);
    expect(res.totals).toEqual(counts({ dueToday: 3, overdue: 3, upcoming: 4, snoozed: 1, scheduled: 16, completed: 3, failed: 1, expired: 1, cancelled: 1, notesWritten: 4 }));
  });

  it("should take today in the viewer's timezone: a viewer a day ahead sees other follow-ups due today and overdue", async () => {
    expect(today2).not.toBe(today1);
    const rows = v1Rows();
    rows[1] = row(org.ana.id, 'Ana', { overdue: 3, dueToday: 2, upcoming: 2, snoozed: 1, scheduled: 11, completed: 2, cancelled: 1, expired: 1, notesWritten: 1 });
    rows[2] = row(org.bob.id, 'Bob', { dueToday: 1, scheduled: 3, completed: 1, failed: 1 });
    await expectReport(org.vic.apiKey, '', { groupBy: 'agent', timezone: v2, today: today2, orgTimezone: v1, from: null, to: null, rows });
  });

  it("should count activity only in the from..to range (the org's days, both included) and the snapshot whatever the range", async () => {
    const day = DateTime.fromISO(today1);
    const tomorrow = day.plus({ days: 1 }).toISODate()!;
    const yesterday = day.minus({ days: 1 }).toISODate()!;
    const base = { groupBy: 'agent', timezone: v1, today: today1, orgTimezone: v1 };
    await expectReport(org.sue.apiKey, `from=${today1}&to=${today1}`, { ...base, from: today1, to: today1, rows: v1Rows() });
    await expectReport(org.sue.apiKey, `from=${yesterday}`, { ...base, from: yesterday, to: null, rows: v1Rows() });
    const snapshotOnly = [
      // users without any count in the range and not active agents drop out
      row(org.ana.id, 'Ana', { overdue: 2, dueToday: 3, upcoming: 2, snoozed: 1 }),
      row(org.bob.id, 'Bob', { upcoming: 1 }),
      row(org.cal.id, 'Cal', {}),
      row(org.dan.id, 'Dan', {}),
      row(null, null, { overdue: 1, upcoming: 1 }),
    ];
    await expectReport(org.sue.apiKey, `from=${tomorrow}`, { ...base, from: tomorrow, to: null, rows: snapshotOnly });
    await expectReport(org.sue.apiKey, `to=${yesterday}`, { ...base, from: null, to: yesterday, rows: snapshotOnly });
    await expectReport(org.sue.apiKey, `from=2020-01-01&to=${yesterday}`, { ...base, from: '2020-01-01', to: yesterday, rows: snapshotOnly });
  });

  it("should keep each organization's report to itself", async () => {
    await expectReport(other.admin.apiKey, '', {
      groupBy: 'agent',
      timezone: 'UTC',
      today: DateTime.utc().toISODate()!,
      orgTimezone: 'UTC',
      from: null,
      to: null,
      rows: [row(other.zed.id, 'Zed', { upcoming: 1, scheduled: 1, notesWritten: 1 })],
    });
    const ids = (await report(org.sue.apiKey)).rows.map((r) => r.agentId);
    expect(ids).not.toContain(other.zed.id);
  });

  it("should move a contact's inheriting open follow-ups to its new agent, leaving those with an agent of their own and past activity", async () => {
    expect((await patch(`/api/contacts/${cMove}`, org.admin.apiKey, { assignedAgentId: org.dan.id })).status).toBe(200);
    const rows = v1Rows();
    // Ana keeps the overdue one that is hers by its own agentId, and what was scheduled while the contact was hers
    rows[1] = row(org.ana.id, 'Ana', { overdue: 2, dueToday: 2, upcoming: 1, snoozed: 1, scheduled: 11, completed: 2, cancelled: 1, expired: 1, notesWritten: 1 });
    rows[4] = row(org.dan.id, 'Dan', { dueToday: 1, upcoming: 1 });
    await expectReport(org.sue.apiKey, '', { groupBy: 'agent', timezone: v1, today: today1, orgTimezone: v1, from: null, to: null, rows });
  });

  it('should rebuild the projection to exactly the live tables', async () => {
    const dump = dumpReportTables;
    const live = await dump();
    expect(live.fu_report_open.length).toBeGreaterThan(5);
    expect(live.fu_report_activity.length).toBeGreaterThan(5);
    expect(live.fu_report_follow_ups.length).toBe(11); // the open ones: 10 in Acme, 1 in Other

    await t.app.get(ProjectionRebuilder).rebuild(FOLLOW_UP_REPORT_PROJECTION);
    // the rebuild stops at the horizon; the runner applies whatever came after
    await eventually(async () => expect(await dump()).toEqual(live), 20_000);
  });

  describe('archived contacts (the hub lists ACTIVE contacts only, SPEC §6)', () => {
    let arc: { admin: User; sam: User; carl: User; dora: User };
    type Hub = { followUps: { contactId: string }[]; counts: { all: number; overdue: number; today: number; hot: number } };
    const hub = async (key: string): Promise<Hub> => {
      const res = await get('/api/follow-ups/due?limit=200', key);
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
      return res.body as Hub;
    };
    const setStatus = async (contactId: string, status: 'ACTIVE' | 'ARCHIVED') => {
      const res = await patch(`/api/contacts/${contactId}`, arc.admin.apiKey, { status });
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { status } });
    };
    /** The report as Sam (the org's zone, V1) sees it: every active agent's row, Carl then Dora, then Sam's none. */
    const expectArcReport = (carl: Partial<Counts>, dora: Partial<Counts>) =>
      expectReport(arc.sam.apiKey, '', {
        groupBy: 'agent',
        timezone: v1,
        today: today1,
        orgTimezone: v1,
        from: null,
        to: null,
        rows: [row(arc.carl.id, 'Carl', carl), row(arc.dora.id, 'Dora', dora)],
      });

    beforeAll(async () => {
      const created = await t.createOrg('Archive', v1);
      const admin: User = { id: created.adminUserId, apiKey: created.adminKey };
      // calls can run at any hour, so a follow-up due already starts its attempt at once (queued: no dialler)
      const window = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '23:59' };
      expect((await patch('/api/settings', admin.apiKey, { callingWindow: window })).status).toBe(200);
      arc = {
        admin,
        sam: await t.createUser(admin.apiKey, { name: 'Sam', role: 'supervisor' }),
        carl: await t.createUser(admin.apiKey, { name: 'Carl', role: 'agent' }),
        dora: await t.createUser(admin.apiKey, { name: 'Dora', role: 'agent' }),
      };
    });

    it('should leave an archived contact’s open follow-ups out of due today as the hub does, and count them again once it is ACTIVE', async () => {
      const c = await createContact(arc.admin.apiKey, arc.carl.id);
      await schedule(arc.admin.apiKey, c, at.today);
      await expectArcReport({ dueToday: 1, scheduled: 1 }, {});
      expect((await hub(arc.carl.apiKey)).counts).toEqual({ all: 1, overdue: 0, today: 1, hot: 0 });

      await setStatus(c, 'ARCHIVED');
      await expectArcReport({ scheduled: 1 }, {});
      expect((await hub(arc.carl.apiKey)).counts).toEqual({ all: 0, overdue: 0, today: 0, hot: 0 });

      await setStatus(c, 'ACTIVE');
      await expectArcReport({ dueToday: 1, scheduled: 1 }, {});
      expect((await hub(arc.carl.apiKey)).counts).toEqual({ all: 1, overdue: 0, today: 1, hot: 0 });

      // out of this org's figures for the next test
      await setStatus(c, 'ARCHIVED');
      await expectArcReport({ scheduled: 1 }, {});
    });

    it('should count what is open on ACTIVE contacts through archiving, making ACTIVE, scheduling, snoozing, ending and reassigning, and rebuild to the live tables', async () => {
      const k = arc.admin.apiKey;
      const c = await createContact(k, arc.carl.id);
      const overdue = await schedule(k, c, at.overdue);
      await eventually(async () => expect(await statusOf(k, overdue)).toBe('queued'), 20_000); // its attempt ran while ACTIVE
      const today = await schedule(k, c, at.today);
      const dorasOwn = await schedule(k, c, at.upcoming, { agentId: arc.dora.id });
      const toComplete = await schedule(k, c, at.upcoming);
      expect((await post(`/api/follow-ups/${toComplete}/snooze`, k)).body.status).toBe('snoozed');
      // Carl's activity so far: the previous test's follow-up (its contact archived) and these three
      await expectArcReport({ overdue: 1, dueToday: 1, upcoming: 1, snoozed: 1, scheduled: 4 }, { upcoming: 1, scheduled: 1 });

      await setStatus(c, 'ARCHIVED');
      await expectArcReport({ scheduled: 4 }, { scheduled: 1 });
      expect((await hub(arc.carl.apiKey)).counts.all).toBe(0);

      // while archived: scheduled, snoozed, rescheduled, ended by hand and by coming due (cancelled), then reassigned
      await schedule(k, c, at.today);
      expect((await post(`/api/follow-ups/${today}/snooze`, k)).body.status).toBe('snoozed');
      expect((await post(`/api/follow-ups/${dorasOwn}/reschedule`, k, { scheduledAt: at.today.toISOString() })).body.status).toBe('scheduled');
      expect((await post(`/api/follow-ups/${toComplete}/complete`, k)).body.status).toBe('completed');
      const comesDue = await schedule(k, c, new Date(Date.now() - MINUTE));
      await eventually(async () => expect(await statusOf(k, comesDue)).toBe('cancelled'), 20_000); // "contact archived"
      expect((await patch(`/api/contacts/${c}`, k, { assignedAgentId: arc.dora.id })).status).toBe(200);
      const carlsHistory = { scheduled: 6, completed: 1, cancelled: 1 };
      await expectArcReport(carlsHistory, { scheduled: 1 });

      // ACTIVE again: what is still open, due where it is now, for the contact's agent now (Dora's own stays hers)
      await setStatus(c, 'ACTIVE');
      const open = { overdue: 1, dueToday: 2, upcoming: 1, snoozed: 1 };
      await expectArcReport(carlsHistory, { ...open, scheduled: 1 });
      const dorasHub = await hub(arc.dora.apiKey);
      expect(dorasHub.followUps.map((f) => f.contactId)).toEqual([c]);
      expect(dorasHub.counts).toMatchObject({ all: 1, overdue: 1 });

      // and again, twice
      for (let i = 0; i < 2; i++) {
        await setStatus(c, 'ARCHIVED');
        await expectArcReport(carlsHistory, { scheduled: 1 });
        expect((await hub(arc.dora.apiKey)).counts.all).toBe(0);
        await setStatus(c, 'ACTIVE');
        await expectArcReport(carlsHistory, { ...open, scheduled: 1 });
      }
      // given back to Carl while ACTIVE, then archived and made ACTIVE in a row: Dora keeps her own
      expect((await patch(`/api/contacts/${c}`, k, { assignedAgentId: arc.carl.id })).status).toBe(200);
      await setStatus(c, 'ARCHIVED');
      await setStatus(c, 'ACTIVE');
      const final = () => expectArcReport({ ...carlsHistory, overdue: 1, dueToday: 1, upcoming: 1, snoozed: 1 }, { dueToday: 1, scheduled: 1 });
      await final();

      await consumersCaughtUp(t.db);
      const live = await dumpReportTables();
      expect((live.fu_report_contacts as { archived: boolean }[]).filter((r) => r.archived).length).toBeGreaterThan(0);
      await t.app.get(ProjectionRebuilder).rebuild(FOLLOW_UP_REPORT_PROJECTION);
      await eventually(async () => expect(await dumpReportTables()).toEqual(live), 20_000);
      await final();
    });
  });

  it('should answer agents with 403', async () => {
    expectError(await get(REPORT, org.ana.apiKey), 403, 'Forbidden');
    expectError(await get(`${REPORT}?groupBy=agent`, org.bob.apiKey), 403, 'Forbidden');
    expectError(await get(REPORT, other.zed.apiKey), 403, 'Forbidden');
  });

  it.each([
    ['groupBy=team', ['groupBy']],
    ['groupBy=', ['groupBy']],
    ['groupBy=agent&groupBy=agent', ['groupBy']],
    ['from=2025-02-30', ['from']],
    ['from=2025-2-03', ['from']],
    ['to=20250301', ['to']],
    ['to=2025-03-01T00:00:00Z', ['to']],
    ['from=2025-03-02&to=2025-03-01', ['to']],
    ['from=yesterday&to=tomorrow', ['from', 'to']],
    ['from=2025-03-01&from=2025-03-02', ['from']],
    ['agentId=x', ['agentId']],
  ])('should answer 400 naming the field for %s', async (query, fields) => {
    const res = await get(`${REPORT}?${query}`, org.sue.apiKey);
    expectError(res, 400, 'Bad Request');
    expect(fieldsNamed(res)).toEqual(fields);
  });
});

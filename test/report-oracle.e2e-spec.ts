import { DateTime } from 'luxon';
import { Database } from '@app/shared';
import { consumersCaughtUp, eventually, HttpSink, recordingClient, startHttpSink, startTestApp, TestApp, TimelineEntry } from '@app/testing';
import { prng } from '@app/testing/seeded-random';

/**
 * SPEC §8 reports against a brute-force oracle. A seeded random workload (orgs in zones with DST, calls of every
 * status around DST changes and local midnights, an org timezone change, branch changes, follow-ups that end every
 * way, notes, reassignments, contacts archived and made ACTIVE again) goes in over HTTP; the expected reports are then worked out from what the API lists
 * (GET /api/calls, GET /api/follow-ups, GET /api/contacts/:id/timeline) with luxon, and compared with
 * GET /api/reports/calls (every granularity × groupBy, several ranges) and GET /api/reports/follow-ups (several
 * viewers and ranges). The hand-computed figures stay in call-report.e2e-spec.ts and follow-up-report.e2e-spec.ts.
 *
 * Seeds: fixed under CI, plus one fresh one otherwise; each is printed, and REPORT_ORACLE_SEED=<n> replays one.
 */

type ByStatus = Record<(typeof FINAL)[number], number>;
type Figures = { attempts: number; connected: number; connectRate: number; missed: number; talkTimeSec: number; byStatus: ByStatus };
type Row = Figures & { bucket: string; key: string | null; name?: string | null };
type CallView = { callId: string; contactId: string; agentId: string; status: string; live: boolean; durationSec: number; startedAt: string; campaignId: string | null; tags: string[] };
type FollowUpView = { id: string; contactId: string; type: string; status: string; scheduledAt: string; agentId: string | null; nextAttemptAt: string | null };
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
type FuRow = Counts & { agentId: string | null; name: string | null };

const FINAL = ['Called', 'Busy', 'No Answer', 'Missed', 'Follow up', 'Rescheduled'] as const;
const STATUSES = [...FINAL, 'In-progress'] as const;
const GRANULARITIES = ['day', 'week', 'month'] as const;
const GROUP_BY = ['status', 'agent', 'branch', 'department', 'tag', 'campaign'] as const;
const OPEN = new Set(['scheduled', 'queued', 'in_progress', 'snoozed']);
const TAGS = ['vip', 'retry', 'Spanish', 'ñandú', 'B2B', 'zz-last'];
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const EXPIRE_AFTER_DAYS = 3;

type Rng = ReturnType<typeof prng>;

const SEEDS: number[] = process.env.REPORT_ORACLE_SEED
  ? [Number(process.env.REPORT_ORACLE_SEED)]
  : process.env.CI
    ? [20260308, 4242]
    : [20260308, Math.floor(Math.random() * 2 ** 31)];

/** Local day of an instant in a zone (luxon, independent of the product's calendar code). */
const dayIn = (iso: string, zone: string): string => DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).toISODate()!;
/** Bucket label: the day, its ISO week's Monday, or the first of its month (call-report.dto: "week (ISO, labelled by its Monday)"). */
const bucketOf = (day: string, g: (typeof GRANULARITIES)[number]): string =>
  g === 'day' ? day : DateTime.fromISO(day, { zone: 'utc' }).startOf(g === 'week' ? 'week' : 'month').toISODate()!;
const zeroStatus = (): ByStatus => Object.fromEntries(FINAL.map((s) => [s, 0])) as ByStatus;

/** Instants where a zone's UTC offset changes in [from, to] (hourly scan, then to the minute). */
function transitions(zone: string, from: number, to: number): number[] {
  const off = (t: number) => DateTime.fromMillis(t, { zone }).offset;
  const out: number[] = [];
  for (let t = from; t < to; t += HOUR) {
    if (off(t) === off(t + HOUR)) continue;
    let lo = t;
    let hi = t + HOUR;
    while (hi - lo > MINUTE) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE || lo + MINUTE;
      if (off(mid) === off(t)) lo = mid;
      else hi = mid;
    }
    out.push(hi);
  }
  return out;
}

// whole flows over HTTP with workers running, on a machine other suites share
jest.setTimeout(240_000);

describe('reports against a brute-force oracle (SPEC §8)', () => {
  let t: TestApp;
  let failing: HttpSink;
  let passing: HttpSink;
  const client = recordingClient(() => t, { throwOn5xx: true });
  const { get, post, patch } = client;

  beforeAll(async () => {
    // Expiry every 200 ms, so follow-ups overdue by more than the org's expireAfterDays expire within the test.
    t = await startTestApp({ env: { EXPIRY_INTERVAL_MS: '200' } });
    failing = await startHttpSink();
    failing.respondWith(500);
    passing = await startHttpSink();
  });
  afterAll(async () => {
    await failing?.close();
    await passing?.close();
    await t?.close();
  });

  /** The answer's body, read as T, once its status is one of `status` (else the test fails with the answer). */
  const ok = async <T = unknown>(res: Promise<{ status: number; body: unknown }>, status: number | number[] = [200, 201]): Promise<T> => {
    const r = await res;
    if (![status].flat().includes(r.status)) throw new Error(`answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body as T;
  };
  /** A page of a list endpoint: the items under `field`, and the cursor of the next page. */
  type Page<T> = Record<string, T[]> & { nextCursor: string | null };

  /** Every async consumer is past the last committed event. */
  const caughtUp = (db: Database) => consumersCaughtUp(db);

  /** A call as this file pushes it (SPEC §9's body). */
  interface PushedCall {
    callId: string;
    contactId: string;
    agentId: string;
    direction: string;
    status: string;
    durationSec: number;
    startedAt: string;
    tags?: string[];
    campaignId?: string;
    followUp?: { scheduledAt: string; agentId?: string };
    callbackAt?: string;
    followUpId?: string;
  }

  const pages = async <T>(path: string, key: string, field: string): Promise<T[]> => {
    const out: T[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const body: Page<T> = await ok<Page<T>>(get(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, key), 200);
      out.push(...body[field]);
      cursor = body.nextCursor;
    } while (cursor);
    return out;
  };

  interface User {
    id: string;
    apiKey: string;
    name: string;
    role: string;
    timezone?: string;
    branch: string | null;
    department: string | null;
    active: boolean;
  }
  interface Org {
    orgId: string;
    admin: User;
    users: User[];
    agents: User[];
    supervisors: User[];
    contacts: string[];
    campaigns: string[];
    /** The org timezone in effect when each final call was recorded (call-report.controller: "A change of the organization's timezone applies to calls recorded after it; history keeps its days"). */
    tzOfCall: Map<string, string>;
    /** The agent's branch and department when the call was recorded (call-report.controller: "the agent's when the call was recorded"). */
    unitOfCall: Map<string, { branch: string | null; department: string | null }>;
    /** [start, end, timezone]: the org timezone from `start` (ms) on; `end` of the PATCH that set it. */
    timezones: { from: number; until: number; zone: string }[];
    zone: string;
  }

  /** One org's whole workload. */
  async function buildOrg(rng: Rng, label: string, zone: string, changeTo: string | null): Promise<Org> {
    const created = await t.createOrg(`Oracle ${label}`, 'UTC');
    const adminKey = created.adminKey;
    const tz0 = Date.now();
    await ok(
      patch('/api/settings', adminKey, {
        timezone: zone,
        expireAfterDays: EXPIRE_AFTER_DAYS,
        webhooks: { allowHttpHosts: ['127.0.0.1'] },
        callingWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '23:59' },
      }),
      200,
    );
    const org: Org = {
      orgId: created.orgId,
      admin: { id: created.adminUserId, apiKey: adminKey, name: '', role: 'admin', branch: null, department: null, active: true },
      users: [],
      agents: [],
      supervisors: [],
      contacts: [],
      campaigns: [],
      tzOfCall: new Map(),
      unitOfCall: new Map(),
      timezones: [{ from: tz0, until: Date.now(), zone }],
      zone,
    };
    const me = await ok<{ name: string }>(get(`/api/users/${org.admin.id}`, adminKey), 200);
    org.admin.name = me.name;
    org.users.push(org.admin);

    const BRANCHES = ['North', 'South', 'Ñorte'];
    const DEPARTMENTS = ['Sales', 'Support'];
    const nAgents = rng.int(3, 5);
    for (let i = 0; i < nAgents; i++) {
      const branch = rng.chance(0.8) ? rng.pick(BRANCHES) : null;
      const department = rng.chance(0.7) ? rng.pick(DEPARTMENTS) : null;
      const timezone = rng.pick(['America/New_York', 'Europe/London', 'Australia/Lord_Howe', undefined]);
      const name = rng.pick(['ana', 'Bob', 'Cy', 'Émile', 'dan', 'Eve']) + ` ${i}`;
      const body = { name, role: 'agent', ...(branch ? { branch } : {}), ...(department ? { department } : {}), ...(timezone ? { timezone } : {}) };
      const u = await t.createUser(adminKey, body);
      const user: User = { ...u, name, role: 'agent', timezone, branch, department, active: true };
      org.agents.push(user);
      org.users.push(user);
    }
    for (const [i, timezone] of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Australia/Lord_Howe'].entries()) {
      const name = `Sup ${i}`;
      const u = await t.createUser(adminKey, { name, role: 'supervisor', timezone });
      const user: User = { ...u, name, role: 'supervisor', timezone, branch: null, department: null, active: true };
      org.supervisors.push(user);
      org.users.push(user);
    }
    for (let i = 0; i < 2; i++) org.campaigns.push((await ok<{ id: string }>(post('/api/campaigns', adminKey, { name: `Campaign ${i}` }), 201)).id);
    for (let i = 0; i < rng.int(6, 9); i++) {
      const body: Record<string, unknown> = {
        name: `Lead ${label} ${i}`,
        phone: `+1415${String(rng.int(1_000_000, 9_999_999))}`,
        assignedAgentId: rng.chance(0.85) ? rng.pick(org.agents).id : null,
        tags: rng.subset(TAGS, 0.3),
      };
      if (rng.chance(0.6)) body.campaignId = rng.pick(org.campaigns);
      org.contacts.push((await ok<{ id: string }>(post('/api/contacts', adminKey, body), 201)).id);
    }

    // Instants: spread over 60 days, the zones' DST changes of the last 300 days (±90 min), and local midnights.
    const now = Date.now();
    const zones = [zone, ...(changeTo ? [changeTo] : [])];
    const special: number[] = [];
    for (const z of zones) {
      for (const tr of transitions(z, now - 300 * DAY, now - HOUR)) {
        for (const d of [-90, -31, -1, 0, 1, 29, 61, 90]) special.push(tr + d * MINUTE);
        const local = DateTime.fromMillis(tr, { zone: z });
        for (const day of [local.startOf('day'), local.startOf('day').plus({ days: 1 }), local.startOf('day').minus({ days: 1 })]) {
          for (const d of [-1, 0, 1]) special.push(day.toMillis() + d * MINUTE);
          special.push(day.toMillis() - 1);
        }
      }
    }
    const instant = (): string => {
      const r = rng.next();
      let ms: number;
      if (r < 0.35 && special.length) ms = rng.pick(special);
      else if (r < 0.6) {
        const z = rng.pick(zones);
        const day = DateTime.fromMillis(now - rng.int(0, 60) * DAY, { zone: z }).startOf('day');
        ms = day.toMillis() + rng.pick([-60_000, -1000, 0, 1000, 30 * MINUTE, -30 * MINUTE]);
      } else ms = now - rng.int(0, 60 * DAY);
      return new Date(Math.min(ms, now)).toISOString();
    };
    const future = () => new Date(now + rng.int(2, 20) * DAY + rng.int(0, DAY)).toISOString();

    const unitOf = (agentId: string) => {
      const a = org.agents.find((x) => x.id === agentId)!;
      return { branch: a.branch, department: a.department };
    };
    const recordCall = (body: { callId: string; status: string; agentId: string }) => {
      if (body.status === 'In-progress') return;
      // a final status counts once, from the push that recorded it; a duplicate records nothing
      if (org.tzOfCall.has(body.callId)) return;
      org.tzOfCall.set(body.callId, currentZone());
      org.unitOfCall.set(body.callId, unitOf(body.agentId));
    };
    const currentZone = () => org.timezones[org.timezones.length - 1].zone;
    let callSeq = 0;
    const callBody = (status: string, over: Record<string, unknown> = {}): PushedCall => {
      const body: PushedCall = {
        callId: `${label}-${callSeq++}`,
        contactId: rng.pick(org.contacts),
        agentId: rng.pick(org.agents).id,
        direction: status === 'Missed' ? 'inbound' : rng.pick(['inbound', 'outbound']),
        status,
        durationSec: rng.chance(0.45) ? 0 : rng.int(1, 900),
        startedAt: instant(),
        ...over,
      };
      const tags = rng.subset(TAGS, 0.25);
      if (rng.chance(0.1)) tags.push(tags[0] ?? 'vip'); // a tag twice counts once
      if (tags.length) body.tags = tags;
      if (rng.chance(0.3)) body.campaignId = rng.pick(org.campaigns);
      if (status === 'Follow up') body.followUp = { scheduledAt: future(), ...(rng.chance(0.3) ? { agentId: rng.pick(org.agents).id } : {}) };
      if (status === 'Rescheduled') body.callbackAt = future();
      return body;
    };
    const pushOne = async (body: PushedCall) => {
      const res = await post('/api/calls', adminKey, body);
      expect({ status: res.status, body: res.body }).toMatchObject({ status: expect.any(Number), body: { status: expect.stringMatching(/^(accepted|duplicate)$/) } });
      recordCall(body);
    };
    const pushBatch = async (bodies: PushedCall[]) => {
      const res = await ok<{ results: { status: string }[] }>(post('/api/calls/batch', adminKey, { calls: bodies }), 200);
      expect(res.results.map((r) => r.status).filter((s) => s === 'rejected')).toEqual([]);
      bodies.forEach(recordCall);
    };

    /** A round of calls: singles, a batch, In-progress then final (sometimes a different start), duplicates. */
    const callRound = async (n: number) => {
      const batch: PushedCall[] = [];
      for (let i = 0; i < n; i++) {
        const status = rng.pick(STATUSES);
        const body = callBody(status);
        if (status === 'In-progress') {
          await pushOne(body);
          if (rng.chance(0.8)) {
            const final = rng.pick(FINAL);
            const done = { ...callBody(final), callId: body.callId, contactId: body.contactId };
            await pushOne(done);
          } // else: still live, never counted
        } else if (rng.chance(0.5)) batch.push(body);
        else {
          await pushOne(body);
          if (rng.chance(0.15)) await pushOne(body); // duplicate
        }
      }
      if (batch.length) {
        if (rng.chance(0.3)) batch.push(batch[0]); // a duplicate inside the batch
        await pushBatch(batch);
        if (rng.chance(0.3)) await pushBatch(batch.slice(0, 3)); // a dialler's retry
      }
    };

    await callRound(rng.int(35, 50));
    // A branch and a department change mid-way, one cleared.
    const moved = rng.pick(org.agents);
    const change = { branch: rng.pick(['West', 'North']), department: rng.chance(0.5) ? null : 'Retention' };
    await ok(patch(`/api/users/${moved.id}`, adminKey, change), 200);
    Object.assign(moved, change);
    await callRound(rng.int(30, 40));
    if (changeTo) {
      // The org moves zone mid-way: only calls recorded after it are dated in the new zone.
      const from = Date.now();
      await ok(patch('/api/settings', adminKey, { timezone: changeTo }), 200);
      org.timezones.push({ from, until: Date.now(), zone: changeTo });
      org.zone = changeTo;
    }
    // contacts reassigned between calls: a call stays with its own agent
    for (const c of rng.subset(org.contacts, 0.3)) await ok(patch(`/api/contacts/${c}`, adminKey, { assignedAgentId: rng.pick(org.agents).id }), 200);
    await callRound(rng.int(30, 40));

    // ---- follow-ups ----
    const schedule = (contactId: string, body: Record<string, unknown>) => ok<{ id: string }>(post(`/api/contacts/${contactId}/follow-ups`, adminKey, body), 201);
    const viewerZones = [...new Set([...org.supervisors.map((s) => s.timezone!), org.zone])];
    const dueTimes: number[] = [];
    for (const z of viewerZones) {
      const start = DateTime.fromMillis(now, { zone: z }).startOf('day');
      for (const d of [start, start.plus({ days: 1 })]) for (const k of [-MINUTE, 0, MINUTE]) dueTimes.push(d.toMillis() + k);
    }
    const dueAt = (): string => {
      const r = rng.next();
      // Never within a day of the expiry line, so what expires has expired before the reports are read.
      if (r < 0.3) return new Date(rng.pick(dueTimes.filter((x) => x > now - 1.5 * DAY))).toISOString();
      if (r < 0.45) return new Date(now - rng.int(EXPIRE_AFTER_DAYS + 1, 20) * DAY - rng.int(0, DAY)).toISOString(); // expires
      if (r < 0.6) return new Date(now - rng.int(0, 30 * HOUR)).toISOString(); // overdue, stays
      return new Date(now + rng.int(0, 30 * DAY)).toISOString();
    };
    const followUps: { id: string; contactId: string; scheduledAt: string }[] = [];
    for (let i = 0; i < rng.int(25, 35); i++) {
      const contactId = rng.pick(org.contacts);
      const body: Record<string, unknown> = { scheduledAt: dueAt() };
      if (rng.chance(0.3)) body.agentId = rng.pick(org.agents).id;
      if (rng.chance(0.2)) body.maxAttempts = 1;
      followUps.push({ id: (await schedule(contactId, body)).id, contactId, scheduledAt: body.scheduledAt as string });
    }
    // webhooks due now: failed on their only attempt (sink answers 500), or completed
    for (let i = 0; i < rng.int(3, 6); i++) {
      const sink = i === 0 ? failing : i === 1 ? passing : rng.chance(0.6) ? failing : passing;
      await schedule(rng.pick(org.contacts), {
        type: 'webhook',
        url: `${sink.url}/hook`,
        maxAttempts: 1,
        scheduledAt: new Date(now - rng.int(0, 20 * HOUR)).toISOString(),
        ...(rng.chance(0.5) ? { agentId: rng.pick(org.agents).id } : {}),
      });
    }
    // by hand: snooze, reschedule, cancel, complete (some of them turn out to have ended already: 409)
    for (const f of rng.subset(followUps, 0.5)) {
      const action = rng.pick(['snooze', 'reschedule', 'cancel', 'complete']);
      // a snooze never brings a follow-up forward (409): one due after the snooze would end is first made due now
      if (action === 'snooze' && Date.parse(f.scheduledAt) > now + DAY) {
        expect([200, 409]).toContain((await post(`/api/follow-ups/${f.id}/reschedule`, adminKey, { scheduledAt: new Date(now - HOUR).toISOString() })).status);
      }
      const body = action === 'reschedule' ? { scheduledAt: dueAt() } : action === 'cancel' ? { reason: 'oracle' } : undefined;
      const res = await post(`/api/follow-ups/${f.id}/${action}`, adminKey, body);
      expect([200, 201, 409]).toContain(res.status);
    }
    // notes by agents, supervisors and the admin
    for (let i = 0; i < rng.int(5, 12); i++) {
      const author = rng.pick([org.admin, ...org.supervisors, ...org.agents]);
      const contactId = rng.pick(org.contacts);
      const res = await post(`/api/contacts/${contactId}/notes`, author.apiKey, { text: `note ${i}` });
      expect([201, 404]).toContain(res.status); // an agent may write only on their own contacts
    }
    // calls for a follow-up (followUpId): connected completes it, Busy / No Answer fail the attempt
    for (const f of rng.subset(followUps, 0.25)) {
      const status = rng.pick(['Called', 'Busy', 'No Answer', 'Follow up'] as const);
      const body = callBody(status, { contactId: f.contactId, followUpId: f.id, direction: 'outbound', durationSec: status === 'Called' || status === 'Follow up' ? rng.int(1, 600) : 0 });
      const res = await post('/api/calls', adminKey, body);
      expect([201, 409]).toContain(res.status); // 409: the follow-up had ended already
      if (res.status === 201) recordCall(body);
    }
    // agents clear their hub: done or snooze, one contact or several
    for (const agent of org.agents) {
      const mine = (await pages<{ id: string }>('/api/contacts?assignedAgentId=' + agent.id, adminKey, 'contacts')).map((c) => c.id);
      if (mine.length === 0 || rng.chance(0.3)) continue;
      const res = await patch('/api/follow-ups/due', agent.apiKey, { personIds: rng.subset(mine, 0.6).concat(mine[0]), action: rng.pick(['done', 'snooze']) });
      expect([200, 404]).toContain(res.status); // 404: nothing of theirs due
    }
    // calls that end queued call attempts (the next final outbound call to the contact)
    await callRound(rng.int(10, 20));
    // an agent who leaves: inactive, still counted where they have counts
    const leaver = rng.pick(org.agents);
    await ok(patch(`/api/users/${leaver.id}`, adminKey, { active: false }), 200);
    leaver.active = false;
    return org;
  }

  /** Waits until no follow-up can still end by itself during the comparison (webhooks run, stale ones expired). */
  async function settle(org: Org) {
    await eventually(
      async () => {
        const all = await pages<FollowUpView>('/api/follow-ups', org.admin.apiKey, 'followUps');
        const now = Date.now();
        const pending = all.filter(
          (f) => OPEN.has(f.status) && (f.type === 'webhook' || Date.parse(f.scheduledAt) < now - EXPIRE_AFTER_DAYS * DAY),
        );
        expect(pending).toEqual([]);
      },
      60_000,
      200,
    );
  }

  /** Phase after settling: contacts reassigned (open inheriting follow-ups follow), then more scheduling and notes. */
  async function afterSettle(rng: Rng, org: Org) {
    const adminKey = org.admin.apiKey;
    for (const c of rng.subset(org.contacts, 0.4)) {
      const to = rng.chance(0.2) ? null : rng.pick(org.agents.filter((a) => a.active)).id;
      await ok(patch(`/api/contacts/${c}`, adminKey, { assignedAgentId: to }), 200);
    }
    for (let i = 0; i < 4; i++) {
      await ok(post(`/api/contacts/${rng.pick(org.contacts)}/follow-ups`, adminKey, { scheduledAt: new Date(Date.now() + rng.int(1, 10) * DAY).toISOString() }), 201);
    }
    await ok(post(`/api/contacts/${rng.pick(org.contacts)}/notes`, rng.pick(org.supervisors).apiKey, { text: 'after' }), 201);

    // Contacts archived (their open follow-ups stay open, off the hub and out of the report's open counts), some made
    // ACTIVE again; follow-ups scheduled and snoozed, and contacts reassigned, while archived. Only contacts none of
    // whose open follow-ups has an attempt due within the hour: one that comes due while archived is cancelled
    // ("contact archived"), which the comparison would see after it read the lists.
    const listed = await pages<FollowUpView>('/api/follow-ups', adminKey, 'followUps');
    const quiet = (c: string) =>
      listed.every((f) => f.contactId !== c || !OPEN.has(f.status) || f.status === 'queued' || Date.parse(f.nextAttemptAt ?? f.scheduledAt) > Date.now() + HOUR);
    const candidates = org.contacts.filter(quiet);
    const archived = rng.subset(candidates, 0.4);
    if (archived.length === 0 && candidates.length) archived.push(candidates[0]);
    const setStatus = (c: string, status: string) => ok(patch(`/api/contacts/${c}`, adminKey, { status }), 200);
    const active = org.agents.filter((a) => a.active);
    for (const [i, c] of archived.entries()) {
      await setStatus(c, 'ARCHIVED');
      if (i === 0 || rng.chance(0.7)) {
        const body = { scheduledAt: new Date(Date.now() + rng.int(1, 10) * DAY).toISOString(), ...(rng.chance(0.3) ? { agentId: rng.pick(active).id } : {}) };
        await ok(post(`/api/contacts/${c}/follow-ups`, adminKey, body), 201);
      }
      const open = listed.filter((f) => f.contactId === c && OPEN.has(f.status));
      if (open.length && rng.chance(0.5)) expect([200, 201, 409]).toContain((await post(`/api/follow-ups/${rng.pick(open).id}/snooze`, adminKey)).status);
      if (rng.chance(0.5)) await ok(patch(`/api/contacts/${c}`, adminKey, { assignedAgentId: rng.pick(active).id }), 200);
      // the first ends archived after a round trip; the others may end either way
      if (i === 0 || rng.chance(0.5)) {
        await setStatus(c, 'ACTIVE');
        if (i === 0 || rng.chance(0.4)) await setStatus(c, 'ARCHIVED');
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Oracles

  function expectedCallReport(org: Org, calls: CallView[], from: string, to: string, g: (typeof GRANULARITIES)[number], groupBy: (typeof GROUP_BY)[number]) {
    const names = new Map(org.users.map((u) => [u.id, u.name]));
    const cells = new Map<string, { bucket: string; key: string | null; attempts: number; connected: number; talk: number; byStatus: ByStatus }>();
    const totals = { attempts: 0, connected: 0, talk: 0, byStatus: zeroStatus() };
    const add = (c: { attempts: number; connected: number; talk: number; byStatus: ByStatus }, call: CallView) => {
      c.attempts += 1;
      if (call.durationSec > 0) c.connected += 1; // SPEC §3: connected = durationSec > 0, whatever the status
      c.talk += call.durationSec;
      c.byStatus[call.status as keyof ByStatus] += 1;
    };
    for (const call of calls) {
      if (call.live || call.status === 'In-progress') continue; // SPEC §3/§8: reports count only final calls
      const zone = org.tzOfCall.get(call.callId);
      if (!zone) throw new Error(`the test lost track of call ${call.callId}`);
      const day = dayIn(call.startedAt, zone);
      if (day < from || day > to) continue;
      add(totals, call);
      const unit = org.unitOfCall.get(call.callId)!;
      // call-report.controller: "tag (a call counts once per tag; a call without tags under null)"
      const keys: (string | null)[] =
        groupBy === 'status'
          ? [call.status]
          : groupBy === 'agent'
            ? [call.agentId]
            : groupBy === 'branch'
              ? [unit.branch]
              : groupBy === 'department'
                ? [unit.department]
                : groupBy === 'campaign'
                  ? [call.campaignId]
                  : call.tags.length
                    ? [...new Set(call.tags)]
                    : [null];
      // call-report.calendar bucketsByDay: "a week or month cut by from or to keeps its label, Monday or first of the month"
      const bucket = bucketOf(day, g);
      for (const key of keys) {
        const id = `${bucket}|${key}`;
        const cell = cells.get(id) ?? { bucket, key, attempts: 0, connected: 0, talk: 0, byStatus: zeroStatus() };
        cells.set(id, cell);
        add(cell, call);
      }
    }
    const figures = (c: { attempts: number; connected: number; talk: number; byStatus: ByStatus }): Figures => ({
      attempts: c.attempts,
      connected: c.connected,
      connectRate: c.attempts === 0 ? 0 : Math.round((c.connected / c.attempts) * 10_000) / 10_000,
      missed: c.byStatus.Missed,
      talkTimeSec: c.talk,
      byStatus: c.byStatus,
    });
    // call-report.dto: "ordered by bucket then key (null last)"; call-report.repository: keys in UTF-16 order
    const rows: Row[] = [...cells.values()]
      .sort((a, b) => (a.bucket !== b.bucket ? (a.bucket < b.bucket ? -1 : 1) : a.key === b.key ? 0 : a.key === null ? 1 : b.key === null ? -1 : a.key < b.key ? -1 : 1))
      .map((c) => ({ bucket: c.bucket, key: c.key, ...figures(c), ...(groupBy === 'agent' ? { name: c.key === null ? null : (names.get(c.key) ?? null) } : {}) }));
    return { from, to, granularity: g, groupBy, timezone: org.zone, rows, totals: figures(totals) };
  }

  const zeroCounts = (): Counts => ({ dueToday: 0, overdue: 0, upcoming: 0, snoozed: 0, scheduled: 0, completed: 0, failed: 0, expired: 0, cancelled: 0, notesWritten: 0 });

  /**
   * The follow-up report from the lists: open counts from GET /api/follow-ups, only of ACTIVE contacts as the hub (SPEC
   * §6) (effective agent: its own, else the contact's now); activity replayed from the contacts' timelines (effective agent when it happened, dated in the
   * org's timezone at the time: follow-up-report.controller's description).
   */
  function expectedFollowUpReport(
    org: Org,
    followUps: FollowUpView[],
    assigned: Map<string, string | null>,
    archived: Set<string>,
    timelines: Map<string, TimelineEntry[]>,
    viewerZone: string,
    now: number,
    range: { from: string | null; to: string | null },
  ) {
    const byAgent = new Map<string | null, Counts>();
    const of = (agentId: string | null) => byAgent.get(agentId) ?? byAgent.set(agentId, zeroCounts()).get(agentId)!;
    const today = DateTime.fromMillis(now, { zone: viewerZone }).toISODate()!;
    for (const f of followUps) {
      if (!OPEN.has(f.status) || archived.has(f.contactId)) continue;
      const c = of(f.agentId ?? assigned.get(f.contactId) ?? null);
      const due = dayIn(f.scheduledAt, viewerZone);
      if (due < today) c.overdue += 1;
      else if (due === today) c.dueToday += 1;
      else c.upcoming += 1;
      if (f.status === 'snoozed') c.snoozed += 1;
    }
    const orgZoneAt = (at: number) => {
      for (let i = org.timezones.length - 1; i > 0; i--) {
        const z = org.timezones[i];
        if (at > z.until) return z.zone;
        if (at >= z.from) throw new Error(`activity at ${new Date(at).toISOString()} while the org timezone changed: the oracle cannot date it`);
      }
      return org.timezones[0].zone;
    };
    const inRange = (day: string) => (range.from === null || day >= range.from) && (range.to === null || day <= range.to);
    for (const entries of timelines.values()) {
      let agent: string | null = null;
      const own = new Map<string, string | null>();
      const count = (e: TimelineEntry, agentId: string | null, kind: keyof Counts) => {
        const day = dayIn(e.at, orgZoneAt(Date.parse(e.at)));
        if (inRange(day)) of(agentId)[kind] += 1;
      };
      const agentOfFu = (id: string) => own.get(id) ?? agent;
      for (const e of entries) {
        switch (e.kind) {
          case 'contact_created':
            agent = e.data.assignedAgentId ?? null;
            break;
          case 'reassigned':
            agent = e.data.toAgentId ?? null;
            break;
          case 'note':
            count(e, e.data.authorId, 'notesWritten'); // notes count for their author
            break;
          case 'follow_up_scheduled':
            own.set(e.data.followUpId, e.data.agentId ?? null);
            count(e, agentOfFu(e.data.followUpId), 'scheduled');
            break;
          case 'follow_up_completed':
          case 'follow_up_attempt_succeeded':
            count(e, agentOfFu(e.data.followUpId), 'completed');
            break;
          case 'follow_up_attempt_failed':
            if (e.data.retryAt === null) count(e, agentOfFu(e.data.followUpId), 'failed');
            break;
          case 'follow_up_cancelled':
            count(e, agentOfFu(e.data.followUpId), 'cancelled');
            break;
          case 'follow_up_expired':
            count(e, agentOfFu(e.data.followUpId), 'expired');
            break;
        }
      }
    }
    const users = new Map(org.users.map((u) => [u.id, u]));
    const keys = Object.keys(zeroCounts()) as (keyof Counts)[];
    const nonZero = (c: Counts) => keys.some((k) => c[k] !== 0);
    // follow-up-report.dto: "One row per user with any count, plus every active agent (zeros too), ordered by name then id;
    // then the agentId null row when follow-ups without an agent count anything"
    const ids = new Set<string>(org.agents.filter((a) => a.active).map((a) => a.id));
    for (const [id, c] of byAgent) if (id !== null && nonZero(c)) ids.add(id);
    const rows: FuRow[] = [...ids]
      .map((id) => ({ agentId: id, name: users.get(id)?.name ?? null, ...(byAgent.get(id) ?? zeroCounts()) }))
      .sort((a, b) => (a.name !== b.name ? a.name!.localeCompare(b.name!) || (a.agentId < b.agentId ? -1 : 1) : a.agentId < b.agentId ? -1 : 1));
    const none = byAgent.get(null);
    if (none && nonZero(none)) rows.push({ agentId: null, name: null, ...none });
    const totals = zeroCounts();
    for (const r of rows) for (const k of keys) totals[k] += r[k];
    return { groupBy: 'agent', timezone: viewerZone, today, orgTimezone: org.zone, from: range.from, to: range.to, rows, totals };
  }

  // ---------------------------------------------------------------------------------------------------------------

  for (const seed of SEEDS) {
    it(`should match the oracle for every granularity, groupBy, range and viewer (seed ${seed})`, async () => {
      // eslint-disable-next-line no-console
      console.log(`report-oracle seed ${seed} (replay: REPORT_ORACLE_SEED=${seed})`);
      const rng = prng(seed);
      const orgs = [
        await buildOrg(rng, `${seed}-ny`, 'America/New_York', 'Europe/London'),
        await buildOrg(rng, `${seed}-lh`, 'Australia/Lord_Howe', null),
      ];
      for (const org of orgs) await settle(org);
      for (const org of orgs) await afterSettle(rng, org);
      await caughtUp(t.db);

      const mismatches: { what: string; expected: unknown; actual: unknown }[] = [];
      let compared = 0;
      const seen = { finalCalls: 0, liveCalls: 0, dstDayCalls: 0, archivedOpen: 0, statuses: new Set<string>(), followUps: new Set<string>(), activity: new Set<string>() };

      for (const org of orgs) {
        const key = org.supervisors[0].apiKey;
        // ---- call report ----
        const calls = await pages<CallView>('/api/calls', org.admin.apiKey, 'calls');
        const finalDays = calls.filter((c) => !c.live).map((c) => dayIn(c.startedAt, org.tzOfCall.get(c.callId)!));
        const dstOf = new Set(org.timezones.flatMap((z) => transitions(z.zone, Date.now() - 300 * DAY, Date.now()).map((tr) => DateTime.fromMillis(tr, { zone: z.zone }).toISODate()!)));
        seen.finalCalls += finalDays.length;
        seen.liveCalls += calls.filter((c) => c.live).length;
        seen.dstDayCalls += finalDays.filter((d) => dstOf.has(d)).length;
        for (const c of calls) seen.statuses.add(c.status);
        const first = finalDays.reduce((a, b) => (a < b ? a : b));
        const last = finalDays.reduce((a, b) => (a > b ? a : b));
        const shift = (d: string, n: number) => DateTime.fromISO(d, { zone: 'utc' }).plus({ days: n }).toISODate()!;
        const dstDays = org.timezones.flatMap((z) => transitions(z.zone, Date.now() - 300 * DAY, Date.now()).map((tr) => DateTime.fromMillis(tr, { zone: z.zone }).toISODate()!));
        const ranges: [string, string][] = [[shift(first, -1), shift(last, 1)]];
        for (const d of dstDays.slice(0, 3)) ranges.push([d, shift(d, rng.int(0, 40))], [shift(d, -rng.int(1, 20)), d]);
        for (let i = 0; i < 3; i++) {
          const a = shift(first, rng.int(0, 300));
          ranges.push([a, shift(a, rng.int(0, 45))]); // cut mid-week and mid-month
        }
        for (const [from, to] of ranges) {
          for (const g of GRANULARITIES) {
            for (const groupBy of GROUP_BY) {
              const actual = await ok(get(`/api/reports/calls?from=${from}&to=${to}&granularity=${g}&groupBy=${groupBy}`, key), 200);
              const expected = expectedCallReport(org, calls, from, to, g, groupBy);
              compared++;
              if (!sameAs(actual, expected)) mismatches.push({ what: `calls ${org.zone} ${from}..${to} ${g} ${groupBy}`, expected, actual });
            }
          }
        }

        // ---- follow-up report ----
        const followUps = await pages<FollowUpView>('/api/follow-ups', org.admin.apiKey, 'followUps');
        const assigned = new Map<string, string | null>();
        const archived = new Set<string>();
        const timelines = new Map<string, TimelineEntry[]>();
        for (const c of org.contacts) {
          const contact = await ok<{ assignedAgentId: string | null; status: string }>(get(`/api/contacts/${c}`, org.admin.apiKey), 200);
          assigned.set(c, contact.assignedAgentId ?? null);
          if (contact.status === 'ARCHIVED') archived.add(c);
          const entries: TimelineEntry[] = [];
          let cursor: string | null = null;
          do {
            const body: { entries: TimelineEntry[]; nextCursor: string | null } = await ok<{ entries: TimelineEntry[]; nextCursor: string | null }>(get(`/api/contacts/${c}/timeline?limit=200${cursor ? `&cursor=${cursor}` : ''}`, org.admin.apiKey), 200);
            entries.push(...body.entries);
            cursor = body.nextCursor;
          } while (cursor);
          timelines.set(c, entries.sort((a, b) => a.version - b.version));
        }
        for (const f of followUps) seen.followUps.add(f.status);
        seen.archivedOpen += followUps.filter((f) => OPEN.has(f.status) && archived.has(f.contactId)).length;
        for (const entries of timelines.values()) for (const e of entries) seen.activity.add(e.kind);
        const today = DateTime.now().setZone(org.zone).toISODate()!;
        const activityRanges = [
          { from: null, to: null },
          { from: today, to: today },
          { from: shift(today, -1), to: shift(today, -1) },
          { from: shift(today, -1), to: today },
          { from: shift(today, 1), to: null },
          { from: null, to: shift(today, -1) },
        ];
        // the admin reads in their own timezone (the one GET /api/users shows), like the supervisors
        const adminZone = (await ok<{ timezone: string }>(get(`/api/users/${org.admin.id}`, org.admin.apiKey), 200)).timezone;
        for (const viewer of [...org.supervisors, { ...org.admin, timezone: adminZone }]) {
          for (const range of activityRanges) {
            const q = [range.from ? `from=${range.from}` : '', range.to ? `to=${range.to}` : ''].filter(Boolean).join('&');
            // "today" is read on both sides of the request: retried if a viewer's midnight passed in between
            for (let tries = 0; ; tries++) {
              const before = Date.now();
              const actual = await ok(get(`/api/reports/follow-ups${q ? `?${q}` : ''}`, viewer.apiKey), 200);
              const after = Date.now();
              if (dayIn(new Date(before).toISOString(), viewer.timezone!) !== dayIn(new Date(after).toISOString(), viewer.timezone!) && tries < 3) continue;
              const expected = expectedFollowUpReport(org, followUps, assigned, archived, timelines, viewer.timezone!, after, range);
              compared++;
              if (!sameAs(actual, expected)) mismatches.push({ what: `follow-ups ${org.zone} viewer ${viewer.timezone} ${q || 'all time'}`, expected, actual });
              break;
            }
          }
        }
      }
      // eslint-disable-next-line no-console
      console.log(`report-oracle seed ${seed}: ${compared} reports compared, ${mismatches.length} differ; workload ${JSON.stringify(seen, (_, v) => (v instanceof Set ? [...v].sort() : v))}`);
      // the workload reached what it is meant to: every call status, calls on DST days, live calls, every way a follow-up ends
      expect({ statuses: [...seen.statuses].sort(), dst: seen.dstDayCalls > 0, live: seen.liveCalls > 0 }).toEqual({ statuses: [...STATUSES].sort(), dst: true, live: true });
      expect([...seen.followUps]).toEqual(expect.arrayContaining(['scheduled', 'snoozed', 'completed', 'failed', 'cancelled', 'expired']));
      expect([...seen.activity]).toEqual(expect.arrayContaining(['note', 'reassigned', 'follow_up_attempt_failed', 'follow_up_expired', 'follow_up_completed', 'contact_status_changed']));
      expect(seen.archivedOpen).toBeGreaterThan(0);
      // eslint-disable-next-line no-console
      if (mismatches.length) console.log(`report-oracle seed ${seed} differs in:\n${mismatches.map((m) => m.what).join('\n')}`);
      // the first difference in full, as jest diffs it
      if (mismatches.length) expect({ what: mismatches[0].what, report: mismatches[0].actual }).toEqual({ what: mismatches[0].what, report: mismatches[0].expected });
    });
  }

  afterAll(() => client.expectNo5xx());
});

/** Deep equality as jest sees it, without failing the test at the first report (all of them are listed). */
function sameAs(a: unknown, b: unknown): boolean {
  try {
    expect(a).toEqual(b);
    return true;
  } catch {
    return false;
  }
}


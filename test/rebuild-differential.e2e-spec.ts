import { randomUUID } from 'node:crypto';
import { Response } from 'supertest';
import { ProjectionRebuilder, ProjectionRegistry } from '@app/event-store';
import { JobQueues, QueueName } from '@app/queue';
import { consumersCaughtUp, eventually, HttpSink, installNo5xxGuard, recordingClient, startHttpSink, startTestApp, TestApp } from '@app/testing';
import { RebuildCommand } from '../apps/cli/src/commands';
import { prng } from '@app/testing/seeded-random';

/**
 * SPEC §8: "Any projection can be rebuilt from the event store, and the rebuilt one equals the live one."
 *
 * A differential test: a seeded pseudo-random workload over HTTP (two organizations in different time zones; contacts,
 * campaigns, single and batch call pushes of every status, notes, follow-ups and their lifecycle, the hub's done and
 * snooze, settings and user changes, auto-assignment, webhook/SMS/dialler deliveries against local sinks), with the
 * workers running, mostly one request at a time and now and then a few at once. Halfway through, every projection is
 * rebuilt while the requests go on. Once the service is at rest, every table of every projection (as the registry
 * lists them) and what the API answers are taken, every projection is rebuilt the way an operator does it
 * (`projection:rebuild <name>`, the CLI's command), and both are taken again: they must be equal, row by row and
 * answer by answer.
 *
 * No column is left out of the comparison: every read-model column is set from event data (a projection must never
 * read the clock, libs/event-store/src/projection.ts), so none is a legitimate rebuild-time stamp.
 *
 * A failure prints its seed; `REBUILD_SEEDS=<seed>[,<seed>…] npx jest test/rebuild-differential.e2e-spec.ts`
 * replays that workload (times are taken relative to now, and the workers and racing requests interleave as they do,
 * so the same seed makes the same requests and the same kind of history, not the same log). `REBUILD_OPS` sets the
 * operations per organization.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MIN = 60_000;

const FIXED_SEEDS = [0x5eed0001, 0x5eed0002];
const SEEDS: number[] = process.env.REBUILD_SEEDS
  ? process.env.REBUILD_SEEDS.split(',').map((s) => Number(s.trim()))
  : // two fixed workloads, and on a developer's machine a fresh one per run (printed), so runs over time explore more
    // histories; CI runs the fixed ones only, so what decides whether a change lands is the same from run to run
    [...FIXED_SEEDS, ...(process.env.CI ? [] : [Date.now() % 2 ** 31])];

const OPS_PER_ORG = Number(process.env.REBUILD_OPS ?? 160);

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness

type Rng = ReturnType<typeof prng>;

// ---------------------------------------------------------------------------------------------------------------
// The world the workload acts on (what the test knows; the service is the judge of what is allowed)

interface User {
  id: string;
  apiKey: string;
}
interface Contact {
  id: string;
  agentId: string | null;
  archived?: boolean;
}
interface OrgWorld {
  label: string;
  orgId: string;
  admin: User;
  supervisor: User;
  agents: User[];
  campaigns: string[];
  contacts: Contact[];
  /** Follow-ups made, with their contact; `ended` once this test cancelled or completed it. */
  followUps: { id: string; contactId: string; ended?: boolean }[];
  /** In-progress calls pushed and not yet ended: the final push comes later. */
  live: Record<string, unknown>[];
  /** Every call body pushed, for duplicates. */
  pushed: Record<string, unknown>[];
  /** Agents deactivated (PATCH /api/users/:id active false): no longer given contacts, calls or follow-ups. */
  inactive: Set<string>;
}

/** The agents who can be given work now. */
const activeAgents = (w: OrgWorld) => w.agents.filter((a) => !w.inactive.has(a.id));

const TIMEZONES = ['America/New_York', 'Asia/Kolkata', 'Pacific/Auckland', 'Europe/London', 'UTC', 'America/Los_Angeles', 'Australia/Adelaide'];
const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const TAGS = ['vip', 'renewal', 'spanish', 'q3', 'inbound'];

jest.setTimeout(240_000);

describe('rebuilding every projection after a random workload (SPEC §8)', () => {
  let t: TestApp;
  let ok: HttpSink;
  let failing: HttpSink;
  const client = recordingClient(() => t);
  installNo5xxGuard(client);

  beforeAll(async () => {
    [ok, failing] = await Promise.all([startHttpSink(), startHttpSink()]);
    failing.respondWith(500);
    t = await startTestApp({ env: { EXPIRY_INTERVAL_MS: '1000' } });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([ok?.close(), failing?.close()]);
  });

  let phoneSeq = 0;
  const phone = () => `+1415${String(3_000_000 + phoneSeq++).padStart(7, '0')}`;

  /** The response, when its status is one the operation may get (the service judges what is allowed); else fails. */
  const expectStatus = (res: Response, ...statuses: number[]) => {
    const req = (res as unknown as { req?: { method?: string; path?: string } }).req;
    if (!statuses.includes(res.status)) throw new Error(`${req?.method} ${req?.path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res;
  };

  // -------------------------------------------------------------------------------------------------------------
  // Setting up an organization

  async function makeOrg(r: Rng, label: string, timezone: string, flavour: 'a' | 'b'): Promise<OrgWorld> {
    const org = await t.createOrg(`${label} ${randomUUID().slice(0, 6)}`, timezone);
    const admin = { id: org.adminUserId, apiKey: org.adminKey };
    const supervisor = await t.createUser(org.adminKey, { name: 'Sue Supervisor', role: 'supervisor', timezone: r.pick(TIMEZONES) });
    const agents: User[] = [];
    const names = ['Ana', 'Bob', 'Cem', 'Dia'];
    for (const [i, name] of names.entries()) {
      agents.push(
        await t.createUser(org.adminKey, {
          name,
          role: 'agent',
          ...(i % 2 ? { branch: 'East' } : { branch: 'West' }),
          ...(i < 2 ? { department: 'Sales' } : {}),
          // agents in other zones than the org's: their hub's today is theirs
          ...(r.chance(0.5) ? { timezone: r.pick(TIMEZONES) } : {}),
        }),
      );
    }
    const settings =
      flavour === 'a'
        ? {
            callingWindow: { days: WEEK, start: '00:00', end: '23:59' },
            autoAssignment: { enabled: true, delaySeconds: 0, strategy: 'round_robin', scope: 'org', maxReassignments: 3, statuses: ['Not Picked', 'Missed'] },
            webhooks: { allowHttpHosts: ['127.0.0.1'] },
            sms: { url: `${ok.url}/sms` },
            retryDelaySeconds: 1,
          }
        : {
            callingWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '18:00' },
            autoAssignment: { enabled: true, delaySeconds: 1, strategy: 'least_loaded', scope: 'branch', maxReassignments: 2, statuses: ['Not Picked', 'Missed'] },
            webhooks: { allowHttpHosts: ['127.0.0.1'] },
            sms: { url: `${failing.url}/sms` },
            dialler: { url: `${ok.url}/dial` },
            retryDelaySeconds: 1,
            attemptTimeoutSeconds: 1,
            expireAfterDays: 5,
          };
    expectStatus(await client.patch('/api/settings', admin.apiKey, settings), 200);
    const w: OrgWorld = { label, orgId: org.orgId, admin, supervisor, agents, campaigns: [], contacts: [], followUps: [], live: [], pushed: [], inactive: new Set() };
    for (let i = 0; i < 2; i++) await createCampaign(r, w);
    for (let i = 0; i < 12; i++) await createContact(r, w);
    return w;
  }

  async function createCampaign(r: Rng, w: OrgWorld) {
    const body: Record<string, unknown> = { name: `Campaign ${w.campaigns.length + 1}` };
    // always some time in common with the org's window (POST refuses a campaign window that has none): thursdays, 12:00-16:00
    if (r.chance(0.5)) body.callingWindow = { days: [...new Set([...r.subset(WEEK, 0.7), 'wed', 'thu'])], start: r.pick(['07:00', '09:30', '12:00']), end: r.pick(['17:00', '20:00', '22:45']) };
    if (r.chance(0.5)) body.agentPool = r.subset(activeAgents(w), 0.6).map((a) => a.id);
    const res = expectStatus(await client.post('/api/campaigns', w.admin.apiKey, body), 201);
    w.campaigns.push(res.body.id);
  }

  async function createContact(r: Rng, w: OrgWorld) {
    const agentId = r.chance(0.85) ? r.pick(activeAgents(w)).id : null;
    const body: Record<string, unknown> = { name: `${r.pick(['Sarah', 'Tom', 'Uma', 'Vic', 'Wen'])} ${r.pick(['Lee', 'Ng', 'Roe', 'Sá'])} ${w.contacts.length}`, phone: phone() };
    if (agentId) body.assignedAgentId = agentId;
    if (r.chance(0.4)) body.timezone = r.pick(TIMEZONES);
    if (r.chance(0.5)) body.leadQuality = r.pick(['HOT', 'WARM', 'COLD', 'NURTURE']);
    if (r.chance(0.5)) body.tags = r.subset(TAGS, 0.4);
    if (r.chance(0.5) && w.campaigns.length) body.campaignId = r.pick(w.campaigns);
    const res = expectStatus(await client.post('/api/contacts', w.admin.apiKey, body), 201);
    w.contacts.push({ id: res.body.id, agentId });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Times: past and future over several days, so the reports have several buckets and the hub several groups

  /** A time `-12 days … +9 days` from now, never within ten minutes of now (so nothing comes due while the test looks). */
  const someTime = (r: Rng) => {
    const now = Date.now();
    if (r.chance(0.55)) return new Date(now - r.int(10 * MIN, 12 * DAY)).toISOString();
    return new Date(now + r.int(2 * HOUR, 9 * DAY)).toISOString();
  };
  const pastTime = (r: Rng) => new Date(Date.now() - r.int(MIN, 11 * DAY)).toISOString();

  function followUpFields(r: Rng, w: OrgWorld): Record<string, unknown> {
    const type = r.weighted({ call: 7, sms: 1, webhook: 1 });
    const f: Record<string, unknown> = { scheduledAt: someTime(r) };
    if (type !== 'call' || r.chance(0.3)) f.type = type;
    if (type === 'sms') f.message = 'Your callback is confirmed';
    if (type === 'webhook') f.url = `${r.pick([ok, failing]).url}/hook/${r.int(1, 9)}`;
    if (r.chance(0.3)) f.agentId = r.pick(activeAgents(w)).id;
    if (r.chance(0.4)) f.priority = r.pick(['low', 'normal', 'high', 'urgent']);
    f.maxAttempts = r.int(1, 3);
    if (r.chance(0.3)) f.allowOutOfWindow = true;
    if (r.chance(0.4)) f.notes = 'Ask about the renewal';
    if (r.chance(0.2) && w.campaigns.length) f.campaignId = r.pick(w.campaigns);
    return f;
  }

  function callBody(r: Rng, w: OrgWorld, contact: Contact, status?: string): Record<string, unknown> {
    const s = status ?? r.weighted({ Called: 5, Busy: 4, 'No Answer': 3, Missed: 2, 'Follow up': 2, Rescheduled: 2, 'In-progress': 3 });
    const connected = s === 'Called' || s === 'Follow up' || s === 'Rescheduled' ? r.chance(0.85) : s === 'In-progress' ? false : r.chance(0.05);
    const body: Record<string, unknown> = {
      callId: `call-${randomUUID()}`,
      contactId: contact.id,
      agentId: contact.agentId && !w.inactive.has(contact.agentId) && r.chance(0.7) ? contact.agentId : r.pick(activeAgents(w)).id,
      direction: s === 'Missed' || r.chance(0.15) ? 'inbound' : 'outbound',
      status: s,
      durationSec: connected ? r.int(1, 900) : 0,
      startedAt: pastTime(r),
    };
    if (r.chance(0.4)) body.tags = r.subset(TAGS, 0.4);
    if (r.chance(0.3) && w.campaigns.length) body.campaignId = r.pick(w.campaigns);
    if (r.chance(0.3)) body.note = 'Spoke briefly';
    if (s === 'Called' && r.chance(0.6)) body.leadStatus = r.pick(['Interested', 'Not Interested', 'Followups']);
    if (s === 'Follow up') body.followUp = followUpFields(r, w);
    if (s === 'Rescheduled') {
      body.callbackAt = someTime(r);
      if (r.chance(0.7)) body.reason = 'Driving, call back later';
    }
    const own = w.followUps.filter((f) => f.contactId === contact.id);
    if (own.length && r.chance(0.35)) body.followUpId = r.pick(own).id;
    return body;
  }

  /** Remembers what a push made: the follow-up a Follow up or Rescheduled call scheduled, the live call to end later. */
  async function rememberPush(w: OrgWorld, body: Record<string, unknown>, accepted: boolean) {
    if (!accepted) return;
    w.pushed.push(body);
    if (body.status === 'In-progress') w.live.push(body);
    if (body.status === 'Follow up' || body.status === 'Rescheduled') {
      const res = await client.get(`/api/contacts/${body.contactId}/follow-ups?limit=200`, w.admin.apiKey);
      for (const f of (res.body.followUps ?? []) as { id: string }[]) {
        if (!w.followUps.some((x) => x.id === f.id)) w.followUps.push({ id: f.id, contactId: body.contactId as string });
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // The operations

  type Op = (r: Rng, w: OrgWorld, other: OrgWorld) => Promise<number>;

  const ops: Record<string, Op> = {
    async createContact(r, w) {
      await createContact(r, w);
      return 201;
    },
    async createCampaign(r, w) {
      await createCampaign(r, w);
      return 201;
    },
    async editContact(r, w) {
      const c = r.pick(w.contacts);
      const body: Record<string, unknown> = {};
      if (r.chance(0.3)) body.name = `Renamed ${r.int(1, 999)}`;
      if (r.chance(0.2)) body.phone = phone();
      if (r.chance(0.3)) body.tags = r.subset(TAGS, 0.4);
      if (r.chance(0.3)) body.leadQuality = r.pick(['HOT', 'WARM', 'COLD', 'NURTURE']);
      if (r.chance(0.3)) body.leadStatus = r.pick(['New', 'Interested', 'Not Interested', 'Followups', 'Not Picked', 'Missed']);
      if (r.chance(0.2)) body.campaignId = r.chance(0.7) && w.campaigns.length ? r.pick(w.campaigns) : null;
      if (r.chance(0.2)) body.timezone = r.pick(TIMEZONES);
      if (Object.keys(body).length === 0) body.leadQuality = 'HOT';
      // an agent edits its own contacts; the admin any
      const key = c.agentId && r.chance(0.4) ? w.agents.find((a) => a.id === c.agentId)!.apiKey : w.admin.apiKey;
      return expectStatus(await client.patch(`/api/contacts/${c.id}`, key, body), 200, 401, 404).status;
    },
    async reassign(r, w) {
      const c = r.pick(w.contacts);
      const to = r.chance(0.9) ? r.pick(activeAgents(w)).id : null;
      // (an agent who left is refused)
      const res = expectStatus(await client.patch(`/api/contacts/${c.id}`, w.admin.apiKey, { assignedAgentId: to }), 200, 400, 404);
      if (res.status === 200) c.agentId = res.body.assignedAgentId ?? null;
      return res.status;
    },
    async archive(r, w) {
      const c = r.pick(w.contacts);
      const res = expectStatus(await client.patch(`/api/contacts/${c.id}`, w.admin.apiKey, { status: c.archived ? 'ACTIVE' : 'ARCHIVED' }), 200);
      c.archived = !c.archived;
      return res.status;
    },
    async call(r, w) {
      const body = callBody(r, w, r.pick(w.contacts));
      const res = expectStatus(await client.post('/api/calls', w.admin.apiKey, body), 201, 200, 400, 404, 409);
      await rememberPush(w, body, res.status < 300 && res.body.status === 'accepted');
      return res.status;
    },
    async endLiveCall(r, w) {
      if (!w.live.length) return ops.call(r, w, w);
      const live = w.live.splice(r.int(0, w.live.length - 1), 1)[0];
      const contact = w.contacts.find((c) => c.id === live.contactId)!;
      const final = callBody(r, w, contact, r.pick(['Called', 'Busy', 'No Answer', 'Follow up', 'Rescheduled']));
      const body = { ...final, callId: live.callId, agentId: live.agentId, startedAt: live.startedAt, direction: live.direction };
      const res = expectStatus(await client.post('/api/calls', w.admin.apiKey, body), 201, 200, 400, 409);
      await rememberPush(w, body, res.status < 300 && res.body.status === 'accepted');
      return res.status;
    },
    async duplicate(r, w) {
      if (!w.pushed.length) return ops.call(r, w, w);
      const res = expectStatus(await client.post('/api/calls', w.admin.apiKey, r.pick(w.pushed)), 200, 201, 400, 409);
      return res.status;
    },
    async batch(r, w, other) {
      const calls: Record<string, unknown>[] = [];
      const n = r.int(3, 25);
      for (let i = 0; i < n; i++) {
        const kind = r.weighted({ fresh: 10, liveThenFinal: 2, duplicate: 2, endLive: 1, bad: 1, foreign: 1 });
        if (kind === 'fresh') calls.push(callBody(r, w, r.pick(w.contacts)));
        else if (kind === 'liveThenFinal') {
          const live = callBody(r, w, r.pick(w.contacts), 'In-progress');
          const contact = w.contacts.find((c) => c.id === live.contactId)!;
          calls.push(live, { ...callBody(r, w, contact, r.pick(['Called', 'Busy', 'No Answer'])), callId: live.callId, agentId: live.agentId, startedAt: live.startedAt });
        } else if (kind === 'duplicate' && w.pushed.length) calls.push(r.pick(w.pushed));
        else if (kind === 'endLive' && w.live.length) {
          const live = w.live.splice(r.int(0, w.live.length - 1), 1)[0];
          const contact = w.contacts.find((c) => c.id === live.contactId)!;
          calls.push({ ...callBody(r, w, contact, r.pick(['Called', 'Busy', 'Missed'])), callId: live.callId, agentId: live.agentId, startedAt: live.startedAt, direction: live.direction });
        } else if (kind === 'bad') calls.push({ ...callBody(r, w, r.pick(w.contacts)), durationSec: -1 });
        else if (kind === 'foreign') calls.push(callBody(r, w, r.pick(other.contacts))); // another org's contact: rejected
        else calls.push(callBody(r, w, r.pick(w.contacts)));
      }
      const res = expectStatus(await client.post('/api/calls/batch', w.admin.apiKey, { calls }), 200);
      for (const [i, c] of calls.entries()) await rememberPush(w, c, res.body.results[i]?.status === 'accepted');
      return res.status;
    },
    async note(r, w) {
      const c = r.pick(w.contacts);
      const agent = c.agentId ? w.agents.find((a) => a.id === c.agentId) : undefined;
      const key = agent && r.chance(0.6) ? agent.apiKey : r.pick([w.admin.apiKey, w.supervisor.apiKey]);
      return expectStatus(await client.post(`/api/contacts/${c.id}/notes`, key, { text: `Note ${r.int(1, 1e6)}` }), 201, 401, 404).status;
    },
    async schedule(r, w) {
      const c = r.pick(w.contacts);
      const body: Record<string, unknown> = followUpFields(r, w);
      if (r.chance(0.3)) body.source = r.pick(['manual', 'api', 'automation', 'import']);
      const res = expectStatus(await client.post(`/api/contacts/${c.id}/follow-ups`, w.admin.apiKey, body), 201, 400, 404);
      if (res.status === 201) w.followUps.push({ id: res.body.id, contactId: c.id });
      return res.status;
    },
    async followUpAction(r, w) {
      if (!w.followUps.length) return ops.schedule(r, w, w);
      // mostly one not known to have ended (the service may have ended it meanwhile: 409), now and then any
      const open = w.followUps.filter((x) => !x.ended);
      const f = open.length && r.chance(0.85) ? r.pick(open) : r.pick(w.followUps);
      const action = r.weighted({ snooze: 3, reschedule: 3, cancel: 2, complete: 2 });
      const body = action === 'reschedule' ? { scheduledAt: someTime(r) } : action === 'cancel' && r.chance(0.5) ? { reason: 'Lead asked us to stop' } : {};
      const res = expectStatus(await client.post(`/api/follow-ups/${f.id}/${action}`, w.admin.apiKey, body), 200, 201, 409);
      if (res.status < 300 && (action === 'cancel' || action === 'complete')) f.ended = true;
      return res.status;
    },
    async hub(r, w) {
      const agent = r.pick(w.agents);
      const due = expectStatus(await client.get(`/api/follow-ups/due?limit=200&filter=${r.pick(['all', 'overdue', 'today', 'hot'])}`, agent.apiKey), 200, 401);
      if (due.status !== 200) return due.status;
      const ids = (due.body.followUps as { contactId: string }[]).map((x) => x.contactId);
      if (!ids.length) return 404;
      const action = r.chance(0.5) ? 'done' : 'snooze';
      const chosen = r.subset(ids, 0.5);
      const body = chosen.length > 1 ? { personIds: chosen, action } : { personId: chosen[0] ?? ids[0], action };
      return expectStatus(await client.patch('/api/follow-ups/due', agent.apiKey, body), 200, 401, 404).status;
    },
    async settings(r, w) {
      const body: Record<string, unknown> = {};
      const what = r.weighted({ timezone: 3, window: 2, expiry: 2, snooze: 1, assignment: 1 });
      if (what === 'timezone') body.timezone = r.pick(TIMEZONES);
      if (what === 'window') body.callingWindow = { days: [...new Set([...r.subset(WEEK, 0.7), 'thu'])], start: r.pick(['00:00', '08:00', '10:00']), end: r.pick(['16:00', '21:00', '23:59']) };
      if (what === 'expiry') body.expireAfterDays = r.int(2, 10);
      if (what === 'snooze') body.snoozeDays = r.int(1, 5);
      if (what === 'assignment') body.autoAssignment = { enabled: r.chance(0.7), strategy: r.pick(['round_robin', 'least_loaded']), scope: r.pick(['org', 'branch', 'department']) };
      return expectStatus(await client.patch('/api/settings', w.admin.apiKey, body), 200).status;
    },
    async rotateSecret(r, w) {
      return expectStatus(await client.post('/api/settings/signing-secret/rotate', w.admin.apiKey, {}), 200, 201).status;
    },
    async integrationUser(r, w) {
      // a dialler's key, made and revoked (the tenancy read model keeps both)
      const res = expectStatus(await client.post('/api/users', w.admin.apiKey, { name: `Dialler ${r.int(1, 999)}`, role: 'integration' }), 201);
      if (r.chance(0.5)) return res.status;
      const del = await t.http().delete(`/api/api-keys/${res.body.apiKeyId}`).set('authorization', `Bearer ${w.admin.apiKey}`);
      return expectStatus(del, 200, 204).status;
    },
    async activeToggle(r, w) {
      // one agent (never the first two, so some are always there to take leads) leaves or comes back
      const agent = r.pick(w.agents.slice(2));
      const active = r.chance(0.5);
      const res = expectStatus(await client.patch(`/api/users/${agent.id}`, w.admin.apiKey, { active }), 200);
      if (active) w.inactive.delete(agent.id);
      else w.inactive.add(agent.id);
      return res.status;
    },
    async user(r, w) {
      const agent = r.pick(w.agents);
      const body = r.pick([{ branch: r.pick(['East', 'West', 'North']) }, { department: r.pick(['Sales', 'Support', null]) }, { branch: null }, { timezone: r.pick(TIMEZONES) }]);
      return expectStatus(await client.patch(`/api/users/${agent.id}`, w.admin.apiKey, body), 200).status;
    },
  };

  const WEIGHTS: Record<keyof typeof ops & string, number> = {
    createContact: 5,
    createCampaign: 1,
    editContact: 6,
    reassign: 5,
    archive: 3,
    call: 14,
    endLiveCall: 4,
    duplicate: 3,
    batch: 5,
    note: 5,
    schedule: 10,
    followUpAction: 11,
    hub: 5,
    settings: 2,
    user: 2,
    rotateSecret: 0.5,
    integrationUser: 0.5,
    activeToggle: 1,
  };

  // -------------------------------------------------------------------------------------------------------------
  // At rest: nothing left for the consumers or the workers to do soon

  /** The log's end: every append moves it. */
  const logEnd = async () => (await t.db.query<{ n: string; p: string | null }>('SELECT count(*)::text AS n, max(global_position)::text AS p FROM events')).rows[0];

  /** Every checkpointed consumer (async projections, the job outbox) has passed every event stored so far (bench/lib.ts). */
  const caughtUp = () => consumersCaughtUp(t.db, 90_000);

  /** Jobs that run now or within the next minute (the expiry scheduler's own repeat aside). */
  const jobsSoon = async () => {
    const out: string[] = [];
    const horizon = Date.now() + MIN;
    for (const name of [QueueName.FollowUps, QueueName.Maintenance]) {
      const q = t.app.get(JobQueues).queue(name);
      const jobs = await q.getJobs(['waiting', 'active', 'prioritized', 'delayed', 'paused', 'waiting-children']);
      for (const j of jobs) {
        if (!j || j.name === 'follow-ups.expire') continue;
        if (j.timestamp + (j.opts.delay ?? 0) <= horizon) out.push(`${j.name} ${j.id}`);
      }
    }
    return out;
  };

  /** Waits until the consumers have caught up, no job is due soon, and the log has not moved for a while. */
  const atRest = async () => {
    let previous = '';
    await eventually(
      async () => {
        await caughtUp();
        expect(await jobsSoon()).toEqual([]);
        const end = JSON.stringify(await logEnd());
        const same = end === previous;
        previous = end;
        expect(same).toBe(true);
      },
      90_000,
      700,
    );
  };

  // -------------------------------------------------------------------------------------------------------------
  // Snapshots: every table of every projection, and what the API answers

  const projectionTables = () => {
    const registry = t.app.get(ProjectionRegistry);
    return registry.projectionNames().flatMap((name) => registry.projection(name)!.tables.map((table) => ({ projection: name, table })));
  };

  const primaryKey = async (table: string): Promise<string[]> =>
    (
      await t.db.query<{ attname: string }>(
        `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
          WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
        [table],
      )
    ).rows.map((x) => x.attname);

  const canonical = (v: unknown): unknown => {
    if (v instanceof Date) return v.toISOString();
    if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
    if (Array.isArray(v)) return v.map(canonical);
    return v;
  };

  type TableDump = Map<string, Record<string, unknown>>;

  /** Every row of every projection table, keyed by its primary key (a row's key, or the whole row when none). */
  async function dumpTables(): Promise<Record<string, TableDump>> {
    const out: Record<string, TableDump> = {};
    for (const { table } of projectionTables()) {
      const pk = await primaryKey(table);
      const rows = new Map<string, Record<string, unknown>>();
      for (const row of (await t.db.query(`SELECT * FROM "${table}"`)).rows as Record<string, unknown>[]) {
        const r: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(row)) r[k] = canonical(v);
        const key = pk.length ? JSON.stringify(pk.map((c) => r[c])) : JSON.stringify(r);
        // (without a key, equal rows are counted)
        rows.set(pk.length ? key : `${key}#${[...rows.keys()].filter((x) => x.startsWith(key)).length}`, r);
      }
      out[table] = rows;
    }
    return out;
  }

  /** Per table: rows only in the live tables, only in the rebuilt ones, and rows whose columns differ (first few each). */
  function diffTables(live: Record<string, TableDump>, rebuilt: Record<string, TableDump>) {
    const diff: Record<string, unknown> = {};
    for (const table of Object.keys(live)) {
      const a = live[table];
      const b = rebuilt[table];
      const onlyLive = [...a.keys()].filter((k) => !b.has(k));
      const onlyRebuilt = [...b.keys()].filter((k) => !a.has(k));
      const changed = [...a.keys()]
        .filter((k) => b.has(k) && JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)))
        .map((k) => {
          const cols = Object.keys(a.get(k)!).filter((c) => JSON.stringify(a.get(k)![c]) !== JSON.stringify(b.get(k)![c]));
          return { key: k, columns: Object.fromEntries(cols.map((c) => [c, { live: a.get(k)![c], rebuilt: b.get(k)![c] }])) };
        });
      if (onlyLive.length || onlyRebuilt.length || changed.length) {
        diff[table] = {
          rows: { live: a.size, rebuilt: b.size },
          onlyLive: onlyLive.slice(0, 5).map((k) => a.get(k)),
          onlyRebuilt: onlyRebuilt.slice(0, 5).map((k) => b.get(k)),
          changed: changed.slice(0, 5),
          changedCount: changed.length,
        };
      }
    }
    return diff;
  }

  /** Every page of a cursor-paged list (the array is the one property of the body that is an array). */
  async function allPages(path: string, key: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = expectStatus(await client.get(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, key), 200);
      const list = Object.values(res.body).find(Array.isArray) as unknown[];
      items.push(...list);
      cursor = res.body.nextCursor ?? null;
      if (!cursor) return items;
    }
    throw new Error(`${path}: more than 100 pages`);
  }

  /** What users see: lists, each contact's pages, every agent's hub, both reports in several shapes. */
  async function apiView(w: OrgWorld): Promise<Record<string, unknown>> {
    const view: Record<string, unknown> = {};
    const admin = w.admin.apiKey;
    const get = async (path: string, key = admin) => expectStatus(await client.get(path, key), 200).body;
    view.contacts = await allPages('/api/contacts', admin);
    view.archived = await allPages('/api/contacts?status=ARCHIVED', admin);
    for (const c of w.contacts) {
      view[`contact ${c.id}`] = await get(`/api/contacts/${c.id}`);
      view[`timeline ${c.id}`] = await allPages(`/api/contacts/${c.id}/timeline`, admin);
      view[`follow-ups ${c.id}`] = await allPages(`/api/contacts/${c.id}/follow-ups`, admin);
      view[`calls ${c.id}`] = await allPages(`/api/contacts/${c.id}/calls`, admin);
    }
    view.followUps = await allPages('/api/follow-ups', admin);
    for (const status of ['scheduled', 'queued', 'snoozed', 'completed', 'failed', 'expired', 'cancelled']) view[`follow-ups ${status}`] = await allPages(`/api/follow-ups?status=${status}`, admin);
    for (const f of w.followUps) view[`follow-up ${f.id}`] = await get(`/api/follow-ups/${f.id}`);
    view.calls = await allPages('/api/calls', admin);
    view.live = await get('/api/calls/live');
    view.settings = await get('/api/settings');
    view.agents = await get('/api/agents');
    view.campaigns = await get('/api/campaigns');
    for (const a of w.agents) {
      // (an agent who left answers 401 on both sides)
      const asAgent = async (path: string) => {
        const res = await client.get(path, a.apiKey);
        return { status: res.status, body: res.body };
      };
      for (const filter of ['all', 'overdue', 'today', 'hot']) view[`hub ${a.id} ${filter}`] = await asAgent(`/api/follow-ups/due?limit=200&filter=${filter}`);
      view[`agent contacts ${a.id}`] = await asAgent('/api/contacts?limit=200');
      view[`hub of ${a.id} for the supervisor`] = await get(`/api/follow-ups/due?limit=200&agentId=${a.id}`, w.supervisor.apiKey);
    }
    const day = (d: number) => new Date(Date.now() + d * DAY).toISOString().slice(0, 10);
    for (const granularity of ['day', 'week', 'month']) {
      for (const groupBy of ['status', 'agent', 'branch', 'department', 'tag', 'campaign']) {
        view[`call report ${granularity} ${groupBy}`] = await get(`/api/reports/calls?from=${day(-20)}&to=${day(2)}&granularity=${granularity}&groupBy=${groupBy}`);
      }
    }
    view['follow-up report'] = await get('/api/reports/follow-ups?groupBy=agent');
    view['follow-up report, supervisor'] = await get('/api/reports/follow-ups', w.supervisor.apiKey);
    view['follow-up report, last week'] = await get(`/api/reports/follow-ups?from=${day(-7)}&to=${day(0)}`);
    return view;
  }

  /** What an operator runs for each projection: `npm run cli -- projection:rebuild <name>`. */
  async function rebuildAll() {
    const command = new RebuildCommand(t.app.get(ProjectionRebuilder));
    const printed: { projection: string; events: number }[] = [];
    for (const name of t.app.get(ProjectionRegistry).projectionNames()) {
      // the command prints its result as one JSON line on stdout: read it there (anything else written goes through)
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        const text = String(chunk);
        if (text.startsWith(`{"projection":${JSON.stringify(name)}`)) return printed.push(JSON.parse(text)) > 0;
        return (write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
      }) as typeof process.stdout.write;
      try {
        await command.run([name]);
      } finally {
        process.stdout.write = write;
      }
    }
    return printed;
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * Found by this file (seed 24, the rebuild halfway through the workload): `projection:rebuild contacts` failed with
   * "deadlock detected". Its LOCK takes contacts, calls, follow_ups, lead_reassignments one by one, while an append's
   * transaction holding one of them (its projection's writes go calls first, then contacts) went on to another.
   * Here the append is a transaction of our own that takes the same locks in the same order, so the deadlock is certain,
   * and Postgres fails the rebuild (it waited first, so its deadlock check runs first).
   */
  it('should finish a rebuild that deadlocks with an append in flight', async () => {
    const org = await t.createOrg('Deadlock org');
    const agent = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    const contact = expectStatus(await client.post('/api/contacts', org.adminKey, { name: 'Lead', phone: phone(), assignedAgentId: agent.id }), 201).body.id as string;
    const before = (await t.db.query('SELECT * FROM contacts WHERE id = $1', [contact])).rows[0];

    const append = await t.db.pool.connect();
    try {
      await append.query('BEGIN');
      // what an append's projection statement takes first: the calls table
      await append.query('UPDATE calls SET note = note WHERE org_id = $1', [org.orgId]);
      const rebuild = t.app.get(ProjectionRebuilder).rebuild('contacts').then(
        (r) => r,
        (err: Error) => err,
      );
      // the rebuild holds contacts and waits for calls
      await eventually(async () => {
        const { rows } = await t.db.query(`SELECT 1 FROM pg_locks WHERE relation = 'calls'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted`);
        expect(rows).toHaveLength(1);
      });
      // the append goes on to the contact's row: it waits for the rebuild, which waits for it
      const outcome = await append.query('UPDATE contacts SET updated_at = updated_at WHERE id = $1', [contact]).then(
        () => 'written',
        (err: { code?: string }) => err.code,
      );
      await append.query(outcome === 'written' ? 'COMMIT' : 'ROLLBACK');
      expect(outcome).toBe('written'); // Postgres failed the rebuild, not the append

      // the rebuild ran again once the append was done: the operator's command succeeds, the table is the log's
      expect(await rebuild).toEqual({ events: expect.any(Number) });
      expect((await t.db.query('SELECT * FROM contacts WHERE id = $1', [contact])).rows[0]).toEqual(before);
      expectStatus(await client.get(`/api/contacts/${contact}`, agent.apiKey), 200);
    } finally {
      append.release();
    }
  });

  it.each(SEEDS)('seed %i: the rebuilt read models and API answers equal the live ones', async (seed) => {
    const started = Date.now();
    console.log(`rebuild differential: seed ${seed} (replay: REBUILD_SEEDS=${seed} npx jest test/rebuild-differential.e2e-spec.ts)`);
    const r = prng(seed);
    const a = await makeOrg(r, `A${seed}`, 'America/New_York', 'a');
    const b = await makeOrg(r, `B${seed}`, 'Asia/Kolkata', 'b');
    const tally: Record<string, Record<number, number>> = {};
    let midRebuild: Promise<void> | undefined;
    for (let i = 0; i < OPS_PER_ORG * 2; ) {
      // Mostly one request at a time; now and then a few at once (racing writers of one organization and contact).
      const group = r.chance(0.25) ? r.int(2, 5) : 1;
      const running: Promise<void>[] = [];
      // Halfway, an operator rebuilds everything while the service is busy: what comes after must apply on top, and
      // the at-rest rebuild below must still find the same tables.
      if (i >= OPS_PER_ORG && !midRebuild) running.push((midRebuild = rebuildAll().then(() => undefined)));
      for (let k = 0; k < group; k++, i++) {
        const [w, other] = r.chance(0.5) ? [a, b] : [b, a];
        // The last operations push no calls: a call ends its contact's queued attempt, which rewrites what earlier
        // events left in the contact's row, and a divergence they left would be gone by the comparison.
        const op = r.weighted(i < OPS_PER_ORG * 2 * 0.8 ? WEIGHTS : { ...WEIGHTS, call: 0, batch: 0, endLiveCall: 0, duplicate: 0 });
        // each operation draws from its own generator, so requests running together draw the same whatever their timing
        running.push(
          ops[op](prng(r.int(0, 2 ** 32 - 1)), w, other).then((status) => {
            (tally[op] ??= {})[status] = (tally[op]?.[status] ?? 0) + 1;
          }),
        );
      }
      await Promise.all(running);
    }

    // The workload reached what it means to cover (events of every kind the read models fold).
    const { rows: kinds } = await t.db.query<{ type: string }>('SELECT DISTINCT type FROM events WHERE org_id = ANY ($1::uuid[])', [[a.orgId, b.orgId]]);
    expect(kinds.map((k) => k.type).sort()).toEqual(
      expect.arrayContaining([
        'CallLogged',
        'CallStarted',
        'ContactAssigned',
        'ContactCreated',
        'ContactStatusChanged',
        'ContactUpdated',
        'FollowUpCancelled',
        'FollowUpCompleted',
        'FollowUpRescheduled',
        'FollowUpScheduled',
        'FollowUpSnoozed',
        'LeadQualityChanged',
        'LeadStatusChanged',
        'NoteAdded',
        'SettingsChanged',
      ]),
    );

    /** Where the time went (ms), printed with the result. */
    const took: Record<string, number> = {};
    let since = started;
    const lap = (what: string) => {
      took[what] = (took[what] ?? 0) + Date.now() - since;
      since = Date.now();
    };
    lap('workload');
    let rounds = 0;
    for (;;) {
      rounds++;
      await atRest();
      lap('at rest');
      const before = await logEnd();
      const liveTables = await dumpTables();
      const liveApi = { a: await apiView(a), b: await apiView(b) };

      lap('live snapshot');
      const rebuilt = await rebuildAll();
      lap('rebuild');
      expect(rebuilt.map((x) => x.projection).sort()).toEqual(t.app.get(ProjectionRegistry).projectionNames().sort());
      await caughtUp();
      const rebuiltTables = await dumpTables();
      const rebuiltApi = { a: await apiView(a), b: await apiView(b) };
      const after = await logEnd();
      lap('rebuilt snapshot');
      console.log(`seed ${seed}: ms ${JSON.stringify(took)}`);

      // Something of the service's own appended meanwhile (a window opening, an expiry): the two sides saw different
      // logs, so take both again.
      if (JSON.stringify(before) !== JSON.stringify(after) && rounds < 4) {
        console.log(`seed ${seed}: the log moved during the comparison (${JSON.stringify(before)} → ${JSON.stringify(after)}); again`);
        continue;
      }
      expect(after).toEqual(before);
      const { rows: counts } = await t.db.query<{ type: string; n: number }>(
        'SELECT type, count(*)::int AS n FROM events WHERE org_id = ANY ($1::uuid[]) GROUP BY type ORDER BY type',
        [[a.orgId, b.orgId]],
      );
      console.log(`seed ${seed}: operations ${JSON.stringify(tally)}\nevents ${JSON.stringify(Object.fromEntries(counts.map((c) => [c.type, c.n])))}`);
      expect(Object.values(liveTables).reduce((n, rows) => n + rows.size, 0)).toBeGreaterThan(500);
      expect(diffTables(liveTables, rebuiltTables)).toEqual({});
      expect(rebuiltApi).toEqual(liveApi);
      break;
    }
  });
});

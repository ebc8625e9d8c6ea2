import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { Job, JobType } from 'bullmq';
import { REASSIGN_BACKLOG, REASSIGN_LEAD, ReassignBacklogHandler, ReassignJobSource } from '@app/assignment';
import { JobQueues, JobReconciler, QueueName } from '@app/queue';
import { eventually, expectError, fieldsNamed, installNo5xxGuard, recordingClient, scrapedMetric, startHttpSink, startTestApp, TestApp } from '@app/testing';

/**
 * SPEC §7 auto lead assignment, over HTTP with the workers running: a lead left in a recycled status is given to
 * another active agent of its org (round_robin or least_loaded, within the org, branch or department) once the delay
 * has passed, unless it was spoken to, reached its maximum, or nobody is eligible. Also PATCH /api/users/:id, which
 * decides who is eligible.
 *
 * "Must not happen" is proven from the queue, never from a pause: `settle()` waits until the job outbox has turned
 * every event written so far into jobs, and `drain()` then runs a lead's re-check jobs to the end.
 */

type User = { id: string; apiKey: string };
type Entry = { at: string; kind: string; actorId: string | null; data: Record<string, unknown>; version: number };
type Contact = { id: string; assignedAgentId: string | null; leadStatus: string; status: string };
type FollowUp = { id: string; agentId: string | null; contactId: string; status: string };
type Rules = Partial<{ enabled: boolean; delaySeconds: number; strategy: string; scope: string; maxReassignments: number; statuses: string[] }>;
type AgentSpec = { name: string; branch?: string; department?: string };

const HUB = '/api/follow-ups/due?limit=200';
const HOUR_S = 3600;
/** Jobs not yet run to the end (a job that failed and waits for its retry is `delayed` too). */
const PENDING: JobType[] = ['delayed', 'waiting', 'active', 'prioritized', 'paused', 'waiting-children'];

/** A time on a UTC calendar day: `daysAgo` days before today (negative: after), at `hour` o'clock. */
const utcDay = (daysAgo: number, hour: number): Date => DateTime.utc().startOf('day').minus({ days: daysAgo }).plus({ hours: hour }).toJSDate();

/** A fixed-offset zone whose local time is now between 12:00 and 12:59. */
function zoneAtLocalNoon(): string {
  let offset = 12 - new Date().getUTCHours();
  if (offset < -12) offset += 24;
  if (offset > 14) offset -= 24;
  return offset === 0 ? 'Etc/UTC' : offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

// whole flows over HTTP with workers running, on a machine other suites share
jest.setTimeout(90_000);

describe('auto lead assignment (SPEC §7)', () => {
  let t: TestApp;
  /** Every response of the current test, to prove none was a 500 (SPEC §9). */
  const client = recordingClient(() => t);
  installNo5xxGuard(client);
  const { get, post, patch } = client;

  /** An org whose leads only serve `settle()`: auto-assignment on, with a delay no test waits out. */
  let sentinel: { adminKey: string; agentId: string };

  beforeAll(async () => {
    t = await startTestApp();
    const org = await t.createOrg('Sentinel org');
    const agent = await t.createUser(org.adminKey, { name: 'Sentinel', role: 'agent' });
    await configure(org.adminKey, { delaySeconds: 10 * HOUR_S });
    sentinel = { adminKey: org.adminKey, agentId: agent.id };
  });
  afterAll(async () => t?.close());

  // ---------------------------------------------------------------------------------------------------------------
  // Helpers

  let phoneSeq = 1000;
  const nextPhone = () => `+1415556${String(phoneSeq++).padStart(4, '0')}`;

  /** PATCH /api/settings autoAssignment: on, no delay, round_robin over the org, unless `rules` say otherwise. */
  async function configure(adminKey: string, rules: Rules = {}): Promise<void> {
    const res = await patch('/api/settings', adminKey, {
      autoAssignment: { enabled: true, delaySeconds: 0, strategy: 'round_robin', scope: 'org', maxReassignments: 3, statuses: ['Not Picked', 'Missed'], ...rules },
    });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { autoAssignment: expect.objectContaining({ enabled: rules.enabled ?? true }) } });
  }

  /** An org with its admin, a supervisor, the agents named (by name) and auto-assignment set to `rules`. */
  const setup = async (agents: AgentSpec[], rules: Rules = {}) => {
    const org = await t.createOrg(`Org ${randomUUID().slice(0, 8)}`);
    const admin: User = { id: org.adminUserId, apiKey: org.adminKey };
    // A supervisor named to sort first: only agents are ever given leads.
    const supervisor = await t.createUser(org.adminKey, { name: 'Aardvark Supervisor', role: 'supervisor' });
    const byName: Record<string, User> = {};
    for (const a of agents) byName[a.name] = await t.createUser(org.adminKey, { role: 'agent', ...a });
    await configure(org.adminKey, rules);
    return { orgId: org.orgId, admin, supervisor, agents: byName };
  };

  /** Another organization with an agent whose name sorts before everyone's: never a candidate for this org's leads. */
  const foreignOrg = async (agent: AgentSpec = { name: 'Aaron' }) => {
    const org = await t.createOrg('Foreign org');
    const user = await t.createUser(org.adminKey, { role: 'agent', ...agent });
    await configure(org.adminKey);
    return { adminKey: org.adminKey, agent: user };
  };

  const createLead = async (adminKey: string, assignedAgentId: string | null, name = 'Lead'): Promise<string> => {
    const res = await post('/api/contacts', adminKey, { name, phone: nextPhone(), assignedAgentId });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body.id;
  };

  const callBody = (contactId: string, agentId: string, body: Record<string, unknown> = {}) => ({
    callId: randomUUID(),
    contactId,
    agentId,
    direction: 'outbound',
    status: 'Busy',
    durationSec: 0,
    startedAt: new Date().toISOString(),
    ...body,
  });

  const pushCall = async (adminKey: string, contactId: string, agentId: string, body: Record<string, unknown> = {}) => {
    const res = await post('/api/calls', adminKey, callBody(contactId, agentId, body));
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201, body: { status: 'accepted' } });
    return res.body;
  };
  /** An outbound call nobody answered: the lead becomes Not Picked unless it was spoken to (SPEC §4). */
  const busy = (adminKey: string, contactId: string, agentId: string) => pushCall(adminKey, contactId, agentId, { status: 'Busy', durationSec: 0 });

  const contact = async (adminKey: string, id: string): Promise<Contact> => {
    const res = await get(`/api/contacts/${id}`, adminKey);
    expect(res.status).toBe(200);
    return res.body;
  };
  const agentOf = async (adminKey: string, id: string) => (await contact(adminKey, id)).assignedAgentId;

  const timeline = async (adminKey: string, id: string): Promise<Entry[]> => {
    const res = await get(`/api/contacts/${id}/timeline?limit=200`, adminKey);
    expect(res.status).toBe(200);
    return res.body.entries;
  };
  const reassignedEntries = async (adminKey: string, id: string) => (await timeline(adminKey, id)).filter((e) => e.kind === 'reassigned');

  /** Waits until the lead is with `agentId` (the re-check runs in a worker). */
  const waitForAgent = (adminKey: string, id: string, agentId: string, timeoutMs = 20_000) =>
    eventually(async () => expect(await agentOf(adminKey, id)).toBe(agentId), timeoutMs);

  /** Makes the lead recycled (a Busy call by its current agent) and waits until it is with `expected`. */
  const recycleAndExpect = async (adminKey: string, id: string, expected: string) => {
    const current = await agentOf(adminKey, id);
    await busy(adminKey, id, current!);
    await waitForAgent(adminKey, id, expected);
  };

  const followUp = async (key: string, id: string) => {
    const res = await get(`/api/follow-ups/${id}`, key);
    return { status: res.status, body: res.body as FollowUp };
  };
  const schedule = async (adminKey: string, contactId: string, body: Record<string, unknown>): Promise<string> => {
    const res = await post(`/api/contacts/${contactId}/follow-ups`, adminKey, body);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body.id;
  };
  const hubIds = async (key: string): Promise<string[]> => {
    const res = await get(HUB, key);
    expect(res.status).toBe(200);
    return res.body.followUps.map((f: { id: string }) => f.id);
  };

  // --- queue state

  const maintenance = () => t.app.get(JobQueues).queue(QueueName.Maintenance);

  /** The re-check jobs of these leads in the given states. */
  const jobsOf = async (contactIds: string[], states: JobType[]): Promise<Job[]> =>
    (await maintenance().getJobs(states, 0, -1)).filter((j): j is Job => !!j && j.name === REASSIGN_LEAD && contactIds.includes(j.data?.contactId));

  /**
   * Returns once every event written so far has been turned into jobs: a sentinel lead, recycled now, gets its
   * (long-delayed) job only after every event committed before it was handled by the job outbox.
   */
  const settle = async () => {
    const lead = await createLead(sentinel.adminKey, sentinel.agentId, 'Sentinel lead');
    await busy(sentinel.adminKey, lead, sentinel.agentId);
    await eventually(async () => expect((await jobsOf([lead], ['delayed'])).length).toBeGreaterThan(0), 20_000);
  };

  /** Runs every re-check job of these leads to the end now (delayed ones are promoted) and checks none failed. */
  const drain = async (...contactIds: string[]) => {
    await settle();
    await eventually(async () => {
      // promoted on every look: under load the job outbox may enqueue a lead's job in the same round as the sentinel's,
      // and a job of that round added after the first look was left delayed (its hour) and failed the drain
      for (const job of await jobsOf(contactIds, ['delayed'])) await job.promote().catch(() => undefined);
      const [pending, failed] = await Promise.all([jobsOf(contactIds, PENDING), jobsOf(contactIds, ['failed'])]);
      expect({ pending: pending.map((j) => j.id), failed: failed.map((j) => `${j.id}: ${j.failedReason}`) }).toEqual({ pending: [], failed: [] });
    }, 20_000);
  };

  // --- metrics

  const metric = (name: string, labels: Record<string, string> = {}) => scrapedMetric(t, name, labels);
  const skippedNoAgent = () => metric('lead_reassignments_skipped_total', { reason: 'no_eligible_agent' });

  // ---------------------------------------------------------------------------------------------------------------

  describe('round_robin', () => {
    it('should give each recycled lead to the agent auto-assignment gave a lead least recently, never its current agent', async () => {
      const foreign = await foreignOrg();
      // Different branches and departments: scope org ignores them.
      const o = await setup([
        { name: 'Abe' },
        { name: 'Ann', branch: 'North', department: 'Sales' },
        { name: 'Ben', branch: 'South', department: 'Support' },
        { name: 'Cat', branch: 'East' },
        { name: 'Dan' },
      ]);
      const k = o.admin.apiKey;
      const { Abe, Ann, Ben, Cat, Dan } = o.agents;
      // Abe sorts first and was never given a lead, but is inactive.
      expect((await patch(`/api/users/${Abe.id}`, k, { active: false })).status).toBe(200);

      const l1 = await createLead(k, Ann.id, 'L1');
      const l2 = await createLead(k, Ann.id, 'L2');
      const l3 = await createLead(k, Ann.id, 'L3');
      const l4 = await createLead(k, Ann.id, 'L4');
      const l5 = await createLead(k, Ben.id, 'L5');
      const l6 = await createLead(k, Cat.id, 'L6');

      // nobody was given a lead yet: by name, Ann excluded (she has it)
      await recycleAndExpect(k, l1, Ben.id);
      await recycleAndExpect(k, l2, Cat.id);
      await recycleAndExpect(k, l3, Dan.id);
      // everyone but Ann has had one: Ben had his first
      await recycleAndExpect(k, l4, Ben.id);
      // Ann was never given one
      await recycleAndExpect(k, l5, Ann.id);
      // Cat was given one least recently, but L6 is hers: Dan is next
      await recycleAndExpect(k, l6, Dan.id);

      // the timeline shows the reassignment, by the system, with its rule
      const [entry] = await reassignedEntries(k, l1);
      expect(entry).toMatchObject({
        kind: 'reassigned',
        data: { contactId: l1, fromAgentId: Ann.id, toAgentId: Ben.id, leadStatus: 'Not Picked', strategy: 'round_robin', scope: 'org', reassignments: 1 },
      });
      expect(entry.actorId).toBeNull(); // SPEC's uuid or null: null is the system
      // ... as it is stored (the timeline also reads the 'system' of earlier events as null)
      const stored = await t.db.query<{ actor: string | null }>(`SELECT metadata->>'actorId' AS actor FROM events WHERE stream_id = $1 AND type = 'LeadReassigned'`, [`contact-${l1}`]);
      expect(stored.rows).toEqual([{ actor: null }]);
      // the lead is Ben's now: Ben sees it, Ann no longer does
      expect((await get(`/api/contacts/${l1}`, Ben.apiKey)).status).toBe(200);
      expectError(await get(`/api/contacts/${l1}`, Ann.apiKey), 404);

      await drain(l1, l2, l3, l4, l5, l6);
      const final = await Promise.all([l1, l2, l3, l4, l5, l6].map((id) => agentOf(k, id)));
      expect(final).toEqual([Ben.id, Cat.id, Dan.id, Ben.id, Ann.id, Dan.id]);
      for (const id of [l1, l2, l3, l4, l5, l6]) expect(await reassignedEntries(k, id)).toHaveLength(1);
      // the other organization's agent was never given anything
      expect(final).not.toContain(foreign.agent.id);
      expect(final).not.toContain(Abe.id);
    });

    it('should hand leads recycled at the same time to different agents', async () => {
      const foreign = await foreignOrg();
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }, { name: 'Dan' }]);
      const k = o.admin.apiKey;
      const { Ann, Ben, Cat, Dan } = o.agents;
      const leads = [await createLead(k, Ann.id, 'L1'), await createLead(k, Ann.id, 'L2'), await createLead(k, Ann.id, 'L3')];

      // one batch from the dialler: the three re-checks run together
      const res = await post('/api/calls/batch', k, { calls: leads.map((id) => callBody(id, Ann.id)) });
      expect(res.status).toBe(200);
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);

      const given = await eventually(async () => {
        const agents = await Promise.all(leads.map((id) => agentOf(k, id)));
        expect(agents).not.toContain(Ann.id);
        return agents;
      }, 20_000);
      expect([...given].sort()).toEqual([Ben.id, Cat.id, Dan.id].sort());
      expect(given).not.toContain(foreign.agent.id);
    });
  });

  describe('least_loaded', () => {
    /** Open follow-ups per agent as the follow-up report shows them (due today, overdue and upcoming). */
    const openLoad = async (supervisorKey: string): Promise<Record<string, number>> => {
      const res = await get('/api/reports/follow-ups', supervisorKey);
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { rows: expect.any(Array) } });
      const rows = res.body.rows as { agentId: string | null; dueToday: number; overdue: number; upcoming: number }[];
      return Object.fromEntries(rows.filter((r) => r.agentId).map((r) => [r.agentId, r.dueToday + r.overdue + r.upcoming]));
    };

    it('should give the lead to the agent with the fewest open follow-ups', async () => {
      const foreign = await foreignOrg();
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }, { name: 'Dan' }], { strategy: 'least_loaded' });
      const k = o.admin.apiKey;
      const { Ann, Ben, Cat, Dan } = o.agents;
      const sup = o.supervisor.apiKey;

      /** `n` open call follow-ups, due in two days, on a contact of `agent` and made out to `agent`. */
      const load = async (agent: User, n: number) => {
        const id = await createLead(k, agent.id, 'Load');
        for (let i = 0; i < n; i++) await schedule(k, id, { scheduledAt: utcDay(-2, 12).toISOString(), agentId: agent.id });
      };
      await load(Ben, 2);
      await load(Cat, 1);
      // Ann has the most, but she is the current agent anyway
      await load(Ann, 4);
      // the report's counts are asynchronous: wait until it shows the load the choice is made on
      await eventually(async () => expect(await openLoad(sup)).toMatchObject({ [Ann.id]: 4, [Ben.id]: 2, [Cat.id]: 1, [Dan.id]: 0 }), 20_000);

      const l1 = await createLead(k, Ann.id, 'L1');
      await recycleAndExpect(k, l1, Dan.id);
      expect((await reassignedEntries(k, l1))[0]).toMatchObject({ data: { fromAgentId: Ann.id, toAgentId: Dan.id, strategy: 'least_loaded', scope: 'org' } });

      // Dan is now the busiest of the three
      await load(Dan, 3);
      await eventually(async () => expect(await openLoad(sup)).toMatchObject({ [Ben.id]: 2, [Cat.id]: 1, [Dan.id]: 3 }), 20_000);
      const l2 = await createLead(k, Ann.id, 'L2');
      await recycleAndExpect(k, l2, Cat.id);
      // load, not turn: Cat again although Ben was never given a lead (round_robin would pick Ben)
      const l3 = await createLead(k, Ann.id, 'L3');
      await recycleAndExpect(k, l3, Cat.id);

      await drain(l1, l2, l3);
      expect(await Promise.all([l1, l2, l3].map((id) => agentOf(k, id)))).toEqual([Dan.id, Cat.id, Cat.id]);
      expect([Dan.id, Cat.id]).not.toContain(foreign.agent.id);
    });

    it('should count the follow-ups that moved with a reassigned lead for its new agent', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }], { strategy: 'least_loaded' });
      const k = o.admin.apiKey;
      const { Ann, Ben, Cat } = o.agents;
      const sup = o.supervisor.apiKey;
      const inTwoDays = utcDay(-2, 12).toISOString();

      // Ann's lead with three follow-ups that inherit her; Ben has one of his own
      const heavy = await createLead(k, Ann.id, 'Heavy');
      for (let i = 0; i < 3; i++) await schedule(k, heavy, { scheduledAt: inTwoDays, agentId: null });
      const bens = await createLead(k, Ben.id, 'Ben load');
      await schedule(k, bens, { scheduledAt: inTwoDays, agentId: Ben.id });
      await eventually(async () => expect(await openLoad(sup)).toMatchObject({ [Ann.id]: 3, [Ben.id]: 1, [Cat.id]: 0 }), 20_000);

      // scheduling made the lead Followups; marked Not Picked by hand, it is recycled and goes to Cat (no load)
      expect((await patch(`/api/contacts/${heavy}`, k, { leadStatus: 'Not Picked' })).status).toBe(200);
      await waitForAgent(k, heavy, Cat.id);
      // its follow-ups went with it
      await eventually(async () => expect(await openLoad(sup)).toMatchObject({ [Ann.id]: 0, [Ben.id]: 1, [Cat.id]: 3 }), 20_000);

      // so Ann's next lead goes to Ben (1) rather than Cat (3), and Ben's next one to Ann (0)
      const l2 = await createLead(k, Ann.id, 'L2');
      await recycleAndExpect(k, l2, Ben.id);
      const l3 = await createLead(k, Ben.id, 'L3');
      await recycleAndExpect(k, l3, Ann.id);
    });

    it('should break a tie in load by turn, the agent never given a lead first', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }], { strategy: 'least_loaded' });
      const k = o.admin.apiKey;
      const { Ann, Ben, Cat } = o.agents;
      // nobody has open follow-ups: Ben by name, then Cat (Ben was given one), then Ben again
      const l1 = await createLead(k, Ann.id);
      await recycleAndExpect(k, l1, Ben.id);
      const l2 = await createLead(k, Ann.id);
      await recycleAndExpect(k, l2, Cat.id);
      const l3 = await createLead(k, Ann.id);
      await recycleAndExpect(k, l3, Ben.id);
    });
  });

  describe('scope', () => {
    it('should keep the new agent in the branch of the current one', async () => {
      const foreign = await foreignOrg({ name: 'Aaron', branch: 'North' });
      const o = await setup(
        [
          { name: 'Ann', branch: 'North' },
          { name: 'Ben', branch: 'South' },
          { name: 'Cat' },
          { name: 'Zed', branch: 'North' },
        ],
        { scope: 'branch' },
      );
      const k = o.admin.apiKey;
      const { Ann, Ben, Zed } = o.agents;

      // Ben and Cat come first by name, but are not in North
      const l1 = await createLead(k, Ann.id, 'L1');
      await recycleAndExpect(k, l1, Zed.id);
      const l2 = await createLead(k, Zed.id, 'L2');
      await recycleAndExpect(k, l2, Ann.id);
      expect((await reassignedEntries(k, l1))[0]).toMatchObject({ data: { strategy: 'round_robin', scope: 'branch' } });

      // moved to North by an admin: now in scope, and never given a lead
      const moved = await patch(`/api/users/${Ben.id}`, k, { branch: 'North' });
      expect({ status: moved.status, body: moved.body }).toMatchObject({ status: 200, body: { id: Ben.id, branch: 'North' } });
      const l3 = await createLead(k, Ann.id, 'L3');
      await recycleAndExpect(k, l3, Ben.id);

      await drain(l1, l2, l3);
      const final = await Promise.all([l1, l2, l3].map((id) => agentOf(k, id)));
      expect(final).toEqual([Zed.id, Ann.id, Ben.id]);
      expect(final).not.toContain(foreign.agent.id);
    });

    it('should keep the new agent in the department of the current one, whatever the branch', async () => {
      await foreignOrg({ name: 'Aaron', department: 'Sales' });
      const o = await setup(
        [
          { name: 'Ann', branch: 'North', department: 'Sales' },
          { name: 'Ben', branch: 'North', department: 'Support' },
          { name: 'Yan', branch: 'South', department: 'Sales' },
        ],
        { scope: 'department' },
      );
      const k = o.admin.apiKey;
      const { Ann, Yan } = o.agents;

      // an inbound call nobody picked up: the lead is Missed, a recycled status too
      const l1 = await createLead(k, Ann.id, 'L1');
      await pushCall(k, l1, Ann.id, { status: 'Missed', direction: 'inbound', durationSec: 0 });
      await waitForAgent(k, l1, Yan.id);
      expect((await contact(k, l1)).leadStatus).toBe('Missed');
      expect((await reassignedEntries(k, l1))[0]).toMatchObject({ data: { fromAgentId: Ann.id, toAgentId: Yan.id, leadStatus: 'Missed', scope: 'department' } });

      const l2 = await createLead(k, Yan.id, 'L2');
      await recycleAndExpect(k, l2, Ann.id);
    });

    it('should change nothing and count it when nobody else is in scope', async () => {
      const o = await setup(
        [
          { name: 'Ann', branch: 'North' },
          { name: 'Ben', branch: 'South' },
          { name: 'Cat' },
        ],
        { scope: 'branch' },
      );
      const k = o.admin.apiKey;
      const { Ann, Cat } = o.agents;
      const before = await skippedNoAgent();

      const alone = await createLead(k, Ann.id, 'Only Ann in North');
      const noBranch = await createLead(k, Cat.id, 'Agent without a branch');
      const noAgent = await createLead(k, null, 'Nobody assigned');
      await busy(k, alone, Ann.id);
      await busy(k, noBranch, Cat.id);
      await busy(k, noAgent, Ann.id);

      // each re-check is counted (and logged) as having found nobody eligible
      await eventually(async () => expect(await skippedNoAgent()).toBeGreaterThanOrEqual(before + 3), 20_000);
      await drain(alone, noBranch, noAgent);
      expect(await Promise.all([alone, noBranch, noAgent].map((id) => agentOf(k, id)))).toEqual([Ann.id, Cat.id, null]);
      for (const id of [alone, noBranch, noAgent]) {
        expect(await reassignedEntries(k, id)).toEqual([]);
        expect((await contact(k, id)).leadStatus).toBe('Not Picked');
      }
    });
  });

  describe('leads left alone', () => {
    it('should not reassign a lead spoken to, by status or by a connected call within the delay', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { delaySeconds: HOUR_S });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;

      // Interested, then a call that did not connect: still Interested (SPEC §4), spoken to
      const interested = await createLead(k, Ann.id, 'Interested');
      await pushCall(k, interested, Ann.id, { status: 'Called', durationSec: 45, leadStatus: 'Interested' });
      await busy(k, interested, Ann.id);
      // Not Picked, then reached within the delay
      const reached = await createLead(k, Ann.id, 'Reached');
      await busy(k, reached, Ann.id);
      await pushCall(k, reached, Ann.id, { status: 'Called', durationSec: 60 });
      // the control: Not Picked and left so
      const control = await createLead(k, Ann.id, 'Control');
      await busy(k, control, Ann.id);

      await drain(interested, reached, control);
      expect(await agentOf(k, control)).toBe(Ben.id);
      expect(await contact(k, interested)).toMatchObject({ assignedAgentId: Ann.id, leadStatus: 'Interested' });
      expect(await contact(k, reached)).toMatchObject({ assignedAgentId: Ann.id });
      expect(await reassignedEntries(k, interested)).toEqual([]);
      expect(await reassignedEntries(k, reached)).toEqual([]);
    });

    it('should stop at maxReassignments: the streak after the last allowed one keeps its agent', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }], { maxReassignments: 2 });
      const k = o.admin.apiKey;
      const { Ann, Ben, Cat } = o.agents;
      const lead = await createLead(k, Ann.id);

      await recycleAndExpect(k, lead, Ben.id);
      // a new streak under the new agent: the second reassignment, to Ann (never given a lead, and no longer current)
      await recycleAndExpect(k, lead, Ann.id);
      const skippedBefore = await metric('lead_reassignments_skipped_total', { reason: 'max_reassignments' });
      // the third streak: the maximum is reached, although Cat was never given a lead
      await busy(k, lead, Ann.id);
      await busy(k, lead, Ann.id);
      await drain(lead);

      expect(await agentOf(k, lead)).toBe(Ann.id);
      const entries = await reassignedEntries(k, lead);
      expect(entries.map((e) => [e.data.fromAgentId, e.data.toAgentId, e.data.reassignments])).toEqual([
        [Ben.id, Ann.id, 2],
        [Ann.id, Ben.id, 1],
      ]);
      // another lead of the org is still reassigned: the maximum is per lead
      const other = await createLead(k, Ann.id);
      await recycleAndExpect(k, other, Cat.id);
      expect(await metric('lead_reassignments_skipped_total', { reason: 'max_reassignments' })).toBeGreaterThan(skippedBefore);
    });

    it('should not reassign a lead whose status is not one of the recycled statuses chosen', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { statuses: ['Missed'] });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const notPicked = await createLead(k, Ann.id, 'Not Picked');
      await busy(k, notPicked, Ann.id);
      const missed = await createLead(k, Ann.id, 'Missed');
      await pushCall(k, missed, Ann.id, { status: 'Missed', direction: 'inbound' });

      await waitForAgent(k, missed, Ben.id);
      await drain(notPicked, missed);
      expect(await contact(k, notPicked)).toMatchObject({ assignedAgentId: Ann.id, leadStatus: 'Not Picked' });
      expect(await reassignedEntries(k, notPicked)).toEqual([]);
    });

    it('should make no job and change nothing when auto-assignment is disabled', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { enabled: false, delaySeconds: HOUR_S });
      const k = o.admin.apiKey;
      const { Ann } = o.agents;
      const lead = await createLead(k, Ann.id);
      await busy(k, lead, Ann.id);
      await busy(k, lead, Ann.id);

      await settle();
      const all: JobType[] = [...PENDING, 'failed'];
      expect((await jobsOf([lead], all)).map((j) => j.id)).toEqual([]);
      expect(await contact(k, lead)).toMatchObject({ assignedAgentId: Ann.id, leadStatus: 'Not Picked' });
      expect(await reassignedEntries(k, lead)).toEqual([]);
    });

    it('should change nothing when auto-assignment is disabled before the delay has passed', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { delaySeconds: HOUR_S });
      const k = o.admin.apiKey;
      const { Ann } = o.agents;
      const lead = await createLead(k, Ann.id);
      await busy(k, lead, Ann.id);
      await settle();
      expect((await jobsOf([lead], ['delayed'])).length).toBeGreaterThan(0);

      await configure(k, { enabled: false, delaySeconds: HOUR_S });
      await drain(lead);
      expect(await agentOf(k, lead)).toBe(Ann.id);
      expect(await reassignedEntries(k, lead)).toEqual([]);
    });
  });

  describe('the delay', () => {
    it('should re-check the lead delaySeconds after it became recycled, and not before', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { delaySeconds: HOUR_S });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const lead = await createLead(k, Ann.id);
      await busy(k, lead, Ann.id);

      const change = (await timeline(k, lead)).find((e) => e.kind === 'lead_status_changed' && e.data.to === 'Not Picked');
      expect(change).toBeDefined();
      const queue = maintenance();
      const job = await eventually(async () => {
        const found = await queue.getJob(`reassign.${lead}.${change!.version}`);
        expect(found).toBeDefined();
        return found!;
      }, 20_000);
      expect(await job.getState()).toBe('delayed');
      expect(job.data).toMatchObject({ contactId: lead });
      const runsAt = job.timestamp + (job.opts.delay ?? 0);
      const due = Date.parse(change!.at) + HOUR_S * 1000;
      expect(Math.abs(runsAt - due)).toBeLessThan(5_000);

      // every job of this lead is still waiting for its time: the lead has not moved
      await settle();
      const pending = await jobsOf([lead], PENDING);
      expect(pending.length).toBeGreaterThan(0);
      for (const j of pending) expect(await j.getState()).toBe('delayed');
      expect(await agentOf(k, lead)).toBe(Ann.id);
      expect(await reassignedEntries(k, lead)).toEqual([]);

      // the delay is over
      await job.promote();
      await waitForAgent(k, lead, Ben.id);
      // the other trigger of the same streak (the call itself) does nothing more
      await drain(lead);
      expect(await agentOf(k, lead)).toBe(Ben.id);
      expect(await reassignedEntries(k, lead)).toHaveLength(1);
    });
  });

  describe('within the delay', () => {
    it('should leave a lead that was archived, reassigned by hand or marked Interested before the delay passed', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }], { delaySeconds: HOUR_S });
      const k = o.admin.apiKey;
      const { Ann, Ben, Cat } = o.agents;
      const archived = await createLead(k, Ann.id, 'Archived');
      const byHand = await createLead(k, Ann.id, 'By hand');
      const marked = await createLead(k, Ann.id, 'Marked');
      const control = await createLead(k, Ann.id, 'Control');
      for (const id of [archived, byHand, marked, control]) await busy(k, id, Ann.id);

      expect((await patch(`/api/contacts/${archived}`, k, { status: 'ARCHIVED' })).status).toBe(200);
      // the new owner gets a fresh chance
      expect((await patch(`/api/contacts/${byHand}`, k, { assignedAgentId: Cat.id })).status).toBe(200);
      expect((await patch(`/api/contacts/${marked}`, k, { leadStatus: 'Interested' })).status).toBe(200);

      await drain(archived, byHand, marked, control);
      expect(await agentOf(k, control)).toBe(Ben.id);
      expect(await contact(k, archived)).toMatchObject({ assignedAgentId: Ann.id, status: 'ARCHIVED' });
      expect(await agentOf(k, byHand)).toBe(Cat.id);
      expect(await contact(k, marked)).toMatchObject({ assignedAgentId: Ann.id, leadStatus: 'Interested' });
      for (const id of [archived, marked]) expect(await reassignedEntries(k, id)).toEqual([]);
      // only the manual assignment shows on that timeline
      expect((await reassignedEntries(k, byHand)).map((e) => e.data.toAgentId)).toEqual([Cat.id]);
    });

    it("should not recycle a lead from its new owner for the previous owner's call the dialler pushed late", async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }]);
      const k = o.admin.apiKey;
      const { Ann, Ben, Cat } = o.agents;
      const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();
      const byHand = await createLead(k, Ann.id, 'By hand');
      const auto = await createLead(k, Ann.id, 'Auto');

      // handed to Cat by a supervisor; then Ann's unanswered call of ten minutes ago arrives, and a missed one
      expect((await patch(`/api/contacts/${byHand}`, k, { assignedAgentId: Cat.id })).status).toBe(200);
      await pushCall(k, byHand, Ann.id, { status: 'No Answer', startedAt: tenMinutesAgo });
      await pushCall(k, byHand, Ann.id, { status: 'Missed', direction: 'inbound', startedAt: new Date(Date.parse(tenMinutesAgo) + 60_000).toISOString() });
      // handed to Ben by auto-assignment (Ann's Busy now); then Ann's unanswered call of ten minutes ago arrives
      await recycleAndExpect(k, auto, Ben.id);
      await pushCall(k, auto, Ann.id, { status: 'No Answer', startedAt: tenMinutesAgo });

      await drain(byHand, auto);
      // the late calls are recorded, and the last of them set the lead status, but the new owners keep the leads
      expect(await contact(k, byHand)).toMatchObject({ assignedAgentId: Cat.id, leadStatus: 'Missed' });
      expect(await agentOf(k, auto)).toBe(Ben.id);
      expect(await reassignedEntries(k, auto)).toHaveLength(1);

      // the new owner's own unanswered call recycles the lead as before, though the dialler's clock, running behind
      // ours, puts it before the handover
      await pushCall(k, byHand, Cat.id, { status: 'Busy', durationSec: 0, startedAt: new Date(Date.now() - 30_000).toISOString() });
      await waitForAgent(k, byHand, Ann.id);
    });
  });

  describe('concurrent triggers', () => {
    it('should reassign a lead once for two unreached calls in a row', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }]);
      const k = o.admin.apiKey;
      const { Ann } = o.agents;
      const reassignedBefore = await metric('lead_reassignments_total');

      // two pushes, one after the other
      const one = await createLead(k, Ann.id, 'One');
      await busy(k, one, Ann.id);
      await pushCall(k, one, Ann.id, { status: 'No Answer' });
      // two calls in one batch, one transaction
      const two = await createLead(k, Ann.id, 'Two');
      const res = await post('/api/calls/batch', k, { calls: [callBody(two, Ann.id), callBody(two, Ann.id, { status: 'No Answer' })] });
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted']);
      // two pushes at the same time
      const three = await createLead(k, Ann.id, 'Three');
      await Promise.all([busy(k, three, Ann.id), busy(k, three, Ann.id)]);

      const leads = [one, two, three];
      await eventually(async () => expect(await Promise.all(leads.map((id) => agentOf(k, id)))).not.toContain(Ann.id), 20_000);
      await drain(...leads);
      for (const id of leads) {
        const entries = await reassignedEntries(k, id);
        expect(entries).toHaveLength(1);
        expect(entries[0].data).toMatchObject({ fromAgentId: Ann.id, toAgentId: await agentOf(k, id), reassignments: 1 });
      }
      expect(await metric('lead_reassignments_total')).toBeGreaterThanOrEqual(reassignedBefore + 3);
    });

    it('should reassign a lead once when its delayed re-checks all run at the same time', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }], { delaySeconds: HOUR_S });
      const k = o.admin.apiKey;
      const { Ann } = o.agents;
      const lead = await createLead(k, Ann.id);
      await busy(k, lead, Ann.id);
      await busy(k, lead, Ann.id);
      await pushCall(k, lead, Ann.id, { status: 'No Answer' });
      await settle();
      const jobs = await jobsOf([lead], ['delayed']);
      // one per unreached event of the streak
      expect(jobs.length).toBeGreaterThanOrEqual(3);

      await Promise.all(jobs.map((j) => j.promote()));
      await drain(lead);
      expect(await agentOf(k, lead)).not.toBe(Ann.id);
      expect(await reassignedEntries(k, lead)).toHaveLength(1);
    });
  });

  describe('follow-ups and the hub', () => {
    it('should move inherited follow-ups with the lead to the new agent hub, and leave explicit ones with their agent', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }]);
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const lead = await createLead(k, Ann.id, 'Sarah Lee');
      // due today, inheriting the contact's agent
      const inherited = await schedule(k, lead, { scheduledAt: utcDay(0, 0).toISOString(), agentId: null });
      // due tomorrow, made out to Ann herself
      const explicit = await schedule(k, lead, { scheduledAt: utcDay(-1, 12).toISOString(), agentId: Ann.id });
      expect(await hubIds(Ann.apiKey)).toEqual([lead]);
      expect(await hubIds(Ben.apiKey)).toEqual([]);

      // a call follow-up made the lead Followups; an admin marks it Not Picked: a recycled status
      const marked = await patch(`/api/contacts/${lead}`, k, { leadStatus: 'Not Picked' });
      expect({ status: marked.status, body: marked.body }).toMatchObject({ status: 200, body: { leadStatus: 'Not Picked' } });
      await waitForAgent(k, lead, Ben.id);

      // the next read of each hub reflects it
      expect(await hubIds(Ann.apiKey)).toEqual([]);
      const res = await get(HUB, Ben.apiKey);
      expect(res.body.followUps).toEqual([expect.objectContaining({ id: lead, followUpId: inherited, reason: 'Follow-up due today' })]);
      expect(res.body.counts).toMatchObject({ all: 1, today: 1 });

      // the inherited follow-up is the new agent's to see; the explicit one keeps Ann
      const seenByBen = await followUp(Ben.apiKey, inherited);
      expect(seenByBen.status).toBe(200);
      expect([null, Ben.id]).toContain(seenByBen.body.agentId);
      expect((await followUp(Ann.apiKey, inherited)).status).toBe(404);
      expect((await followUp(k, explicit)).body).toMatchObject({ id: explicit, agentId: Ann.id });
      expect((await followUp(k, inherited)).body.agentId).not.toBe(Ann.id);

      expect(await reassignedEntries(k, lead)).toEqual([
        expect.objectContaining({ data: expect.objectContaining({ fromAgentId: Ann.id, toAgentId: Ben.id, leadStatus: 'Not Picked' }) }),
      ]);
    });

    // SPEC §5: routing decides at execution — the contact's assigned agent (here Ben, after the reassignment).
    it('should dial an inherited call follow-up for the new agent once the lead was reassigned', async () => {
      const dialler = await startHttpSink();
      try {
        const o = await setup([{ name: 'Ann' }, { name: 'Ben' }]);
        const k = o.admin.apiKey;
        const { Ann, Ben } = o.agents;
        const configured = await patch('/api/settings', k, {
          dialler: { url: dialler.url },
          webhooks: { allowHttpHosts: ['127.0.0.1'] },
          callingWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '23:59' },
        });
        expect(configured.status).toBe(200);
        // a zone where it is about noon now: inside the window whatever the hour of the run
        const res = await post('/api/contacts', k, { name: 'Sarah Lee', phone: nextPhone(), assignedAgentId: Ann.id, timezone: zoneAtLocalNoon() });
        expect(res.status).toBe(201);
        const lead: string = res.body.id;
        const inherited = await schedule(k, lead, { scheduledAt: new Date(Date.now() + HOUR_S * 1000).toISOString(), agentId: null });

        expect((await patch(`/api/contacts/${lead}`, k, { leadStatus: 'Not Picked' })).status).toBe(200);
        await waitForAgent(k, lead, Ben.id);

        // its time has come
        const followUps = t.app.get(JobQueues).queue(QueueName.FollowUps);
        const job = await eventually(async () => {
          const found = (await followUps.getJobs(['delayed'], 0, -1)).find((j) => j?.data?.followUpId === inherited);
          expect(found).toBeDefined();
          return found!;
        }, 20_000);
        await job.promote();
        const dial = await eventually(() => {
          const r = dialler.requests.find((q) => q.body?.followUpId === inherited);
          expect(r).toBeDefined();
          return r!;
        }, 20_000);
        // SPEC §5: an inherited follow-up is routed at execution to the contact's assigned agent
        expect(dial.body).toMatchObject({ type: 'call.dial', contactId: lead, agentId: Ben.id });
      } finally {
        await dialler.close();
      }
    });
  });

  describe('agents made inactive', () => {
    it('should never pick an inactive agent, and pick them again once active', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }]);
      const k = o.admin.apiKey;
      const { Ann, Ben, Cat } = o.agents;

      const off = await patch(`/api/users/${Ben.id}`, k, { active: false });
      expect({ status: off.status, body: off.body }).toMatchObject({ status: 200, body: { id: Ben.id, active: false } });
      expectError(await get(HUB, Ben.apiKey), 401);
      const listed = await get('/api/agents?active=true', k);
      expect(listed.body.agents.map((a: { id: string }) => a.id).sort()).toEqual([Ann.id, Cat.id].sort());

      // Ben comes first by name and was never given a lead, but is inactive: Cat, twice
      const l1 = await createLead(k, Ann.id, 'L1');
      await recycleAndExpect(k, l1, Cat.id);
      const l2 = await createLead(k, Ann.id, 'L2');
      await recycleAndExpect(k, l2, Cat.id);

      const on = await patch(`/api/users/${Ben.id}`, k, { active: true });
      expect({ status: on.status, body: on.body }).toMatchObject({ status: 200, body: { active: true } });
      expect((await get(HUB, Ben.apiKey)).status).toBe(200);
      const l3 = await createLead(k, Ann.id, 'L3');
      await recycleAndExpect(k, l3, Ben.id);
    });

    it('should find nobody eligible when every other agent is inactive', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }]);
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      expect((await patch(`/api/users/${Ben.id}`, k, { active: false })).status).toBe(200);
      const before = await skippedNoAgent();

      const lead = await createLead(k, Ann.id);
      await busy(k, lead, Ann.id);
      await eventually(async () => expect(await skippedNoAgent()).toBeGreaterThan(before), 20_000);
      await drain(lead);
      expect(await agentOf(k, lead)).toBe(Ann.id);
      expect(await reassignedEntries(k, lead)).toEqual([]);
    });
  });

  describe('PATCH /api/users/:id', () => {
    it('should change name, branch, department and timezone, clear branch with null, and answer the user', async () => {
      const o = await setup([{ name: 'Ann', branch: 'North', department: 'Sales' }]);
      const k = o.admin.apiKey;
      const { Ann } = o.agents;

      const res = await patch(`/api/users/${Ann.id}`, k, { name: 'Ann Lee', branch: null, department: 'Support', timezone: 'Europe/London' });
      expect({ status: res.status, body: res.body }).toMatchObject({
        status: 200,
        body: { id: Ann.id, name: 'Ann Lee', role: 'agent', branch: null, department: 'Support', timezone: 'Europe/London', active: true },
      });
      expect(res.body).not.toHaveProperty('apiKey');
      expect((await get(`/api/users/${Ann.id}`, k)).body).toEqual(res.body);
      // absent fields stay as they are
      const again = await patch(`/api/users/${Ann.id}`, k, { branch: 'East' });
      expect(again.body).toMatchObject({ name: 'Ann Lee', branch: 'East', department: 'Support', timezone: 'Europe/London' });
    });

    it('should refuse bad fields with 400 naming each', async () => {
      const o = await setup([{ name: 'Ann' }]);
      const k = o.admin.apiKey;
      const { Ann } = o.agents;

      const res = await patch(`/api/users/${Ann.id}`, k, { name: '', branch: 5, department: ['x'], timezone: 'Mars/Olympus', active: 'no', role: 'admin' });
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['active', 'branch', 'department', 'name', 'role', 'timezone']);
      // an empty change is no error, and changes nothing either
      expect((await patch(`/api/users/${Ann.id}`, k, {})).status).toBe(200);
      // nothing changed
      expect((await get(`/api/users/${Ann.id}`, k)).body).toMatchObject({ name: 'Ann', role: 'agent', active: true, timezone: 'UTC' });
    });

    it("should answer every key its own user at /api/users/me, an agent's timezone included, and no one else's", async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }]);
      const { Ann } = o.agents;
      expect((await patch(`/api/users/${Ann.id}`, o.admin.apiKey, { timezone: 'Asia/Tokyo' })).status).toBe(200);
      const me = await get('/api/users/me', Ann.apiKey);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: Ann.id, name: 'Ann', role: 'agent', timezone: 'Asia/Tokyo', active: true });
      expect((await get('/api/users/me', o.admin.apiKey)).body).toMatchObject({ id: o.admin.id, role: 'admin' });
      // another user's record stays the managers'
      expectError(await get(`/api/users/${o.agents.Ben.id}`, Ann.apiKey), 403);
    });

    it('should take an IANA link (US/Eastern) as a timezone but refuse an abbreviation Intl reads as another zone (PST)', async () => {
      const o = await setup([{ name: 'Ann' }]);
      const k = o.admin.apiKey;
      const { Ann } = o.agents;
      const res = await patch(`/api/users/${Ann.id}`, k, { timezone: 'PST' });
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['timezone']);
      expect((await post('/api/users', k, { name: 'Pat', role: 'agent', timezone: 'PST' })).status).toBe(400);
      expect((await patch(`/api/users/${Ann.id}`, k, { timezone: 'US/Eastern' })).body).toMatchObject({ timezone: 'US/Eastern' });
    });

    // name and active always have a value: null is refused, not stored (a timezone's null means the org's: settings.e2e-spec)
    it('should refuse null for a field that cannot be cleared with 400 naming it', async () => {
      const o = await setup([{ name: 'Ann' }]);
      const k = o.admin.apiKey;
      const { Ann } = o.agents;
      const answers: Record<string, { status: number; fields: string[] }> = {};
      for (const field of ['name', 'active']) {
        const res = await patch(`/api/users/${Ann.id}`, k, { [field]: null });
        answers[field] = { status: res.status, fields: res.status === 400 ? fieldsNamed(res) : [] };
      }
      expect(answers).toEqual({
        name: { status: 400, fields: ['name'] },
        active: { status: 400, fields: ['active'] },
      });
      expect((await get(`/api/users/${Ann.id}`, k)).body).toMatchObject({ name: 'Ann', active: true, timezone: 'UTC' });
    });

    it("should answer 404 for another organization's user or an unknown id, 403 to other roles, 401 without a key", async () => {
      const o = await setup([{ name: 'Ann' }]);
      const foreign = await foreignOrg();
      const k = o.admin.apiKey;
      const { Ann } = o.agents;

      expectError(await patch(`/api/users/${foreign.agent.id}`, k, { active: false }), 404);
      expectError(await patch(`/api/users/${randomUUID()}`, k, { name: 'X' }), 404);
      expectError(await patch('/api/users/not-a-uuid', k, { name: 'X' }), 404);
      // the other org's agent is untouched and still works
      expect((await get(HUB, foreign.agent.apiKey)).status).toBe(200);

      expectError(await patch(`/api/users/${Ann.id}`, Ann.apiKey, { name: 'Queen Ann' }), 403);
      expectError(await patch(`/api/users/${Ann.id}`, o.supervisor.apiKey, { active: false }), 403);
      const anonymous = await t.http().patch(`/api/users/${Ann.id}`).send({ name: 'X' });
      expectError(anonymous, 401);
      expect((await get(`/api/users/${Ann.id}`, k)).body).toMatchObject({ name: 'Ann', active: true });
    });

    it('should refuse an admin deactivating themselves with 400 naming active, and let another admin do it', async () => {
      const o = await setup([]);
      const k = o.admin.apiKey;
      const self = await patch(`/api/users/${o.admin.id}`, k, { active: false });
      expectError(self, 400);
      expect(fieldsNamed(self)).toEqual(['active']);
      expect((await get('/api/settings', k)).status).toBe(200);

      const other = await t.createUser(k, { name: 'Second Admin', role: 'admin' });
      const res = await patch(`/api/users/${o.admin.id}`, other.apiKey, { active: false });
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { active: false } });
      expectError(await get('/api/settings', k), 401);
    });

    it('should name every bad field in one 400 when an admin deactivating themselves sends other bad fields too (SPEC §9)', async () => {
      const o = await setup([]);
      const k = o.admin.apiKey;
      const res = await patch(`/api/users/${o.admin.id.toUpperCase()}`, k, { name: '', active: false, timezone: 'PST' });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['active', 'name', 'timezone']);
      expect((await get(`/api/users/${o.admin.id}`, k)).body).toMatchObject({ active: true, timezone: 'UTC' });
    });

    it("should stop a deactivated user's key at once and restore it with active again", async () => {
      const o = await setup([{ name: 'Ann' }]);
      const k = o.admin.apiKey;
      const { Ann } = o.agents;
      expect((await get(HUB, Ann.apiKey)).status).toBe(200);
      expect((await patch(`/api/users/${Ann.id}`, k, { active: false })).status).toBe(200);
      expectError(await get(HUB, Ann.apiKey), 401);
      expect((await get('/api/agents?active=false', k)).body.agents.map((a: { id: string }) => a.id)).toEqual([Ann.id]);
      expect((await patch(`/api/users/${Ann.id}`, k, { active: true })).status).toBe(200);
      expect((await get(HUB, Ann.apiKey)).status).toBe(200);
    });
  });
  describe('leads already recycled when the rules widen', () => {
    /** Waits until the sweeps this org's settings changes started have run to the end (after settle(): they exist). */
    const sweepsDone = async (orgId: string) => {
      await settle();
      await eventually(async () => {
        const sweeps = (await maintenance().getJobs([...PENDING, 'failed'], 0, -1)).filter(
          (j): j is Job => !!j && j.name === REASSIGN_BACKLOG && j.data?.orgId === orgId,
        );
        expect(sweeps.map((j) => `${j.id}: ${j.failedReason ?? 'pending'}`)).toEqual([]);
      }, 20_000);
    };

    it('should reassign a lead left in a recycled status once auto-assignment is turned on, not a spoken-to one nor another org\'s', async () => {
      // Another org with auto-assignment on whose recycled lead lost its re-check (as when Redis lost it): only
      // jobs:reconcile brings that back, never a change to this org's settings.
      const other = await t.createOrg('Other org');
      const otherAnn = await t.createUser(other.adminKey, { name: 'Ann', role: 'agent' });
      await t.createUser(other.adminKey, { name: 'Ben', role: 'agent' });
      await configure(other.adminKey, { delaySeconds: HOUR_S });
      const otherLead = await createLead(other.adminKey, otherAnn.id, 'Other');
      await busy(other.adminKey, otherLead, otherAnn.id);
      await settle();
      for (const j of await jobsOf([otherLead], PENDING)) await j.remove();

      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { enabled: false });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const waiting = await createLead(k, Ann.id, 'Waiting');
      await busy(k, waiting, Ann.id);
      const spoken = await createLead(k, Ann.id, 'Spoken');
      await pushCall(k, spoken, Ann.id, { status: 'Called', durationSec: 45, leadStatus: 'Interested' });
      await busy(k, spoken, Ann.id);
      await settle();
      expect(await jobsOf([waiting, spoken], [...PENDING, 'failed'])).toEqual([]);

      await configure(k, { enabled: true });
      await waitForAgent(k, waiting, Ben.id);
      await sweepsDone(o.orgId);
      await drain(waiting, spoken, otherLead);
      expect(await reassignedEntries(k, waiting)).toHaveLength(1);
      expect(await contact(k, spoken)).toMatchObject({ assignedAgentId: Ann.id, leadStatus: 'Interested' });
      expect(await reassignedEntries(k, spoken)).toEqual([]);
      expect(await contact(other.adminKey, otherLead)).toMatchObject({ assignedAgentId: otherAnn.id, leadStatus: 'Not Picked' });
      expect(await reassignedEntries(other.adminKey, otherLead)).toEqual([]);
    });

    it('should count the delay from when the lead entered its status: one waiting longer moves at once, a newer one waits', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { enabled: false, delaySeconds: HOUR_S });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const older = await createLead(k, Ann.id, 'Older');
      await busy(k, older, Ann.id);
      const newer = await createLead(k, Ann.id, 'Newer');
      await busy(k, newer, Ann.id);
      // Two hours in Not Picked, as the read model would say of a lead nobody touched since (these tests move no clock).
      await t.db.query(`UPDATE contacts SET updated_at = updated_at - interval '2 hours' WHERE id = $1`, [older]);
      await settle();

      // One contact a page: the sweep must go on past the first page to find the newer lead.
      const page = ReassignJobSource.PAGE;
      ReassignJobSource.PAGE = 1;
      try {
        await configure(k, { enabled: true, delaySeconds: HOUR_S });
        await waitForAgent(k, older, Ben.id);
        await sweepsDone(o.orgId);
      } finally {
        ReassignJobSource.PAGE = page;
      }
      const change = (await timeline(k, newer)).find((e) => e.kind === 'lead_status_changed' && e.data.to === 'Not Picked')!;
      const [job, ...more] = await jobsOf([newer], PENDING);
      expect(more.map((j) => j.id)).toEqual([]);
      expect(await job.getState()).toBe('delayed');
      expect(Math.abs(job.timestamp + (job.opts.delay ?? 0) - (Date.parse(change.at) + HOUR_S * 1000))).toBeLessThan(5_000);
      expect(await agentOf(k, newer)).toBe(Ann.id);

      // The sweep run again (its event replayed after a crash): the same job for the waiting lead, and the lead that
      // moved is not moved twice.
      await t.app.get(ReassignBacklogHandler).run({ orgId: o.orgId, settingsVersion: 0 });
      expect((await jobsOf([newer], PENDING)).map((j) => j.id)).toEqual([job.id]);
      await drain(older);
      expect(await agentOf(k, older)).toBe(Ben.id);
      expect(await reassignedEntries(k, older)).toHaveLength(1);
    });

    it('should reassign a lead in a status added to the recycled ones while auto-assignment is on', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { statuses: ['Missed'] });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const lead = await createLead(k, Ann.id);
      await busy(k, lead, Ann.id);
      await drain(lead);
      expect(await contact(k, lead)).toMatchObject({ assignedAgentId: Ann.id, leadStatus: 'Not Picked' });

      await configure(k, { statuses: ['Missed', 'Not Picked'] });
      await waitForAgent(k, lead, Ben.id);
      await sweepsDone(o.orgId);
      await drain(lead);
      expect(await reassignedEntries(k, lead)).toHaveLength(1);
    });

    it('should reassign a lead parked at maxReassignments once the maximum is raised, and only once more', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }, { name: 'Cat' }], { maxReassignments: 1 });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const lead = await createLead(k, Ann.id);
      await recycleAndExpect(k, lead, Ben.id);
      // Ben does not reach the lead either: it stays with him, at the maximum
      await busy(k, lead, Ben.id);
      await drain(lead);
      expect(await contact(k, lead)).toMatchObject({ assignedAgentId: Ben.id, leadStatus: 'Not Picked' });

      await configure(k, { maxReassignments: 2 });
      await waitForAgent(k, lead, Ann.id); // never given a lead, and sorts before Cat
      await sweepsDone(o.orgId);
      await drain(lead);
      expect((await reassignedEntries(k, lead)).map((e) => e.data.reassignments)).toEqual([2, 1]);
    });

    it('should reassign a lead nobody in its branch could take once the scope widens to the org', async () => {
      const o = await setup([{ name: 'Ann', branch: 'North' }, { name: 'Ben', branch: 'South' }], { scope: 'branch' });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const lead = await createLead(k, Ann.id);
      const before = await skippedNoAgent();
      await busy(k, lead, Ann.id);
      await drain(lead);
      expect(await agentOf(k, lead)).toBe(Ann.id);
      expect(await skippedNoAgent()).toBeGreaterThan(before);

      await configure(k, { scope: 'org' });
      await waitForAgent(k, lead, Ben.id);
      await sweepsDone(o.orgId);
      await drain(lead);
      expect(await reassignedEntries(k, lead)).toHaveLength(1);
    });
  });

  // Last: reconciling re-creates the pending jobs of every org of this file.
  describe('after Redis lost the re-check', () => {
    it('should re-create it from Postgres, no earlier than it was due, and reassign the lead when it runs', async () => {
      const o = await setup([{ name: 'Ann' }, { name: 'Ben' }], { delaySeconds: HOUR_S });
      const k = o.admin.apiKey;
      const { Ann, Ben } = o.agents;
      const lead = await createLead(k, Ann.id);
      await busy(k, lead, Ann.id);
      const change = (await timeline(k, lead)).find((e) => e.kind === 'lead_status_changed' && e.data.to === 'Not Picked')!;
      await settle();
      const lost = await jobsOf([lead], PENDING);
      expect(lost.length).toBeGreaterThan(0);
      for (const j of lost) await j.remove();
      expect(await jobsOf([lead], PENDING)).toEqual([]);

      // One contact a page, and two contacts that sort first and need no job (New, of an organization of nobody's):
      // the lead is found only if the reconciler goes on past pages where nothing matched.
      await t.db.query(
        `INSERT INTO contacts (id, org_id, name, phone, timezone, lead_quality, lead_status, status, version, created_at, updated_at)
         SELECT id::uuid, $1, 'First', '+14155550000', 'UTC', 'COLD', 'New', 'ACTIVE', 1, now(), now()
           FROM unnest(ARRAY['00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002']) AS id
         ON CONFLICT DO NOTHING`,
        [randomUUID()],
      );
      const page = ReassignJobSource.PAGE;
      ReassignJobSource.PAGE = 1;
      try {
        await t.app.get(JobReconciler).reconcile();
      } finally {
        ReassignJobSource.PAGE = page;
      }
      const [job, ...more] = await jobsOf([lead], ['delayed']);
      expect(job).toBeDefined();
      expect(more).toEqual([]);
      expect(job.timestamp + (job.opts.delay ?? 0)).toBeGreaterThanOrEqual(Date.parse(change.at) + HOUR_S * 1000 - 1000);
      expect(await agentOf(k, lead)).toBe(Ann.id);

      await job.promote();
      await waitForAgent(k, lead, Ben.id);
      await drain(lead);
      expect(await reassignedEntries(k, lead)).toHaveLength(1);
    });
  });
});

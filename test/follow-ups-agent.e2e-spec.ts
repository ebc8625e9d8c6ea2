import { randomUUID } from 'node:crypto';
import { EventStore, ProjectionRebuilder } from '@app/event-store';
import {
  ContactAssigned,
  ContactCreated,
  contactStream,
  FollowUpScheduled,
  FollowUpScheduledData,
  LeadReassigned,
  NoteAdded,
} from '@app/contacts';
import { eventually, installNo5xxGuard, planReads, RanStatement, recordingClient, recordStatements, startTestApp, TestApp } from '@app/testing';

/**
 * The follow-up list by agent (migration 0029): an agent sees the follow-ups of the contacts assigned to them, and
 * `?agentId=X` lists the follow-ups routed to X (their own agent, else their contact's), both read from
 * follow_ups.contact_agent_id, the contacts projection's copy of the contact's assigned agent. The lists must follow
 * every change of a contact's agent at once (PATCH, auto-assignment, several in one batch of events), the copy must
 * equal contacts.assigned_agent_id on every row, and a rebuild must give the same rows. Then, on tables big enough
 * for the planner to prefer indexes, the SQL the list runs must walk the new indexes and read no table whole.
 */

type FollowUp = { id: string; contactId: string; agentId: string | null; createdAt: string };
type Page = { followUps: FollowUp[]; nextCursor: string | null };
type User = { id: string; apiKey: string };

jest.setTimeout(120_000);

describe('follow-ups by agent (contact_agent_id)', () => {
  let t: TestApp;
  const client = recordingClient(() => t);
  installNo5xxGuard(client);
  const { get, post, patch } = client;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  let phoneSeq = 1000;
  const nextPhone = () => `+1415558${String(phoneSeq++).padStart(4, '0')}`;

  const setup = async () => {
    const org = await t.createOrg(`Org ${randomUUID().slice(0, 8)}`);
    const admin: User = { id: org.adminUserId, apiKey: org.adminKey };
    const sue = await t.createUser(org.adminKey, { name: 'Sue', role: 'supervisor' });
    const ana = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    const bob = await t.createUser(org.adminKey, { name: 'Bob', role: 'agent' });
    const cem = await t.createUser(org.adminKey, { name: 'Cem', role: 'agent' });
    return { orgId: org.orgId, admin, sue, ana, bob, cem };
  };
  type Org = Awaited<ReturnType<typeof setup>>;

  const createContact = async (key: string, assignedAgentId: string | null): Promise<string> => {
    const res = await post('/api/contacts', key, { name: 'Lead', phone: nextPhone(), assignedAgentId });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body.id;
  };
  const schedule = async (key: string, contactId: string, agentId: string | null): Promise<string> => {
    const res = await post(`/api/contacts/${contactId}/follow-ups`, key, { scheduledAt: '2031-06-01T09:00:00.000Z', ...(agentId ? { agentId } : {}) });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body.id;
  };
  const assign = async (key: string, contactId: string, assignedAgentId: string | null) => {
    const res = await patch(`/api/contacts/${contactId}`, key, { assignedAgentId });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
  };
  const list = async (key: string, query: Record<string, string | number> = {}): Promise<Page> => {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const res = await get(`/api/follow-ups${qs ? `?${qs}` : ''}`, key);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    return res.body;
  };
  /** Every page, following nextCursor: the ids in the order served, and checks the order is the list's. */
  const allPages = async (key: string, query: Record<string, string | number> = {}): Promise<string[]> => {
    const seen: FollowUp[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(key, { ...query, ...(cursor ? { cursor } : {}) });
      seen.push(...page.followUps);
      cursor = page.nextCursor;
      expect(++pages).toBeLessThan(100);
    } while (cursor);
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1], seen[i]];
      expect(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id)).toBe(true);
    }
    return seen.map((f) => f.id);
  };

  /** Rows of follow_ups (notes too) whose copy is not their contact's assigned agent: none, ever. */
  const expectCopiesEqual = async () => {
    const { rows } = await t.db.query(
      `SELECT f.id, f.kind, f.contact_agent_id, c.assigned_agent_id FROM follow_ups f JOIN contacts c ON c.id = f.contact_id
        WHERE f.contact_agent_id IS DISTINCT FROM c.assigned_agent_id`,
    );
    expect(rows).toEqual([]);
  };

  /**
   * What the lists must answer, from the test's own record of the org: its follow-ups (own agent) in the order made,
   * and each contact's agent.
   */
  class Model {
    readonly agentOf = new Map<string, string | null>();
    readonly followUps: { id: string; contactId: string; own: string | null }[] = [];
    /** An agent's own view: the follow-ups of their contacts. */
    forAgent(agent: string) {
      return this.followUps.filter((f) => this.agentOf.get(f.contactId) === agent).map((f) => f.id);
    }
    /** `?agentId=`: routed to the agent. */
    routedTo(agent: string) {
      return this.followUps.filter((f) => (f.own ?? this.agentOf.get(f.contactId)) === agent).map((f) => f.id);
    }
  }

  /** Every list of every agent of the org, one page and all pages of one or two, against the model. */
  const expectLists = async (o: Org, m: Model) => {
    for (const agent of [o.ana, o.bob, o.cem]) {
      const own = m.forAgent(agent.id).sort();
      const routed = m.routedTo(agent.id).sort();
      expect({ agent: agent.id, ids: (await list(agent.apiKey)).followUps.map((f) => f.id).sort() }).toEqual({ agent: agent.id, ids: own });
      expect({ agent: agent.id, ids: (await list(o.sue.apiKey, { agentId: agent.id })).followUps.map((f) => f.id).sort() }).toEqual({ agent: agent.id, ids: routed });
      for (const limit of [1, 2]) {
        const paged = await allPages(agent.apiKey, { limit });
        expect(new Set(paged).size).toBe(paged.length);
        expect([...paged].sort()).toEqual(own);
        const pagedRouted = await allPages(o.sue.apiKey, { limit, agentId: agent.id });
        expect(new Set(pagedRouted).size).toBe(pagedRouted.length);
        expect([...pagedRouted].sort()).toEqual(routed);
      }
      // the agent's own view narrowed by agentId: theirs and routed to the one named
      for (const other of [o.ana, o.bob, o.cem]) {
        const both = m.forAgent(agent.id).filter((id) => m.routedTo(other.id).includes(id)).sort();
        expect((await list(agent.apiKey, { agentId: other.id })).followUps.map((f) => f.id).sort()).toEqual(both);
      }
    }
    await expectCopiesEqual();
  };

  describe('behaviour', () => {
    it('should list for an agent the follow-ups of their contacts, and by agentId the routed ones, through every PATCH reassignment', async () => {
      const o = await setup();
      const m = new Model();
      const k = o.admin.apiKey;
      const contact = async (agent: string | null) => {
        const id = await createContact(k, agent);
        m.agentOf.set(id, agent);
        return id;
      };
      const followUp = async (contactId: string, own: string | null) => {
        const id = await schedule(k, contactId, own);
        m.followUps.push({ id, contactId, own });
        return id;
      };
      const k1 = await contact(o.ana.id);
      const k2 = await contact(o.bob.id);
      const k3 = await contact(null);
      const f1 = await followUp(k1, null); // inherits Ana
      const f2 = await followUp(k1, o.bob.id); // Bob's own, on Ana's contact
      await followUp(k2, null); // inherits Bob
      await followUp(k2, o.ana.id); // Ana's own, on Bob's contact
      await followUp(k3, null); // nobody's
      await followUp(k3, o.cem.id);
      for (let i = 0; i < 3; i++) await followUp(k1, null);
      // a note is a row of the contact too (kept equal, never listed)
      expect((await post(`/api/contacts/${k1}/notes`, k, { text: 'called back' })).status).toBe(201);
      await expectLists(o, m);

      // k1 from Ana to Cem: its follow-ups (the note too) move with it, those of other agents stay where they are
      await assign(k, k1, o.cem.id);
      m.agentOf.set(k1, o.cem.id);
      await expectLists(o, m);
      expect((await get(`/api/follow-ups/${f1}`, o.ana.apiKey)).status).toBe(404);
      expect((await get(`/api/follow-ups/${f2}`, o.cem.apiKey)).status).toBe(200);

      // the unassigned contact to Ana, Bob's contact to nobody
      await assign(k, k3, o.ana.id);
      m.agentOf.set(k3, o.ana.id);
      await assign(k, k2, null);
      m.agentOf.set(k2, null);
      await expectLists(o, m);

      // a follow-up scheduled after a reassignment takes the contact's agent of then
      await followUp(k2, null);
      await followUp(k1, null);
      await expectLists(o, m);
    });

    it("should take the contact's agent for a follow-up a call push schedules (the append and its writes as one statement)", async () => {
      const o = await setup();
      const m = new Model();
      const k1 = await createContact(o.admin.apiKey, o.bob.id);
      m.agentOf.set(k1, o.bob.id);
      const statements: string[] = [];
      const query = t.db.query.bind(t.db);
      const spy = jest.spyOn(t.db, 'query').mockImplementation(((q: string | { text: string }, values?: unknown[]) => {
        statements.push(typeof q === 'string' ? q : q.text);
        return query(q as never, values);
      }) as typeof t.db.query);
      try {
        const res = await post('/api/calls', o.admin.apiKey, {
          callId: randomUUID(),
          contactId: k1,
          agentId: o.bob.id,
          direction: 'outbound',
          status: 'Follow up',
          durationSec: 30,
          startedAt: new Date().toISOString(),
          followUp: { scheduledAt: '2031-09-09T09:00:00.000Z' },
        });
        expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
      } finally {
        spy.mockRestore();
      }
      expect(statements.filter((s) => s.includes('fu_all_appended') && s.includes('INSERT INTO follow_ups'))).toHaveLength(1);
      const [made] = (await list(o.bob.apiKey)).followUps;
      expect(made).toMatchObject({ contactId: k1, agentId: null });
      m.followUps.push({ id: made.id, contactId: k1, own: null });
      await expectLists(o, m);
    });

    it('should move the follow-ups of a lead auto-assignment gives to another agent (LeadReassigned)', async () => {
      const o = await setup();
      const k = o.admin.apiKey;
      const settings = await patch('/api/settings', k, {
        autoAssignment: { enabled: true, delaySeconds: 0, strategy: 'round_robin', scope: 'org', maxReassignments: 3, statuses: ['Not Picked', 'Missed'] },
      });
      expect(settings.status).toBe(200);
      const m = new Model();
      const lead = await createContact(k, o.ana.id);
      const other = await createContact(k, o.ana.id);
      m.agentOf.set(lead, o.ana.id);
      m.agentOf.set(other, o.ana.id);
      for (const [contactId, own] of [
        [lead, null],
        [lead, o.ana.id],
        [other, null],
        [lead, null],
      ] as const) {
        m.followUps.push({ id: await schedule(k, contactId, own), contactId, own });
      }
      await expectLists(o, m);

      // the lead set to Not Picked (its call follow-ups made it Followups, which a call nobody answered leaves):
      // recycled, and auto-assignment gives it to another agent (Bob or Cem)
      expect((await patch(`/api/contacts/${lead}`, k, { leadStatus: 'Not Picked' })).status).toBe(200);
      const to = await eventually(async () => {
        const agent = (await get(`/api/contacts/${lead}`, k)).body.assignedAgentId;
        expect([o.bob.id, o.cem.id]).toContain(agent);
        return agent as string;
      }, 30_000);
      const { rows } = await t.db.query(`SELECT from_agent_id, to_agent_id FROM lead_reassignments WHERE contact_id = $1`, [lead]);
      expect(rows).toEqual([{ from_agent_id: o.ana.id, to_agent_id: to }]);
      m.agentOf.set(lead, to);
      await expectLists(o, m);
    });

    it('should give every row the agent the batch leaves its contact with, whatever the order of the events in it', async () => {
      const o = await setup();
      const store = t.app.get(EventStore);
      const meta = () => ({ orgId: o.orgId, actorId: o.admin.id, occurredAt: new Date().toISOString() });
      const scheduled = (contactId: string): { type: string; data: FollowUpScheduledData } => ({
        type: FollowUpScheduled,
        data: {
          followUpId: randomUUID(),
          contactId,
          type: 'call',
          scheduledAt: '2031-06-01T09:00:00.000Z',
          agentId: null,
          priority: 'normal',
          maxAttempts: 3,
          allowOutOfWindow: false,
          notes: null,
          campaignId: null,
          source: 'api',
          message: null,
          url: null,
          callId: null,
        },
      });
      const m = new Model();
      const id = randomUUID();
      // created with Ana, a follow-up and a note, given to Bob, another follow-up: one append, one batch
      const first = [
        {
          type: ContactCreated,
          data: { contactId: id, name: 'Batch', phone: nextPhone(), timezone: 'UTC', leadQuality: 'WARM', leadStatus: 'New', assignedAgentId: o.ana.id, tags: [], campaignId: null, status: 'ACTIVE' },
        },
        scheduled(id),
        { type: NoteAdded, data: { noteId: randomUUID(), contactId: id, authorId: o.admin.id, text: 'n', at: new Date().toISOString() } },
        { type: ContactAssigned, data: { contactId: id, fromAgentId: o.ana.id, toAgentId: o.bob.id } },
        scheduled(id),
      ];
      await store.append(contactStream(id), first, { expectedVersion: 0, metadata: meta() });
      m.agentOf.set(id, o.bob.id);
      for (const e of first) if (e.type === FollowUpScheduled) m.followUps.push({ id: (e.data as FollowUpScheduledData).followUpId, contactId: id, own: null });
      // and one created with Cem and given a follow-up in the same append, no reassignment after
      const id2 = randomUUID();
      const created2 = [
        {
          type: ContactCreated,
          data: { contactId: id2, name: 'Batch 2', phone: nextPhone(), timezone: 'UTC', leadQuality: 'WARM', leadStatus: 'New', assignedAgentId: o.cem.id, tags: [], campaignId: null, status: 'ACTIVE' },
        },
        scheduled(id2),
      ];
      await store.append(contactStream(id2), created2, { expectedVersion: 0, metadata: meta() });
      m.agentOf.set(id2, o.cem.id);
      m.followUps.push({ id: (created2[1].data as FollowUpScheduledData).followUpId, contactId: id2, own: null });
      await expectLists(o, m);

      // on the stored contact: a follow-up, a reassignment to Cem, another follow-up, in one multi-stream append
      const second = [scheduled(id), { type: LeadReassigned, data: { contactId: id, fromAgentId: o.bob.id, toAgentId: o.cem.id, leadStatus: 'Not Picked', strategy: 'round_robin', scope: 'org', reassignments: 1 } }, scheduled(id)];
      const [r2] = await store.appendMany([{ streamId: contactStream(id), expectedVersion: first.length, events: second }], meta());
      expect(r2.outcome).toBe('ok');
      m.agentOf.set(id, o.cem.id);
      for (const e of second) if (e.type === FollowUpScheduled) m.followUps.push({ id: (e.data as FollowUpScheduledData).followUpId, contactId: id, own: null });
      await expectLists(o, m);

      // and a follow-up alone: the agent read from the contact row
      const third = scheduled(id);
      const [r3] = await store.appendMany([{ streamId: contactStream(id), expectedVersion: first.length + second.length, events: [third] }], meta());
      expect(r3.outcome).toBe('ok');
      m.followUps.push({ id: third.data.followUpId, contactId: id, own: null });
      await expectLists(o, m);
    });

    it('should rebuild the same rows, the copy of the agent included', async () => {
      const rowsNow = async () => (await t.db.query(`SELECT * FROM follow_ups ORDER BY id`)).rows;
      const before = await rowsNow();
      expect(before.length).toBeGreaterThan(20);
      expect(before.filter((r) => r.contact_agent_id !== null).length).toBeGreaterThan(10);
      await t.app.get(ProjectionRebuilder).rebuild('contacts');
      expect(await rowsNow()).toEqual(before);
      await expectCopiesEqual();
    });
  });

  describe('plans on a large organization', () => {
    let o: Org;
    let supervisorKey: string;
    let recording: ReturnType<typeof recordStatements> | undefined;
    let ran: RanStatement[] = [];
    /** A few agents with API keys, and 10 more of the org without (agents only as ids in the read model). */
    const ghosts = Array.from({ length: 10 }, () => randomUUID());

    beforeAll(async () => {
      o = await setup();
      supervisorKey = o.sue.apiKey;
      const other = randomUUID();
      const agents = [o.ana.id, o.bob.id, ...ghosts];
      // 30,000 contacts (a third another org's), each of the org's with one of 12 agents or none; 24,000 follow-ups (a
      // tenth notes) on the first 6,000 of them, three in ten with an agent of their own, one in seven open. (With only
      // 6,000 contacts, hashing the whole table for a page's join was about as cheap as probing it, and the planner
      // took the scan one full run in a few: the assertion below is about a large organization.)
      await t.db.query(
        `INSERT INTO contacts (id, org_id, name, phone, timezone, lead_quality, lead_status, assigned_agent_id, tags, campaign_id, status, version, created_at, updated_at)
         SELECT gen_random_uuid(), CASE WHEN i % 3 = 0 THEN $2::uuid ELSE $1::uuid END, 'Lead ' || i, '+1416' || lpad(i::text, 7, '0'), 'UTC', 'WARM', 'New',
                CASE WHEN i % 3 = 0 THEN gen_random_uuid() WHEN i % 13 = 0 THEN NULL ELSE ($3::uuid[])[1 + (i / 3) % 12] END,
                '{}', NULL, 'ACTIVE', 1, now() - make_interval(secs => 30000 - i), now()
           FROM generate_series(1, 30000) i`,
        [o.orgId, other, agents],
      );
      await t.db.query(
        `INSERT INTO follow_ups (id, org_id, contact_id, kind, resolved, status, type, scheduled_at, agent_id, priority, max_attempts, source,
                                 created_at, updated_at, contact_agent_id)
         SELECT gen_random_uuid(), c.org_id, c.id, CASE WHEN i % 10 = 0 THEN 'note' ELSE 'follow_up' END, i % 7 <> 0,
                CASE WHEN i % 10 = 0 THEN 'note' WHEN i % 7 = 0 THEN 'scheduled' ELSE 'completed' END, CASE WHEN i % 10 = 0 THEN NULL ELSE 'call' END,
                now() + make_interval(hours => i % 500), CASE WHEN i % 10 IN (1, 4, 7) THEN ($3::uuid[])[1 + (i * 7) % 12] END, 'normal', 3, 'api',
                now() - make_interval(secs => 24000 - i), now(), c.assigned_agent_id
           FROM generate_series(1, 24000) i
           JOIN (SELECT id, org_id, assigned_agent_id, row_number() OVER (ORDER BY created_at) - 1 AS n FROM contacts WHERE org_id IN ($1, $2)) c ON c.n = i % 6000`,
        [o.orgId, other, agents],
      );
      await t.db.query('ANALYZE contacts; ANALYZE follow_ups');
      recording = recordStatements(t.db, /^SELECT f\.id, f\.contact_id AS "contactId"/);
      ran = recording.ran;
    }, 120_000);
    afterAll(() => recording?.stop());

    /** The list as `key` asks for it over HTTP; the plan of the SQL it ran: the indexes read, the big tables read whole. */
    const planOf = async (key: string, query: Record<string, string | number>) => {
      ran.length = 0;
      const body = await list(key, query);
      expect(ran).toHaveLength(1);
      const [{ text, values }] = ran;
      const { indexes, seqScans: scans } = await planReads(t.db, text, values);
      // (users and campaigns hold a handful of rows here: a scan of one is what the planner should do)
      const seqScans = new Set([...scans].filter((table) => ['follow_ups', 'contacts'].includes(table)));
      return { body, indexes, seqScans, text, values };
    };

    /** The first `n` follow-ups of the org matching `where` (on f, and c its contact), newest first: the oracle. */
    const expected = async (where: string, values: unknown[], n: number) =>
      (
        await t.db.query(
          `SELECT f.id FROM follow_ups f JOIN contacts c ON c.id = f.contact_id
            WHERE f.org_id = $1 AND f.kind = 'follow_up' AND ${where} ORDER BY f.created_at DESC, f.id DESC LIMIT ${n}`,
          [o.orgId, ...values],
        )
      ).rows.map((r) => r.id);

    it.each([
      ['an agent with an API key', () => o.ana.id],
      ['an agent only known as an id', () => ghosts[3]],
    ])("should walk follow_ups_routed_agent_ix for agentId (%s), reading no table whole, every page", async (_what, agent) => {
      let cursor: string | null = null;
      for (let page = 0; page < 3; page++) {
        const { body, indexes, seqScans } = await planOf(supervisorKey, { agentId: agent(), limit: 50, ...(cursor ? { cursor } : {}) });
        expect(indexes).toContain('follow_ups_routed_agent_ix');
        expect(seqScans).toEqual(new Set());
        expect(body.followUps).toHaveLength(50);
        if (page === 0) expect(body.followUps.map((f: FollowUp) => f.id)).toEqual(await expected('coalesce(f.agent_id, c.assigned_agent_id) = $2', [agent()], 50));
        cursor = body.nextCursor;
      }
    });

    it("should walk follow_ups_contact_agent_ix for an agent's own list, reading no table whole, every page", async () => {
      let cursor: string | null = null;
      for (let page = 0; page < 3; page++) {
        const { body, indexes, seqScans } = await planOf(o.ana.apiKey, { limit: 50, ...(cursor ? { cursor } : {}) });
        expect(indexes).toContain('follow_ups_contact_agent_ix');
        expect(seqScans).toEqual(new Set());
        expect(body.followUps).toHaveLength(50);
        if (page === 0) expect(body.followUps.map((f: FollowUp) => f.id)).toEqual(await expected('c.assigned_agent_id = $2', [o.ana.id], 50));
        cursor = body.nextCursor;
      }
    });

    it('should read no table whole for an open status, alone or with an agent', async () => {
      for (const [key, query, where, values] of [
        [supervisorKey, { status: 'scheduled' }, `f.status = 'scheduled'`, []],
        [supervisorKey, { status: 'scheduled', agentId: o.bob.id }, `f.status = 'scheduled' AND coalesce(f.agent_id, c.assigned_agent_id) = $2`, [o.bob.id]],
        [o.bob.apiKey, { status: 'scheduled' }, `f.status = 'scheduled' AND c.assigned_agent_id = $2`, [o.bob.id]],
      ] as const) {
        const { body, seqScans, text } = await planOf(key, { ...query, limit: 20 });
        expect(text).toContain('NOT f.resolved');
        expect(seqScans).toEqual(new Set());
        expect(body.followUps.map((f: FollowUp) => f.id)).toEqual(await expected(where, [...values], 20));
      }
    });
  });
});

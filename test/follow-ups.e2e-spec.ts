import { randomUUID } from 'node:crypto';
import { EventStore } from '@app/event-store';
import { Clock } from '@app/shared';
import { FollowUpDeferred } from '@app/contacts';
import { eventually, expectError, fieldsNamed, installNo5xxGuard, recordingClient, startTestApp, TestApp } from '@app/testing';

type FollowUp = {
  id: string;
  contactId: string;
  contactName: string;
  type: string;
  status: string;
  scheduledAt: string;
  agentId: string | null;
  agentName: string | null;
  priority: string;
  maxAttempts: number;
  attempts: number;
  nextAttemptAt: string | null;
  allowOutOfWindow: boolean;
  outOfWindow: boolean;
  notes: string | null;
  campaignId: string | null;
  campaignName: string | null;
  source: string;
  message?: string | null;
  url?: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
};
type Page = { followUps: FollowUp[]; nextCursor: string | null };

/** SPEC §5: the fields of a follow-up as the API returns it (message or url only as the type needs). */
const SPEC_FIELDS = [
  'id',
  'contactId',
  'type',
  'status',
  'scheduledAt',
  'agentId',
  'priority',
  'maxAttempts',
  'attempts',
  'nextAttemptAt',
  'allowOutOfWindow',
  'outOfWindow',
  'notes',
  'campaignId',
  'source',
  'createdAt',
  'updatedAt',
  'resolvedAt',
];

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
const ACTIONS = ['snooze', 'reschedule', 'cancel', 'complete'] as const;

jest.setTimeout(30_000);

describe('follow-ups API (SPEC §5, §8, §9)', () => {
  let t: TestApp;
  /** Every response of the current test, to prove none was a 500 (SPEC §9). */
  const client = recordingClient(() => t);
  installNo5xxGuard(client);

  beforeAll(async () => {
    // Quick expiry, for the "reschedule an expired follow-up" conflict.
    t = await startTestApp({ env: { EXPIRY_INTERVAL_MS: '300' } });
  });
  afterAll(async () => t?.close());

  const { get, patch } = client;
  const post = (path: string, key: string, body: unknown = {}) => client.post(path, key, body);

  let phoneSeq = 1000;
  const nextPhone = () => `+1415557${String(phoneSeq++).padStart(4, '0')}`;

  /** An org with an admin, a supervisor and two agents; settings patched as given. */
  const setup = async (settings: Record<string, unknown> = {}) => {
    const org = await t.createOrg(`Org ${randomUUID().slice(0, 8)}`);
    const admin = { id: org.adminUserId, apiKey: org.adminKey };
    const supervisor = await t.createUser(org.adminKey, { name: 'Sue', role: 'supervisor' });
    const ana = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    const bob = await t.createUser(org.adminKey, { name: 'Bob', role: 'agent' });
    if (Object.keys(settings).length) expect((await patch('/api/settings', admin.apiKey, settings)).status).toBe(200);
    return { org, admin, supervisor, ana, bob };
  };
  type Org = Awaited<ReturnType<typeof setup>>;

  const createContact = async (key: string, body: Record<string, unknown> = {}): Promise<string> => {
    const res = await post('/api/contacts', key, { name: 'Sarah Lee', phone: nextPhone(), ...body });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const schedule = async (key: string, contactId: string, body: Record<string, unknown> = {}): Promise<FollowUp> => {
    const res = await post(`/api/contacts/${contactId}/follow-ups`, key, body);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body;
  };
  const followUp = async (id: string, key: string): Promise<FollowUp> => {
    const res = await get(`/api/follow-ups/${id}`, key);
    expect(res.status).toBe(200);
    return res.body;
  };
  const act = (id: string, action: (typeof ACTIONS)[number], key: string, body: Record<string, unknown> = {}) =>
    post(`/api/follow-ups/${id}/${action}`, key, action === 'reschedule' && !('scheduledAt' in body) ? { scheduledAt: iso(2 * HOUR) } : body);
  const card = async (contactId: string, key: string, query = ''): Promise<Page> => {
    const res = await get(`/api/contacts/${contactId}/follow-ups${query}`, key);
    expect(res.status).toBe(200);
    return res.body;
  };
  const list = async (key: string, query: Record<string, string | number> = {}): Promise<Page> => {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const res = await get(`/api/follow-ups${qs ? `?${qs}` : ''}`, key);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
    return res.body;
  };
  /** Every page of a list, following nextCursor. */
  const allPages = async (key: string, query: Record<string, string | number>): Promise<{ ids: string[]; pages: number }> => {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(key, { ...query, ...(cursor ? { cursor } : {}) });
      ids.push(...page.followUps.map((f) => f.id));
      cursor = page.nextCursor;
      pages++;
      expect(pages).toBeLessThan(50);
    } while (cursor);
    return { ids, pages };
  };

  let a: Org;
  beforeAll(async () => {
    a = await setup({ webhooks: { allowHttpHosts: ['127.0.0.1'] } });
  });

  describe('scheduling (SPEC §5 fields and defaults)', () => {
    it('should apply every default of §5 when only the contact is given', async () => {
      const contactId = await createContact(a.admin.apiKey, { assignedAgentId: a.ana.id });
      const before = Date.now();
      const f = await schedule(a.admin.apiKey, contactId, {});
      const after = Date.now();

      for (const field of SPEC_FIELDS) expect(f).toHaveProperty(field);
      expect(f).not.toHaveProperty('message');
      expect(f).not.toHaveProperty('url');
      expect(f).toMatchObject({
        contactId,
        type: 'call',
        status: 'scheduled',
        agentId: null,
        priority: 'normal',
        maxAttempts: 3,
        attempts: 0,
        allowOutOfWindow: false,
        outOfWindow: false,
        notes: null,
        campaignId: null,
        source: 'manual',
        resolvedAt: null,
      });
      const due = Date.parse(f.scheduledAt);
      expect(due).toBeGreaterThanOrEqual(before + HOUR - 1000);
      expect(due).toBeLessThanOrEqual(after + HOUR + 1000);
      expect(f.nextAttemptAt).toBe(f.scheduledAt);
      expect(Date.parse(f.createdAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(f.updatedAt).toBe(f.createdAt);
      // what the POST answered is what a later read shows
      expect(await followUp(f.id, a.admin.apiKey)).toEqual(f);
    });

    it('should store every field as given when all of §5 is sent', async () => {
      const campaign = await post('/api/campaigns', a.admin.apiKey, { name: 'Spring' });
      expect(campaign.status).toBe(201);
      const contactId = await createContact(a.admin.apiKey, { assignedAgentId: a.ana.id });
      const f = await schedule(a.admin.apiKey, contactId, {
        type: 'webhook',
        url: 'https://hooks.example.com/follow-up?x=1',
        scheduledAt: '2031-03-04T10:15:00+02:00',
        agentId: a.bob.id,
        priority: 'urgent',
        maxAttempts: 10,
        allowOutOfWindow: true,
        notes: 'Ask about the renewal',
        campaignId: campaign.body.id,
        source: 'import',
      });
      expect(f).toMatchObject({
        type: 'webhook',
        url: 'https://hooks.example.com/follow-up?x=1',
        scheduledAt: '2031-03-04T08:15:00.000Z',
        nextAttemptAt: '2031-03-04T08:15:00.000Z',
        agentId: a.bob.id,
        agentName: 'Bob',
        priority: 'urgent',
        maxAttempts: 10,
        allowOutOfWindow: true,
        outOfWindow: false,
        notes: 'Ask about the renewal',
        campaignId: campaign.body.id,
        campaignName: 'Spring',
        source: 'import',
        status: 'scheduled',
        attempts: 0,
      });
      expect(f).not.toHaveProperty('message');
    });

    it('should keep the message of an sms follow-up and show it', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, { type: 'sms', message: 'Your quote is ready' });
      expect(f).toMatchObject({ type: 'sms', message: 'Your quote is ready' });
      expect(f).not.toHaveProperty('url');
    });

    it("should default campaignId to the contact's campaign", async () => {
      const campaign = await post('/api/campaigns', a.admin.apiKey, { name: 'Autumn' });
      const contactId = await createContact(a.admin.apiKey, { campaignId: campaign.body.id });
      const f = await schedule(a.admin.apiKey, contactId, {});
      expect(f).toMatchObject({ campaignId: campaign.body.id, campaignName: 'Autumn' });
    });

    it('should accept a scheduledAt in the past (imports)', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const scheduledAt = iso(-2 * DAY);
      const f = await schedule(a.admin.apiKey, contactId, { type: 'call', scheduledAt, source: 'import' });
      expect(f.scheduledAt).toBe(scheduledAt);
      expect(f.source).toBe('import');
    });

    it.each([0, 11, -1, 2.5, '3'])('should refuse maxAttempts %p with a 400 naming maxAttempts', async (maxAttempts) => {
      const contactId = await createContact(a.admin.apiKey);
      const res = await post(`/api/contacts/${contactId}/follow-ups`, a.admin.apiKey, { maxAttempts });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['maxAttempts']);
    });

    it.each([1, 10])('should accept maxAttempts %p', async (maxAttempts) => {
      const contactId = await createContact(a.admin.apiKey);
      expect((await schedule(a.admin.apiKey, contactId, { maxAttempts })).maxAttempts).toBe(maxAttempts);
    });

    it.each([
      ['an sms without a message', { type: 'sms' }, ['message']],
      ['an sms with an empty message', { type: 'sms', message: '' }, ['message']],
      ['a webhook without a url', { type: 'webhook' }, ['url']],
      ['a webhook with a non-http url', { type: 'webhook', url: 'ftp://files.example.com/x' }, ['url']],
      ['a webhook with a url that is not a url', { type: 'webhook', url: 'not a url' }, ['url']],
      ['an unknown type', { type: 'email' }, ['type']],
      ['an unknown priority', { priority: 'critical' }, ['priority']],
      ['an unknown source', { source: 'crm' }, ['source']],
      ['a scheduledAt that is not ISO-8601', { scheduledAt: 'tomorrow' }, ['scheduledAt']],
      ['a scheduledAt in the year 10000 UTC (a 500 before)', { scheduledAt: '9999-12-31T23:30:00-05:00' }, ['scheduledAt']],
      ['a scheduledAt with an offset nobody has', { scheduledAt: '2031-01-01T10:00:00+23:59' }, ['scheduledAt']],
      ['allowOutOfWindow not a boolean', { allowOutOfWindow: 'yes' }, ['allowOutOfWindow']],
      ['an agentId that is not a uuid', { agentId: 'ana' }, ['agentId']],
      ['a campaignId that is not a uuid', { campaignId: 'spring' }, ['campaignId']],
      ['an unknown field', { colour: 'red' }, ['colour']],
    ])('should refuse %s with a 400 naming the field', async (_what, body, fields) => {
      const contactId = await createContact(a.admin.apiKey);
      const res = await post(`/api/contacts/${contactId}/follow-ups`, a.admin.apiKey, body);
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(fields);
      expect((await card(contactId, a.admin.apiKey)).followUps).toEqual([]);
    });

    describe('every bad field in one answer, whichever check finds it (SPEC §9)', () => {
      // a date without a time passes the DTO's ISO-8601 rule and is refused by the domain's, as a blank sms message is
      const day = iso(2 * DAY).slice(0, 10);
      it.each([
        ['a field the DTO refuses and a scheduledAt the domain refuses', { scheduledAt: day, priority: 'x' }, ['priority', 'scheduledAt']],
        ['two fields only the domain refuses', { type: 'sms', message: '   ', scheduledAt: day }, ['message', 'scheduledAt']],
        ['an unknown agent and campaign (lookups) and a scheduledAt the domain refuses', { agentId: randomUUID(), campaignId: randomUUID(), scheduledAt: day }, ['agentId', 'campaignId', 'scheduledAt']],
      ])('should refuse %s with one 400 naming each, and schedule nothing', async (_what, body, fields) => {
        const contactId = await createContact(a.admin.apiKey);
        const res = await post(`/api/contacts/${contactId}/follow-ups`, a.admin.apiKey, body);
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(fields);
        expect((await card(contactId, a.admin.apiKey)).followUps).toEqual([]);
      });
    });

    it('should refuse a plain-http webhook to a host not in webhooks.allowHttpHosts with a 400 naming url', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const res = await post(`/api/contacts/${contactId}/follow-ups`, a.admin.apiKey, { type: 'webhook', url: 'http://hooks.example.com/x' });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['url']);
      expect((await card(contactId, a.admin.apiKey)).followUps).toEqual([]);
    });

    it('should accept a plain-http webhook to a host in webhooks.allowHttpHosts', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, { type: 'webhook', url: 'http://127.0.0.1:9/hook', scheduledAt: iso(DAY) });
      expect(f.url).toBe('http://127.0.0.1:9/hook');
    });

    it('should refuse a plain-http webhook in an org that allows no http host', async () => {
      const b = await setup();
      const contactId = await createContact(b.admin.apiKey);
      const res = await post(`/api/contacts/${contactId}/follow-ups`, b.admin.apiKey, { type: 'webhook', url: 'http://127.0.0.1:9/hook' });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['url']);
    });

    it('should refuse an https webhook to a loopback or private address not in webhooks.allowHttpHosts with a 400 naming url', async () => {
      // Regression: POST /api/contacts/:id/follow-ups { type: 'webhook', url: 'https://127.0.0.1/hook' } (or https://10.0.0.5/,
      // https://localhost/) in an org whose allowHttpHosts is empty answers 201; SPEC §7 says "any address in a private
      // or loopback range is refused unless its host is in allowHttpHosts" (PATCH /api/settings refuses the same URL for
      // dialler.url). The follow-up can never be delivered: every attempt fails with "refused: …" at execution.
      // Likely cause: ScheduleFollowUpHandler checks only `url.protocol === 'http:'` instead of the shared
      // outboundUrlProblem(url, allowHttpHosts) (libs/settings/src/domain/settings.validation.ts) that settings use.
      const b = await setup();
      const contactId = await createContact(b.admin.apiKey);
      for (const url of ['https://127.0.0.1/hook', 'https://10.0.0.5/hook', 'https://localhost/hook']) {
        const res = await post(`/api/contacts/${contactId}/follow-ups`, b.admin.apiKey, { type: 'webhook', url, scheduledAt: iso(DAY) });
        expect({ url, status: res.status }).toEqual({ url, status: 400 });
        expect(fieldsNamed(res)).toEqual(['url']);
      }
    });

    it('should refuse an agentId that is not an active agent of the organization with a 400 naming agentId', async () => {
      const b = await setup();
      const contactId = await createContact(a.admin.apiKey);
      for (const agentId of [randomUUID(), b.ana.id]) {
        const res = await post(`/api/contacts/${contactId}/follow-ups`, a.admin.apiKey, { agentId });
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(['agentId']);
      }
      expect((await card(contactId, a.admin.apiKey)).followUps).toEqual([]);
    });

    it('should refuse a campaignId that is not a campaign of the organization with a 400 naming campaignId', async () => {
      const b = await setup();
      const theirs = await post('/api/campaigns', b.admin.apiKey, { name: 'Theirs' });
      const contactId = await createContact(a.admin.apiKey);
      for (const campaignId of [randomUUID(), theirs.body.id]) {
        const res = await post(`/api/contacts/${contactId}/follow-ups`, a.admin.apiKey, { campaignId });
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(['campaignId']);
      }
      expect((await card(contactId, a.admin.apiKey)).followUps).toEqual([]);
    });

    it('should answer 404 for a contact that does not exist or is not a uuid', async () => {
      expectError(await post(`/api/contacts/${randomUUID()}/follow-ups`, a.admin.apiKey, {}), 404);
      expectError(await post('/api/contacts/nope/follow-ups', a.admin.apiKey, {}), 404);
      expectError(await get(`/api/contacts/${randomUUID()}/follow-ups`, a.admin.apiKey), 404);
    });

    it('should answer 401 without a key', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const res = await t.http().post(`/api/contacts/${contactId}/follow-ups`).send({});
      expectError(res, 401);
      expectError(await t.http().get('/api/follow-ups'), 401);
    });
  });

  describe('lead status (SPEC §4)', () => {
    const leadStatus = async (contactId: string) => {
      const res = await get(`/api/contacts/${contactId}`, a.admin.apiKey);
      expect(res.status).toBe(200);
      return res.body.leadStatus as string;
    };

    it.each(['New', 'Not Picked', 'Interested'])('should move a %s lead to Followups when a call follow-up is scheduled', async (from) => {
      const contactId = await createContact(a.admin.apiKey);
      if (from !== 'New') expect((await patch(`/api/contacts/${contactId}`, a.admin.apiKey, { leadStatus: from })).status).toBe(200);
      expect(await leadStatus(contactId)).toBe(from);
      await schedule(a.admin.apiKey, contactId, { type: 'call' });
      expect(await leadStatus(contactId)).toBe('Followups');
      const timeline = await get(`/api/contacts/${contactId}/timeline`, a.admin.apiKey);
      expect(timeline.body.entries.find((e: { kind: string }) => e.kind === 'lead_status_changed')).toMatchObject({ data: { from, to: 'Followups' } });
    });

    it.each([
      ['sms', { type: 'sms', message: 'Hi' }],
      ['webhook', { type: 'webhook', url: 'https://hooks.example.com/x' }],
    ])('should leave the lead status alone when a %s follow-up is scheduled', async (_type, body) => {
      const contactId = await createContact(a.admin.apiKey);
      await schedule(a.admin.apiKey, contactId, { ...body, scheduledAt: iso(DAY) });
      expect(await leadStatus(contactId)).toBe('New');
    });
  });

  describe('the contact card (SPEC §8)', () => {
    it('should list the contact’s follow-ups newest first with every column of the card', async () => {
      const campaign = await post('/api/campaigns', a.admin.apiKey, { name: 'Card campaign' });
      const contactId = await createContact(a.admin.apiKey, { assignedAgentId: a.ana.id });
      const other = await createContact(a.admin.apiKey, { assignedAgentId: a.ana.id });
      await schedule(a.admin.apiKey, other, {}); // another contact's: not on this card

      const first = await schedule(a.admin.apiKey, contactId, { type: 'call', scheduledAt: iso(3 * DAY), agentId: a.ana.id, maxAttempts: 5 });
      const second = await schedule(a.admin.apiKey, contactId, {
        type: 'sms',
        message: 'Hello',
        scheduledAt: iso(DAY),
        campaignId: campaign.body.id,
        allowOutOfWindow: true,
        source: 'api',
      });
      const third = await schedule(a.admin.apiKey, contactId, { type: 'webhook', url: 'https://hooks.example.com/y', scheduledAt: iso(2 * DAY), priority: 'high' });
      expect((await act(third.id, 'cancel', a.admin.apiKey, { reason: 'not needed' })).status).toBe(200);

      const page = await card(contactId, a.admin.apiKey);
      expect(page.nextCursor).toBeNull();
      expect(page.followUps.map((f) => f.id)).toEqual([third.id, second.id, first.id]);
      expect(page.followUps.map((f) => f.contactId)).toEqual([contactId, contactId, contactId]);
      const [c3, c2, c1] = page.followUps;
      expect(c3).toMatchObject({ status: 'cancelled', outOfWindow: false, type: 'webhook', scheduledAt: third.scheduledAt, agentId: null, agentName: null, attempts: 0, maxAttempts: 3, source: 'manual' });
      expect(c2).toMatchObject({
        status: 'scheduled',
        outOfWindow: false,
        allowOutOfWindow: true,
        type: 'sms',
        scheduledAt: second.scheduledAt,
        campaignId: campaign.body.id,
        campaignName: 'Card campaign',
        attempts: 0,
        maxAttempts: 3,
        source: 'api',
      });
      expect(c1).toMatchObject({ status: 'scheduled', type: 'call', scheduledAt: first.scheduledAt, agentId: a.ana.id, agentName: 'Ana', attempts: 0, maxAttempts: 5, source: 'manual' });
      // each row is the follow-up's own page
      for (const row of page.followUps) expect(await followUp(row.id, a.admin.apiKey)).toEqual(row);
    });

    it('should keep notes off the card and out of the list (SPEC §2)', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const note = await post(`/api/contacts/${contactId}/notes`, a.admin.apiKey, { text: 'Prefers mornings' });
      expect(note.status).toBe(201);
      const f = await schedule(a.admin.apiKey, contactId, {});
      expect((await card(contactId, a.admin.apiKey)).followUps.map((x) => x.id)).toEqual([f.id]);
      expect((await list(a.admin.apiKey, { contactId })).followUps.map((x) => x.id)).toEqual([f.id]);
      if (note.body.id) expectError(await get(`/api/follow-ups/${note.body.id}`, a.admin.apiKey), 404);
    });

    it('should page the card with limit and cursor', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await schedule(a.admin.apiKey, contactId, { scheduledAt: iso((i + 1) * DAY) })).id);
      const p1 = await card(contactId, a.admin.apiKey, '?limit=2');
      const p2 = await card(contactId, a.admin.apiKey, `?limit=2&cursor=${encodeURIComponent(p1.nextCursor!)}`);
      const p3 = await card(contactId, a.admin.apiKey, `?limit=2&cursor=${encodeURIComponent(p2.nextCursor!)}`);
      expect([...p1.followUps, ...p2.followUps, ...p3.followUps].map((f) => f.id)).toEqual([...made].reverse());
      expect(p3.nextCursor).toBeNull();
    });

    it('should show an empty card for a contact without follow-ups', async () => {
      const contactId = await createContact(a.admin.apiKey);
      expect(await card(contactId, a.admin.apiKey)).toEqual({ followUps: [], nextCursor: null });
    });
  });

  describe('the global list (SPEC §8)', () => {
    let o: Org;
    let c1: string;
    let c2: string;
    const made: Record<string, FollowUp> = {};
    const base = Date.parse('2031-06-01T00:00:00.000Z');
    const at = (day: number) => new Date(base + day * DAY).toISOString();

    beforeAll(async () => {
      o = await setup();
      c1 = await createContact(o.admin.apiKey, { assignedAgentId: o.ana.id });
      c2 = await createContact(o.admin.apiKey, { assignedAgentId: o.bob.id });
      made.call1 = await schedule(o.admin.apiKey, c1, { type: 'call', scheduledAt: at(0), agentId: o.ana.id });
      made.sms1 = await schedule(o.admin.apiKey, c1, { type: 'sms', message: 'x', scheduledAt: at(1) });
      made.call2 = await schedule(o.admin.apiKey, c2, { type: 'call', scheduledAt: at(2), agentId: o.bob.id });
      made.hook2 = await schedule(o.admin.apiKey, c2, { type: 'webhook', url: 'https://hooks.example.com/z', scheduledAt: at(3), agentId: o.ana.id });
      made.call2b = await schedule(o.admin.apiKey, c2, { type: 'call', scheduledAt: at(4) });
      expect((await act(made.call2b.id, 'cancel', o.admin.apiKey)).status).toBe(200);
    });
    const ids = (page: Page) => page.followUps.map((f) => f.id).sort();
    const of = (...names: string[]) => names.map((n) => made[n].id).sort();

    it('should list every follow-up of the org, newest first, and none of another org', async () => {
      const page = await list(o.admin.apiKey);
      expect(page.followUps.map((f) => f.id)).toEqual(['call2b', 'hook2', 'call2', 'sms1', 'call1'].map((n) => made[n].id));
      expect(page.nextCursor).toBeNull();
    });

    it.each([
      ['contactId', () => ({ contactId: c1 }), ['call1', 'sms1']],
      // Ana's own (call1; hook2, on Bob's contact) and those inheriting her as their contact's agent (sms1)
      ['agentId', () => ({ agentId: o.ana.id }), ['call1', 'sms1', 'hook2']],
      ['agentId (inheriting)', () => ({ agentId: o.bob.id }), ['call2', 'call2b']],
      ['status', () => ({ status: 'cancelled' }), ['call2b']],
      ['type', () => ({ type: 'call' }), ['call1', 'call2', 'call2b']],
      ['from (inclusive)', () => ({ from: at(2) }), ['call2', 'hook2', 'call2b']],
      ['to (exclusive)', () => ({ to: at(2) }), ['call1', 'sms1']],
      ['from and to', () => ({ from: at(1), to: at(3) }), ['sms1', 'call2']],
      ["from and to as calendar days in the caller's timezone (UTC here), to's day included", () => ({ from: '2031-06-02', to: '2031-06-03' }), ['sms1', 'call2']],
      ['from and to the same calendar day: that day', () => ({ from: '2031-06-03', to: '2031-06-03' }), ['call2']],
      ['several filters at once', () => ({ contactId: c2, type: 'call', status: 'scheduled' }), ['call2']],
    ])('should filter by %s', async (_what, query, expected) => {
      expect(ids(await list(o.admin.apiKey, query()))).toEqual(of(...expected));
    });

    it('should paginate with limit and cursor: every follow-up once, in order', async () => {
      const { ids: paged, pages } = await allPages(o.admin.apiKey, { limit: 2 });
      expect(pages).toBe(3);
      expect(paged).toEqual((await list(o.admin.apiKey)).followUps.map((f) => f.id));
      const filtered = await allPages(o.admin.apiKey, { limit: 1, type: 'call' });
      expect(filtered.ids.sort()).toEqual(of('call1', 'call2', 'call2b'));
    });

    it("should page an agent's own and inheriting follow-ups together, newest first, each once", async () => {
      // Ana's: call1 (her own), sms1 (inherits her as c1's agent), hook2 (her own, on Bob's contact), interleaved in time
      for (const limit of [1, 2]) {
        const { ids: paged } = await allPages(o.admin.apiKey, { limit, agentId: o.ana.id });
        expect(paged).toEqual(['hook2', 'sms1', 'call1'].map((n) => made[n].id));
      }
      const withStatus = await allPages(o.admin.apiKey, { limit: 1, agentId: o.bob.id, status: 'scheduled' });
      expect(withStatus.ids).toEqual([made.call2.id]);
    });

    it.each([
      ['status', 'status=overdue'],
      ['type', 'type=email'],
      ['from', 'from=yesterday'],
      // ISO-8601 forms Postgres refuses (these were 500s), no offset, an offset nobody has
      ['from', 'from=2026-03'],
      ['to', 'to=2026-W10-1'],
      ['from', 'from=2026-03-08T10Z'],
      ['to', 'to=2026-03-08T10:00:00,5Z'],
      ['from', 'from=2026-03-08T10:00:00'],
      ['to', 'to=2026-03-08T10:00:00%2B23:59'],
      ['to', 'from=2026-12-09T00:00:00Z&to=2026-12-08T00:00:00Z'],
      ['contactId', 'contactId=abc'],
      ['limit', 'limit=0'],
      ['limit', 'limit=201'],
    ])('should refuse a bad %s filter with a 400 naming it', async (field, qs) => {
      const res = await get(`/api/follow-ups?${qs}`, o.admin.apiKey);
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual([field]);
    });

    it.each([
      ['garbage', 'garbage!'],
      ['a forged one whose time is not a time', Buffer.from(JSON.stringify(['Infinity years', randomUUID()])).toString('base64url')],
    ])('should refuse a cursor that is %s with a 400 naming cursor', async (_what, cursor) => {
      for (const path of ['/api/follow-ups', `/api/contacts/${c1}/follow-ups`]) {
        const res = await get(`${path}?cursor=${encodeURIComponent(cursor)}`, o.admin.apiKey);
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect(fieldsNamed(res)).toEqual(['cursor']);
      }
    });

    it('should refuse a forged cursor (id not a uuid, time out of range) with a 400 naming cursor, never a 500', async () => {
      // Regression: GET /api/follow-ups?cursor=<base64url of ["2031-06-01T00:00:00.000Z","not-a-uuid"]> (and the contact card
      // GET /api/contacts/:id/follow-ups with the same cursor) answers 500 "internal error"; SPEC §9: never a 500 for
      // anything a client sent, 400 naming the field. Likely cause: decodeCursor (libs/contacts/src/contacts.repository.ts)
      // checks only that the id is a string and the time passes Date.parse, and FollowUpsRepository.list casts them with
      // `::uuid` / `::timestamptz`, so Postgres raises (22P02 invalid uuid; 22008 out of range for a year like -271821).
      const forged = [
        ['2031-06-01T00:00:00.000Z', 'not-a-uuid'],
        ['-271821-04-20T00:00:00.000Z', randomUUID()],
      ].map((parts) => Buffer.from(JSON.stringify(parts)).toString('base64url'));
      const answers: { path: string; status: number }[] = [];
      for (const cursor of forged) {
        for (const path of ['/api/follow-ups', `/api/contacts/${c1}/follow-ups`]) {
          const res = await get(`${path}?cursor=${encodeURIComponent(cursor)}`, o.admin.apiKey);
          answers.push({ path: `${path} ${Buffer.from(cursor, 'base64url').toString()}`, status: res.status });
        }
      }
      expect(answers).toEqual(answers.map((x) => ({ ...x, status: 400 })));
    });

    it('should show an agent only the follow-ups of contacts assigned to them', async () => {
      expect(ids(await list(o.ana.apiKey))).toEqual(of('call1', 'sms1'));
      expect(ids(await list(o.bob.apiKey))).toEqual(of('call2', 'hook2', 'call2b'));
      // a filter cannot widen the view
      expect(ids(await list(o.ana.apiKey, { contactId: c2 }))).toEqual([]);
      // hook2 is Ana's own, but on Bob's contact: still not hers to see
      expect(ids(await list(o.ana.apiKey, { agentId: o.ana.id }))).toEqual(of('call1', 'sms1'));
      expect(ids(await list(o.ana.apiKey, { agentId: o.bob.id }))).toEqual([]);
      // a supervisor sees them all
      expect(ids(await list(o.supervisor.apiKey))).toEqual(of('call1', 'sms1', 'call2', 'hook2', 'call2b'));
    });
  });

  describe('visibility (SPEC §9)', () => {
    it("should answer 404 for another org's contact and follow-up, on GET and on every action, and change nothing", async () => {
      const b = await setup();
      const contactId = await createContact(a.admin.apiKey, { assignedAgentId: a.ana.id });
      const f = await schedule(a.admin.apiKey, contactId, { scheduledAt: iso(DAY) });

      expectError(await post(`/api/contacts/${contactId}/follow-ups`, b.admin.apiKey, {}), 404);
      expectError(await get(`/api/contacts/${contactId}/follow-ups`, b.admin.apiKey), 404);
      expectError(await get(`/api/follow-ups/${f.id}`, b.admin.apiKey), 404);
      for (const action of ACTIONS) expectError(await act(f.id, action, b.admin.apiKey), 404);
      expect((await list(b.admin.apiKey, { contactId })).followUps).toEqual([]);
      expect((await list(b.admin.apiKey)).followUps.map((x) => x.id)).not.toContain(f.id);

      expect(await followUp(f.id, a.admin.apiKey)).toEqual(f);
      expect((await card(contactId, a.admin.apiKey)).followUps.map((x) => x.id)).toEqual([f.id]);
    });

    it('should answer 404 to an agent for a follow-up of a contact not assigned to them, on GET and on every action', async () => {
      const mine = await createContact(a.admin.apiKey, { assignedAgentId: a.ana.id });
      const theirs = await createContact(a.admin.apiKey, { assignedAgentId: a.bob.id });
      const unassigned = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, theirs, { scheduledAt: iso(DAY), agentId: a.ana.id });
      const g = await schedule(a.admin.apiKey, unassigned, { scheduledAt: iso(DAY) });

      for (const id of [f.id, g.id]) {
        expectError(await get(`/api/follow-ups/${id}`, a.ana.apiKey), 404);
        for (const action of ACTIONS) expectError(await act(id, action, a.ana.apiKey), 404);
      }
      expectError(await post(`/api/contacts/${theirs}/follow-ups`, a.ana.apiKey, {}), 404);
      expectError(await get(`/api/contacts/${theirs}/follow-ups`, a.ana.apiKey), 404);
      expect(await followUp(f.id, a.admin.apiKey)).toEqual(f);
      expect(await followUp(g.id, a.admin.apiKey)).toEqual(g);

      // on their own contact the agent schedules, reads and acts
      const own = await schedule(a.ana.apiKey, mine, { scheduledAt: iso(DAY) });
      expect(await followUp(own.id, a.ana.apiKey)).toEqual(own);
      const snoozed = await act(own.id, 'snooze', a.ana.apiKey);
      expect(snoozed.status).toBe(200);
      expect(snoozed.body.status).toBe('snoozed');
    });

    it('should answer 404 for a follow-up id that is unknown or not a uuid', async () => {
      expectError(await get(`/api/follow-ups/${randomUUID()}`, a.admin.apiKey), 404);
      expectError(await get('/api/follow-ups/not-a-uuid', a.admin.apiKey), 404);
      for (const action of ACTIONS) expectError(await act(randomUUID(), action, a.admin.apiKey), 404);
    });
  });

  describe('Idempotency-Key on scheduling', () => {
    const scheduleWithKey = (key: string, contactId: string, idempotencyKey: string, body: Record<string, unknown> = {}) =>
      t.http().post(`/api/contacts/${contactId}/follow-ups`).set('Authorization', `Bearer ${key}`).set('Idempotency-Key', idempotencyKey).send(body);

    it('should schedule one follow-up however often, and however concurrently, a request with the same key is retried', async () => {
      const o = await setup();
      const contactId = await createContact(o.admin.apiKey);
      const body = { type: 'sms', message: 'Your quote is ready', scheduledAt: iso(DAY) };
      const first = await scheduleWithKey(o.admin.apiKey, contactId, 'import-row-17', body);
      expect(first.status).toBe(201);
      const retries = await Promise.all([1, 2, 3].map(() => scheduleWithKey(o.admin.apiKey, contactId, 'import-row-17', body)));
      // each retry answers what the first request scheduled, as it is now
      for (const r of retries) expect({ status: r.status, body: r.body }).toEqual({ status: 201, body: first.body });
      expect((await card(contactId, o.admin.apiKey)).followUps.map((f) => f.id)).toEqual([first.body.id]);
      // another key is another follow-up; the same key for another contact too
      const other = await scheduleWithKey(o.admin.apiKey, contactId, 'import-row-18', body);
      const elsewhere = await createContact(o.admin.apiKey);
      const sameKeyElsewhere = await scheduleWithKey(o.admin.apiKey, elsewhere, 'import-row-17', body);
      expect([other.status, sameKeyElsewhere.status]).toEqual([201, 201]);
      expect(new Set([first.body.id, other.body.id, sameKeyElsewhere.body.id]).size).toBe(3);
      expect((await card(contactId, o.admin.apiKey)).followUps).toHaveLength(2);
      expect((await card(elsewhere, o.admin.apiKey)).followUps.map((f) => f.id)).toEqual([sameKeyElsewhere.body.id]);
    });

    it('should answer 400 naming Idempotency-Key for a key that is empty, too long or not printable ASCII, and schedule nothing', async () => {
      const o = await setup();
      const contactId = await createContact(o.admin.apiKey);
      for (const bad of [' ', 'k'.repeat(256), 'clé-17']) {
        const res = await scheduleWithKey(o.admin.apiKey, contactId, bad, {});
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(['Idempotency-Key']);
      }
      expect((await card(contactId, o.admin.apiKey)).followUps).toEqual([]);
    });

    it('should name a bad Idempotency-Key beside the bad fields of the body in one 400 (SPEC §9), and schedule nothing', async () => {
      const o = await setup();
      const contactId = await createContact(o.admin.apiKey);
      const res = await scheduleWithKey(o.admin.apiKey, contactId, ' ', { scheduledAt: iso(DAY).slice(0, 10), priority: 'x' });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['Idempotency-Key', 'priority', 'scheduledAt']);
      expect((await card(contactId, o.admin.apiKey)).followUps).toEqual([]);
    });
  });

  describe('actions (SPEC §5)', () => {
    it('should snooze by snoozeDays, reschedule, cancel with a reason and complete, each answering the follow-up with 200', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, { scheduledAt: iso(DAY) });

      const before = Date.now();
      const snoozed = await act(f.id, 'snooze', a.admin.apiKey);
      expect(snoozed.status).toBe(200);
      expect(snoozed.body).toMatchObject({ id: f.id, status: 'snoozed', attempts: 0 });
      // default snoozeDays: 3
      expect(Date.parse(snoozed.body.scheduledAt)).toBeGreaterThanOrEqual(before + 3 * DAY - 1000);
      expect(Date.parse(snoozed.body.scheduledAt)).toBeLessThanOrEqual(Date.now() + 3 * DAY + 1000);
      expect(snoozed.body.nextAttemptAt).toBe(snoozed.body.scheduledAt);

      const when = '2032-01-02T03:04:05.000Z';
      const rescheduled = await act(f.id, 'reschedule', a.admin.apiKey, { scheduledAt: when });
      expect(rescheduled.status).toBe(200);
      expect(rescheduled.body).toMatchObject({ id: f.id, status: 'scheduled', scheduledAt: when, nextAttemptAt: when });

      const cancelled = await act(f.id, 'cancel', a.admin.apiKey, { reason: 'lead asked us to stop' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ id: f.id, status: 'cancelled' });
      expect(cancelled.body.resolvedAt).not.toBeNull();

      const g = await schedule(a.admin.apiKey, contactId, { scheduledAt: iso(DAY) });
      const completed = await act(g.id, 'complete', a.admin.apiKey);
      expect(completed.status).toBe(200);
      expect(completed.body).toMatchObject({ id: g.id, status: 'completed' });
      expect(completed.body.resolvedAt).not.toBeNull();
    });

    it('should show a follow-up whose snooze ended out of the calling window as scheduled, due at the same time, not as snoozed', async () => {
      const o = await setup();
      const contactId = await createContact(o.admin.apiKey);
      const f = await schedule(o.admin.apiKey, contactId, { scheduledAt: iso(DAY) });
      const snoozed = (await act(f.id, 'snooze', o.admin.apiKey)).body as FollowUp;
      expect(snoozed.status).toBe('snoozed');
      // What the worker appends when the snooze's end falls outside the window (the decision is unit-tested in
      // follow-up.decider.spec.ts): the next attempt moves to the window's opening.
      const opening = new Date(Date.parse(snoozed.scheduledAt) + 10 * HOUR).toISOString();
      const streamId = `contact-${contactId}`;
      const { rows } = await t.db.query<{ version: string }>('SELECT max(stream_version) AS version FROM events WHERE stream_id = $1', [streamId]);
      await t.app.get(EventStore).append(
        streamId,
        [{ type: FollowUpDeferred, data: { followUpId: f.id, contactId, reason: 'out_of_window', nextAttemptAt: opening, schedule: 3 } }],
        { expectedVersion: Number(rows[0].version), metadata: { orgId: o.org.orgId, actorId: null, occurredAt: new Date().toISOString() } },
      );
      expect(await followUp(f.id, o.admin.apiKey)).toMatchObject({ status: 'scheduled', scheduledAt: snoozed.scheduledAt, nextAttemptAt: opening });
      const listed = await get(`/api/follow-ups?status=snoozed&contactId=${contactId}`, o.admin.apiKey);
      expect(listed.body.followUps).toEqual([]);
    });

    it('should use the org’s snoozeDays', async () => {
      const o = await setup({ snoozeDays: 5 });
      const contactId = await createContact(o.admin.apiKey);
      const f = await schedule(o.admin.apiKey, contactId, {});
      const before = Date.now();
      const res = await act(f.id, 'snooze', o.admin.apiKey);
      expect(res.status).toBe(200);
      expect(Date.parse(res.body.scheduledAt)).toBeGreaterThanOrEqual(before + 5 * DAY - 1000);
      expect(Date.parse(res.body.scheduledAt)).toBeLessThanOrEqual(Date.now() + 5 * DAY + 1000);
    });

    it("should snooze to the same wall-clock time where the contact is, across a DST change, not 72 hours on", async () => {
      const o = await setup();
      const contactId = await createContact(o.admin.apiKey, { timezone: 'America/New_York' });
      const f = await schedule(o.admin.apiKey, contactId, { scheduledAt: '2026-03-06T20:00:00Z' });
      const clock = t.app.get(Clock);
      clock.now = () => new Date('2026-03-07T01:30:00Z'); // Friday 20:30 EST; the clocks go forward on Sunday
      try {
        const res = await act(f.id, 'snooze', o.admin.apiKey);
        expect(res.status).toBe(200);
        // Monday 20:30 EDT: 72 hours would be 21:30, past the default window's end, and the call would wait for Tuesday.
        // (The due time only: in real time the snooze ended long ago, so a worker may be running it already.)
        expect(res.body.scheduledAt).toBe('2026-03-10T00:30:00.000Z');
      } finally {
        delete (clock as Partial<Clock>).now; // the prototype's again
      }
    });

    it('should refuse with 409 a snooze that would bring a follow-up forward, and leave it as it was', async () => {
      // a callback the lead asked for in a month: snoozing it must not make it due in three days
      const o = await setup();
      const contactId = await createContact(o.admin.apiKey);
      const f = await schedule(o.admin.apiKey, contactId, { scheduledAt: iso(30 * DAY) });
      const res = await act(f.id, 'snooze', o.admin.apiKey);
      expectError(res, 409, 'Conflict');
      expect(res.body.message).toContain(`is due at ${f.scheduledAt}, after a snooze would end`);
      expect(await followUp(f.id, o.admin.apiKey)).toEqual(f);
      // a reschedule moves it
      expect((await act(f.id, 'reschedule', o.admin.apiKey, { scheduledAt: iso(3 * DAY) })).status).toBe(200);
    });

    it.each([
      ['no scheduledAt', {}],
      ['a scheduledAt that is not ISO-8601', { scheduledAt: 'next week' }],
      ['a scheduledAt in the year 10000 UTC (a 500 before)', { scheduledAt: '9999-12-31T23:30:00-05:00' }],
    ])('should refuse a reschedule with %s with a 400 naming scheduledAt', async (_what, body) => {
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, {});
      const res = await post(`/api/follow-ups/${f.id}/reschedule`, a.admin.apiKey, body);
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['scheduledAt']);
      expect(await followUp(f.id, a.admin.apiKey)).toEqual(f);
    });

    it('should refuse a reschedule with an unknown field and a scheduledAt the domain refuses (a date without a time) in one 400 naming both', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, {});
      const res = await post(`/api/follow-ups/${f.id}/reschedule`, a.admin.apiKey, { scheduledAt: iso(2 * DAY).slice(0, 10), days: 2 });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['days', 'scheduledAt']);
      expect(await followUp(f.id, a.admin.apiKey)).toEqual(f);
    });

    it('should refuse a cancel reason that is not a string with a 400 naming reason', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, {});
      const res = await post(`/api/follow-ups/${f.id}/cancel`, a.admin.apiKey, { reason: 42 });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['reason']);
      expect((await followUp(f.id, a.admin.apiKey)).status).toBe('scheduled');
    });

    it.each(['snooze', 'complete'] as const)('should refuse a field sent to %s with a 400 naming it, and take no body or an empty one', async (action) => {
      // {"days": 2} was taken and ignored: the client believed it had snoozed for two days
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, {});
      const res = await post(`/api/follow-ups/${f.id}/${action}`, a.admin.apiKey, { days: 2 });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['days']);
      expect(await followUp(f.id, a.admin.apiKey)).toEqual(f);
      const bare = await t.http().post(`/api/follow-ups/${f.id}/${action}`).set('Authorization', `Bearer ${a.admin.apiKey}`);
      expect(bare.status).toBe(200);
      const g = await schedule(a.admin.apiKey, contactId, {});
      expect((await post(`/api/follow-ups/${g.id}/${action}`, a.admin.apiKey, {})).status).toBe(200);
    });
  });

  describe('illegal transitions (409 naming the current status)', () => {
    it('should refuse every action on a completed follow-up, e.g. snooze', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, { scheduledAt: iso(DAY) });
      expect((await act(f.id, 'complete', a.admin.apiKey)).status).toBe(200);
      const done = await followUp(f.id, a.admin.apiKey);
      for (const action of ACTIONS) {
        const res = await act(f.id, action, a.admin.apiKey);
        expectError(res, 409);
        expect(res.body.message).toMatch(/\bcompleted\b/);
      }
      expect(await followUp(f.id, a.admin.apiKey)).toEqual(done);
    });

    it('should refuse to cancel a cancelled follow-up', async () => {
      const contactId = await createContact(a.admin.apiKey);
      const f = await schedule(a.admin.apiKey, contactId, { scheduledAt: iso(DAY) });
      expect((await act(f.id, 'cancel', a.admin.apiKey)).status).toBe(200);
      for (const action of ACTIONS) {
        const res = await act(f.id, action, a.admin.apiKey);
        expectError(res, 409);
        expect(res.body.message).toMatch(/\bcancelled\b/);
      }
      expect((await followUp(f.id, a.admin.apiKey)).status).toBe('cancelled');
    });

    it('should expire a follow-up once today is more than expireAfterDays calendar days past its due date, not N × 24 h after it', async () => {
      // The org's zone is the fixed offset that puts now near local noon (Etc/GMT-N is UTC+N): its midnight, where
      // "today" turns and the follow-up due yesterday 00:01 would expire too, is 11 h or more from any moment of the test.
      // In UTC the test failed when it ran across midnight UTC.
      const offset = 12 - new Date().getUTCHours(); // -11 … +12 hours
      const timezone = offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
      const o = await setup({ expireAfterDays: 1, timezone });
      const contactId = await createContact(o.admin.apiKey);
      const local = new Date(Date.now() + offset * HOUR); // the org's wall clock, read as if it were UTC
      const today = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) - offset * HOUR; // its local midnight
      // due yesterday at 00:01: more than 24 h ago (past 00:01 today), but overdue by 1 day only until tonight
      const stays = await schedule(o.admin.apiKey, contactId, { scheduledAt: new Date(today - DAY + 60_000).toISOString() });
      // due the day before at 23:59: overdue by 2 days, though less than 48 h ago
      const goes = await schedule(o.admin.apiKey, contactId, { scheduledAt: new Date(today - DAY - 60_000).toISOString() });
      await eventually(async () => expect((await followUp(goes.id, o.admin.apiKey)).status).toBe('expired'), 15_000);
      await new Promise((r) => setTimeout(r, 1000)); // several more runs of the periodic job (every 300 ms here)
      expect(['scheduled', 'queued']).toContain((await followUp(stays.id, o.admin.apiKey)).status); // open: the worker may have run it
    });

    it("should go on expiring other orgs' follow-ups when one org's timezone is unknown, and leave that org's open", async () => {
      // Settings validate the zone with Node's ICU, but a zone PostgreSQL's tzdata lacks, or one written past the
      // validation as this one is (with SQL), still reaches the job. Until 2026-12-07 the job's one query raised "time
      // zone not recognized" for it and no org's follow-up expired any more.
      const bad = await setup({ expireAfterDays: 30 });
      const badContact = await createContact(bad.admin.apiKey);
      const stuck = await schedule(bad.admin.apiKey, badContact, { type: 'call', scheduledAt: iso(-3 * DAY) });
      await eventually(async () => expect((await followUp(stuck.id, bad.admin.apiKey)).status).toBe('queued'), 15_000);
      const statusOf = async (id: string) => (await t.db.query<{ status: string }>('SELECT status FROM follow_ups WHERE id = $1', [id])).rows[0].status;
      await t.db.query(`UPDATE org_settings SET settings = settings || '{"timezone": "Mars/Olympus_Mons", "expireAfterDays": 1}' WHERE org_id = $1`, [
        bad.org.orgId,
      ]);
      try {
        const o = await setup({ expireAfterDays: 1 });
        const contactId = await createContact(o.admin.apiKey);
        const f = await schedule(o.admin.apiKey, contactId, { type: 'call', scheduledAt: iso(-2 * DAY) });
        await eventually(async () => expect((await followUp(f.id, o.admin.apiKey)).status).toBe('expired'), 15_000);
        expect(await statusOf(stuck.id)).toBe('queued'); // overdue by 3 days, but on no day the job can tell
      } finally {
        await t.db.query(`UPDATE org_settings SET settings = settings || '{"timezone": "UTC", "expireAfterDays": 30}' WHERE org_id = $1`, [bad.org.orgId]);
      }
    });

    it('should go on expiring the follow-ups after one it cannot write', async () => {
      const o = await setup({ expireAfterDays: 1 });
      const contactId = await createContact(o.admin.apiKey);
      const f = await schedule(o.admin.apiKey, contactId, { type: 'call', scheduledAt: iso(-2 * DAY) });
      // A row the event log does not know, first in the job's order (by id): writing its expiry fails every run.
      const poison = '00000000-0000-4000-8000-000000000001';
      await t.db.query(
        `INSERT INTO follow_ups SELECT (jsonb_populate_record(f, jsonb_build_object('id', $2::uuid, 'resolved', false))).* FROM follow_ups f WHERE f.id = $1`,
        [f.id, poison],
      );
      try {
        await eventually(async () => expect((await followUp(f.id, o.admin.apiKey)).status).toBe('expired'), 15_000);
      } finally {
        await t.db.query('DELETE FROM follow_ups WHERE id = $1', [poison]);
      }
    });

    it('should refuse to reschedule an expired follow-up', async () => {
      const o = await setup({ expireAfterDays: 1 });
      const contactId = await createContact(o.admin.apiKey);
      // overdue for two days, longer than expireAfterDays: the periodic job (every 300 ms here) expires it
      const f = await schedule(o.admin.apiKey, contactId, { type: 'call', scheduledAt: iso(-2 * DAY) });
      const expired = await eventually(async () => {
        const x = await followUp(f.id, o.admin.apiKey);
        expect(x.status).toBe('expired');
        return x;
      }, 15_000);
      expect(expired.resolvedAt).not.toBeNull();
      for (const action of ACTIONS) {
        const res = await act(f.id, action, o.admin.apiKey, action === 'reschedule' ? { scheduledAt: iso(DAY) } : {});
        expectError(res, 409);
        expect(res.body.message).toMatch(/\bexpired\b/);
      }
      expect(await followUp(f.id, o.admin.apiKey)).toEqual(expired);
    });
  });
});

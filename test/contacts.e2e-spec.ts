import { randomUUID } from 'node:crypto';
import { ContactUpdated, contactStream } from '@app/contacts';
import { EventStore } from '@app/event-store';
import { expectError, fieldsNamed, installNo5xxGuard, recordingClient, startTestApp, TestApp } from '@app/testing';

type Entry = { at: string; kind: string; actorId: string | null; data: Record<string, unknown>; version: number };
type Contact = {
  id: string;
  name: string;
  phone: string;
  timezone: string;
  timezoneFromOrg: boolean;
  leadQuality: string;
  leadStatus: string;
  assignedAgentId: string | null;
  tags: string[];
  campaignId: string | null;
  status: string;
  nextFollowUpAt: string | null;
  lastCallAt: string | null;
  createdAt: string;
  updatedAt: string;
};

describe('contacts (SPEC §2, §9)', () => {
  let t: TestApp;
  /** Every response of the current test, to prove none was a 500 (SPEC §9). */
  const client = recordingClient(() => t);
  installNo5xxGuard(client);

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  const { get, post, patch } = client;

  let phoneSeq = 1000;
  const nextPhone = () => `+1415555${String(phoneSeq++).padStart(4, '0')}`;

  /** An org with an admin, a supervisor and two agents. */
  const setup = async (timezone = 'UTC') => {
    const org = await t.createOrg('Org', timezone);
    const admin = { id: org.adminUserId, apiKey: org.adminKey };
    const supervisor = await t.createUser(org.adminKey, { name: 'Sue', role: 'supervisor' });
    const ana = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    const bob = await t.createUser(org.adminKey, { name: 'Bob', role: 'agent' });
    return { org, admin, supervisor, ana, bob };
  };

  const createContact = async (key: string, body: Record<string, unknown> = {}): Promise<Contact> => {
    const res = await post('/api/contacts', key, { name: 'Sarah Lee', phone: nextPhone(), ...body });
    expect(res.status).toBe(201);
    return res.body;
  };

  const timeline = async (id: string, key: string): Promise<Entry[]> => {
    const res = await get(`/api/contacts/${id}/timeline`, key);
    expect(res.status).toBe(200);
    return res.body.entries;
  };

  const listIds = async (key: string, query = ''): Promise<string[]> => {
    const res = await get(`/api/contacts${query}`, key);
    expect(res.status).toBe(200);
    return res.body.contacts.map((c: Contact) => c.id);
  };

  describe('create, get, patch', () => {
    it("should create a New, ACTIVE, WARM contact in the org's timezone when only name and phone are given", async () => {
      const { admin } = await setup('Europe/Madrid');
      const res = await post('/api/contacts', admin.apiKey, { name: ' Sarah Lee ', phone: '+14155550123' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'Sarah Lee',
        phone: '+14155550123',
        timezone: 'Europe/Madrid',
        timezoneFromOrg: true,
        leadQuality: 'WARM',
        leadStatus: 'New',
        assignedAgentId: null,
        tags: [],
        campaignId: null,
        status: 'ACTIVE',
        nextFollowUpAt: null,
        lastCallAt: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const got = await get(`/api/contacts/${res.body.id}`, admin.apiKey);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(res.body);
    });

    it('should keep the given fields, with tags trimmed and once each, when they are all given', async () => {
      const { admin, ana } = await setup();
      const campaign = await post('/api/campaigns', admin.apiKey, { name: 'Spring' });
      expect(campaign.status).toBe(201);
      const c = await createContact(admin.apiKey, {
        name: 'Tom Hart',
        phone: '+442071838750',
        timezone: 'Europe/London',
        leadQuality: 'HOT',
        assignedAgentId: ana.id,
        tags: [' vip ', 'vip', 'b2b'],
        campaignId: campaign.body.id,
      });
      expect(c).toMatchObject({
        name: 'Tom Hart',
        phone: '+442071838750',
        timezone: 'Europe/London',
        leadQuality: 'HOT',
        leadStatus: 'New',
        assignedAgentId: ana.id,
        tags: ['vip', 'b2b'],
        campaignId: campaign.body.id,
        status: 'ACTIVE',
      });
    });

    it('should assign the contact to the agent when an agent creates it', async () => {
      const { ana } = await setup();
      const c = await createContact(ana.apiKey);
      expect(c.assignedAgentId).toBe(ana.id);
      expect((await get(`/api/contacts/${c.id}`, ana.apiKey)).status).toBe(200);
    });

    it('should answer 403 when an agent creates a contact assigned to another agent', async () => {
      const { admin, ana, bob } = await setup();
      const res = await post('/api/contacts', ana.apiKey, { name: 'X', phone: nextPhone(), assignedAgentId: bob.id });
      expectError(res, 403);
      expect(await listIds(admin.apiKey)).toEqual([]);
    });

    it('should change only the given fields when a contact is patched', async () => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey, { name: 'Sarah Lee', tags: ['vip'] });
      const res = await patch(`/api/contacts/${c.id}`, admin.apiKey, { name: 'Sarah Lee-Park', phone: '+14155559999', tags: ['b2b'], timezone: 'Asia/Tokyo' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...c, name: 'Sarah Lee-Park', phone: '+14155559999', tags: ['b2b'], timezone: 'Asia/Tokyo', timezoneFromOrg: false, updatedAt: expect.any(String) });
      expect((await get(`/api/contacts/${c.id}`, admin.apiKey)).body).toEqual(res.body);
    });

    it('should record nothing when a patch changes nothing', async () => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey, { leadQuality: 'COLD' });
      const before = await timeline(c.id, admin.apiKey);
      const res = await patch(`/api/contacts/${c.id}`, admin.apiKey, { name: c.name, leadQuality: 'COLD', status: 'ACTIVE' });
      expect(res.status).toBe(200);
      expect(await timeline(c.id, admin.apiKey)).toEqual(before);
    });

    it('should answer 404 when the contact does not exist or the id is not a uuid', async () => {
      const { admin } = await setup();
      expectError(await get(`/api/contacts/${randomUUID()}`, admin.apiKey), 404);
      expectError(await get('/api/contacts/not-a-uuid', admin.apiKey), 404);
      expectError(await patch(`/api/contacts/${randomUUID()}`, admin.apiKey, { name: 'X' }), 404);
    });
  });

  describe("timezone (SPEC §2: default, the org's)", () => {
    const setOrgTimezone = async (key: string, timezone: string) => expect((await patch('/api/settings', key, { timezone })).status).toBe(200);
    const zoneOf = async (id: string, key: string) => {
      const { timezone, timezoneFromOrg } = (await get(`/api/contacts/${id}`, key)).body as Contact;
      return { timezone, timezoneFromOrg };
    };

    it("should answer the org's current timezone for a contact created without one, after the admin changes the org's", async () => {
      const { admin } = await setup('UTC');
      const imported = await createContact(admin.apiKey, { name: 'Imported' });
      expect(imported).toMatchObject({ timezone: 'UTC', timezoneFromOrg: true });

      await setOrgTimezone(admin.apiKey, 'America/Los_Angeles');
      expect(await zoneOf(imported.id, admin.apiKey)).toEqual({ timezone: 'America/Los_Angeles', timezoneFromOrg: true });
      // the list and its search answer the same
      const listed = (await get('/api/contacts', admin.apiKey)).body.contacts as Contact[];
      const searched = (await get('/api/contacts?q=Imported', admin.apiKey)).body.contacts as Contact[];
      for (const c of [...listed, ...searched]) expect(c).toMatchObject({ id: imported.id, timezone: 'America/Los_Angeles', timezoneFromOrg: true });
      expect(listed).toHaveLength(1);
      expect(searched).toHaveLength(1);
    });

    it('should take a contact sent back whole with a zone stored before only IANA names were, and refuse a new such zone', async () => {
      const { admin, org } = await setup('UTC');
      const c = await createContact(admin.apiKey);
      // what an earlier version stored: an abbreviation Intl reads (IST: Asia/Kolkata)
      const store = t.app.get(EventStore);
      const version = (await store.readStream(org.orgId, contactStream(c.id))).length;
      const metadata = { orgId: org.orgId, actorId: null, occurredAt: new Date().toISOString() };
      await store.append(contactStream(c.id), [{ type: ContactUpdated, data: { contactId: c.id, changes: { timezone: 'IST' } } }], { expectedVersion: version, metadata });
      const res = await patch(`/api/contacts/${c.id}`, admin.apiKey, { name: 'Sarah Lee-Park', phone: c.phone, timezone: 'IST', tags: c.tags });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'Sarah Lee-Park' });
      const bst = await patch(`/api/contacts/${c.id}`, admin.apiKey, { timezone: 'BST' });
      expectError(bst, 400);
      expect(fieldsNamed(bst)).toEqual(['timezone']);
    });

    it("should keep a contact's own timezone when the org's changes", async () => {
      const { admin } = await setup('UTC');
      const own = await createContact(admin.apiKey, { timezone: 'Asia/Tokyo' });
      const follows = await createContact(admin.apiKey);
      expect(own).toMatchObject({ timezone: 'Asia/Tokyo', timezoneFromOrg: false });

      await setOrgTimezone(admin.apiKey, 'America/Los_Angeles');
      expect(await zoneOf(own.id, admin.apiKey)).toEqual({ timezone: 'Asia/Tokyo', timezoneFromOrg: false });
      const listed = (await get('/api/contacts', admin.apiKey)).body.contacts as Contact[];
      expect(listed.map(({ id, timezone, timezoneFromOrg }) => ({ id, timezone, timezoneFromOrg }))).toEqual([
        { id: own.id, timezone: 'Asia/Tokyo', timezoneFromOrg: false },
        { id: follows.id, timezone: 'America/Los_Angeles', timezoneFromOrg: true },
      ]);
    });

    it("should make a contact follow the org's timezone again when it is patched to null, and record that once", async () => {
      const { admin } = await setup('UTC');
      const c = await createContact(admin.apiKey, { timezone: 'Asia/Tokyo' });
      await setOrgTimezone(admin.apiKey, 'America/Los_Angeles');

      const res = await patch(`/api/contacts/${c.id}`, admin.apiKey, { timezone: null });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ timezone: 'America/Los_Angeles', timezoneFromOrg: true });
      const [latest] = await timeline(c.id, admin.apiKey);
      expect(latest).toMatchObject({ kind: 'contact_updated', data: { changes: { timezone: null } } });

      // following it from then on
      await setOrgTimezone(admin.apiKey, 'Europe/Madrid');
      expect(await zoneOf(c.id, admin.apiKey)).toEqual({ timezone: 'Europe/Madrid', timezoneFromOrg: true });
      // null again changes nothing; a zone of its own again takes it off the org's
      const before = await timeline(c.id, admin.apiKey);
      expect((await patch(`/api/contacts/${c.id}`, admin.apiKey, { timezone: null })).status).toBe(200);
      expect(await timeline(c.id, admin.apiKey)).toEqual(before);
      expect((await patch(`/api/contacts/${c.id}`, admin.apiKey, { timezone: 'Asia/Tokyo' })).body).toMatchObject({ timezone: 'Asia/Tokyo', timezoneFromOrg: false });
    });
  });

  describe('timeline', () => {
    it('should show creation, assignment, quality and status changes as events, newest first, when a contact is changed', async () => {
      const { admin, supervisor, ana, bob } = await setup();
      const c = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      expect((await patch(`/api/contacts/${c.id}`, supervisor.apiKey, { assignedAgentId: bob.id })).status).toBe(200);
      expect((await patch(`/api/contacts/${c.id}`, admin.apiKey, { leadQuality: 'HOT' })).status).toBe(200);
      expect((await patch(`/api/contacts/${c.id}`, admin.apiKey, { status: 'ARCHIVED' })).status).toBe(200);
      expect((await patch(`/api/contacts/${c.id}`, admin.apiKey, { name: 'Sarah Park' })).status).toBe(200);

      const entries = await timeline(c.id, admin.apiKey);
      expect(entries.map((e) => e.kind)).toEqual(['contact_updated', 'contact_status_changed', 'lead_quality_changed', 'reassigned', 'contact_created']);
      expect(entries.map((e) => e.version)).toEqual([5, 4, 3, 2, 1]);
      expect(entries[0]).toMatchObject({ actorId: admin.id, data: { changes: { name: 'Sarah Park' } } });
      expect(entries[1]).toMatchObject({ actorId: admin.id, data: { from: 'ACTIVE', to: 'ARCHIVED' } });
      expect(entries[2]).toMatchObject({ actorId: admin.id, data: { from: 'WARM', to: 'HOT' } });
      expect(entries[3]).toMatchObject({ actorId: supervisor.id, data: { fromAgentId: ana.id, toAgentId: bob.id } });
      expect(entries[4]).toMatchObject({ actorId: admin.id, data: { name: 'Sarah Lee', assignedAgentId: ana.id } });
      for (const e of entries) expect(Number.isNaN(Date.parse(e.at))).toBe(false);
      const ats = entries.map((e) => e.at);
      expect([...ats].sort().reverse()).toEqual(ats);

      expect((await get(`/api/contacts/${c.id}`, admin.apiKey)).body).toMatchObject({ assignedAgentId: bob.id, leadQuality: 'HOT', status: 'ARCHIVED', name: 'Sarah Park' });
    });

    it('should record a manual lead status change with its cause when the lead status is patched', async () => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey);
      const res = await patch(`/api/contacts/${c.id}`, admin.apiKey, { leadStatus: 'Interested' });
      expect(res.status).toBe(200);
      expect(res.body.leadStatus).toBe('Interested');
      const [latest] = await timeline(c.id, admin.apiKey);
      expect(latest).toMatchObject({ kind: 'lead_status_changed', data: { from: 'New', to: 'Interested', cause: { kind: 'manual' } } });
    });

    it('should page the timeline by nextCursor without gaps or repeats when the limit is small', async () => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey);
      for (const q of ['HOT', 'COLD', 'NURTURE', 'WARM', 'HOT']) expect((await patch(`/api/contacts/${c.id}`, admin.apiKey, { leadQuality: q })).status).toBe(200);
      const versions: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`/api/contacts/${c.id}/timeline?limit=2${cursor ? `&cursor=${cursor}` : ''}`, admin.apiKey);
        expect(res.status).toBe(200);
        versions.push(...res.body.entries.map((e: Entry) => e.version));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(versions).toEqual([6, 5, 4, 3, 2, 1]);
      expect(pages).toBe(3);
    });
  });

  describe('notes', () => {
    it('should show a note on the timeline and change neither the lead status nor nextFollowUpAt when a note is added', async () => {
      const { admin, ana } = await setup();
      const c = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      const res = await post(`/api/contacts/${c.id}/notes`, ana.apiKey, { text: '  Decision-maker is the office manager.  ' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        contactId: c.id,
        kind: 'note',
        text: 'Decision-maker is the office manager.',
        authorId: ana.id,
        createdAt: expect.any(String),
        resolved: true,
      });
      const [latest] = await timeline(c.id, ana.apiKey);
      expect(latest).toMatchObject({ kind: 'note', actorId: ana.id, at: res.body.createdAt, data: { noteId: res.body.id, text: 'Decision-maker is the office manager.', authorId: ana.id } });
      const after = (await get(`/api/contacts/${c.id}`, ana.apiKey)).body;
      expect(after).toMatchObject({ leadStatus: 'New', nextFollowUpAt: null });
    });

    it('should keep a scheduled follow-up as the next one when a note is added after it', async () => {
      const { admin, ana } = await setup();
      const c = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      const scheduledAt = new Date(Date.now() + 3 * 86_400_000).toISOString();
      const call = await post('/api/calls', admin.apiKey, {
        callId: randomUUID(),
        contactId: c.id,
        agentId: ana.id,
        direction: 'outbound',
        status: 'Follow up',
        durationSec: 60,
        startedAt: new Date().toISOString(),
        followUp: { scheduledAt },
      });
      expect(call.status).toBe(201);
      const before = (await get(`/api/contacts/${c.id}`, ana.apiKey)).body;
      expect(before).toMatchObject({ leadStatus: 'Followups', nextFollowUpAt: scheduledAt });

      expect((await post(`/api/contacts/${c.id}/notes`, ana.apiKey, { text: 'call me later' })).status).toBe(201);
      const after = (await get(`/api/contacts/${c.id}`, ana.apiKey)).body;
      expect(after).toMatchObject({ leadStatus: 'Followups', nextFollowUpAt: scheduledAt });
    });

    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['missing', undefined],
    ])('should answer 400 naming text when the note text is %s', async (_, text) => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey);
      const res = await post(`/api/contacts/${c.id}/notes`, admin.apiKey, text === undefined ? {} : { text });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['text']);
      expect((await timeline(c.id, admin.apiKey)).map((e) => e.kind)).toEqual(['contact_created']);
    });
  });

  describe('Idempotency-Key on creating contacts and notes', () => {
    /** A POST with an Idempotency-Key, seen by the 5xx guard like every other request. */
    const postKeyed = async (path: string, key: string, idempotencyKey: string, body: Record<string, unknown>) => {
      const res = await t.http().post(path).set('Authorization', `Bearer ${key}`).set('Idempotency-Key', idempotencyKey).send(body);
      client.seen.push({ req: `POST ${path}`, status: res.status, body: res.body });
      return res;
    };
    const notesOf = async (contactId: string, key: string) => (await timeline(contactId, key)).filter((e) => e.kind === 'note');

    it('should create one contact however often, and however concurrently, a request with the same key is retried, answering it as it is now', async () => {
      const { admin } = await setup();
      const body = { name: 'Sarah Lee', phone: nextPhone(), tags: ['crm'] };
      const first = await postKeyed('/api/contacts', admin.apiKey, 'crm-lead-17', body);
      expect(first.status).toBe(201);
      const retries = await Promise.all([1, 2, 3].map(() => postKeyed('/api/contacts', admin.apiKey, 'crm-lead-17', body)));
      for (const r of retries) expect({ status: r.status, body: r.body }).toEqual({ status: 201, body: first.body });
      expect(await listIds(admin.apiKey)).toEqual([first.body.id]);
      expect((await timeline(first.body.id, admin.apiKey)).map((e) => e.kind)).toEqual(['contact_created']);

      // the contact as it is now, changed since, not as the request made it (another body: test/idempotency-key.e2e-spec.ts)
      expect((await patch(`/api/contacts/${first.body.id}`, admin.apiKey, { name: 'Sarah Lee-Park' })).status).toBe(200);
      const late = await postKeyed('/api/contacts', admin.apiKey, 'crm-lead-17', body);
      expect({ status: late.status, body: late.body }).toEqual({ status: 201, body: (await get(`/api/contacts/${first.body.id}`, admin.apiKey)).body });
      expect(late.body.name).toBe('Sarah Lee-Park');

      // another key is another contact
      const other = await postKeyed('/api/contacts', admin.apiKey, 'crm-lead-18', body);
      expect(other.status).toBe(201);
      expect((await listIds(admin.apiKey)).sort()).toEqual([first.body.id, other.body.id].sort());
    });

    it('should create one contact and answer it to both when two requests with the same key arrive at once', async () => {
      const { admin } = await setup();
      const body = { name: 'Sarah Lee', phone: nextPhone() };
      const both = await Promise.all([1, 2].map(() => postKeyed('/api/contacts', admin.apiKey, 'crm-lead-at-once', body)));
      expect(both.map((r) => r.status)).toEqual([201, 201]);
      expect(both[1].body).toEqual(both[0].body);
      expect(await listIds(admin.apiKey)).toEqual([both[0].body.id]);
    });

    it("should give another organization sending the same key its own contact, each org's retries answering its own", async () => {
      const { admin } = await setup();
      const other = await t.createOrg('Other org');
      const ourBody = { name: 'Ours', phone: nextPhone() };
      const theirBody = { name: 'Theirs', phone: nextPhone() };
      const ours = await postKeyed('/api/contacts', admin.apiKey, 'crm-lead-17', ourBody);
      const theirs = await postKeyed('/api/contacts', other.adminKey, 'crm-lead-17', theirBody);
      expect([ours.status, theirs.status]).toEqual([201, 201]);
      expect(theirs.body.id).not.toBe(ours.body.id);
      expect(JSON.stringify(theirs.body)).not.toContain('Ours');
      const [ourRetry, theirRetry] = await Promise.all([
        postKeyed('/api/contacts', admin.apiKey, 'crm-lead-17', ourBody),
        postKeyed('/api/contacts', other.adminKey, 'crm-lead-17', theirBody),
      ]);
      expect({ status: ourRetry.status, body: ourRetry.body }).toEqual({ status: 201, body: ours.body });
      expect({ status: theirRetry.status, body: theirRetry.body }).toEqual({ status: 201, body: theirs.body });
      expect(await listIds(admin.apiKey)).toEqual([ours.body.id]);
      expect(await listIds(other.adminKey)).toEqual([theirs.body.id]);
      expectError(await get(`/api/contacts/${ours.body.id}`, other.adminKey), 404);
    });

    it("should give another caller sending the same key a contact of its own, and answer 404 to an agent retrying a key whose contact was handed on", async () => {
      const { supervisor, admin, ana, bob } = await setup();
      const bobs = await postKeyed('/api/contacts', supervisor.apiKey, 'crm-lead-bob', { name: 'Bobs lead', phone: nextPhone(), assignedAgentId: bob.id });
      expect(bobs.status).toBe(201);
      // keys are each caller's own: two integrations keying by their CRM's record ids must not meet
      const anasOwn = await postKeyed('/api/contacts', ana.apiKey, 'crm-lead-bob', { name: 'Anas other lead', phone: nextPhone() });
      expect(anasOwn.status).toBe(201);
      expect(anasOwn.body).toMatchObject({ name: 'Anas other lead', assignedAgentId: ana.id });
      expect(JSON.stringify(anasOwn.body)).not.toContain('Bobs lead');
      expect((await listIds(admin.apiKey)).sort()).toEqual([bobs.body.id, anasOwn.body.id].sort());
      expect(await listIds(ana.apiKey)).toEqual([anasOwn.body.id]);
      expect((await get(`/api/contacts/${bobs.body.id}`, bob.apiKey)).body).toMatchObject({ name: 'Bobs lead', assignedAgentId: bob.id });

      // her own contact she may retry; once it is handed to Bob, no more
      const body = { name: 'Anas lead', phone: nextPhone() };
      const hers = await postKeyed('/api/contacts', ana.apiKey, 'crm-lead-ana', body);
      expect(hers.status).toBe(201);
      const again = await postKeyed('/api/contacts', ana.apiKey, 'crm-lead-ana', body);
      expect({ status: again.status, body: again.body }).toEqual({ status: 201, body: hers.body });
      expect((await patch(`/api/contacts/${hers.body.id}`, supervisor.apiKey, { assignedAgentId: bob.id })).status).toBe(200);
      const gone = await postKeyed('/api/contacts', ana.apiKey, 'crm-lead-ana', body);
      expectError(gone, 404);
      expect(JSON.stringify(gone.body)).not.toContain('Anas lead');
      expect((await listIds(admin.apiKey)).sort()).toEqual([bobs.body.id, anasOwn.body.id, hers.body.id].sort());
    });

    it('should add one note however often, and however concurrently, a request with the same key is retried, answering the first', async () => {
      const { admin, ana } = await setup();
      const c = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      const first = await postKeyed(`/api/contacts/${c.id}/notes`, ana.apiKey, 'note-17', { text: ' Call after 5 ' });
      expect(first.status).toBe(201);
      expect(first.body).toEqual({ id: expect.any(String), contactId: c.id, kind: 'note', text: 'Call after 5', authorId: ana.id, createdAt: expect.any(String), resolved: true });
      // (the same key with another text is a 422: test/idempotency-key.e2e-spec.ts)
      const retries = await Promise.all([1, 2].map(() => postKeyed(`/api/contacts/${c.id}/notes`, ana.apiKey, 'note-17', { text: ' Call after 5 ' })));
      for (const r of retries) expect({ status: r.status, body: r.body }).toEqual({ status: 201, body: first.body });
      expect((await notesOf(c.id, admin.apiKey)).map((e) => e.data.noteId)).toEqual([first.body.id]);
      // another user's same key is their own note
      const admins = await postKeyed(`/api/contacts/${c.id}/notes`, admin.apiKey, 'note-17', { text: 'Checked' });
      expect(admins.body).toMatchObject({ authorId: admin.id, text: 'Checked' });
      expect((await notesOf(c.id, admin.apiKey)).map((e) => e.data.noteId)).toEqual([admins.body.id, first.body.id]);

      // another key is another note; the same key on another contact, of this org or another, too
      const other = await postKeyed(`/api/contacts/${c.id}/notes`, ana.apiKey, 'note-18', { text: 'Call after 5' });
      const elsewhere = await createContact(admin.apiKey);
      const sameKeyElsewhere = await postKeyed(`/api/contacts/${elsewhere.id}/notes`, admin.apiKey, 'note-17', { text: 'Elsewhere' });
      const otherOrg = await t.createOrg('Other org');
      const theirContact = await createContact(otherOrg.adminKey);
      const theirs = await postKeyed(`/api/contacts/${theirContact.id}/notes`, otherOrg.adminKey, 'note-17', { text: 'Theirs' });
      expect([other.status, sameKeyElsewhere.status, theirs.status]).toEqual([201, 201, 201]);
      expect(new Set([first.body.id, other.body.id, sameKeyElsewhere.body.id, theirs.body.id]).size).toBe(4);
      expect(theirs.body).toMatchObject({ contactId: theirContact.id, text: 'Theirs' });
      expect((await notesOf(c.id, admin.apiKey)).map((e) => e.data.noteId)).toEqual([other.body.id, admins.body.id, first.body.id]);
      expect((await notesOf(elsewhere.id, admin.apiKey)).map((e) => e.data.text)).toEqual(['Elsewhere']);
      expect((await notesOf(theirContact.id, otherOrg.adminKey)).map((e) => e.data.text)).toEqual(['Theirs']);
    });

    it('should add one note and answer it to both when two requests with the same key arrive at once', async () => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey);
      const both = await Promise.all([1, 2].map(() => postKeyed(`/api/contacts/${c.id}/notes`, admin.apiKey, 'note-at-once', { text: 'Hi' })));
      expect(both.map((r) => r.status)).toEqual([201, 201]);
      expect(both[1].body).toEqual(both[0].body);
      expect((await notesOf(c.id, admin.apiKey)).map((e) => e.data.noteId)).toEqual([both[0].body.id]);
    });

    it('should answer 400 naming Idempotency-Key for a key that is blank, too long or not printable ASCII, and create nothing', async () => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey);
      for (const bad of [' ', 'k'.repeat(256), 'clé-17']) {
        const contact = await postKeyed('/api/contacts', admin.apiKey, bad, { name: 'Sarah Lee', phone: nextPhone() });
        expectError(contact, 400);
        expect(fieldsNamed(contact)).toEqual(['Idempotency-Key']);
        const note = await postKeyed(`/api/contacts/${c.id}/notes`, admin.apiKey, bad, { text: 'Hi' });
        expectError(note, 400);
        expect(fieldsNamed(note)).toEqual(['Idempotency-Key']);
      }
      expect(await listIds(admin.apiKey)).toEqual([c.id]);
      expect((await timeline(c.id, admin.apiKey)).map((e) => e.kind)).toEqual(['contact_created']);
    });

    it('should name a bad Idempotency-Key beside the bad fields of the body in one 400 (SPEC §9), and create nothing', async () => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey);
      const contact = await postKeyed('/api/contacts', admin.apiKey, ' ', { name: '  ', phone: '555' });
      expectError(contact, 400);
      expect(fieldsNamed(contact)).toEqual(['Idempotency-Key', 'name', 'phone']);
      const note = await postKeyed(`/api/contacts/${c.id}/notes`, admin.apiKey, 'clé-17', { text: ' ', pinned: true });
      expectError(note, 400);
      expect(fieldsNamed(note)).toEqual(['Idempotency-Key', 'pinned', 'text']);
      expect(await listIds(admin.apiKey)).toEqual([c.id]);
      expect((await timeline(c.id, admin.apiKey)).map((e) => e.kind)).toEqual(['contact_created']);
    });
  });

  describe('bad input', () => {
    const otherOrgAgent = async () => {
      const other = await t.createOrg('Other org');
      return t.createUser(other.adminKey, { name: 'Olga', role: 'agent' });
    };

    it.each([
      ['phone', { phone: '415-555-0100' }],
      ['phone', { phone: '+0123456789' }],
      ['timezone', { timezone: 'Mars/Olympus' }],
      // Intl reads BST as Asia/Dhaka (Java's old id), not British Summer Time: not an IANA name
      ['timezone', { timezone: 'BST' }],
      ['leadQuality', { leadQuality: 'SCORCHING' }],
      ['leadQuality', { leadQuality: 'hot' }],
      ['name', { name: '' }],
      ['tags', { tags: 'vip' }],
      ['nickname', { nickname: 'Sal' }],
    ])('should answer 400 naming %s and create nothing when a contact is created with %j', async (field, bad) => {
      const { admin } = await setup();
      const res = await post('/api/contacts', admin.apiKey, { name: 'Sarah Lee', phone: nextPhone(), ...bad });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual([field]);
      expect(await listIds(admin.apiKey)).toEqual([]);
    });

    it('should answer 400 naming assignedAgentId when a contact is created for an agent of another organization', async () => {
      const { admin } = await setup();
      const olga = await otherOrgAgent();
      const res = await post('/api/contacts', admin.apiKey, { name: 'Sarah Lee', phone: nextPhone(), assignedAgentId: olga.id });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['assignedAgentId']);
      expect(await listIds(admin.apiKey)).toEqual([]);
    });

    it('should answer 400 naming assignedAgentId when a contact is created for an unknown user', async () => {
      const { admin } = await setup();
      const res = await post('/api/contacts', admin.apiKey, { name: 'Sarah Lee', phone: nextPhone(), assignedAgentId: randomUUID() });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['assignedAgentId']);
    });

    it('should answer 400 naming campaignId when a contact is created in a campaign of another organization', async () => {
      const { admin } = await setup();
      const other = await t.createOrg('Other org');
      const campaign = await post('/api/campaigns', other.adminKey, { name: 'Theirs' });
      expect(campaign.status).toBe(201);
      const res = await post('/api/contacts', admin.apiKey, { name: 'Sarah Lee', phone: nextPhone(), campaignId: campaign.body.id });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['campaignId']);
    });

    it.each([
      ['phone', { phone: '555' }],
      ['timezone', { timezone: 'Europe/Atlantis' }],
      ['timezone', { timezone: 'IST' }],
      ['leadQuality', { leadQuality: 'LUKEWARM' }],
      ['leadStatus', { leadStatus: 'Maybe' }],
      ['status', { status: 'DELETED' }],
      ['nickname', { nickname: 'Sal' }],
    ])('should answer 400 naming %s and change nothing when a contact is patched with %j', async (field, bad) => {
      const { admin } = await setup();
      const c = await createContact(admin.apiKey);
      const res = await patch(`/api/contacts/${c.id}`, admin.apiKey, bad);
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual([field]);
      expect((await get(`/api/contacts/${c.id}`, admin.apiKey)).body).toEqual(c);
    });

    it('should answer 400 naming assignedAgentId and keep the agent when a contact is patched to an agent of another organization', async () => {
      const { admin, ana } = await setup();
      const olga = await otherOrgAgent();
      const c = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      const res = await patch(`/api/contacts/${c.id}`, admin.apiKey, { assignedAgentId: olga.id });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['assignedAgentId']);
      expect((await get(`/api/contacts/${c.id}`, admin.apiKey)).body.assignedAgentId).toBe(ana.id);
    });

    describe('every bad field in one answer, whichever check finds it (SPEC §9)', () => {
      // a blank name passes the DTO (not empty) and is refused by the domain (trimmed, it is)
      it('should name the fields the DTO refuses and the blank name the domain refuses when a contact is created', async () => {
        const { admin } = await setup();
        const res = await post('/api/contacts', admin.apiKey, { name: '   ', phone: '415-555-0100', leadQuality: 'hot' });
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(['leadQuality', 'name', 'phone']);
        expect(await listIds(admin.apiKey)).toEqual([]);
      });

      it("should name an unknown agent, an unknown campaign and a blank name together when a contact is created", async () => {
        const { admin } = await setup();
        const res = await post('/api/contacts', admin.apiKey, { name: ' ', phone: nextPhone(), assignedAgentId: randomUUID(), campaignId: randomUUID() });
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(['assignedAgentId', 'campaignId', 'name']);
        expect(await listIds(admin.apiKey)).toEqual([]);
      });

      it('should name the fields the DTO refuses and the blank name the domain refuses when a contact is patched', async () => {
        const { admin } = await setup();
        const c = await createContact(admin.apiKey);
        const res = await patch(`/api/contacts/${c.id}`, admin.apiKey, { name: '  ', status: 'DELETED', timezone: 'BST' });
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(['name', 'status', 'timezone']);
        expect((await get(`/api/contacts/${c.id}`, admin.apiKey)).body).toEqual(c);
      });

      it('should name an unknown field and a blank text together when a note is added', async () => {
        const { admin } = await setup();
        const c = await createContact(admin.apiKey);
        const res = await post(`/api/contacts/${c.id}/notes`, admin.apiKey, { text: '   ', pinned: true });
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(['pinned', 'text']);
        expect((await timeline(c.id, admin.apiKey)).map((e) => e.kind)).toEqual(['contact_created']);
      });
    });

    it.each([
      ['limit', '?limit=0'],
      ['limit', '?limit=201'],
      // not digits, as the hub has it (Number() took these: 100, 16)
      ['limit', '?limit=1e2'],
      ['limit', '?limit=0x10'],
      ['leadStatus', '?leadStatus=Maybe'],
      ['assignedAgentId', '?assignedAgentId=nobody'],
      ['cursor', '?cursor=garbage'],
      ['colour', '?colour=red'],
    ])('should answer 400 naming %s when the list query is %s', async (field, query) => {
      const { admin } = await setup();
      const res = await get(`/api/contacts${query}`, admin.apiKey);
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual([field]);
    });
  });

  describe('another organization', () => {
    it("should answer 404 for GET, PATCH, notes, timeline and calls when the contact is another organization's", async () => {
      const { admin } = await setup();
      const other = await t.createOrg('Other org');
      const theirs = await createContact(other.adminKey, { name: 'Hidden' });

      for (const res of [
        await get(`/api/contacts/${theirs.id}`, admin.apiKey),
        await patch(`/api/contacts/${theirs.id}`, admin.apiKey, { name: 'Mine now' }),
        await post(`/api/contacts/${theirs.id}/notes`, admin.apiKey, { text: 'peek' }),
        await get(`/api/contacts/${theirs.id}/timeline`, admin.apiKey),
        await get(`/api/contacts/${theirs.id}/calls`, admin.apiKey),
      ]) {
        expectError(res, 404);
        expect(JSON.stringify(res.body)).not.toContain('Hidden');
      }
      expect(await listIds(admin.apiKey)).toEqual([]);
      expect((await get(`/api/contacts/${theirs.id}`, other.adminKey)).body.name).toBe('Hidden');
      expect((await timeline(theirs.id, other.adminKey)).map((e) => e.kind)).toEqual(['contact_created']);
    });
  });

  describe('visibility by role', () => {
    it("should answer 404 for GET, PATCH, notes, timeline and calls when an agent asks for another agent's contact", async () => {
      const { admin, ana, bob } = await setup();
      const bobs = await createContact(admin.apiKey, { name: 'Bobs lead', assignedAgentId: bob.id });
      for (const res of [
        await get(`/api/contacts/${bobs.id}`, ana.apiKey),
        await patch(`/api/contacts/${bobs.id}`, ana.apiKey, { name: 'Stolen' }),
        await post(`/api/contacts/${bobs.id}/notes`, ana.apiKey, { text: 'peek' }),
        await get(`/api/contacts/${bobs.id}/timeline`, ana.apiKey),
        await get(`/api/contacts/${bobs.id}/calls`, ana.apiKey),
      ]) {
        expectError(res, 404);
        expect(res.body.message).toBe(`contact ${bobs.id} not found`);
      }
      expect((await get(`/api/contacts/${bobs.id}`, bob.apiKey)).body.name).toBe('Bobs lead');
      expect((await timeline(bobs.id, bob.apiKey)).map((e) => e.kind)).toEqual(['contact_created']);
    });

    it('should answer 404 to an agent when the contact is unassigned', async () => {
      const { admin, ana } = await setup();
      const c = await createContact(admin.apiKey);
      expectError(await get(`/api/contacts/${c.id}`, ana.apiKey), 404);
      expect(await listIds(ana.apiKey)).toEqual([]);
    });

    it('should list only their own contacts when an agent lists, whatever the filter asks', async () => {
      const { admin, ana, bob } = await setup();
      const a1 = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      const b1 = await createContact(admin.apiKey, { assignedAgentId: bob.id });
      await createContact(admin.apiKey);
      const a2 = await createContact(ana.apiKey);
      expect(await listIds(ana.apiKey)).toEqual([a1.id, a2.id]);
      expect(await listIds(bob.apiKey)).toEqual([b1.id]);
      // another agent's contacts: none (it answered her own, as if the filter had been dropped); her own: hers
      expect(await listIds(ana.apiKey, `?assignedAgentId=${bob.id}`)).toEqual([]);
      expect(await listIds(ana.apiKey, `?assignedAgentId=${ana.id}`)).toEqual([a1.id, a2.id]);
    });

    it('should see and change every contact of the org when the caller is a supervisor or an admin', async () => {
      const { admin, supervisor, ana, bob } = await setup();
      const a1 = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      const b1 = await createContact(admin.apiKey, { assignedAgentId: bob.id });
      const u1 = await createContact(admin.apiKey);
      for (const key of [admin.apiKey, supervisor.apiKey]) {
        expect(await listIds(key)).toEqual([a1.id, b1.id, u1.id]);
        expect((await get(`/api/contacts/${b1.id}`, key)).status).toBe(200);
        expect((await get(`/api/contacts/${b1.id}/timeline`, key)).status).toBe(200);
      }
      const res = await patch(`/api/contacts/${b1.id}`, supervisor.apiKey, { leadQuality: 'HOT' });
      expect(res.status).toBe(200);
      expect(res.body.leadQuality).toBe('HOT');
      expect((await post(`/api/contacts/${a1.id}/notes`, supervisor.apiKey, { text: 'coaching' })).status).toBe(201);
    });

    it('should let an agent change their own contact but not reassign it (403)', async () => {
      const { admin, ana, bob } = await setup();
      const c = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      const ok = await patch(`/api/contacts/${c.id}`, ana.apiKey, { leadQuality: 'HOT', assignedAgentId: ana.id });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ leadQuality: 'HOT', assignedAgentId: ana.id });

      for (const assignedAgentId of [bob.id, null]) {
        const res = await patch(`/api/contacts/${c.id}`, ana.apiKey, { assignedAgentId, name: 'Changed' });
        expectError(res, 403);
      }
      const after = (await get(`/api/contacts/${c.id}`, admin.apiKey)).body;
      expect(after).toMatchObject({ assignedAgentId: ana.id, name: c.name });
      expect((await timeline(c.id, admin.apiKey)).map((e) => e.kind)).toEqual(['lead_quality_changed', 'contact_created']);
    });

    it('should move the contact from one agent to the other when a supervisor reassigns it', async () => {
      const { supervisor, admin, ana, bob } = await setup();
      const c = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      expect((await patch(`/api/contacts/${c.id}`, supervisor.apiKey, { assignedAgentId: bob.id })).status).toBe(200);
      expectError(await get(`/api/contacts/${c.id}`, ana.apiKey), 404);
      expect(await listIds(ana.apiKey)).toEqual([]);
      expect(await listIds(bob.apiKey)).toEqual([c.id]);
      const [latest] = await timeline(c.id, bob.apiKey);
      expect(latest).toMatchObject({ kind: 'reassigned', actorId: supervisor.id, data: { fromAgentId: ana.id, toAgentId: bob.id } });
    });

    it('should unassign the contact when a supervisor patches assignedAgentId to null', async () => {
      const { supervisor, admin, ana } = await setup();
      const c = await createContact(admin.apiKey, { assignedAgentId: ana.id });
      const res = await patch(`/api/contacts/${c.id}`, supervisor.apiKey, { assignedAgentId: null });
      expect(res.status).toBe(200);
      expect(res.body.assignedAgentId).toBeNull();
      expect(await listIds(ana.apiKey)).toEqual([]);
      expect((await timeline(c.id, admin.apiKey))[0]).toMatchObject({ kind: 'reassigned', data: { fromAgentId: ana.id, toAgentId: null } });
    });
  });

  describe('list', () => {
    /** Three contacts of a fresh org told apart by every filter. */
    const filterFixture = async () => {
      const { admin, ana, bob } = await setup();
      const spring = (await post('/api/campaigns', admin.apiKey, { name: 'Spring' })).body.id;
      const sarah = await createContact(admin.apiKey, { name: 'Sarah Lee', phone: '+14155550101', assignedAgentId: ana.id, leadQuality: 'HOT', tags: ['vip'], campaignId: spring });
      const tom = await createContact(admin.apiKey, { name: 'Tom Hart', phone: '+442071838750', assignedAgentId: bob.id, leadQuality: 'COLD', tags: ['vip', 'b2b'] });
      const lena = await createContact(admin.apiKey, { name: 'Lena 50%_off', phone: '+4930123456', leadQuality: 'NURTURE', campaignId: spring });
      expect((await patch(`/api/contacts/${tom.id}`, admin.apiKey, { status: 'ARCHIVED' })).status).toBe(200);
      expect((await patch(`/api/contacts/${lena.id}`, admin.apiKey, { leadStatus: 'Interested' })).status).toBe(200);
      return { admin, ana, bob, spring, sarah, tom, lena };
    };

    const expectLists = async (key: string, cases: [string, string[]][]) => {
      for (const [query, expected] of cases) {
        const res = await get(`/api/contacts${query}`, key);
        expect({ query, status: res.status, ids: res.body.contacts?.map((c: Contact) => c.id) }).toEqual({ query, status: 200, ids: expected });
      }
    };

    it('should filter by each of assignedAgentId, status, leadStatus, leadQuality, campaignId and tag, alone and combined', async () => {
      const { admin, ana, bob, spring, sarah, tom, lena } = await filterFixture();
      await expectLists(admin.apiKey, [
        ['', [sarah.id, tom.id, lena.id]],
        [`?assignedAgentId=${ana.id}`, [sarah.id]],
        [`?assignedAgentId=${bob.id}`, [tom.id]],
        ['?status=ARCHIVED', [tom.id]],
        ['?status=ACTIVE', [sarah.id, lena.id]],
        ['?leadStatus=Interested', [lena.id]],
        ['?leadStatus=New', [sarah.id, tom.id]],
        ['?leadQuality=HOT', [sarah.id]],
        ['?leadQuality=WARM', []],
        [`?campaignId=${spring}`, [sarah.id, lena.id]],
        [`?campaignId=${randomUUID()}`, []],
        ['?tag=vip', [sarah.id, tom.id]],
        ['?tag=b2b', [tom.id]],
        ['?tag=vi', []],
        ['?tag=vip&leadQuality=COLD&status=ARCHIVED', [tom.id]],
        [`?campaignId=${spring}&leadStatus=Interested`, [lena.id]],
      ]);
    });

    // Regression: every GET /api/contacts?q=… answers 500 {"statusCode":500,"error":"Internal Server Error","message":"internal error"}.
    // ContactsRepository.list (libs/contacts/src/contacts.repository.ts) builds `(name ILIKE ? OR phone LIKE ?)` with an
    // `add` helper whose `sql.replace('?', …)` replaces only the first `?`, so PostgreSQL gets `phone LIKE ?` (syntax error).
    it('should find contacts by part of the name (any case) or of the phone, with % and _ taken literally, when q is given', async () => {
      const { admin, sarah, tom, lena } = await filterFixture();
      await expectLists(admin.apiKey, [
        ['?q=sarah', [sarah.id]],
        ['?q=HART', [tom.id]],
        ['?q=%2B4420', [tom.id]],
        ['?q=0101', [sarah.id]],
        ['?q=50%25_', [lena.id]],
        ['?q=_', [lena.id]],
        ['?q=%25', [lena.id]],
        ['?q=nobody', []],
        ['?q=e&tag=vip', [sarah.id]],
      ]);
    });

    it('should walk every contact once, in order, when paging with a small limit', async () => {
      const { admin } = await setup();
      const created: string[] = [];
      for (let i = 0; i < 7; i++) created.push((await createContact(admin.apiKey, { name: `Lead ${i}` })).id);
      const seenIds: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const res = await get(`/api/contacts?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, admin.apiKey);
        expect(res.status).toBe(200);
        sizes.push(res.body.contacts.length);
        seenIds.push(...res.body.contacts.map((c: Contact) => c.id));
        cursor = res.body.nextCursor;
      } while (cursor && sizes.length < 10);
      expect(sizes).toEqual([3, 3, 1]);
      expect(seenIds).toEqual(created);
    });

    it('should keep the filter across pages when paging a filtered list', async () => {
      const { admin } = await setup();
      const tagged: string[] = [];
      for (let i = 0; i < 6; i++) {
        const c = await createContact(admin.apiKey, { tags: i % 2 === 0 ? ['vip'] : [] });
        if (i % 2 === 0) tagged.push(c.id);
      }
      const seenIds: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`/api/contacts?tag=vip&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, admin.apiKey);
        expect(res.status).toBe(200);
        seenIds.push(...res.body.contacts.map((c: Contact) => c.id));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(seenIds).toEqual(tagged);
      expect(pages).toBe(2);
    });

    it('should answer no nextCursor when the page holds the last contact exactly', async () => {
      const { admin } = await setup();
      for (let i = 0; i < 2; i++) await createContact(admin.apiKey);
      const res = await get('/api/contacts?limit=2', admin.apiKey);
      expect(res.status).toBe(200);
      expect(res.body.contacts).toHaveLength(2);
      expect(res.body.nextCursor).toBeNull();
    });
  });

  describe('campaigns', () => {
    it('should create a campaign and list it when a supervisor creates one', async () => {
      const { supervisor, ana } = await setup();
      const window = { days: ['mon', 'tue'], start: '09:00', end: '17:00' };
      const res = await post('/api/campaigns', supervisor.apiKey, { name: 'Spring', callingWindow: window, agentPool: [ana.id] });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ id: expect.any(String), name: 'Spring', callingWindow: window, agentPool: [ana.id] });
      const list = await get('/api/campaigns', ana.apiKey);
      expect(list.status).toBe(200);
      expect(list.body.campaigns.map((c: { id: string }) => c.id)).toEqual([res.body.id]);
    });

    it.each([
      ['only on a day the org never calls', { days: ['sun'], start: '09:00', end: '17:00' }],
      ['only after the org stops calling', { days: ['mon', 'tue'], start: '21:00', end: '23:00' }],
      ['only before the org starts calling', { days: ['mon'], start: '06:00', end: '08:00' }],
    ])("should answer 400 naming callingWindow and create nothing when the campaign's window is %s", async (_, window) => {
      const { admin } = await setup(); // the org's window: mon-sat 08:00-21:00 (SPEC §7 default)
      const res = await post('/api/campaigns', admin.apiKey, { name: 'Never', callingWindow: window });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['callingWindow']);
      expect((await get('/api/campaigns', admin.apiKey)).body.campaigns).toEqual([]);
    });

    it("should accept a campaign window that shares any time with the org's", async () => {
      const { admin } = await setup();
      const window = { days: ['sun', 'mon'], start: '20:30', end: '23:00' }; // monday 20:30-21:00
      expect((await post('/api/campaigns', admin.apiKey, { name: 'Late Mondays', callingWindow: window })).status).toBe(201);
    });

    it('should accept a campaign window that runs to 24:00, the end of the day, and keep it', async () => {
      const { admin } = await setup(); // the org's window ends at 21:00: 20:00-24:00 shares an hour with it
      const evenings = { days: ['mon', 'tue'], start: '20:00', end: '24:00' };
      const res = await post('/api/campaigns', admin.apiKey, { name: 'Evenings', callingWindow: evenings });
      expect(res.status).toBe(201);
      expect(res.body.callingWindow).toEqual(evenings);
      expect((await patch('/api/settings', admin.apiKey, { callingWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' } })).status).toBe(200);
      const lastMinute = { days: ['sun'], start: '23:59', end: '24:00' };
      expect((await post('/api/campaigns', admin.apiKey, { name: 'Last minute', callingWindow: lastMinute })).body.callingWindow).toEqual(lastMinute);
      const list = (await get('/api/campaigns', admin.apiKey)).body.campaigns.map((c: { name: string; callingWindow: unknown }) => [c.name, c.callingWindow]);
      expect(list).toEqual([['Evenings', evenings], ['Last minute', lastMinute]]);
    });

    it.each([
      ['a start of 24:00', { days: ['mon'], start: '24:00', end: '24:00' }, 'callingWindow.start'],
      ['an end past 24:00', { days: ['mon'], start: '09:00', end: '24:01' }, 'callingWindow.end'],
      ['an end of 25:00', { days: ['mon'], start: '09:00', end: '25:00' }, 'callingWindow.end'],
    ])('should answer 400 naming the field and create nothing when the campaign window has %s', async (_, window, field) => {
      const { admin } = await setup();
      const res = await post('/api/campaigns', admin.apiKey, { name: 'Bad hours', callingWindow: window });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual([field]);
      expect((await get('/api/campaigns', admin.apiKey)).body.campaigns).toEqual([]);
    });

    it('should name a missing name and a window that ends before it starts together, and create nothing', async () => {
      const { admin } = await setup();
      const res = await post('/api/campaigns', admin.apiKey, { name: '', callingWindow: { days: ['mon'], start: '17:00', end: '09:00' } });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['callingWindow.end', 'name']);
      expect((await get('/api/campaigns', admin.apiKey)).body.campaigns).toEqual([]);
    });

    it('should refuse a name of spaces alone, with an unknown pool agent and with a window that ends first, naming each, and create nothing', async () => {
      const { admin } = await setup();
      expect(fieldsNamed(await post('/api/campaigns', admin.apiKey, { name: '   ' }))).toEqual(['name']);
      const both = await post('/api/campaigns', admin.apiKey, { name: ' ', agentPool: [randomUUID()] });
      expect(fieldsNamed(both)).toEqual(['agentPool', 'name']);
      const withWindow = await post('/api/campaigns', admin.apiKey, { name: '\t', callingWindow: { days: ['mon'], start: '17:00', end: '09:00' } });
      expect(fieldsNamed(withWindow)).toEqual(['callingWindow.end', 'name']);
      expect((await get('/api/campaigns', admin.apiKey)).body.campaigns).toEqual([]);
      // a name with spaces around it is kept trimmed
      expect((await post('/api/campaigns', admin.apiKey, { name: '  Spring promo ' })).body.name).toBe('Spring promo');
    });

    it("should name a window with no time in common with the org's and an unknown pool agent together, and create nothing", async () => {
      const { admin } = await setup();
      const res = await post('/api/campaigns', admin.apiKey, { name: 'Sundays', callingWindow: { days: ['sun'], start: '09:00', end: '17:00' }, agentPool: [randomUUID()] });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['agentPool', 'callingWindow']);
      expect((await get('/api/campaigns', admin.apiKey)).body.campaigns).toEqual([]);
    });

    it.each(['agent', 'integration'])('should answer 403 and create nothing when an %s creates a campaign', async (role) => {
      const { admin } = await setup();
      const user = await t.createUser(admin.apiKey, { name: 'Someone', role });
      const res = await post('/api/campaigns', user.apiKey, { name: 'Mine' });
      expectError(res, 403);
      expect((await get('/api/campaigns', admin.apiKey)).body.campaigns).toEqual([]);
    });

    it('should list campaigns by name a page at a time, each once, and answer a forged cursor with a 400 naming it', async () => {
      const { admin } = await setup();
      const names = ['Delta', 'alpha', 'Charlie', 'Bravo', 'Echo'];
      for (const name of names) expect((await post('/api/campaigns', admin.apiKey, { name })).status).toBe(201);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`/api/campaigns?limit=2${cursor ? `&cursor=${cursor}` : ''}`, admin.apiKey);
        expect(res.status).toBe(200);
        seen.push(...res.body.campaigns.map((c: { name: string }) => c.name));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      const all = await get('/api/campaigns', admin.apiKey);
      expect(all.body.nextCursor).toBeNull();
      expect(seen).toEqual(all.body.campaigns.map((c: { name: string }) => c.name));
      expect([...seen].sort()).toEqual([...names].sort());
      for (const bad of ['garbage!', Buffer.from(JSON.stringify(['Bravo', 'not-a-uuid'])).toString('base64url')]) {
        const res = await get(`/api/campaigns?cursor=${encodeURIComponent(bad)}`, admin.apiKey);
        expectError(res, 400);
        expect(fieldsNamed(res)).toEqual(['cursor']);
      }
      expectError(await get('/api/campaigns?limit=1001', admin.apiKey), 400);
      expectError(await get('/api/campaigns?limit=1e2', admin.apiKey), 400);
    });

    it("should never list another organization's campaigns", async () => {
      const { admin } = await setup();
      const other = await t.createOrg('Other org');
      expect((await post('/api/campaigns', other.adminKey, { name: 'Theirs' })).status).toBe(201);
      expect((await get('/api/campaigns', admin.apiKey)).body.campaigns).toEqual([]);
    });
  });
});

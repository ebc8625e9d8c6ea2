import { randomUUID } from 'node:crypto';
import { Response } from 'supertest';
import { expectError, fieldsNamed, installNo5xxGuard, recordingClient, startTestApp, TestApp } from '@app/testing';

jest.setTimeout(30_000);

type Body = Record<string, unknown>;

/**
 * The three creations that take an Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a retry with the key
 * and the same request is answered with what the first request made; the key with another request is a 422.
 */
describe('Idempotency-Key: retries and reused keys', () => {
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
  const nextPhone = () => `+1415558${String(phoneSeq++).padStart(4, '0')}`;
  const inADay = () => new Date(Date.now() + 24 * 3600_000).toISOString();

  const setup = async () => {
    const org = await t.createOrg(`Org ${randomUUID().slice(0, 8)}`);
    const admin = { id: org.adminUserId, apiKey: org.adminKey };
    const ana = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    return { org, admin, ana };
  };
  type Org = Awaited<ReturnType<typeof setup>>;

  const createContact = async (apiKey: string, body: Body = {}): Promise<string> => {
    const res = await post('/api/contacts', apiKey, { name: 'Sarah Lee', phone: nextPhone(), ...body });
    expect(res.status).toBe(201);
    return res.body.id;
  };

  /** A POST with an Idempotency-Key whose body is this JSON text as it is, member order and spacing included. */
  const postKeyed = async (path: string, apiKey: string, idempotencyKey: string, body: Body | string): Promise<Response> => {
    const res = await t
      .http()
      .post(path)
      .set('Authorization', `Bearer ${apiKey}`)
      .set('Idempotency-Key', idempotencyKey)
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
    client.seen.push({ req: `POST ${path}`, status: res.status, body: res.body });
    return res;
  };
  const answer = (res: Response) => ({ status: res.status, body: res.body });

  const expectKeyReused = (res: Response) => {
    expectError(res, 422, 'Unprocessable Content');
    expect(fieldsNamed(res)).toEqual(['Idempotency-Key']);
    expect(res.body.message).toMatch(/already used with a different request/);
  };

  /** The same members as JSON text in the reverse order. */
  const reversed = (body: Body) => JSON.stringify(Object.fromEntries(Object.entries(body).reverse()));

  interface Endpoint {
    name: string;
    /** Where to POST for this org, and the records that endpoint made there, as its answers show them. */
    target(o: Org): Promise<{ path: string; records: () => Promise<Body[]> }>;
    /** The records as `records` shows them, from the POST's answer. */
    asRecord(answer: Body): Body;
    body(): Body;
    /** The same request written otherwise: members in another order (or, for the one-member note, other spacing). */
    rewritten(body: Body): string;
    /** Another request. */
    other(body: Body): Body;
  }

  const endpoints: Endpoint[] = [
    {
      name: 'POST /api/contacts',
      target: async (o) => ({
        path: '/api/contacts',
        records: async () => (await get('/api/contacts', o.admin.apiKey)).body.contacts,
      }),
      asRecord: (a) => a,
      body: () => ({ name: 'Sarah Lee', phone: nextPhone(), leadQuality: 'HOT', tags: ['crm', 'q3'], timezone: 'Europe/Madrid' }),
      rewritten: reversed,
      other: (b) => ({ ...b, name: 'Someone Else' }),
    },
    {
      name: 'POST /api/contacts/:id/notes',
      target: async (o) => {
        const contactId = await createContact(o.admin.apiKey);
        return {
          path: `/api/contacts/${contactId}/notes`,
          records: async () =>
            (await get(`/api/contacts/${contactId}/timeline`, o.admin.apiKey)).body.entries
              .filter((e: { kind: string }) => e.kind === 'note')
              .map((e: { data: Body }) => ({ id: e.data.noteId, text: e.data.text, authorId: e.data.authorId, createdAt: e.data.at })),
        };
      },
      asRecord: (a) => ({ id: a.id, text: a.text, authorId: a.authorId, createdAt: a.createdAt }),
      body: () => ({ text: 'Call after 5' }),
      rewritten: (b) => JSON.stringify(b, null, 2),
      other: () => ({ text: 'Call before 5' }),
    },
    {
      name: 'POST /api/contacts/:id/follow-ups',
      target: async (o) => {
        const contactId = await createContact(o.admin.apiKey);
        return {
          path: `/api/contacts/${contactId}/follow-ups`,
          records: async () => (await get(`/api/contacts/${contactId}/follow-ups`, o.admin.apiKey)).body.followUps,
        };
      },
      asRecord: (a) => a,
      body: () => ({ type: 'sms', message: 'Your quote is ready', scheduledAt: inADay(), priority: 'high', maxAttempts: 2, notes: 'from the import' }),
      rewritten: reversed,
      other: (b) => ({ ...b, message: 'Your quote has expired' }),
    },
  ];

  describe.each(endpoints)('$name', (endpoint) => {
    it('should make one record and answer it to every retry with the same key and body', async () => {
      const o = await setup();
      const { path, records } = await endpoint.target(o);
      const body = endpoint.body();
      const first = await postKeyed(path, o.admin.apiKey, 'row-17', body);
      expect(first.status).toBe(201);
      const retries = await Promise.all([1, 2, 3].map(() => postKeyed(path, o.admin.apiKey, 'row-17', body)));
      for (const r of retries) expect(answer(r)).toEqual({ status: 201, body: first.body });
      expect(await records()).toEqual([endpoint.asRecord(first.body)]);
    });

    it('should answer 422 naming Idempotency-Key when the key comes again with another body, recording nothing and leaving the first as it was', async () => {
      const o = await setup();
      const { path, records } = await endpoint.target(o);
      const body = endpoint.body();
      const first = await postKeyed(path, o.admin.apiKey, 'row-17', body);
      expect(first.status).toBe(201);

      expectKeyReused(await postKeyed(path, o.admin.apiKey, 'row-17', endpoint.other(body)));
      expect(await records()).toEqual([endpoint.asRecord(first.body)]);
      // the key still answers its own request
      expect(answer(await postKeyed(path, o.admin.apiKey, 'row-17', body))).toEqual({ status: 201, body: first.body });
      // and another key is another record
      const fresh = await postKeyed(path, o.admin.apiKey, 'row-18', endpoint.other(body));
      expect(fresh.status).toBe(201);
      expect(await records()).toHaveLength(2);
    });

    it('should make one record when two requests with the same key and different bodies arrive at once, and answer the other 422', async () => {
      const o = await setup();
      const { path, records } = await endpoint.target(o);
      const body = endpoint.body();
      const both = await Promise.all([postKeyed(path, o.admin.apiKey, 'row-at-once', body), postKeyed(path, o.admin.apiKey, 'row-at-once', endpoint.other(body))]);
      expect(both.map((r) => r.status).sort()).toEqual([201, 422]);
      const made = both.find((r) => r.status === 201)!;
      expectKeyReused(both.find((r) => r.status === 422)!);
      expect(await records()).toEqual([endpoint.asRecord(made.body)]);
    });

    it('should take the same body written with its members in another order as a retry, not a reuse', async () => {
      const o = await setup();
      const { path, records } = await endpoint.target(o);
      const body = endpoint.body();
      const first = await postKeyed(path, o.admin.apiKey, 'row-17', body);
      expect(first.status).toBe(201);
      const text = endpoint.rewritten(body);
      expect(text).not.toBe(JSON.stringify(body));
      expect(answer(await postKeyed(path, o.admin.apiKey, 'row-17', text))).toEqual({ status: 201, body: first.body });
      expect(await records()).toEqual([endpoint.asRecord(first.body)]);
    });

    it('should accept a retry of a record stored before request fingerprints were, whatever its body, as it did then', async () => {
      const o = await setup();
      const { path, records } = await endpoint.target(o);
      const body = endpoint.body();
      const first = await postKeyed(path, o.admin.apiKey, 'row-17', body);
      expect(first.status).toBe(201);
      // as an older version stored it: no key on its events, no fingerprint with them
      const { rowCount } = await t.db.query(
        `UPDATE events SET idempotency_key = NULL, metadata = metadata - 'requestFingerprint' WHERE org_id = $1 AND metadata ? 'requestFingerprint'`,
        [o.org.orgId],
      );
      expect(rowCount).toBeGreaterThan(0);
      expect(answer(await postKeyed(path, o.admin.apiKey, 'row-17', endpoint.other(body)))).toEqual({ status: 201, body: first.body });
      expect(await records()).toEqual([endpoint.asRecord(first.body)]);
    });
  });

  describe('references are not checked again on a retry', () => {
    const deactivate = async (o: Org, userId: string) => expect((await patch(`/api/users/${userId}`, o.admin.apiKey, { active: false })).status).toBe(200);

    it('should answer the contact a request with assignedAgentId made when it is retried after the agent was deactivated', async () => {
      const o = await setup();
      const body = { name: 'Sarah Lee', phone: nextPhone(), assignedAgentId: o.ana.id };
      const first = await postKeyed('/api/contacts', o.admin.apiKey, 'crm-lead-17', body);
      expect(first.status).toBe(201);
      await deactivate(o, o.ana.id);

      const retry = await postKeyed('/api/contacts', o.admin.apiKey, 'crm-lead-17', body);
      expect(answer(retry)).toEqual({ status: 201, body: (await get(`/api/contacts/${first.body.id}`, o.admin.apiKey)).body });
      expect(retry.body).toMatchObject({ id: first.body.id, assignedAgentId: o.ana.id });
      // a new request is checked: she is no longer an agent one can assign
      const fresh = await postKeyed('/api/contacts', o.admin.apiKey, 'crm-lead-18', { ...body, phone: nextPhone() });
      expectError(fresh, 400);
      expect(fieldsNamed(fresh)).toEqual(['assignedAgentId']);
      expect((await get('/api/contacts', o.admin.apiKey)).body.contacts.map((c: { id: string }) => c.id)).toEqual([first.body.id]);
    });

    it('should answer the follow-up a request with agentId scheduled when it is retried after the agent was deactivated', async () => {
      const o = await setup();
      const contactId = await createContact(o.admin.apiKey);
      const path = `/api/contacts/${contactId}/follow-ups`;
      const body = { scheduledAt: inADay(), agentId: o.ana.id };
      const first = await postKeyed(path, o.admin.apiKey, 'import-row-17', body);
      expect(first.status).toBe(201);
      await deactivate(o, o.ana.id);

      const retry = await postKeyed(path, o.admin.apiKey, 'import-row-17', body);
      expect(answer(retry)).toEqual({ status: 201, body: (await get(`/api/follow-ups/${first.body.id}`, o.admin.apiKey)).body });
      expect(retry.body).toMatchObject({ id: first.body.id, agentId: o.ana.id });
      const fresh = await postKeyed(path, o.admin.apiKey, 'import-row-18', body);
      expectError(fresh, 400);
      expect(fieldsNamed(fresh)).toEqual(['agentId']);
      expect((await get(path, o.admin.apiKey)).body.followUps.map((f: { id: string }) => f.id)).toEqual([first.body.id]);
    });
  });

  // Last: it shuts down the service the other tests run on.
  describe('after a restart', () => {
    it('should still tell a retry from a reused key on the instance that replaces the one that stored the record', async () => {
      const o = await setup();
      const contactId = await createContact(o.admin.apiKey);
      const path = `/api/contacts/${contactId}/notes`;
      const first = await postKeyed(path, o.admin.apiKey, 'note-17', { text: 'Call after 5' });
      expect(first.status).toBe(201);

      const old = t;
      const closing = old.app.close();
      t = await old.reopen();
      await closing;

      expectKeyReused(await postKeyed(path, o.admin.apiKey, 'note-17', { text: 'Call before 5' }));
      expect(answer(await postKeyed(path, o.admin.apiKey, 'note-17', { text: 'Call after 5' }))).toEqual({ status: 201, body: first.body });
    });
  });
});

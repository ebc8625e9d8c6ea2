import { randomUUID } from 'node:crypto';
import { ProjectionRebuilder } from '@app/event-store';
import { MAX_LIVE_API_KEYS } from '@app/tenancy';
import { bearer, eventually, expectError, fieldsNamed, startTestApp, TestApp } from '@app/testing';

/**
 * Rotating a user's API key (SPEC §9: keys belong to a user, are stored hashed, shown once, revocable): an admin issues
 * a user another key, lists their keys, and revokes the old one, without a new user splitting their calls and audit
 * trail across two identities.
 */
describe('API keys of a user', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  const createUser = async (adminKey: string, body: Record<string, unknown>) => {
    const res = await t.http().post('/api/users').set(bearer(adminKey)).send(body);
    expect(res.status).toBe(201);
    return { id: res.body.id as string, apiKey: res.body.apiKey as string, apiKeyId: res.body.apiKeyId as string };
  };
  const issue = (adminKey: string, userId: string, body?: Record<string, unknown>) => {
    const req = t.http().post(`/api/users/${userId}/api-keys`).set(bearer(adminKey));
    return body === undefined ? req : req.send(body);
  };
  const list = (adminKey: string, userId: string) => t.http().get(`/api/users/${userId}/api-keys`).set(bearer(adminKey));
  /** Who the key authenticates as: GET /api/agents answers for any role, so a 200 means the key works. */
  const status = async (key: string) => (await t.http().get('/api/agents').set(bearer(key))).status;

  it('should issue a second key that works at once alongside the first, shown once and listed without secrets', async () => {
    const org = await t.createOrg();
    const dialler = await createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
    expect(await status(dialler.apiKey)).toBe(200); // the first key is now in the auth cache

    const res = await issue(org.adminKey, dialler.id, { name: 'dialler 2026 rotation' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      userId: dialler.id,
      name: 'dialler 2026 rotation',
      prefix: res.body.apiKey.slice(0, 10),
      createdAt: expect.any(String),
      revokedAt: null,
      lastUsedAt: null,
      apiKey: expect.stringMatching(/^fk_[A-Za-z0-9_-]{43}$/),
    });
    expect(res.body.apiKey).not.toBe(dialler.apiKey);
    expect(await status(res.body.apiKey)).toBe(200);
    expect(await status(dialler.apiKey)).toBe(200);

    const listed = await list(org.adminKey, dialler.id);
    expect(listed.status).toBe(200);
    // (lastUsedAt: the test below)
    expect(listed.body.apiKeys.map(({ lastUsedAt, ...key }: { lastUsedAt: unknown }) => key)).toEqual([
      { id: dialler.apiKeyId, userId: dialler.id, name: null, prefix: dialler.apiKey.slice(0, 10), createdAt: expect.any(String), revokedAt: null },
      { id: res.body.id, userId: dialler.id, name: 'dialler 2026 rotation', prefix: res.body.prefix, createdAt: res.body.createdAt, revokedAt: null },
    ]);
    // neither key nor anything derived from more than its prefix
    for (const key of [dialler.apiKey, res.body.apiKey as string]) {
      expect(listed.text).not.toContain(key);
      expect(listed.text).not.toContain(key.slice(10));
    }
    const { rows } = await t.db.query<{ hash: string }>(`SELECT encode(key_hash, 'hex') AS hash FROM api_keys WHERE user_id = $1`, [dialler.id]);
    expect(rows).toHaveLength(2);
    for (const { hash } of rows) expect(listed.text).not.toContain(hash);
  });

  it('should show when each key last authenticated a request, null for one never used, through a revocation and a rebuild', async () => {
    // Rotation: before revoking the old key, an admin checks that no client still uses it.
    const org = await t.createOrg();
    const dialler = await createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
    const unused = (await issue(org.adminKey, dialler.id, { name: 'spare' })).body as { id: string };
    const before = Date.now();
    expect(await status(dialler.apiKey)).toBe(200);
    const after = Date.now();
    type Key = { id: string; lastUsedAt: string | null; revokedAt: string | null };
    const keys = async () => new Map(((await list(org.adminKey, dialler.id)).body.apiKeys as Key[]).map((k) => [k.id, k]));
    // the use is written without holding up the request
    const usedAt = await eventually(async () => {
      const at = (await keys()).get(dialler.apiKeyId)!.lastUsedAt;
      expect(at).not.toBeNull();
      return Date.parse(at!);
    });
    expect(usedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(usedAt).toBeLessThanOrEqual(after + 1000);
    expect((await keys()).get(unused.id)!.lastUsedAt).toBeNull();

    expect((await t.http().delete(`/api/api-keys/${dialler.apiKeyId}`).set(bearer(org.adminKey))).status).toBe(204);
    await t.app.get(ProjectionRebuilder).rebuild('tenancy');
    const rebuilt = await keys();
    expect(rebuilt.get(dialler.apiKeyId)).toMatchObject({ lastUsedAt: new Date(usedAt).toISOString(), revokedAt: expect.any(String) });
    expect(rebuilt.get(unused.id)!.lastUsedAt).toBeNull();
  });

  it('should answer 409 past MAX_LIVE_API_KEYS unrevoked keys of a user, and issue again once one is revoked', async () => {
    const org = await t.createOrg();
    const dialler = await createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
    for (let i = 1; i < MAX_LIVE_API_KEYS; i++) expect((await issue(org.adminKey, dialler.id, { name: `k${i}` })).status).toBe(201);
    const refused = await issue(org.adminKey, dialler.id, { name: 'one too many' });
    expectError(refused, 409, 'Conflict');
    expect(refused.body.message).toContain(`holds ${MAX_LIVE_API_KEYS} unrevoked API keys`);
    expect((await list(org.adminKey, dialler.id)).body.apiKeys).toHaveLength(MAX_LIVE_API_KEYS);
    expect(await status(dialler.apiKey)).toBe(200);

    expect((await t.http().delete(`/api/api-keys/${dialler.apiKeyId}`).set(bearer(org.adminKey))).status).toBe(204);
    const issued = await issue(org.adminKey, dialler.id, { name: 'after a revocation' });
    expect(issued.status).toBe(201);
    expect(await status(issued.body.apiKey)).toBe(200);
  });

  it('should leave the other key working when one is revoked, and show when it was revoked', async () => {
    const org = await t.createOrg();
    const dialler = await createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
    const second = (await issue(org.adminKey, dialler.id, { name: 'new' })).body as { id: string; apiKey: string };
    expect(await status(dialler.apiKey)).toBe(200);
    expect(await status(second.apiKey)).toBe(200);

    expect((await t.http().delete(`/api/api-keys/${dialler.apiKeyId}`).set(bearer(org.adminKey))).status).toBe(204);
    expectError(await t.http().get('/api/agents').set(bearer(dialler.apiKey)), 401, 'Unauthorized');
    expect(await status(second.apiKey)).toBe(200);

    const listed = (await list(org.adminKey, dialler.id)).body.apiKeys as { id: string; revokedAt: string | null }[];
    expect(listed.map((k) => [k.id, k.revokedAt === null])).toEqual([
      [dialler.apiKeyId, false],
      [second.id, true],
    ]);
    expect(Date.parse(listed[0].revokedAt!)).not.toBeNaN();

    // the new key can be revoked like the first
    expect((await t.http().delete(`/api/api-keys/${second.id}`).set(bearer(org.adminKey))).status).toBe(204);
    expectError(await t.http().get('/api/agents').set(bearer(second.apiKey)), 401, 'Unauthorized');
  });

  it('should let an admin rotate the first admin key org:create made, by the adminKeyId it gives', async () => {
    const org = await t.createOrg();
    expect(org.adminKeyId).toMatch(/^[0-9a-f-]{36}$/);
    const listed = await list(org.adminKey, org.adminUserId);
    expect(listed.body.apiKeys.map((k: { id: string }) => k.id)).toEqual([org.adminKeyId]);

    const mine = await issue(org.adminKey, org.adminUserId, { name: 'ops laptop' });
    expect(mine.status).toBe(201);
    expect((await t.http().delete(`/api/api-keys/${org.adminKeyId}`).set(bearer(mine.body.apiKey))).status).toBe(204);
    expectError(await t.http().get('/api/agents').set(bearer(org.adminKey)), 401, 'Unauthorized');
    expect(await status(mine.body.apiKey)).toBe(200);
  });

  it('should issue a key without a name when the body is empty or names none', async () => {
    const org = await t.createOrg();
    const ana = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    for (const res of [await issue(org.adminKey, ana.id), await issue(org.adminKey, ana.id, {}), await issue(org.adminKey, ana.id, { name: null })]) {
      expect(res.status).toBe(201);
      expect(res.body.name).toBeNull();
      expect(await status(res.body.apiKey)).toBe(200);
    }
    const longest = await issue(org.adminKey, ana.id, { name: 'x'.repeat(100) });
    expect(longest.status).toBe(201);
    expect((await list(org.adminKey, ana.id)).body.apiKeys).toHaveLength(5);
  });

  it.each([
    ['empty', { name: '' }, ['name']],
    ['longer than 100 characters', { name: 'x'.repeat(101) }, ['name']],
    ['not a string', { name: 42 }, ['name']],
    ['an unknown field', { label: 'dialler' }, ['label']],
  ])('should answer 400 naming the field when the body has %s, and issue nothing', async (_, body, fields) => {
    const org = await t.createOrg();
    const ana = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    const res = await issue(org.adminKey, ana.id, body);
    expectError(res, 400, 'Bad Request');
    expect(fieldsNamed(res)).toEqual(fields);
    expect((await list(org.adminKey, ana.id)).body.apiKeys).toHaveLength(1);
  });

  it('should answer 409 for a deactivated user, and issue again once they are reactivated', async () => {
    const org = await t.createOrg();
    const ana = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    expect((await t.http().patch(`/api/users/${ana.id}`).set(bearer(org.adminKey)).send({ active: false })).status).toBe(200);
    const refused = await issue(org.adminKey, ana.id, { name: 'x' });
    expectError(refused, 409, 'Conflict');
    expect(refused.body.message).toMatch(/deactivated/);
    // the list still answers: which keys a deactivated user had is what an admin checks before reactivating them
    expect((await list(org.adminKey, ana.id)).body.apiKeys).toHaveLength(1);

    expect((await t.http().patch(`/api/users/${ana.id}`).set(bearer(org.adminKey)).send({ active: true })).status).toBe(200);
    const issued = await issue(org.adminKey, ana.id, { name: 'x' });
    expect(issued.status).toBe(201);
    expect(await status(issued.body.apiKey)).toBe(200);
  });

  it("should answer 404 to another organization's admin for the user, its keys and their revocation", async () => {
    const a = await t.createOrg('A');
    const b = await t.createOrg('B');
    const ana = await createUser(a.adminKey, { name: 'Ana', role: 'agent' });
    expectError(await issue(b.adminKey, ana.id, { name: 'intruder' }), 404, 'Not Found');
    expectError(await issue(b.adminKey, ana.id), 404, 'Not Found');
    expectError(await list(b.adminKey, ana.id), 404, 'Not Found');
    expectError(await t.http().delete(`/api/api-keys/${ana.apiKeyId}`).set(bearer(b.adminKey)), 404, 'Not Found');
    expect((await list(a.adminKey, ana.id)).body.apiKeys).toHaveLength(1);
    expect(await status(ana.apiKey)).toBe(200);
  });

  it('should answer 404 for a user that does not exist or an id that is not one', async () => {
    const org = await t.createOrg();
    for (const id of [randomUUID(), 'not-a-uuid']) {
      for (const res of [await issue(org.adminKey, id, { name: 'x' }), await list(org.adminKey, id)]) {
        expectError(res, 404, 'Not Found');
        expect(res.body.message).toMatch(/^user /); // the user is not found, not the route
      }
    }
  });

  it('should answer 403 to supervisors, agents and integrations, for themselves too', async () => {
    const org = await t.createOrg();
    const target = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    for (const role of ['supervisor', 'agent', 'integration']) {
      const caller = await createUser(org.adminKey, { name: `A ${role}`, role });
      for (const userId of [target.id, caller.id]) {
        expectError(await issue(caller.apiKey, userId, { name: 'mine' }), 403, 'Forbidden');
        expectError(await list(caller.apiKey, userId), 403, 'Forbidden');
      }
      expect((await list(org.adminKey, caller.id)).body.apiKeys).toHaveLength(1);
    }
    expect((await list(org.adminKey, target.id)).body.apiKeys).toHaveLength(1);
  });

  it('should serve a key issued on one API process at once on another, and stop a revoked one there within AUTH_CACHE_MS', async () => {
    const org = await t.createOrg();
    const dialler = await createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
    const other = await t.reopen(); // a second API process on the same database and Redis
    try {
      const on = (key: string) => other.http().get('/api/agents').set(bearer(key));
      expect((await on(dialler.apiKey)).status).toBe(200); // trusted there for AUTH_CACHE_MS from now
      const fresh = (await issue(org.adminKey, dialler.id, { name: 'new' })).body as { apiKey: string };
      expect((await on(fresh.apiKey)).status).toBe(200);
      expect((await t.http().delete(`/api/api-keys/${dialler.apiKeyId}`).set(bearer(org.adminKey))).status).toBe(204);
      const revokedAt = Date.now();
      let last = 200;
      while (last === 200 && Date.now() - revokedAt < 3000) {
        last = (await on(dialler.apiKey)).status;
        if (last === 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(last).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(2000); // AUTH_CACHE_MS (1 s), and slack for a loaded test machine
      expect((await on(fresh.apiKey)).status).toBe(200);
    } finally {
      await other.app.close();
    }
  }, 30_000);
});

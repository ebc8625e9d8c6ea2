import { bearer, eventually, startPrivateRedis, startTestApp, TestApp } from '@app/testing';

/**
 * The per-key rate limit (RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_MS, counted in Redis): what a dialler or an agent's
 * screen sees when it goes over, that one key's excess does not slow another, and that a Redis outage does not turn
 * into refused pushes.
 */
const LIMIT = 5;
const WINDOW_MS = 3000;

describe('rate limit per API key', () => {
  let t: TestApp;
  let org: Awaited<ReturnType<TestApp['createOrg']>>;
  let dialler: { id: string; apiKey: string };
  let otherDialler: { id: string; apiKey: string };
  let contactId: string;
  let agentId: string;

  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { RATE_LIMIT_REQUESTS: String(LIMIT), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) } });
    org = await t.createOrg();
    // The set-up spends four of the admin key's requests; the dialler keys start unspent.
    dialler = await t.createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
    otherDialler = await t.createUser(org.adminKey, { name: 'Dialler 2', role: 'integration' });
    const agent = await t.createUser(org.adminKey, { name: 'Agent', role: 'agent' });
    agentId = agent.id;
    const contact = await t.http().post('/api/contacts').set(bearer(org.adminKey)).send({ name: 'Sarah Lee', phone: '+14155550100', assignedAgentId: agentId });
    expect(contact.status).toBe(201);
    contactId = contact.body.id;
  }, 30_000);
  afterAll(() => t?.close());

  /** Waits until every key's window (and any block, which lasts a window) has passed. */
  const waitForFreshWindow = () => new Promise((r) => setTimeout(r, WINDOW_MS + 200));

  const call = (callId: string) => ({ callId, contactId, agentId, direction: 'outbound', status: 'Busy', durationSec: 0, startedAt: new Date().toISOString() });
  const storedCalls = async () => (await t.db.query<{ call_id: string }>('SELECT call_id FROM calls ORDER BY call_id')).rows.map((r) => r.call_id);

  it('should answer 429 with Retry-After past the limit, store nothing of the refused pushes, and take them once the window has passed', async () => {
    const pushes = await Promise.all(
      Array.from({ length: LIMIT + 3 }, (_, i) => t.http().post('/api/calls').set(bearer(dialler.apiKey)).send(call(`rl-${i}`))),
    );
    const accepted = pushes.filter((r) => r.status === 201);
    const refused = pushes.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(LIMIT);
    expect(refused).toHaveLength(3);
    for (const res of refused) {
      expect(res.body).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.stringContaining(`at most ${LIMIT} requests in 3 s per API key`) });
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
    }
    for (const res of accepted) expect(res.headers['x-ratelimit-limit']).toBe(String(LIMIT));
    // Remaining: this process's count between syncs with Redis, Redis's own near the limit; the push that took the last
    // of the budget says 0
    const remaining = accepted.map((r) => Number(r.headers['x-ratelimit-remaining']));
    expect(remaining.every((n) => n >= 0 && n < LIMIT)).toBe(true);
    expect(remaining).toContain(0);

    // Only what was answered 201 is stored: a 429 records nothing, so the dialler's retry is not a duplicate.
    const acceptedIds = accepted.map((r) => r.body.callId).sort();
    expect(await storedCalls()).toEqual(acceptedIds);

    // The dialler retries the refused ones after Retry-After: they are taken.
    const refusedIds = pushes.map((r, i) => (r.status === 429 ? `rl-${i}` : null)).filter((id): id is string => id !== null);
    await new Promise((r) => setTimeout(r, Number(refused[0].headers['retry-after']) * 1000 + 100));
    for (const id of refusedIds) expect((await t.http().post('/api/calls').set(bearer(dialler.apiKey)).send(call(id))).status).toBe(201);
    expect(await storedCalls()).toEqual(Array.from({ length: LIMIT + 3 }, (_, i) => `rl-${i}`).sort());
  }, 30_000);

  it('should count each user on its own: one key over its limit does not slow another, and every route counts', async () => {
    await waitForFreshWindow();
    // Reads count as much as pushes: a screen polling in a loop is limited like a dialler.
    for (let i = 0; i < LIMIT; i++) expect((await t.http().get('/api/agents').set(bearer(dialler.apiKey))).status).toBe(200);
    const over = await t.http().post('/api/calls').set(bearer(dialler.apiKey)).send(call('rl-over'));
    expect(over.status).toBe(429);
    const other = await t.http().post('/api/calls').set(bearer(otherDialler.apiKey)).send(call('rl-other'));
    expect(other.status).toBe(201);
    expect(other.headers['x-ratelimit-remaining']).toBe(String(LIMIT - 1));
  }, 30_000);

  it('should not count health, metrics or requests without a valid key', async () => {
    await waitForFreshWindow();
    for (let i = 0; i < LIMIT + 2; i++) {
      expect((await t.http().get('/health/live')).status).toBe(200);
      expect((await t.http().get('/metrics')).status).toBe(200);
      // A bad key is a 401 (never a 429 that would tell a guesser the key was worth trying).
      expect((await t.http().get('/api/agents').set(bearer('fu_not_a_key'))).status).toBe(401);
    }
    const res = await t.http().get('/api/agents').set(bearer(dialler.apiKey));
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-remaining']).toBe(String(LIMIT - 1));
  }, 30_000);
});

describe('rate limit when Redis is unreachable', () => {
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let redisStopped: Promise<void> | undefined;
  let t: TestApp;
  const sharedRedis = process.env.REDIS_URL;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = await startTestApp({ worker: false, env: { REDIS_URL: redis.url, RATE_LIMIT_REQUESTS: '2', RATE_LIMIT_WINDOW_MS: '60000' } });
  }, 30_000);
  afterAll(async () => {
    if (sharedRedis === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = sharedRedis;
    await t?.close();
    await (redisStopped ?? redis?.stop());
  }, 30_000);

  it('should let requests through uncounted, pushes stored, rather than refuse or fail them', async () => {
    const org = await t.createOrg();
    const agent = await t.createUser(org.adminKey, { name: 'Agent', role: 'agent' });
    await (redisStopped = redis.stop());
    // The admin key has spent its 2 requests on creating the agent and more; with Redis gone nothing is counted.
    const contact = await t.http().post('/api/contacts').set(bearer(org.adminKey)).send({ name: 'Sarah Lee', phone: '+14155550101', assignedAgentId: agent.id });
    expect(contact.status).toBe(201);
    for (let i = 0; i < 4; i++) {
      const res = await t.http().post('/api/calls').set(bearer(org.adminKey)).send({ callId: `down-${i}`, contactId: contact.body.id, agentId: agent.id, direction: 'outbound', status: 'Busy', durationSec: 0, startedAt: new Date().toISOString() });
      expect(res.status).toBe(201);
    }
    await eventually(async () => expect((await t.db.query('SELECT count(*)::int AS n FROM calls')).rows[0].n).toBe(4));
  }, 30_000);
});

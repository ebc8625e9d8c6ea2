import { INestApplication } from '@nestjs/common';
import { IncomingHttpHeaders, request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { bearer, eventually, startPrivateRedis, startTestApp, TestApp, urlFor } from '@app/testing';

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
    t = await startTestApp({ worker: false, env: { REDIS_URL: redis.url, RATE_LIMIT_REQUESTS: '2', RATE_LIMIT_WINDOW_MS: '60000', AUTH_FAILURE_LIMIT: '2' } });
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

  it('should answer bad keys 401 past AUTH_FAILURE_LIMIT, not 429, while the failures cannot be counted', async () => {
    await (redisStopped ??= redis.stop());
    for (let i = 0; i < 5; i++) expect((await t.http().get('/api/agents').set(bearer(`fk_${randomUUID()}`))).status).toBe(401);
  }, 30_000);
});

/** One GET from the loopback address `from` (127.0.0.x), so that each test is a client address of its own. */
async function getFrom(
  app: INestApplication,
  from: string,
  path: string,
  key?: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: unknown }> {
  const server: Server = app.getHttpServer();
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const headers = { ...(key === undefined ? {} : bearer(key)), ...extra };
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress: from, headers, agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} from ${from}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Failed authentications per client address (AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW_MS): a client looping on a bad
 * key, or guessing keys, is answered 429 without a key lookup, while the keys that work behind the same address (a call
 * centre's NAT) go on working.
 */
describe('failed authentications per client address', () => {
  const LIMIT = 5;
  const WINDOW_MS = 4000;
  let t: TestApp;
  let org: Awaited<ReturnType<TestApp['createOrg']>>;

  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_MS: String(WINDOW_MS) } });
    org = await t.createOrg();
  }, 30_000);
  afterAll(() => t?.close());

  const unknownKey = () => `fk_${randomUUID().replace(/-/g, '')}`;
  /** Spends an address's failures: unknown keys and no key alike, each a 401. */
  const failAll = async (app: INestApplication, from: string) => {
    const statuses = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await getFrom(app, from, '/api/agents', i % 2 ? undefined : unknownKey())).status);
    expect(statuses).toEqual(Array(LIMIT).fill(401));
  };
  const expectRefused = (res: Awaited<ReturnType<typeof getFrom>>) => {
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.stringContaining(`at most ${LIMIT} in 4 s`) });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
  };

  /** Holds a lock on the API keys' table: a key lookup waits until it is released. */
  const lockKeyTable = async () => {
    const locker = new Client({ connectionString: urlFor(t.name) });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE');
    return async () => {
      await locker.query('ROLLBACK');
      await locker.end();
    };
  };
  const answeredWithin = (pending: Promise<unknown>, ms: number) =>
    Promise.race([pending.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

  it('should answer 429 with Retry-After past the limit without looking the key up, and keep looking up keys from other addresses', async () => {
    const address = '127.0.0.11';
    await failAll(t.app, address);
    const unlock = await lockKeyTable();
    let locked = true;
    try {
      // Answered while a lookup would wait on the lock: no query was made for them.
      expectRefused(await getFrom(t.app, address, '/api/agents', unknownKey()));
      expectRefused(await getFrom(t.app, address, '/api/agents'));
      // Another address's bad key is looked up as ever: it waits on the lock (which shows a lookup would have), then is a 401.
      const other = getFrom(t.app, '127.0.0.12', '/api/agents', unknownKey());
      expect(await answeredWithin(other, 300)).toBe(false);
      await unlock();
      locked = false;
      expect((await other).status).toBe(401);
    } finally {
      if (locked) await unlock();
    }
  }, 30_000);

  it('should serve a key that has worked or was just issued, from a refused address and on every process, while one never used waits like a bad one', async () => {
    const address = '127.0.0.21';
    const dialler = await t.createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
    // an org made by the CLI: its admin key was never seen by the API
    const unseen = await t.createOrg('Unseen');
    const second = await t.reopen(); // another API process on the same database and Redis
    try {
      // The dialler's key has worked from another address of the call centre, on this process.
      expect((await getFrom(t.app, '127.0.0.22', '/api/agents', dialler.apiKey)).status).toBe(200);
      await failAll(t.app, address);
      expectRefused(await getFrom(t.app, address, '/api/agents', unknownKey()));
      expect((await getFrom(t.app, address, '/api/agents', dialler.apiKey)).status).toBe(200);
      expect((await getFrom(t.app, address, '/api/agents', org.adminKey)).status).toBe(200);
      // The other process counts on the same window: it looks up one more key before it has seen the count, then refuses.
      const onSecond = [await getFrom(second.app, address, '/api/agents', unknownKey()), await getFrom(second.app, address, '/api/agents', unknownKey())];
      expect(onSecond[0].status).toBe(401);
      expectRefused(onSecond[1]);
      // ...and serves the keys that have worked, though never on it.
      expect((await getFrom(second.app, address, '/api/agents', dialler.apiKey)).status).toBe(200);
      // A valid key never seen cannot be told from a guess without the lookup that the limit saves: it waits the window out.
      expectRefused(await getFrom(t.app, address, '/api/agents', unseen.adminKey));
      expectRefused(await getFrom(second.app, address, '/api/agents', unseen.adminKey));
      expect((await getFrom(t.app, '127.0.0.22', '/api/agents', unseen.adminKey)).status).toBe(200);
      // A key issued by the API is known from the start (a dialler given a new key while its old one's stragglers
      // keep the address refused is served at once), on every process: a new user's, and another for the dialler.
      const fresh = await t.createUser(org.adminKey, { name: 'Dialler 2', role: 'integration' });
      const rotated = await t.http().post(`/api/users/${dialler.id}/api-keys`).set(bearer(org.adminKey)).send({ name: 'rotated' });
      expect(rotated.status).toBe(201);
      for (const key of [fresh.apiKey, rotated.body.apiKey]) {
        expect((await getFrom(second.app, address, '/api/agents', key)).status).toBe(200);
        expect((await getFrom(t.app, address, '/api/agents', key)).status).toBe(200);
      }
    } finally {
      await second.app.close();
    }
  }, 30_000);

  it('should refuse a key that has worked like any other once it stops working (its user deactivated)', async () => {
    const address = '127.0.0.31';
    const ana = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    expect((await getFrom(t.app, address, '/api/agents', ana.apiKey)).status).toBe(200);
    await failAll(t.app, address);
    expect((await getFrom(t.app, address, '/api/agents', ana.apiKey)).status).toBe(200);
    expect((await t.http().patch(`/api/users/${ana.id}`).set(bearer(org.adminKey)).send({ active: false })).status).toBe(200);
    // Looked up once more, as a key that worked, and found out; from then on it is refused unlooked-up like any other.
    expect((await getFrom(t.app, address, '/api/agents', ana.apiKey)).status).toBe(401);
    expectRefused(await getFrom(t.app, address, '/api/agents', ana.apiKey));
  }, 30_000);

  it('should answer bad keys 401 again once the window has passed', async () => {
    const address = '127.0.0.41';
    await failAll(t.app, address);
    const refused = await getFrom(t.app, address, '/api/agents', unknownKey());
    expectRefused(refused);
    await new Promise((r) => setTimeout(r, Number(refused.headers['retry-after']) * 1000 + 100));
    expect((await getFrom(t.app, address, '/api/agents', unknownKey())).status).toBe(401);
  }, 30_000);
});

describe('failed authentications with AUTH_FAILURE_LIMIT=0', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { AUTH_FAILURE_LIMIT: '0' } });
  }, 30_000);
  afterAll(() => t?.close());

  it('should answer every bad key 401, past the default limit too', async () => {
    const org = await t.createOrg();
    for (let i = 0; i < 25; i++) expect((await t.http().get('/api/agents').set(bearer(`fk_${randomUUID()}`))).status).toBe(401);
    expect((await t.http().get('/api/agents').set(bearer(org.adminKey))).status).toBe(200);
  }, 30_000);
});

describe('failed authentications behind a proxy (TRUST_PROXY)', () => {
  let t: TestApp;
  // 127.0.0.51 is the load balancer: its X-Forwarded-For names the client. Any other peer's header is not believed.
  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_MS: '60000', TRUST_PROXY: '127.0.0.51' } });
  });
  afterAll(async () => t?.close());
  const unknownKey = () => `fk_${randomUUID().replace(/-/g, '')}`;

  it("should count each client the trusted proxy names on its own, and a direct client's forwarded header not at all", async () => {
    const viaProxy = (client: string, key = unknownKey()) => getFrom(t.app, '127.0.0.51', '/api/agents', key, { 'x-forwarded-for': client });
    for (let i = 0; i < 3; i++) expect((await viaProxy('203.0.113.7')).status).toBe(401);
    expect((await viaProxy('203.0.113.7')).status).toBe(429);
    // another client behind the same proxy is not the one that failed
    expect((await viaProxy('203.0.113.8')).status).toBe(401);

    // a direct client cannot dodge its count by naming other addresses
    const direct = (client: string) => getFrom(t.app, '127.0.0.52', '/api/agents', unknownKey(), { 'x-forwarded-for': client });
    for (let i = 0; i < 3; i++) expect((await direct(`198.51.100.${i}`)).status).toBe(401);
    expect((await direct('198.51.100.9')).status).toBe(429);
  });
});

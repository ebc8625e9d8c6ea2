import pino from 'pino';
import Redis from 'ioredis';
import { rootLogger } from '@app/shared';
import { bearer, scrapedMetric, startPrivateRedis, startTestApp, TestApp } from '@app/testing';

describe('foundation over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('should answer ready when Postgres and Redis answer', async () => {
    const res = await t.http().get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.details).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
  });

  it('should let an org admin create an agent whose key works once shown', async () => {
    const org = await t.createOrg();
    const res = await t.http().post('/api/users').set(bearer(org.adminKey)).send({ name: 'Ana', role: 'agent', branch: 'North' });
    expect(res.status).toBe(201);
    expect(res.body.apiKey).toMatch(/^fk_/);
    const agents = await t.http().get('/api/agents').set(bearer(res.body.apiKey));
    expect(agents.status).toBe(200);
    expect(agents.body.agents.map((a: { name: string }) => a.name)).toEqual(['Ana']);
  });

  it('should count every answer in http_request_duration_seconds by route pattern, refusals included', async () => {
    const org = await t.createOrg();
    const count = (labels: Record<string, string>) => scrapedMetric(t, 'http_request_duration_seconds_count', labels);
    const missing = { method: 'GET', route: '/api/contacts/:id', status: '404' };
    const unauthorized = { method: 'GET', route: '/api/contacts/:id', status: '401' };
    const unmatched = { method: 'GET', route: 'unmatched', status: '404' };
    const before = [await count(missing), await count(unauthorized), await count(unmatched)];
    const id = '00000000-0000-4000-8000-000000000000';
    expect((await t.http().get(`/api/contacts/${id}`).set(bearer(org.adminKey))).status).toBe(404);
    expect((await t.http().get(`/api/contacts/${id}`).set(bearer(org.adminKey))).status).toBe(404);
    expect((await t.http().get(`/api/contacts/${id}`)).status).toBe(401);
    expect((await t.http().get('/api/no-such-route')).status).toBe(404);
    expect([await count(missing), await count(unauthorized), await count(unmatched)]).toEqual([before[0] + 2, before[1] + 1, before[2] + 1]);
  });

  it('should count each event an async consumer handles in projection_event_lag_seconds, per consumer, and show its last round', async () => {
    const count = (consumer: string) => scrapedMetric(t, 'projection_event_lag_seconds_count', { consumer });
    const before = await count('call-report');
    const org = await t.createOrg();
    // Three users: three UserCreated events the call report keeps (branch and department per user).
    for (const name of ['A', 'B', 'C']) expect((await t.http().post('/api/users').set(bearer(org.adminKey)).send({ name, role: 'agent' })).status).toBe(201);
    const deadline = Date.now() + 10_000;
    while ((await count('call-report')) < before + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await count('call-report')).toBeGreaterThanOrEqual(before + 3);
    // and when each consumer last committed a round (for an alert on a stuck one), none of them failing here
    const lastRound = await scrapedMetric(t, 'consumer_last_round_timestamp_seconds', { consumer: 'call-report' });
    expect(Math.abs(lastRound - Date.now() / 1000)).toBeLessThan(60);
    expect(await scrapedMetric(t, 'consumer_failures_total')).toBe(0);
  });

  it('should answer with the caller\'s x-request-id, or a new one', async () => {
    const given = await t.http().get('/api/agents').set('x-request-id', 'dialler-42');
    expect(given.headers['x-request-id']).toBe('dialler-42');
    const fresh = await t.http().get('/health/live');
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

/**
 * The lines the app's root logger for `level` writes (one logger per level and destination), caught here instead of
 * written to stdout, until `restore()`.
 */
function captureLogs(level: string): { lines: Record<string, unknown>[]; restore: () => void } {
  const lines: Record<string, unknown>[] = [];
  const stream = (rootLogger(level, 'stdout') as unknown as Record<symbol, { write: (s: string) => boolean }>)[pino.symbols.streamSym];
  const write = stream.write;
  stream.write = (s: string) => {
    lines.push(JSON.parse(s));
    return true;
  };
  return { lines, restore: () => (stream.write = write) };
}

describe('request logs', () => {
  let t: TestApp;
  let lines: Record<string, unknown>[] = [];
  let restore: () => void;
  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { LOG_LEVEL: 'info' } });
    ({ lines, restore } = captureLogs('info'));
  });
  afterAll(async () => {
    restore?.();
    await t?.close();
  });

  it('should write one line per request with its id and status, never its key, and none for probes', async () => {
    const org = await t.createOrg();
    lines.length = 0;
    expect((await t.http().get('/api/agents').set(bearer(org.adminKey)).set('x-request-id', 'trace-7')).status).toBe(200);
    expect((await t.http().get('/health/live').set('x-request-id', 'trace-8')).status).toBe(200);
    const mine = lines.filter((l) => l.reqId === 'trace-7');
    expect(mine).toEqual([expect.objectContaining({ msg: 'request completed', req: { method: 'GET', url: '/api/agents' }, res: { statusCode: 200 } })]);
    expect(lines.filter((l) => l.reqId === 'trace-8')).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain(org.adminKey);
  });

  it('should not write what a contact search looks for (a name or phone number) into the request log', async () => {
    const org = await t.createOrg();
    lines.length = 0;
    const res = await t.http().get('/api/contacts?limit=5&q=%2B14155550123&status=ACTIVE').set(bearer(org.adminKey)).set('x-request-id', 'trace-q');
    expect(res.status).toBe(200);
    expect(lines.filter((l) => l.reqId === 'trace-q')).toEqual([
      expect.objectContaining({ msg: 'request completed', req: { method: 'GET', url: '/api/contacts?limit=5&q=[redacted]&status=ACTIVE' } }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('4155550123');
  });

  it("should carry the request's id on what the app logs while it runs", async () => {
    const org = await t.createOrg();
    await t.db.query('ALTER TABLE users RENAME TO users_away');
    try {
      expect((await t.http().get('/api/agents').set(bearer(org.adminKey)).set('x-request-id', 'trace-500')).status).toBe(500);
    } finally {
      await t.db.query('ALTER TABLE users_away RENAME TO users');
    }
    expect(lines.filter((l) => l.reqId === 'trace-500').map((l) => l.msg)).toEqual(['unhandled error', 'request completed']);
  });
});

describe('readiness when Redis is unreachable', () => {
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let redisStopped: Promise<void> | undefined;
  /** A process running workers, and an API-only one (`--api-only`), on the same Redis. */
  let t: TestApp;
  let api: TestApp;
  const sharedRedis = process.env.REDIS_URL;
  let lines: { msg?: unknown }[] = [];
  let restore: () => void;
  beforeAll(async () => {
    // A Redis of these apps' own, to stop without touching anyone else's.
    redis = await startPrivateRedis();
    t = await startTestApp({ worker: true, env: { REDIS_URL: redis.url, LOG_LEVEL: 'warn' } });
    api = await startTestApp({ worker: false, env: { REDIS_URL: redis.url, LOG_LEVEL: 'warn' } });
    ({ lines, restore } = captureLogs('warn'));
  });
  afterAll(async () => {
    restore?.();
    // Back to the shared Redis first: close() clears this app's keys from the Redis the environment names.
    if (sharedRedis === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = sharedRedis;
    await t?.close();
    await api?.close();
    await (redisStopped ?? redis?.stop());
  }, 60_000);

  it('should answer 503 naming the redis check, with postgres up, and not as a database outage, where workers run', async () => {
    expect((await t.http().get('/health/ready')).status).toBe(200);
    expect((await api.http().get('/health/ready')).status).toBe(200);
    // Redis stops answering for a while (a process running workers would wait to close on a Redis that is gone)
    const admin = new Redis(redis.url);
    await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
    admin.disconnect();
    const res = await t.http().get('/health/ready');
    // /metrics answers at once, without the queues' depths it cannot read while Redis is silent (regression: a scrape
    // waited for Redis, for as long as it was away, on every role)
    const scraped = await api.http().get('/metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('http_request_duration_seconds');
    expect(scraped.text).not.toMatch(/^queue_depth\{/m);
    expect(res.status).toBe(503);
    // The probe is public: it says which check is down and how, never the driver's error (hosts, ports, roles).
    const down = { status: 'down', message: expect.stringMatching(/^(unreachable|timeout)$/) };
    expect(res.body).toEqual({
      status: 'error',
      info: { postgres: { status: 'up' } },
      error: { redis: down },
      details: { postgres: { status: 'up' }, redis: down },
    });
    expect(JSON.stringify(res.body)).not.toContain(new URL(redis.url).port);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(lines.map((l) => l.msg)).not.toContain('database unavailable');
    // the operator finds the detail in the log
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'readiness check failed', check: 'redis' }));
  }, 30_000);

  it('should answer 200 from an API-only process, which serves pushes without Redis, showing Redis down in details', async () => {
    await t.close(); // (its workers would wait for Redis to close)
    t = undefined as unknown as TestApp;
    await (redisStopped = redis.stop());
    const res = await api.http().get('/health/ready');
    const down = { status: 'down', message: expect.stringMatching(/^(unreachable|timeout)$/) };
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { status: 'ok', info: { postgres: { status: 'up' } }, error: {}, details: { postgres: { status: 'up' }, redis: down } },
    });
    // and it does serve: a contact is created and a call pushed with Redis gone (the rate limit lets them through)
    const org = await api.createOrg();
    const created = await api.http().post('/api/contacts').set(bearer(org.adminKey)).send({ name: 'Lead', phone: '+14155550142' });
    expect(created.status).toBe(201);
  }, 30_000);
});

describe('/metrics behind METRICS_TOKEN', () => {
  const token = 'scrape-7f3a9c1e5b2d4f60';
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { METRICS_TOKEN: token } });
  });
  afterAll(async () => t?.close());

  it('should answer a scrape with the token, and 401 to one without it, with another, or with an API key', async () => {
    const org = await t.createOrg();
    const ok = await t.http().get('/metrics').set('Authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('http_request_duration_seconds');
    for (const authorization of [undefined, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, token, `Bearer ${org.adminKey}`]) {
      const req = t.http().get('/metrics');
      const res = await (authorization === undefined ? req : req.set('Authorization', authorization));
      expect({ authorization, status: res.status, challenge: res.headers['www-authenticate'], leaks: res.text.includes('http_request_duration_seconds') }).toEqual({
        authorization,
        status: 401,
        challenge: 'Bearer',
        leaks: false,
      });
    }
    // The probes stay public: an orchestrator has no token.
    expect((await t.http().get('/health/ready')).status).toBe(200);
  });
});

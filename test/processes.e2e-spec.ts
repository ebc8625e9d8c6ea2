import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Database } from '@app/shared';
import { MIGRATIONS } from '@app/shared/database/migrations';
import Redis from 'ioredis';
import { Queue } from 'bullmq';
import { EXPIRE_FOLLOW_UPS } from '@app/follow-ups';
import { QueueName, redisOptions } from '@app/queue';
import { hashApiKey } from '@app/tenancy';
import {
  createTestDatabase,
  eventually,
  flushPrefix,
  freePort,
  runTs,
  spawnTs,
  startHttpSink,
  startPrivateRedis,
  testEnvironment,
  urlFor,
  withAdmin,
} from '@app/testing';

const CLI = 'apps/cli/src/main.ts';
/** The JSON log lines in a process's output (anything else, such as a library's plain console line, left out). */
const logLines = (output: string) =>
  output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as { level: number; msg?: string; context?: string; [field: string]: unknown }];
    } catch {
      return [];
    }
  });
const dump = async (db: Database) =>
  Promise.all(['organizations', 'users', 'api_keys'].map(async (t) => (await db.query(`SELECT * FROM ${t} ORDER BY id`)).rows));

describe('processes a user runs', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = testEnvironment(database);
  });
  afterAll(async () => {
    await flushPrefix(database.name);
    await database?.drop();
  });

  it('should create an organization from the CLI and print only its admin key, and the id to revoke it by, as JSON', async () => {
    const { code, stdout, stderr } = await runTs(CLI, ['org:create', '--name', 'Acme', '--timezone', 'Europe/Madrid'], env);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(stdout);
    expect(out).toEqual({ orgId: expect.any(String), adminUserId: expect.any(String), adminKey: expect.stringMatching(/^fk_/), adminKeyId: expect.any(String) });
    const db = new Database(database.url, 2);
    try {
      const { rows } = await db.query('SELECT name, timezone FROM organizations WHERE id = $1', [out.orgId]);
      expect(rows).toEqual([{ name: 'Acme', timezone: 'Europe/Madrid' }]);
      const keys = await db.query('SELECT id, user_id AS "userId", prefix FROM api_keys WHERE org_id = $1', [out.orgId]);
      expect(keys.rows).toEqual([{ id: out.adminKeyId, userId: out.adminUserId, prefix: out.adminKey.slice(0, 10) }]);
      // known valid to the failed-authentication limit from the start, as a key the API issues (docs/operations.md)
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      try {
        expect(await redis.pttl(`${database.name}:ratelimit:known-key:${hashApiKey(out.adminKey)}`)).toBeGreaterThan(0);
      } finally {
        redis.disconnect();
      }
    } finally {
      await db.close();
    }
  }, 180_000);

  it('should refuse org:create without a name or with a bad time zone, naming the option', async () => {
    const noName = await runTs(CLI, ['org:create'], env);
    expect(noName.code).not.toBe(0);
    expect(noName.stderr).toContain('--name');
    const badZone = await runTs(CLI, ['org:create', '--name', 'X', '--timezone', 'Mars/Base'], env);
    expect(badZone.code).not.toBe(0);
    expect(badZone.stderr).toContain('--timezone');
  }, 180_000);

  it('should rebuild a projection from the CLI to exactly the live tables', async () => {
    await runTs(CLI, ['org:create', '--name', 'Beta'], env);
    const db = new Database(database.url, 2);
    try {
      const live = await dump(db);
      expect(live[0].length).toBeGreaterThanOrEqual(2);
      const { code, stdout } = await runTs(CLI, ['projection:rebuild', 'tenancy'], env);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ projection: 'tenancy', events: live[0].length * 3 });
      expect(await dump(db)).toEqual(live);
      const unknown = await runTs(CLI, ['projection:rebuild', 'nope'], env);
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain('unknown projection nope');
    } finally {
      await db.close();
    }
  }, 180_000);

  it('should end jobs:reconcile with exit 1 naming Redis when no Redis answers, not hang, printing only that line', async () => {
    // A recovery runbook or a Kubernetes Job run before Redis is back, or with a wrong REDIS_URL: it waited forever.
    // (a hang fails on this test's own timeout). At the CLI's default log level (LOG_LEVEL empty: warn) it printed some
    // 18 error lines with stack traces (a queue's connection error each second) and a policy warning before its message.
    const { code, stdout, stderr } = await runTs(CLI, ['jobs:reconcile'], { ...env, REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: '' });
    expect({ code, stdout, stderr }).toEqual({ code: 1, stdout: '', stderr: 'jobs:reconcile: no answer from Redis within 15000 ms\n' });
  }, 120_000);

  it('should exit 0 on --help, say an unknown command once, and name Postgres and DATABASE_URL when it does not answer', async () => {
    const help = await runTs(CLI, ['--help'], env);
    // it exited 1 with "(outputHelp)" on stderr
    expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
    expect(help.stdout).toContain('jobs:reconcile');
    const unknown = await runTs(CLI, ['bogus'], env);
    // printed twice, by commander and again by the CLI's handler
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 1, stderr: "error: unknown command 'bogus'\n" });
    const noPostgres = await runTs(CLI, ['migrate'], { ...env, DATABASE_URL: 'postgres://ops:hunter2@127.0.0.1:1/followups?password=hunter3' });
    // it said only "connect ECONNREFUSED 127.0.0.1:1"
    expect(noPostgres.code).toBe(1);
    expect(noPostgres.stderr).toMatch(/^Postgres did not accept a connection \(DATABASE_URL=postgres:\/\/ops@127\.0\.0\.1:1\/followups, [^)]*\): connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
    expect(noPostgres.stderr).not.toMatch(/hunter/);
  }, 180_000);

  it('should print only the JSON answer on stdout, and its warnings on stderr, when Redis may evict keys', async () => {
    // A Redis of its own: the warning must not depend on how the machine's shared Redis is configured.
    const lru = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru']);
    try {
      // LOG_DESTINATION empty, as a compose file passing an unset variable sends it: the CLI's default, stderr
      const { code, stdout, stderr } = await runTs(CLI, ['org:create', '--name', 'Lru'], { ...env, REDIS_URL: lru.url, LOG_LEVEL: 'warn', LOG_DESTINATION: '' });
      expect(code).toBe(0);
      expect(stdout.split('\n')).toEqual([expect.any(String), '']);
      expect(JSON.parse(stdout)).toEqual({ orgId: expect.any(String), adminUserId: expect.any(String), adminKey: expect.stringMatching(/^fk_/), adminKeyId: expect.any(String) });
      const logged = stderr.split('\n').flatMap((line) => {
        try {
          return [JSON.parse(line) as { level: number; msg: string; maxmemoryPolicy?: string }];
        } catch {
          return []; // BullMQ's own console warning about the policy is plain text
        }
      });
      expect(logged).toContainEqual(expect.objectContaining({ level: 40, maxmemoryPolicy: 'allkeys-lru', msg: expect.stringContaining('not noeviction') }));
    } finally {
      await lru.stop();
    }
  }, 180_000);

  it('should list every migration it applied to a new database once, and none the second time', async () => {
    const name = `fu_test_${process.env.FU_TEST_RUN}_${randomBytes(4).toString('hex')}`;
    const fresh = { ...env, DATABASE_URL: urlFor(name) };
    try {
      const first = await runTs(CLI, ['migrate'], fresh);
      expect(first).toMatchObject({ code: 0 });
      const names = MIGRATIONS.map((M) => new M().name);
      expect(names.length).toBeGreaterThan(0);
      expect(JSON.parse(first.stdout)).toEqual({ applied: names });
      const second = await runTs(CLI, ['migrate'], fresh);
      expect({ code: second.code, stdout: second.stdout }).toEqual({ code: 0, stdout: '{"applied":[]}\n' });
    } finally {
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    }
  }, 180_000);

  it('should refuse to boot with a readable message when the configuration is bad', async () => {
    const { code, stderr } = await runTs('apps/api/src/main.ts', [], { ...env, PORT: 'eighty', REDIS_URL: 'localhost:6379' });
    expect(code).toBe(1);
    expect(stderr).toContain('Invalid configuration');
    expect(stderr).toContain('PORT="eighty"');
    expect(stderr).toContain('REDIS_URL must be a redis:// URL');
  }, 180_000);

  it('should serve /health/ready from the run command and exit cleanly on SIGTERM', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const server = spawnTs('apps/api/src/main.ts', [], { ...env, PORT: String(port) });
    let stderr = '';
    server.stderr!.on('data', (d) => (stderr += d));
    try {
      const ready = await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        return (await res.json()) as { status: string };
      }, 60_000, 200);
      expect(ready.status).toBe('ok');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('http_request_duration_seconds');
      expect(metrics).toContain('queue_depth');
    } finally {
      server.kill('SIGTERM');
    }
    // Nest closes the app (workers finish their jobs, pools close) and exits 0. It re-raised the signal: exit status 143
    // to a shell or Docker, as if the stop had failed, and no exit at all as PID 1 (which ignores it) without an init.
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => server.once('exit', (c, s) => r([c, s])));
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  }, 90_000);

  it('should exit 1, saying why, when a stop takes longer than SHUTDOWN_TIMEOUT_MS', async () => {
    // Closing waits for the running jobs; with Redis away BullMQ's close never ends (taskforcesh/bullmq#4656) and the
    // process waited for a SIGKILL. Here a webhook's receiver holds its delivery (10 s timeout) past a 2 s deadline.
    const { stdout: created } = await runTs(CLI, ['org:create', '--name', 'Slow stop', '--timezone', 'UTC'], env);
    const { adminKey } = JSON.parse(created) as { adminKey: string };
    const hook = await startHttpSink();
    hook.hold();
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const server = spawnTs('apps/api/src/main.ts', [], { ...env, PORT: String(port), SHUTDOWN_TIMEOUT_MS: '2000', LOG_LEVEL: 'info' });
    let stdout = '';
    server.stdout!.on('data', (d) => (stdout += d));
    const exited = new Promise<[number | null, string | null]>((r) => server.once('exit', (c, s) => r([c, s])));
    try {
      const call = async (method: string, path: string, body: unknown) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect({ path, status: res.status }).toEqual({ path, status: method === 'POST' ? 201 : 200 });
        return (await res.json()) as { id: string };
      };
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200), 60_000, 200);
      await call('PATCH', '/api/settings', { webhooks: { allowHttpHosts: ['127.0.0.1'] } });
      const contact = await call('POST', '/api/contacts', { name: 'Lead', phone: '+14155550199' });
      await call('POST', `/api/contacts/${contact.id}/follow-ups`, { type: 'webhook', url: `${hook.url}/due`, scheduledAt: new Date().toISOString() });
      await eventually(() => expect(hook.requests).toHaveLength(1), 30_000, 50);
      const stopped = Date.now();
      server.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(1);
      expect(Date.now() - stopped).toBeLessThan(8000); // the deadline, not the delivery's 10 s timeout
      // its text in `msg`, where every other line has it (it was in `context`, with no `msg`); so the boot's line
      const lines = logLines(stdout);
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 50, context: 'Shutdown', signal: 'SIGTERM', shutdownTimeoutMs: 2000, msg: expect.stringMatching(/^shutdown did not finish in SHUTDOWN_TIMEOUT_MS: exiting with code 1/) }),
      );
      expect(lines).toContainEqual(expect.objectContaining({ level: 30, context: 'Bootstrap', port, msg: 'follow-up engine listening' }));
    } finally {
      server.kill('SIGKILL');
      await hook.close();
    }
  }, 120_000);
  it('should listen, serve and take pushes when started while Redis is down, and set the expiry schedule once Redis answers', async () => {
    // A worker or all-in-one process started during a Redis outage waited in its boot (the expiry schedule's upsert) and
    // neither listened nor logged until Redis came back: /health/live refused, and every dialler push with it.
    const { stdout: created } = await runTs(CLI, ['org:create', '--name', 'Redis away', '--timezone', 'UTC'], env);
    const { adminKey } = JSON.parse(created) as { adminKey: string };
    const redisPort = await freePort(); // nothing listens there until Redis is started on it below
    const port = await freePort();
    const server = spawnTs('apps/api/src/main.ts', [], { ...env, PORT: String(port), REDIS_URL: `redis://127.0.0.1:${redisPort}`, LOG_LEVEL: 'warn' });
    let stdout = '';
    server.stdout!.on('data', (d) => (stdout += d));
    const exited = new Promise<[number | null, string | null]>((r) => server.once('exit', (c, s) => r([c, s])));
    const url = (path: string) => `http://127.0.0.1:${port}${path}`;
    let redis: Awaited<ReturnType<typeof startPrivateRedis>> | undefined;
    try {
      await eventually(async () => expect((await fetch(url('/health/live'))).status).toBe(200), 60_000, 200);
      const up = Date.now();
      const ready = await fetch(url('/health/ready'));
      expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 503, body: { error: { redis: { status: 'down', message: 'unreachable' } } } });
      const post = async (path: string, body: unknown) => {
        const res = await fetch(url(path), { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect({ path, status: res.status }).toEqual({ path, status: 201 });
        return (await res.json()) as { id: string; status?: string };
      };
      const agent = await post('/api/users', { name: 'Ana', role: 'agent' });
      const contact = await post('/api/contacts', { name: 'Lead', phone: '+14155550123', assignedAgentId: agent.id });
      const pushed = await post('/api/calls', { callId: randomUUID(), contactId: contact.id, agentId: agent.id, direction: 'outbound', status: 'Called', durationSec: 42, startedAt: new Date().toISOString() });
      expect(pushed.status).toBe('accepted');

      // It says Redis does not answer (not that its policy may evict keys), and the connection errors of its queues and
      // workers, one each a second, in one line a minute.
      await new Promise((r) => setTimeout(r, Math.max(0, 4000 - (Date.now() - up))));
      const lines = logLines(stdout);
      expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/^Redis does not answer \(connect ECONNREFUSED [^)]*\): starting without it/) }));
      expect(lines.filter((l) => l.msg?.startsWith('Redis does not answer: '))).toEqual([expect.objectContaining({ level: 40, code: 'ECONNREFUSED' })]);
      expect(lines.filter((l) => l.level >= 50 || /not noeviction/.test(l.msg ?? ''))).toEqual([]);

      // Redis comes back (one that may evict keys): the expiry schedule is set, the workers run, the process is ready,
      // and the eviction policy is checked now that Redis answers
      redis = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru'], { port: redisPort });
      const maintenance = new Queue(QueueName.Maintenance, { connection: redisOptions(redis.url), prefix: database.name });
      try {
        await eventually(async () => expect(await maintenance.getJobScheduler(EXPIRE_FOLLOW_UPS)).toMatchObject({ key: EXPIRE_FOLLOW_UPS }), 30_000, 200);
      } finally {
        await maintenance.close();
      }
      await eventually(async () => expect((await fetch(url('/health/ready'))).status).toBe(200), 30_000, 200);
      await eventually(
        () => expect(logLines(stdout)).toContainEqual(expect.objectContaining({ level: 40, maxmemoryPolicy: 'allkeys-lru', msg: expect.stringContaining('not noeviction') })),
        10_000,
        100,
      );
    } finally {
      server.kill('SIGTERM');
      await exited;
      await redis?.stop();
    }
  }, 180_000);

  it('should log a Redis outage in one line a minute, not a queue error a second, in an API-only process', async () => {
    // An API-only process logged `JobQueues queue error … ECONNREFUSED` at level 50 about once a second (70 lines over an outage).
    const port = await freePort();
    const server = spawnTs('apps/api/src/main.ts', ['--api-only'], { ...env, PORT: String(port), REDIS_URL: `redis://127.0.0.1:${await freePort()}`, LOG_LEVEL: 'warn' });
    let stdout = '';
    server.stdout!.on('data', (d) => (stdout += d));
    const exited = new Promise<[number | null, string | null]>((r) => server.once('exit', (c, s) => r([c, s])));
    try {
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200), 60_000, 200);
      await new Promise((r) => setTimeout(r, 5000));
      const lines = logLines(stdout);
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
      expect(lines.filter((l) => l.msg?.startsWith('Redis does not answer: '))).toEqual([
        expect.objectContaining({ level: 40, context: 'Redis', code: 'ECONNREFUSED', suppressed: 0 }),
      ]);
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});

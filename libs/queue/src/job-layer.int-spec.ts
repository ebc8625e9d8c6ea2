import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Logger, Module, Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { spawn } from 'node:child_process';
import { AddressInfo, connect, createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Database, PlatformModule } from '@app/shared';
import { ANY, EventStore, EventStoreModule } from '@app/event-store';
import {
  createTestDatabase,
  eventually,
  PROBE_REQUESTED,
  PROBE_TABLE_SQL,
  ProbeJobHandler,
  ProbeJobSource,
  ProbeJobsModule,
  startPrivateRedis,
  testEnvironment,
} from '@app/testing';
import { ProcessorsModule } from '../../../apps/worker/src/processors.module';
import { AsJobSource, HandlesJob } from './job.decorators';
import { JobReconciler } from './job-reconciler';
import { QueueName } from './queue.constants';
import { QueueModule } from './queue.module';
import { redisOptions } from './redis-options';
import { RedisPolicyCheck } from './redis-policy.check';

const ROOT = join(__dirname, '../../..');
const HOUR = 3600_000;

describe('job layer', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let db: Database;
  const orgId = randomUUID();

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    Object.assign(process.env, testEnvironment(database, { REDIS_URL: redis.url }));
    db = new Database(database.url, 5);
    await db.query(PROBE_TABLE_SQL);
  });
  afterAll(async () => {
    await db?.close();
    await redis?.stop();
    await database?.drop();
  });

  const maintenance = () => new Queue(QueueName.Maintenance, { connection: redisOptions(redis.url), prefix: database.name });

  /** Appends probe events through a store-only context (no consumers): the "API" side of the crash test. */
  async function appendProbes(count: number, runAt: number, extra: Record<string, unknown> = {}): Promise<void> {
    const ctx = await NestFactory.createApplicationContext(
      (() => {
        @Module({ imports: [PlatformModule.forRoot(), EventStoreModule.forRoot({ runConsumers: false })] })
        class StoreOnly {}
        return StoreOnly;
      })(),
      { logger: false },
    );
    const store = ctx.get(EventStore);
    const streams = Array.from({ length: 50 }, () => `probe-${randomUUID()}`);
    for (let i = 0; i < count; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, (_, k) =>
          store.append(streams[(i + k) % 50], [{ type: PROBE_REQUESTED, data: { runAt, ...extra } }], {
            expectedVersion: ANY,
            metadata: { orgId, occurredAt: new Date().toISOString() },
          }),
        ),
      );
    }
    await ctx.close();
  }

  const spawnOutbox = () =>
    spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'libs/testing/src/fixtures/outbox-process.ts'], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });

  it('should enqueue every job exactly once when the outbox process is killed mid-stream and restarted', async () => {
    const TOTAL = 20_000;
    // Appended while no worker runs: the "crash between append and enqueue" case.
    await appendProbes(TOTAL, Date.now() + HOUR);
    const queue = maintenance();
    try {
      const first = spawnOutbox();
      let atKill = 0;
      await eventually(async () => {
        atKill = await queue.getDelayedCount();
        if (atKill === 0) throw new Error('nothing enqueued yet');
      }, 60_000, 5);
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      expect(atKill).toBeLessThan(TOTAL); // it really died part-way

      const second = spawnOutbox();
      try {
        await eventually(async () => expect(await queue.getDelayedCount()).toBe(TOTAL), 90_000, 100);
        // Caught up: the checkpoint is past every event, and nothing more arrives.
        await eventually(async () => {
          const { rows } = await db.query(`SELECT count(*)::int AS n FROM events e, consumer_checkpoints c
            WHERE c.name = 'job-outbox' AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)`);
          expect(rows[0].n).toBe(0);
        }, 30_000, 100);
        const ids = new Set((await queue.getDelayed(0, TOTAL)).map((j) => j.id));
        expect(ids.size).toBe(TOTAL);
      } finally {
        second.kill('SIGTERM');
        await new Promise((r) => second.once('exit', r));
      }
    } finally {
      await queue.close();
    }
  }, 180_000);

  it('should re-create every pending job from Postgres after FLUSHALL', async () => {
    const queue = maintenance();
    const admin = await Test.createTestingModule({
      imports: [PlatformModule.forRoot(), EventStoreModule.forRoot({ runConsumers: false }), QueueModule, ProbeJobsModule],
    }).compile();
    const app = admin.createNestApplication(new FastifyAdapter());
    await app.init();
    try {
      const before = (await queue.getDelayed(0, 100_000)).map((j) => j.id).sort();
      expect(before).toHaveLength(20_000);
      const flusher = new Redis(redis.url);
      await flusher.flushall();
      flusher.disconnect();
      expect(await queue.getDelayedCount()).toBe(0);

      const { jobs } = await app.get(JobReconciler).reconcile();
      expect(jobs).toBe(20_000);
      expect((await queue.getDelayed(0, 100_000)).map((j) => j.id).sort()).toEqual(before);
      // Reconciling again adds nothing: the ids are deterministic.
      await app.get(JobReconciler).reconcile();
      expect(await queue.getDelayedCount()).toBe(20_000);
    } finally {
      await app.close();
      await queue.close();
    }
  }, 120_000);

  describe('processors', () => {
    const bootWorker = async (extraProviders: Provider[] = []) => {
      const moduleRef = await Test.createTestingModule({
        imports: [PlatformModule.forRoot(), EventStoreModule.forRoot({ runConsumers: true }), QueueModule, ProbeJobsModule, ProcessorsModule],
        providers: extraProviders,
      }).compile();
      const app = moduleRef.createNestApplication(new FastifyAdapter());
      try {
        await app.init();
      } catch (err) {
        await app.close().catch(() => undefined);
        throw err;
      }
      return app;
    };

    beforeAll(async () => {
      const flusher = new Redis(redis.url);
      await flusher.flushall();
      flusher.disconnect();
    });

    it('should run a due job once and leave no completed job in Redis', async () => {
      const app = await bootWorker();
      const queue = maintenance();
      try {
        await appendProbes(30, Date.now());
        await eventually(async () => {
          const { rows } = await db.query(`SELECT count(*)::int AS n, max(runs) AS most FROM probe_done`);
          expect(rows[0]).toEqual({ n: 30, most: 1 });
        }, 30_000);
        await eventually(async () => expect(await queue.getJobCounts('completed', 'active', 'wait', 'delayed')).toEqual({ completed: 0, active: 0, wait: 0, delayed: 0 }));
      } finally {
        await app.close();
        await queue.close();
      }
    }, 60_000);

    it('should let a running job finish when the worker shuts down', async () => {
      await db.query('TRUNCATE probe_done');
      const app = await bootWorker();
      const queue = maintenance();
      try {
        await appendProbes(1, Date.now(), { slowMs: 1500 });
        const job = await eventually(async () => {
          const [active] = await queue.getActive();
          if (!active) throw new Error('not active yet');
          return active;
        }, 30_000, 10);
        expect(job.name).toBe('probe.run');
      } finally {
        await app.close(); // waits for the running job
        await queue.close();
      }
      const { rows } = await db.query('SELECT runs FROM probe_done');
      expect(rows).toEqual([{ runs: 1 }]);
    }, 60_000);

    it('should log a job BullMQ fails for stalling too often, naming it, and a handler failure once', async () => {
      const app = await bootWorker();
      const queue = maintenance();
      const error = jest.spyOn(Logger.prototype, 'error');
      try {
        // What BullMQ's stalled-job check writes on a job that stalled more often than allowed (moveStalledJobsToWait):
        // the next worker to take it fails it without running it.
        const jobId = `probe.stalled.${randomUUID()}`;
        await queue.add('probe.run', { streamId: randomUUID(), version: 1 }, { jobId, delay: 1000 });
        const raw = new Redis(redis.url);
        await raw.hset(`${database.name}:${QueueName.Maintenance}:${jobId}`, 'defa', 'job stalled more than allowable limit');
        raw.disconnect();
        await eventually(async () => expect((await queue.getFailed()).map((j) => j.id)).toContain(jobId), 30_000);
        await eventually(() =>
          expect(error).toHaveBeenCalledWith(expect.objectContaining({ job: 'probe.run', jobId }), 'job failed outside its handler: job stalled more than allowable limit'),
        );
        // a job nobody handles is one too (it used to be logged nowhere)
        const unknown = `probe.unknown.${randomUUID()}`;
        await queue.add('no.such.job', {}, { jobId: unknown, attempts: 1 });
        await eventually(() =>
          expect(error).toHaveBeenCalledWith(expect.objectContaining({ job: 'no.such.job', jobId: unknown }), 'job failed outside its handler: no handler for job no.such.job'),
        );
        // a job whose handler throws (its table is away) is logged by the processor, not again when BullMQ fails it
        await db.query('ALTER TABLE probe_done RENAME TO probe_done_away');
        const failing = `probe.fails.${randomUUID()}`;
        await queue.add('probe.run', { streamId: randomUUID(), version: 1 }, { jobId: failing, attempts: 1 });
        await eventually(async () => expect((await queue.getFailed()).map((j) => j.id)).toContain(failing), 30_000);
        await new Promise((r) => setTimeout(r, 200));
        expect(error.mock.calls.filter(([fields]) => (fields as { jobId?: string })?.jobId === failing)).toEqual([
          [expect.objectContaining({ job: 'probe.run', jobId: failing }), 'job failed'],
        ]);
      } finally {
        await db.query('ALTER TABLE IF EXISTS probe_done_away RENAME TO probe_done');
        error.mockRestore();
        await app.close();
        await queue.close();
      }
    }, 60_000);

    it('should let the job outbox finish its round, jobs enqueued, before a shutdown closes the queues', async () => {
      await db.query('TRUNCATE probe_done');
      const app = await bootWorker();
      const queue = maintenance();
      const errors: unknown[] = [];
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation((...args: unknown[]) => void errors.push(args));
      try {
        const runAt = Date.now() + HOUR;
        const inSource = new Promise<void>((resolve) => (ProbeJobSource.onSlowSource = resolve));
        // One event: with more, a round might hold only those committed first, and the rest is rightly left to the next process.
        await appendProbes(1, runAt, { sourceDelayMs: 1500 });
        await inSource; // the outbox's round is under way: its job is not in Redis yet
        await app.close();
        const ids = (await queue.getDelayed(0, 100)).map((j) => j.id);
        expect(ids).toHaveLength(1);
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM events e, consumer_checkpoints c
          WHERE c.name = 'job-outbox' AND e.type = $1 AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)`, [PROBE_REQUESTED]);
        expect(rows[0].n).toBe(0); // and its checkpoint committed
        expect(errors).toEqual([]);
      } finally {
        ProbeJobSource.onSlowSource = null;
        logged.mockRestore();
        await app.close().catch(() => undefined);
        await queue.obliterate({ force: true });
        await queue.close();
      }
    }, 60_000);

    it('should refuse to start when two handlers claim one job', async () => {
      @HandlesJob('probe.run')
      class SecondProbeHandler extends ProbeJobHandler {}
      await expect(bootWorker([SecondProbeHandler])).rejects.toThrow('job probe.run has two handlers');
    });

    it('should refuse to start when a source makes a job nobody handles', async () => {
      @AsJobSource()
      class OrphanSource extends ProbeJobSource {
        override readonly name: string = 'orphan';
        override readonly jobNames: string[] = ['orphan.run'];
      }
      await expect(bootWorker([OrphanSource])).rejects.toThrow('no handler for job(s): orphan.run');
    });

    it('should shut down without an unhandled error when a refused boot closes workers still connecting', async () => {
      // Redis behind a proxy that holds each new connection for 300 ms, so the refused boot below closes queues and
      // workers whose connections are still opening: the race in BullMQ's close() (see settled.ts) every time.
      const upstream = new URL(redis.url);
      const proxy = createServer((client) => {
        client.pause();
        setTimeout(() => {
          const server = connect(Number(upstream.port), upstream.hostname, () => {
            client.pipe(server).pipe(client);
            client.resume();
          });
          const drop = () => (client.destroy(), server.destroy());
          server.on('error', drop);
          client.on('error', drop);
        }, 300);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const unhandled: unknown[] = [];
      const record = (err: unknown) => void unhandled.push(err);
      process.on('unhandledRejection', record);
      process.env.REDIS_URL = `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      try {
        @AsJobSource()
        class OrphanSource extends ProbeJobSource {
          override readonly name: string = 'orphan';
          override readonly jobNames: string[] = ['orphan.run'];
        }
        await expect(bootWorker([OrphanSource])).rejects.toThrow('no handler for job(s)');
        await new Promise((r) => setTimeout(r, 500)); // any late rejection from the closed connections
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', record);
        process.env.REDIS_URL = redis.url;
        proxy.close();
      }
    });
  });

  it('should warn at boot when Redis may evict keys', async () => {
    const lru = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru']);
    try {
      process.env.REDIS_URL = lru.url;
      const moduleRef = await Test.createTestingModule({ imports: [PlatformModule.forRoot(), EventStoreModule.forRoot({ runConsumers: false }), QueueModule] }).compile();
      const app = moduleRef.createNestApplication(new FastifyAdapter());
      const warn = jest.spyOn(Logger.prototype, 'warn');
      await app.init();
      expect(warn).toHaveBeenCalledWith(expect.objectContaining({ maxmemoryPolicy: 'allkeys-lru' }), expect.stringContaining('not noeviction'));
      warn.mockRestore();
      const { RedisClient } = await import('./redis.provider');
      expect(await RedisPolicyCheck.evictionPolicy(app.get(RedisClient))).toBe('allkeys-lru');
      await app.close();
    } finally {
      process.env.REDIS_URL = redis.url;
      await lru.stop();
    }
  });
});

import { FastifyAdapter } from '@nestjs/platform-fastify';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { Database, PlatformModule } from '@app/shared';
import { ANY, EventStore, EventStoreModule } from '@app/event-store';
import { createTestDatabase, eventually, PROBE_JOB, PROBE_REQUESTED, PROBE_TABLE_SQL, ProbeJobsModule, startPrivateRedis, testEnvironment } from '@app/testing';
import { JobReconciler } from './job-reconciler';
import { QueueName } from './queue.constants';
import { QueueModule } from './queue.module';
import { redisOptions } from './redis-options';

describe('jobs:reconcile and the jobs BullMQ gave up on', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let db: Database;
  let app: INestApplication;
  let queue: Queue;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    Object.assign(process.env, testEnvironment(database, { REDIS_URL: redis.url }));
    db = new Database(database.url, 2);
    await db.query(PROBE_TABLE_SQL);
    const moduleRef = await Test.createTestingModule({
      imports: [PlatformModule.forRoot(), EventStoreModule.forRoot({ runConsumers: false }), QueueModule, ProbeJobsModule],
    }).compile();
    app = moduleRef.createNestApplication(new FastifyAdapter());
    await app.init();
    queue = new Queue(QueueName.Maintenance, { connection: redisOptions(redis.url), prefix: database.name });
  });
  afterAll(async () => {
    await queue?.close();
    await app?.close();
    await db?.close();
    await redis?.stop();
    await database?.drop();
  });

  /** A probe job whose work Postgres holds pending (no probe_done row), failed in Redis as after its retries ran out. */
  async function failedJob(): Promise<string> {
    const streamId = `probe-${randomUUID()}`;
    await app.get(EventStore).append(streamId, [{ type: PROBE_REQUESTED, data: { runAt: Date.now() } }], {
      expectedVersion: ANY,
      metadata: { orgId: randomUUID(), occurredAt: new Date().toISOString() },
    });
    const jobId = `probe.${streamId}.1`;
    await queue.add(PROBE_JOB, { streamId, version: 1 }, { jobId, attempts: 1, removeOnFail: false });
    const failing = new Worker(QueueName.Maintenance, async () => Promise.reject(new Error('database unreachable')), {
      connection: redisOptions(redis.url),
      prefix: database.name,
    });
    try {
      await eventually(async () => expect(await queue.getJobState(jobId)).toBe('failed'));
    } finally {
      await failing.close();
    }
    return jobId;
  }

  it('should add afresh a failed job whose work is still pending, and leave it alone once it is queued', async () => {
    const jobId = await failedJob();

    const first = await app.get(JobReconciler).reconcile();
    expect(first.revived).toBe(1);
    expect(await queue.getJobState(jobId)).toBe('waiting');
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(0);
    expect(await queue.getFailedCount()).toBe(0);

    // Run again: the job is queued, not failed, so nothing is removed or doubled.
    const second = await app.get(JobReconciler).reconcile();
    expect(second.revived).toBe(0);
    expect(await queue.getWaitingCount()).toBe(1);
  });

  it('should keep a failed job for inspection when Postgres holds nothing pending for it', async () => {
    const jobId = await failedJob();
    const [, streamId] = /^probe\.(.+)\.1$/.exec(jobId)!;
    await db.query('INSERT INTO probe_done (job_id, runs) VALUES ($1, 1)', [`probe.${streamId}.1`]);

    await app.get(JobReconciler).reconcile();
    expect(await queue.getJobState(jobId)).toBe('failed');
  });
});

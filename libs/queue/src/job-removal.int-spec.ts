import { Logger } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { flushPrefix } from '@app/testing';
import { JobQueues } from './job-queues';
import { JobRequest, QueueName, removal } from './queue.constants';
import { redisOptions } from './redis-options';

const HOUR = 3600_000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * JobQueues.remove and JobQueues.promote against a real Redis (this file's own key prefix): what the job outbox does to
 * superseded jobs, and what the calling-window sweep does to deferred ones, with BullMQ 5.81's scripts.
 */
describe('removing and promoting jobs in bulk', () => {
  const prefix = `jobrm${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  let followUps: Queue;
  let maintenance: Queue;
  let queues: JobQueues;

  beforeAll(() => {
    Logger.overrideLogger(['error', 'warn']);
    const connection = redisOptions(REDIS_URL);
    followUps = new Queue(QueueName.FollowUps, { connection, prefix });
    maintenance = new Queue(QueueName.Maintenance, { connection, prefix });
    queues = new JobQueues(followUps, maintenance);
  });
  afterAll(async () => {
    await followUps?.close();
    await maintenance?.close();
    await flushPrefix(prefix);
  });
  beforeEach(async () => {
    await followUps.obliterate({ force: true });
  });

  const request = (jobId: string, runAt = Date.now() + HOUR, priority?: number): JobRequest => ({ name: 'probe.run', queue: QueueName.FollowUps, payload: {}, jobId, runAt, priority });
  const states = (ids: string[]) => Promise.all(ids.map((id) => followUps.getJobState(id)));

  it('should remove delayed jobs, and due ones waiting with a priority, and count them', async () => {
    await queues.enqueue([request('delayed-1'), request('delayed-2'), request('due', Date.now(), 3), request('kept')]);
    expect(await states(['delayed-1', 'delayed-2', 'due', 'kept'])).toEqual(['delayed', 'delayed', 'prioritized', 'delayed']);

    expect(await queues.remove([removal(request('delayed-1')), removal(request('delayed-2')), removal(request('due'))])).toBe(3);
    expect(await states(['delayed-1', 'delayed-2', 'due', 'kept'])).toEqual(['unknown', 'unknown', 'unknown', 'delayed']);
    // nothing of them is left behind: no hash, no entry in any set
    expect(await (await followUps.client).hgetall(followUps.toKey('delayed-1'))).toEqual({});
    expect(await followUps.getJobCounts('delayed', 'prioritized', 'wait')).toEqual({ delayed: 1, prioritized: 0, wait: 0 });
  });

  it('should answer 0, without an error, for jobs that are not there or removed already', async () => {
    await queues.enqueue([request('once')]);
    expect(await queues.remove([removal(request('once')), removal(request('once'))])).toBe(1);
    expect(await queues.remove([removal(request('once')), removal(request('never-there'))])).toBe(0);
  });

  it('should leave a running job alone, and not fail', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const worker = new Worker(QueueName.FollowUps, async () => (started(), held), { connection: redisOptions(REDIS_URL), prefix });
    try {
      await queues.enqueue([request('running', Date.now())]);
      await running;
      expect(await followUps.getJobState('running')).toBe('active');
      await expect(queues.remove([removal(request('running'))])).resolves.toBe(0);
      expect(await followUps.getJobState('running')).toBe('active');
      release();
      await new Promise<void>((r) => worker.once('completed', () => r()));
    } finally {
      release();
      await worker.close();
    }
  });

  it('should leave a failed job, kept for inspection, and a job waiting without a priority', async () => {
    await followUps.add('probe.run', {}, { jobId: 'gave-up', attempts: 1, removeOnFail: false });
    const worker = new Worker(QueueName.FollowUps, async () => Promise.reject(new Error('database unreachable')), { connection: redisOptions(REDIS_URL), prefix });
    await new Promise<void>((r) => worker.once('failed', () => r()));
    await worker.close();
    await queues.enqueue([request('waiting', Date.now())]);
    expect(await states(['gave-up', 'waiting'])).toEqual(['failed', 'waiting']);

    expect(await queues.remove([removal(request('gave-up')), removal(request('waiting'))])).toBe(0);
    expect(await states(['gave-up', 'waiting'])).toEqual(['failed', 'waiting']);
  });

  it('should remove 10,000 delayed jobs in a few pipelined round trips, not one a job', async () => {
    const N = 10_000;
    const ids = Array.from({ length: N }, (_, i) => `bulk-${i}`);
    await queues.enqueue(ids.map((id) => request(id)));
    expect(await followUps.getDelayedCount()).toBe(N);

    // counted by hand: BullMQ's client is a proxy that refuses the delete jest.spyOn restores with
    const client = await followUps.client;
    const pipeline = client.pipeline;
    let pipelines = 0;
    client.pipeline = (...args: Parameters<typeof pipeline>) => (pipelines++, pipeline(...args));
    const removeCalls = jest.spyOn(followUps, 'remove');
    try {
      const started = Date.now();
      expect(await queues.remove(ids.map((id) => removal(request(id))))).toBe(N);
      // two pipelines a chunk of 500: the lookup and the removal
      expect(pipelines).toBe(2 * Math.ceil(N / 500));
      expect(removeCalls).not.toHaveBeenCalled();
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      client.pipeline = pipeline;
      removeCalls.mockRestore();
    }
    expect(await followUps.getDelayedCount()).toBe(0);
  }, 60_000);

  it('should make delayed jobs due now, by their priority, and leave others as they are', async () => {
    await queues.enqueue([request('later', Date.now() + HOUR, 2), request('plain'), request('due', Date.now(), 3), request('untouched', Date.now() + HOUR, 1)]);
    expect(await queues.promote(QueueName.FollowUps, ['later', 'plain', 'due', 'missing'])).toBe(2);
    expect(await states(['later', 'plain', 'due', 'untouched'])).toEqual(['prioritized', 'waiting', 'prioritized', 'delayed']);

    // a worker takes them at once
    const ran: string[] = [];
    const worker = new Worker(QueueName.FollowUps, async (job: Job) => void ran.push(job.id!), { connection: redisOptions(REDIS_URL), prefix });
    try {
      await new Promise<void>((resolve) => worker.on('completed', () => ran.length === 3 && resolve()));
      expect(ran.sort()).toEqual(['due', 'later', 'plain']);
      expect(await followUps.getJobState('untouched')).toBe('delayed');
    } finally {
      await worker.close();
    }
  });

  it('should refuse a removal handed to enqueue', async () => {
    await expect(queues.enqueue([removal(request('x'))])).rejects.toThrow('not a job to add');
  });
});

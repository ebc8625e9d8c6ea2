import { InjectQueue } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, Logger, Optional } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import { Gauge } from 'prom-client';
import { groupBy } from '@app/shared';
import { isRemoval, JobRequest, QueueName } from './queue.constants';
import { isRedisConnectionError, RedisOutageLog } from './redis-outage';
import { settled, withinMs } from './settled';

const CHUNK = 500;
/**
 * How long a chunk of jobs waits for Redis (500 take a few milliseconds): BullMQ would wait for a Redis that is away for
 * as long as it is away, and the job outbox enqueues inside its round's transaction, which it then held open for the
 * whole outage (reports stood still, and the cluster's transaction horizon); jobs:reconcile hung.
 */
const ENQUEUE_WAIT_MS = 15_000;
/** How long a scrape of /metrics waits for the queues' counts (a Redis answers in a millisecond). */
const QUEUE_DEPTH_WAIT_MS = 500;

/** The one way into Redis: typed requests, deterministic ids, added in bulk. */
@Injectable()
export class JobQueues implements BeforeApplicationShutdown {
  private readonly logger = new Logger(JobQueues.name);
  private readonly queues = new Map<QueueName, Queue>();

  /**
   * The queues are injected, so their 'error' listeners are attached as soon as they exist: an 'error' nobody listens
   * to is thrown, and a queue whose connection is still opening when a failed boot closes the app emits one
   * ("Connection is closed"). Attached in onModuleInit instead, a boot that failed before that hook left the queues
   * unheard (an unhandled error in the job layer's int test, once in six full runs). A connection error (Redis away:
   * one a queue a second) goes to the process's RedisOutageLog, a line a minute at most; any other at error.
   */
  constructor(
    @InjectQueue(QueueName.FollowUps) followUps: Queue,
    @InjectQueue(QueueName.Maintenance) maintenance: Queue,
    @Optional() outage: RedisOutageLog = new RedisOutageLog(),
  ) {
    const all: Record<QueueName, Queue> = { [QueueName.FollowUps]: followUps, [QueueName.Maintenance]: maintenance };
    for (const [name, queue] of Object.entries(all) as [QueueName, Queue][]) {
      queue.on('error', (err) => (isRedisConnectionError(err) ? outage.connectionError(err, { queue: name }) : this.logger.error({ err, queue: name }, 'queue error')));
      this.queues.set(name, queue);
    }
    const queues = this.queues;
    queueDepth.collectFrom = async () => {
      for (const [name, q] of queues) {
        // bounded: with Redis away, a scrape of /metrics hung, every role's, the API-only one's too
        const counts = await withinMs(QUEUE_DEPTH_WAIT_MS, 'queue_depth', q.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed'));
        for (const [state, n] of Object.entries(counts)) queueDepth.gauge.set({ queue: name, state }, n);
      }
    };
  }

  /** Closed only once their connections have opened (see settled); @nestjs/bullmq closes them after this hook. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => settled(q.waitUntilReady())));
  }

  queue(name: QueueName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`queue ${name} is not registered`);
    return q;
  }

  /**
   * Adds jobs; an id already in Redis is left as it is, so enqueueing the same request twice is harmless (a chunk whose
   * wait timed out may still be added when Redis comes back).
   */
  async enqueue(requests: readonly JobRequest[]): Promise<void> {
    if (requests.some(isRemoval)) throw new Error('enqueue: a removal is not a job to add (JobQueues.remove)');
    const now = Date.now();
    for (const [name, list] of groupBy(requests, (r) => r.queue)) {
      for (let i = 0; i < list.length; i += CHUNK) {
        const chunk = this.queue(name).addBulk(
          list.slice(i, i + CHUNK).map((r) => ({
            name: r.name,
            data: r.payload,
            opts: { jobId: r.jobId, delay: r.runAt ? Math.max(0, r.runAt - now) : 0, priority: r.priority },
          })),
        );
        await withinMs(ENQUEUE_WAIT_MS, 'enqueue', chunk);
      }
    }
    if (requests.length) this.logger.debug({ jobs: requests.length }, 'enqueued');
  }

  /**
   * Takes out the jobs named (JobRequest.remove) that are still waiting: delayed, or due and waiting their turn with a
   * priority. A job that is running, failed (kept for inspection) or not there is left as it is, and is no error: the
   * answer is how many were removed. Two pipelined round trips a chunk of 500, each bounded as enqueue's are (with
   * Redis away the caller fails and is tried again; the calls still run if Redis comes back, which removes nothing
   * that is needed). A job BullMQ refuses to remove (it has a lock: picked by a worker between the two round trips)
   * stays, and so does one whose removal fails on its own (logged): a job left behind only runs and ends as stale.
   */
  async remove(requests: readonly JobRequest[]): Promise<number> {
    let removed = 0;
    for (const [name, list] of groupBy(requests, (r) => r.queue)) {
      const ids = [...new Set(list.map((r) => r.jobId))];
      for (let i = 0; i < ids.length; i += CHUNK) {
        removed += await withinMs(ENQUEUE_WAIT_MS, 'remove', this.removeWaiting(this.queue(name), ids.slice(i, i + CHUNK)));
      }
    }
    if (requests.length) this.logger.debug({ asked: requests.length, removed }, 'superseded jobs removed');
    return removed;
  }

  /**
   * Makes the named jobs that are delayed due now (a delayed job's promotion: to the queue's waiting jobs, by its
   * priority). A job that is not delayed (running, waiting already, gone) is left as it is. One pipelined round trip a
   * chunk of 500, bounded as enqueue's; the answer is how many were delayed and are due now.
   */
  async promote(name: QueueName, jobIds: readonly string[]): Promise<number> {
    let promoted = 0;
    const queue = this.queue(name);
    for (let i = 0; i < jobIds.length; i += CHUNK) {
      promoted += await withinMs(ENQUEUE_WAIT_MS, 'promote', this.promoteDelayed(queue, jobIds.slice(i, i + CHUNK)));
    }
    return promoted;
  }

  /**
   * BullMQ removes one job a call (Queue.remove: its removeJob script), which also takes a failed job, and an active
   * one whose lock lapsed; only a job with a lock is refused (answer 0, where Job.remove throws). So the waiting ones are
   * found first (one pipeline of ZSCOREs), and only those removed, through the same script in a second pipeline. Both go
   * over the queue's own connection, after any enqueue made on it before (Redis runs one connection's commands in order).
   */
  private async removeWaiting(queue: Queue, ids: readonly string[]): Promise<number> {
    const client = await queue.client;
    // BullMQ's pipeline type lists only the commands BullMQ itself pipelines; the object is ioredis's Pipeline
    const lookup = client.pipeline() as unknown as ChainableCommander;
    for (const id of ids) lookup.zscore(queue.keys.delayed, id).zscore(queue.keys.prioritized, id);
    const found = (await lookup.exec()) ?? [];
    const waiting = ids.filter((_, k) => found[2 * k]?.[1] != null || found[2 * k + 1]?.[1] != null);
    if (waiting.length === 0) return 0;
    // BullMQ 5.81's removeJob arguments (Scripts.removeArgs): KEYS job, repeat; ARGV id, removeChildren (0: our jobs have
    // none), prefix; 1 when removed. job-removal.int-spec runs them against Redis, so a BullMQ that changes them fails there.
    return this.pipelined(queue, 'removeJob', waiting, (id) => [queue.toKey(id), queue.toKey('repeat'), id, 0, queue.toKey('')], 1, 'superseded job not removed');
  }

  /** BullMQ's promote script (Job.promote), pipelined: 0 promoted, -3 not delayed (left as it is). */
  private async promoteDelayed(queue: Queue, ids: readonly string[]): Promise<number> {
    const k = queue.keys;
    // BullMQ 5.81's promote arguments (Scripts.promote), checked by job-removal.int-spec as removeJob's are
    const keys = [k.delayed, k.wait, k.paused, k.meta, k.prioritized, k.active, k.pc, k.events, k.marker];
    return this.pipelined(queue, 'promote', ids, (id) => [...keys, queue.toKey(''), id], 0, 'delayed job not promoted');
  }

  /** BullMQ's `script` run once an id, in one pipeline: how many answered `done`; an error is logged (`failed`), not thrown. */
  private async pipelined(queue: Queue, script: string, ids: readonly string[], args: (id: string) => (string | number)[], done: number, failed: string): Promise<number> {
    const pipeline = (await queue.client).pipeline();
    for (const id of ids) queue.scripts.execCommand(pipeline, script, args(id));
    const results = (await pipeline.exec()) ?? [];
    let count = 0;
    results.forEach(([err, code], i) => {
      if (err) this.logger.warn({ err, jobId: ids[i] }, failed);
      else if (code === done) count++;
    });
    return count;
  }
}

/** Queue depth is read from Redis when Prometheus scrapes, not polled. */
const queueDepth: { gauge: Gauge; collectFrom?: () => Promise<void> } = {
  gauge: new Gauge({
    name: 'queue_depth',
    help: 'Jobs in each BullMQ queue by state',
    labelNames: ['queue', 'state'],
    async collect() {
      // Redis away: no figures rather than the last ones, which would look current
      await queueDepth.collectFrom?.().catch(() => queueDepth.gauge.reset());
    },
  }),
};

import { InjectQueue } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { groupBy } from '@app/shared';
import { JobRequest, QueueName } from './queue.constants';
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
   * unheard (an unhandled error in the job layer's int test, once in six full runs).
   */
  constructor(@InjectQueue(QueueName.FollowUps) followUps: Queue, @InjectQueue(QueueName.Maintenance) maintenance: Queue) {
    const all: Record<QueueName, Queue> = { [QueueName.FollowUps]: followUps, [QueueName.Maintenance]: maintenance };
    for (const [name, queue] of Object.entries(all) as [QueueName, Queue][]) {
      queue.on('error', (err) => this.logger.error({ err, queue: name }, 'queue error'));
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

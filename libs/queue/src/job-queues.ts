import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { ALL_QUEUES, JobRequest, QueueName } from './queue.constants';

const CHUNK = 500;

/** The one way into Redis: typed requests, deterministic ids, added in bulk. */
@Injectable()
export class JobQueues implements OnModuleInit {
  private readonly logger = new Logger(JobQueues.name);
  private readonly queues = new Map<QueueName, Queue>();

  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    for (const name of ALL_QUEUES) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      // Heard from the start: an 'error' nobody listens to is thrown (a connection closed while opening, say).
      queue.on('error', (err) => this.logger.error({ err, queue: name }, 'queue error'));
      this.queues.set(name, queue);
    }
    const queues = this.queues;
    queueDepth.collectFrom = async () => {
      for (const [name, q] of queues) {
        const counts = await q.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed');
        for (const [state, n] of Object.entries(counts)) queueDepth.gauge.set({ queue: name, state }, n);
      }
    };
  }

  queue(name: QueueName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`queue ${name} is not registered`);
    return q;
  }

  /** Adds jobs; an id already in Redis is left as it is, so enqueueing the same request twice is harmless. */
  async enqueue(requests: readonly JobRequest[]): Promise<void> {
    const byQueue = new Map<QueueName, JobRequest[]>();
    for (const r of requests) byQueue.set(r.queue, [...(byQueue.get(r.queue) ?? []), r]);
    const now = Date.now();
    for (const [name, list] of byQueue) {
      for (let i = 0; i < list.length; i += CHUNK) {
        await this.queue(name).addBulk(
          list.slice(i, i + CHUNK).map((r) => ({
            name: r.name,
            data: r.payload,
            opts: { jobId: r.jobId, delay: r.runAt ? Math.max(0, r.runAt - now) : 0, priority: r.priority },
          })),
        );
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
      await queueDepth.collectFrom?.().catch(() => undefined);
    },
  }),
};

import { Injectable, Logger } from '@nestjs/common';
import { Database, groupBy } from '@app/shared';
import { ALL_QUEUES, JobRequest, QueueName } from './queue.constants';
import { JobQueues } from './job-queues';
import { JobRegistry } from './job.registry';
import { withinMs } from './settled';

/** How long reconcile waits for Redis's first answer. */
const REDIS_WAIT_MS = 15_000;

/**
 * Re-creates, from Postgres alone, every job that should be in Redis (after Redis lost its data).
 *
 * It also brings back the jobs BullMQ gave up on: a job that stalled twice (two workers killed while running it) or
 * ran out of its infrastructure retries (a database outage of minutes) sits in the failed set, kept for inspection
 * under its deterministic id, and adding that id again did nothing, so work Postgres still holds pending (a follow-up
 * in flight, say) stayed undone until expiry. A failed job whose work is still pending is removed and added afresh.
 */
@Injectable()
export class JobReconciler {
  private readonly logger = new Logger(JobReconciler.name);

  constructor(
    private readonly db: Database,
    private readonly registry: JobRegistry,
    private readonly queues: JobQueues,
  ) {}

  async reconcile(): Promise<{ jobs: number; revived: number }> {
    // Its first read of Redis, bounded: the CLI run against a Redis that is not there (yet) hung forever (BullMQ retries a
    // command for as long as Redis is away); it now fails, exit 1, naming the cause.
    const failed = await withinMs(REDIS_WAIT_MS, 'jobs:reconcile', this.failedJobIds());
    let jobs = 0;
    let revived = 0;
    const enqueue = async (requests: JobRequest[]) => {
      const batch = await this.withoutPresent(requests, failed);
      for (const [queue, list] of groupBy(batch, (r) => r.queue)) {
        for (const r of list) {
          if (!failed.get(queue)?.has(r.jobId)) continue;
          await this.queues.queue(queue).remove(r.jobId);
          revived++;
        }
      }
      await this.queues.enqueue(batch);
      jobs += batch.length;
    };
    for (const source of this.registry.sources) {
      let batch: JobRequest[] = [];
      for await (const request of source.pending(this.db)) {
        batch.push(request);
        if (batch.length >= 1000) {
          await enqueue(batch);
          batch = [];
        }
      }
      await enqueue(batch);
    }
    for (const recurring of this.registry.recurring) await recurring.ensureSchedule();
    this.logger.log({ jobs, revived, recurring: this.registry.recurring.length }, 'jobs reconciled from Postgres');
    return { jobs, revived };
  }

  /**
   * The requests, but those whose `unlessPresent` job Redis still holds: checked before the batch is added, so the
   * sources list such a request before the job it names.
   */
  private async withoutPresent(requests: JobRequest[], failed: Map<QueueName, Set<string>>): Promise<JobRequest[]> {
    const conditional = requests.filter((r) => r.unlessPresent !== undefined && !failed.get(r.queue)?.has(r.jobId));
    if (conditional.length === 0) return requests;
    const present = new Set<JobRequest>();
    for (const [name, list] of groupBy(conditional, (r) => r.queue)) {
      const queue = this.queues.queue(name);
      // asked together: they share the queue's connection's round trips
      const states = await Promise.all(list.map((r) => queue.getJobState(r.unlessPresent!)));
      list.forEach((r, i) => states[i] !== 'unknown' && present.add(r));
    }
    return requests.filter((r) => !present.has(r));
  }

  /** The ids in each queue's failed set (at most removeOnFail's count are kept). */
  private async failedJobIds(): Promise<Map<QueueName, Set<string>>> {
    const out = new Map<QueueName, Set<string>>();
    for (const name of ALL_QUEUES) {
      const ids = await this.queues.queue(name).getRanges(['failed'], 0, -1);
      out.set(name, new Set(ids));
    }
    return out;
  }
}

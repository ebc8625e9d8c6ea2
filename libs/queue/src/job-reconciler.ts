import { Injectable, Logger } from '@nestjs/common';
import { Database } from '@app/shared';
import { JobRequest } from './queue.constants';
import { JobQueues } from './job-queues';
import { JobRegistry } from './job.registry';

/** Re-creates, from Postgres alone, every job that should be in Redis (after Redis lost its data). */
@Injectable()
export class JobReconciler {
  private readonly logger = new Logger(JobReconciler.name);

  constructor(
    private readonly db: Database,
    private readonly registry: JobRegistry,
    private readonly queues: JobQueues,
  ) {}

  async reconcile(): Promise<{ jobs: number }> {
    let jobs = 0;
    for (const source of this.registry.sources) {
      let batch: JobRequest[] = [];
      for await (const request of source.pending(this.db)) {
        batch.push(request);
        if (batch.length >= 1000) {
          await this.queues.enqueue(batch);
          jobs += batch.length;
          batch = [];
        }
      }
      await this.queues.enqueue(batch);
      jobs += batch.length;
    }
    for (const recurring of this.registry.recurring) await recurring.ensureSchedule();
    this.logger.log({ jobs, recurring: this.registry.recurring.length }, 'jobs reconciled from Postgres');
    return { jobs };
  }
}

import { WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Job } from 'bullmq';
import { JobRegistry } from './job.registry';

/** Base of the per-queue processors: hands each job to the one handler registered for its name. */
@Injectable()
export abstract class DispatchingProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(this.constructor.name);

  constructor(
    private readonly registry: JobRegistry,
    private readonly config: ConfigService,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // BullMQ prints to console.error when nobody listens; route it to the structured log instead. First, so that
    // a refused boot (below), which closes the worker, does not leave its connection's error unheard: that was
    // an unhandled 'error' event, seen failing a job-layer test under load.
    this.worker.on('error', (err) => this.logger.error({ err }, 'worker error'));
    this.registry.assertComplete();
    this.worker.concurrency = Number(this.config.get('WORKER_CONCURRENCY') ?? 50);
  }

  async process(job: Job): Promise<void> {
    const handler = this.registry.handler(job.name);
    if (!handler) throw new Error(`no handler for job ${job.name}`);
    try {
      await handler.run(job.data, { jobId: job.id ?? '', attemptsMade: job.attemptsMade });
    } catch (err) {
      this.logger.error({ err, job: job.name, jobId: job.id }, 'job failed');
      throw err;
    }
  }
}

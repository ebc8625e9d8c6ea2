import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Job } from 'bullmq';
import { JobRegistry } from './job.registry';
import { settled } from './settled';

/** Base of the per-queue processors: hands each job to the one handler registered for its name. */
@Injectable()
export abstract class DispatchingProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(this.constructor.name);

  constructor(
    private readonly registry: JobRegistry,
    private readonly config: ConfigService,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.registry.assertComplete();
    this.worker.concurrency = Number(this.config.get('WORKER_CONCURRENCY') ?? 50);
  }

  /**
   * Closed only once its connections have opened (see settled), and here rather than by @nestjs/bullmq in
   * onApplicationShutdown: close() waits for the running jobs, which must finish before anything they use (the
   * database pool, the outbound HTTP pools) is closed in that phase, in whatever order its modules come.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await settled(this.worker?.waitUntilReady());
    await this.worker?.close().catch((err: unknown) => this.logger.error({ err }, 'worker close failed'));
  }

  /**
   * BullMQ throws an unhandled 'error' (or prints to console.error) when nobody listens; this routes it to the
   * structured log. Bound by @nestjs/bullmq as it creates the worker, before any boot step can fail: a refused
   * boot closes workers whose connection is still opening, and that error went unheard (a job-layer test failed on it).
   */
  @OnWorkerEvent('error')
  onWorkerError(err: Error): void {
    this.logger.error({ err }, 'worker error');
  }

  async process(job: Job): Promise<void> {
    const handler = this.registry.handler(job.name);
    if (!handler) throw new Error(`no handler for job ${job.name}`);
    try {
      await handler.run(job.data, { jobId: job.id ?? '', attemptsMade: job.attemptsMade, redelivered: job.attemptsMade > 0 || job.stalledCounter > 0 });
    } catch (err) {
      this.logger.error({ err, job: job.name, jobId: job.id }, 'job failed');
      throw err;
    }
  }
}

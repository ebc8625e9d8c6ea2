import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DelayedError, Job } from 'bullmq';
import { Counter } from 'prom-client';
import { JobRegistry } from './job.registry';
import { settled } from './settled';

const deferred = new Counter({
  name: 'jobs_deferred_for_fairness_total',
  help: 'Jobs put back for a moment because their organization had its share of the worker running',
  labelNames: ['queue'],
});

/** How long a job of an organization at its share waits before it is tried again: 1 s, plus up to 1 s of jitter. */
const DEFER_MS = 1000;

/**
 * Base of the per-queue processors: hands each job to the one handler registered for its name, an organization's
 * jobs at most WORKER_ORG_CONCURRENCY at once.
 *
 * Every organization shares a queue, and a job holds its worker slot for its whole delivery (a webhook may take its
 * 10 s timeout). Without a share, one organization with many follow-ups due to a receiver that never answers took
 * every slot and every other organization's follow-ups waited behind them (a review measured 40 s at a concurrency
 * of 4). A job whose organization already runs its share here goes back to the delayed set for a second or two,
 * without running and without counting as an attempt, and its slot goes to the next job. BullMQ's open-source worker
 * has no per-group concurrency (BullMQ Pro's groups do this), hence this.
 */
@Injectable()
export abstract class DispatchingProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(this.constructor.name);

  constructor(
    private readonly registry: JobRegistry,
    private readonly config: ConfigService,
  ) {
    super();
  }

  /** Jobs running in this process, by organization. */
  private readonly running = new Map<string, number>();
  private orgShare = Infinity;

  onApplicationBootstrap(): void {
    this.registry.assertComplete();
    const concurrency = Number(this.config.get('WORKER_CONCURRENCY') ?? 50);
    this.worker.concurrency = concurrency;
    this.orgShare = Number(this.config.get('WORKER_ORG_CONCURRENCY') || 0) || Math.ceil(concurrency / 2);
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

  async process(job: Job, token?: string): Promise<void> {
    const handler = this.registry.handler(job.name);
    if (!handler) throw new Error(`no handler for job ${job.name}`);
    const orgId: unknown = job.data?.orgId;
    const org = typeof orgId === 'string' ? orgId : null;
    if (org !== null) {
      const running = this.running.get(org) ?? 0;
      if (running >= this.orgShare && token) {
        deferred.inc({ queue: job.queueName });
        await job.moveToDelayed(Date.now() + DEFER_MS + Math.floor(Math.random() * DEFER_MS), token);
        throw new DelayedError();
      }
      this.running.set(org, running + 1);
    }
    try {
      await handler.run(job.data, { jobId: job.id ?? '', attemptsMade: job.attemptsMade, redelivered: job.attemptsMade > 0 || job.stalledCounter > 0 });
    } catch (err) {
      this.logger.error({ err, job: job.name, jobId: job.id }, 'job failed');
      throw err;
    } finally {
      if (org !== null) {
        const left = (this.running.get(org) ?? 1) - 1;
        if (left > 0) this.running.set(org, left);
        else this.running.delete(org);
      }
    }
  }
}

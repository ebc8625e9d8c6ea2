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
/** A job that runs this long (a receiver slow to answer, or not answering until the 10 s timeout) marks its organization slow. */
const SLOW_JOB_MS = 3000;
/** For this long after its last slow job, an organization is held to its share. */
const SLOW_MEMORY_MS = 60_000;

/**
 * Base of the per-queue processors: hands each job to the one handler registered for its name; an organization whose
 * jobs run slow, at most WORKER_ORG_CONCURRENCY of its jobs at once.
 *
 * Every organization shares a queue, and a job holds its worker slot for its whole delivery (a webhook may take its
 * 10 s timeout). Without a bound, one organization with many follow-ups due to a receiver that never answers took
 * every slot, timeout after timeout, and every other organization's follow-ups waited behind them (a review measured
 * 40 s at a concurrency of 4, and it grows with the backlog). Once one of an organization's jobs has run SLOW_JOB_MS
 * (it is running, or ran in the last minute), a job of it found with its share already running goes back to the
 * delayed set for a second or two, without running and without counting as an attempt, and the slot goes to the next
 * job. Organizations whose jobs are quick are never held back: a burst of one organization's follow-ups uses the whole
 * worker (putting jobs back costs Redis round trips, which halved bench:worker's burst rate when every job was held to
 * the share). The first slow wave still holds the slots it took until it ends, once. BullMQ's open-source worker has no
 * per-group concurrency (BullMQ Pro's groups do this), hence this.
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

  /** When each job running in this process started, by organization. */
  private readonly running = new Map<string, Map<Job, number>>();
  /** Organizations whose jobs ran slow lately, until when they are held to their share. */
  private readonly slowUntil = new Map<string, number>();
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
    const started = Date.now();
    if (org !== null) {
      let running = this.running.get(org);
      if (running && running.size >= this.orgShare && token && this.isSlow(org, running, started)) {
        deferred.inc({ queue: job.queueName });
        await job.moveToDelayed(started + DEFER_MS + Math.floor(Math.random() * DEFER_MS), token);
        throw new DelayedError();
      }
      if (!running) this.running.set(org, (running = new Map()));
      running.set(job, started);
    }
    try {
      await handler.run(job.data, { jobId: job.id ?? '', attemptsMade: job.attemptsMade, redelivered: job.attemptsMade > 0 || job.stalledCounter > 0 });
    } catch (err) {
      this.logger.error({ err, job: job.name, jobId: job.id }, 'job failed');
      throw err;
    } finally {
      if (org !== null) {
        const running = this.running.get(org);
        running?.delete(job);
        if (running?.size === 0) this.running.delete(org);
        const now = Date.now();
        if (now - started >= SLOW_JOB_MS) this.slowUntil.set(org, now + SLOW_MEMORY_MS);
      }
    }
  }

  /** Whether the organization's jobs run slow: one ran SLOW_JOB_MS in the last SLOW_MEMORY_MS, or one is running that long. */
  private isSlow(org: string, running: Map<Job, number>, now: number): boolean {
    const until = this.slowUntil.get(org);
    if (until !== undefined) {
      if (until > now) return true;
      this.slowUntil.delete(org);
    }
    for (const started of running.values()) if (now - started >= SLOW_JOB_MS) return true;
    return false;
  }
}

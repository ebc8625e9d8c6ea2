import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DelayedError, Job } from 'bullmq';
import { Counter } from 'prom-client';
import { JobRegistry } from './job.registry';
import { isRedisConnectionError, RedisOutageLog } from './redis-outage';
import { settled } from './settled';

const deferred = new Counter({
  name: 'jobs_deferred_for_fairness_total',
  help: 'Jobs put back for a moment because their organization had its share of the worker running',
  labelNames: ['queue'],
});

/**
 * How long a job of an organization at its share waits before it is tried again: 1 s, and 1 s more for every share's
 * worth of its jobs put back in the last second (a backlog of thousands is spread over up to MAX_DEFER_MS instead of
 * being fetched and put back every second or two), plus up to 1 s of jitter.
 */
const DEFER_MS = 1000;
const MAX_DEFER_MS = 30_000;
/** For this long after a job of it waited slow on something outside (JobContext.slowOutside), an organization is held to its share. */
const SLOW_MEMORY_MS = 60_000;

/**
 * Base of the per-queue processors: hands each job to the one handler registered for its name; an organization whose
 * jobs run slow, at most WORKER_ORG_CONCURRENCY of its jobs at once.
 *
 * Every organization shares a queue, and a job holds its worker slot for its whole delivery (a webhook may take its
 * 10 s timeout). Without a bound, one organization with many follow-ups due to a receiver that never answers took
 * every slot, timeout after timeout, and every other organization's follow-ups waited behind them (a review measured
 * 40 s at a concurrency of 4, and it grows with the backlog). Once a job of an organization has waited slow on its
 * receiver (the handler says so: JobContext.slowOutside; a busy database, which slows every organization alike, does
 * not count), for a minute a job of it found with its share already running goes back to the delayed set (DEFER_MS),
 * without running and without counting as an attempt, and the slot goes to the next job. Organizations whose
 * receivers are quick are never held back: a burst of one organization's follow-ups uses the whole worker (putting
 * jobs back costs Redis round trips, which halved bench:worker's burst rate when every job was held to the share).
 * The first slow wave still holds the slots it took until it ends, once. BullMQ's open-source worker has no per-group
 * concurrency (BullMQ Pro's groups do this), hence this.
 */
@Injectable()
export abstract class DispatchingProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(this.constructor.name);

  constructor(
    private readonly registry: JobRegistry,
    private readonly config: ConfigService,
    @Optional() private readonly outage: RedisOutageLog = new RedisOutageLog(),
  ) {
    super();
  }

  /** Jobs running in this process, by organization. */
  private readonly running = new Map<string, number>();
  /** Organizations whose jobs waited slow on their receivers lately, until when they are held to their share. */
  private readonly slowUntil = new Map<string, number>();
  /** Jobs put back in the current second, by organization (the deferral grows with them). */
  private readonly putBack = new Map<string, { second: number; count: number }>();
  private orgShare = Infinity;
  /** Errors the handlers threw, logged by `process` already: the worker's 'failed' event does not log them again. */
  private readonly loggedFailures = new WeakSet<Error>();

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
   * A connection error (Redis away) goes to the process's RedisOutageLog, a line a minute at most.
   */
  @OnWorkerEvent('error')
  onWorkerError(err: Error): void {
    if (isRedisConnectionError(err)) this.outage.connectionError(err, { worker: this.constructor.name });
    else this.logger.error({ err }, 'worker error');
  }

  /**
   * A job that failed outside its handler, which logs its own errors (`loggedFailures`): one that stalled more often
   * than the worker allows (its workers died, or held their event loops past the lock, while running it), which BullMQ
   * fails when a worker next takes it; one nobody handles; one Redis failed to put back for later. Only
   * `queue_depth{state="failed"}` showed them before.
   */
  @OnWorkerEvent('failed')
  onJobFailed(job: Job | undefined, err: Error): void {
    if (this.loggedFailures.has(err)) return;
    this.logger.error({ err, job: job?.name, jobId: job?.id, orgId: job?.data?.orgId, attemptsMade: job?.attemptsMade }, 'job failed outside its handler: ' + err.message);
  }

  /** A job handed out again because the worker running it stopped renewing its lock (it died, or blocked its event loop). */
  @OnWorkerEvent('stalled')
  onJobStalled(jobId: string): void {
    this.logger.warn({ jobId }, 'job stalled: its worker stopped renewing the lock; handed out again');
  }

  async process(job: Job, token?: string): Promise<void> {
    const handler = this.registry.handler(job.name);
    if (!handler) throw new Error(`no handler for job ${job.name}`);
    const orgId: unknown = job.data?.orgId;
    const org = typeof orgId === 'string' ? orgId : null;
    if (org !== null) {
      const running = this.running.get(org) ?? 0;
      const now = Date.now();
      if (running >= this.orgShare && token && this.isSlow(org, now)) {
        deferred.inc({ queue: job.queueName });
        await job.moveToDelayed(now + this.deferMs(org, now) + Math.floor(Math.random() * DEFER_MS), token);
        throw new DelayedError();
      }
      this.running.set(org, running + 1);
    }
    let again: { at: number; payload?: Record<string, unknown> } | undefined;
    try {
      await handler.run(job.data, {
        jobId: job.id ?? '',
        attemptsMade: job.attemptsMade,
        redelivered: job.attemptsMade > 0 || job.stalledCounter > 0,
        slowOutside: org === null ? undefined : () => this.slowUntil.set(org, Date.now() + SLOW_MEMORY_MS),
        runAgainAt: token ? (at, payload) => (again = { at, payload }) : undefined,
      });
    } catch (err) {
      this.logger.error({ err, job: job.name, jobId: job.id }, 'job failed');
      if (err instanceof Error) this.loggedFailures.add(err);
      throw err;
    } finally {
      if (org !== null) {
        const left = (this.running.get(org) ?? 1) - 1;
        if (left > 0) this.running.set(org, left);
        else this.running.delete(org);
      }
    }
    if (again !== undefined) {
      // the same job (same id) back in the delayed set: deterministic ids keep it the only one. Should Redis fail
      // between the two steps, the job is retried as a failed one (redelivered), with or without the new payload.
      if (again.payload) await job.updateData({ ...job.data, ...again.payload });
      await job.moveToDelayed(again.at, token);
      throw new DelayedError();
    }
  }

  /** Whether a job of the organization waited slow on its receiver in the last SLOW_MEMORY_MS. */
  private isSlow(org: string, now: number): boolean {
    const until = this.slowUntil.get(org);
    if (until === undefined) return false;
    if (until > now) return true;
    this.slowUntil.delete(org);
    this.putBack.delete(org);
    return false;
  }

  /** DEFER_MS, and DEFER_MS more for every share's worth of the organization's jobs put back this second. */
  private deferMs(org: string, now: number): number {
    const second = Math.floor(now / 1000);
    let seen = this.putBack.get(org);
    if (!seen || seen.second !== second) this.putBack.set(org, (seen = { second, count: 0 }));
    seen.count++;
    return Math.min(MAX_DEFER_MS, DEFER_MS * (1 + Math.floor(seen.count / this.orgShare)));
  }
}

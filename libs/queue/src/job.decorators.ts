import { SetMetadata } from '@nestjs/common';
import { Sql } from '@app/shared';
import { StoredEvent } from '@app/event-store';
import { AnyJobName, JobRequest } from './queue.constants';

export const JOB_HANDLER = Symbol('job-handler');
export const JOB_SOURCE = Symbol('job-source');

/** Executes one job name. Must be safe to run twice for the same job: it re-reads state first. */
/** What a handler may know of the job's delivery, beyond its payload. */
export interface JobContext {
  jobId: string;
  attemptsMade: number;
  /**
   * This job ran before without completing: it failed and is retried, or its worker stalled (died, or held the event
   * loop past the lock) and BullMQ handed it out again. A handler with an effect outside Postgres it cannot see
   * the outcome of (a request sent, or not, before the crash) uses this to send it again.
   */
  redelivered: boolean;
  /**
   * Tells the worker that this job waited on something outside slow (a receiver took seconds to answer, or never did):
   * its organization is then held to its share of the worker for a while (DispatchingProcessor). Optional for callers
   * that run handlers outside a worker.
   */
  slowOutside?: () => void;
  /**
   * Asks the worker to run this same job again at `at` (ms since the epoch) once the handler returns, instead of
   * completing it: for a job with nothing to do yet and no event to wait for (a follow-up whose calling window never
   * opens, which an admin may fix), or one whose receiver was unavailable. `payload`, when given, is merged into the
   * job's payload first, so the next run knows what this one did. Absent outside a worker: the handler's run then
   * simply ends.
   */
  runAgainAt?: (at: number, payload?: Record<string, unknown>) => void;
}

export interface JobHandler<P = any> {
  run(payload: P, context: JobContext): Promise<void>;
}
export const HandlesJob = (name: AnyJobName): ClassDecorator => SetMetadata(JOB_HANDLER, name);

/** Derives jobs from events (through the job outbox) and lists the jobs that should exist (for reconcile). */
export interface JobSource {
  readonly name: string;
  readonly jobNames: readonly AnyJobName[];
  readonly eventTypes: readonly string[];
  jobsFor(events: readonly StoredEvent[], sql: Sql): Promise<JobRequest[]>;
  /** Every job that should be in Redis now, rebuilt from Postgres alone. */
  pending(sql: Sql): AsyncIterable<JobRequest>;
}
export const AsJobSource = (): ClassDecorator => SetMetadata(JOB_SOURCE, true);

export const JOB_SCHEDULE = Symbol('job-schedule');

/** A recurring job (a BullMQ job scheduler). Redis loses schedulers with the rest: reconcile re-creates them. */
export interface RecurringJob {
  ensureSchedule(): Promise<void>;
}
export const AsRecurringJob = (): ClassDecorator => SetMetadata(JOB_SCHEDULE, true);

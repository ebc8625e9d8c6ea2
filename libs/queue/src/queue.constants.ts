/** Every BullMQ queue the product uses. */
export enum QueueName {
  FollowUps = 'follow-ups',
  Maintenance = 'maintenance',
}

export const ALL_QUEUES: readonly QueueName[] = Object.values(QueueName);

/**
 * Job name → payload. Domain libraries add their jobs by declaration merging:
 *   declare module '@app/queue' { interface JobPayloads { 'follow-up.execute': { orgId: string; followUpId: string } } }
 * Payloads carry ids only; the handler reloads state.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface JobPayloads {}

export type JobName = keyof JobPayloads & string;
export type AnyJobName = JobName | (string & {});

export interface JobRequest<N extends AnyJobName = AnyJobName> {
  readonly name: N;
  readonly queue: QueueName;
  readonly payload: N extends JobName ? JobPayloads[N] : Record<string, unknown>;
  /** Deterministic: the same fact always makes the same id, so BullMQ collapses duplicates. No ':' allowed. */
  readonly jobId: string;
  /** When it should run (ms since epoch); absent or past means now. */
  readonly runAt?: number;
  /** BullMQ priority: 1 is the highest. */
  readonly priority?: number;
  /**
   * Read by jobs:reconcile only: a job of the same queue that Redis holds whenever this one is not needed. This one is
   * then added only if Redis lost that one too (or this one is in the failed set, to be revived), so a reconcile when
   * nothing was lost adds nothing.
   */
  readonly unlessPresent?: string;
  /**
   * Asks the job outbox to take the job `jobId` out of Redis instead of adding it: a change made it pointless (its
   * follow-up moved to a later schedule, or ended), and it would otherwise wait there until its time, then end as
   * stale. Only a job that is still waiting (delayed, or due and waiting with a priority) is removed; a running one is
   * left to end as stale. Ask only for a job no later event can need again: ids that name a schedule older than one an
   * event set, or anything of a follow-up that ended. The outbox adds none of a round's jobs that the same round
   * removes, then removes. `runAt`, `priority` and `unlessPresent` mean nothing here; job sources' `pending()` never
   * yields such a request.
   */
  readonly remove?: true;
}

/** A request to take a job out (see JobRequest.remove). */
export const removal = <R extends JobRequest>(request: R): R & { remove: true } => ({ ...request, remove: true });
export const isRemoval = (r: JobRequest): boolean => r.remove === true;

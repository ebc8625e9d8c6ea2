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
}

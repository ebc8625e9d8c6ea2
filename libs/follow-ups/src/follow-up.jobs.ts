import { QueueName } from '@app/queue';

export const EXECUTE_FOLLOW_UP = 'follow-up.execute';
export const FOLLOW_UP_ATTEMPT_TIMEOUT = 'follow-up.attempt-timeout';
export const EXPIRE_FOLLOW_UPS = 'follow-ups.expire';

export interface ExecuteFollowUpPayload {
  orgId: string;
  contactId: string;
  followUpId: string;
  /** The schedule the job was made for: a job for an older schedule is stale and does nothing. */
  schedule: number;
  /**
   * Made by jobs:reconcile for a call attempt Postgres holds open (queued) after Redis lost the job that started it:
   * asks the dialler again, as that job run again after a crash would (whether its dial request left is unknown).
   */
  resume?: true;
  /**
   * Set by the job itself when the dialler did not take its dial request for a reason that passes (no answer, a 5xx,
   * 408, 425, 429): the dial requests sent so far for the open attempt. The job then runs again a little later and
   * sends the request again under the same webhook-id, while the attempt has time left (FollowUpExecutor).
   */
  redial?: number;
  /** With `redial`: why the dialler did not take the last one (the attempt's reason, should no redial fit). */
  redialError?: string;
}

export interface AttemptTimeoutPayload {
  orgId: string;
  contactId: string;
  followUpId: string;
  attempt: number;
  /** The schedule the attempt started under: a withdrawn attempt's number can repeat, its schedule cannot. */
  schedule: number;
}

declare module '@app/queue' {
  interface JobPayloads {
    [EXECUTE_FOLLOW_UP]: ExecuteFollowUpPayload;
    [FOLLOW_UP_ATTEMPT_TIMEOUT]: AttemptTimeoutPayload;
    [EXPIRE_FOLLOW_UPS]: Record<string, never>;
  }
}

/** BullMQ priority (1 runs first) from the follow-up's priority. */
export const JOB_PRIORITY: Record<string, number> = { urgent: 1, high: 2, normal: 3, low: 4 };

export const executeJob = (p: ExecuteFollowUpPayload, runAt: string, priority: string) => ({
  name: EXECUTE_FOLLOW_UP,
  queue: QueueName.FollowUps,
  payload: p,
  jobId: `fu-exec.${p.followUpId}.${p.schedule}`,
  runAt: Date.parse(runAt),
  priority: JOB_PRIORITY[priority] ?? 3,
});

export const timeoutJob = (p: AttemptTimeoutPayload, runAt: number) => ({
  name: FOLLOW_UP_ATTEMPT_TIMEOUT,
  queue: QueueName.FollowUps,
  payload: p,
  jobId: `fu-timeout.${p.followUpId}.${p.schedule}.${p.attempt}`,
  runAt,
});

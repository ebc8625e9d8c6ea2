import { StoredEvent } from '@app/event-store';
import { JobRequest } from '@app/queue';
import { Sql } from '@app/shared';
import { FollowUpJobSource, FollowUpRow, supersededJobs } from './follow-up.job-source';

const orgId = 'org-1';
const contactId = 'c-1';
const followUpId = 'f-1';
let position = 0;
const event = (type: string, data: Record<string, unknown>): StoredEvent => ({
  globalPosition: String(++position),
  transactionId: '1',
  streamId: `contact-${contactId}`,
  streamVersion: position,
  orgId,
  type,
  data: { followUpId, contactId, ...data },
  metadata: { orgId, occurredAt: '2026-03-02T10:00:00.000Z' } as StoredEvent['metadata'],
  idempotencyKey: null,
});
const row = (over: Partial<FollowUpRow> = {}): FollowUpRow => ({
  priority: 'normal',
  type: 'call',
  schedule: 1,
  attempts: 0,
  resolved: false,
  diallerUrl: null,
  timeoutSeconds: 3600,
  ...over,
});
const removed = (jobs: JobRequest[]) => jobs.filter((j) => j.remove).map((j) => j.jobId);
const added = (jobs: JobRequest[]) => jobs.filter((j) => !j.remove).map((j) => j.jobId);
const exec = (schedule: number) => `fu-exec.${followUpId}.${schedule}`;
const timeout = (schedule: number, attempt: number) => `fu-timeout.${followUpId}.${schedule}.${attempt}`;

describe(supersededJobs.name, () => {
  describe('given a follow-up moved to a later schedule', () => {
    it.each([
      ['FollowUpSnoozed', { until: '2026-03-05T10:00:00.000Z', previousScheduledAt: '2026-03-02T10:00:00.000Z', schedule: 2, withdrawnAttempt: null }],
      ['FollowUpRescheduled', { scheduledAt: '2026-04-01T10:00:00.000Z', previousScheduledAt: '2026-03-02T10:00:00.000Z', schedule: 2, withdrawnAttempt: null }],
    ])('should remove the execute job of the schedule before when %s', (type, data) => {
      expect(removed(supersededJobs(event(type, data), row({ schedule: 2 })))).toEqual([exec(1)]);
    });

    it('should remove the timeout of a call attempt a snooze withdrew, under the schedule it started', () => {
      const e = event('FollowUpSnoozed', { until: '2026-03-05T10:00:00.000Z', previousScheduledAt: 'x', schedule: 4, withdrawnAttempt: 2 });
      expect(removed(supersededJobs(e, row({ schedule: 4 })))).toEqual([exec(3), timeout(3, 2)]);
    });

    it('should remove no timeout for an sms or webhook attempt withdrawn (they have none)', () => {
      const e = event('FollowUpRescheduled', { scheduledAt: 'x', previousScheduledAt: 'x', schedule: 4, withdrawnAttempt: 2 });
      expect(removed(supersededJobs(e, row({ type: 'sms', schedule: 4 })))).toEqual([exec(3)]);
    });

    it('should remove the execute job and the timeout of an attempt that failed with a retry', () => {
      const e = event('FollowUpAttemptFailed', { attempt: 1, reason: 'No Answer', callId: 'call-1', retryAt: '2026-03-02T10:15:00.000Z', schedule: 2 });
      expect(removed(supersededJobs(e, row({ schedule: 2 })))).toEqual([exec(1), timeout(1, 1)]);
    });

    it('should remove nothing when a failure stored without its schedule does not say which one it left', () => {
      const e = event('FollowUpAttemptFailed', { attempt: 1, reason: 'No Answer', callId: null, retryAt: '2026-03-02T10:15:00.000Z', schedule: null });
      expect(supersededJobs(e, row({ schedule: 2 }))).toEqual([]);
    });

    it('should remove nothing for a deferral: the job of the schedule before is the one deferring', () => {
      const e = event('FollowUpDeferred', { reason: 'out_of_window', nextAttemptAt: '2026-03-03T08:00:00.000Z', schedule: 2 });
      expect(supersededJobs(e, row({ schedule: 2 }))).toEqual([]);
    });

    it('should remove nothing when an attempt starts', () => {
      const e = event('FollowUpAttemptStarted', { attempt: 1, maxAttempts: 3, outOfWindow: false, at: 'x', schedule: 1, dialled: true });
      expect(supersededJobs(e, row())).toEqual([]);
    });
  });

  describe('given a follow-up that ended', () => {
    it.each(['FollowUpCancelled', 'FollowUpCompleted', 'FollowUpExpired'])('should remove the execute job of its current schedule when %s', (type) => {
      expect(removed(supersededJobs(event(type, {}), row({ type: 'webhook', schedule: 3, resolved: true })))).toEqual([exec(3)]);
    });

    it('should remove the timeout of the call attempt open when it was cancelled', () => {
      expect(removed(supersededJobs(event('FollowUpCancelled', { reason: null }), row({ schedule: 2, attempts: 2, resolved: true })))).toEqual([exec(2), timeout(2, 2)]);
    });

    it('should remove the execute job and the timeout of the attempt that completed it', () => {
      const e = event('FollowUpAttemptSucceeded', { attempt: 2, callId: 'call-9', detail: null });
      expect(removed(supersededJobs(e, row({ schedule: 3, attempts: 2, resolved: true })))).toEqual([exec(3), timeout(3, 2)]);
    });

    it('should remove the execute job and the timeout of the last attempt that failed it', () => {
      const e = event('FollowUpAttemptFailed', { attempt: 3, reason: 'timeout', callId: null, retryAt: null, schedule: null });
      expect(removed(supersededJobs(e, row({ schedule: 3, attempts: 3, resolved: true })))).toEqual([exec(3), timeout(3, 3)]);
    });

    it('should remove nothing of the current schedule while the read model does not show it ended', () => {
      expect(supersededJobs(event('FollowUpCancelled', { reason: null }), row({ schedule: 2, resolved: false }))).toEqual([]);
      expect(supersededJobs(event('FollowUpCancelled', { reason: null }), undefined)).toEqual([]);
    });
  });

  it('should ask only for removals, in the follow-ups queue', () => {
    const jobs = supersededJobs(event('FollowUpSnoozed', { until: 'x', previousScheduledAt: 'x', schedule: 2, withdrawnAttempt: 1 }), row({ schedule: 2 }));
    expect(jobs.map((j) => [j.remove, j.queue])).toEqual([
      [true, 'follow-ups'],
      [true, 'follow-ups'],
    ]);
  });
});

describe(FollowUpJobSource.name, () => {
  const source = new FollowUpJobSource();
  const sql = (rows: Record<string, unknown>[]) => ({ query: async () => ({ rows }) }) as unknown as Sql;
  const dbRow = (over: Record<string, unknown> = {}) => ({
    id: followUpId,
    priority: 'high',
    type: 'call',
    schedule: 1,
    attempts: 0,
    resolved: false,
    dialler_url: null,
    timeout_seconds: 3600,
    ...over,
  });

  it('should add the new schedule\'s job and remove the old one when a follow-up is rescheduled', async () => {
    const jobs = await source.jobsFor([event('FollowUpRescheduled', { scheduledAt: '2026-04-01T10:00:00.000Z', previousScheduledAt: 'x', schedule: 2, withdrawnAttempt: null })], sql([dbRow({ schedule: 2 })]));
    expect({ added: added(jobs), removed: removed(jobs) }).toEqual({ added: [exec(2)], removed: [exec(1)] });
  });

  it('should add nothing and remove the current job when a follow-up is cancelled', async () => {
    const jobs = await source.jobsFor([event('FollowUpCancelled', { reason: 'bulk' })], sql([dbRow({ schedule: 1, resolved: true, status: 'cancelled' })]));
    expect({ added: added(jobs), removed: removed(jobs) }).toEqual({ added: [], removed: [exec(1)] });
  });

  it('should list a job and its removal when both come in one round (the outbox then adds neither)', async () => {
    const jobs = await source.jobsFor(
      [event('FollowUpSnoozed', { until: '2026-03-05T10:00:00.000Z', previousScheduledAt: 'x', schedule: 2, withdrawnAttempt: null }), event('FollowUpCancelled', { reason: null })],
      sql([dbRow({ schedule: 2, resolved: true })]),
    );
    expect({ added: added(jobs), removed: removed(jobs) }).toEqual({ added: [exec(2)], removed: [exec(1), exec(2)] });
  });
});

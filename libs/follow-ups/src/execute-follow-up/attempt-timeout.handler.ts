import { Injectable } from '@nestjs/common';
import { systemActor } from '@app/shared';
import { HandlesJob, JobHandler } from '@app/queue';
import { ContactStateCache } from '@app/contacts';
import { SettingsRepository } from '@app/settings';
import { AttemptTimeoutPayload, FOLLOW_UP_ATTEMPT_TIMEOUT } from '../follow-up.jobs';
import { FollowUpWriter } from '../follow-up-writer';

/** A dialled call attempt with no call pushed for it within attemptTimeoutSeconds is a failed attempt. */
@Injectable()
@HandlesJob(FOLLOW_UP_ATTEMPT_TIMEOUT)
export class AttemptTimeoutHandler implements JobHandler<AttemptTimeoutPayload> {
  constructor(
    private readonly states: ContactStateCache,
    private readonly writer: FollowUpWriter,
    private readonly settings: SettingsRepository,
  ) {}

  async run(job: AttemptTimeoutPayload): Promise<void> {
    const { state } = (await this.states.load(job.orgId, [job.contactId])).get(job.contactId)!;
    const f = state.followUps.get(job.followUpId);
    // A timeout for an attempt that was withdrawn (snooze, reschedule) and started again is not this attempt's.
    if (!f || f.schedule !== job.schedule || !f.attemptOpen || f.attempts !== job.attempt) return;
    // Nor one for an attempt that was never dialled (its agent calls, no timeout: SPEC §5), which a job made from the
    // settings of its moment, before attempts recorded it, may still be for.
    if (f.attemptDialled === false) return;
    const settings = await this.settings.get(job.orgId);
    const now = this.writer.clock.now();
    // The decider ignores a result for an attempt that is no longer the open one (a call ended it first).
    await this.writer.write(systemActor(job.orgId), job.contactId, () => ({
      type: 'RecordFollowUpAttemptResult',
      contactId: job.contactId,
      followUpId: job.followUpId,
      attempt: job.attempt,
      schedule: job.schedule,
      success: false,
      reason: 'timeout: no call within the attempt timeout',
      retryAt: new Date(now.getTime() + settings.retryDelaySeconds * 1000).toISOString(),
      now: now.toISOString(),
    }));
  }
}

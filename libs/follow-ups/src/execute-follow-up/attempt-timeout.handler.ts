import { Injectable } from '@nestjs/common';
import { HandlesJob, JobHandler } from '@app/queue';
import { SettingsRepository } from '@app/settings';
import { AttemptTimeoutPayload, FOLLOW_UP_ATTEMPT_TIMEOUT } from '../follow-up.jobs';
import { FollowUpWriter, systemActor } from '../follow-up-writer';

/** A dialled call attempt with no call pushed for it within attemptTimeoutSeconds is a failed attempt. */
@Injectable()
@HandlesJob(FOLLOW_UP_ATTEMPT_TIMEOUT)
export class AttemptTimeoutHandler implements JobHandler<AttemptTimeoutPayload> {
  constructor(
    private readonly writer: FollowUpWriter,
    private readonly settings: SettingsRepository,
  ) {}

  async run(job: AttemptTimeoutPayload): Promise<void> {
    const settings = await this.settings.get(job.orgId);
    const now = this.writer.clock.now();
    // The decider ignores a result for an attempt that is no longer the open one (a call ended it first).
    await this.writer.write(systemActor(job.orgId), job.contactId, () => ({
      type: 'RecordFollowUpAttemptResult',
      contactId: job.contactId,
      followUpId: job.followUpId,
      attempt: job.attempt,
      success: false,
      reason: 'timeout: no call within the attempt timeout',
      retryAt: new Date(now.getTime() + settings.retryDelaySeconds * 1000).toISOString(),
    }));
  }
}

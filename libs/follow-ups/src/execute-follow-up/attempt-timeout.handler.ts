import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { systemActor } from '@app/shared';
import { HandlesJob, JobContext, JobHandler } from '@app/queue';
import { ContactStateCache, liveCallOfAttempt } from '@app/contacts';
import { SettingsRepository } from '@app/settings';
import { AttemptTimeoutPayload, FOLLOW_UP_ATTEMPT_TIMEOUT } from '../follow-up.jobs';
import { FollowUpWriter } from '../follow-up-writer';

/**
 * A dialled call attempt with no call pushed for it within attemptTimeoutSeconds is a failed attempt; one whose call is
 * still in progress waits for that call's final status.
 */
@Injectable()
@HandlesJob(FOLLOW_UP_ATTEMPT_TIMEOUT)
export class AttemptTimeoutHandler implements JobHandler<AttemptTimeoutPayload> {
  private readonly liveMaxAgeMs: number;

  constructor(
    private readonly states: ContactStateCache,
    private readonly writer: FollowUpWriter,
    private readonly settings: SettingsRepository,
    config: ConfigService,
  ) {
    this.liveMaxAgeMs = Number(config.get('LIVE_CALL_MAX_AGE_MS') ?? 14_400_000);
  }

  async run(job: AttemptTimeoutPayload, context?: JobContext): Promise<void> {
    const { state } = (await this.states.load(job.orgId, [job.contactId])).get(job.contactId)!;
    const f = state.followUps.get(job.followUpId);
    // A timeout for an attempt that was withdrawn (snooze, reschedule) and started again is not this attempt's.
    if (!f || f.schedule !== job.schedule || !f.attemptOpen || f.attempts !== job.attempt) return;
    // Nor one for an attempt that was never dialled (its agent calls, no timeout: SPEC §5), which a job made from the
    // settings of its moment, before attempts recorded it, may still be for.
    if (f.attemptDialled === false) return;
    const now = this.writer.clock.now();
    // The lead is on the phone for this attempt: its final status will end it. Looked at again when that call stops
    // counting as live (a dialler that never sends the final status), unless its result has ended the attempt by then.
    const live = liveCallOfAttempt(state.calls, f, now, this.liveMaxAgeMs);
    if (live !== null) return context?.runAgainAt?.(Date.parse(live) + this.liveMaxAgeMs + 1000);
    const settings = await this.settings.get(job.orgId);
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

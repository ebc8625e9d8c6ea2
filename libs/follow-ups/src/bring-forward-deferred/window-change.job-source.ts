import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { Clock, groupBy } from '@app/shared';
import { EventStore, foldStream, StoredEvent } from '@app/event-store';
import { AsJobSource, JobRequest, JobSource } from '@app/queue';
import { DEFAULT_SETTINGS, PublicSettings, SettingsChanged, SettingsChangedData, settingsDecider, settingsStream, withDefaults } from '@app/settings';
import { bringForwardJob, BRING_FORWARD_DEFERRED } from './bring-forward.jobs';

/**
 * How long after the job outbox enqueues a settings change's sweep it runs, counted from the enqueue (not from the
 * change, which the outbox may reach late): by then that round has enqueued, too, the jobs of the deferrals committed
 * before the change (the same round, or an earlier one), whichever job source it asks first; and the workers trust
 * settings for a second (SettingsRepository.getCached).
 */
export const BRING_FORWARD_DELAY_MS = 2000;

/**
 * What a settings change moved of when the org's contacts may be called: `window` (the calling window: every contact),
 * `timezone` (only the org's timezone: contacts without one of their own, which take the org's), or null (neither).
 */
export function windowChange(before: Pick<PublicSettings, 'callingWindow' | 'timezone'>, after: Pick<PublicSettings, 'callingWindow' | 'timezone'>): 'window' | 'timezone' | null {
  if (!isDeepStrictEqual(before.callingWindow, after.callingWindow)) return 'window';
  return before.timezone === after.timezone ? null : 'timezone';
}

/**
 * A change of an org's calling window or timezone makes one sweep job (BringForwardDeferredHandler) that makes its
 * deferred follow-ups due at once: they wait for the old window's opening, and the worker, which checks the window
 * again when it runs them, starts them now if the new window is open, or defers them again to its opening. An org may
 * hold 100,000 of them, more than one round of the job outbox should touch; the sweep pages through them.
 *
 * The job is named by the change, so the event replayed after a crash makes the same one. Other changes make none,
 * and cost no read: the change's own patch says whether it touched either field before the settings before it are
 * read (a patch may name the window and leave it as it was).
 */
@Injectable()
@AsJobSource()
export class WindowChangeJobSource implements JobSource {
  readonly name = 'calling-window';
  readonly jobNames = [BRING_FORWARD_DEFERRED];
  readonly eventTypes = [SettingsChanged];

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  async jobsFor(events: readonly StoredEvent[]): Promise<JobRequest[]> {
    const touching = events.filter((e) => {
      const { changes } = e.data as SettingsChangedData;
      return changes?.callingWindow !== undefined || changes?.timezone !== undefined;
    });
    const jobs: JobRequest[] = [];
    for (const [orgId, ofOrg] of groupBy(touching, (e) => e.orgId)) {
      // Settings streams are short (one event per admin change); the settings before a change are the fold up to it.
      const stream = await this.store.readStream(orgId, settingsStream(orgId));
      for (const e of ofOrg) {
        const before = foldStream(settingsDecider, stream.filter((x) => x.streamVersion < e.streamVersion)).settings ?? DEFAULT_SETTINGS;
        const change = windowChange(withDefaults(before), withDefaults((e.data as SettingsChangedData).settings));
        if (!change) continue;
        const runAt = this.clock.now().getTime() + BRING_FORWARD_DELAY_MS;
        jobs.push(bringForwardJob({ orgId, settingsVersion: e.streamVersion, timezoneOnly: change === 'timezone' }, runAt));
      }
    }
    return jobs;
  }

  /**
   * Nothing: a sweep Redis lost with the rest is not made again. jobs:reconcile re-creates the deferred follow-ups' jobs
   * at their next attempt (the old opening), where each defers again if the window is closed then.
   */
  async *pending(): AsyncIterable<JobRequest> {}
}

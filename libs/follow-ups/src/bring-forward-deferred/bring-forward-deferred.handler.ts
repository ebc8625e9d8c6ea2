import { Injectable, Logger } from '@nestjs/common';
import { Clock, Database } from '@app/shared';
import { HandlesJob, JobHandler, JobQueues, QueueName } from '@app/queue';
import { settingsStream, SettingsRepository } from '@app/settings';
import { executeJob } from '../follow-up.jobs';
import { BRING_FORWARD_DEFERRED, BringForwardPayload } from './bring-forward.jobs';
import { deferredFollowUps, LogPosition } from './deferred-follow-ups';
import { opensSooner } from './opens-sooner';

/**
 * The sweep after an org's calling window or timezone changed (WindowChangeJobSource): the delayed execute jobs of its
 * follow-ups deferred to the old window's opening (deferredFollowUps) for which the window now opens sooner
 * (opensSooner) are made due now, a page at a time, each page one pipelined round trip to Redis (JobQueues.promote). The worker checks the window again when it runs them: in the new
 * window it starts the attempt, outside it defers to the new opening. A job that is not delayed (running, due already,
 * lost) is left as it is; a follow-up that moved on since it was read has a job of another schedule, and the one
 * promoted finds itself stale. Run again (a retry, a replayed event) it finds those it brought forward deferred anew,
 * after the change, and leaves them.
 *
 * A worker trusts the settings it read for up to a second (SettingsRepository.getCached): a follow-up another worker
 * deferred in that second, on the window before the change, is not brought forward and waits for that opening, as all
 * did before this sweep existed. Telling it from one deferred on the new window would take working out windows here.
 */
@Injectable()
@HandlesJob(BRING_FORWARD_DEFERRED)
export class BringForwardDeferredHandler implements JobHandler<BringForwardPayload> {
  private readonly logger = new Logger(BringForwardDeferredHandler.name);

  constructor(
    private readonly db: Database,
    private readonly queues: JobQueues,
    private readonly clock: Clock,
    private readonly settings: SettingsRepository,
  ) {}

  async run({ orgId, settingsVersion, timezoneOnly }: BringForwardPayload): Promise<void> {
    const now = this.clock.now();
    const change = await this.change(orgId, settingsVersion);
    if (!change) return; // not in the log: nothing to compare with (a payload made by hand)
    const settings = await this.settings.get(orgId);
    let found = 0;
    let earlier = 0;
    let promoted = 0;
    for await (const page of deferredFollowUps(this.db, orgId, change, now, timezoneOnly, BringForwardDeferredHandler.PAGE)) {
      found += page.length;
      const sooner = page.filter((f) => opensSooner(f, settings, now));
      earlier += sooner.length;
      const ids = sooner.map((f) => executeJob({ orgId, contactId: f.contactId, followUpId: f.id, schedule: f.schedule }, now.toISOString(), 'normal').jobId);
      if (ids.length) promoted += await this.queues.promote(QueueName.FollowUps, ids);
    }
    this.logger.log({ orgId, settingsVersion, timezoneOnly, found, earlier, promoted }, 'deferred follow-ups brought forward after a calling window change');
  }

  /** The change's place in the log: deferrals before it were decided on the window before it. */
  private async change(orgId: string, settingsVersion: number): Promise<LogPosition | null> {
    const { rows } = await this.db.query<{ transaction_id: string; global_position: string }>(
      `SELECT transaction_id::text, global_position::text FROM events WHERE stream_id = $1::text COLLATE "C" AND stream_version = $2`,
      [settingsStream(orgId), settingsVersion],
    );
    return rows[0] ? { transactionId: rows[0].transaction_id, globalPosition: rows[0].global_position } : null;
  }

  /** Follow-ups read a query (a test lowers it to walk several pages). */
  static PAGE = 1000;
}

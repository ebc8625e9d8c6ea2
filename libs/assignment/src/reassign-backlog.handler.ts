import { Injectable, Logger } from '@nestjs/common';
import { Database } from '@app/shared';
import { HandlesJob, JobHandler, JobQueues } from '@app/queue';
import { REASSIGN_BACKLOG, ReassignBacklogPayload } from './reassign.jobs';
import { ReassignJobSource } from './reassign.job-source';
import { recycledBacklog } from './recycled-backlog';

/**
 * The sweep after an org's rules came to recycle more (SPEC §7: turned on, a status added): a re-check job for each of
 * its leads already in a recycled status, by the rule jobs:reconcile uses, a page of contacts at a time, added in
 * bulk. Job ids are the contact and its version, so a sweep run again (a replayed event, a retry after a crash) adds
 * nothing for a lead whose job is still in Redis; a lead moved since has a new version, and its job finds its streak
 * closed.
 */
@Injectable()
@HandlesJob(REASSIGN_BACKLOG)
export class ReassignBacklogHandler implements JobHandler<ReassignBacklogPayload> {
  private readonly logger = new Logger(ReassignBacklogHandler.name);

  constructor(
    private readonly db: Database,
    private readonly queues: JobQueues,
  ) {}

  async run({ orgId, settingsVersion }: ReassignBacklogPayload): Promise<void> {
    let jobs = 0;
    for await (const page of recycledBacklog(this.db, orgId, ReassignJobSource.PAGE)) {
      await this.queues.enqueue(page);
      jobs += page.length;
    }
    this.logger.log({ orgId, settingsVersion, jobs }, 'recycled leads queued for a re-check after a settings change');
  }
}

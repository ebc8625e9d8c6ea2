import { Injectable } from '@nestjs/common';
import { HandlesJob, JobContext, JobHandler } from '@app/queue';
import { EXECUTE_FOLLOW_UP, ExecuteFollowUpPayload } from '../follow-up.jobs';
import { FollowUpExecutor } from './follow-up-executor';

/** A follow-up came due (SPEC §5): executed with the others due at the same moment (see FollowUpExecutor). */
@Injectable()
@HandlesJob(EXECUTE_FOLLOW_UP)
export class ExecuteFollowUpHandler implements JobHandler<ExecuteFollowUpPayload> {
  constructor(private readonly executor: FollowUpExecutor) {}

  run(job: ExecuteFollowUpPayload, context: JobContext): Promise<void> {
    return this.executor.execute(job, { redelivered: context.redelivered, slowOutside: context.slowOutside, runAgainAt: context.runAgainAt });
  }
}

import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CallPushResult } from './call-push';
import { CallIngest } from './call-ingest';
import { IngestBatcher } from './ingest-batcher';
import { LogCallCommand, LogCallsBatchCommand } from './log-call.command';

@CommandHandler(LogCallCommand)
export class LogCallHandler implements ICommandHandler<LogCallCommand, CallPushResult> {
  constructor(private readonly batcher: IngestBatcher) {}

  execute({ actor, call }: LogCallCommand): Promise<CallPushResult> {
    return this.batcher.push(actor, call);
  }
}

@CommandHandler(LogCallsBatchCommand)
export class LogCallsBatchHandler implements ICommandHandler<LogCallsBatchCommand> {
  constructor(private readonly ingest: CallIngest) {}

  execute({ actor, calls }: LogCallsBatchCommand) {
    return this.ingest.ingestBatch(actor, calls);
  }
}

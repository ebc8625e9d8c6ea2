import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CallPushResult } from './call-push';
import { CallIngest } from './call-ingest';
import { LogCallCommand, LogCallsBatchCommand } from './log-call.command';

@CommandHandler(LogCallCommand)
export class LogCallHandler implements ICommandHandler<LogCallCommand, CallPushResult> {
  constructor(private readonly ingest: CallIngest) {}

  execute({ actor, call }: LogCallCommand): Promise<CallPushResult> {
    return this.ingest.ingest(actor, call);
  }
}

@CommandHandler(LogCallsBatchCommand)
export class LogCallsBatchHandler implements ICommandHandler<LogCallsBatchCommand> {
  constructor(private readonly ingest: CallIngest) {}

  execute({ actor, calls }: LogCallsBatchCommand) {
    return this.ingest.ingestBatch(actor, calls);
  }
}

import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { AsEventConsumer, EventConsumer, StoredEvent } from '@app/event-store';
import { JobQueues } from './job-queues';
import { JobRegistry } from './job.registry';


/**
 * Turns committed events into BullMQ jobs. It is a checkpointed consumer: the checkpoint moves only after
 * the jobs are in Redis, so a crash between an append and its enqueue re-enqueues on restart, and the
 * deterministic job ids collapse what had been enqueued already.
 */
@Injectable()
@AsEventConsumer()
export class JobOutbox implements EventConsumer {
  readonly name = 'job-outbox';

  constructor(
    private readonly registry: JobRegistry,
    private readonly queues: JobQueues,
  ) {}

  get eventTypes(): readonly string[] {
    return this.registry.eventTypes();
  }

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    for (const source of this.registry.sources) {
      const relevant = events.filter((e) => source.eventTypes.includes(e.type));
      if (relevant.length === 0) continue;
      // The round's transaction is open around it (and carries the other async projections' writes): enqueue bounds
      // its wait for Redis (JobQueues.enqueue), so with Redis away the round fails, rolls back and is tried again,
      // rather than hold the transaction open for the whole outage (reports stood still, and the cluster's horizon).
      await this.queues.enqueue(await source.jobsFor(relevant, tx));
    }
  }
}

import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { AsEventConsumer, EventConsumer, StoredEvent } from '@app/event-store';
import { JobQueues } from './job-queues';
import { JobRegistry } from './job.registry';
import { isRemoval, JobRequest } from './queue.constants';

/**
 * Turns committed events into BullMQ jobs. It is a checkpointed consumer: the checkpoint moves only after
 * the jobs are in Redis, so a crash between an append and its enqueue re-enqueues on restart, and the
 * deterministic job ids collapse what had been enqueued already.
 *
 * It also takes out of Redis the waiting jobs an event made pointless (JobRequest.remove), after the round's adds,
 * before the checkpoint: a round run again removes again, which is harmless. Sources ask to remove only ids no later
 * event can ask for again (a schedule older than one an event set, or a follow-up that ended), so neither a later
 * round nor the same round run again puts one back; a job of this round's that the round also removes is not added.
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
      // Removal is bounded the same way; a job it cannot remove (running) is no failure.
      const { adds, removals } = splitRemovals(await source.jobsFor(relevant, tx));
      await this.queues.enqueue(adds);
      if (removals.length) await this.queues.remove(removals);
    }
  }
}

/** The jobs to add, but those the same requests remove, and the removals. */
export function splitRemovals(requests: readonly JobRequest[]): { adds: JobRequest[]; removals: JobRequest[] } {
  const removals = requests.filter(isRemoval);
  if (removals.length === 0) return { adds: [...requests], removals };
  const removed = new Set(removals.map((r) => `${r.queue}|${r.jobId}`));
  return { adds: requests.filter((r) => !isRemoval(r) && !removed.has(`${r.queue}|${r.jobId}`)), removals };
}

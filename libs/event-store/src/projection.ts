import { SetMetadata } from '@nestjs/common';
import { BatchedStatement, Sql } from '@app/shared';
import { PlannedEvent, StoredEvent } from './event-store.types';

/**
 * A checkpointed reader of the event log. `handle` runs inside the transaction that moves the checkpoint,
 * so its database writes happen exactly once; side effects outside Postgres (enqueueing a job) must be idempotent.
 */
export interface EventConsumer {
  readonly name: string;
  /** Event types it reads; the checkpoint still moves past every other event. */
  readonly eventTypes: readonly string[];
  handle(events: readonly StoredEvent[], tx: Sql): Promise<void>;
}

/**
 * A read model built from events.
 * - `inline`: applied inside the append's transaction, so the next read after a write sees it.
 * - `async`: applied by the consumer runner shortly after commit (one instance across all processes).
 * `apply` must be idempotent and use only event data (never the clock), so a rebuild equals the live tables.
 */
export interface Projection extends EventConsumer {
  readonly mode: 'inline' | 'async';
  /** Tables it owns: emptied and refilled by a rebuild. */
  readonly tables: readonly string[];
  /**
   * Optional, for inline projections: the writes `handle` would make for these events, as statements, from what is
   * known before the append (no global position or transaction id). When they fit in one statement, appendMany sends
   * them with the append as one statement: one round trip and no BEGIN/COMMIT (see EventStore.appendMany).
   * Such a statement sees the database as it was before the append took its streams' locks: it may touch only the
   * rows it writes (an UPDATE's target rows, an INSERT's conflicts), and must list in `reads` any other table it
   * reads (INSERT … SELECT from a table, a subquery), which sends the call through a transaction instead.
   */
  statements?(events: readonly PlannedEvent[]): readonly BatchedStatement[];
}

export const PROJECTION = Symbol('projection');
/** Marks a provider as a projection; the registry finds it at boot. */
export const AsProjection = (): ClassDecorator => SetMetadata(PROJECTION, true);

export const EVENT_CONSUMER = Symbol('event-consumer');
/** Marks a provider as a checkpointed consumer that is not a projection (e.g. the job outbox). */
export const AsEventConsumer = (): ClassDecorator => SetMetadata(EVENT_CONSUMER, true);

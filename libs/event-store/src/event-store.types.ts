/** An event as a command handler produces it. */
export interface NewEvent<T = unknown> {
  readonly type: string;
  readonly data: T;
  /** Unique per organization: appending an event whose key is stored already is a replay and stores nothing. */
  readonly idempotencyKey?: string;
}

export interface EventMetadata {
  readonly orgId: string;
  readonly actorId?: string | null;
  readonly correlationId?: string | null;
  readonly causationId?: string | null;
  /** When it happened by the domain's clock (ISO-8601); projections use this, never the wall clock. */
  readonly occurredAt: string;
}

export interface StoredEvent<T = any> {
  readonly globalPosition: string;
  readonly transactionId: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly orgId: string;
  readonly type: string;
  readonly data: T;
  readonly metadata: EventMetadata;
  readonly idempotencyKey: string | null;
}

/**
 * An event as an inline projection sees it when its writes go out in the append's own statement: everything but
 * where it lands in the log, which the append has not yet decided (see EventStore.appendMany).
 */
export type PlannedEvent<T = any> = Omit<StoredEvent<T>, 'globalPosition' | 'transactionId'>;

/** -1 (`ANY`): no check; 0 (`NO_STREAM`): the stream must not exist; n: the stream must be at version n. */
export type ExpectedVersion = number;
export const ANY = -1;
export const NO_STREAM = 0;

export interface AppendResult {
  /** True when every key was seen before: nothing new was stored and the original positions are returned. */
  readonly replayed: boolean;
  readonly nextExpectedVersion: number;
  readonly positions: readonly string[];
  readonly events: readonly StoredEvent[];
}

/** A point in commit order: events strictly after it are unread. */
export interface Checkpoint {
  readonly transactionId: string;
  readonly globalPosition: string;
}

export const START: Checkpoint = { transactionId: '0', globalPosition: '0' };

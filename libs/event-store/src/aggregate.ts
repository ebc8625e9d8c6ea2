import { EventStore } from './event-store';
import { retryOnConcurrency } from './concurrency.error';
import { AppendResult, EventMetadata, NewEvent, StoredEvent } from './event-store.types';

export interface Decider<S, E extends { type: string; data: unknown }> {
  readonly initial: S;
  evolve(state: S, event: E): S;
}

/** Folds a stream's stored events into state. */
export function foldStream<S, E extends { type: string; data: unknown }>(decider: Decider<S, E>, events: readonly StoredEvent[]): S {
  return events.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as E), decider.initial);
}

/**
 * Load → decide → append with the version read, retried a few times when another writer got there first.
 * `decide` may throw a DomainError; returning no events appends nothing.
 */
export async function decideAndAppend<S, E extends { type: string; data: unknown }>(
  store: EventStore,
  args: {
    streamId: string;
    metadata: EventMetadata;
    decider: Decider<S, E>;
    decide: (state: S) => E[] | NewEvent[];
  },
): Promise<{ state: S; events: NewEvent[]; result: AppendResult | null }> {
  return retryOnConcurrency(async () => {
    const stored = await store.readStream(args.metadata.orgId, args.streamId);
    const state = foldStream(args.decider, stored);
    const events = args.decide(state) as NewEvent[];
    if (events.length === 0) return { state, events, result: null };
    const result = await store.append(args.streamId, events, { expectedVersion: stored.length ? stored[stored.length - 1].streamVersion : 0, metadata: args.metadata });
    return { state, events, result };
  });
}

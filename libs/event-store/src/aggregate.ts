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

/**
 * Folded states of streams, kept in this process (least recently used dropped beyond `max`). Events never change,
 * so a cached state at version v plus the events after v is the state at the stream's head: a reader catches up
 * with one query for just the new events instead of reading and folding whole streams. Any other process may
 * have appended meanwhile; the catch-up read sees it. States must be immutable (evolve returns new objects).
 */
export class StateCache<S> {
  private readonly entries = new Map<string, { state: S; version: number }>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): { state: S; version: number } | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  /** Keeps the newer of what it has and what it is given. */
  set(key: string, state: S, version: number): void {
    if (this.max <= 0) return;
    const had = this.entries.get(key);
    if (had && had.version >= version) return;
    this.entries.delete(key);
    this.entries.set(key, { state, version });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** A stream's key in a StateCache: states are kept per organization. */
export const stateKey = (orgId: string, streamId: string): string => `${orgId}|${streamId}`;

/**
 * Each stream's state as this process last left it, unread, or null unless the cache holds every one. Another
 * process may have appended since: a writer may decide on these only if it appends at the version it decided on
 * (a stale state then conflicts) and answers nothing from them without an append.
 */
export function cachedStates<S>(cache: StateCache<S>, orgId: string, streamIds: readonly string[]): Map<string, { state: S; version: number }> | null {
  const out = new Map<string, { state: S; version: number }>();
  for (const streamId of streamIds) {
    const hit = cache.get(stateKey(orgId, streamId));
    if (!hit) return null;
    out.set(streamId, hit);
  }
  return out;
}

/** The current state and version of each stream: from the cache, caught up with one read of the newer events. */
export async function loadStates<S, E extends { type: string; data: unknown }>(
  store: EventStore,
  cache: StateCache<S>,
  decider: Decider<S, E>,
  orgId: string,
  streamIds: readonly string[],
): Promise<Map<string, { state: S; version: number }>> {
  const key = (streamId: string) => stateKey(orgId, streamId);
  const known = streamIds.map((streamId) => ({ streamId, hit: cache.get(key(streamId)) }));
  const tails = await store.readTails(
    orgId,
    known.map((k) => ({ streamId: k.streamId, after: k.hit?.version ?? 0 })),
  );
  const out = new Map<string, { state: S; version: number }>();
  for (const { streamId, hit } of known) {
    let state = hit?.state ?? decider.initial;
    let version = hit?.version ?? 0;
    for (const e of tails.get(streamId) ?? []) {
      state = decider.evolve(state, { type: e.type, data: e.data } as E);
      version = e.version;
    }
    if (version > 0) cache.set(key(streamId), state, version);
    out.set(streamId, { state, version });
  }
  return out;
}

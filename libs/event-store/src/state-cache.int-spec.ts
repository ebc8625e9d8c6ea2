import { randomUUID } from 'node:crypto';
import { startStoreContext } from '@app/testing';
import { Decider, loadStates, StateCache } from './aggregate';
import { EventStore } from './event-store';
import { ANY } from './event-store.types';

/** A sum and the list of values: a fold whose result shows every event, in order. */
type Sum = { total: number; seen: number[] };
const summing: Decider<Sum, { type: string; data: { n: number } }> = {
  initial: { total: 0, seen: [] },
  evolve: (s, e) => ({ total: s.total + e.data.n, seen: [...s.seen, e.data.n] }),
};

describe('loadStates with a StateCache', () => {
  let ctx: Awaited<ReturnType<typeof startStoreContext>>;
  let store: EventStore;
  const orgId = randomUUID();
  const add = (stream: string, ...ns: number[]) =>
    store.append(stream, ns.map((n) => ({ type: 'Added', data: { n } })), { expectedVersion: ANY, metadata: { orgId, occurredAt: new Date().toISOString() } });

  beforeAll(async () => {
    ctx = await startStoreContext();
    store = ctx.app.get(EventStore);
  });
  afterAll(async () => ctx?.close());

  it('should fold a stream once, then catch up on what other writers appended since', async () => {
    const cache = new StateCache<Sum>(10);
    const [a, b] = [`s-${randomUUID()}`, `s-${randomUUID()}`];
    await add(a, 1, 2);
    await add(b, 10);
    const first = await loadStates(store, cache, summing, orgId, [a, b]);
    expect(first.get(a)).toEqual({ state: { total: 3, seen: [1, 2] }, version: 2 });
    expect(first.get(b)).toEqual({ state: { total: 10, seen: [10] }, version: 1 });

    await add(a, 4); // another process, say: the cache never saw it
    const readTails = jest.spyOn(store, 'readTails');
    const second = await loadStates(store, cache, summing, orgId, [a, b]);
    expect(second.get(a)).toEqual({ state: { total: 7, seen: [1, 2, 4] }, version: 3 });
    expect(second.get(b)).toEqual({ state: { total: 10, seen: [10] }, version: 1 });
    expect(readTails).toHaveBeenCalledWith(orgId, [
      { streamId: a, after: 2 },
      { streamId: b, after: 1 },
    ]);
    readTails.mockRestore();
  });

  it('should give the initial state at version 0 for a stream that does not exist or belongs to another organization', async () => {
    const cache = new StateCache<Sum>(10);
    const theirs = `s-${randomUUID()}`;
    await store.append(theirs, [{ type: 'Added', data: { n: 5 } }], { expectedVersion: ANY, metadata: { orgId: randomUUID(), occurredAt: new Date().toISOString() } });
    const loaded = await loadStates(store, cache, summing, orgId, [`s-${randomUUID()}`, theirs]);
    expect([...loaded.values()]).toEqual([
      { state: summing.initial, version: 0 },
      { state: summing.initial, version: 0 },
    ]);
    expect(cache.size).toBe(0);
  });

  it('should drop the least recently used state beyond its size and refold it from the store', async () => {
    const cache = new StateCache<Sum>(2);
    const [a, b, c] = [`s-${randomUUID()}`, `s-${randomUUID()}`, `s-${randomUUID()}`];
    for (const [s, n] of [[a, 1], [b, 2], [c, 3]] as const) await add(s, n);
    await loadStates(store, cache, summing, orgId, [a, b]);
    await loadStates(store, cache, summing, orgId, [a]); // a is now the most recent
    await loadStates(store, cache, summing, orgId, [c]); // evicts b
    expect(cache.get(`${orgId}|${b}`)).toBeUndefined();
    expect(cache.get(`${orgId}|${a}`)?.version).toBe(1);
    expect((await loadStates(store, cache, summing, orgId, [b])).get(b)).toEqual({ state: { total: 2, seen: [2] }, version: 1 });
  });

  it('should keep the newer of two states it is given', () => {
    const cache = new StateCache<Sum>(5);
    cache.set('k', { total: 3, seen: [1, 2] }, 2);
    cache.set('k', { total: 1, seen: [1] }, 1);
    expect(cache.get('k')?.version).toBe(2);
  });
});

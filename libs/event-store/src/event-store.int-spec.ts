import { randomUUID } from 'node:crypto';
import { Database, NotFoundError } from '@app/shared';
import { startStoreContext } from '@app/testing';
import { ConcurrencyError } from './concurrency.error';
import { ConsumerRunner } from './consumer-runner';
import { EventStore } from './event-store';
import { ANY, NO_STREAM, StoredEvent } from './event-store.types';
import { EventConsumer } from './projection';

describe(EventStore.name, () => {
  let ctx: Awaited<ReturnType<typeof startStoreContext>>;
  let store: EventStore;
  let db: Database;
  const orgId = randomUUID();
  const meta = (over: Record<string, unknown> = {}) => ({ orgId, actorId: 'tester', occurredAt: new Date().toISOString(), ...over });

  beforeAll(async () => {
    ctx = await startStoreContext();
    store = ctx.app.get(EventStore);
    db = ctx.db;
  });
  afterAll(async () => ctx?.close());

  it('should store several events of one append atomically, numbered in order', async () => {
    const stream = `s-${randomUUID()}`;
    const r = await store.append(stream, [{ type: 'A', data: { n: 1 } }, { type: 'B', data: { n: 2 } }, { type: 'C', data: { n: 3 } }], {
      expectedVersion: NO_STREAM,
      metadata: meta({ correlationId: 'corr-1', causationId: 'cause-1' }),
    });
    expect(r.nextExpectedVersion).toBe(3);
    const read = await store.readStream(orgId, stream);
    expect(read.map((e) => [e.type, e.streamVersion, e.data.n])).toEqual([
      ['A', 1, 1],
      ['B', 2, 2],
      ['C', 3, 3],
    ]);
    expect(read[0].metadata).toMatchObject({ orgId, actorId: 'tester', correlationId: 'corr-1', causationId: 'cause-1' });
  });

  it('should refuse an append at a stale expected version and store nothing', async () => {
    const stream = `s-${randomUUID()}`;
    await store.append(stream, [{ type: 'A', data: {} }], { expectedVersion: NO_STREAM, metadata: meta() });
    await expect(store.append(stream, [{ type: 'B', data: {} }, { type: 'C', data: {} }], { expectedVersion: 0, metadata: meta() })).rejects.toThrow(
      ConcurrencyError,
    );
    await expect(store.append(stream, [{ type: 'B', data: {} }], { expectedVersion: 5, metadata: meta() })).rejects.toThrow(ConcurrencyError);
    expect((await store.readStream(orgId, stream)).map((e) => e.type)).toEqual(['A']);
    await store.append(stream, [{ type: 'B', data: {} }], { expectedVersion: 1, metadata: meta() });
    expect((await store.readStream(orgId, stream)).map((e) => e.type)).toEqual(['A', 'B']);
  });

  it('should answer each stream of a multi-stream append on its own, with the stored positions and transaction', async () => {
    const [fresh, stale] = [`s-${randomUUID()}`, `s-${randomUUID()}`];
    await store.append(stale, [{ type: 'A', data: {} }], { expectedVersion: NO_STREAM, metadata: meta() });
    const results = await store.appendMany(
      [
        { streamId: fresh, expectedVersion: NO_STREAM, events: [{ type: 'X', data: { n: 1 } }, { type: 'Y', data: { n: 2 } }] },
        { streamId: stale, expectedVersion: 0, events: [{ type: 'Z', data: {} }] },
      ],
      meta(),
    );
    expect(results.map((r) => [r.outcome, r.streamVersion])).toEqual([
      ['ok', 2],
      ['conflict', 1],
    ]);
    const { rows } = await db.query<{ global_position: string; transaction_id: string }>(
      'SELECT global_position::text, transaction_id::text FROM events WHERE stream_id = $1 ORDER BY stream_version',
      [fresh],
    );
    // What inline projections and the caller were handed is what was stored: the consumers' order depends on it.
    expect(results[0].events.map((e) => [e.globalPosition, e.transactionId])).toEqual(rows.map((r) => [r.global_position, r.transaction_id]));
    expect(results[1].events).toEqual([]);
    expect((await store.readStream(orgId, stale)).map((e) => e.type)).toEqual(['A']);
  });

  it('should let exactly one of two racing writers win the same expected version', async () => {
    const stream = `s-${randomUUID()}`;
    await store.append(stream, [{ type: 'A', data: {} }], { expectedVersion: NO_STREAM, metadata: meta() });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => store.append(stream, [{ type: `W${i}`, data: {} }], { expectedVersion: 1, metadata: meta() })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof ConcurrencyError)).toBe(true);
    expect(await store.readStream(orgId, stream)).toHaveLength(2);
  });

  it('should answer a retried append with the original result and store nothing new', async () => {
    const stream = `s-${randomUUID()}`;
    const events = [
      { type: 'CallLogged', data: { callId: 'c1' }, idempotencyKey: `k-${stream}-1` },
      { type: 'LeadStatusChanged', data: { to: 'Not Picked' }, idempotencyKey: `k-${stream}-2` },
    ];
    const first = await store.append(stream, events, { expectedVersion: ANY, metadata: meta() });
    const again = await store.append(stream, events, { expectedVersion: ANY, metadata: meta() });
    // Concurrent retries too: all collapse onto the first.
    const racing = await Promise.all(Array.from({ length: 5 }, () => store.append(stream, events, { expectedVersion: ANY, metadata: meta() })));
    expect(first.replayed).toBe(false);
    for (const r of [again, ...racing]) {
      expect(r.replayed).toBe(true);
      expect(r.positions).toEqual(first.positions);
      expect(r.nextExpectedVersion).toBe(first.nextExpectedVersion);
    }
    expect(await store.readStream(orgId, stream)).toHaveLength(2);
  });

  it('should keep one organization out of another organization’s stream', async () => {
    const stream = `s-${randomUUID()}`;
    await store.append(stream, [{ type: 'A', data: {} }], { expectedVersion: NO_STREAM, metadata: meta() });
    const other = randomUUID();
    await expect(store.append(stream, [{ type: 'X', data: {} }], { expectedVersion: ANY, metadata: meta({ orgId: other }) })).rejects.toThrow(NotFoundError);
    expect(await store.readStream(other, stream)).toEqual([]);
    expect(await store.readStream(orgId, stream)).toHaveLength(1);
  });

  it('should let a consumer see every event of 8 concurrent writers exactly once and in commit order', async () => {
    const WRITERS = 8;
    const PER_WRITER = 2_500;
    const seen: StoredEvent[] = [];
    const consumer: EventConsumer = {
      name: 'ordering-probe',
      eventTypes: ['Probe'],
      handle: async (events) => void seen.push(...events),
    };
    await ConsumerRunner.ensureCheckpoint(db, consumer.name);
    let writing = true;
    const reader = (async () => {
      // Reads while the writers write, as a live consumer does.
      while (writing || seen.length < WRITERS * PER_WRITER) {
        const n = await ConsumerRunner.runBatch(db, consumer, 500);
        if (n === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const shared = `shared-${randomUUID()}`;
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < PER_WRITER; i++) {
          // Every 10th append of each writer goes to one stream all writers share (expected version ANY),
          // which is where transaction-id order and stream order could disagree without the stream lock.
          const stream = i % 10 === 0 ? shared : `w${w}-${i % 7}`;
          const batch = i % 5 === 0 ? 2 : 1;
          const events = Array.from({ length: batch }, (_, b) => ({ type: 'Probe', data: { w, i, b } }));
          await store.append(stream, events, { expectedVersion: ANY, metadata: meta() });
          if (batch === 2) i++; // two events of this writer's sequence in one append
        }
      }),
    );
    writing = false;
    await reader;

    expect(seen).toHaveLength(WRITERS * PER_WRITER);
    const ids = new Set(seen.map((e) => e.globalPosition));
    expect(ids.size).toBe(seen.length);
    // Each writer appends sequentially: an append committed before the next began, so the consumer must see them in that order.
    for (let w = 0; w < WRITERS; w++) {
      const mine = seen.filter((e) => e.data.w === w).map((e) => e.data.i * 10 + e.data.b);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
    // Within every stream, versions arrive strictly in order, without gaps.
    const byStream = new Map<string, number[]>();
    for (const e of seen) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.streamVersion]);
    for (const [, versions] of byStream) expect(versions).toEqual(versions.map((_, i) => versions[0] + i));
    expect(byStream.get(shared)![0]).toBe(1);
  }, 180_000);
});

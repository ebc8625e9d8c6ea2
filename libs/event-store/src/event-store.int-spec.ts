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

  it('should plan the read of stream tails once per connection, not again at every read', async () => {
    const stream = `s-${randomUUID()}`;
    await store.append(stream, [{ type: 'A', data: { n: 1 } }, { type: 'B', data: { n: 2 } }], { expectedVersion: NO_STREAM, metadata: meta() });
    // The reads all run on one connection, whose prepared statements (and how often each was planned) are read there.
    const own = await db.pool.connect();
    const query = db.query.bind(db);
    const spy = jest.spyOn(db, 'query').mockImplementation(((q: { name?: string }, values?: unknown[]) =>
      q.name === 'read-tails' ? own.query(q as never, values) : query(q as never, values)) as typeof db.query);
    const plans = async () =>
      (await own.query<{ generic: number; custom: number }>(`SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name = 'read-tails'`))
        .rows[0] ?? { generic: 0, custom: 0 };
    try {
      const before = await plans();
      for (let i = 0; i < 8; i++) {
        const tails = await store.readTails(orgId, [{ streamId: stream, after: i % 2 }]);
        expect(tails.get(stream)!.map((e) => e.type)).toEqual(i % 2 ? ['B'] : ['A', 'B']);
      }
      const after = await plans();
      // Postgres plans a named statement anew for its first five executions, then keeps a generic plan that costs no more.
      expect(after.generic - before.generic + after.custom - before.custom).toBe(8);
      expect(after.custom - before.custom).toBeLessThanOrEqual(5);
    } finally {
      spy.mockRestore();
      own.release();
    }
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

  it("should store each event's own data, and the append's metadata, when many streams are appended at once", async () => {
    const streams = Array.from({ length: 5 }, () => `s-${randomUUID()}`);
    // Unicode, quotes, backslashes and nesting: the data travel as one JSON array (migration 0017), not as array literals.
    const datum = (s: number, e: number) => ({ s, e, text: `"q" \\ ${'é'.repeat(e)} ☎`, nested: { list: [s, e, null], empty: {} } });
    const requests = streams.map((streamId, s) => ({
      streamId,
      expectedVersion: NO_STREAM,
      events: Array.from({ length: (s % 3) + 1 }, (_, e) => ({ type: `T${e}`, data: datum(s, e), idempotencyKey: `k-${streamId}-${e}` })),
    }));
    const metadata = meta({ correlationId: 'many-1' });
    const results = await store.appendMany(requests, metadata);
    expect(results.map((r) => r.outcome)).toEqual(streams.map(() => 'ok'));
    const read = await store.readStreams(orgId, streams);
    for (const [s, streamId] of streams.entries()) {
      const stored = read.get(streamId)!;
      expect(stored.map((e) => [e.type, e.streamVersion, e.data])).toEqual(requests[s].events.map((e, k) => [e.type, k + 1, e.data]));
      for (const e of stored) expect(e.metadata).toEqual(metadata);
    }
  });

  it('should store nothing and say why when the events and their data do not match in number', async () => {
    const stream = `s-${randomUUID()}`;
    await expect(
      db.query(`SELECT * FROM fu_append_many_json($1, $2, $3, $4, $5, $6, $7, $8)`, [orgId, [stream], [0], [2], ['A', 'B'], JSON.stringify([{}]), JSON.stringify(meta()), [null, null]]),
    ).rejects.toThrow('one element per event');
    expect(await store.readStream(orgId, stream)).toEqual([]);
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

  it('should answer a multi-stream append exactly as deciding its requests one at a time would (300 random calls)', async () => {
    // fu_append_many decides a call as sets (migration 0015); fu_append_many_each is the request-at-a-time
    // original. Each random call runs through both, each in a transaction rolled back after, from the same
    // stored state: same answers, same events stored. New positions are compared by the event they name.
    const other = randomUUID();
    const streams = Array.from({ length: 4 }, () => `d-${randomUUID()}`);
    const foreign = `d-${randomUUID()}`;
    const storedKeys: string[] = [];
    for (const [i, s] of streams.entries()) {
      const events = Array.from({ length: i + 1 }, (_, k) => ({ type: 'Seed', data: { k }, idempotencyKey: `seed-${s}-${k}` }));
      await store.append(s, events, { expectedVersion: NO_STREAM, metadata: meta() });
      storedKeys.push(...events.map((e) => e.idempotencyKey));
    }
    await store.append(foreign, [{ type: 'Seed', data: {} }], { expectedVersion: NO_STREAM, metadata: meta({ orgId: other }) });
    const versions = new Map(streams.map((s, i) => [s, i + 1]));
    let seed = 42;
    const rand = (n: number) => {
      // mulberry32: a small seeded generator, so a failing call can be replayed
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % n);
    };

    const run = async (fn: string, call: unknown[]) => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query(`SELECT request, outcome, stream_version::int AS v, positions::text[] AS p FROM ${fn}($1, $2, $3, $4, $5, $6, $7, $8)`, call);
        const { rows: made } = await client.query(
          `SELECT global_position::text AS g, stream_id, stream_version::int AS v, type, idempotency_key AS k FROM events WHERE transaction_id = pg_current_xact_id() ORDER BY global_position`,
        );
        const { rows: after } = await client.query(
          `SELECT stream_id, max(stream_version)::int AS v FROM events WHERE stream_id = ANY ($1) GROUP BY stream_id ORDER BY stream_id`,
          [call[1]],
        );
        const name = new Map(made.map((e) => [e.g, `${e.stream_id}@${e.v}`]));
        return {
          answers: rows.map((r) => [r.request, r.outcome, r.v, r.p?.map((g: string) => name.get(g) ?? g) ?? null]),
          stored: made.map((e) => [e.stream_id, e.v, e.type, e.k]),
          streams: after,
        };
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    };

    const seen = new Set<string>();
    let chained = 0;
    for (let c = 0; c < 300; c++) {
      const fresh = [`d-new-${c}-a`, `d-new-${c}-b`];
      const pool = [...streams.slice(0, 1 + rand(4)), ...fresh.slice(0, 1 + rand(2)), ...(rand(4) === 0 ? [foreign] : [])];
      const requests = Array.from({ length: 1 + rand(8) }, () => pool[rand(pool.length)]);
      const keys: (string | null)[] = [];
      const counts = requests.map(() => 1 + rand(3));
      const expected = requests.map((s, i) => {
        const current = versions.get(s) ?? (s === foreign ? 1 : 0);
        const earlier = requests.slice(0, i).filter((x) => x === s).length; // what the caller would expect had those gone in
        return [-1, 0, current + earlier * 2, current, current + 1][rand(5)];
      });
      // Mostly fresh keys or none; now and then a stored key (a retry) or, in one call in ten, a key an earlier
      // request of the same call carries (which fu_append_many hands to fu_append_many_each).
      const twin = rand(10) === 0;
      counts.forEach((n) => {
        const earlier = keys.filter((k): k is string => !!k && !storedKeys.includes(k));
        for (let k = 0; k < n; k++) {
          const pick = rand(40);
          keys.push(pick < 15 ? null : pick < 38 ? `k-${randomUUID()}` : pick === 38 ? storedKeys[rand(storedKeys.length)] : twin ? (earlier.at(-1) ?? null) : null);
        }
      });
      const total = counts.reduce((a, b) => a + b, 0);
      const call = [
        orgId,
        requests,
        expected,
        counts,
        Array.from({ length: total }, (_, i) => `T${i}`),
        Array.from({ length: total }, (_, i) => JSON.stringify({ i })),
        Array.from({ length: total }, () => JSON.stringify(meta())),
        keys,
      ];
      const fast = await run('fu_append_many', call);
      const each = await run('fu_append_many_each', call);
      expect({ call: c, ...fast }).toEqual({ call: c, ...each });
      for (const a of fast.answers) seen.add(a[1] as string);
      // Calls where a stream's later request went in after an earlier one of the same call: the chained case.
      if (fast.answers.some((a, i) => a[1] === 'ok' && fast.answers.some((b, j) => j < i && b[1] === 'ok' && requests[j] === requests[i]))) chained++;
    }
    // The random calls did reach every outcome, and the chains that only the set-based pass computes.
    expect([...seen].sort()).toEqual(['conflict', 'foreign', 'ok', 'replayed']);
    expect(chained).toBeGreaterThan(30);
  }, 120_000);

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

import { randomUUID } from 'node:crypto';
import { register } from 'prom-client';
import { Sql } from '@app/shared';
import { startStoreContext } from '@app/testing';
import { ConsumerRunner } from './consumer-runner';
import { EventStore } from './event-store';
import { ANY, START, StoredEvent } from './event-store.types';
import { EventConsumer } from './projection';

/** Records what it is handed in a table of its own, so what a rolled-back round wrote is undone with it. */
class Recorder implements EventConsumer {
  failing = false;
  handedOut: string[][] = [];

  constructor(
    readonly name: string,
    readonly eventTypes: readonly string[],
  ) {}

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    this.handedOut.push(events.map((e) => e.type));
    await tx.query(`INSERT INTO consumer_seen (consumer, position) SELECT $1, unnest($2::bigint[])`, [this.name, events.map((e) => e.globalPosition)]);
    if (this.failing) throw new Error(`${this.name} fails`);
  }
}

/** A consumer's value of a prom-client metric of this process; undefined when it has none. */
const metric = async (name: string, consumer: string): Promise<number | undefined> =>
  (await register.getSingleMetric(name)?.get())?.values.find((v) => v.labels.consumer === consumer)?.value;

describe(ConsumerRunner.name, () => {
  let ctx: Awaited<ReturnType<typeof startStoreContext>>;
  let store: EventStore;
  const orgId = randomUUID();
  const meta = () => ({ orgId, occurredAt: new Date().toISOString() });

  beforeAll(async () => {
    ctx = await startStoreContext();
    store = ctx.app.get(EventStore);
    await ctx.db.query('CREATE TABLE consumer_seen (consumer text NOT NULL, position bigint NOT NULL, UNIQUE (consumer, position))');
  });
  afterAll(async () => ctx?.close());

  /** Positions of this test's events of these types, in commit order. */
  const positionsOf = async (stream: string, types: readonly string[]) =>
    (
      await ctx.db.query<{ p: string }>(`SELECT global_position::text AS p FROM events WHERE stream_id = $1 AND type = ANY ($2) ORDER BY transaction_id, global_position`, [
        stream,
        types,
      ])
    ).rows.map((r) => r.p);
  const seen = async (consumer: string, stream: string) =>
    (
      await ctx.db.query<{ p: string }>(
        `SELECT s.position::text AS p FROM consumer_seen s JOIN events e ON e.global_position = s.position
          WHERE s.consumer = $1 AND e.stream_id = $2 ORDER BY e.transaction_id, e.global_position`,
        [consumer, stream],
      )
    ).rows.map((r) => r.p);
  /** Runs rounds until `done` (the horizon is cluster-wide: another test database's transaction may hold it back). */
  const until = async (round: () => Promise<unknown>, done: () => Promise<boolean>) => {
    for (const end = Date.now() + 20_000; !(await done()); ) {
      if (Date.now() > end) throw new Error('not done after 20 s');
      await round();
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  /** Waits until every event of the stream is below the horizon: a round then sees all of them. */
  const settled = async (stream: string) => {
    const { rows } = await ctx.db.query<{ t: string }>('SELECT max(transaction_id)::text AS t FROM events WHERE stream_id = $1', [stream]);
    await until(
      async () => undefined,
      async () => BigInt(await EventStore.horizon(ctx.db)) > BigInt(rows[0].t),
    );
  };
  const consumers = async (...list: Recorder[]) => {
    for (const c of list) await ConsumerRunner.ensureCheckpoint(ctx.db, c.name);
    return list;
  };
  const append = async (stream: string, types: readonly string[]) => {
    for (const type of types) await store.append(stream, [{ type, data: {} }], { expectedVersion: ANY, metadata: meta() });
  };

  it('should hand each consumer only the events of its types, each once and in commit order, from one read per round', async () => {
    const stream = `s-${randomUUID()}`;
    const [x, y] = await consumers(new Recorder(`x-${randomUUID()}`, ['X']), new Recorder(`y-${randomUUID()}`, ['Y', 'Z']));
    await append(stream, ['X', 'Y', 'W', 'Z', 'X', 'W', 'Y', 'X']);
    const reads = jest.spyOn(EventStore, 'readAfter');
    try {
      await until(
        () => ConsumerRunner.runTick(ctx.db, [x, y], 500),
        async () => (await seen(x.name, stream)).length === 3 && (await seen(y.name, stream)).length === 3,
      );
      // Both checkpoints start together and move together: every round read the log once for both.
      const ours = reads.mock.calls.map((call) => [...(call[3] ?? [])].sort().join()).filter((types) => /\b[XYZ]\b/.test(types));
      expect(ours.length).toBeGreaterThan(0);
      expect(ours.every((types) => types === 'X,Y,Z')).toBe(true);
    } finally {
      reads.mockRestore();
    }
    expect(await seen(x.name, stream)).toEqual(await positionsOf(stream, ['X']));
    expect(await seen(y.name, stream)).toEqual(await positionsOf(stream, ['Y', 'Z']));
    expect(x.handedOut.flat().every((t) => t === 'X')).toBe(true);
    expect(y.handedOut.flat().every((t) => t === 'Y' || t === 'Z')).toBe(true);
  }, 60_000);

  it('should undo the whole round when one consumer fails and name it, so the others go on without it and it catches up alone', async () => {
    const stream = `s-${randomUUID()}`;
    // Named so the failing one runs last: the good one's writes are in the round when it is undone.
    const [good, bad] = await consumers(new Recorder(`a-good-${randomUUID()}`, ['A']), new Recorder(`z-bad-${randomUUID()}`, ['A', 'B']));
    const checkpoints = async () => (await ctx.db.query(`SELECT name, transaction_id::text, global_position::text FROM consumer_checkpoints WHERE name = ANY ($1) ORDER BY name`, [[good.name, bad.name]])).rows;
    const before = await checkpoints();
    bad.failing = true;
    await append(stream, ['A', 'B', 'A']);
    await settled(stream);
    const [goodFailures, badFailures] = [await metric('consumer_failures_total', good.name), await metric('consumer_failures_total', bad.name)];
    const round = await ConsumerRunner.runTick(ctx.db, [good, bad], 500);
    expect(round.failed?.name).toBe(bad.name);
    // counted, for an alert: the lag gauge says nothing of a consumer whose rounds are undone
    expect([await metric('consumer_failures_total', good.name), await metric('consumer_failures_total', bad.name)]).toEqual([goodFailures, (badFailures ?? 0) + 1]);
    expect(await metric('consumer_last_round_timestamp_seconds', bad.name)).toBeUndefined();
    expect(good.handedOut.flat()).toEqual(['A', 'A']); // it ran first...
    expect(await seen(good.name, stream)).toEqual([]); // ...and its writes went with the round
    expect(await checkpoints()).toEqual(before);

    await until(
      () => ConsumerRunner.runTick(ctx.db, [good], 500),
      async () => (await seen(good.name, stream)).length === 2,
    );
    expect(await seen(bad.name, stream)).toEqual([]);
    const goodRound = (await metric('consumer_last_round_timestamp_seconds', good.name))!;
    expect(Math.abs(goodRound - Date.now() / 1000)).toBeLessThan(30);
    expect(await metric('consumer_last_round_timestamp_seconds', bad.name)).toBeUndefined();
    bad.failing = false;
    await until(
      () => ConsumerRunner.runTick(ctx.db, [bad], 500),
      async () => (await seen(bad.name, stream)).length === 3,
    );
    // Together again: nothing is handed out twice (the unique index would refuse it) and nothing new is missed.
    await append(stream, ['B']);
    await until(
      () => ConsumerRunner.runTick(ctx.db, [good, bad], 500),
      async () => (await seen(bad.name, stream)).length === 4,
    );
    expect(await seen(good.name, stream)).toEqual(await positionsOf(stream, ['A']));
    expect(await seen(bad.name, stream)).toEqual(await positionsOf(stream, ['A', 'B']));
  }, 60_000);

  it('should run projections before a consumer with effects outside Postgres, so a failing projection comes before any enqueue', async () => {
    const stream = `s-${randomUUID()}`;
    // By name the outbox-like consumer would go first; being no projection, it goes last.
    const outbox = new Recorder(`a-outbox-${randomUUID()}`, ['Q']);
    const projection = Object.assign(new Recorder(`z-projection-${randomUUID()}`, ['Q']), { mode: 'async' as const, tables: [] as string[] });
    await consumers(outbox, projection);
    projection.failing = true;
    await append(stream, ['Q', 'Q']);
    await settled(stream);
    expect((await ConsumerRunner.runTick(ctx.db, [outbox, projection], 500)).failed?.name).toBe(projection.name);
    expect(outbox.handedOut).toEqual([]);
    projection.failing = false;
    await until(
      () => ConsumerRunner.runTick(ctx.db, [outbox, projection], 500),
      async () => (await seen(outbox.name, stream)).length === 2 && (await seen(projection.name, stream)).length === 2,
    );
  }, 60_000);

  it('should read on its own for a consumer at another checkpoint, so one far behind holds no one back', async () => {
    const stream = `s-${randomUUID()}`;
    const [ahead, behind] = await consumers(new Recorder(`ahead-${randomUUID()}`, ['N']), new Recorder(`behind-${randomUUID()}`, ['N']));
    await append(stream, Array.from({ length: 30 }, () => 'N'));
    await until(
      () => ConsumerRunner.runTick(ctx.db, [ahead, behind], 500),
      async () => (await seen(ahead.name, stream)).length === 30 && (await seen(behind.name, stream)).length === 30,
    );
    // Rebuilt, say: back to the start, with a table of its own emptied.
    await ConsumerRunner.reset(ctx.db, behind.name, START);
    await ctx.db.query('DELETE FROM consumer_seen WHERE consumer = $1', [behind.name]);
    await append(stream, ['N', 'N']);
    // Once the new events are below the horizon, one round of at most 5 events: the one ahead gets its two new
    // events, the one behind the first five of its 32.
    await settled(stream);
    const round = await ConsumerRunner.runTick(ctx.db, [ahead, behind], 5);
    expect(round).toMatchObject({ handled: 7, full: true, locked: 2, failed: null });
    expect((await seen(ahead.name, stream)).length).toBe(32);
    expect(await seen(behind.name, stream)).toEqual((await positionsOf(stream, ['N'])).slice(0, 5));
    await until(
      () => ConsumerRunner.runTick(ctx.db, [ahead, behind], 5),
      async () => (await seen(behind.name, stream)).length === 32,
    );
    expect(await seen(behind.name, stream)).toEqual(await positionsOf(stream, ['N']));
    expect(await seen(ahead.name, stream)).toEqual(await positionsOf(stream, ['N']));
  }, 60_000);
});

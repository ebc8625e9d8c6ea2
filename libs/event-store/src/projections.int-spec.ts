import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CqrsModule } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { BatchedStatement, Database, Sql, StatementBatch } from '@app/shared';
import { startStoreContext } from '@app/testing';
import { CreateOrganizationCommand, CreateUserCommand, RevokeApiKeyCommand, TenancyModule, UserRepository } from '@app/tenancy';
import { ConsumerRunner } from './consumer-runner';
import { EventStore } from './event-store';
import { ANY, PlannedEvent, StoredEvent } from './event-store.types';
import { AsProjection, Projection } from './projection';
import { ProjectionRebuilder } from './projection-rebuilder';

/** A real async projection over a table of its own: events per stream, and the last type seen. */
@Injectable()
@AsProjection()
class StreamTallyProjection implements Projection {
  readonly name = 'stream-tally';
  readonly mode = 'async';
  readonly eventTypes = ['Tallied'];
  readonly tables = ['stream_tally'];
  active = 0;
  maxActive = 0;

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    this.maxActive = Math.max(this.maxActive, ++this.active);
    try {
      await new Promise((r) => setTimeout(r, 2)); // widen the window in which a second runner could interleave
      for (const e of events) {
        await tx.query(
          `INSERT INTO stream_tally (stream_id, events, last_version) VALUES ($1, 1, $2)
           ON CONFLICT (stream_id) DO UPDATE SET events = stream_tally.events + 1, last_version = excluded.last_version`,
          [e.streamId, e.streamVersion],
        );
      }
    } finally {
      this.active--;
    }
  }
}

/**
 * A real inline projection that says its writes up front: a ledger line per 'Booked' event and a running total per
 * stream (two tables: one statement). A 'Rebooked' event adds a write that reads the ledger it writes, which needs
 * a second statement.
 */
@Injectable()
@AsProjection()
class LedgerProjection implements Projection {
  readonly name = 'ledger';
  readonly mode = 'inline';
  readonly eventTypes = ['Booked', 'Rebooked'];
  readonly tables = ['ledger', 'ledger_totals'];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    await new StatementBatch(this.statements(events)).run(tx);
  }

  statements(events: readonly PlannedEvent[]): BatchedStatement[] {
    const lines = events.map((e) => ({ stream_id: e.streamId, version: e.streamVersion, amount: (e.data as { amount: number }).amount }));
    const out: BatchedStatement[] = [
      {
        text: `INSERT INTO ledger (stream_id, version, amount) SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(stream_id text, version int, amount int)`,
        values: [JSON.stringify(lines)],
        writes: ['ledger'],
      },
      {
        text: `INSERT INTO ledger_totals AS t (stream_id, total) SELECT r.stream_id, sum(r.amount) FROM jsonb_to_recordset($1::jsonb) AS r(stream_id text, amount int)
                GROUP BY r.stream_id ON CONFLICT (stream_id) DO UPDATE SET total = t.total + excluded.total`,
        values: [JSON.stringify(lines)],
        writes: ['ledger_totals'],
      },
    ];
    if (events.some((e) => e.type === 'Rebooked')) {
      out.push({ text: `UPDATE ledger SET amount = -amount WHERE stream_id = ANY ($1::text[])`, values: [events.map((e) => e.streamId)], reads: ['ledger'], writes: ['ledger'] });
    }
    return out;
  }
}

/**
 * A real inline projection whose one write takes rows of a shared table in the order an event names them, pausing
 * between rows: two appends naming the same keys in opposite orders deadlock in it.
 */
@Injectable()
@AsProjection()
class CrossingProjection implements Projection {
  readonly name = 'crossing';
  readonly mode = 'inline';
  readonly eventTypes = ['Crossed'];
  readonly tables = ['crossing'];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    await new StatementBatch(this.statements(events)).run(tx);
  }

  statements(events: readonly PlannedEvent[]): BatchedStatement[] {
    return [
      {
        text: `INSERT INTO crossing AS c (k, n)
               SELECT u.k, 1 FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i) CROSS JOIN LATERAL (SELECT pg_sleep(CASE WHEN u.i > 1 THEN 0.3 ELSE 0 END)) AS pause
               ON CONFLICT (k) DO UPDATE SET n = c.n + 1`,
        values: [events.flatMap((e) => (e.data as { keys: string[] }).keys)],
        writes: ['crossing'],
      },
    ];
  }
}

const dump = async (db: Database, table: string, order: string) => (await db.query(`SELECT * FROM ${table} ORDER BY ${order}`)).rows;

describe('projections', () => {
  let ctx: Awaited<ReturnType<typeof startStoreContext>>;
  let store: EventStore;
  let tally: StreamTallyProjection;
  const orgId = randomUUID();

  beforeAll(async () => {
    ctx = await startStoreContext({ imports: [CqrsModule.forRoot(), TenancyModule], providers: [StreamTallyProjection, LedgerProjection, CrossingProjection] });
    await ctx.db.query('CREATE TABLE stream_tally (stream_id text PRIMARY KEY, events int NOT NULL, last_version int NOT NULL)');
    await ctx.db.query('CREATE TABLE ledger (stream_id text NOT NULL, version int NOT NULL, amount int NOT NULL, PRIMARY KEY (stream_id, version))');
    await ctx.db.query('CREATE TABLE ledger_totals (stream_id text PRIMARY KEY, total int NOT NULL)');
    await ctx.db.query('CREATE TABLE crossing (k text PRIMARY KEY, n int NOT NULL)');
    store = ctx.app.get(EventStore);
    tally = ctx.app.get(StreamTallyProjection);
    await ConsumerRunner.ensureCheckpoint(ctx.db, tally.name);
  });
  afterAll(async () => ctx?.close());

  it('should apply an async projection once per event with only one runner active at a time across processes', async () => {
    const second = new Database(process.env.DATABASE_URL!, 5); // another process's pool
    try {
      const streams = Array.from({ length: 20 }, () => `t-${randomUUID()}`);
      const meta = { orgId, occurredAt: new Date().toISOString() };
      let writing = true;
      // An empty batch does not mean caught up: the horizon is cluster-wide, so a transaction of another test
      // database can hold it back for a while. Run until every event is in the table.
      const applied = async () => (await ctx.db.query<{ n: number }>('SELECT coalesce(sum(events), 0)::int AS n FROM stream_tally')).rows[0].n;
      const run = async (db: Database) => {
        while (writing || (await applied()) < 1000) {
          if ((await ConsumerRunner.runBatch(db, tally, 50)) === 0) await new Promise((r) => setTimeout(r, 5));
        }
      };
      const runners = [run(ctx.db), run(second)];
      for (let i = 0; i < 1000; i++) await store.append(streams[i % 20], [{ type: 'Tallied', data: { i } }], { expectedVersion: ANY, metadata: meta });
      writing = false;
      await Promise.all(runners);
      const rows = await dump(ctx.db, 'stream_tally', 'stream_id');
      expect(rows).toHaveLength(20);
      expect(rows.every((r) => r.events === 50 && r.last_version === 50)).toBe(true);
      expect(tally.maxActive).toBe(1);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('should rebuild an async projection to exactly the live table', async () => {
    const live = await dump(ctx.db, 'stream_tally', 'stream_id');
    // The rebuild stops at the horizon; the runner goes on from there (another test database's transaction may
    // hold the horizon back, leaving some events to it). Together they apply every event exactly once.
    let { events } = await ctx.app.get(ProjectionRebuilder).rebuild('stream-tally');
    while (events < 1000) {
      const n = await ConsumerRunner.runBatch(ctx.db, tally, 500);
      events += n;
      if (n === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(events).toBe(1000);
    expect(await dump(ctx.db, 'stream_tally', 'stream_id')).toEqual(live);
    expect(await ConsumerRunner.runBatch(ctx.db, tally, 500)).toBe(0);
  });

  it('should rebuild the inline tenancy projection to exactly the live tables', async () => {
    const bus = ctx.app.get(CommandBus);
    const users = ctx.app.get(UserRepository);
    for (let o = 0; o < 3; o++) {
      const org = await bus.execute(new CreateOrganizationCommand(`Org ${o}`, 'Europe/Paris'));
      const admin = (await users.actorForKeyHash((await import('@app/tenancy')).hashApiKey(org.adminKey)))!;
      for (let u = 0; u < 4; u++) {
        const created = await bus.execute(new CreateUserCommand(admin, { name: `Agent ${o}.${u}`, role: 'agent', branch: u % 2 ? 'North' : 'South' }));
        if (u === 3) await bus.execute(new RevokeApiKeyCommand(admin, created.apiKeyId));
      }
    }
    const before = await Promise.all([dump(ctx.db, 'organizations', 'id'), dump(ctx.db, 'users', 'id'), dump(ctx.db, 'api_keys', 'id')]);
    expect(before[2].filter((k) => k.revoked_at !== null)).toHaveLength(3);
    await ctx.app.get(ProjectionRebuilder).rebuild('tenancy');
    const after = await Promise.all([dump(ctx.db, 'organizations', 'id'), dump(ctx.db, 'users', 'id'), dump(ctx.db, 'api_keys', 'id')]);
    expect(after).toEqual(before);
  });

  describe('an inline projection that says its writes up front', () => {
    const meta = { orgId, occurredAt: '2026-12-06T12:00:00.000Z' };
    const booked = (...amounts: number[]) => amounts.map((amount) => ({ type: 'Booked', data: { amount } }));
    const ledger = async (streams: string[]) =>
      (await ctx.db.query(`SELECT stream_id, version, amount FROM ledger WHERE stream_id = ANY ($1) ORDER BY stream_id, version`, [streams])).rows;
    const total = async (stream: string) => (await ctx.db.query(`SELECT total FROM ledger_totals WHERE stream_id = $1`, [stream])).rows[0]?.total;
    /** What appendMany sends to Postgres: statements and transactions. */
    const traffic = async <T>(fn: () => Promise<T>) => {
      const query = jest.spyOn(ctx.db, 'query');
      const transaction = jest.spyOn(ctx.db, 'transaction');
      try {
        const result = await fn();
        return { result, statements: query.mock.calls.length, transactions: transaction.mock.calls.length };
      } finally {
        query.mockRestore();
        transaction.mockRestore();
      }
    };

    it('should store the events and make their writes in one statement, without a transaction of its own', async () => {
      const id = randomUUID();
      const [a, b] = [`l-${id}-a`, `l-${id}-b`];
      const { result, statements, transactions } = await traffic(() =>
        store.appendMany(
          [
            { streamId: a, expectedVersion: 0, events: booked(5, 7) },
            { streamId: b, expectedVersion: 0, events: booked(11) },
            { streamId: a, expectedVersion: 2, events: booked(1) },
          ],
          meta,
        ),
      );
      expect([statements, transactions]).toEqual([1, 0]);
      expect(result.map((r) => [r.outcome, r.streamVersion])).toEqual([['ok', 2], ['ok', 1], ['ok', 3]]);
      expect(await ledger([a, b])).toEqual([
        { stream_id: a, version: 1, amount: 5 },
        { stream_id: a, version: 2, amount: 7 },
        { stream_id: a, version: 3, amount: 1 },
        { stream_id: b, version: 1, amount: 11 },
      ]);
      expect([await total(a), await total(b)]).toEqual([13, 11]);
      // the caller is handed what was stored: positions and transaction from the log
      const stored = await store.readStreams(orgId, [a]);
      expect(result.filter((r, i) => i !== 1).flatMap((r) => r.events.map((e) => [e.globalPosition, e.transactionId, e.streamVersion]))).toEqual(
        stored.get(a)!.map((e) => [e.globalPosition, e.transactionId, e.streamVersion]),
      );
    });

    it('should make no write for a request that is not stored, and answer every request on its own', async () => {
      const id = randomUUID();
      const [a, b] = [`l-${id}-a`, `l-${id}-b`];
      await store.appendMany([{ streamId: b, expectedVersion: 0, events: booked(100) }], meta);
      const { result, transactions } = await traffic(() =>
        store.appendMany(
          [
            { streamId: a, expectedVersion: 0, events: booked(3) },
            { streamId: b, expectedVersion: 0, events: booked(50) }, // stale: b is at 1
          ],
          meta,
        ),
      );
      expect(transactions).toBe(1); // the one statement stored nothing; the transaction answered each request
      expect(result.map((r) => [r.outcome, r.streamVersion])).toEqual([['ok', 1], ['conflict', 1]]);
      expect(await ledger([a, b])).toEqual([
        { stream_id: a, version: 1, amount: 3 },
        { stream_id: b, version: 1, amount: 100 },
      ]);
      expect([await total(a), await total(b)]).toEqual([3, 100]);
      expect((await store.readStreams(orgId, [a, b])).get(b)!.map((e) => e.data)).toEqual([{ amount: 100 }]);
    });

    it('should write in a transaction when the writes need two statements or a version is not named', async () => {
      const id = randomUUID();
      const [a, b] = [`l-${id}-a`, `l-${id}-b`];
      const rebook = await traffic(() => store.appendMany([{ streamId: a, expectedVersion: 0, events: [...booked(4), { type: 'Rebooked', data: { amount: 2 } }] }], meta));
      expect(rebook.transactions).toBe(1);
      expect(await ledger([a])).toEqual([
        { stream_id: a, version: 1, amount: -4 },
        { stream_id: a, version: 2, amount: -2 },
      ]);
      const any = await traffic(() => store.appendMany([{ streamId: b, expectedVersion: ANY, events: booked(9) }], meta));
      expect(any.transactions).toBe(1);
      expect(any.result.map((r) => r.outcome)).toEqual(['ok']);
      expect(await ledger([b])).toEqual([{ stream_id: b, version: 1, amount: 9 }]);
    });

    it('should store both of two appends that deadlock in their writes, running again the one Postgres failed', async () => {
      const id = randomUUID();
      const [x, y] = [`x-${id}`, `y-${id}`];
      const crossed = (keys: string[]) => store.appendMany([{ streamId: `c-${randomUUID()}`, expectedVersion: 0, events: [{ type: 'Crossed', data: { keys } }] }], meta);
      const results = await Promise.all([crossed([x, y]), crossed([y, x])]);
      expect(results.map((r) => r.map((a) => a.outcome))).toEqual([['ok'], ['ok']]);
      expect((await ctx.db.query(`SELECT k, n FROM crossing WHERE k = ANY ($1) ORDER BY k`, [[x, y]])).rows).toEqual([
        { k: x, n: 2 },
        { k: y, n: 2 },
      ]);
    }, 30_000);

    it('should store both of two single-stream appends that deadlock in their writes', async () => {
      const id = randomUUID();
      const [x, y] = [`x-${id}`, `y-${id}`];
      const crossed = (keys: string[]) => store.append(`c-${randomUUID()}`, [{ type: 'Crossed', data: { keys } }], { expectedVersion: 0, metadata: meta });
      const results = await Promise.all([crossed([x, y]), crossed([y, x])]);
      expect(results.map((r) => [r.replayed, r.nextExpectedVersion])).toEqual([
        [false, 1],
        [false, 1],
      ]);
      expect((await ctx.db.query(`SELECT k, n FROM crossing WHERE k = ANY ($1) ORDER BY k`, [[x, y]])).rows).toEqual([
        { k: x, n: 2 },
        { k: y, n: 2 },
      ]);
    }, 30_000);
  });
});

import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CqrsModule } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Database, Sql } from '@app/shared';
import { startStoreContext } from '@app/testing';
import { CreateOrganizationCommand, CreateUserCommand, RevokeApiKeyCommand, TenancyModule, UserRepository } from '@app/tenancy';
import { ConsumerRunner } from './consumer-runner';
import { EventStore } from './event-store';
import { ANY, StoredEvent } from './event-store.types';
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

const dump = async (db: Database, table: string, order: string) => (await db.query(`SELECT * FROM ${table} ORDER BY ${order}`)).rows;

describe('projections', () => {
  let ctx: Awaited<ReturnType<typeof startStoreContext>>;
  let store: EventStore;
  let tally: StreamTallyProjection;
  const orgId = randomUUID();

  beforeAll(async () => {
    ctx = await startStoreContext({ imports: [CqrsModule.forRoot(), TenancyModule], providers: [StreamTallyProjection] });
    await ctx.db.query('CREATE TABLE stream_tally (stream_id text PRIMARY KEY, events int NOT NULL, last_version int NOT NULL)');
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
});

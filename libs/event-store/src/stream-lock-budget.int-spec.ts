import { randomUUID } from 'node:crypto';
import { Database } from '@app/shared';
import { startStoreContext } from '@app/testing';
import { EventStore } from './event-store';
import { NO_STREAM } from './event-store.types';

/**
 * A multi-stream append takes an advisory lock per stream, from Postgres's one lock table for the whole server
 * (6,400 entries by default): a dozen 1,000-call batches in flight at once exhausted it, and every statement that
 * needed a lock, in every database of the server, failed with "out of shared memory".
 */
describe('EventStore: streams locked at once (STREAM_LOCK_BUDGET)', () => {
  const BUDGET = 600;
  let ctx: Awaited<ReturnType<typeof startStoreContext>>;
  let probe: Database;
  const before = process.env.STREAM_LOCK_BUDGET;

  beforeAll(async () => {
    process.env.STREAM_LOCK_BUDGET = String(BUDGET);
    ctx = await startStoreContext();
    probe = new Database(`postgres://postgres@127.0.0.1:5432/${ctx.name}`, 1);
  });
  afterAll(async () => {
    if (before === undefined) delete process.env.STREAM_LOCK_BUDGET;
    else process.env.STREAM_LOCK_BUDGET = before;
    await probe?.close();
    await ctx?.close();
  });

  it('should never hold more stream locks than the budget, storing every append of a burst larger than it', async () => {
    const store = ctx.app.get(EventStore);
    const orgId = randomUUID();
    // 12 appends of 300 new streams at once: 3,600 locks if they all ran together, 600 at most within the budget
    const appends = Array.from({ length: 12 }, () =>
      Array.from({ length: 300 }, () => ({ streamId: `s-${randomUUID()}`, expectedVersion: NO_STREAM, events: [{ type: 'Added', data: { n: 1 } }] })),
    );
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await probe.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        );
        most = Math.max(most, rows[0].n);
      }
    })();
    const results = await Promise.all(appends.map((requests) => store.appendMany(requests, { orgId, occurredAt: new Date().toISOString() })));
    sampling = false;
    await sampler;
    expect(results.flat().map((r) => r.outcome)).toEqual(Array(3600).fill('ok'));
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(BUDGET);
  });
});

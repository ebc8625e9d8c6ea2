import { randomUUID } from 'node:crypto';
import { migrationTestDatabase } from '@app/testing';
import { runMigrations, undoMigrationsThrough } from './migrate';

/**
 * Migration 0023 drops the `streams` table: a stream's version and organization are read from its last event.
 * Undone, it must rebuild the table from the events and give the append functions back their stream-row writes;
 * done again, appends must carry on at the right versions. Run on a migrated database with streams of two
 * organizations in it.
 */
describe('migration 0023: stream versions from events', () => {
  const db = migrationTestDatabase();
  const orgA = randomUUID();
  const orgB = randomUUID();
  const meta = (org: string) => JSON.stringify({ orgId: org, actorId: null, occurredAt: new Date().toISOString() });
  const append = (stream: string, org: string, expected: number, n = 1) =>
    db.client.query<{ stream_version: number }>(
      `SELECT stream_version FROM fu_append($1, $2, $3, $4::text[], $5::jsonb[], $6::jsonb[], $7::text[])`,
      [stream, org, expected, Array(n).fill('Seed'), Array(n).fill('{}'), Array(n).fill(meta(org)), Array(n).fill(null)],
    );

  it('should rebuild the streams table when undone, and append at the right versions either way', async () => {
    const a = `m-${randomUUID()}`;
    const b = `m-${randomUUID()}`;
    await append(a, orgA, 0, 3);
    await append(b, orgB, 0, 2);
    expect((await db.client.query(`SELECT to_regclass('streams') AS t`)).rows[0].t).toBeNull();

    // Undone down to it, the migrations after it first.
    await undoMigrationsThrough(db.url, 'StreamVersionFromEvents1700000000023');
    const { rows } = await db.client.query(`SELECT stream_id, org_id, version::int AS v FROM streams WHERE stream_id = ANY ($1) ORDER BY version`, [[a, b]]);
    expect(rows).toEqual([
      { stream_id: b, org_id: orgB, v: 2 },
      { stream_id: a, org_id: orgA, v: 3 },
    ]);
    // The old functions keep the row: an append moves it, a stale version and another organization are refused.
    expect((await append(a, orgA, 3)).rows[0].stream_version).toEqual(4);
    expect((await db.client.query(`SELECT version::int AS v FROM streams WHERE stream_id = $1`, [a])).rows[0].v).toBe(4);
    await expect(append(a, orgA, 3)).rejects.toMatchObject({ code: 'EV409' });
    await expect(append(b, orgA, 2)).rejects.toMatchObject({ code: 'EV404' });

    await runMigrations(db.url);
    expect((await db.client.query(`SELECT to_regclass('streams') AS t`)).rows[0].t).toBeNull();
    expect((await append(a, orgA, 4)).rows[0].stream_version).toEqual(5);
    await expect(append(a, orgA, 4)).rejects.toMatchObject({ code: 'EV409' });
    await expect(append(b, orgA, 2)).rejects.toMatchObject({ code: 'EV404' });
    const many = await db.client.query(
      `SELECT request, outcome, stream_version::int AS v FROM fu_append_many_json($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8) ORDER BY request`,
      [orgA, [a, b, `m-${randomUUID()}`], [5, 2, 0], [1, 1, 2], ['Seed', 'Seed', 'Seed', 'Seed'], '[{},{},{},{}]', meta(orgA), [null, null, null, null]],
    );
    expect(many.rows).toEqual([
      { request: 1, outcome: 'ok', v: 6 },
      { request: 2, outcome: 'foreign', v: null },
      { request: 3, outcome: 'ok', v: 2 },
    ]);
  });
});

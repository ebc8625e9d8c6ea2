import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A stream's version and organization are read from its last event, and the `streams` table is gone.
 *
 * Every append updated (or created) the stream's row in `streams` only to hold what its last event already holds:
 * the version (the highest stream_version, one backward probe of events_stream_version_uq) and the organization
 * (every event carries it). For a 500-call batch that was one more row version and WAL record per call, and the
 * upsert was 3 of the 20 ms of fu_append_many (measured alone). The reads cost the same: one index probe and one
 * heap fetch, as before.
 *
 * Nothing else changes: the per-stream advisory lock still serializes appends to a stream (each statement of these
 * functions takes a fresh snapshot, so a stream's version is read after its lock is held), and
 * events_stream_version_uq still refuses two events at one version whatever happens. That fresh snapshot is READ
 * COMMITTED's (the service never runs appends at another isolation level): under REPEATABLE READ a stale read would
 * end in the unique index's 23505, where the stream row's update used to fail with 40001; nothing is written twice
 * either way. The three append functions are edited in place, as migration 0008 did, so each keeps its other rules
 * where they were written.
 */
const SIGNATURES: Record<string, string> = {
  fu_append: 'public.fu_append(text, uuid, bigint, text[], jsonb[], jsonb[], text[])',
  fu_append_many_each: 'public.fu_append_many_each(uuid, text[], bigint[], int[], text[], jsonb[], jsonb[], text[])',
  fu_append_many: 'public.fu_append_many(uuid, text[], bigint[], int[], text[], jsonb[], jsonb[], text[])',
};

/** Each function's edits: the text as migrated before, and as this migration leaves it. */
const EDITS: Record<string, [before: string, after: string][]> = {
  fu_append: [
    [
      'SELECT s.version, s.org_id INTO v_version, v_stream_org FROM streams s WHERE s.stream_id = p_stream_id;',
      'SELECT e.stream_version, e.org_id INTO v_version, v_stream_org FROM events e WHERE e.stream_id = p_stream_id ORDER BY e.stream_version DESC LIMIT 1;',
    ],
    [
      `IF v_version IS NULL THEN
          INSERT INTO streams (stream_id, org_id, version) VALUES (p_stream_id, p_org_id, v_count);
          v_version := v_count;
        ELSE
          v_version := v_version + v_count;
          UPDATE streams SET version = v_version WHERE streams.stream_id = p_stream_id;
        END IF;`,
      'v_version := coalesce(v_version, 0) + v_count;',
    ],
  ],
  fu_append_many_each: [
    [
      'SELECT s.version, s.org_id INTO v_version, v_org FROM streams s WHERE s.stream_id = p_stream_ids[i];',
      'SELECT e.stream_version, e.org_id INTO v_version, v_org FROM events e WHERE e.stream_id = p_stream_ids[i] ORDER BY e.stream_version DESC LIMIT 1;',
    ],
    [
      `IF v_version IS NULL THEN
                INSERT INTO streams (stream_id, org_id, version) VALUES (p_stream_ids[i], p_org_id, v_n);
                v_version := v_n;
              ELSE
                v_version := v_version + v_n;
                UPDATE streams SET version = v_version WHERE streams.stream_id = p_stream_ids[i];
              END IF;`,
      'v_version := coalesce(v_version, 0) + v_n;',
    ],
  ],
  fu_append_many: [
    [
      'LEFT JOIN LATERAL (SELECT t.version, t.org_id FROM streams t WHERE t.stream_id = r.id LIMIT 1) st ON true',
      'LEFT JOIN LATERAL (SELECT e.stream_version AS version, e.org_id FROM events e WHERE e.stream_id = r.id ORDER BY e.stream_version DESC LIMIT 1) st ON true',
    ],
    [
      `INSERT INTO streams AS t (stream_id, org_id, version)
          SELECT x.s, p_org_id, max(x.v) FROM unnest(p_stream_ids, v_ver, v_ok) AS x(s, v, ok) WHERE x.ok GROUP BY x.s
          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version;`,
      "-- (the stream's version is its last event's: no row to keep)",
    ],
  ],
};

/** Finds a text as written, whatever the whitespace between its words. */
const loosely = (text: string) => new RegExp(text.trim().split(/\s+/).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+'));

async function edit(q: QueryRunner, direction: 'up' | 'down'): Promise<void> {
  for (const [fn, edits] of Object.entries(EDITS)) {
    // By signature: an overload or a function of that name in another schema is never the one edited.
    const [{ def }] = await q.query(`SELECT pg_get_functiondef($1::regprocedure) AS def`, [SIGNATURES[fn]]);
    let next: string = def;
    for (const [before, after] of edits) {
      const [from, to] = direction === 'up' ? [before, after] : [after, before];
      if (!loosely(from).test(next)) throw new Error(`${fn}: "${from.slice(0, 60)}..." not found; migration out of date`);
      next = next.replace(loosely(from), () => to);
    }
    await q.query(next);
  }
}

export class StreamVersionFromEvents1700000000023 implements MigrationInterface {
  name = 'StreamVersionFromEvents1700000000023';

  async up(q: QueryRunner): Promise<void> {
    await edit(q, 'up');
    await q.query(`DROP TABLE streams`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE streams (stream_id text COLLATE "C" PRIMARY KEY, org_id uuid NOT NULL, version bigint NOT NULL);
      INSERT INTO streams (stream_id, org_id, version)
        SELECT DISTINCT ON (stream_id) stream_id, org_id, stream_version FROM events ORDER BY stream_id, stream_version DESC;
    `);
    await edit(q, 'down');
  }
}

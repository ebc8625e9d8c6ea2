import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The idempotency check looked keys up with `idempotency_key = ANY (keys)`. PL/pgSQL caches a generic plan
 * after five calls; one cached while `events` was tiny scans the organization's whole slice of the index and
 * filters the keys, and nothing replaces it where statistics never change (autovacuum off), so appends got
 * slower as the table grew. One point lookup per key plans the same on an empty table and a huge one.
 */
export class IdempotencyPointLookups1700000000008 implements MigrationInterface {
  name = 'IdempotencyPointLookups1700000000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fu_replayed(p_org_id uuid, p_keys text[], OUT positions bigint[], OUT stream_version bigint)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_key text;
        v_pos bigint;
        v_ver bigint;
      BEGIN
        FOREACH v_key IN ARRAY p_keys LOOP
          CONTINUE WHEN v_key IS NULL;
          SELECT e.global_position, e.stream_version INTO v_pos, v_ver
            FROM events e WHERE e.org_id = p_org_id AND e.idempotency_key = v_key;
          IF FOUND THEN
            positions := positions || v_pos;
            stream_version := greatest(stream_version, v_ver);
          END IF;
        END LOOP;
        IF positions IS NOT NULL THEN
          SELECT array_agg(p ORDER BY p) INTO positions FROM unnest(positions) p;
        END IF;
      END
      $fn$;
    `);
    for (const fn of ['fu_append', 'fu_append_many']) {
      const [{ def }] = await q.query(`SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p WHERE p.proname = $1`, [fn]);
      const before = fn === 'fu_append'
        ? /SELECT array_agg\(e\.global_position ORDER BY e\.global_position\), max\(e\.stream_version\)\s+INTO v_positions, v_version\s+FROM events e\s+WHERE e\.org_id = p_org_id AND e\.idempotency_key = ANY \(p_keys\);/
        : /SELECT array_agg\(e\.global_position ORDER BY e\.global_position\), max\(e\.stream_version\)\s+INTO v_positions, v_version\s+FROM events e WHERE e\.org_id = p_org_id AND e\.idempotency_key = ANY \(v_keys\);/;
      if (!before.test(def)) throw new Error(`${fn}: idempotency lookup not found; migration out of date`);
      const keys = fn === 'fu_append' ? 'p_keys' : 'v_keys';
      await q.query(def.replace(before, `SELECT r.positions, r.stream_version INTO v_positions, v_version FROM fu_replayed(p_org_id, ${keys}) r;`));
    }
  }

  async down(): Promise<void> {
    throw new Error('not reversible: restore from the previous migrations');
  }
}

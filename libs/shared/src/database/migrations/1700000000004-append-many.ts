import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Appends to many streams in one call and one transaction (batch ingest). Unlike fu_append it does not raise
 * on a stale version or a replay: it reports each request's outcome, so one conflicting item does not sink
 * the others. Stream locks are taken up front in one global order (by hash), so two batches never deadlock.
 * Requests for one stream are decided in a chain (each on the state the previous one leaves): once one of
 * them is not appended, the later ones for that stream are answered 'conflict' too, to be decided again.
 */
export class AppendMany1700000000004 implements MigrationInterface {
  name = 'AppendMany1700000000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fu_append_many(
        p_org_id uuid, p_stream_ids text[], p_expected bigint[], p_counts int[],
        p_types text[], p_data jsonb[], p_metadata jsonb[], p_keys text[]
      ) RETURNS TABLE (request int, outcome text, stream_version bigint, positions bigint[])
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_hash bigint;
        v_from int := 1;
        v_to int;
        v_n int;
        v_version bigint;
        v_org uuid;
        v_positions bigint[];
        v_keys text[];
        v_failed text[] := '{}';
      BEGIN
        FOR v_hash IN SELECT DISTINCT hashtextextended(s, 0) AS h FROM unnest(p_stream_ids) s ORDER BY h LOOP
          PERFORM pg_advisory_xact_lock(v_hash);
        END LOOP;

        FOR i IN 1 .. cardinality(p_stream_ids) LOOP
          v_n := p_counts[i];
          v_to := v_from + v_n - 1;
          request := i;
          v_keys := p_keys[v_from:v_to];
          v_positions := NULL;
          IF p_stream_ids[i] <> ALL (v_failed) AND EXISTS (SELECT 1 FROM unnest(v_keys) k WHERE k IS NOT NULL) THEN
            SELECT array_agg(e.global_position ORDER BY e.global_position), max(e.stream_version)
              INTO v_positions, v_version
              FROM events e WHERE e.org_id = p_org_id AND e.idempotency_key = ANY (v_keys);
          END IF;
          IF p_stream_ids[i] = ANY (v_failed) THEN
            -- decided on a state that assumed an earlier request for this stream went in: it did not
            outcome := 'conflict'; stream_version := NULL; positions := NULL;
            RETURN NEXT;
          ELSIF v_positions IS NOT NULL THEN
            outcome := 'replayed'; stream_version := v_version; positions := v_positions;
            v_failed := v_failed || p_stream_ids[i];
            RETURN NEXT;
          ELSE
            SELECT s.version, s.org_id INTO v_version, v_org FROM streams s WHERE s.stream_id = p_stream_ids[i];
            IF FOUND AND v_org <> p_org_id THEN
              outcome := 'foreign'; stream_version := NULL; positions := NULL;
              v_failed := v_failed || p_stream_ids[i];
              RETURN NEXT;
            ELSIF p_expected[i] >= 0 AND coalesce(v_version, 0) <> p_expected[i] THEN
              outcome := 'conflict'; stream_version := coalesce(v_version, 0); positions := NULL;
              v_failed := v_failed || p_stream_ids[i];
              RETURN NEXT;
            ELSE
              IF v_version IS NULL THEN
                INSERT INTO streams (stream_id, org_id, version) VALUES (p_stream_ids[i], p_org_id, v_n);
                v_version := v_n;
              ELSE
                v_version := v_version + v_n;
                UPDATE streams SET version = v_version WHERE streams.stream_id = p_stream_ids[i];
              END IF;
              WITH ins AS (
                INSERT INTO events (stream_id, stream_version, org_id, type, data, metadata, idempotency_key)
                SELECT p_stream_ids[i], v_version - v_n + x.ord, p_org_id, x.t, x.d, x.m, x.k
                  FROM unnest(p_types[v_from:v_to], p_data[v_from:v_to], p_metadata[v_from:v_to], v_keys)
                       WITH ORDINALITY AS x(t, d, m, k, ord)
                 ORDER BY x.ord
                RETURNING events.global_position
              )
              SELECT array_agg(ins.global_position ORDER BY ins.global_position) INTO v_positions FROM ins;
              outcome := 'ok'; stream_version := v_version; positions := v_positions;
              RETURN NEXT;
            END IF;
          END IF;
          v_from := v_to + 1;
        END LOOP;
      END
      $fn$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION fu_append_many');
  }
}

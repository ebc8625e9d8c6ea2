import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * appendMany handed fu_append_many its events' data as a jsonb[] and the same metadata once per event: node-postgres
 * escapes every quote of every JSON text into an array literal, and Postgres reads the literal back and parses each
 * element. For a 500-call batch (750 events) that was 12.5 ms a round trip and 6.7 ms of the service's CPU,
 * against 4.4 ms and 1.6 ms for the same data sent as one JSON array and one metadata object (measured here).
 *
 * fu_append_many_json takes that shape and hands the arrays to fu_append_many, whose rules stay in one place:
 * jsonb_array_elements yields parsed values, so nothing is parsed twice.
 */
export class AppendManyJson1700000000017 implements MigrationInterface {
  name = 'AppendManyJson1700000000017';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fu_append_many_json(
        p_org_id uuid, p_stream_ids text[], p_expected bigint[], p_counts int[],
        p_types text[], p_data jsonb, p_metadata jsonb, p_keys text[]
      ) RETURNS TABLE (request int, outcome text, stream_version bigint, positions bigint[])
      LANGUAGE plpgsql AS $fn$
      BEGIN
        IF jsonb_typeof(p_data) IS DISTINCT FROM 'array' OR jsonb_array_length(p_data) <> cardinality(p_types) THEN
          RAISE EXCEPTION 'p_data must be a JSON array with one element per event' USING ERRCODE = '22023';
        END IF;
        RETURN QUERY SELECT * FROM fu_append_many(
          p_org_id, p_stream_ids, p_expected, p_counts, p_types,
          ARRAY(SELECT d.v FROM jsonb_array_elements(p_data) WITH ORDINALITY AS d(v, n) ORDER BY d.n),
          array_fill(p_metadata, ARRAY[cardinality(p_types)]),
          p_keys);
      END
      $fn$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION fu_append_many_json(uuid, text[], bigint[], int[], text[], jsonb, jsonb, text[])`);
  }
}

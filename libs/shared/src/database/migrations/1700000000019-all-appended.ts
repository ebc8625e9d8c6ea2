import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * fu_all_appended: the gate of a one-statement append (EventStore.appendMany). Given the outcome of every request of
 * the fu_append_many_json call in the same statement, it raises (SQLSTATE EV412) unless all were stored, so the
 * inline projections' writes in that statement are never made for events that were not; the statement stores
 * nothing and the store makes the call again in a transaction, which answers each request on its own.
 */
export class AllAppended1700000000019 implements MigrationInterface {
  name = 'AllAppended1700000000019';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fu_all_appended(p_outcomes text[]) RETURNS boolean
      LANGUAGE plpgsql AS $fn$
      BEGIN
        IF p_outcomes IS NULL OR EXISTS (SELECT 1 FROM unnest(p_outcomes) AS o(v) WHERE o.v IS DISTINCT FROM 'ok') THEN
          RAISE EXCEPTION 'not every request was appended: %', p_outcomes USING ERRCODE = 'EV412';
        END IF;
        RETURN true;
      END
      $fn$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION fu_all_appended(text[])`);
  }
}

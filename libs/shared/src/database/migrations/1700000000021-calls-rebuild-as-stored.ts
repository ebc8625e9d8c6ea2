import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A rebuild replays the log as it was stored. Before migration 0020 a callId could end up in two contacts' streams
 * (an In-progress push for one and a final push for another carried different idempotency keys, and could race past
 * the ingest's check): replaying that history must rebuild the read model it had, not fail. The trigger of 0020 lets
 * a write through inside a rebuild's transaction (ProjectionRebuilder sets fu.rebuilding) and refuses it everywhere
 * else, as before.
 */
export class CallsRebuildAsStored1700000000021 implements MigrationInterface {
  name = 'CallsRebuildAsStored1700000000021';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION fu_call_of_one_contact() RETURNS trigger
      LANGUAGE plpgsql AS $fn$
      BEGIN
        IF current_setting('fu.rebuilding', true) = 'on' THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'call % was logged for another contact', OLD.call_id USING ERRCODE = 'CL409';
      END
      $fn$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION fu_call_of_one_contact() RETURNS trigger
      LANGUAGE plpgsql AS $fn$
      BEGIN
        RAISE EXCEPTION 'call % was logged for another contact', OLD.call_id USING ERRCODE = 'CL409';
      END
      $fn$;
    `);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A callId belongs to one contact (SPEC §9: unique per organization). CallIngest refuses a callId it finds logged
 * for another contact, but two pushes of one new callId for two contacts at once both pass that check. Until now the
 * events' idempotency keys (`call:<callId>:<status>:<n>`, unique per organization) stopped the second one; the
 * ingest no longer writes them (each was an entry in the largest index of `events` and a probe of it per event,
 * a fifth of an append's time, for what the stream's version and the decider already answer).
 *
 * The calls read model is where a callId is unique, so it says no: a write that would move a call to another
 * contact fails its statement with SQLSTATE CL409, nothing of that append is stored, and the ingest refuses the
 * item (409) and runs the others again.
 */
export class CallOfOneContact1700000000020 implements MigrationInterface {
  name = 'CallOfOneContact1700000000020';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fu_call_of_one_contact() RETURNS trigger
      LANGUAGE plpgsql AS $fn$
      BEGIN
        RAISE EXCEPTION 'call % was logged for another contact', OLD.call_id USING ERRCODE = 'CL409';
      END
      $fn$;
      CREATE TRIGGER calls_of_one_contact BEFORE UPDATE OF contact_id ON calls
        FOR EACH ROW WHEN (OLD.contact_id IS DISTINCT FROM NEW.contact_id) EXECUTE FUNCTION fu_call_of_one_contact();
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER calls_of_one_contact ON calls; DROP FUNCTION fu_call_of_one_contact()`);
  }
}

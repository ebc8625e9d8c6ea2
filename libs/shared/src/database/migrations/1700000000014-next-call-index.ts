import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A contact's next call follow-up (contacts.next_follow_up_at, refreshed by every follow-up event) in one index
 * probe. Without it the lookup read the contact's whole history through follow_ups_contact_ix, or, where a
 * table has no statistics yet, every open follow-up of every organization through follow_ups_open_ix: 0.2 ms a
 * contact at 6,000 open follow-ups, a quarter of Postgres's time in bench:worker.
 */
export class NextCallIndex1700000000014 implements MigrationInterface {
  name = 'NextCallIndex1700000000014';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX follow_ups_next_call_ix ON follow_ups (contact_id, scheduled_at, id) WHERE kind = 'follow_up' AND type = 'call' AND NOT resolved`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX follow_ups_next_call_ix');
  }
}

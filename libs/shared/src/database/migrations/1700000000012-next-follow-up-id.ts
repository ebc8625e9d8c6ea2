import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hub names each contact's next call follow-up (`followUpId`): kept on the contact beside
 * next_follow_up_at, instead of one follow_ups probe per listed contact on every read.
 */
export class NextFollowUpId1700000000012 implements MigrationInterface {
  name = 'NextFollowUpId1700000000012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE contacts ADD COLUMN next_follow_up_id uuid;
      UPDATE contacts c SET next_follow_up_id = (
        SELECT f.id FROM follow_ups f WHERE f.contact_id = c.id AND f.kind = 'follow_up' AND f.type = 'call' AND NOT f.resolved
         ORDER BY f.scheduled_at, f.id LIMIT 1
      ) WHERE c.next_follow_up_at IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE contacts DROP COLUMN next_follow_up_id');
  }
}

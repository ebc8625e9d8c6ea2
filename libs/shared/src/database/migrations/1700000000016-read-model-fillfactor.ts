import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Room on every page of the two read-model tables that are updated over and over: a contact row with each call
 * and follow-up event, a follow-up row with each attempt. At the default fillfactor (100) a page has no room for
 * the new row version, so every UPDATE was a cold one, writing a new entry into each of the table's indexes
 * (seven on follow_ups, six on contacts, one of them GIN); with room left, an UPDATE that changes no indexed
 * column stays on its page (HOT) and touches no index. Applies to pages written from now on.
 */
export class ReadModelFillfactor1700000000016 implements MigrationInterface {
  name = 'ReadModelFillfactor1700000000016';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE follow_ups SET (fillfactor = 80); ALTER TABLE contacts SET (fillfactor = 80)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE follow_ups RESET (fillfactor); ALTER TABLE contacts RESET (fillfactor)`);
  }
}

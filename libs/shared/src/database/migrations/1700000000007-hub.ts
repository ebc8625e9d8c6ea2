import { MigrationInterface, QueryRunner } from 'typeorm';

/** The hub reads one agent's active contacts by next follow-up time: a partial index on exactly that. */
export class Hub1700000000007 implements MigrationInterface {
  name = 'Hub1700000000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX contacts_hub_ix ON contacts (org_id, assigned_agent_id, next_follow_up_at)
        INCLUDE (lead_quality) WHERE status = 'ACTIVE' AND next_follow_up_at IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX contacts_hub_ix');
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Auto lead assignment: every LeadReassigned as a row (round_robin rotates through agents by when each was last
 * given a lead), and an index to find the leads still waiting in a recycled status after Redis loss.
 */
export class Reassignment1700000000009 implements MigrationInterface {
  name = 'Reassignment1700000000009';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lead_reassignments (
        contact_id uuid NOT NULL,
        version bigint NOT NULL,
        org_id uuid NOT NULL,
        from_agent_id uuid,
        to_agent_id uuid NOT NULL,
        lead_status text NOT NULL,
        strategy text NOT NULL,
        scope text NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (contact_id, version)
      );
      CREATE INDEX lead_reassignments_agent_ix ON lead_reassignments (org_id, to_agent_id, at DESC);
      CREATE INDEX contacts_recycled_ix ON contacts (org_id, lead_status) WHERE status = 'ACTIVE' AND lead_status IN ('Not Picked', 'Missed');
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX contacts_recycled_ix; DROP TABLE lead_reassignments;');
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * contacts_recycled_ix (org_id, lead_status) WHERE status = 'ACTIVE' AND lead_status IN ('Not Picked', 'Missed') named
 * lead_status, so no update that changed a lead's status could be a HOT update: each wrote a new entry into every
 * index of contacts (six, one of them GIN), where a HOT update writes none. A pushed call changes the lead status of
 * about a third of its contacts. The index served one query, the reassignment jobs' rebuild after Redis loss
 * (ReassignJobSource.pending), which pages through contacts in id order and could not use it for that order anyway:
 * it walks contacts_pkey and filters, once per Redis loss.
 */
export class DropRecycledIndex1700000000025 implements MigrationInterface {
  name = 'DropRecycledIndex1700000000025';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS contacts_recycled_ix`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX contacts_recycled_ix ON contacts (org_id, lead_status) WHERE status = 'ACTIVE' AND lead_status IN ('Not Picked', 'Missed')`);
  }
}

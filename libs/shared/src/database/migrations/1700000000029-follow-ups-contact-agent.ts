import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * follow_ups.contact_agent_id: the contact's assigned agent, copied onto each of its rows (follow-ups and notes) by
 * the contacts projection, which writes both tables and keeps the copy equal to contacts.assigned_agent_id (set when
 * a row is inserted, moved with the contact on ContactAssigned and LeadReassigned). The follow-up list filters on
 * the agent two ways and both needed the contacts table for it:
 *
 * - `GET /api/follow-ups?agentId=` routes a follow-up to its own agent, else to its contact's (SPEC §5): the
 *   inheriting half went contact by contact of the agent, one follow_ups_contact_ix probe each. A scale audit
 *   (500,000 contacts, 50 agents of ~9,700 each, 455,000 follow-ups) measured 9,691 probes, ~50,000 buffers and
 *   0.6-1.0 s a page. With the copy the routed agent is `coalesce(agent_id, contact_agent_id)`, a key of
 *   follow_ups_routed_agent_ix walked backwards in the page's order: on a copy of that shape, a page read 285
 *   buffers instead of 50,635 (0.6 ms instead of 75-97 ms, warm).
 * - an agent's own list (`c.assigned_agent_id = me`) checked every follow-up of the org, newest first, against its
 *   contact until a page was found: 2,000-10,800 contact probes, 0.1-0.7 s (on the copy: 12,282 buffers, 97 ms;
 *   with a status filter 145,515 buffers, 1.7 s). It walks follow_ups_contact_agent_ix now: 282 buffers, 0.4 ms
 *   (537 and 0.7 ms with the status filter).
 *
 * follow_ups_agent_ix (0027) is dropped: the agentId filter was the only query that read it (the follow-up report
 * and least_loaded count open follow-ups from the report's own tables, the hub reads contacts, the job source and
 * expiry read by id and due time), and the routed-agent index answers a follow-up's own agent too.
 *
 * The backfill rewrites every row of follow_ups once (a new row version each: run VACUUM after on a large table) and,
 * with the index builds, holds the table's write lock for the length of the transaction (at 500,000 rows about
 * 15 s, 13 of them the UPDATE): on a large database, run it in a quiet hour. The indexes are built after the
 * UPDATE (which then changes no indexed column) so it writes no index entry twice. A process still running the
 * code from before this migration writes follow-ups without the column: stop the old processes before migrating,
 * or run the UPDATE below again once they are gone (it sets only the rows that differ).
 */
export class FollowUpsContactAgent1700000000029 implements MigrationInterface {
  name = 'FollowUpsContactAgent1700000000029';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX follow_ups_agent_ix;
      ALTER TABLE follow_ups ADD COLUMN contact_agent_id uuid;
      UPDATE follow_ups f SET contact_agent_id = c.assigned_agent_id
        FROM contacts c
       WHERE c.id = f.contact_id AND f.contact_agent_id IS DISTINCT FROM c.assigned_agent_id;
      CREATE INDEX follow_ups_contact_agent_ix ON follow_ups (org_id, contact_agent_id, created_at, id) WHERE kind = 'follow_up';
      CREATE INDEX follow_ups_routed_agent_ix ON follow_ups (org_id, (coalesce(agent_id, contact_agent_id)), created_at, id) WHERE kind = 'follow_up';
      ANALYZE follow_ups;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX follow_ups_routed_agent_ix;
      DROP INDEX follow_ups_contact_agent_ix;
      ALTER TABLE follow_ups DROP COLUMN contact_agent_id;
      CREATE INDEX follow_ups_agent_ix ON follow_ups (org_id, agent_id, created_at, id) WHERE kind = 'follow_up';
    `);
  }
}

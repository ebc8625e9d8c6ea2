import { MigrationInterface, QueryRunner } from 'typeorm';

const NO_AGENT = '00000000-0000-0000-0000-000000000000';

/**
 * The follow-up report counts only ACTIVE contacts' open follow-ups, as the hub lists only ACTIVE contacts (SPEC §6):
 * - fu_report_contacts.archived: the contact's status as the report's events set it (ContactStatusChanged);
 * - fu_report_follow_ups_explicit_ix: with the partial index of 0011 (inheriting ones), finds all of a contact's open
 *   follow-ups when it is archived or made ACTIVE again, leaving the reassignment lookup and its index as they are.
 * The live tables are brought to what a rebuild gives without replaying the log: contacts ARCHIVED now (the inline
 * contacts table, up to date with the log) are flagged and their open follow-ups taken out of fu_report_open. Where
 * the projection is behind the log, the events it has still to apply leave the same result (a status change counts
 * only what differs from the flag). Stop the processes of the version before first: they count follow-ups of
 * archived contacts (or rebuild the projection after: `projection:rebuild follow-up-report`).
 */
export class FollowUpReportArchived1700000000033 implements MigrationInterface {
  name = 'FollowUpReportArchived1700000000033';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE fu_report_contacts ADD COLUMN archived boolean NOT NULL DEFAULT false;
      CREATE INDEX fu_report_follow_ups_explicit_ix ON fu_report_follow_ups (contact_id) WHERE agent_id IS NOT NULL;
      UPDATE fu_report_contacts r SET archived = true FROM contacts c WHERE c.id = r.contact_id AND c.status = 'ARCHIVED';
    `);
    await q.query(openOfArchived('-'));
    await q.query('DELETE FROM fu_report_open WHERE open = 0 AND snoozed = 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(openOfArchived('+'));
    await q.query(`
      DROP INDEX fu_report_follow_ups_explicit_ix;
      ALTER TABLE fu_report_contacts DROP COLUMN archived;
    `);
  }
}

/** Takes the archived contacts' open follow-ups out of their cells (-), or puts them back (+). */
function openOfArchived(sign: '-' | '+'): string {
  return `
    WITH cells AS (
      SELECT f.org_id, coalesce(f.agent_id, r.agent_id, '${NO_AGENT}'::uuid) AS agent_id, f.slot,
             count(*)::int AS open, (count(*) FILTER (WHERE f.snoozed))::int AS snoozed
        FROM fu_report_follow_ups f JOIN fu_report_contacts r ON r.contact_id = f.contact_id
       WHERE r.archived
       GROUP BY 1, 2, 3
    )
    INSERT INTO fu_report_open AS t (org_id, agent_id, slot, open, snoozed)
    SELECT org_id, agent_id, slot, ${sign}open, ${sign}snoozed FROM cells
    ON CONFLICT (org_id, agent_id, slot) DO UPDATE SET open = t.open + excluded.open, snoozed = t.snoozed + excluded.snoozed`;
}

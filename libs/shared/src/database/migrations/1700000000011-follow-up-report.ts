import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The follow-up report (SPEC §8), an async projection (libs/reports/src/follow-up-report). Its own state, so a rebuild
 * needs no other read model:
 * - fu_report_org_timezones: each org's time zone as the events set it (activity is dated in it);
 * - fu_report_contacts: each contact's assigned agent (inheriting follow-ups count for it);
 * - fu_report_follow_ups: OPEN follow-ups only (a row is deleted when it ends): own agent (null = inherit), due slot,
 *   snoozed; the partial index finds a contact's inheriting ones when it is reassigned.
 * Pre-aggregated counts, read by the report without touching follow_ups or calls:
 * - fu_report_open: open follow-ups per (org, effective agent, 15-minute UTC due slot), and how many are snoozed;
 *   agent 00000000-0000-0000-0000-000000000000 is "no agent". Zero rows are deleted.
 * - fu_report_activity: scheduled / completed / failed / expired / cancelled / notes written per (org, local day in
 *   the org's time zone, effective agent at the event).
 */
export class FollowUpReport1700000000011 implements MigrationInterface {
  name = 'FollowUpReport1700000000011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE fu_report_org_timezones (
        org_id uuid PRIMARY KEY,
        timezone text NOT NULL
      );
      CREATE TABLE fu_report_contacts (
        contact_id uuid PRIMARY KEY,
        agent_id uuid
      );
      CREATE TABLE fu_report_follow_ups (
        follow_up_id uuid PRIMARY KEY,
        org_id uuid NOT NULL,
        contact_id uuid NOT NULL,
        agent_id uuid,
        slot timestamptz NOT NULL,
        snoozed boolean NOT NULL
      );
      CREATE INDEX fu_report_follow_ups_inheriting_ix ON fu_report_follow_ups (contact_id) WHERE agent_id IS NULL;
      CREATE TABLE fu_report_open (
        org_id uuid NOT NULL,
        agent_id uuid NOT NULL,
        slot timestamptz NOT NULL,
        open int NOT NULL,
        snoozed int NOT NULL,
        PRIMARY KEY (org_id, agent_id, slot)
      );
      CREATE TABLE fu_report_activity (
        org_id uuid NOT NULL,
        day date NOT NULL,
        agent_id uuid NOT NULL,
        scheduled int NOT NULL DEFAULT 0,
        completed int NOT NULL DEFAULT 0,
        failed int NOT NULL DEFAULT 0,
        expired int NOT NULL DEFAULT 0,
        cancelled int NOT NULL DEFAULT 0,
        notes_written int NOT NULL DEFAULT 0,
        PRIMARY KEY (org_id, day, agent_id)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE fu_report_activity;
      DROP TABLE fu_report_open;
      DROP TABLE fu_report_follow_ups;
      DROP TABLE fu_report_contacts;
      DROP TABLE fu_report_org_timezones;
    `);
  }
}

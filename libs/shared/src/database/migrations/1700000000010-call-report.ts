import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The call report's read model (SPEC §8), owned by the async `call-report` projection:
 * - call_report_days: counts per org, dimension, local day (org timezone) and key; '' is the key of "none".
 *   The primary key serves the report's read: one org, one or two dimensions, a range of days.
 * - call_report_orgs, call_report_users: the projection's own copy of each org's timezone and each user's
 *   branch and department, from the events, so that it never reads another read model.
 */
export class CallReport1700000000010 implements MigrationInterface {
  name = 'CallReport1700000000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE call_report_days (
        org_id        uuid    NOT NULL,
        dimension     text    NOT NULL CHECK (dimension IN ('status', 'agent', 'branch', 'department', 'tag', 'campaign')),
        day           date    NOT NULL,
        key           text    NOT NULL,
        attempts      int     NOT NULL,
        connected     int     NOT NULL,
        talk_sec      bigint  NOT NULL,
        s_called      int     NOT NULL,
        s_busy        int     NOT NULL,
        s_no_answer   int     NOT NULL,
        s_missed      int     NOT NULL,
        s_follow_up   int     NOT NULL,
        s_rescheduled int     NOT NULL,
        PRIMARY KEY (org_id, dimension, day, key)
      );
      CREATE TABLE call_report_orgs (
        org_id   uuid PRIMARY KEY,
        timezone text NOT NULL
      );
      CREATE TABLE call_report_users (
        user_id    uuid PRIMARY KEY,
        org_id     uuid NOT NULL,
        branch     text NOT NULL,
        department text NOT NULL
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE call_report_users; DROP TABLE call_report_orgs; DROP TABLE call_report_days;');
  }
}

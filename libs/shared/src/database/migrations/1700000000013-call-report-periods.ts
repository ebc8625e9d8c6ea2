import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The call report by whole ISO weeks and calendar months, kept beside the days by the same projection: a month by
 * agent reads one row per agent instead of summing a row per agent and day. A week or month that the asked range
 * cuts is still summed from the days.
 */
export class CallReportPeriods1700000000013 implements MigrationInterface {
  name = 'CallReportPeriods1700000000013';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE call_report_periods (
        org_id        uuid    NOT NULL,
        dimension     text    NOT NULL CHECK (dimension IN ('status', 'agent', 'branch', 'department', 'tag', 'campaign')),
        grain         text    NOT NULL CHECK (grain IN ('week', 'month')),
        start         date    NOT NULL,
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
        PRIMARY KEY (org_id, dimension, grain, start, key)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE call_report_periods');
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/** The settings read model (SPEC §7): one row per organization, rebuilt from the `settings-<orgId>` streams. */
export class Settings1700000000005 implements MigrationInterface {
  name = 'Settings1700000000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE org_settings (
        org_id uuid PRIMARY KEY,
        settings jsonb NOT NULL,
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE org_settings;');
  }
}

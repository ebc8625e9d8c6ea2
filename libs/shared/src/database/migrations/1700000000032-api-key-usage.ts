import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * api_key_usage: when each API key last authenticated a request, so that an admin rotating a dialler's key can see
 * whether the old one is still in use before revoking it. Not a projection (a key's use is not an event): a rebuild of
 * the tenancy tables leaves it, and nothing else reads it. No foreign key, since the projection's tables are
 * truncated and refilled on a rebuild.
 */
export class ApiKeyUsage1700000000032 implements MigrationInterface {
  name = 'ApiKeyUsage1700000000032';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE api_key_usage (key_id uuid PRIMARY KEY, last_used_at timestamptz NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_key_usage`);
  }
}

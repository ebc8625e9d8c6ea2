import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * api_keys.name: the label an admin gives a key issued with POST /api/users/:id/api-keys, so that a user with
 * several keys (a dialler's old and new one while it is rotated) can tell them apart. Keys issued before have none:
 * their ApiKeyIssued events carry no name, so a rebuild gives them null too.
 */
export class ApiKeyName1700000000031 implements MigrationInterface {
  name = 'ApiKeyName1700000000031';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys ADD COLUMN name text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN name`);
  }
}

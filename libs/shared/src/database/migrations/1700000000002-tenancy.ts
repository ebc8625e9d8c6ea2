import { MigrationInterface, QueryRunner } from 'typeorm';

/** Read models of organizations, users and API keys (inline projection of the tenancy events). */
export class Tenancy1700000000002 implements MigrationInterface {
  name = 'Tenancy1700000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        timezone text NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations (id),
        name text NOT NULL,
        email text,
        role text NOT NULL,
        branch text,
        department text,
        timezone text NOT NULL,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX users_org_role_ix ON users (org_id, role);
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL,
        user_id uuid NOT NULL REFERENCES users (id),
        key_hash bytea NOT NULL UNIQUE,
        prefix text NOT NULL,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE INDEX api_keys_user_ix ON api_keys (user_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys; DROP TABLE users; DROP TABLE organizations;`);
  }
}

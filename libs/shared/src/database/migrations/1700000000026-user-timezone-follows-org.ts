import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * users.timezone may be null: the user has none of their own and takes the organization's, as it is at each moment
 * (SPEC §2, "default: the org's"). Until now a user created without one got a copy of the org's at that moment, so
 * after an admin set the org's timezone (an org made with the CLI starts at UTC) every agent made before kept UTC, and
 * their hub's "today" with it. Users stored before this keep their copies: nothing tells a copy from a choice.
 */
export class UserTimezoneFollowsOrg1700000000026 implements MigrationInterface {
  name = 'UserTimezoneFollowsOrg1700000000026';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ALTER COLUMN timezone DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE users u SET timezone = (SELECT coalesce(s.settings->>'timezone', o.timezone) FROM organizations o LEFT JOIN org_settings s ON s.org_id = o.id WHERE o.id = u.org_id)
        WHERE u.timezone IS NULL`,
    );
    await q.query(`ALTER TABLE users ALTER COLUMN timezone SET NOT NULL`);
  }
}

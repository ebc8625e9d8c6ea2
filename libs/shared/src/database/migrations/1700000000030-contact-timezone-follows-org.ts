import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * contacts.timezone may be null: the contact has none of its own and takes the organization's, as it is at each moment
 * (SPEC §2, "default: org's"; §7, the calling window applies in the contact's timezone). Until now a contact created
 * without one got a copy of the org's at that moment, so after an admin set the org's timezone (an org made with the
 * CLI starts at UTC) every contact imported before kept UTC, and the worker called and texted them by UTC's window.
 * Contacts stored before this keep their copies, in the read model and in their ContactCreated events: nothing tells a
 * copy from a choice. As with users (0026), PATCH timezone null makes one follow the org's.
 */
export class ContactTimezoneFollowsOrg1700000000030 implements MigrationInterface {
  name = 'ContactTimezoneFollowsOrg1700000000030';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contacts ALTER COLUMN timezone DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    // back to copies: the org's zone as it is now (the code before this wrote the one of the contact's creation)
    await q.query(
      `UPDATE contacts c SET timezone = (SELECT coalesce(s.settings->>'timezone', o.timezone) FROM organizations o LEFT JOIN org_settings s ON s.org_id = o.id WHERE o.id = c.org_id)
        WHERE c.timezone IS NULL`,
    );
    await q.query(`ALTER TABLE contacts ALTER COLUMN timezone SET NOT NULL`);
  }
}

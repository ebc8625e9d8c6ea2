import { randomUUID } from 'node:crypto';
import { migrationTestDatabase } from '@app/testing';
import { runMigrations, undoMigrationsThrough } from './migrate';

/**
 * Migration 0029 copies each follow_ups row's contact's assigned agent onto it (contact_agent_id), which the contacts
 * projection keeps from then on. Done on a database holding rows written before it (undone to before it, filled,
 * done again), it must set every row, notes and follow-ups of both organizations, from its contact; undone, it must
 * leave the table and its indexes as 0027 and 0028 had them.
 */
describe('migration 0029: follow_ups.contact_agent_id', () => {
  const db = migrationTestDatabase();

  const indexes = async () =>
    (await db.client.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'follow_ups' ORDER BY indexname`)).rows.map((r) => r.indexname);
  const hasColumn = async () =>
    (await db.client.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'follow_ups' AND column_name = 'contact_agent_id'`)).rowCount === 1;

  /** Undoes the migrations down to 0029, the ones after it first. */
  const undo = () => undoMigrationsThrough(db.url, 'FollowUpsContactAgent1700000000029');

  it('should set every row from its contact when done on rows written before it, and drop the column when undone', async () => {
    expect(await hasColumn()).toBe(true);
    await undo();
    expect(await hasColumn()).toBe(false);
    expect(await indexes()).toContain('follow_ups_agent_ix');
    expect(await indexes()).not.toContain('follow_ups_contact_agent_ix');
    expect(await indexes()).not.toContain('follow_ups_routed_agent_ix');

    // Two organizations: contacts with an agent and without, each with follow-ups (own agent or inheriting) and notes.
    const [orgA, orgB] = [randomUUID(), randomUUID()];
    const [ana, bob] = [randomUUID(), randomUUID()];
    const contacts = [
      { id: randomUUID(), org: orgA, agent: ana },
      { id: randomUUID(), org: orgA, agent: bob },
      { id: randomUUID(), org: orgA, agent: null },
      { id: randomUUID(), org: orgB, agent: randomUUID() },
    ];
    let n = 0;
    for (const c of contacts) {
      await db.client.query(
        `INSERT INTO contacts (id, org_id, name, phone, timezone, lead_quality, lead_status, assigned_agent_id, tags, campaign_id, status, version, created_at, updated_at)
         VALUES ($1, $2, 'Lead', $3, 'UTC', 'WARM', 'New', $4, '{}', NULL, 'ACTIVE', 1, now(), now())`,
        [c.id, c.org, `+1415${String(9000000 + n++)}`, c.agent],
      );
      for (const [kind, own] of [
        ['follow_up', null],
        ['follow_up', bob],
        ['note', null],
      ] as const) {
        await db.client.query(
          `INSERT INTO follow_ups (id, org_id, contact_id, kind, resolved, status, type, scheduled_at, agent_id, created_at, updated_at)
           VALUES (gen_random_uuid(), $1, $2, $3, $3 = 'note', CASE WHEN $3 = 'note' THEN 'note' ELSE 'scheduled' END,
                   CASE WHEN $3 = 'note' THEN NULL ELSE 'call' END, now(), $4, now(), now())`,
          [c.org, c.id, kind, kind === 'note' ? null : own],
        );
      }
    }

    expect(await runMigrations(db.url)).toContain('FollowUpsContactAgent1700000000029');
    const { rows } = await db.client.query(
      `SELECT f.contact_id, f.kind, f.agent_id, f.contact_agent_id FROM follow_ups f WHERE f.contact_id = ANY ($1::uuid[]) ORDER BY f.contact_id, f.kind, f.agent_id NULLS FIRST`,
      [contacts.map((c) => c.id)],
    );
    expect(rows).toHaveLength(12);
    const agentOf = (contactId: string) => contacts.find((c) => c.id === contactId)!.agent;
    expect(rows).toEqual(rows.map((r) => ({ ...r, contact_agent_id: agentOf(r.contact_id) })));
    expect(rows.filter((r) => r.contact_agent_id === null)).toHaveLength(3); // the contact without an agent's
    expect(await indexes()).toEqual(expect.arrayContaining(['follow_ups_contact_agent_ix', 'follow_ups_routed_agent_ix']));
    expect(await indexes()).not.toContain('follow_ups_agent_ix');

    // the routed agent as the list asks for it: a row's own agent, else its contact's
    const routed = async (org: string, agent: string) =>
      (
        await db.client.query(`SELECT count(*)::int AS n FROM follow_ups WHERE org_id = $1 AND kind = 'follow_up' AND coalesce(agent_id, contact_agent_id) = $2`, [org, agent])
      ).rows[0].n;
    expect(await routed(orgA, ana)).toBe(1); // Ana's contact's inheriting one
    expect(await routed(orgA, bob)).toBe(4); // Bob's own (one per contact of the org) and the inheriting one of his contact
  });
});

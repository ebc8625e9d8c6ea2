import { randomUUID } from 'node:crypto';
import { migrationTestDatabase } from '@app/testing';
import { runMigrations, undoMigrationsThrough } from './migrate';

/**
 * Migration 0033 makes the follow-up report count only ACTIVE contacts' open follow-ups: it adds
 * fu_report_contacts.archived and an index, flags the contacts ARCHIVED in `contacts`, and takes their open follow-ups
 * out of fu_report_open (per org, effective agent, slot); undone, it puts them back and drops the column and index.
 * Its tests so far ran it on empty tables only, so here it runs on report tables as the projection wrote them before
 * it (undone to before it, filled, done again), with counts checked against a tally computed here.
 */
describe('migration 0033: follow-up report counts only ACTIVE contacts', () => {
  const db = migrationTestDatabase();

  /** The report's "no agent" key (SPEC §8). */
  const NO_AGENT = '00000000-0000-0000-0000-000000000000';
  const INDEX = 'fu_report_follow_ups_explicit_ix';

  const hasIndex = async () => (await db.client.query(`SELECT 1 FROM pg_indexes WHERE tablename = 'fu_report_follow_ups' AND indexname = $1`, [INDEX])).rowCount === 1;
  const hasColumn = async () =>
    (await db.client.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'fu_report_contacts' AND column_name = 'archived'`)).rowCount === 1;

  /** Undoes the migrations down to 0033, the ones after it first. */
  const undo = () => undoMigrationsThrough(db.url, 'FollowUpReportArchived1700000000033');

  // Three organizations; agents are plain ids (the report keeps no users).
  const [orgA, orgB, orgC] = [randomUUID(), randomUUID(), randomUUID()];
  const [ana, bob, cid, dee, eve] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const s1 = new Date('2030-01-01T09:00:00.000Z');
  const s2 = new Date('2030-01-01T09:15:00.000Z');

  interface SeedFollowUp {
    /** Own agent; null: inherits the contact's. */
    own: string | null;
    slot: Date;
    snoozed: boolean;
  }
  interface SeedContact {
    id: string;
    org: string;
    agent: string | null;
    status: 'ACTIVE' | 'ARCHIVED';
    open: SeedFollowUp[];
  }
  const fu = (own: string | null, slot: Date, snoozed = false): SeedFollowUp => ({ own, slot, snoozed });
  // Archived contacts share cells with active ones (partly emptied) and own some alone (emptied, so deleted).
  const contacts: SeedContact[] = [
    { id: randomUUID(), org: orgA, agent: ana, status: 'ACTIVE', open: [fu(null, s1), fu(null, s1, true), fu(bob, s1), fu(bob, s2, true)] },
    { id: randomUUID(), org: orgA, agent: ana, status: 'ARCHIVED', open: [fu(null, s1), fu(null, s2, true), fu(bob, s1, true), fu(bob, s2)] },
    { id: randomUUID(), org: orgA, agent: null, status: 'ARCHIVED', open: [fu(null, s1), fu(null, s2), fu(null, s2, true), fu(ana, s2)] },
    { id: randomUUID(), org: orgA, agent: null, status: 'ACTIVE', open: [fu(null, s1, true), fu(ana, s1)] },
    { id: randomUUID(), org: orgB, agent: cid, status: 'ARCHIVED', open: [fu(null, s1), fu(null, s1, true), fu(dee, s2)] },
    { id: randomUUID(), org: orgB, agent: cid, status: 'ACTIVE', open: [fu(null, s1), fu(dee, s1, true)] },
    { id: randomUUID(), org: orgC, agent: eve, status: 'ARCHIVED', open: [] },
    { id: randomUUID(), org: orgC, agent: eve, status: 'ACTIVE', open: [fu(null, s1)] },
  ];

  interface Cell {
    org_id: string;
    agent_id: string;
    slot: string;
    open: number;
    snoozed: number;
  }
  const byKey = (a: Cell, b: Cell) => `${a.org_id}|${a.agent_id}|${a.slot}`.localeCompare(`${b.org_id}|${b.agent_id}|${b.slot}`);

  /** fu_report_open as the report defines it: open follow-ups of the given contacts per (org, effective agent, slot). */
  const tally = (of: SeedContact[]): Cell[] => {
    const cells = new Map<string, Cell>();
    for (const c of of) {
      for (const f of c.open) {
        const agent = f.own ?? c.agent ?? NO_AGENT;
        const key = `${c.org}|${agent}|${f.slot.toISOString()}`;
        const cell = cells.get(key) ?? { org_id: c.org, agent_id: agent, slot: f.slot.toISOString(), open: 0, snoozed: 0 };
        cell.open += 1;
        if (f.snoozed) cell.snoozed += 1;
        cells.set(key, cell);
      }
    }
    return [...cells.values()].sort(byKey);
  };
  const cells = async (): Promise<Cell[]> =>
    (await db.client.query<Omit<Cell, 'slot'> & { slot: Date }>('SELECT org_id, agent_id, slot, open, snoozed FROM fu_report_open')).rows
      .map((r) => ({ ...r, slot: r.slot.toISOString() }))
      .sort(byKey);
  const followUps = async () =>
    (await db.client.query('SELECT follow_up_id, org_id, contact_id, agent_id, slot, snoozed FROM fu_report_follow_ups ORDER BY follow_up_id')).rows;

  /** The state 0033 must leave: flags from `contacts`, counts of ACTIVE contacts only, no empty cell, the index. */
  const expectDone = async (asInserted: unknown[]) => {
    expect(await hasColumn()).toBe(true);
    expect(await hasIndex()).toBe(true);
    const { rows: flags } = await db.client.query<{ contact_id: string; archived: boolean }>('SELECT contact_id, archived FROM fu_report_contacts');
    expect(new Map(flags.map((r) => [r.contact_id, r.archived]))).toEqual(new Map(contacts.map((c) => [c.id, c.status === 'ARCHIVED'])));
    expect(await cells()).toEqual(tally(contacts.filter((c) => c.status === 'ACTIVE')));
    expect((await db.client.query('SELECT 1 FROM fu_report_open WHERE open = 0 AND snoozed = 0')).rowCount).toBe(0);
    expect(await followUps()).toEqual(asInserted); // archived contacts' open follow-ups stay tracked
  };

  it('should count only the open follow-ups of ACTIVE contacts when done on cells written before it, and all of them again when undone', async () => {
    expect(await hasColumn()).toBe(true);
    await undo();
    expect(await hasColumn()).toBe(false);
    expect(await hasIndex()).toBe(false);

    // As the projection wrote them before 0033: every contact's open follow-ups counted, archived or not.
    let n = 0;
    for (const c of contacts) {
      await db.client.query(
        `INSERT INTO contacts (id, org_id, name, phone, timezone, lead_quality, lead_status, assigned_agent_id, tags, campaign_id, status, version, created_at, updated_at)
         VALUES ($1, $2, 'Lead', $3, 'UTC', 'WARM', 'New', $4, '{}', NULL, $5, 1, now(), now())`,
        [c.id, c.org, `+1415${String(9000000 + n++)}`, c.agent, c.status],
      );
      await db.client.query('INSERT INTO fu_report_contacts (contact_id, agent_id) VALUES ($1, $2)', [c.id, c.agent]);
      for (const f of c.open) {
        await db.client.query(
          'INSERT INTO fu_report_follow_ups (follow_up_id, org_id, contact_id, agent_id, slot, snoozed) VALUES ($1, $2, $3, $4, $5, $6)',
          [randomUUID(), c.org, c.id, f.own, f.slot, f.snoozed],
        );
      }
    }
    const inserted = tally(contacts);
    for (const cell of inserted) {
      await db.client.query('INSERT INTO fu_report_open (org_id, agent_id, slot, open, snoozed) VALUES ($1, $2, $3, $4, $5)', [
        cell.org_id,
        cell.agent_id,
        cell.slot,
        cell.open,
        cell.snoozed,
      ]);
    }
    const asInserted = await followUps();
    expect(asInserted).toHaveLength(20);
    expect(await cells()).toEqual(inserted);

    expect(await runMigrations(db.url)).toContain('FollowUpReportArchived1700000000033');
    await expectDone(asInserted);
    // cells only archived contacts filled are deleted; a shared one keeps the active contact's share
    const after = await cells();
    expect(after.find((x) => x.org_id === orgA && x.agent_id === NO_AGENT && x.slot === s2.toISOString())).toBeUndefined();
    expect(after.find((x) => x.org_id === orgB && x.agent_id === dee && x.slot === s2.toISOString())).toBeUndefined();
    expect(after.find((x) => x.org_id === orgA && x.agent_id === bob && x.slot === s1.toISOString())).toEqual({
      org_id: orgA,
      agent_id: bob,
      slot: s1.toISOString(),
      open: 1,
      snoozed: 0,
    });

    await undo();
    expect(await hasColumn()).toBe(false);
    expect(await hasIndex()).toBe(false);
    expect(await cells()).toEqual(inserted);
    expect(await followUps()).toEqual(asInserted);

    expect(await runMigrations(db.url)).toContain('FollowUpReportArchived1700000000033');
    await expectDone(asInserted);
  });
});

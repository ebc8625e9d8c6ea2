import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { AsProjection, Projection, StoredEvent } from '@app/event-store';
import { ACTIVITY_KINDS, foldTally, FOLLOW_UP_REPORT_EVENT_TYPES, TallyLoad, TallyResult, tallyLoad, TrackedFollowUp } from './follow-up-tally';

export const FOLLOW_UP_REPORT_PROJECTION = 'follow-up-report';

/** Activity columns, in ACTIVITY_KINDS order. */
const ACTIVITY_COLUMNS = ['scheduled', 'completed', 'failed', 'expired', 'cancelled', 'notes_written'] as const;

const FOLLOW_UP_COLUMNS = 'follow_up_id, org_id, contact_id, agent_id, slot, snoozed';

interface FollowUpRow {
  follow_up_id: string;
  org_id: string;
  contact_id: string;
  agent_id: string | null;
  slot: Date;
  snoozed: boolean;
}

/**
 * The follow-up report's pre-aggregated counts (see follow-up-tally.ts for what is counted and how). Async: it runs in
 * the worker's consumer runner, each batch in the transaction that moves its checkpoint, so every event is applied
 * exactly once. Its state (contacts' agents and statuses, open follow-ups, org time zones) is its own: it never reads
 * another read model, so a rebuild equals the live tables.
 *
 * Set-based: per batch, three reads of the state it touches, a fold in memory, then one statement per table.
 * Keys are also named with `= ANY($ids)` so the planner uses the primary keys (autovacuum is off: no statistics).
 */
@Injectable()
@AsProjection()
export class FollowUpReportProjection implements Projection {
  readonly name = FOLLOW_UP_REPORT_PROJECTION;
  readonly mode = 'async';
  readonly eventTypes = [...FOLLOW_UP_REPORT_EVENT_TYPES];
  readonly tables = ['fu_report_org_timezones', 'fu_report_contacts', 'fu_report_follow_ups', 'fu_report_open', 'fu_report_activity'];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    const load = tallyLoad(events);
    // One client, one query at a time (the runner's transaction).
    const contacts = load.contactIds.length
      ? await tx.query<{ contact_id: string; agent_id: string | null; archived: boolean }>(
          'SELECT contact_id, agent_id, archived FROM fu_report_contacts WHERE contact_id = ANY ($1::uuid[])',
          [load.contactIds],
        )
      : { rows: [] };
    const followUps = await FollowUpReportProjection.loadFollowUps(tx, load);
    const timezones = await tx.query<{ org_id: string; timezone: string }>('SELECT org_id, timezone FROM fu_report_org_timezones WHERE org_id = ANY ($1::uuid[])', [
      load.orgIds,
    ]);
    const result = foldTally(events, {
      contacts: new Map(contacts.rows.map((r) => [r.contact_id, { agentId: r.agent_id, archived: r.archived }])),
      followUps: new Map(
        followUps.rows.map((r): [string, TrackedFollowUp] => [
          r.follow_up_id,
          { followUpId: r.follow_up_id, orgId: r.org_id, contactId: r.contact_id, agentId: r.agent_id, slot: new Date(r.slot).getTime(), snoozed: r.snoozed },
        ]),
      ),
      orgTimezones: new Map(timezones.rows.map((r) => [r.org_id, r.timezone])),
    });
    await FollowUpReportProjection.write(tx, result);
  }

  /**
   * The open follow-ups the batch names, a reassigned contact's inheriting ones, and every one of a contact archived or
   * made ACTIVE (rare: that branch only when the batch has one). Each branch repeats its partial index's predicate.
   */
  private static async loadFollowUps(tx: Sql, load: TallyLoad): Promise<{ rows: FollowUpRow[] }> {
    if (!load.followUpIds.length && !load.reassignedContactIds.length && !load.statusChangedContactIds.length) return { rows: [] };
    const branches = [
      `SELECT ${FOLLOW_UP_COLUMNS} FROM fu_report_follow_ups WHERE follow_up_id = ANY ($1::uuid[])`,
      `SELECT ${FOLLOW_UP_COLUMNS} FROM fu_report_follow_ups WHERE contact_id = ANY ($2::uuid[]) AND agent_id IS NULL`,
    ];
    const params: string[][] = [load.followUpIds, load.reassignedContactIds];
    if (load.statusChangedContactIds.length) {
      branches.push(
        `SELECT ${FOLLOW_UP_COLUMNS} FROM fu_report_follow_ups WHERE contact_id = ANY ($3::uuid[]) AND agent_id IS NULL`,
        `SELECT ${FOLLOW_UP_COLUMNS} FROM fu_report_follow_ups WHERE contact_id = ANY ($3::uuid[]) AND agent_id IS NOT NULL`,
      );
      params.push(load.statusChangedContactIds);
    }
    return tx.query<FollowUpRow>(branches.join('\n UNION\n '), params);
  }

  private static async write(tx: Sql, r: TallyResult): Promise<void> {
    if (r.orgTimezones.size) {
      await tx.query(
        `INSERT INTO fu_report_org_timezones (org_id, timezone) SELECT * FROM unnest($1::uuid[], $2::text[])
         ON CONFLICT (org_id) DO UPDATE SET timezone = excluded.timezone`,
        [[...r.orgTimezones.keys()], [...r.orgTimezones.values()]],
      );
    }
    if (r.contacts.size) {
      const c = [...r.contacts.values()];
      await tx.query(
        `INSERT INTO fu_report_contacts (contact_id, agent_id, archived) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::boolean[])
         ON CONFLICT (contact_id) DO UPDATE SET agent_id = excluded.agent_id, archived = excluded.archived`,
        [[...r.contacts.keys()], c.map((x) => x.agentId), c.map((x) => x.archived)],
      );
    }
    if (r.ended.length) {
      await tx.query('DELETE FROM fu_report_follow_ups WHERE follow_up_id = ANY ($1::uuid[])', [r.ended]);
    }
    if (r.upsert.length) {
      const f = r.upsert;
      await tx.query(
        `INSERT INTO fu_report_follow_ups (follow_up_id, org_id, contact_id, agent_id, slot, snoozed)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::boolean[])
         ON CONFLICT (follow_up_id) DO UPDATE SET slot = excluded.slot, snoozed = excluded.snoozed`,
        [f.map((x) => x.followUpId), f.map((x) => x.orgId), f.map((x) => x.contactId), f.map((x) => x.agentId), f.map((x) => iso(x.slot)), f.map((x) => x.snoozed)],
      );
    }
    if (r.open.length) {
      const o = r.open;
      const { rows } = await tx.query<{ ctid: string; open: number; snoozed: number }>(
        `INSERT INTO fu_report_open AS t (org_id, agent_id, slot, open, snoozed)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::int[], $5::int[])
         ON CONFLICT (org_id, agent_id, slot) DO UPDATE SET open = t.open + excluded.open, snoozed = t.snoozed + excluded.snoozed
         RETURNING ctid::text AS ctid, open, snoozed`,
        [o.map((x) => x.orgId), o.map((x) => x.agentId), o.map((x) => iso(x.slot)), o.map((x) => x.open), o.map((x) => x.snoozed)],
      );
      // A cell that reaches zero is deleted, so the table holds the same rows however the log was cut into batches.
      // By the row versions just written (a TID scan): a three-column key list gets a sequential scan without statistics.
      const empty = rows.filter((x) => x.open === 0 && x.snoozed === 0).map((x) => x.ctid);
      if (empty.length) await tx.query('DELETE FROM fu_report_open WHERE ctid = ANY ($1::tid[])', [empty]);
    }
    if (r.activity.length) {
      const a = r.activity;
      const sets = ACTIVITY_COLUMNS.map((c) => `${c} = t.${c} + excluded.${c}`).join(', ');
      await tx.query(
        `INSERT INTO fu_report_activity AS t (org_id, day, agent_id, ${ACTIVITY_COLUMNS.join(', ')})
         SELECT * FROM unnest($1::uuid[], $2::date[], $3::uuid[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::int[])
         ON CONFLICT (org_id, day, agent_id) DO UPDATE SET ${sets}`,
        [a.map((x) => x.orgId), a.map((x) => x.day), a.map((x) => x.agentId), ...ACTIVITY_KINDS.map((k) => a.map((x) => x[k]))],
      );
    }
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { StoredEvent } from '@app/event-store';
import { AsJobSource, JobRequest, JobSource } from '@app/queue';
import { CallLogged, CallLoggedData, LeadStatusChanged, LeadStatusChangedData } from '@app/contacts';
import { AutoAssignmentSettings, RECYCLABLE_STATUSES, SettingsRepository } from '@app/settings';
import { reassignJob, REASSIGN_LEAD } from './reassign.jobs';

/** The statuses settings may recycle, as an SQL list. */
const RECYCLABLE_SQL = RECYCLABLE_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * SPEC §7 auto lead assignment, the trigger: every unreached event (a final call that did not connect, a lead
 * status change into a recycled status) of an org with auto-assignment on makes one delayed job, due
 * `delaySeconds` after the event. The job decides; see libs/contacts/src/domain/reassignment.ts.
 */
@Injectable()
@AsJobSource()
export class ReassignJobSource implements JobSource {
  readonly name = 'auto-assignment';
  readonly jobNames = [REASSIGN_LEAD];
  readonly eventTypes = [CallLogged, LeadStatusChanged];

  constructor(private readonly settings: SettingsRepository) {}

  async jobsFor(events: readonly StoredEvent[], sql: Sql): Promise<JobRequest[]> {
    const triggers: { e: StoredEvent; delayMs: number }[] = [];
    // Each org's rules once a round, not an await an event: the outbox hands over every call of a round, and that was
    // 4 % of what the service allocated in bench:ingest's batch phase (auto-assignment off).
    const rulesOf = new Map<string, AutoAssignmentSettings>();
    for (const orgId of new Set(events.map((e) => e.orgId))) rulesOf.set(orgId, (await this.settings.getCached(orgId)).autoAssignment);
    for (const e of events) {
      const rules = rulesOf.get(e.orgId)!;
      if (!rules.enabled) continue;
      const unreached =
        e.type === CallLogged ? !(e.data as CallLoggedData).connected : (rules.statuses as readonly string[]).includes((e.data as LeadStatusChangedData).to);
      if (unreached) triggers.push({ e, delayMs: rules.delaySeconds * 1000 });
    }
    if (triggers.length === 0) return [];
    // A call on a lead that is not in a recycled status now cannot reassign it later: a later streak has its own trigger.
    const { rows } = await sql.query<{ id: string }>(
      `SELECT id FROM contacts WHERE id = ANY ($1::uuid[]) AND status = 'ACTIVE' AND lead_status IN (${RECYCLABLE_SQL})`,
      [[...new Set(triggers.map((t) => t.e.data.contactId as string))]],
    );
    const live = new Set(rows.map((r) => r.id));
    return triggers
      .filter((t) => live.has(t.e.data.contactId))
      .map((t) =>
        reassignJob({ orgId: t.e.orgId, contactId: t.e.data.contactId, triggerVersion: t.e.streamVersion }, Date.parse(t.e.metadata.occurredAt) + t.delayMs),
      );
  }

  /**
   * After Redis loss: a job for every active lead in a recycled status of an org with auto-assignment on, under
   * its maximum. The job names the contact's current version (any open streak started at or before it) and is due
   * `delaySeconds` after the contact's last change: never earlier than the original, possibly later.
   */
  async *pending(sql: Sql): AsyncIterable<JobRequest> {
    // One pass over contacts in primary-key order, ReassignJobSource.PAGE rows a query, filtered within each page: no
    // index names lead_status (see migration 0025), and a filtered `ORDER BY id LIMIT` could be planned as a scan
    // and sort of the whole table for every page.
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const { rows } = await sql.query<{ last: string | null; id: string | null; org_id: string; version: string; updated_at: Date; delay: number }>(
        `WITH page AS (SELECT id, org_id, version, updated_at, status, lead_status, reassignments FROM contacts WHERE id > $1 ORDER BY id LIMIT $2)
         SELECT (SELECT id FROM page ORDER BY id DESC LIMIT 1) AS last, c.id, c.org_id, c.version, c.updated_at, (s.settings->'autoAssignment'->>'delaySeconds')::int AS delay
           FROM (SELECT 1) AS one
           LEFT JOIN (page c JOIN org_settings s ON s.org_id = c.org_id
                       AND (s.settings->'autoAssignment'->>'enabled')::boolean
                       AND c.status = 'ACTIVE' AND c.lead_status IN (${RECYCLABLE_SQL})
                       AND c.lead_status IN (SELECT jsonb_array_elements_text(s.settings->'autoAssignment'->'statuses'))
                       AND c.reassignments < (s.settings->'autoAssignment'->>'maxReassignments')::int) ON true
          ORDER BY c.id`,
        [after, ReassignJobSource.PAGE],
      );
      for (const r of rows) {
        if (r.id === null) continue;
        yield reassignJob({ orgId: r.org_id, contactId: r.id, triggerVersion: Number(r.version) }, new Date(r.updated_at).getTime() + r.delay * 1000);
      }
      const last = rows[0]?.last ?? null;
      if (last === null) return;
      after = last;
    }
  }

  /** Contacts read a query by pending (a test lowers it to walk several pages). */
  static PAGE = 5000;
}

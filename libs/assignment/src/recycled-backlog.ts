import { Sql } from '@app/shared';
import { JobRequest } from '@app/queue';
import { RECYCLABLE_STATUSES } from '@app/settings';
import { reassignJob } from './reassign.jobs';

/** The statuses settings may recycle, as an SQL list. */
export const RECYCLABLE_SQL = RECYCLABLE_STATUSES.map((s) => `'${s}'`).join(', ');

const NO_ID = '00000000-0000-0000-0000-000000000000';

/** The columns the rule and the cursor read. */
const COLUMNS = 'id, org_id, version, created_at, updated_at, status, lead_status, reassignments';

/**
 * Every org's contacts in primary-key order, filtered within each page: no index names lead_status (see migration
 * 0025), and a filtered `ORDER BY id LIMIT` could be planned as a scan and sort of the whole table for every page.
 */
const ALL_ORGS = { page: `SELECT ${COLUMNS} FROM contacts WHERE id > $1::uuid ORDER BY id LIMIT $2`, last: 'ORDER BY id DESC' };

/** One org's contacts along contacts_org_created_ix: a sweep of a small org does not read every org's contacts. */
const ONE_ORG = {
  page: `SELECT ${COLUMNS} FROM contacts WHERE org_id = $3 AND (created_at, id) > ($4::timestamptz, $1::uuid) ORDER BY created_at, id LIMIT $2`,
  last: 'ORDER BY created_at DESC, id DESC',
};

/**
 * The re-check jobs that should exist now (SPEC §7), a page at a time: one per lead that is ACTIVE, in a recycled
 * status its org's settings recycle and under their maxReassignments, in an org with auto-assignment on. Each names
 * the contact's current version (any open streak started at or before it) and is due `delaySeconds` after the
 * contact's last change (when it entered its status, or later): a lead that has waited longer is due at once, and a
 * lost job is never brought back earlier than it was due. Shared by the rebuild after Redis loss (every org) and the
 * sweep when an org's rules widen (`orgId`), so both apply one rule.
 */
export async function* recycledBacklog(sql: Sql, orgId: string | null, pageSize: number): AsyncIterable<JobRequest[]> {
  const source = orgId === null ? ALL_ORGS : ONE_ORG;
  let after = { id: NO_ID, at: '-infinity' };
  for (;;) {
    const params = orgId === null ? [after.id, pageSize] : [after.id, pageSize, orgId, after.at];
    type Row = { last_id: string; last_at: string; id: string | null; org_id: string; version: string; updated_at: Date; delay: number };
    const { rows } = await sql.query<Row>(
      // `last` is the page's last row whether or not any row of it matched: no row at all only once the pages run out.
      `WITH page AS (${source.page})
       SELECT last.id AS last_id, last.created_at::text AS last_at,
              c.id, c.org_id, c.version, c.updated_at, (s.settings->'autoAssignment'->>'delaySeconds')::int AS delay
         FROM (SELECT id, created_at FROM page ${source.last} LIMIT 1) AS last
         LEFT JOIN (page c JOIN org_settings s ON s.org_id = c.org_id
                     AND (s.settings->'autoAssignment'->>'enabled')::boolean
                     AND c.status = 'ACTIVE' AND c.lead_status IN (${RECYCLABLE_SQL})
                     AND c.lead_status IN (SELECT jsonb_array_elements_text(s.settings->'autoAssignment'->'statuses'))
                     AND c.reassignments < (s.settings->'autoAssignment'->>'maxReassignments')::int) ON true
        ORDER BY c.id`,
      params,
    );
    if (rows.length === 0) return;
    yield rows
      .filter((r) => r.id !== null)
      .map((r) =>
        reassignJob({ orgId: r.org_id, contactId: r.id!, triggerVersion: Number(r.version) }, new Date(r.updated_at).getTime() + r.delay * 1000),
      );
    after = { id: rows[0].last_id, at: rows[0].last_at };
  }
}

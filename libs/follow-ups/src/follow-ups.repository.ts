import { Injectable } from '@nestjs/common';
import { Actor, Database, NotFoundError } from '@app/shared';
import { decodeCursor, encodeCursor, OPEN_FOLLOW_UP_STATUSES } from '@app/contacts';

/** A follow-up as the API returns it (SPEC §5), with the names the contact card shows. */
export interface FollowUpView {
  id: string;
  contactId: string;
  contactName: string;
  type: string;
  status: string;
  scheduledAt: string;
  agentId: string | null;
  agentName: string | null;
  priority: string;
  maxAttempts: number;
  attempts: number;
  nextAttemptAt: string | null;
  allowOutOfWindow: boolean;
  outOfWindow: boolean;
  notes: string | null;
  campaignId: string | null;
  campaignName: string | null;
  source: string;
  message?: string | null;
  url?: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
}

export interface FollowUpFilter {
  contactId?: string;
  agentId?: string;
  status?: string;
  type?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit: number;
}

const COLUMNS = `f.id, f.contact_id AS "contactId", c.name AS "contactName", f.type, f.status, f.scheduled_at AS "scheduledAt",
  f.agent_id AS "agentId", u.name AS "agentName", f.priority, f.max_attempts AS "maxAttempts", f.attempts,
  f.next_attempt_at AS "nextAttemptAt", f.allow_out_of_window AS "allowOutOfWindow", f.out_of_window AS "outOfWindow", f.notes,
  f.campaign_id AS "campaignId", cp.name AS "campaignName", f.source, f.message, f.url, f.last_error AS "lastError",
  f.created_at AS "createdAt", f.updated_at AS "updatedAt", f.resolved_at AS "resolvedAt"`;
/** The joins of a follow-up row (`f`, read from `source`) to its contact, agent and campaign. */
const from = (source = 'follow_ups') => `${source} f JOIN contacts c ON c.id = f.contact_id LEFT JOIN users u ON u.id = f.agent_id LEFT JOIN campaigns cp ON cp.id = f.campaign_id`;

/** message only for sms, url only for webhook (SPEC §5: "as the type needs"). */
function shape(row: FollowUpView): FollowUpView {
  const { message, url, ...rest } = row;
  return { ...rest, ...(row.type === 'sms' ? { message } : {}), ...(row.type === 'webhook' ? { url } : {}) };
}

/**
 * Follow-ups (not notes) of the read model. Scoped by org; an agent sees those of the contacts assigned to them,
 * told by follow_ups.contact_agent_id, the projection's copy of the contact's assigned agent (migration 0029).
 */
@Injectable()
export class FollowUpsRepository {
  constructor(private readonly db: Database) {}

  /**
   * `afterWrite`: the answer to a write the caller has just made to it, read without the agent's assignment check,
   * which the write passed on the state it was decided on: a hand-over of the contact in between must not turn the
   * write's success into a 404.
   */
  async get(actor: Actor, id: string, afterWrite = false): Promise<FollowUpView> {
    // The row by its primary key first, the org and kind checked on it after: with org_id beside id in one
    // WHERE, a table without statistics (autovacuum not yet round) was read through an index led by org_id
    // (follow_ups_agent_ix, since dropped), every follow-up of the org, 10 ms at 15,000 of them instead of 0.05.
    const { rows } = await this.db.query<FollowUpView & { assigned: string | null }>(
      `WITH one AS MATERIALIZED (SELECT * FROM follow_ups WHERE id = $2)
       SELECT ${COLUMNS}, f.contact_agent_id AS assigned FROM ${from('one')} WHERE f.org_id = $1 AND f.kind = 'follow_up'`,
      [actor.orgId, id],
    );
    const row = rows[0];
    if (!row || (actor.role === 'agent' && !afterWrite && row.assigned !== actor.userId)) throw new NotFoundError('follow-up', id);
    const { assigned: _assigned, ...view } = row;
    return shape(view);
  }

  /**
   * The global list (and the contact card with contactId): newest created first (created_at, then id, both descending),
   * keyset pagination on the same two.
   *
   * Each filter on the agent is one column of follow_ups, read in the page's order from an index (migration 0029):
   * - an agent's own view, the follow-ups of the contacts assigned to them: contact_agent_id, through
   *   follow_ups_contact_agent_ix. Through the contacts join it checked every follow-up of the org, newest first,
   *   against its contact until a page was found (2,000-10,800 probes, 0.1-0.7 s at 500,000 contacts).
   * - agentId, the follow-up's agent as SPEC §5 routes it: its own, else (it inherits) its contact's current one,
   *   `coalesce(agent_id, contact_agent_id)` as follow_ups_routed_agent_ix has it (the expression must stay written
   *   so for the index to serve it). The inheriting ones were found contact by contact of the agent (9,691 probes,
   *   ~50,000 buffers, 0.6-1.0 s a page).
   * Other filters are checked on the rows the walk reads. An open status also says `NOT resolved`, which lets the
   * planner use follow_ups_open_ix (open follow-ups only) where walking the org's newest would pass many ended ones.
   */
  async list(actor: Actor, f: FollowUpFilter): Promise<{ followUps: FollowUpView[]; nextCursor: string | null }> {
    const where = [`f.org_id = $1`, `f.kind = 'follow_up'`];
    const values: unknown[] = [actor.orgId];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      where.push(sql.replaceAll('?', `$${values.length}`));
    };
    if (actor.role === 'agent') add('f.contact_agent_id = ?', actor.userId);
    if (f.agentId) add('coalesce(f.agent_id, f.contact_agent_id) = ?', f.agentId);
    if (f.contactId) add('f.contact_id = ?', f.contactId);
    if (f.status) {
      add('f.status = ?', f.status);
      if ((OPEN_FOLLOW_UP_STATUSES as readonly string[]).includes(f.status)) where.push('NOT f.resolved');
    }
    if (f.type) add('f.type = ?', f.type);
    if (f.from) add('f.scheduled_at >= ?', f.from);
    if (f.to) add('f.scheduled_at < ?', f.to);
    if (f.cursor) {
      const [at, id] = decodeCursor(f.cursor);
      values.push(at, id);
      where.push(`(f.created_at, f.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(f.limit + 1);
    const { rows } = await this.db.query<FollowUpView>(
      `SELECT ${COLUMNS} FROM ${from()} WHERE ${where.join(' AND ')} ORDER BY f.created_at DESC, f.id DESC LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, f.limit);
    const last = page[page.length - 1];
    return { followUps: page.map(shape), nextCursor: rows.length > f.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }
}

import { Injectable } from '@nestjs/common';
import { Actor, Database, NotFoundError, ValidationError } from '@app/shared';
import { ORG_TIMEZONE, UserRepository } from '@app/tenancy';

export interface ContactView {
  id: string;
  name: string;
  phone: string;
  /** Its own, else the organization's as it is now. */
  timezone: string;
  /** true: it has none of its own and takes the organization's (created without one, or PATCH timezone null). */
  timezoneFromOrg: boolean;
  leadQuality: string;
  leadStatus: string;
  assignedAgentId: string | null;
  tags: string[];
  campaignId: string | null;
  status: string;
  nextFollowUpAt: string | null;
  lastCallAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ContactFilter {
  assignedAgentId?: string;
  status?: string;
  leadStatus?: string;
  leadQuality?: string;
  campaignId?: string;
  tag?: string;
  q?: string;
  cursor?: string;
  limit: number;
}

/** As stored: timezone null when the contact has none of its own (migration 0030). */
type ContactRow = Omit<ContactView, 'timezone'> & { timezone: string | null };


const COLUMNS = (timezone: string) => `id, name, phone, ${timezone} AS timezone, timezone IS NULL AS "timezoneFromOrg", lead_quality AS "leadQuality", lead_status AS "leadStatus", assigned_agent_id AS "assignedAgentId",
  tags, campaign_id AS "campaignId", status, next_follow_up_at AS "nextFollowUpAt", last_call_at AS "lastCallAt",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Opaque keyset cursor over (created_at, id). */
export const encodeCursor = (createdAt: Date | string, id: string) =>
  Buffer.from(JSON.stringify([new Date(createdAt).toISOString(), id])).toString('base64url');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A cursor this API made, or a 400: a forged one must not reach SQL casts (a 500). `idIsUuid` false for callIds. */
export function decodeCursor(cursor: string, idIsUuid = true): [string, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof at !== 'string' || typeof id !== 'string' || id.length > 500) throw new Error();
    // Exactly as encodeCursor writes it: Date.parse also takes "March 7" or "2020-01-01 junk", which Postgres refuses.
    const time = Date.parse(at);
    if (Number.isNaN(time) || time < Date.UTC(1970, 0, 1) || time > Date.UTC(9999, 0, 1) || new Date(time).toISOString() !== at) throw new Error();
    if (idIsUuid && !UUID.test(id)) throw new Error();
    return [at, id];
  } catch {
    throw new ValidationError('cursor', 'is not a cursor this API returned');
  }
}

export interface CampaignView {
  id: string;
  name: string;
  callingWindow: unknown;
  agentPool: string[];
  createdAt: Date;
}

const CAMPAIGN_COLUMNS = `id, name, calling_window AS "callingWindow", agent_pool AS "agentPool", created_at AS "createdAt"`;

function decodeCampaignCursor(cursor: string): [string, string] {
  try {
    const [name, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof name !== 'string' || name.length > 1000 || typeof id !== 'string' || !UUID.test(id)) throw new Error();
    return [name, id];
  } catch {
    throw new ValidationError('cursor', 'is not a cursor this API returned');
  }
}

/** Reads of the contact read model. Scoped by org; an agent sees only the contacts assigned to them. */
@Injectable()
export class ContactsRepository {
  constructor(
    private readonly db: Database,
    private readonly users: UserRepository,
  ) {}

  /**
   * The answer to a write the caller has just made to the contact: org-scoped, without the agent's assignment check,
   * which the write passed on the state it was decided on (ContactWriter). A supervisor handing the contact on between
   * the write and this read must not turn the write's success into a 404 (test/concurrency: the change was kept).
   */
  async written(actor: Actor, id: string): Promise<ContactView> {
    const contact = await this.find(actor, id, false);
    if (!contact) throw new NotFoundError('contact', id);
    return contact;
  }

  /** The contact, if it is of the actor's org and (`assignedOnly`) visible to them: an agent sees their own. */
  async find(actor: Actor, id: string, assignedOnly = true): Promise<ContactView | null> {
    // One row: the org's timezone by a scalar subquery, which coalesce runs only when the contact has none of its own.
    const { rows } = await this.db.query<ContactView>(
      `SELECT ${COLUMNS(`coalesce(timezone, ${ORG_TIMEZONE('contacts.org_id')})`)} FROM contacts WHERE org_id = $1 AND id = $2`,
      [actor.orgId, id],
    );
    const contact = rows[0];
    if (!contact || (assignedOnly && !ContactsRepository.visible(actor, contact))) return null;
    return contact;
  }

  /** The contact or a 404 that does not tell "exists elsewhere" from "does not exist". */
  async get(actor: Actor, id: string): Promise<ContactView> {
    const contact = await this.find(actor, id);
    if (!contact) throw new NotFoundError('contact', id);
    return contact;
  }

  static visible(actor: Actor, contact: { assignedAgentId: string | null }): boolean {
    return actor.role !== 'agent' || contact.assignedAgentId === actor.userId;
  }

  async list(actor: Actor, f: ContactFilter): Promise<{ contacts: ContactView[]; nextCursor: string | null }> {
    const where = ['org_id = $1'];
    const values: unknown[] = [actor.orgId];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      where.push(sql.replaceAll('?', `$${values.length}`));
    };
    // an agent sees their own contacts: asking for another agent's finds none (it answered the caller's own)
    if (actor.role === 'agent') add('assigned_agent_id = ?', actor.userId);
    if (f.assignedAgentId) add('assigned_agent_id = ?', f.assignedAgentId);
    if (f.status) add('status = ?', f.status);
    if (f.leadStatus) add('lead_status = ?', f.leadStatus);
    if (f.leadQuality) add('lead_quality = ?', f.leadQuality);
    if (f.campaignId) add('campaign_id = ?', f.campaignId);
    if (f.tag) add('tags @> ARRAY[?]::text[]', f.tag);
    if (f.q) add(`(name ILIKE ? OR phone LIKE ?)`, `%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (f.cursor) {
      const [at, id] = decodeCursor(f.cursor);
      values.push(at, id);
      where.push(`(created_at, id) > ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(f.limit + 1);
    // A search of three characters or more finds its matches first (the trigram indexes; MATERIALIZED keeps the page's
    // order and limit out of that choice) and sorts those. Planned as one query, the planner may walk the org's contacts
    // in page order expecting a match every few rows, on an estimate of the pattern's frequency taken from a sample:
    // for a rare name that walk reads the whole org (0.5 s at 500,000 contacts), and which plan it took changed from one
    // ANALYZE to the next (test/list-plans). A common word now costs a sort of its matches; shorter patterns, which a
    // trigram cannot narrow, keep the walk. The matches are kept as (id, created_at) only, so a common word sorts narrow
    // rows, and the page's rows are read back by primary key.
    const text =
      f.q && f.q.length >= 3
        ? `WITH m AS MATERIALIZED (SELECT id, created_at FROM contacts WHERE ${where.join(' AND ')})
           SELECT ${COLUMNS('timezone')} FROM contacts
            WHERE id IN (SELECT id FROM m ORDER BY created_at, id LIMIT $${values.length})
            ORDER BY created_at, id`
        : `SELECT ${COLUMNS('timezone')} FROM contacts WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT $${values.length}`;
    const { rows } = await this.db.query<ContactRow>(text, values);
    const page = await this.withOrgTimezone(actor.orgId, rows.slice(0, f.limit));
    const last = page[page.length - 1];
    return { contacts: page, nextCursor: rows.length > f.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /**
   * A page's contacts without a timezone of their own take the organization's as it is now (SPEC §2), looked up once,
   * and only when one of them needs it. Not the scalar subquery of `find`: in a list the planner charges it to every
   * row it might fetch, which turned a rare search from the trigram indexes to a walk of the org's contacts (list-plans).
   */
  private async withOrgTimezone(orgId: string, rows: ContactRow[]): Promise<ContactView[]> {
    if (rows.every((r) => r.timezone !== null)) return rows as ContactView[];
    const orgTimezone = (await this.users.orgTimezone(orgId)) ?? 'UTC';
    return rows.map((r) => (r.timezone === null ? { ...r, timezone: orgTimezone } : (r as ContactView)));
  }

  async campaignExists(orgId: string, campaignId: string): Promise<boolean> {
    const { rowCount } = await this.db.query('SELECT 1 FROM campaigns WHERE org_id = $1 AND id = $2', [orgId, campaignId]);
    return !!rowCount;
  }

  /**
   * The org's campaigns by name, a page at a time (keyset on name, id): an org with thousands of campaigns, each with an
   * agent pool of up to 1,000 ids, would otherwise be one answer of many megabytes, serialised while the process's
   * other requests wait.
   */
  async listCampaigns(orgId: string, page: { cursor?: string; limit: number }): Promise<{ campaigns: CampaignView[]; nextCursor: string | null }> {
    const after = page.cursor === undefined ? null : decodeCampaignCursor(page.cursor);
    const { rows } = await this.db.query<CampaignView>(
      `SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE org_id = $1 AND ($2::text IS NULL OR (name, id) > ($2::text, $3::uuid)) ORDER BY name, id LIMIT $4`,
      [orgId, after?.[0] ?? null, after?.[1] ?? null, page.limit + 1],
    );
    const campaigns = rows.slice(0, page.limit);
    const last = campaigns[campaigns.length - 1];
    return { campaigns, nextCursor: rows.length > page.limit && last ? Buffer.from(JSON.stringify([last.name, last.id])).toString('base64url') : null };
  }

  async campaign(orgId: string, id: string): Promise<CampaignView> {
    const { rows } = await this.db.query<CampaignView>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE org_id = $1 AND id = $2`, [orgId, id]);
    if (!rows[0]) throw new NotFoundError('campaign', id);
    return rows[0];
  }

  /** Ids among `userIds` that are active users of the org who can own contacts and make calls. */
  async activeStaff(orgId: string, userIds: readonly string[]): Promise<Set<string>> {
    return (await this.activeStaffOfOrgs(new Map([[orgId, userIds]]))).get(orgId) ?? new Set();
  }

  /** The same for several orgs in one query: by org, its ids among those asked that are active staff of it. */
  async activeStaffOfOrgs(asked: ReadonlyMap<string, readonly string[]>): Promise<Map<string, Set<string>>> {
    const found = new Map<string, Set<string>>([...asked.keys()].map((orgId) => [orgId, new Set<string>()]));
    const ids = [...new Set([...asked.values()].flat())];
    if (ids.length === 0) return found;
    const { rows } = await this.db.query<{ org_id: string; id: string }>(
      `SELECT org_id, id FROM users WHERE id = ANY ($1::uuid[]) AND org_id = ANY ($2::uuid[]) AND active AND role <> 'integration'`,
      [ids, [...asked.keys()]],
    );
    for (const r of rows) if (asked.get(r.org_id)?.includes(r.id)) found.get(r.org_id)!.add(r.id);
    return found;
  }
}

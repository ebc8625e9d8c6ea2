import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Actor, Database, Role, TrustCache } from '@app/shared';

export interface UserView {
  id: string;
  name: string;
  email: string | null;
  role: Role;
  branch: string | null;
  department: string | null;
  /** Their own, else the organization's as it is now. */
  timezone: string;
  /** true: they have none of their own and take the organization's (PATCH timezone null). */
  timezoneFromOrg: boolean;
  active: boolean;
  createdAt: string;
}

/** One of a user's API keys as an admin sees it: never the key or its hash. */
export interface ApiKeyView {
  id: string;
  userId: string;
  name: string | null;
  /** The key's first characters (`fk_` and 7 more), to tell which key a client is configured with. */
  prefix: string;
  createdAt: string;
  /** null: the key works (while its user is active). */
  revokedAt: string | null;
}

/** The organization's timezone: the settings' once an admin has set it (SPEC §7), before that the one it was created with. */
export const ORG_TIMEZONE = (orgId: string) =>
  `(SELECT coalesce(s.settings->>'timezone', o.timezone) FROM organizations o LEFT JOIN org_settings s ON s.org_id = o.id WHERE o.id = ${orgId})`;

const COLUMNS = `id, name, email, role, branch, department, coalesce(timezone, ${ORG_TIMEZONE('users.org_id')}) AS timezone,
  timezone IS NULL AS "timezoneFromOrg", active, created_at AS "createdAt"`;

/** Keys remembered per process at most; the oldest is dropped first. Only valid keys are remembered. */
const MAX_CACHED_KEYS = 10_000;

/** Reads of the tenancy read model. Every query is scoped by organization. */
@Injectable()
export class UserRepository {
  /**
   * Actors of valid API keys looked up in the last AUTH_CACHE_MS, by key hash: every request authenticates,
   * and a dialler pushing calls one by one would otherwise spend a query per call on its key. Revoking a key
   * or changing a user forgets them all in the process that did it (forgetActors), and on every other process
   * within AUTH_CACHE_MS. Unknown keys are never remembered, so guessing fills nothing; a lookup that was running
   * when they were forgotten is not remembered either (TrustCache).
   */
  private readonly actors = new TrustCache<Actor>(MAX_CACHED_KEYS);
  private readonly authCacheMs: number;

  constructor(
    private readonly db: Database,
    config: ConfigService,
  ) {
    this.authCacheMs = Number(config.get('AUTH_CACHE_MS') ?? 1000);
  }

  /** The actor of a valid, unrevoked key of an active user, or null. */
  async actorForKey(hashHex: string): Promise<Actor | null> {
    const now = Date.now();
    const hit = this.actors.get(hashHex, now);
    if (hit) return hit;
    const mark = this.actors.mark();
    const actor = await this.actorForKeyHash(hashHex);
    if (actor && this.authCacheMs > 0) this.actors.set(hashHex, actor, mark, now + this.authCacheMs);
    return actor;
  }

  private readonly forgetters: (() => void)[] = [];

  /** After a key is revoked or a user changed: this process asks the database again on the next request. */
  forgetActors(): void {
    this.actors.forget();
    for (const forget of this.forgetters) forget();
  }

  /** Another cache of users' standing (the call ingest's known agents) is dropped with the actors. */
  onForget(forget: () => void): void {
    this.forgetters.push(forget);
  }

  /** How long a process may trust what it read of a user (AUTH_CACHE_MS). */
  get trustMs(): number {
    return this.authCacheMs;
  }

  async actorForKeyHash(hashHex: string): Promise<Actor | null> {
    const { rows } = await this.db.query<{ org_id: string; user_id: string; role: Role; timezone: string }>(
      {
        name: 'actor-for-key',
        text: `SELECT u.org_id, u.id AS user_id, u.role, coalesce(u.timezone, ${ORG_TIMEZONE('u.org_id')}) AS timezone
                 FROM api_keys k JOIN users u ON u.id = k.user_id
                WHERE k.key_hash = decode($1, 'hex') AND k.revoked_at IS NULL AND u.active`,
      },
      [hashHex],
    );
    const r = rows[0];
    return r ? { orgId: r.org_id, userId: r.user_id, role: r.role, timezone: r.timezone } : null;
  }

  async find(orgId: string, userId: string): Promise<UserView | null> {
    const { rows } = await this.db.query<UserView>(`SELECT ${COLUMNS} FROM users WHERE org_id = $1 AND id = $2`, [orgId, userId]);
    return rows[0] ?? null;
  }

  async listAgents(orgId: string, filter: { active?: boolean }): Promise<UserView[]> {
    const { rows } = await this.db.query<UserView>(
      `SELECT ${COLUMNS} FROM users WHERE org_id = $1 AND role = 'agent' AND ($2::boolean IS NULL OR active = $2) ORDER BY name, id`,
      [orgId, filter.active ?? null],
    );
    return rows;
  }

  async orgTimezone(orgId: string): Promise<string | null> {
    const { rows } = await this.db.query<{ timezone: string | null }>(`SELECT ${ORG_TIMEZONE('$1')} AS timezone`, [orgId]);
    return rows[0]?.timezone ?? null;
  }

  /** The user's keys, oldest first, revoked ones included (null: no such user in the organization). */
  async listApiKeys(orgId: string, userId: string): Promise<ApiKeyView[] | null> {
    const { rows } = await this.db.query<ApiKeyView>(
      // the user's row answers "no keys" apart from "no such user" in one query
      `SELECT k.id, u.id AS "userId", k.name, k.prefix, k.created_at AS "createdAt", k.revoked_at AS "revokedAt"
         FROM users u LEFT JOIN api_keys k ON k.user_id = u.id
        WHERE u.org_id = $1 AND u.id = $2
        ORDER BY k.created_at, k.id`,
      [orgId, userId],
    );
    if (rows.length === 0) return null;
    return rows.filter((r) => r.id !== null);
  }

  async findApiKey(orgId: string, keyId: string): Promise<ApiKeyView | null> {
    const { rows } = await this.db.query<ApiKeyView>(
      `SELECT id, user_id AS "userId", name, prefix, created_at AS "createdAt", revoked_at AS "revokedAt" FROM api_keys WHERE org_id = $1 AND id = $2`,
      [orgId, keyId],
    );
    return rows[0] ?? null;
  }

  async keyOwner(orgId: string, keyId: string): Promise<string | null> {
    const { rows } = await this.db.query<{ user_id: string }>('SELECT user_id FROM api_keys WHERE org_id = $1 AND id = $2', [orgId, keyId]);
    return rows[0]?.user_id ?? null;
  }
}

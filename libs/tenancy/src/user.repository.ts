import { Injectable, Logger } from '@nestjs/common';
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
  /**
   * When it last authenticated a request, up to a minute behind (each process records a key's use at most once per
   * KEY_USE_RESOLUTION_MS); null: not used since migration 0032 recorded uses.
   */
  lastUsedAt: string | null;
}

/** The organization's timezone: the settings' once an admin has set it (SPEC §7), before that the one it was created with. */
export const ORG_TIMEZONE = (orgId: string) =>
  `(SELECT coalesce(s.settings->>'timezone', o.timezone) FROM organizations o LEFT JOIN org_settings s ON s.org_id = o.id WHERE o.id = ${orgId})`;

const COLUMNS = `id, name, email, role, branch, department, coalesce(timezone, ${ORG_TIMEZONE('users.org_id')}) AS timezone,
  timezone IS NULL AS "timezoneFromOrg", active, created_at AS "createdAt"`;

/** Keys remembered per process at most; the oldest is dropped first. Only valid keys are remembered. */
const MAX_CACHED_KEYS = 10_000;

/** A process records a key's use at most this often: a dialler pushing calls one by one costs one write a minute. */
export const KEY_USE_RESOLUTION_MS = 60_000;

const KEY_COLUMNS = `k.id, k.user_id AS "userId", k.name, k.prefix, k.created_at AS "createdAt", k.revoked_at AS "revokedAt",
  u.last_used_at AS "lastUsedAt"`;

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
  private readonly actors = new TrustCache<{ actor: Actor; keyId: string }>(MAX_CACHED_KEYS);
  private readonly authCacheMs: number;
  /** When this process last recorded each key's use (api_key_usage). */
  private readonly usesRecorded = new Map<string, number>();
  private readonly logger = new Logger(UserRepository.name);

  constructor(
    private readonly db: Database,
    config: ConfigService,
  ) {
    this.authCacheMs = Number(config.get('AUTH_CACHE_MS') ?? 1000);
  }

  /** The actor of a valid, unrevoked key of an active user, or null. */
  async actorForKey(hashHex: string): Promise<Actor | null> {
    const now = Date.now();
    let found = this.actors.get(hashHex, now);
    if (!found) {
      const mark = this.actors.mark();
      found = (await this.keyHolder(hashHex)) ?? undefined;
      if (found && this.authCacheMs > 0) this.actors.set(hashHex, found, mark, now + this.authCacheMs);
    }
    if (!found) return null;
    this.recordUse(found.keyId, now);
    return found.actor;
  }

  /**
   * api_key_usage.last_used_at, at most once per KEY_USE_RESOLUTION_MS a key in this process, without holding up the
   * request: a write that fails (the database away for a moment) is logged, and the next minute's use writes again.
   */
  private recordUse(keyId: string, now: number): void {
    if (now - (this.usesRecorded.get(keyId) ?? Number.NEGATIVE_INFINITY) < KEY_USE_RESOLUTION_MS) return;
    if (this.usesRecorded.size >= MAX_CACHED_KEYS) this.usesRecorded.clear();
    this.usesRecorded.set(keyId, now);
    this.db
      .query(
        {
          name: 'record-key-use',
          text: `INSERT INTO api_key_usage (key_id, last_used_at) VALUES ($1, $2) ON CONFLICT (key_id)
                 DO UPDATE SET last_used_at = greatest(api_key_usage.last_used_at, excluded.last_used_at)`,
        },
        [keyId, new Date(now)],
      )
      .catch((err: Error) => this.logger.warn({ keyId, err: err.message }, "an API key's use was not recorded"));
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

  /** The actor of a valid key, read from the database every time (no cache, no use recorded). */
  async actorForKeyHash(hashHex: string): Promise<Actor | null> {
    return (await this.keyHolder(hashHex))?.actor ?? null;
  }

  private async keyHolder(hashHex: string): Promise<{ actor: Actor; keyId: string } | null> {
    const { rows } = await this.db.query<{ org_id: string; user_id: string; role: Role; timezone: string; key_id: string }>(
      {
        name: 'actor-for-key',
        text: `SELECT u.org_id, u.id AS user_id, u.role, coalesce(u.timezone, ${ORG_TIMEZONE('u.org_id')}) AS timezone, k.id AS key_id
                 FROM api_keys k JOIN users u ON u.id = k.user_id
                WHERE k.key_hash = decode($1, 'hex') AND k.revoked_at IS NULL AND u.active`,
      },
      [hashHex],
    );
    const r = rows[0];
    return r ? { actor: { orgId: r.org_id, userId: r.user_id, role: r.role, timezone: r.timezone }, keyId: r.key_id } : null;
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
      `SELECT ${KEY_COLUMNS}
         FROM users o LEFT JOIN api_keys k ON k.user_id = o.id LEFT JOIN api_key_usage u ON u.key_id = k.id
        WHERE o.org_id = $1 AND o.id = $2
        ORDER BY k.created_at, k.id`,
      [orgId, userId],
    );
    if (rows.length === 0) return null;
    return rows.filter((r) => r.id !== null);
  }

  async findApiKey(orgId: string, keyId: string): Promise<ApiKeyView | null> {
    const { rows } = await this.db.query<ApiKeyView>(
      `SELECT ${KEY_COLUMNS} FROM api_keys k LEFT JOIN api_key_usage u ON u.key_id = k.id WHERE k.org_id = $1 AND k.id = $2`,
      [orgId, keyId],
    );
    return rows[0] ?? null;
  }

  async keyOwner(orgId: string, keyId: string): Promise<string | null> {
    const { rows } = await this.db.query<{ user_id: string }>('SELECT user_id FROM api_keys WHERE org_id = $1 AND id = $2', [orgId, keyId]);
    return rows[0]?.user_id ?? null;
  }
}

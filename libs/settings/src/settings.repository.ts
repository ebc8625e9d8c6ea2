import { Injectable } from '@nestjs/common';
import { Actor, Database, NotFoundError } from '@app/shared';
import { DEFAULT_SETTINGS, OrgSettings, OrgSettingsWithSecret, withDefaults, withoutSecret } from './domain/settings';
import { SettingsWriter } from './settings-writer';
import { SecretBox } from './secret-box';
import { SETTINGS_CACHE } from './settings.cache';

/** Reads of the org_settings read model, scoped by organization. */
@Injectable()
export class SettingsRepository {
  constructor(
    private readonly db: Database,
    private readonly writer: SettingsWriter,
    private readonly secrets: SecretBox,
  ) {}

  /**
   * The organization's settings without their secrets (ensure has them); before any are stored, the defaults with the
   * org's timezone. Never writes: safe for any reader (workers deciding windows, delays, expiry), and opens no sealed
   * secret, so a key missing from SECRET_KEYS stops only what signs.
   */
  async get(orgId: string): Promise<OrgSettings> {
    const stored = await this.stored(orgId);
    if (stored) return withoutSecret(stored);
    const { rows } = await this.db.query<{ timezone: string }>('SELECT timezone FROM organizations WHERE id = $1', [orgId]);
    if (!rows[0]) throw new NotFoundError('organization', orgId);
    return { ...DEFAULT_SETTINGS, timezone: rows[0].timezone };
  }

  /**
   * The organization's settings with their signing secret, to sign with, created now if it has none yet. Throws when
   * the secret is sealed with a key SECRET_KEYS does not list (SecretBox.openSettings).
   */
  async ensure(actorOrOrgId: Actor | string): Promise<OrgSettingsWithSecret> {
    const orgId = typeof actorOrOrgId === 'string' ? actorOrOrgId : actorOrOrgId.orgId;
    return this.secrets.openSettings(orgId, await this.ensureStored(actorOrOrgId));
  }

  /** The same, to be shown (GET /api/settings): a secret that does not open is a notice, not an error. */
  async ensureToShow(actor: Actor): Promise<OrgSettingsWithSecret> {
    return this.secrets.openSettings(actor.orgId, await this.ensureStored(actor), 'show');
  }

  private async ensureStored(actorOrOrgId: Actor | string): Promise<OrgSettingsWithSecret> {
    const [orgId, actorId] = typeof actorOrOrgId === 'string' ? [actorOrOrgId, null] : [actorOrOrgId.orgId, actorOrOrgId.userId];
    return (await this.stored(orgId)) ?? this.writer.ensure(orgId, actorId);
  }

  /**
   * The same, from a per-process cache at most `maxAgeMs` old: for workers, which read the settings for every
   * job. A change made elsewhere reaches them within that time.
   */
  async getCached(orgId: string, maxAgeMs = 1000): Promise<OrgSettings> {
    return this.cached(`get|${orgId}`, maxAgeMs, () => this.get(orgId)) as Promise<OrgSettings>;
  }

  async ensureCached(orgId: string, maxAgeMs = 1000): Promise<OrgSettingsWithSecret> {
    return this.cached(`ensure|${orgId}`, maxAgeMs, () => this.ensure(orgId)) as Promise<OrgSettingsWithSecret>;
  }

  private cached(key: string, maxAgeMs: number, load: () => Promise<unknown>): Promise<unknown> {
    const hit = SETTINGS_CACHE.get(key);
    if (hit && Date.now() - hit.at < maxAgeMs) return hit.value;
    const value = load();
    SETTINGS_CACHE.set(key, { at: Date.now(), value });
    value.catch(() => SETTINGS_CACHE.delete(key));
    if (SETTINGS_CACHE.size > 10_000) SETTINGS_CACHE.clear();
    return value;
  }

  private async stored(orgId: string): Promise<OrgSettingsWithSecret | null> {
    const { rows } = await this.db.query<{ settings: OrgSettingsWithSecret }>(
      { name: 'org-settings', text: 'SELECT settings FROM org_settings WHERE org_id = $1' },
      [orgId],
    );
    return rows[0] ? (withDefaults(rows[0].settings) as OrgSettingsWithSecret) : null;
  }
}

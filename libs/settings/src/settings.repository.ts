import { Injectable } from '@nestjs/common';
import { Actor, Database, NotFoundError } from '@app/shared';
import { DEFAULT_SETTINGS, OrgSettings, OrgSettingsWithSecret, withDefaults } from './domain/settings';
import { SettingsWriter } from './settings-writer';

/** Reads of the org_settings read model, scoped by organization. */
@Injectable()
export class SettingsRepository {
  constructor(
    private readonly db: Database,
    private readonly writer: SettingsWriter,
  ) {}

  /**
   * The organization's settings; before any are stored, the defaults with the org's timezone and no secret.
   * Never writes: safe for any reader (workers deciding windows, delays, expiry).
   */
  async get(orgId: string): Promise<OrgSettings> {
    const stored = await this.stored(orgId);
    if (stored) return stored;
    const { rows } = await this.db.query<{ timezone: string }>('SELECT timezone FROM organizations WHERE id = $1', [orgId]);
    if (!rows[0]) throw new NotFoundError('organization', orgId);
    return { ...DEFAULT_SETTINGS, timezone: rows[0].timezone };
  }

  /** The organization's settings with their signing secret, created now if it has none yet. */
  async ensure(actorOrOrgId: Actor | string): Promise<OrgSettingsWithSecret> {
    const [orgId, actorId] = typeof actorOrOrgId === 'string' ? [actorOrOrgId, null] : [actorOrOrgId.orgId, actorOrOrgId.userId];
    return (await this.stored(orgId)) ?? this.writer.ensure(orgId, actorId);
  }

  private async stored(orgId: string): Promise<OrgSettingsWithSecret | null> {
    const { rows } = await this.db.query<{ settings: OrgSettingsWithSecret }>(
      { name: 'org-settings', text: 'SELECT settings FROM org_settings WHERE org_id = $1' },
      [orgId],
    );
    return rows[0] ? (withDefaults(rows[0].settings) as OrgSettingsWithSecret) : null;
  }
}

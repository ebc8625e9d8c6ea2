import { forgetCachedSettings } from './settings.cache';
import { Injectable } from '@nestjs/common';
import { Actor, Clock, Database, NotFoundError } from '@app/shared';
import { ConcurrencyError, decideAndAppend, EventStore, foldStream, NO_STREAM } from '@app/event-store';
import { OrgSettingsWithSecret } from './domain/settings';
import { settingsDecider, SettingsCommand, SettingsState } from './domain/settings.decider';
import { SettingsEvent, settingsStream } from './domain/settings.events';
import { generateSigningSecret } from './domain/signing-secret';
import { SecretBox } from './secret-box';

/**
 * Writes to an organization's settings stream. Settings are created lazily (the org's first read or write):
 * `ensure` appends SettingsInitialized expecting no stream, and whoever loses that race reads the winner's.
 */
@Injectable()
export class SettingsWriter {
  constructor(
    private readonly store: EventStore,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly secrets: SecretBox,
  ) {}

  /** The settings as stored, their secrets as stored (sealed or not): SettingsRepository opens them for who needs them. */
  async ensure(orgId: string, actorId: string | null = null): Promise<OrgSettingsWithSecret> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.readStream(orgId, settingsStream(orgId));
      const state = foldStream(settingsDecider, stored);
      if (state.settings) return state.settings;
      const timezone = await this.orgTimezone(orgId);
      const events = this.secrets.sealEvents(orgId, settingsDecider.decide({ type: 'InitializeSettings', timezone, signingSecret: generateSigningSecret() }, state));
      try {
        await this.store.append(settingsStream(orgId), events, { expectedVersion: NO_STREAM, metadata: this.metadata(orgId, actorId) });
        forgetCachedSettings(orgId);
        return events.reduce(settingsDecider.evolve, state).settings!;
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || attempt >= 3) throw err;
      }
    }
  }

  /**
   * Ensures the settings exist, then load → decide → append (retried on a concurrent write). Returns the new state,
   * its secrets opened to be shown to the admin who wrote (SecretBox.openSettings 'show'). The decider folds and
   * decides over the secrets as stored (sealed or not: it only carries them over or compares them), so a change or a
   * rotation never needs them opened; they are sealed on the way to the store.
   */
  async write(actor: Actor, command: SettingsCommand): Promise<{ state: SettingsState; events: readonly SettingsEvent[] }> {
    await this.ensure(actor.orgId, actor.userId);
    const { state, events } = await decideAndAppend(this.store, {
      streamId: settingsStream(actor.orgId),
      metadata: this.metadata(actor.orgId, actor.userId),
      decider: settingsDecider,
      decide: (s: SettingsState) => this.secrets.sealEvents(actor.orgId, settingsDecider.decide(command, s)),
    });
    const applied = events as SettingsEvent[];
    forgetCachedSettings(actor.orgId); // after the commit: workers of this process see the change at once
    const after = applied.reduce(settingsDecider.evolve, state);
    return { state: { ...after, settings: this.secrets.openSettings(actor.orgId, after.settings, 'show') }, events: applied };
  }

  private metadata(orgId: string, actorId: string | null) {
    return { orgId, actorId, occurredAt: this.clock.now().toISOString() };
  }

  private async orgTimezone(orgId: string): Promise<string> {
    const { rows } = await this.db.query<{ timezone: string }>('SELECT timezone FROM organizations WHERE id = $1', [orgId]);
    if (!rows[0]) throw new NotFoundError('organization', orgId);
    return rows[0].timezone;
  }
}

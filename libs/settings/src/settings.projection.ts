import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { AsProjection, Projection, StoredEvent } from '@app/event-store';
import {
  SettingsChanged,
  SettingsChangedData,
  SettingsInitialized,
  SettingsInitializedData,
  SigningSecretRotated,
  SigningSecretRotatedData,
} from './domain/settings.events';

/**
 * One row per organization. Inline: a PATCH is answered from this table, and the next read (or the next webhook
 * signed) must see it. Each write applies only over an older version, so replaying an event changes nothing.
 */
@Injectable()
@AsProjection()
export class SettingsProjection implements Projection {
  readonly name = 'settings';
  readonly mode = 'inline';
  readonly eventTypes = [SettingsInitialized, SettingsChanged, SigningSecretRotated];
  readonly tables = ['org_settings'];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    for (const e of events) {
      const at = e.metadata.occurredAt;
      switch (e.type) {
        case SettingsInitialized: {
          const d = e.data as SettingsInitializedData;
          await tx.query(
            `INSERT INTO org_settings (org_id, settings, version, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, version = excluded.version, updated_at = excluded.updated_at
             WHERE org_settings.version < excluded.version`,
            [e.orgId, JSON.stringify(d.settings), e.streamVersion, at],
          );
          break;
        }
        case SettingsChanged: {
          // The event leaves the secrets out: keep the stored ones (the previous one only if there is one).
          const d = e.data as SettingsChangedData;
          await tx.query(
            `UPDATE org_settings
                SET settings = $2::jsonb || jsonb_strip_nulls(jsonb_build_object('signingSecret', settings->'signingSecret', 'previousSigningSecret', settings->'previousSigningSecret')),
                    version = $3, updated_at = $4
              WHERE org_id = $1 AND version < $3`,
            [e.orgId, JSON.stringify(d.settings), e.streamVersion, at],
          );
          break;
        }
        case SigningSecretRotated: {
          // Whatever previous secret there was gives way to this event's, or to none (no overlap, or an older event).
          const d = e.data as SigningSecretRotatedData;
          await tx.query(
            `UPDATE org_settings
                SET settings = (settings - 'previousSigningSecret') || jsonb_strip_nulls(jsonb_build_object('signingSecret', $2::text, 'previousSigningSecret', $5::jsonb)),
                    version = $3, updated_at = $4
              WHERE org_id = $1 AND version < $3`,
            [e.orgId, d.signingSecret, e.streamVersion, at, d.previousSigningSecret ? JSON.stringify(d.previousSigningSecret) : null],
          );
          break;
        }
      }
    }
  }
}

import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { AsProjection, Projection, StoredEvent } from '@app/event-store';
import { CampaignCreated, CampaignCreatedData } from './domain';

@Injectable()
@AsProjection()
export class CampaignsProjection implements Projection {
  readonly name = 'campaigns';
  readonly mode = 'inline';
  readonly tables = ['campaigns'];
  readonly eventTypes = [CampaignCreated];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    for (const e of events) {
      const d = e.data as CampaignCreatedData;
      await tx.query(
        `INSERT INTO campaigns (id, org_id, name, calling_window, agent_pool, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [d.campaignId, e.orgId, d.name, d.callingWindow ? JSON.stringify(d.callingWindow) : null, d.agentPool, e.metadata.occurredAt],
      );
    }
  }
}

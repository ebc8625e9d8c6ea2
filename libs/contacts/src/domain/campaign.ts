import { ConflictError } from '@app/shared';
import { CallingWindow } from './calling-window';

export const CampaignCreated = 'CampaignCreated';

export interface CampaignCreatedData {
  readonly campaignId: string;
  readonly name: string;
  /** Narrows the org's calling window (SPEC §7); null: the org's. */
  readonly callingWindow: CallingWindow | null;
  readonly agentPool: readonly string[];
}

export const campaignStream = (id: string) => `campaign-${id}`;

export function decideCreateCampaign(exists: boolean, data: CampaignCreatedData) {
  if (exists) throw new ConflictError(`campaign ${data.campaignId} exists already`);
  return [{ type: CampaignCreated, data: { ...data, name: data.name.trim(), agentPool: [...new Set(data.agentPool)] } }];
}

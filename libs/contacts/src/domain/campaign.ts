import { ConflictError, ValidationError } from '@app/shared';
import { CallingWindow, minutesOfDay } from './calling-window';
import { validName } from './contact.invariants';

export const CampaignCreated = 'CampaignCreated';

export interface CampaignCreatedData {
  readonly campaignId: string;
  readonly name: string;
  /** Narrows the org's calling window (SPEC §7); null: the org's. */
  readonly callingWindow: CallingWindow | null;
  readonly agentPool: readonly string[];
}

export const campaignStream = (id: string) => `campaign-${id}`;

/** A campaign's own window: a start up to 23:59, an end up to 24:00 (the end of the day) and after the start. */
export function assertCampaignWindow(window: CallingWindow): void {
  if (minutesOfDay(window.end, 'callingWindow.end', 'end') <= minutesOfDay(window.start, 'callingWindow.start', 'start')) {
    throw new ValidationError('callingWindow.end', 'must be after callingWindow.start');
  }
}

/** A campaign's name, trimmed: blank is refused, as a contact's is (a campaign of spaces listed as nameless). */
export const campaignName = (name: string): string => validName(name);

export function decideCreateCampaign(exists: boolean, data: CampaignCreatedData) {
  if (exists) throw new ConflictError(`campaign ${data.campaignId} exists already`);
  return [{ type: CampaignCreated, data: { ...data, name: campaignName(data.name), agentPool: [...new Set(data.agentPool)] } }];
}

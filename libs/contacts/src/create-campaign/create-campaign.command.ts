import { Actor } from '@app/shared';
import { CallingWindow } from '../domain';

export class CreateCampaignCommand {
  constructor(
    readonly actor: Actor,
    readonly campaign: { name: string; callingWindow?: CallingWindow | null; agentPool?: string[] },
  ) {}
}

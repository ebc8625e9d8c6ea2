import { Actor } from '@app/shared';
import { LeadQuality } from '../domain';

export class CreateContactCommand {
  constructor(
    readonly actor: Actor,
    readonly contact: {
      name: string;
      phone: string;
      timezone?: string;
      leadQuality?: LeadQuality;
      assignedAgentId?: string | null;
      tags?: string[];
      campaignId?: string | null;
    },
  ) {}
}

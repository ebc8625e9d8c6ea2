import { Actor } from '@app/shared';
import { ContactStatus, LeadQuality, LeadStatus } from '../domain';

export class UpdateContactCommand {
  constructor(
    readonly actor: Actor,
    readonly contactId: string,
    readonly changes: {
      name?: string;
      phone?: string;
      timezone?: string;
      leadQuality?: LeadQuality;
      leadStatus?: LeadStatus;
      assignedAgentId?: string | null;
      tags?: string[];
      campaignId?: string | null;
      status?: ContactStatus;
    },
  ) {}
}

import { Actor } from '@app/shared';
import { ContactStatus, LeadQuality, LeadStatus } from '../domain';

export class UpdateContactCommand {
  constructor(
    readonly actor: Actor,
    readonly contactId: string,
    readonly changes: {
      name?: string;
      phone?: string;
      /** null: the organization's from now on */
      timezone?: string | null;
      leadQuality?: LeadQuality;
      leadStatus?: LeadStatus;
      assignedAgentId?: string | null;
      tags?: string[];
      campaignId?: string | null;
      status?: ContactStatus;
    },
  ) {}
}

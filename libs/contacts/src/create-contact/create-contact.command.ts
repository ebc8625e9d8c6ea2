import { Actor } from '@app/shared';
import { LeadQuality } from '../domain';

/** A contact as POST /api/contacts sends it. */
export interface ContactFields {
  name: string;
  phone: string;
  timezone?: string;
  leadQuality?: LeadQuality;
  assignedAgentId?: string | null;
  tags?: string[];
  campaignId?: string | null;
}

export class CreateContactCommand {
  constructor(
    readonly actor: Actor,
    readonly contact: ContactFields,
    /** The client's Idempotency-Key, if it sent one: a retry with it creates nothing new (the handler). */
    readonly idempotencyKey: string | null = null,
  ) {}
}

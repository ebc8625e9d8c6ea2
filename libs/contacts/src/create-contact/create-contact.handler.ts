import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { ForbiddenError, ValidationError } from '@app/shared';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter } from '../contact-writer';
import { CreateContactCommand } from './create-contact.command';

/** Agents may create contacts for themselves only; others may assign any active agent of the org. */
@CommandHandler(CreateContactCommand)
export class CreateContactHandler implements ICommandHandler<CreateContactCommand, { id: string }> {
  constructor(
    private readonly writer: ContactWriter,
    private readonly contacts: ContactsRepository,
  ) {}

  async execute({ actor, contact }: CreateContactCommand): Promise<{ id: string }> {
    let assignedAgentId = contact.assignedAgentId ?? null;
    if (actor.role === 'agent') {
      if (assignedAgentId && assignedAgentId !== actor.userId) throw new ForbiddenError('an agent can only create contacts assigned to themselves');
      assignedAgentId = actor.userId;
    }
    await checkReferences(this.contacts, actor.orgId, { assignedAgentId, campaignId: contact.campaignId ?? null });
    const id = randomUUID();
    await this.writer.write(actor, id, () => ({
      type: 'CreateContact',
      contactId: id,
      name: contact.name,
      phone: contact.phone,
      // none given: the org's, as it is at each moment, not a copy of today's (migration 0030)
      timezone: contact.timezone ?? null,
      leadQuality: contact.leadQuality,
      assignedAgentId,
      tags: contact.tags,
      campaignId: contact.campaignId ?? null,
    }));
    return { id };
  }
}

/** References a client sends must point at records of its own organization: 400 naming the field otherwise. */
export async function checkReferences(
  contacts: ContactsRepository,
  orgId: string,
  refs: { assignedAgentId?: string | null; campaignId?: string | null },
): Promise<void> {
  if (refs.assignedAgentId && !(await contacts.activeStaff(orgId, [refs.assignedAgentId])).has(refs.assignedAgentId)) {
    throw new ValidationError('assignedAgentId', `${refs.assignedAgentId} is not an active agent of this organization`);
  }
  if (refs.campaignId && !(await contacts.campaignExists(orgId, refs.campaignId))) {
    throw new ValidationError('campaignId', `${refs.campaignId} is not a campaign of this organization`);
  }
}

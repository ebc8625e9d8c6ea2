import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError, ValidationError } from '@app/shared';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter } from '../contact-writer';
import { uuidFromKey } from '../ids';
import { CreateContactCommand } from './create-contact.command';

/** Agents may create contacts for themselves only; others may assign any active agent of the org. */
@CommandHandler(CreateContactCommand)
export class CreateContactHandler implements ICommandHandler<CreateContactCommand, { id: string }> {
  constructor(
    private readonly writer: ContactWriter,
    private readonly contacts: ContactsRepository,
  ) {}

  async execute({ actor, contact, idempotencyKey }: CreateContactCommand): Promise<{ id: string }> {
    let assignedAgentId = contact.assignedAgentId ?? null;
    if (actor.role === 'agent') {
      if (assignedAgentId && assignedAgentId !== actor.userId) throw new ForbiddenError('an agent can only create contacts assigned to themselves');
      assignedAgentId = actor.userId;
    }
    await checkReferences(this.contacts, actor.orgId, { assignedAgentId, campaignId: contact.campaignId ?? null });
    // With an Idempotency-Key the id is derived from it, the org and the caller (keys are each client's own: two
    // integrations both keying by their CRM's record id, or another org, name other contacts):
    // an importer's retry whose first answer was lost finds the contact made and answers it. Without a key, every
    // request is a new contact.
    const id = idempotencyKey === null ? randomUUID() : uuidFromKey(`contact:api:${actor.orgId}:${actor.userId}:${idempotencyKey}`);
    let replay = false;
    try {
      await this.writer.write(actor, id, (state) => {
        replay = idempotencyKey !== null && state.exists;
        return {
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
        };
      });
    } catch (err) {
      // The decider refuses a second creation of a contact (a 409, for a random id that cannot collide). A keyed
      // request that met its contact existing is a retry, or a twin still being written when it began (the writer
      // serializes them, or its append conflicts and it reloads): nothing was appended, and the contact is the answer.
      // An agent never gets here with a contact that is not theirs: the writer answers 404 first, as a read would.
      if (!(replay && err instanceof ConflictError)) throw err;
    }
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

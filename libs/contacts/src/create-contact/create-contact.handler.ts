import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { FieldProblem, fieldProblem, ForbiddenError, ValidationError, withEveryProblem } from '@app/shared';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter, KeyedRequest } from '../contact-writer';
import { CreateContact, createContactProblems } from '../domain';
import { uuidFromKey } from '../ids';
import { ContactFields, CreateContactCommand } from './create-contact.command';

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
    // With an Idempotency-Key the id is derived from it, the org and the caller (keys are each client's own: two
    // integrations both keying by their CRM's record id, or another org, name other contacts):
    // an importer's retry whose first answer was lost finds the contact made and answers it, before the references
    // are checked again (they held then), if it sends the same fields (else 422). Without a key, every request is a
    // new contact. An agent retrying a contact handed on since gets 404 from the writer, as a read would.
    const id = idempotencyKey === null ? randomUUID() : uuidFromKey(`contact:api:${actor.orgId}:${actor.userId}:${idempotencyKey}`);
    const request: KeyedRequest | null =
      idempotencyKey === null
        ? null
        : {
            key: `contact:${id}`,
            // the fields as sent (assignedAgentId too, not as an agent's is filled in): the draft compares payloads
            fields: fingerprinted(contact),
            made: (state) => state.exists,
          };
    if (request && (await this.writer.replay(actor, id, request))) return { id };
    const command: CreateContact = {
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
    try {
      await checkReferences(this.contacts, actor.orgId, { assignedAgentId, campaignId: contact.campaignId ?? null });
    } catch (error) {
      throw withEveryProblem(error, () => createContactProblems(command)); // and the fields' own: one 400 names every bad field
    }
    // A twin still being written when this request began is found by the writer (it serializes them, or its append
    // conflicts and it reloads): nothing is appended, and the contact is the answer.
    await this.writer.write(actor, id, () => command, request ?? undefined);
    return { id };
  }
}

/** References a client sends must point at records of its own organization: a 400 naming each bad one otherwise. */
export async function checkReferences(
  contacts: ContactsRepository,
  orgId: string,
  refs: { assignedAgentId?: string | null; campaignId?: string | null },
): Promise<void> {
  const problems: FieldProblem[] = [];
  if (refs.assignedAgentId && !(await contacts.activeStaff(orgId, [refs.assignedAgentId])).has(refs.assignedAgentId)) {
    problems.push(fieldProblem('assignedAgentId', `${refs.assignedAgentId} is not an active agent of this organization`));
  }
  if (refs.campaignId && !(await contacts.campaignExists(orgId, refs.campaignId))) {
    problems.push(fieldProblem('campaignId', `${refs.campaignId} is not a campaign of this organization`));
  }
  if (problems.length) throw ValidationError.of(problems);
}

/** Each field the request sent, named: the type makes a field added to ContactFields be added here (and to the fingerprint). */
function fingerprinted(c: ContactFields): Record<keyof ContactFields, unknown> {
  return {
    name: c.name,
    phone: c.phone,
    timezone: c.timezone,
    leadQuality: c.leadQuality,
    assignedAgentId: c.assignedAgentId,
    tags: c.tags,
    campaignId: c.campaignId,
  };
}

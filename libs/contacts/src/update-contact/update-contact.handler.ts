import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock, ForbiddenError } from '@app/shared';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter } from '../contact-writer';
import { checkReferences } from '../create-contact/create-contact.handler';
import { UpdateContactCommand } from './update-contact.command';

/** Agents change only contacts assigned to them, and cannot hand them to someone else. */
@CommandHandler(UpdateContactCommand)
export class UpdateContactHandler implements ICommandHandler<UpdateContactCommand, void> {
  constructor(
    private readonly writer: ContactWriter,
    private readonly contacts: ContactsRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, contactId, changes }: UpdateContactCommand): Promise<void> {
    await this.contacts.get(actor, contactId);
    if (actor.role === 'agent' && changes.assignedAgentId !== undefined && changes.assignedAgentId !== actor.userId) {
      throw new ForbiddenError('an agent cannot reassign a contact');
    }
    await checkReferences(this.contacts, actor.orgId, { assignedAgentId: changes.assignedAgentId, campaignId: changes.campaignId });
    await this.writer.write(actor, contactId, () => ({ type: 'UpdateContact', contactId, ...changes, at: this.clock.now().toISOString() }));
  }
}

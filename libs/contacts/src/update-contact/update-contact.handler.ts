import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock, ForbiddenError, withEveryProblem } from '@app/shared';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter } from '../contact-writer';
import { updateContactProblems } from '../domain';
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
    try {
      await checkReferences(this.contacts, actor.orgId, { assignedAgentId: changes.assignedAgentId, campaignId: changes.campaignId });
    } catch (error) {
      // and the changes' own problems: one 400 names every bad field
      throw withEveryProblem(error, () => updateContactProblems({ type: 'UpdateContact', contactId, ...changes, at: '' }));
    }
    await this.writer.write(actor, contactId, () => ({ type: 'UpdateContact', contactId, ...changes, at: this.clock.now().toISOString() }));
  }
}

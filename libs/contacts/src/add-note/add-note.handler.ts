import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Clock } from '@app/shared';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter } from '../contact-writer';
import { AddNoteCommand } from './add-note.command';

/** A note is a timestamped remark: dated now, never due (SPEC §2). */
@CommandHandler(AddNoteCommand)
export class AddNoteHandler implements ICommandHandler<AddNoteCommand, { id: string; at: string }> {
  constructor(
    private readonly writer: ContactWriter,
    private readonly contacts: ContactsRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, contactId, text }: AddNoteCommand): Promise<{ id: string; at: string }> {
    await this.contacts.get(actor, contactId);
    const id = randomUUID();
    const at = this.clock.now().toISOString();
    await this.writer.write(actor, contactId, () => ({ type: 'AddNote', contactId, noteId: id, authorId: actor.userId, text, at }));
    return { id, at };
  }
}

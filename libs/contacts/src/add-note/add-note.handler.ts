import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Clock } from '@app/shared';
import { EventStore } from '@app/event-store';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter } from '../contact-writer';
import { contactStream, NoteAdded, NoteAddedData } from '../domain';
import { uuidFromKey } from '../ids';
import { AddNoteCommand } from './add-note.command';

/** A note is a timestamped remark: dated now, never due (SPEC §2). Answers the note as stored. */
@CommandHandler(AddNoteCommand)
export class AddNoteHandler implements ICommandHandler<AddNoteCommand, NoteAddedData> {
  constructor(
    private readonly writer: ContactWriter,
    private readonly contacts: ContactsRepository,
    private readonly clock: Clock,
    private readonly store: EventStore,
  ) {}

  async execute({ actor, contactId, text, idempotencyKey }: AddNoteCommand): Promise<NoteAddedData> {
    await this.contacts.get(actor, contactId);
    // With an Idempotency-Key the id is derived from it (and the org, the caller and the contact: keys are each
    // client's own, so a key reused elsewhere, or by another user, names another note): a retry whose first answer was lost adds nothing (the decider's replay of a note id it knows)
    // and answers the note the first request added, with its time, text and author. Without a key, every request
    // is a new note.
    const id = idempotencyKey === null ? randomUUID() : uuidFromKey(`note:api:${actor.orgId}:${actor.userId}:${contactId}:${idempotencyKey}`);
    const at = this.clock.now().toISOString();
    const { events, duplicate } = await this.writer.write(actor, contactId, () => ({ type: 'AddNote', contactId, noteId: id, authorId: actor.userId, text, at }));
    return duplicate ? this.storedNote(actor.orgId, contactId, id) : (events[0].data as NoteAddedData);
  }

  /** The note as the first request stored it. Reads the contact's stream, which only a replay pays for. */
  private async storedNote(orgId: string, contactId: string, noteId: string): Promise<NoteAddedData> {
    const stored = (await this.store.readStream(orgId, contactStream(contactId))).find((e) => e.type === NoteAdded && (e.data as NoteAddedData).noteId === noteId);
    if (!stored) throw new Error(`note ${noteId} is known to contact ${contactId} but not in its stream`);
    return stored.data as NoteAddedData;
  }
}

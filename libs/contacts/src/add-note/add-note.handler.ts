import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Clock } from '@app/shared';
import { EventStore } from '@app/event-store';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter, KeyedRequest } from '../contact-writer';
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
    // client's own, so a key reused elsewhere, or by another user, names another note): a retry whose first answer
    // was lost adds nothing and answers the note the first request added, with its time, text and author, if it
    // sends the same text (else 422). Without a key, every request is a new note.
    const id = idempotencyKey === null ? randomUUID() : uuidFromKey(`note:api:${actor.orgId}:${actor.userId}:${contactId}:${idempotencyKey}`);
    const request: KeyedRequest | null = idempotencyKey === null ? null : { key: `note:${id}`, fields: { text }, made: (state) => state.noteIds.has(id) };
    const at = this.clock.now().toISOString();
    const written = await this.writer.write(actor, contactId, () => ({ type: 'AddNote', contactId, noteId: id, authorId: actor.userId, text, at }), request ?? undefined);
    if (!written.duplicate) return written.events[0].data as NoteAddedData;
    // found by its key; a note stored before keyed writes were has none, and is looked for in the contact's stream
    return (written.original?.data as NoteAddedData | undefined) ?? this.storedNote(actor.orgId, contactId, id);
  }

  /** The note as the first request stored it. Reads the contact's stream, which only the retry of an old note pays for. */
  private async storedNote(orgId: string, contactId: string, noteId: string): Promise<NoteAddedData> {
    const stored = (await this.store.readStream(orgId, contactStream(contactId))).find((e) => e.type === NoteAdded && (e.data as NoteAddedData).noteId === noteId);
    if (!stored) throw new Error(`note ${noteId} is known to contact ${contactId} but not in its stream`);
    return stored.data as NoteAddedData;
  }
}

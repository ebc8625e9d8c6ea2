import { Actor } from '@app/shared';

export class AddNoteCommand {
  constructor(
    readonly actor: Actor,
    readonly contactId: string,
    readonly text: string,
    /** The client's Idempotency-Key, if it sent one: a retry with it adds no second note (the handler). */
    readonly idempotencyKey: string | null = null,
  ) {}
}

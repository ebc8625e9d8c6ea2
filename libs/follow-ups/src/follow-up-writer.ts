import { Injectable } from '@nestjs/common';
import { Actor, Clock } from '@app/shared';
import { ContactCommand, ContactState, ContactWriter } from '@app/contacts';


/** Writes a follow-up command to its contact's stream (optimistic concurrency, retried). */
@Injectable()
export class FollowUpWriter {
  constructor(
    private readonly writer: ContactWriter,
    readonly clock: Clock,
  ) {}

  write(actor: Actor, contactId: string, command: (state: ContactState) => ContactCommand) {
    return this.writer.write(actor, contactId, command);
  }
}

import { Injectable } from '@nestjs/common';
import { Actor, Clock } from '@app/shared';
import { ContactCommand, ContactState, ContactWriter } from '@app/contacts';

/** The actor the worker writes as: the organization itself, no user. */
export const systemActor = (orgId: string): Actor => ({ orgId, userId: 'system', role: 'admin', timezone: 'UTC' });

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

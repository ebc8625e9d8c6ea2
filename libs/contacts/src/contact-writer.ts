import { Injectable } from '@nestjs/common';
import { Actor, Clock, KeyedMutex } from '@app/shared';
import { AppendResult, decideAndAppend, EventStore } from '@app/event-store';
import { ContactCommand, contactDecider, ContactEvent, ContactState, contactStream } from './domain';

export interface ContactWriteResult {
  readonly state: ContactState;
  readonly events: readonly ContactEvent[];
  readonly result: AppendResult | null;
  /** Nothing new was stored: the decider saw a duplicate, or the idempotency keys a replay. */
  readonly duplicate: boolean;
}

/** Load the contact's stream → decide → append, retried on a concurrent write. */
@Injectable()
export class ContactWriter {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  write(actor: Actor, contactId: string, command: (state: ContactState) => ContactCommand, idempotencyKey?: string): Promise<ContactWriteResult> {
    return this.mutex.run(contactId, () => this.writeNow(actor, contactId, command, idempotencyKey));
  }

  private async writeNow(actor: Actor, contactId: string, command: (state: ContactState) => ContactCommand, idempotencyKey?: string): Promise<ContactWriteResult> {
    const { state, events, result } = await decideAndAppend(this.store, {
      streamId: contactStream(contactId),
      metadata: { orgId: actor.orgId, actorId: actor.userId, occurredAt: this.clock.now().toISOString() },
      decider: contactDecider,
      decide: (s: ContactState) =>
        contactDecider.decide(command(s), s).map((e, i) => (idempotencyKey ? { ...e, idempotencyKey: `${idempotencyKey}:${i}` } : e)),
    });
    return { state, events: events as ContactEvent[], result, duplicate: events.length === 0 || !!result?.replayed };
  }
}

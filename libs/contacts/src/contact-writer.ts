import { Injectable } from '@nestjs/common';
import { Actor, Clock, KeyedMutex, NotFoundError } from '@app/shared';
import { AppendResult, EventStore, NewEvent, retryOnConcurrency } from '@app/event-store';
import { ContactCommand, contactDecider, ContactEvent, ContactState, contactStream } from './domain';
import { ContactStateCache } from './contact-state.cache';

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
    private readonly states: ContactStateCache,
  ) {}

  write(actor: Actor, contactId: string, command: (state: ContactState) => ContactCommand, idempotencyKey?: string): Promise<ContactWriteResult> {
    return this.mutex.run(contactId, () => this.writeNow(actor, contactId, command, idempotencyKey));
  }

  private async writeNow(actor: Actor, contactId: string, command: (state: ContactState) => ContactCommand, idempotencyKey?: string): Promise<ContactWriteResult> {
    return retryOnConcurrency(async () => {
      // the cached state caught up with the stream; the append names its version, so a racing writer is a retry
      const { state, version } = (await this.states.load(actor.orgId, [contactId])).get(contactId)!;
      // Handlers check an agent's access on the read model first; a contact handed to another agent since is no longer theirs.
      if (actor.role === 'agent' && state.exists && state.assignedAgentId !== actor.userId) throw new NotFoundError('contact', contactId);
      const events = contactDecider.decide(command(state), state);
      if (events.length === 0) return { state, events, result: null, duplicate: true };
      const keyed = events.map((e, i): NewEvent => (idempotencyKey ? { ...e, idempotencyKey: `${idempotencyKey}:${i}` } : e));
      const result = await this.store.append(contactStream(contactId), keyed, {
        expectedVersion: version,
        metadata: { orgId: actor.orgId, actorId: actor.userId, occurredAt: this.clock.now().toISOString() },
      });
      if (!result.replayed) this.states.remember(actor.orgId, contactId, events.reduce(contactDecider.evolve, state), result.nextExpectedVersion);
      return { state, events, result, duplicate: result.replayed };
    });
  }
}

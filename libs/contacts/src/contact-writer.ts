import { Injectable } from '@nestjs/common';
import { Actor, Clock, IdempotencyKeyReusedError, KeyedMutex, NotFoundError, recordedActorId } from '@app/shared';
import { AppendResult, EventMetadata, EventStore, NewEvent, retryOnConcurrency, StoredEvent } from '@app/event-store';
import { ContactCommand, contactDecider, ContactEvent, ContactState, contactStream } from './domain';
import { ContactStateCache } from './contact-state.cache';
import { requestFingerprint } from './request-fingerprint';

export interface ContactWriteResult {
  readonly state: ContactState;
  readonly events: readonly ContactEvent[];
  readonly result: AppendResult | null;
  /** Nothing new was stored: the decider saw a duplicate, or the idempotency keys a replay. */
  readonly duplicate: boolean;
  /**
   * A keyed request's replay: the first event its first request stored, or null for a record stored before keyed
   * requests were (nothing to find it by but its stream). Absent when the request was not a keyed replay.
   */
  readonly original?: StoredEvent | null;
}

/** A request sent with an Idempotency-Key, whose record's id the handler derived from that key. */
export interface KeyedRequest {
  /** Unique per organization (the record's kind and id): its events are stored keyed `${key}:0`, `${key}:1`, … */
  readonly key: string;
  /** The request's fields that define the record it makes (requestFingerprint): a retry must send the same. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Whether the contact's state holds the record already: then the request is a retry. */
  readonly made: (state: ContactState) => boolean;
}

/**
 * The fingerprint of a keyed request travels in the metadata of the events it stored (one metadata for the append):
 * in Postgres with them, so a retry after a restart, or on another instance, is compared too; not in their data,
 * which the timeline answers as it is and the deciders fold; and with no migration, the metadata being JSON.
 */
interface KeyedMetadata extends EventMetadata {
  readonly requestFingerprint?: string;
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

  /**
   * `idempotency`: a key prefix for the events, or a keyed request: then a retry (`made`) appends nothing and is
   * answered with `original`, after its fields were found the same as the first request's (IdempotencyKeyReusedError).
   */
  write(actor: Actor, contactId: string, command: (state: ContactState) => ContactCommand, idempotency?: string | KeyedRequest): Promise<ContactWriteResult> {
    return this.mutex.run(contactId, () => this.writeNow(actor, contactId, command, idempotency));
  }

  /**
   * A keyed request's retry, found before the handler checks the request's references: they held when the record was
   * made, and an agent deactivated or a campaign removed since must not turn the retry of a request that succeeded into
   * a 400. Null when the record is not made yet (the handler checks, then writes; a twin racing it is found by write).
   */
  async replay(actor: Actor, contactId: string, request: KeyedRequest): Promise<ContactWriteResult | null> {
    const { state } = (await this.states.load(actor.orgId, [contactId])).get(contactId)!;
    this.ensureReachable(actor, contactId, state);
    return request.made(state) ? this.replayed(actor.orgId, state, request) : null;
  }

  private async writeNow(actor: Actor, contactId: string, command: (state: ContactState) => ContactCommand, idempotency?: string | KeyedRequest): Promise<ContactWriteResult> {
    const request = typeof idempotency === 'object' ? idempotency : null;
    const keyPrefix = request ? request.key : idempotency;
    return retryOnConcurrency(async () => {
      // the cached state caught up with the stream; the append names its version, so a racing writer is a retry
      const { state, version } = (await this.states.load(actor.orgId, [contactId])).get(contactId)!;
      this.ensureReachable(actor, contactId, state);
      // a twin of this request, written while this one waited for the lock or before its append conflicted
      if (request?.made(state)) return this.replayed(actor.orgId, state, request);
      const events = contactDecider.decide(command(state), state);
      if (events.length === 0) return { state, events, result: null, duplicate: true };
      const keyed = events.map((e, i): NewEvent => (keyPrefix ? { ...e, idempotencyKey: `${keyPrefix}:${i}` } : e));
      const metadata: KeyedMetadata = {
        orgId: actor.orgId,
        actorId: recordedActorId(actor.userId),
        occurredAt: this.clock.now().toISOString(),
        ...(request ? { requestFingerprint: requestFingerprint(request.fields) } : {}),
      };
      const result = await this.store.append(contactStream(contactId), keyed, { expectedVersion: version, metadata });
      if (!result.replayed) this.states.remember(actor.orgId, contactId, events.reduce(contactDecider.evolve, state), result.nextExpectedVersion);
      // keys seen already: another instance's twin stored the record between this one's read and its append
      else if (request) return this.replayed(actor.orgId, state, request);
      return { state, events, result, duplicate: result.replayed };
    });
  }

  /** Handlers check an agent's access on the read model first; a contact handed to another agent since is no longer theirs. */
  private ensureReachable(actor: Actor, contactId: string, state: ContactState): void {
    if (actor.role === 'agent' && state.exists && state.assignedAgentId !== actor.userId) throw new NotFoundError('contact', contactId);
  }

  /**
   * The retry's answer: the first event its first request stored, found by its key (one index lookup, whatever the
   * stream's length). A record stored before requests were keyed has no key and no fingerprint: its retry is
   * accepted, as it was then.
   */
  private async replayed(orgId: string, state: ContactState, request: KeyedRequest): Promise<ContactWriteResult> {
    const [original = null] = await this.store.readByKeys(orgId, [`${request.key}:0`]);
    const stored = (original?.metadata as KeyedMetadata | undefined)?.requestFingerprint;
    if (stored !== undefined && stored !== requestFingerprint(request.fields)) throw new IdempotencyKeyReusedError();
    return { state, events: [], result: null, duplicate: true, original };
  }
}

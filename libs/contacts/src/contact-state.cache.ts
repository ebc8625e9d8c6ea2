import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { cachedStates, EventStore, loadStates, StateCache, stateKey } from '@app/event-store';
import { contactDecider, ContactState, contactStream } from './domain';

/**
 * Folded contact states of this process (STATE_CACHE_SIZE, least recently used dropped): ingest, the writer and
 * the follow-up executor catch up from them with one read of the newer events instead of re-reading and
 * re-folding every call of every contact they touch.
 */
@Injectable()
export class ContactStateCache {
  private readonly cache: StateCache<ContactState>;

  constructor(
    private readonly store: EventStore,
    config: ConfigService,
  ) {
    this.cache = new StateCache<ContactState>(Number(config.get('STATE_CACHE_SIZE') ?? 20_000));
  }

  /** Each contact's current state and stream version (0: no such contact in this org). */
  async load(orgId: string, contactIds: readonly string[]): Promise<Map<string, { state: ContactState; version: number }>> {
    const byStream = await loadStates(this.store, this.cache, contactDecider, orgId, contactIds.map(contactStream));
    return new Map(contactIds.map((id) => [id, byStream.get(contactStream(id))!]));
  }

  /** Each contact's state as this process last left it, unread, or null unless it holds every one (see cachedStates). */
  cached(orgId: string, contactIds: readonly string[]): Map<string, { state: ContactState; version: number }> | null {
    const byStream = cachedStates(this.cache, orgId, contactIds.map(contactStream));
    return byStream && new Map(contactIds.map((id) => [id, byStream.get(contactStream(id))!]));
  }

  /** The state after a successful append, so the next reader of this contact reads nothing. */
  remember(orgId: string, contactId: string, state: ContactState, version: number): void {
    this.cache.set(stateKey(orgId, contactStream(contactId)), state, version);
  }
}

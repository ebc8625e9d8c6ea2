import { Injectable } from '@nestjs/common';
import { Actor, Database, recordedActorId, ValidationError } from '@app/shared';
import { contactStream } from './domain';

export interface TimelineEntry {
  at: string;
  kind: string;
  actorId: string | null;
  data: Record<string, unknown>;
  version: number;
}

const KINDS: Record<string, string> = {
  ContactCreated: 'contact_created',
  ContactUpdated: 'contact_updated',
  ContactAssigned: 'reassigned',
  LeadReassigned: 'reassigned',
  LeadQualityChanged: 'lead_quality_changed',
  ContactStatusChanged: 'contact_status_changed',
  LeadStatusChanged: 'lead_status_changed',
  CallStarted: 'call_started',
  CallLogged: 'call',
  NoteAdded: 'note',
};

/**
 * A contact's timeline is its own event stream, newest first: every note, call, follow-up event, lead status
 * change and reassignment is already there, in order, so no separate table is kept. Follow-up events show
 * under their own names (follow_up_scheduled, follow_up_snoozed, …).
 */
@Injectable()
export class TimelineRepository {
  constructor(private readonly db: Database) {}

  async forContact(actor: Actor, contactId: string, page: { before?: number; limit: number }): Promise<{ entries: TimelineEntry[]; nextCursor: string | null }> {
    // Safe integers only: ?cursor=1e23 is an integer to JS, but "1e+23" is no bigint to Postgres (a 500).
    if (page.before !== undefined && (!Number.isSafeInteger(page.before) || page.before < 1)) throw new ValidationError('cursor', 'must be a nextCursor this API returned');
    const { rows } = await this.db.query<{ type: string; data: Record<string, unknown>; metadata: { occurredAt: string; actorId?: string | null }; stream_version: number }>(
      `SELECT type, data, metadata, stream_version FROM events
        WHERE stream_id = $1 AND org_id = $2 AND ($3::bigint IS NULL OR stream_version < $3)
        ORDER BY stream_version DESC LIMIT $4`,
      [contactStream(contactId), actor.orgId, page.before ?? null, page.limit + 1],
    );
    const entries = rows.slice(0, page.limit).map((r) => ({
      at: (r.type === 'NoteAdded' ? (r.data.at as string) : null) ?? r.metadata.occurredAt,
      kind: KINDS[r.type] ?? r.type.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase(),
      actorId: recordedActorId(r.metadata.actorId),
      data: r.data,
      version: Number(r.stream_version),
    }));
    return { entries, nextCursor: rows.length > page.limit ? String(entries[entries.length - 1].version) : null };
  }
}

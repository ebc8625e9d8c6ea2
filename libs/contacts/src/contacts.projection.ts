import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { AsProjection, Projection, StoredEvent } from '@app/event-store';
import {
  CallLogged,
  CallLoggedData,
  CallStarted,
  CallStartedData,
  ContactAssigned,
  ContactAssignedData,
  ContactCreated,
  ContactCreatedData,
  ContactStatusChanged,
  ContactStatusChangedData,
  ContactUpdated,
  ContactUpdatedData,
  FollowUpScheduled,
  FollowUpScheduledData,
  LeadQualityChanged,
  LeadQualityChangedData,
  LeadStatusChanged,
  LeadStatusChangedData,
  NoteAdded,
  NoteAddedData,
} from './domain';

const COLUMN: Record<string, string> = { name: 'name', phone: 'phone', timezone: 'timezone', tags: 'tags', campaignId: 'campaign_id' };

/**
 * The contact read model: contacts, their calls, and their notes and follow-ups (one table, told apart by kind).
 * Inline, so the next read after a push or a write shows it. One projection owns all three tables because
 * contacts.next_follow_up_at is derived from follow_ups: they are rebuilt together.
 */
@Injectable()
@AsProjection()
export class ContactsProjection implements Projection {
  readonly name = 'contacts';
  readonly mode = 'inline';
  readonly tables = ['contacts', 'calls', 'follow_ups'];
  readonly eventTypes = [
    ContactCreated,
    ContactUpdated,
    ContactAssigned,
    LeadQualityChanged,
    ContactStatusChanged,
    LeadStatusChanged,
    CallStarted,
    CallLogged,
    NoteAdded,
    FollowUpScheduled,
  ];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    for (const e of events) await this.apply(e, tx);
  }

  private async apply(e: StoredEvent, tx: Sql): Promise<void> {
    const at = e.metadata.occurredAt;
    // Every event of the stream moves the row's version; the guard makes a replayed event a no-op.
    const touch = (sets: string, values: unknown[]) =>
      tx.query(`UPDATE contacts SET ${sets ? `${sets}, ` : ''}version = $2, updated_at = $3 WHERE id = $1 AND version < $2`, [
        (e.data as { contactId: string }).contactId,
        e.streamVersion,
        at,
        ...values,
      ]);
    switch (e.type) {
      case ContactCreated: {
        const d = e.data as ContactCreatedData;
        await tx.query(
          `INSERT INTO contacts (id, org_id, name, phone, timezone, lead_quality, lead_status, assigned_agent_id, tags, campaign_id, status, version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) ON CONFLICT DO NOTHING`,
          [d.contactId, e.orgId, d.name, d.phone, d.timezone, d.leadQuality, d.leadStatus, d.assignedAgentId, d.tags, d.campaignId, d.status, e.streamVersion, at],
        );
        return;
      }
      case ContactUpdated: {
        const d = e.data as ContactUpdatedData;
        const keys = Object.keys(d.changes).filter((k) => COLUMN[k]);
        if (keys.length === 0) return;
        await touch(
          keys.map((k, i) => `${COLUMN[k]} = $${i + 4}`).join(', '),
          keys.map((k) => (d.changes as Record<string, unknown>)[k]),
        );
        return;
      }
      case ContactAssigned:
        await touch('assigned_agent_id = $4', [(e.data as ContactAssignedData).toAgentId]);
        return;
      case LeadQualityChanged:
        await touch('lead_quality = $4', [(e.data as LeadQualityChangedData).to]);
        return;
      case ContactStatusChanged:
        await touch('status = $4', [(e.data as ContactStatusChangedData).to]);
        return;
      case LeadStatusChanged:
        await touch('lead_status = $4', [(e.data as LeadStatusChangedData).to]);
        return;
      case CallStarted: {
        const d = e.data as CallStartedData;
        await tx.query(
          `INSERT INTO calls (org_id, call_id, contact_id, agent_id, direction, status, live, started_at, campaign_id, tags, logged_at)
           VALUES ($1, $2, $3, $4, $5, 'In-progress', true, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
          [e.orgId, d.callId, d.contactId, d.agentId, d.direction, d.startedAt, d.campaignId, d.tags, at],
        );
        await touch('', []);
        return;
      }
      case CallLogged: {
        const d = e.data as CallLoggedData;
        // The final status replaces the live row of the same call: In-progress then final is one call.
        await tx.query(
          `INSERT INTO calls (org_id, call_id, contact_id, agent_id, direction, status, live, duration_sec, connected, started_at, note, campaign_id, tags, follow_up_id, logged_at)
           VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (org_id, call_id) DO UPDATE SET status = excluded.status, live = false, duration_sec = excluded.duration_sec,
             connected = excluded.connected, agent_id = excluded.agent_id, direction = excluded.direction, started_at = excluded.started_at,
             note = excluded.note, campaign_id = excluded.campaign_id, tags = excluded.tags, follow_up_id = excluded.follow_up_id, logged_at = excluded.logged_at`,
          [e.orgId, d.callId, d.contactId, d.agentId, d.direction, d.status, d.durationSec, d.connected, d.startedAt, d.note, d.campaignId, d.tags, d.followUpId, at],
        );
        await touch('last_call_at = greatest(last_call_at, $4::timestamptz)', [d.startedAt]);
        return;
      }
      case NoteAdded: {
        const d = e.data as NoteAddedData;
        await tx.query(
          `INSERT INTO follow_ups (id, org_id, contact_id, kind, resolved, status, notes, author_id, created_at, updated_at, resolved_at)
           VALUES ($1, $2, $3, 'note', true, 'note', $4, $5, $6, $6, $6) ON CONFLICT DO NOTHING`,
          [d.noteId, e.orgId, d.contactId, d.text, d.authorId, d.at],
        );
        await touch('', []);
        return;
      }
      case FollowUpScheduled: {
        const d = e.data as FollowUpScheduledData;
        await tx.query(
          `INSERT INTO follow_ups (id, org_id, contact_id, kind, resolved, status, type, scheduled_at, agent_id, priority, max_attempts, next_attempt_at,
             allow_out_of_window, notes, campaign_id, source, message, url, call_id, author_id, created_at, updated_at)
           VALUES ($1, $2, $3, 'follow_up', false, 'scheduled', $4, $5, $6, $7, $8, $5, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
           ON CONFLICT DO NOTHING`,
          [
            d.followUpId,
            e.orgId,
            d.contactId,
            d.type,
            d.scheduledAt,
            d.agentId,
            d.priority,
            d.maxAttempts,
            d.allowOutOfWindow,
            d.notes,
            d.campaignId,
            d.source,
            d.message,
            d.url,
            d.callId,
            e.metadata.actorId ?? null,
            at,
          ],
        );
        await ContactsProjection.refreshNextFollowUp(tx, d.contactId);
        await touch('', []);
        return;
      }
    }
  }

  /** A contact's nextFollowUpAt: the due time of its earliest open call follow-up (SPEC §6). */
  static refreshNextFollowUp(tx: Sql, contactId: string) {
    return tx.query(
      `UPDATE contacts SET next_follow_up_at = (
         SELECT min(scheduled_at) FROM follow_ups WHERE contact_id = $1 AND kind = 'follow_up' AND type = 'call' AND NOT resolved
       ) WHERE id = $1`,
      [contactId],
    );
  }
}

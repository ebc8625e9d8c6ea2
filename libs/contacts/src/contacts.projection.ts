import { Injectable } from '@nestjs/common';
import { BatchedStatement, opaqueArray, pgArrayLiteral, Sql, StatementBatch } from '@app/shared';
import { AsProjection, PlannedEvent, Projection, StoredEvent } from '@app/event-store';
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
  LeadReassigned,
  LeadReassignedData,
  LeadQualityChangedData,
  LeadStatusChanged,
  LeadStatusChangedData,
  NoteAdded,
  NoteAddedData,
  FollowUpSnoozed,
  FollowUpRescheduled,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpDeferred,
  FollowUpAttemptStarted,
  FollowUpAttemptSucceeded,
  FollowUpAttemptFailed,
  FollowUpExpired,
} from './domain';

/** Final values of a follow-up's columns after a batch of its lifecycle events ('attempt' → queued or in_progress by type). */
type FollowUpPatch = Partial<{
  status: string;
  scheduled_at: string;
  next_attempt_at: string | null;
  attempts: number;
  out_of_window: boolean;
  resolved: boolean;
  resolved_at: string;
  schedule: number;
  last_error: string | null;
}> & { id: string; updated_at: string };

const FOLLOW_UP_PATCHABLE = ['status', 'scheduled_at', 'next_attempt_at', 'attempts', 'out_of_window', 'resolved', 'resolved_at', 'schedule', 'last_error'] as const;
const FOLLOW_UP_CAST: Record<(typeof FOLLOW_UP_PATCHABLE)[number], string> = {
  status: 'text',
  scheduled_at: 'timestamptz',
  next_attempt_at: 'timestamptz',
  attempts: 'int',
  out_of_window: 'boolean',
  resolved: 'boolean',
  resolved_at: 'timestamptz',
  schedule: 'int',
  last_error: 'text',
};

/** Columns a contact event may set, by read-model column name. */
type ContactFields = Partial<{
  name: string;
  phone: string;
  /** null: the organization's (migration 0030) */
  timezone: string | null;
  tags: readonly string[];
  campaign_id: string | null;
  assigned_agent_id: string | null;
  lead_quality: string;
  lead_status: string;
  status: string;
  reassignments: number;
}>;

interface ContactPatch {
  id: string;
  version: number;
  updated_at: string;
  fields: ContactFields;
  last_call_at: string | null;
  /** The earliest call follow-up these events schedule for the contact, when no event of the batch changes one. */
  next_at?: string;
  next_id?: string;
}

const PATCHABLE: (keyof ContactFields)[] = ['name', 'phone', 'timezone', 'tags', 'campaign_id', 'assigned_agent_id', 'lead_quality', 'lead_status', 'status', 'reassignments'];
const CHANGE_COLUMN: Record<string, keyof ContactFields> = { name: 'name', phone: 'phone', timezone: 'timezone', tags: 'tags', campaignId: 'campaign_id' };

/**
 * The contact read model: contacts, their calls, and their notes and follow-ups (one table, told apart by kind).
 * Inline, so the next read after a push or a write shows it. One projection owns all three tables because
 * contacts.next_follow_up_at is derived from follow_ups: they are rebuilt together.
 *
 * Set-based: a batch of events (one push, a 1,000-call batch, or a rebuild page) is folded in memory first
 * and written with a fixed number of statements. The UPDATEs name their keys with `id = ANY ($ids)` as well as
 * joining the record set: without that the planner (which guesses 100 rows for jsonb_to_recordset, and has no
 * statistics where autovacuum is off) hash-joins against a sequential scan of the whole table. The keys go in
 * through opaqueArray, so the named statements of one-statement appends keep one plan. Every write is guarded
 * (ON CONFLICT, version), so applying an event twice changes nothing.
 *
 * follow_ups.contact_agent_id is a copy of the row's contact's assigned_agent_id (migration 0029), kept equal to it
 * here, the one writer of both: the follow-up list filters on it without reading contacts.
 */
@Injectable()
@AsProjection()
export class ContactsProjection implements Projection {
  readonly name = 'contacts';
  readonly mode = 'inline';
  readonly tables = ['contacts', 'calls', 'follow_ups', 'lead_reassignments'];
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
    FollowUpSnoozed,
    FollowUpRescheduled,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpDeferred,
    FollowUpAttemptStarted,
    FollowUpAttemptSucceeded,
    FollowUpAttemptFailed,
    FollowUpExpired,
    LeadReassigned,
  ];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    await new StatementBatch(this.statements(events)).run(tx);
  }

  statements(events: readonly PlannedEvent[]): BatchedStatement[] {
    const created: Record<string, unknown>[] = [];
    const patches = new Map<string, ContactPatch>();
    const started = new Map<string, Record<string, unknown>>();
    const finals = new Map<string, Record<string, unknown>>();
    const items: Record<string, unknown>[] = [];
    const refresh = new Set<string>();
    const reassigned: Record<string, unknown>[] = [];
    const fuPatches = new Map<string, FollowUpPatch>();
    const fuPatch = (e: PlannedEvent, fields: Omit<FollowUpPatch, 'id' | 'updated_at'>) => {
      const d = e.data as { followUpId: string; contactId: string };
      const p = fuPatches.get(d.followUpId) ?? { id: d.followUpId, updated_at: e.metadata.occurredAt };
      if (fields.out_of_window === false) delete fields.out_of_window; // once an attempt ran outside the window, it stays marked
      Object.assign(p, fields, { updated_at: e.metadata.occurredAt });
      fuPatches.set(d.followUpId, p);
      refresh.add(d.contactId);
      patch(e);
    };
    const ended = (e: PlannedEvent, status: string, lastError?: string | null) =>
      fuPatch(e, { status, resolved: true, resolved_at: e.metadata.occurredAt, next_attempt_at: null, ...(lastError !== undefined ? { last_error: lastError } : {}) });

    const patch = (e: PlannedEvent, fields: ContactFields = {}, lastCallAt: string | null = null) => {
      const id = (e.data as { contactId: string }).contactId;
      const p = patches.get(id) ?? { id, version: 0, updated_at: e.metadata.occurredAt, fields: {}, last_call_at: null };
      p.version = Math.max(p.version, e.streamVersion);
      p.updated_at = e.metadata.occurredAt;
      Object.assign(p.fields, fields);
      if (lastCallAt && (!p.last_call_at || lastCallAt > p.last_call_at)) p.last_call_at = lastCallAt;
      patches.set(id, p);
    };

    for (const e of events) {
      const at = e.metadata.occurredAt;
      switch (e.type) {
        case ContactCreated: {
          const d = e.data as ContactCreatedData;
          created.push({
            id: d.contactId,
            org_id: e.orgId,
            name: d.name,
            phone: d.phone,
            timezone: d.timezone,
            lead_quality: d.leadQuality,
            lead_status: d.leadStatus,
            assigned_agent_id: d.assignedAgentId,
            tags: d.tags,
            campaign_id: d.campaignId,
            status: d.status,
            version: e.streamVersion,
            created_at: at,
          });
          break;
        }
        case ContactUpdated: {
          const fields: ContactFields = {};
          for (const [k, v] of Object.entries((e.data as ContactUpdatedData).changes)) if (CHANGE_COLUMN[k]) (fields as Record<string, unknown>)[CHANGE_COLUMN[k]] = v;
          patch(e, fields);
          break;
        }
        case ContactAssigned:
          patch(e, { assigned_agent_id: (e.data as ContactAssignedData).toAgentId });
          break;
        case LeadReassigned: {
          const d = e.data as LeadReassignedData;
          patch(e, { assigned_agent_id: d.toAgentId, reassignments: d.reassignments });
          reassigned.push({
            contact_id: d.contactId,
            version: e.streamVersion,
            org_id: e.orgId,
            from_agent_id: d.fromAgentId,
            to_agent_id: d.toAgentId,
            lead_status: d.leadStatus,
            strategy: d.strategy,
            scope: d.scope,
            at,
          });
          break;
        }
        case LeadQualityChanged:
          patch(e, { lead_quality: (e.data as LeadQualityChangedData).to });
          break;
        case ContactStatusChanged:
          patch(e, { status: (e.data as ContactStatusChangedData).to });
          break;
        case LeadStatusChanged:
          patch(e, { lead_status: (e.data as LeadStatusChangedData).to });
          break;
        case CallStarted: {
          const d = e.data as CallStartedData;
          const key = `${e.orgId}|${d.callId}`;
          if (!finals.has(key)) {
            started.set(key, {
              org_id: e.orgId,
              call_id: d.callId,
              contact_id: d.contactId,
              agent_id: d.agentId,
              direction: d.direction,
              started_at: d.startedAt,
              campaign_id: d.campaignId,
              tags: d.tags,
              logged_at: at,
            });
          }
          patch(e);
          break;
        }
        case CallLogged: {
          const d = e.data as CallLoggedData;
          const key = `${e.orgId}|${d.callId}`;
          started.delete(key); // In-progress then final in one batch: one call, final
          finals.set(key, {
            org_id: e.orgId,
            call_id: d.callId,
            contact_id: d.contactId,
            agent_id: d.agentId,
            direction: d.direction,
            status: d.status,
            duration_sec: d.durationSec,
            connected: d.connected,
            started_at: d.startedAt,
            note: d.note,
            campaign_id: d.campaignId,
            tags: d.tags,
            follow_up_id: d.followUpId,
            logged_at: at,
          });
          patch(e, {}, d.startedAt);
          break;
        }
        case NoteAdded: {
          const d = e.data as NoteAddedData;
          items.push({ id: d.noteId, org_id: e.orgId, contact_id: d.contactId, kind: 'note', resolved: true, status: 'note', notes: d.text, author_id: d.authorId, created_at: d.at, resolved_at: d.at });
          patch(e);
          break;
        }
        case FollowUpScheduled: {
          const d = e.data as FollowUpScheduledData;
          items.push({
            id: d.followUpId,
            org_id: e.orgId,
            contact_id: d.contactId,
            kind: 'follow_up',
            resolved: false,
            status: 'scheduled',
            type: d.type,
            scheduled_at: d.scheduledAt,
            agent_id: d.agentId,
            priority: d.priority,
            max_attempts: d.maxAttempts,
            next_attempt_at: d.scheduledAt,
            allow_out_of_window: d.allowOutOfWindow,
            notes: d.notes,
            campaign_id: d.campaignId,
            source: d.source,
            message: d.message,
            url: d.url,
            call_id: d.callId,
            author_id: e.metadata.actorId ?? null,
            created_at: at,
          });
          refresh.add(d.contactId);
          patch(e);
          break;
        }
        case FollowUpSnoozed:
        case FollowUpRescheduled: {
          const d = e.data as { until?: string; scheduledAt?: string; schedule: number; withdrawnAttempt: number | null };
          const due = (e.type === FollowUpSnoozed ? d.until : d.scheduledAt)!;
          fuPatch(e, {
            status: e.type === FollowUpSnoozed ? 'snoozed' : 'scheduled',
            scheduled_at: due,
            next_attempt_at: due,
            schedule: d.schedule,
            ...(d.withdrawnAttempt !== null ? { attempts: d.withdrawnAttempt - 1 } : {}),
          });
          break;
        }
        case FollowUpDeferred: {
          const d = e.data as { nextAttemptAt: string; schedule: number };
          // a snoozed one is deferred only after its snooze ended: scheduled again (follow-up.decider.ts evolveFollowUp)
          fuPatch(e, { status: 'scheduled', next_attempt_at: d.nextAttemptAt, schedule: d.schedule });
          break;
        }
        case FollowUpAttemptStarted: {
          const d = e.data as { attempt: number; outOfWindow: boolean };
          fuPatch(e, { status: 'attempt', attempts: d.attempt, out_of_window: d.outOfWindow, next_attempt_at: null });
          break;
        }
        case FollowUpAttemptFailed: {
          const d = e.data as { reason: string; retryAt: string | null; schedule: number | null };
          if (d.retryAt) fuPatch(e, { status: 'scheduled', next_attempt_at: d.retryAt, schedule: d.schedule ?? undefined, last_error: d.reason });
          else ended(e, 'failed', d.reason);
          break;
        }
        case FollowUpAttemptSucceeded:
          ended(e, 'completed', null);
          break;
        case FollowUpCompleted:
          ended(e, 'completed');
          break;
        case FollowUpCancelled:
          ended(e, 'cancelled');
          break;
        case FollowUpExpired:
          ended(e, 'expired');
          break;
      }
    }

    // A contact's nextFollowUpAt is its earliest open call follow-up. When this batch only adds follow-ups (a call push,
    // say), the earliest is the one the contact row holds or an added one, so the contact UPDATE below sets it from the
    // row as it stands when updated (a concurrent writer's committed follow-up included): no read of follow_ups, and
    // so no statement of its own. When an event of the batch changes a follow-up, the follow_ups table is read again.
    if (fuPatches.size === 0) {
      for (const f of items) {
        if (f.kind !== 'follow_up' || f.type !== 'call') continue;
        const p = patches.get(f.contact_id as string)!;
        const [at, id] = [f.scheduled_at as string, f.id as string];
        if (p.next_at === undefined || Date.parse(at) < Date.parse(p.next_at) || (Date.parse(at) === Date.parse(p.next_at) && id < p.next_id!)) {
          p.next_at = at;
          p.next_id = id;
        }
      }
      refresh.clear(); // (an sms or webhook follow-up is never a contact's next one)
    }

    // The assigned agent each contact has after this batch, where an event of the batch sets it (ContactCreated,
    // ContactAssigned, LeadReassigned: ContactUpdated never carries it). Its rows inserted below take it whatever the
    // order of the events in the batch; its rows already stored are moved to it by the UPDATE after the contacts one.
    const agents = new Map<string, string | null>();
    for (const c of created) agents.set(c.id as string, (c.assigned_agent_id as string | null | undefined) ?? null);
    const moved = [...patches.values()].filter((p) => 'assigned_agent_id' in p.fields);
    for (const p of moved) agents.set(p.id, p.fields.assigned_agent_id ?? null);

    const batch: BatchedStatement[] = [];
    if (created.length) {
      batch.push({
        text: `INSERT INTO contacts (id, org_id, name, phone, timezone, lead_quality, lead_status, assigned_agent_id, tags, campaign_id, status, version, created_at, updated_at)
         SELECT id, org_id, name, phone, timezone, lead_quality, lead_status, assigned_agent_id, tags, campaign_id, status, version, created_at, created_at
           FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, org_id uuid, name text, phone text, timezone text, lead_quality text, lead_status text,
                assigned_agent_id uuid, tags text[], campaign_id uuid, status text, version bigint, created_at timestamptz)
         ON CONFLICT DO NOTHING`,
        values: [JSON.stringify(created.map((c) => ({ ...c, tags: pgArrayLiteral((c.tags as string[] | undefined) ?? []) })))],
        writes: ['contacts'],
      });
    }
    if (items.length) {
      // contact_agent_id: the agent the batch leaves the contact with when it sets one (agents), else the contact row's,
      // read at write time. That read goes undeclared (`reads`), so a call push that schedules a follow-up stays one
      // statement with its append. It may be from the statement's snapshot, taken before the append holds the
      // contact stream's lock, and still be right: only that stream's events change the contact's agent, and one
      // committed since the snapshot makes the append a version conflict, which fails the whole statement. A
      // scalar sub-select rather than a join: one contacts_pkey probe per row, where a join planned on
      // jsonb_to_recordset's guess of 100 rows could hash a sequential scan of contacts.
      batch.push({
        text: `INSERT INTO follow_ups (id, org_id, contact_id, kind, resolved, status, type, scheduled_at, agent_id, priority, max_attempts, next_attempt_at,
           allow_out_of_window, notes, campaign_id, source, message, url, call_id, author_id, created_at, updated_at, resolved_at, contact_agent_id)
         SELECT id, org_id, contact_id, kind, resolved, status, type, scheduled_at, agent_id, priority, max_attempts, next_attempt_at,
           coalesce(allow_out_of_window, false), notes, campaign_id, source, message, url, call_id, author_id, created_at, created_at, resolved_at,
           CASE WHEN r.contact_agent_known THEN r.contact_agent_id ELSE (SELECT c.assigned_agent_id FROM contacts c WHERE c.id = r.contact_id) END
           FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, org_id uuid, contact_id uuid, kind text, resolved boolean, status text, type text,
                scheduled_at timestamptz, agent_id uuid, priority text, max_attempts int, next_attempt_at timestamptz, allow_out_of_window boolean,
                notes text, campaign_id uuid, source text, message text, url text, call_id text, author_id uuid, created_at timestamptz, resolved_at timestamptz,
                contact_agent_known boolean, contact_agent_id uuid)
         ON CONFLICT DO NOTHING`,
        values: [
          JSON.stringify(
            items.map((f) => {
              const contact = f.contact_id as string;
              return agents.has(contact) ? { ...f, contact_agent_known: true, contact_agent_id: agents.get(contact) } : f;
            }),
          ),
        ],
        writes: ['follow_ups'],
      });
    }
    const CALL_RECORD = `AS r(org_id uuid, call_id text, contact_id uuid, agent_id uuid, direction text, status text, duration_sec int, connected boolean,
      started_at timestamptz, note text, campaign_id uuid, tags text[], follow_up_id uuid, logged_at timestamptz)`;
    if (started.size) {
      batch.push({
        text: `INSERT INTO calls (org_id, call_id, contact_id, agent_id, direction, status, live, started_at, campaign_id, tags, logged_at)
         SELECT org_id, call_id, contact_id, agent_id, direction, 'In-progress', true, started_at, campaign_id, tags, logged_at
           FROM jsonb_to_recordset($1::jsonb) ${CALL_RECORD}
         ON CONFLICT (org_id, call_id) DO UPDATE SET contact_id = excluded.contact_id WHERE calls.contact_id <> excluded.contact_id`,
        values: [JSON.stringify([...started.values()].map((c) => ({ ...c, tags: pgArrayLiteral((c.tags as string[] | undefined) ?? []) })))],
        writes: ['calls'],
      });
    }
    // A callId is one contact's: writing a call's row for another contact fails the statement (migration 0020), so
    // the append that would have logged it is not stored (an In-progress push for the same contact changes nothing).
    if (finals.size) {
      // The final status replaces the live row of the same call: In-progress then final is one call.
      batch.push({
        text: `INSERT INTO calls (org_id, call_id, contact_id, agent_id, direction, status, live, duration_sec, connected, started_at, note, campaign_id, tags, follow_up_id, logged_at)
         SELECT org_id, call_id, contact_id, agent_id, direction, status, false, duration_sec, connected, started_at, note, campaign_id, tags, follow_up_id, logged_at
           FROM jsonb_to_recordset($1::jsonb) ${CALL_RECORD}
         ON CONFLICT (org_id, call_id) DO UPDATE SET contact_id = excluded.contact_id, status = excluded.status, live = false, duration_sec = excluded.duration_sec,
           connected = excluded.connected, agent_id = excluded.agent_id, direction = excluded.direction, started_at = excluded.started_at,
           note = excluded.note, campaign_id = excluded.campaign_id, tags = excluded.tags, follow_up_id = excluded.follow_up_id, logged_at = excluded.logged_at`,
        values: [JSON.stringify([...finals.values()].map((c) => ({ ...c, tags: pgArrayLiteral((c.tags as string[] | undefined) ?? []) })))],
        writes: ['calls'],
      });
    }
    if (patches.size) {
      const sets = PATCHABLE.map((col) => `${col} = CASE WHEN p.fields ? '${col}' THEN ${fieldValue(col)} ELSE c.${col} END`).join(',\n           ');
      const sooner = `p.next_at IS NOT NULL AND (c.next_follow_up_at IS NULL OR (p.next_at, p.next_id) < (c.next_follow_up_at, c.next_follow_up_id))`;
      batch.push({
        text: `UPDATE contacts c SET
           ${sets},
           last_call_at = CASE WHEN p.last_call_at IS NULL THEN c.last_call_at ELSE greatest(c.last_call_at, p.last_call_at) END,
           next_follow_up_at = CASE WHEN ${sooner} THEN p.next_at ELSE c.next_follow_up_at END,
           next_follow_up_id = CASE WHEN ${sooner} THEN p.next_id ELSE c.next_follow_up_id END,
           version = p.version, updated_at = p.updated_at
         FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, version bigint, updated_at timestamptz, fields jsonb, last_call_at timestamptz,
              next_at timestamptz, next_id uuid)
         WHERE c.id = ANY (${opaqueArray('$2', 'uuid')}) AND c.id = p.id AND c.version < p.version`,
        values: [JSON.stringify([...patches.values()]), pgArrayLiteral([...patches.keys()])],
        writes: ['contacts'],
      });
    }
    // The rows stored before the batch of each contact it gave another agent follow their contact: every row of the
    // contact (notes too), through follow_ups_contact_ix, the ones already right left alone. The agent as the batch
    // leaves it, from the events (like the contacts UPDATE's), so the statement reads no other table and goes with
    // the append as one statement. A reassignment costs a new row version of each row of the contact (not HOT: the
    // column is indexed); a contact has a few.
    if (moved.length) {
      batch.push({
        text: `UPDATE follow_ups f SET contact_agent_id = p.agent_id
           FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, agent_id uuid)
          WHERE f.contact_id = ANY (${opaqueArray('$2', 'uuid')}) AND f.contact_id = p.id AND f.contact_agent_id IS DISTINCT FROM p.agent_id`,
        values: [JSON.stringify(moved.map((p) => ({ id: p.id, agent_id: agents.get(p.id) }))), pgArrayLiteral(moved.map((p) => p.id))],
        writes: ['follow_ups'],
      });
    }
    if (fuPatches.size) {
      const sets = FOLLOW_UP_PATCHABLE.map((col) => {
        const value = `(p.fields->>'${col}')::${FOLLOW_UP_CAST[col]}`;
        const next = col === 'status' ? `CASE WHEN ${value} = 'attempt' THEN (CASE WHEN f.type = 'call' THEN 'queued' ELSE 'in_progress' END) ELSE ${value} END` : value;
        const merged = col === 'out_of_window' ? `f.out_of_window OR coalesce(${value}, false)` : next;
        return `${col} = CASE WHEN p.fields ? '${col}' THEN ${merged} ELSE f.${col} END`;
      });
      batch.push({
        text: `UPDATE follow_ups f SET ${sets.join(', ')}, updated_at = p.updated_at
           FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, updated_at timestamptz, fields jsonb)
          WHERE f.id = ANY (${opaqueArray('$2', 'uuid')}) AND f.id = p.id`,
        values: [JSON.stringify([...fuPatches.values()].map(({ id, updated_at, ...fields }) => ({ id, updated_at, fields }))), pgArrayLiteral([...fuPatches.keys()])],
        writes: ['follow_ups'],
      });
    }
    if (refresh.size) batch.push(ContactsProjection.nextFollowUpStatement([...refresh]));
    if (reassigned.length) {
      batch.push({
        text: `INSERT INTO lead_reassignments (contact_id, version, org_id, from_agent_id, to_agent_id, lead_status, strategy, scope, at)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(contact_id uuid, version bigint, org_id uuid, from_agent_id uuid, to_agent_id uuid,
                lead_status text, strategy text, scope text, at timestamptz)
         ON CONFLICT DO NOTHING`,
        values: [JSON.stringify(reassigned)],
        writes: ['lead_reassignments'],
      });
    }
    return batch;
  }

  /**
   * A contact's nextFollowUpAt and the follow-up it is: its earliest open call follow-up (SPEC §6). Rows whose
   * value stays are not written: most follow-up events (every webhook and sms attempt, say) leave it as it was,
   * and a write would cost a new row version of the contact for nothing.
   */
  static nextFollowUpStatement(contactIds: readonly string[]): BatchedStatement {
    return {
      text: `UPDATE contacts c SET next_follow_up_at = n.at, next_follow_up_id = n.follow_up_id
         FROM (SELECT k.id, f.scheduled_at AS at, f.id AS follow_up_id
                 FROM unnest($1::uuid[]) AS k(id)
                 LEFT JOIN LATERAL (
                   SELECT f.scheduled_at, f.id FROM follow_ups f
                    WHERE f.contact_id = k.id AND f.kind = 'follow_up' AND f.type = 'call' AND NOT f.resolved
                    ORDER BY f.scheduled_at, f.id LIMIT 1
                 ) f ON true) n
        WHERE c.id = ANY ($1::uuid[]) AND c.id = n.id
          AND (c.next_follow_up_at, c.next_follow_up_id) IS DISTINCT FROM (n.at, n.follow_up_id)`,
      values: [contactIds],
      reads: ['follow_ups'],
      writes: ['contacts'],
    };
  }
}

function fieldValue(col: keyof ContactFields): string {
  if (col === 'tags') return `ARRAY(SELECT jsonb_array_elements_text(p.fields->'tags'))`;
  if (col === 'campaign_id' || col === 'assigned_agent_id') return `(p.fields->>'${col}')::uuid`;
  if (col === 'reassignments') return `(p.fields->>'${col}')::int`;
  return `p.fields->>'${col}'`;
}

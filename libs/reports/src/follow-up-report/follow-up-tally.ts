import { StoredEvent } from '@app/event-store';
import {
  ContactAssigned,
  ContactAssignedData,
  ContactCreated,
  ContactCreatedData,
  ContactStatusChanged,
  ContactStatusChangedData,
  FollowUpAttemptFailed,
  FollowUpAttemptFailedData,
  FollowUpAttemptStarted,
  FollowUpAttemptSucceeded,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpDeferred,
  FollowUpExpired,
  FollowUpRescheduled,
  FollowUpRescheduledData,
  FollowUpScheduled,
  FollowUpScheduledData,
  FollowUpSnoozed,
  FollowUpSnoozedData,
  LeadReassigned,
  LeadReassignedData,
  NoteAdded,
  NoteAddedData,
} from '@app/contacts';
import { ORG_TIMEZONE_EVENT_TYPES, orgTimezoneSetBy } from '../shared/org-timezone';
import { activityDay, NO_AGENT, slotOf } from './due-slots';

/**
 * The follow-up report's fold, pure: the state a batch needs (loaded by the projection) and the batch's events in,
 * the rows to write out. Sequential over the batch, so the result does not depend on where batches are cut.
 *
 * Definitions (SPEC §8, also in the API doc):
 * - The effective agent of a follow-up is its own agentId, else the contact's assigned agent at that moment
 *   (ContactAssigned, LeadReassigned), else none (NO_AGENT, the report's `agentId: null` row). A reassignment moves
 *   the open follow-ups that inherit their agent; explicit ones stay. Notes count for their author.
 * - Open = scheduled, queued, in_progress or snoozed: counted per (org, effective agent, due slot), with how many of
 *   them are snoozed right now. The due time is scheduledAt, moved only by a snooze or a reschedule (SPEC §5.5).
 * - Only an ACTIVE contact's open follow-ups are counted, as the hub lists only ACTIVE contacts (SPEC §6). An archived
 *   contact's stay open until they come due (then cancelled) or it is made ACTIVE again, so they are still tracked:
 *   ContactStatusChanged takes them out of the counts, or puts back those still open.
 * - Activity (scheduled, completed, failed, expired, cancelled, notes written) is counted per (org, effective agent
 *   at the event, local day of the event in the org's time zone at the event): NoteAdded is dated by its `at`, the
 *   others by metadata.occurredAt. Completed = FollowUpCompleted + FollowUpAttemptSucceeded; failed =
 *   FollowUpAttemptFailed without a retry.
 */

export const FOLLOW_UP_REPORT_EVENT_TYPES = [
  ...ORG_TIMEZONE_EVENT_TYPES,
  ContactCreated,
  ContactAssigned,
  LeadReassigned,
  ContactStatusChanged,
  NoteAdded,
  FollowUpScheduled,
  FollowUpSnoozed,
  FollowUpRescheduled,
  FollowUpDeferred,
  FollowUpAttemptStarted,
  FollowUpAttemptFailed,
  FollowUpAttemptSucceeded,
  FollowUpCompleted,
  FollowUpCancelled,
  FollowUpExpired,
] as const;

/** A contact as the report tracks it (absent: unknown, taken as unassigned and ACTIVE). */
export interface TrackedContact {
  /** Its assigned agent; null: unassigned. */
  readonly agentId: string | null;
  /** ARCHIVED: its open follow-ups are tracked but not counted. */
  readonly archived: boolean;
}

const UNKNOWN_CONTACT: TrackedContact = { agentId: null, archived: false };

/** An open follow-up as the report tracks it (ended ones are forgotten: no event follows an end). */
export interface TrackedFollowUp {
  readonly followUpId: string;
  readonly orgId: string;
  readonly contactId: string;
  /** Its own agent; null: inherits the contact's. */
  readonly agentId: string | null;
  /** Due slot, epoch ms. */
  slot: number;
  snoozed: boolean;
}

export const ACTIVITY_KINDS = ['scheduled', 'completed', 'failed', 'expired', 'cancelled', 'notesWritten'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

export interface OpenDelta {
  readonly orgId: string;
  readonly agentId: string;
  readonly slot: number;
  open: number;
  snoozed: number;
}

export type ActivityDelta = { readonly orgId: string; readonly agentId: string; readonly day: string } & Record<ActivityKind, number>;

/** What a batch needs from the projection's own tables before folding. */
export interface TallyLoad {
  readonly contactIds: string[];
  /** Follow-ups named by lifecycle events. */
  readonly followUpIds: string[];
  /** Contacts reassigned in the batch: all their open inheriting follow-ups are needed. */
  readonly reassignedContactIds: string[];
  /** Contacts archived or made ACTIVE in the batch: all their open follow-ups are needed. */
  readonly statusChangedContactIds: string[];
  readonly orgIds: string[];
}

export interface TallyState {
  /** Per known contact. */
  readonly contacts: Map<string, TrackedContact>;
  /** Open follow-ups by id. */
  readonly followUps: Map<string, TrackedFollowUp>;
  readonly orgTimezones: Map<string, string>;
}

export interface TallyResult {
  /** Contacts whose assigned agent or status was set in this batch. */
  readonly contacts: Map<string, TrackedContact>;
  /** Follow-ups open at the end of the batch that changed: upserted. */
  readonly upsert: TrackedFollowUp[];
  /** Follow-ups that ended in this batch: deleted. */
  readonly ended: string[];
  readonly open: OpenDelta[];
  readonly activity: ActivityDelta[];
  readonly orgTimezones: Map<string, string>;
}

const TIMEZONE_TYPES = new Set<string>(ORG_TIMEZONE_EVENT_TYPES);
const FALLBACK_TIMEZONE = 'UTC';

/** The ids a batch touches, for the projection to load before folding. */
export function tallyLoad(events: readonly StoredEvent[]): TallyLoad {
  const contactIds = new Set<string>();
  const followUpIds = new Set<string>();
  const reassigned = new Set<string>();
  const statusChanged = new Set<string>();
  const orgIds = new Set<string>();
  for (const e of events) {
    orgIds.add(e.orgId);
    // a note names its author; a new contact brings its agent (the commonest of these events: no read for it)
    if (TIMEZONE_TYPES.has(e.type) || e.type === NoteAdded || e.type === ContactCreated) continue;
    const d = e.data as { contactId: string; followUpId?: string };
    contactIds.add(d.contactId);
    if (e.type === ContactAssigned || e.type === LeadReassigned) reassigned.add(d.contactId);
    else if (e.type === ContactStatusChanged) statusChanged.add(d.contactId);
    else if (d.followUpId && e.type !== FollowUpScheduled) followUpIds.add(d.followUpId);
  }
  return {
    contactIds: [...contactIds],
    followUpIds: [...followUpIds],
    reassignedContactIds: [...reassigned],
    statusChangedContactIds: [...statusChanged],
    orgIds: [...orgIds],
  };
}

/** Folds a batch over the loaded state. `state` is taken over and changed. */
export function foldTally(events: readonly StoredEvent[], state: TallyState): TallyResult {
  const { contacts, followUps, orgTimezones } = state;
  const changedContacts = new Map<string, TrackedContact>();
  const changedTimezones = new Map<string, string>();
  const touched = new Set<string>();
  const ended = new Set<string>();
  const open = new Map<string, OpenDelta>();
  const activity = new Map<string, ActivityDelta>();
  // open follow-ups per contact, of those loaded: a reassignment moves the inheriting ones, a status change all
  const openOf = new Map<string, Set<string>>();
  const track = (f: TrackedFollowUp) => {
    const set = openOf.get(f.contactId) ?? new Set<string>();
    set.add(f.followUpId);
    openOf.set(f.contactId, set);
  };
  for (const f of followUps.values()) track(f);

  const contactOf = (contactId: string): TrackedContact => contacts.get(contactId) ?? UNKNOWN_CONTACT;
  const setContact = (contactId: string, c: TrackedContact) => {
    contacts.set(contactId, c);
    changedContacts.set(contactId, c);
  };
  const agentOf = (f: { agentId: string | null; contactId: string }): string => f.agentId ?? contactOf(f.contactId).agentId ?? NO_AGENT;
  /** Adds to or takes from a follow-up's open cell; nothing while its contact is archived (setStatus flips around it). */
  const countOpen = (f: TrackedFollowUp, agentId: string, sign: 1 | -1) => {
    if (contactOf(f.contactId).archived) return;
    const key = `${f.orgId}|${agentId}|${f.slot}`;
    const d = open.get(key) ?? { orgId: f.orgId, agentId, slot: f.slot, open: 0, snoozed: 0 };
    d.open += sign;
    if (f.snoozed) d.snoozed += sign;
    open.set(key, d);
  };
  const count = (e: StoredEvent, agentId: string, kind: ActivityKind, at: string) => {
    const day = activityDay(at, orgTimezones.get(e.orgId) ?? FALLBACK_TIMEZONE);
    const key = `${e.orgId}|${agentId}|${day}`;
    const d = activity.get(key) ?? { orgId: e.orgId, agentId, day, scheduled: 0, completed: 0, failed: 0, expired: 0, cancelled: 0, notesWritten: 0 };
    d[kind] += 1;
    activity.set(key, d);
  };
  /** Moves a follow-up to a new due slot and snoozed flag: out of its old cell, into the new one. */
  const move = (f: TrackedFollowUp, slot: number, snoozed: boolean) => {
    if (f.slot === slot && f.snoozed === snoozed) return;
    const agentId = agentOf(f);
    countOpen(f, agentId, -1);
    f.slot = slot;
    f.snoozed = snoozed;
    countOpen(f, agentId, 1);
    touched.add(f.followUpId);
  };
  const end = (e: StoredEvent, kind: ActivityKind) => {
    const d = e.data as { followUpId: string; contactId: string };
    const f = followUps.get(d.followUpId);
    // unknown (never scheduled as far as this log goes): dated and attributed like an inheriting one
    count(e, f ? agentOf(f) : agentOf({ agentId: null, contactId: d.contactId }), kind, e.metadata.occurredAt);
    if (!f) return;
    countOpen(f, agentOf(f), -1);
    followUps.delete(f.followUpId);
    openOf.get(f.contactId)?.delete(f.followUpId);
    touched.delete(f.followUpId);
    ended.add(f.followUpId);
  };
  const assign = (contactId: string, to: string | null) => {
    const was = contactOf(contactId);
    const from = was.agentId;
    setContact(contactId, { agentId: to, archived: was.archived });
    if (from === to) return;
    for (const id of openOf.get(contactId) ?? []) {
      const f = followUps.get(id)!;
      if (f.agentId !== null) continue; // its own agent: stays
      countOpen(f, from ?? NO_AGENT, -1);
      countOpen(f, to ?? NO_AGENT, 1);
    }
  };
  /** Archiving takes the contact's open follow-ups out of the counts; making it ACTIVE again puts them back. */
  const setStatus = (contactId: string, archived: boolean) => {
    const was = contactOf(contactId);
    const open = was.archived === archived ? [] : [...(openOf.get(contactId) ?? [])].map((id) => followUps.get(id)!);
    if (archived) for (const f of open) countOpen(f, agentOf(f), -1);
    setContact(contactId, { agentId: was.agentId, archived });
    if (!archived) for (const f of open) countOpen(f, agentOf(f), 1);
  };

  for (const e of events) {
    if (TIMEZONE_TYPES.has(e.type)) {
      const set = orgTimezoneSetBy(e);
      if (set) {
        orgTimezones.set(set.orgId, set.timezone);
        changedTimezones.set(set.orgId, set.timezone);
      }
      continue;
    }
    switch (e.type) {
      case ContactCreated: {
        const d = e.data as ContactCreatedData;
        assign(d.contactId, d.assignedAgentId);
        if (d.status === 'ARCHIVED') setStatus(d.contactId, true);
        break;
      }
      case ContactAssigned: {
        const d = e.data as ContactAssignedData;
        assign(d.contactId, d.toAgentId);
        break;
      }
      case LeadReassigned: {
        const d = e.data as LeadReassignedData;
        assign(d.contactId, d.toAgentId);
        break;
      }
      case ContactStatusChanged: {
        const d = e.data as ContactStatusChangedData;
        setStatus(d.contactId, d.to === 'ARCHIVED');
        break;
      }
      case NoteAdded: {
        const d = e.data as NoteAddedData;
        count(e, d.authorId, 'notesWritten', d.at);
        break;
      }
      case FollowUpScheduled: {
        const d = e.data as FollowUpScheduledData;
        if (followUps.has(d.followUpId) || ended.has(d.followUpId)) break; // the same id twice: the first stands
        const f: TrackedFollowUp = { followUpId: d.followUpId, orgId: e.orgId, contactId: d.contactId, agentId: d.agentId, slot: slotOf(d.scheduledAt), snoozed: false };
        followUps.set(f.followUpId, f);
        track(f);
        touched.add(f.followUpId);
        countOpen(f, agentOf(f), 1);
        count(e, agentOf(f), 'scheduled', e.metadata.occurredAt);
        break;
      }
      case FollowUpSnoozed: {
        const d = e.data as FollowUpSnoozedData;
        const f = followUps.get(d.followUpId);
        if (f) move(f, slotOf(d.until), true);
        break;
      }
      case FollowUpRescheduled: {
        const d = e.data as FollowUpRescheduledData;
        const f = followUps.get(d.followUpId);
        if (f) move(f, slotOf(d.scheduledAt), false);
        break;
      }
      case FollowUpDeferred: {
        // deferred to the window's opening: a snoozed one's snooze has ended (scheduled again); the due time stays
        const f = followUps.get((e.data as { followUpId: string }).followUpId);
        if (f?.snoozed) move(f, f.slot, false);
        break;
      }
      case FollowUpAttemptStarted: {
        // queued or in_progress: no longer snoozed; the due time stays
        const f = followUps.get((e.data as { followUpId: string }).followUpId);
        if (f) move(f, f.slot, false);
        break;
      }
      case FollowUpAttemptFailed: {
        const d = e.data as FollowUpAttemptFailedData;
        if (d.retryAt === null) {
          end(e, 'failed');
        } else {
          const f = followUps.get(d.followUpId);
          if (f) move(f, f.slot, false); // scheduled again, due time unchanged
        }
        break;
      }
      case FollowUpAttemptSucceeded:
      case FollowUpCompleted:
        end(e, 'completed');
        break;
      case FollowUpCancelled:
        end(e, 'cancelled');
        break;
      case FollowUpExpired:
        end(e, 'expired');
        break;
    }
  }

  return {
    contacts: changedContacts,
    upsert: [...touched].map((id) => followUps.get(id)!),
    ended: [...ended],
    open: [...open.values()].filter((d) => d.open !== 0 || d.snoozed !== 0),
    activity: [...activity.values()],
    orgTimezones: changedTimezones,
  };
}

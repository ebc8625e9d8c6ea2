/**
 * Events of the contact aggregate: one stream per contact (`contact-<uuid>`). The contact owns its calls,
 * notes, lead status and the scheduling of its follow-ups, so that a call, the lead-status change it causes
 * and the follow-up it schedules are appended in one transaction.
 *
 * Type names are stored in the event store: never rename one.
 */

export const CALL_STATUSES = ['Called', 'Busy', 'No Answer', 'Missed', 'In-progress', 'Follow up', 'Rescheduled'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

/** Every status but the live `In-progress`: a call with one of these is an attempt. */
export const FINAL_CALL_STATUSES = ['Called', 'Busy', 'No Answer', 'Missed', 'Follow up', 'Rescheduled'] as const;
export type FinalCallStatus = (typeof FINAL_CALL_STATUSES)[number];

export const CALL_DIRECTIONS = ['inbound', 'outbound'] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];

export const LEAD_STATUSES = ['New', 'Interested', 'Not Interested', 'Followups', 'Not Picked', 'Missed'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** The lead has been reached: unreached outcomes (Busy, No Answer, Missed) no longer move it, nor does recycling. */
export const SPOKEN_TO_STATUSES = ['Interested', 'Not Interested', 'Followups'] as const;
export type SpokenToStatus = (typeof SPOKEN_TO_STATUSES)[number];

export const LEAD_QUALITIES = ['HOT', 'WARM', 'COLD', 'NURTURE'] as const;
export type LeadQuality = (typeof LEAD_QUALITIES)[number];

export const CONTACT_STATUSES = ['ACTIVE', 'ARCHIVED'] as const;
export type ContactStatus = (typeof CONTACT_STATUSES)[number];

export const FOLLOW_UP_TYPES = ['call', 'sms', 'webhook'] as const;
export type FollowUpType = (typeof FOLLOW_UP_TYPES)[number];

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type FollowUpPriority = (typeof PRIORITIES)[number];

export const SOURCES = ['manual', 'call_outcome', 'lead_request', 'api', 'automation', 'import'] as const;
export type FollowUpSource = (typeof SOURCES)[number];

/** SPEC §5. `overdue` is not a status: it is an open follow-up whose due date is before today. */
export const FOLLOW_UP_STATUSES = ['scheduled', 'queued', 'in_progress', 'completed', 'failed', 'cancelled', 'expired', 'snoozed'] as const;
export type FollowUpStatus = (typeof FOLLOW_UP_STATUSES)[number];

export const OPEN_FOLLOW_UP_STATUSES = ['scheduled', 'queued', 'in_progress', 'snoozed'] as const;
export type OpenFollowUpStatus = (typeof OPEN_FOLLOW_UP_STATUSES)[number];

export const ENDED_FOLLOW_UP_STATUSES = ['completed', 'failed', 'cancelled', 'expired'] as const;
export type EndedFollowUpStatus = (typeof ENDED_FOLLOW_UP_STATUSES)[number];

export const isOpenFollowUpStatus = (s: FollowUpStatus): s is OpenFollowUpStatus => (OPEN_FOLLOW_UP_STATUSES as readonly string[]).includes(s);
export const isEndedFollowUpStatus = (s: FollowUpStatus): s is EndedFollowUpStatus => (ENDED_FOLLOW_UP_STATUSES as readonly string[]).includes(s);

/** How a follow-up was completed outside an attempt: by hand on the follow-up, or by the hub's `done`. */
export const FOLLOW_UP_COMPLETIONS = ['manual', 'hub'] as const;
export type FollowUpCompletion = (typeof FOLLOW_UP_COMPLETIONS)[number];

export const FOLLOW_UP_DEFERRAL_REASONS = ['out_of_window'] as const;
export type FollowUpDeferralReason = (typeof FOLLOW_UP_DEFERRAL_REASONS)[number];

/** The schedule number a follow-up starts with (FollowUpScheduled); see FollowUpState.schedule. */
export const FIRST_FOLLOW_UP_SCHEDULE = 1;

export const MIN_ATTEMPTS = 1;
export const MAX_ATTEMPTS = 10;

/** SPEC §5 defaults that do not depend on the clock or the contact (scheduledAt = now + 1 h is the handler's). */
export const FOLLOW_UP_DEFAULTS = {
  type: 'call',
  priority: 'normal',
  maxAttempts: 3,
  allowOutOfWindow: false,
} as const satisfies { type: FollowUpType; priority: FollowUpPriority; maxAttempts: number; allowOutOfWindow: boolean };

export const DEFAULT_LEAD_QUALITY: LeadQuality = 'WARM';
export const INITIAL_LEAD_STATUS: LeadStatus = 'New';

export const isFinalCallStatus = (s: CallStatus): s is FinalCallStatus => s !== 'In-progress';
export const isSpokenTo = (s: LeadStatus): s is SpokenToStatus => (SPOKEN_TO_STATUSES as readonly string[]).includes(s);

export const ContactCreated = 'ContactCreated';
export const ContactUpdated = 'ContactUpdated';
export const ContactAssigned = 'ContactAssigned';
export const LeadQualityChanged = 'LeadQualityChanged';
export const ContactStatusChanged = 'ContactStatusChanged';
export const CallStarted = 'CallStarted';
export const CallLogged = 'CallLogged';
export const LeadStatusChanged = 'LeadStatusChanged';
export const NoteAdded = 'NoteAdded';
export const FollowUpScheduled = 'FollowUpScheduled';
export const FollowUpSnoozed = 'FollowUpSnoozed';
export const FollowUpRescheduled = 'FollowUpRescheduled';
export const FollowUpCancelled = 'FollowUpCancelled';
export const FollowUpCompleted = 'FollowUpCompleted';
export const FollowUpDeferred = 'FollowUpDeferred';
export const FollowUpAttemptStarted = 'FollowUpAttemptStarted';
export const FollowUpAttemptSucceeded = 'FollowUpAttemptSucceeded';
export const FollowUpAttemptFailed = 'FollowUpAttemptFailed';
export const FollowUpExpired = 'FollowUpExpired';
export const LeadReassigned = 'LeadReassigned';

export const CONTACT_EVENT_TYPES = [
  ContactCreated,
  ContactUpdated,
  ContactAssigned,
  LeadQualityChanged,
  ContactStatusChanged,
  CallStarted,
  CallLogged,
  LeadStatusChanged,
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
] as const;

/** The follow-up lifecycle events after FollowUpScheduled: each one's data carries followUpId and contactId. */
export const FOLLOW_UP_LIFECYCLE_EVENT_TYPES = [
  FollowUpSnoozed,
  FollowUpRescheduled,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpDeferred,
  FollowUpAttemptStarted,
  FollowUpAttemptSucceeded,
  FollowUpAttemptFailed,
  FollowUpExpired,
] as const;

export interface ContactCreatedData {
  readonly contactId: string;
  readonly name: string;
  /** E.164 */
  readonly phone: string;
  /**
   * IANA zone name; null: none of its own, the organization's whatever it is at the time. Contacts created before
   * migration 0030 carry a copy of the org's zone of that moment, which nothing tells from a choice.
   */
  readonly timezone: string | null;
  readonly leadQuality: LeadQuality;
  readonly leadStatus: LeadStatus;
  readonly assignedAgentId: string | null;
  readonly tags: readonly string[];
  readonly campaignId: string | null;
  readonly status: ContactStatus;
}

export interface ContactChanges {
  readonly name?: string;
  readonly phone?: string;
  /** null: from now on the organization's. */
  readonly timezone?: string | null;
  readonly tags?: readonly string[];
  readonly campaignId?: string | null;
}

export interface ContactUpdatedData {
  readonly contactId: string;
  /** Only the fields whose value really changed. */
  readonly changes: ContactChanges;
}

export interface ContactAssignedData {
  readonly contactId: string;
  readonly fromAgentId: string | null;
  readonly toAgentId: string | null;
  /** ISO-8601, UTC: when it was handed over. Absent on events recorded before 2026-12-07. */
  readonly at?: string;
}

export interface LeadQualityChangedData {
  readonly contactId: string;
  readonly from: LeadQuality;
  readonly to: LeadQuality;
}

export interface ContactStatusChangedData {
  readonly contactId: string;
  readonly from: ContactStatus;
  readonly to: ContactStatus;
}

/** A live call (`In-progress`); its final status arrives later as `CallLogged` with the same callId. */
export interface CallStartedData {
  readonly callId: string;
  readonly contactId: string;
  readonly agentId: string;
  readonly direction: CallDirection;
  /** ISO-8601, UTC */
  readonly startedAt: string;
  readonly campaignId: string | null;
  readonly tags: readonly string[];
}

/** A final call: one attempt. */
export interface CallLoggedData {
  readonly callId: string;
  readonly contactId: string;
  readonly agentId: string;
  readonly direction: CallDirection;
  readonly status: FinalCallStatus;
  readonly durationSec: number;
  /** durationSec > 0, whatever the status */
  readonly connected: boolean;
  /** ISO-8601, UTC */
  readonly startedAt: string;
  readonly note: string | null;
  readonly campaignId: string | null;
  readonly tags: readonly string[];
  /** The follow-up this call was an attempt of: the one the dialler named, or the one whose attempt it ended unnamed (since 2026-12-07). */
  readonly followUpId: string | null;
}

export type LeadStatusCause =
  | { readonly kind: 'call'; readonly callId: string; readonly callStatus: FinalCallStatus }
  | { readonly kind: 'follow_up_scheduled'; readonly followUpId: string }
  | { readonly kind: 'manual' };

export interface LeadStatusChangedData {
  readonly contactId: string;
  readonly from: LeadStatus;
  readonly to: LeadStatus;
  readonly cause: LeadStatusCause;
}

export interface NoteAddedData {
  readonly noteId: string;
  readonly contactId: string;
  readonly authorId: string;
  readonly text: string;
  /** ISO-8601, UTC */
  readonly at: string;
}

export interface FollowUpScheduledData {
  readonly followUpId: string;
  readonly contactId: string;
  readonly type: FollowUpType;
  /** The due time (ISO-8601, UTC); a past time is accepted and is due at once. */
  readonly scheduledAt: string;
  /** null: inherit (routing picks the contact's assigned agent, else the campaign's pool, at execution). */
  readonly agentId: string | null;
  readonly priority: FollowUpPriority;
  readonly maxAttempts: number;
  readonly allowOutOfWindow: boolean;
  readonly notes: string | null;
  readonly campaignId: string | null;
  readonly source: FollowUpSource;
  /** sms only */
  readonly message: string | null;
  /** webhook only */
  readonly url: string | null;
  /** The call whose outcome scheduled it (`Follow up`, `Rescheduled`). */
  readonly callId: string | null;
}

interface FollowUpRef {
  readonly followUpId: string;
  readonly contactId: string;
}

/**
 * `schedule` in the events below is the follow-up's schedule number after the event: it starts at 1 with
 * FollowUpScheduled and grows by one with every event that sets a new next attempt time. A worker job is made
 * for one schedule number; a job whose number is no longer the follow-up's is stale.
 */

/** Status `snoozed`; due again (scheduledAt and nextAttemptAt) at `until`. */
export interface FollowUpSnoozedData extends FollowUpRef {
  /** ISO-8601, UTC: the new due time */
  readonly until: string;
  readonly previousScheduledAt: string;
  readonly schedule: number;
  /**
   * The attempt that was open when the follow-up was snoozed (a queued call nobody made yet), withdrawn: it no
   * longer counts, so the follow-up's attempts go back to withdrawnAttempt - 1. null when no attempt was open.
   */
  readonly withdrawnAttempt: number | null;
}

/** Status `scheduled`; due time and next attempt move to `scheduledAt`. */
export interface FollowUpRescheduledData extends FollowUpRef {
  readonly scheduledAt: string;
  readonly previousScheduledAt: string;
  readonly schedule: number;
  /** As in FollowUpSnoozedData. */
  readonly withdrawnAttempt: number | null;
}

/** Ended: `cancelled`. */
export interface FollowUpCancelledData extends FollowUpRef {
  readonly reason: string | null;
}

/** Ended: `completed`, by hand or by the hub's `done` (not by an attempt: see FollowUpAttemptSucceeded). */
export interface FollowUpCompletedData extends FollowUpRef {
  readonly how: FollowUpCompletion;
  /** The user who completed it, when known. */
  readonly by: string | null;
}

/** Not run now (outside the calling window): no attempt counted; only nextAttemptAt moves, never scheduledAt. */
export interface FollowUpDeferredData extends FollowUpRef {
  readonly reason: FollowUpDeferralReason;
  readonly nextAttemptAt: string;
  readonly schedule: number;
}

/** Attempt n of maxAttempts counted; status `queued` for a call, `in_progress` for sms and webhook. */
export interface FollowUpAttemptStartedData extends FollowUpRef {
  readonly attempt: number;
  readonly maxAttempts: number;
  /** It runs outside the calling window, by the follow-up's allowOutOfWindow override. */
  readonly outOfWindow: boolean;
  /** ISO-8601, UTC */
  readonly at: string;
  /** The follow-up's schedule when the attempt started: with the attempt number, it names this attempt uniquely. */
  readonly schedule?: number;
  /**
   * The agent the attempt is for (SPEC §5 routing: the follow-up's own, else the contact's, else its campaign's
   * pool); null when none. Absent on attempts recorded before routing was.
   */
  readonly agentId?: string | null;
  /**
   * A call attempt only: true when it was sent to the org's dialler (the settings the executor started it with had
   * one), which makes its timeout job; false when there was none (the agent calls: no timeout), or when a pushed call
   * started it. Fixed at the start, so a dialler added or removed later changes nothing for this attempt. Absent on
   * sms and webhook attempts, and on call attempts recorded before it was: whether the org has a dialler now stands in.
   */
  readonly dialled?: boolean;
}

/** Ended: `completed`. */
export interface FollowUpAttemptSucceededData extends FollowUpRef {
  readonly attempt: number;
  /** The call that ended a call attempt. */
  readonly callId: string | null;
  /** Free text from the executor (an sms provider's message id, a webhook's status code…). */
  readonly detail: string | null;
}

/** retryAt set: status `scheduled`, next attempt at retryAt. retryAt null (it was the last attempt): `failed`, ended. */
export interface FollowUpAttemptFailedData extends FollowUpRef {
  readonly attempt: number;
  /** e.g. `Busy`, `No Answer`, `Missed` (the call status), `timeout`, `http 500` */
  readonly reason: string;
  readonly callId: string | null;
  readonly retryAt: string | null;
  /** The new schedule number when retryAt is set; null otherwise. */
  readonly schedule: number | null;
  /** When the attempt ended (the decision's clock); absent in events stored before it was recorded. */
  readonly at?: string;
}

/** Ended: `expired`, overdue for longer than the expiry period. */
export interface FollowUpExpiredData extends FollowUpRef {
  /** The due time (scheduledAt) it was overdue since. */
  readonly overdueSince: string;
  /** ISO-8601, UTC: when the periodic job expired it */
  readonly at: string;
}

export const REASSIGNMENT_STRATEGIES = ['round_robin', 'least_loaded'] as const;
export type ReassignmentStrategy = (typeof REASSIGNMENT_STRATEGIES)[number];
export const REASSIGNMENT_SCOPES = ['org', 'branch', 'department'] as const;
export type ReassignmentScope = (typeof REASSIGNMENT_SCOPES)[number];

/**
 * Auto lead assignment (SPEC §7) moved an unreached lead to another agent. The contact's assignedAgentId becomes
 * toAgentId; its follow-ups without an agent of their own (agentId null: inherit) follow it, explicit ones stay.
 */
export interface LeadReassignedData {
  readonly contactId: string;
  readonly fromAgentId: string | null;
  readonly toAgentId: string;
  /** The recycled lead status it was in. */
  readonly leadStatus: LeadStatus;
  readonly strategy: ReassignmentStrategy;
  readonly scope: ReassignmentScope;
  /** How many times the lead has been auto-reassigned, this one included. */
  readonly reassignments: number;
  /** ISO-8601, UTC: when it was handed over. Absent on events recorded before 2026-12-07. */
  readonly at?: string;
}

export type ContactEvent =
  | { type: typeof ContactCreated; data: ContactCreatedData }
  | { type: typeof ContactUpdated; data: ContactUpdatedData }
  | { type: typeof ContactAssigned; data: ContactAssignedData }
  | { type: typeof LeadQualityChanged; data: LeadQualityChangedData }
  | { type: typeof ContactStatusChanged; data: ContactStatusChangedData }
  | { type: typeof CallStarted; data: CallStartedData }
  | { type: typeof CallLogged; data: CallLoggedData }
  | { type: typeof LeadStatusChanged; data: LeadStatusChangedData }
  | { type: typeof NoteAdded; data: NoteAddedData }
  | { type: typeof FollowUpScheduled; data: FollowUpScheduledData }
  | { type: typeof FollowUpSnoozed; data: FollowUpSnoozedData }
  | { type: typeof FollowUpRescheduled; data: FollowUpRescheduledData }
  | { type: typeof FollowUpCancelled; data: FollowUpCancelledData }
  | { type: typeof FollowUpCompleted; data: FollowUpCompletedData }
  | { type: typeof FollowUpDeferred; data: FollowUpDeferredData }
  | { type: typeof FollowUpAttemptStarted; data: FollowUpAttemptStartedData }
  | { type: typeof FollowUpAttemptSucceeded; data: FollowUpAttemptSucceededData }
  | { type: typeof FollowUpAttemptFailed; data: FollowUpAttemptFailedData }
  | { type: typeof FollowUpExpired; data: FollowUpExpiredData }
  | { type: typeof LeadReassigned; data: LeadReassignedData };

export type ContactEventType = ContactEvent['type'];

export const contactStream = (contactId: string) => `contact-${contactId}`;

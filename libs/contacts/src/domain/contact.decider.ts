import { Map as ImmutableMap, OrderedMap, Set as ImmutableSet } from 'immutable';
import { ConflictError, FieldProblem, NotFoundError, ValidationError, withEveryProblem } from '@app/shared';
import {
  CALL_DIRECTIONS,
  CALL_STATUSES,
  CONTACT_STATUSES,
  CallDirection,
  CallLogged,
  CallLoggedData,
  CallStarted,
  CallStatus,
  ContactAssigned,
  ContactChanges,
  ContactCreated,
  ContactEvent,
  ContactStatus,
  ContactStatusChanged,
  ContactUpdated,
  DEFAULT_LEAD_QUALITY,
  FOLLOW_UP_DEFAULTS,
  FinalCallStatus,
  FollowUpPriority,
  FollowUpAttemptFailed,
  FollowUpAttemptStarted,
  FollowUpAttemptSucceeded,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpDeferred,
  FollowUpExpired,
  FollowUpRescheduled,
  FollowUpScheduled,
  FollowUpScheduledData,
  FollowUpSnoozed,
  FollowUpSource,
  FollowUpType,
  INITIAL_LEAD_STATUS,
  LEAD_QUALITIES,
  LEAD_STATUSES,
  LeadQuality,
  LeadQualityChanged,
  LeadReassigned,
  LeadStatus,
  LeadStatusCause,
  LeadStatusChanged,
  NoteAdded,
  SOURCES,
  isOpenFollowUpStatus,
  isFinalCallStatus,
} from './contact.events';
import { isoUtc, normaliseTags, optionalText, requireOneOf, requireText, sameTags, UNKNOWN_FOLLOW_UP, validName, validPhone, newTimeZone } from './contact.invariants';
import {
  checkCallback,
  checkDuration,
  checkFollowUpFields,
  createContactProblems,
  followUpProblems,
  logCallProblems,
  noteText,
  refuseStrayFollowUp,
  requireCallbackAt,
  requireFollowUp,
  updateContactProblems,
} from './contact.problems';
import { leadStatusAfterFollowUpScheduled, nextLeadStatus } from './lead-status';
import { ReassignLead, RecycleStreak, decideReassignment, recycleAfter } from './reassignment';
import { FollowUpCommand, FollowUpState, callAttemptEvents, callEnd, decideFollowUp, evolveFollowUp, followUpFromScheduled, isCallAttemptCandidate } from './follow-up.decider';

// ---------------------------------------------------------------------------------------------------------------
// State

export interface ContactCallState {
  readonly status: CallStatus;
  /** false while only `In-progress` is known */
  readonly final: boolean;
  /** When a final call ended (callEnd), and whose it was; absent while only `In-progress` is known. */
  readonly endedAt?: string;
  readonly agentId?: string;
  /** When a call known only as `In-progress` started (CallStarted); absent for a final one, or one folded before. */
  readonly startedAt?: string;
}

export interface ContactState {
  readonly exists: boolean;
  readonly contactId: string | null;
  readonly name: string;
  readonly phone: string;
  /** null: the organization's, as it is at each moment (the worker's calling window reads the org's settings then). */
  readonly timezone: string | null;
  readonly tags: readonly string[];
  readonly leadStatus: LeadStatus;
  readonly leadQuality: LeadQuality;
  readonly assignedAgentId: string | null;
  readonly status: ContactStatus;
  readonly campaignId: string | null;
  /**
   * Every call of the contact by callId. Persistent collections (immutable.js): each call adds in about a microsecond
   * whatever the lead's history, where copying a native Map per call cost O(calls) (33 µs at 1,000 calls, and
   * folding such a stream from scratch 16 ms), while every earlier state stays valid.
   */
  readonly calls: ImmutableMap<string, ContactCallState>;
  /**
   * When the latest final call logged ended (start + duration: SPEC §4's "last call"); null before the first.
   * Optional: a state cached by a process before it was kept has none, and takes the next call as the last.
   */
  readonly lastCallEndedAt?: string | null;
  readonly noteIds: ImmutableSet<string>;
  /** Ids of every follow-up of the contact, ended or not (kept for the readers that only need ids). */
  readonly followUpIds: ImmutableSet<string>;
  /**
   * Every follow-up of the contact by id, with its lifecycle (SPEC §5), in the order they were scheduled (an
   * OrderedMap, as a native Map iterates: the hub's done/snooze decides them in that order). Persistent too: a
   * follow-up event used to copy the whole map, O(follow-ups) per event for a lead with a long history.
   */
  readonly followUps: OrderedMap<string, FollowUpState>;
  /**
   * Ids of the call follow-ups an outbound call naming no follow-up may be an attempt of (followUpOfCall): those with
   * an attempt open (queued at the dialler) or awaiting a retry. Usually none or one, where the follow-ups are all the
   * contact ever had: looking through those for every call cost a lead with a long history more at each call (4 % of
   * the service's CPU in bench:ingest's batches, where leads gather open follow-ups).
   */
  readonly callAttemptCandidates: readonly string[];
  /** Events folded so far: the stream version of the last one. */
  readonly version: number;
  /** The open recycling streak (auto lead assignment), if any: see reassignment.ts. */
  readonly recycle: RecycleStreak | null;
  /** Auto reassignments so far. */
  readonly reassignments: number;
  /**
   * When the lead was last handed to an agent, by hand or by auto assignment (null: never, or only by events recorded
   * before the time was kept). A call that ended before it was not the current agent's: it opens no recycling streak.
   */
  readonly assignedAt?: string | null;
}

export const initialContactState: ContactState = {
  exists: false,
  contactId: null,
  name: '',
  phone: '',
  timezone: null,
  tags: [],
  leadStatus: INITIAL_LEAD_STATUS,
  leadQuality: DEFAULT_LEAD_QUALITY,
  assignedAgentId: null,
  status: 'ACTIVE',
  campaignId: null,
  calls: ImmutableMap(),
  noteIds: ImmutableSet(),
  followUpIds: ImmutableSet(),
  followUps: OrderedMap(),
  callAttemptCandidates: [],
  version: 0,
  recycle: null,
  reassignments: 0,
};

// ---------------------------------------------------------------------------------------------------------------
// Commands

export interface CreateContact {
  readonly type: 'CreateContact';
  readonly contactId: string;
  readonly name: string;
  readonly phone: string;
  /** Absent or null: none of its own, so it follows the org's, changes included (not a copy of today's). */
  readonly timezone?: string | null;
  /** [WARM] */
  readonly leadQuality?: LeadQuality;
  readonly assignedAgentId?: string | null;
  readonly tags?: readonly string[];
  readonly campaignId?: string | null;
}

/**
 * Absent field: unchanged. `assignedAgentId: null` unassigns, `campaignId: null` clears the campaign, `timezone: null`
 * makes the contact follow the org's again.
 */
export interface UpdateContact {
  readonly type: 'UpdateContact';
  readonly contactId: string;
  readonly name?: string;
  readonly phone?: string;
  readonly timezone?: string | null;
  readonly tags?: readonly string[];
  readonly campaignId?: string | null;
  readonly leadQuality?: LeadQuality;
  readonly assignedAgentId?: string | null;
  readonly status?: ContactStatus;
  /** A manual lead status change (cause `manual`). */
  readonly leadStatus?: LeadStatus;
  /** ISO-8601, UTC: now (a handover's time, ContactAssigned.at). */
  readonly at: string;
}

export interface CallInput {
  readonly callId: string;
  readonly agentId: string;
  readonly direction: CallDirection;
  readonly status: CallStatus;
  readonly durationSec: number;
  readonly startedAt: string;
  readonly note?: string | null;
  /** The lead status the push asks for; read for `Called` only (SPEC §4). */
  readonly leadStatus?: LeadStatus | null;
  /** null or absent: the contact's campaign */
  readonly campaignId?: string | null;
  readonly tags?: readonly string[];
  /** The follow-up this call was an attempt of. */
  readonly followUpId?: string | null;
}

/**
 * A follow-up to schedule: SPEC §5 fields, with the clock-dependent default (`scheduledAt` = now + 1 h) and
 * `followUpId` already filled in by the handler. See FOLLOW_UP_DEFAULTS for the others.
 */
export interface FollowUpInput {
  readonly followUpId: string;
  readonly type: FollowUpType;
  readonly scheduledAt: string;
  /** null or absent: inherit (routing decides at execution) */
  readonly agentId?: string | null;
  readonly priority: FollowUpPriority;
  readonly maxAttempts: number;
  readonly allowOutOfWindow: boolean;
  readonly notes?: string | null;
  /** null or absent: the call's campaign if it comes from a call, else the contact's */
  readonly campaignId?: string | null;
  /** required for sms, ignored otherwise */
  readonly message?: string | null;
  /** required for webhook, ignored otherwise; whether http / the host is allowed is the handler's check (org settings) */
  readonly url?: string | null;
  /** For a `Follow up` push, the source the dialler names; absent: `call_outcome`. (ScheduleFollowUp has its own.) */
  readonly source?: FollowUpSource;
}

/** What a `Rescheduled` push carries: the lead asked to be called back at `callbackAt`. */
export interface CallbackInput {
  readonly followUpId: string;
  readonly callbackAt: string;
  readonly reason?: string | null;
}

export interface LogCall {
  readonly type: 'LogCall';
  readonly contactId: string;
  readonly call: CallInput;
  /**
   * Required when status is `Follow up`. With `Rescheduled`, optional: the callback's §5 fields (agent, priority,
   * attempts, out-of-window override, notes, campaign); it is a call at callbackAt with source lead_request, so its
   * scheduledAt must be callbackAt (the ingest sets it so when the push leaves it out). Refused with other statuses.
   */
  readonly followUp?: FollowUpInput;
  /** Required when status is `Rescheduled`, ignored otherwise. */
  readonly callback?: CallbackInput;
  /**
   * The handler's clock (ISO) and the org's retryDelaySeconds. With both, a final call ends the attempt of the
   * call follow-up it belongs to (see callAttemptEvents); without them the call ends no attempt.
   */
  readonly now?: string;
  readonly retryDelaySeconds?: number;
}

export interface AddNote {
  readonly type: 'AddNote';
  readonly contactId: string;
  readonly noteId: string;
  readonly authorId: string;
  readonly text: string;
  readonly at: string;
}

export interface ScheduleFollowUp {
  readonly type: 'ScheduleFollowUp';
  readonly contactId: string;
  readonly source: FollowUpSource;
  readonly followUp: FollowUpInput;
}

export type ContactCommand = CreateContact | UpdateContact | LogCall | AddNote | ScheduleFollowUp | FollowUpCommand | ReassignLead;

// ---------------------------------------------------------------------------------------------------------------
// Evolve

export function evolveContact(state: ContactState, event: ContactEvent): ContactState {
  const version = state.version + 1;
  // One copy of the state an event: evolveFacts says only what the event changes (it used to copy the whole state
  // too: two copies an event, 7 % of what the service allocated in bench:ingest's batch phase).
  const facts = evolveFacts(state, event);
  return { ...state, ...facts, version, recycle: recycleAfter(state, facts.calls ?? state.calls, event, version) };
}

const UNCHANGED: Partial<ContactState> = Object.freeze({});

/** What an event changes in the state, other than its version and recycling streak. */
function evolveFacts(state: ContactState, event: ContactEvent): Partial<ContactState> {
  switch (event.type) {
    case ContactCreated: {
      const d = event.data;
      return {
        exists: true,
        contactId: d.contactId,
        name: d.name,
        phone: d.phone,
        timezone: d.timezone,
        tags: d.tags,
        leadStatus: d.leadStatus,
        leadQuality: d.leadQuality,
        assignedAgentId: d.assignedAgentId,
        status: d.status,
        campaignId: d.campaignId,
      };
    }
    case ContactUpdated:
      return event.data.changes;
    case ContactAssigned:
      return { assignedAgentId: event.data.toAgentId, assignedAt: event.data.at ?? null };
    case LeadReassigned:
      return { assignedAgentId: event.data.toAgentId, reassignments: event.data.reassignments, assignedAt: event.data.at ?? null };
    case LeadQualityChanged:
      return { leadQuality: event.data.to };
    case ContactStatusChanged:
      return { status: event.data.to };
    case LeadStatusChanged:
      return { leadStatus: event.data.to };
    case CallStarted:
      // a live update never downgrades a call already known
      if (state.calls.has(event.data.callId)) return UNCHANGED;
      return { calls: state.calls.set(event.data.callId, { status: 'In-progress', final: false, startedAt: event.data.startedAt }) };
    case CallLogged: {
      const last = state.lastCallEndedAt ?? null;
      const ended = callEnd(event.data);
      return {
        calls: state.calls.set(event.data.callId, { status: event.data.status, final: true, endedAt: ended, agentId: event.data.agentId }),
        lastCallEndedAt: last !== null && last > ended ? last : ended,
      };
    }
    case NoteAdded:
      return { noteIds: state.noteIds.add(event.data.noteId) };
    case FollowUpScheduled:
      return {
        followUpIds: state.followUpIds.add(event.data.followUpId),
        followUps: state.followUps.set(event.data.followUpId, followUpFromScheduled(event.data)),
      };
    case FollowUpSnoozed:
    case FollowUpRescheduled:
    case FollowUpCancelled:
    case FollowUpCompleted:
    case FollowUpDeferred:
    case FollowUpAttemptStarted:
    case FollowUpAttemptSucceeded:
    case FollowUpAttemptFailed:
    case FollowUpExpired: {
      const followUp = state.followUps.get(event.data.followUpId);
      if (!followUp) return UNCHANGED;
      const next = evolveFollowUp(followUp, event);
      const [was, is] = [isCallAttemptCandidate(followUp), isCallAttemptCandidate(next)];
      const callAttemptCandidates = was === is ? state.callAttemptCandidates : is ? [...state.callAttemptCandidates, next.id] : state.callAttemptCandidates.filter((id) => id !== next.id);
      return { followUps: state.followUps.set(followUp.id, next), callAttemptCandidates };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Decide

/**
 * Pure: no clock, no ids, no I/O. Whether agents, campaigns and users exist, whether a webhook host is allowed,
 * and who may do what are the handler's checks. An ARCHIVED contact still takes calls (diallers lag behind),
 * notes and follow-ups, and is off the hub; but no outreach goes to it: a follow-up that comes due while its
 * contact is archived is cancelled instead of run (see followUpCommand).
 */
export function decideContact(command: ContactCommand, state: ContactState): ContactEvent[] {
  switch (command.type) {
    case 'CreateContact':
      return withEveryInputProblem(createContact, createContactProblems, command, state);
    case 'UpdateContact':
      return withEveryInputProblem(updateContact, updateContactProblems, command, state);
    case 'LogCall':
      return withEveryInputProblem(logCall, logCallProblems, command, state);
    case 'AddNote':
      return addNote(command, state);
    case 'ScheduleFollowUp':
      return withEveryInputProblem(scheduleFollowUp, (c) => followUpProblems(c.followUp, c.source, ''), command, state);
    case 'SnoozeFollowUp':
    case 'RescheduleFollowUp':
    case 'CancelFollowUp':
    case 'CompleteFollowUp':
    case 'StartFollowUpAttempt':
    case 'RecordFollowUpAttemptResult':
    case 'ExpireFollowUp':
      return followUpCommand(command, state);
    case 'ReassignLead':
      ensureExists(state, command.contactId);
      return decideReassignment(command, state).events;
  }
}

/**
 * `decide`, refusing bad input with every problem `problems` finds in it (SPEC §9: a 400 names each bad field), not
 * only the first the decider met; they are looked for only then, so valid input pays nothing for it.
 */
function withEveryInputProblem<C extends ContactCommand>(
  decide: (command: C, state: ContactState) => ContactEvent[],
  problems: (command: C) => readonly FieldProblem[],
  command: C,
  state: ContactState,
): ContactEvent[] {
  try {
    return decide(command, state);
  } catch (error) {
    throw withEveryProblem(error, () => problems(command));
  }
}

/** Shaped like the event store's `Decider`, for foldStream / decideAndAppend. */
export const contactDecider = {
  initial: initialContactState,
  evolve: evolveContact,
  decide: decideContact,
};

function createContact(c: CreateContact, state: ContactState): ContactEvent[] {
  if (state.exists) throw new ConflictError(`contact ${c.contactId} exists already`);
  const leadQuality = c.leadQuality ?? DEFAULT_LEAD_QUALITY;
  requireOneOf(LEAD_QUALITIES, leadQuality, 'leadQuality');
  return [
    {
      type: ContactCreated,
      data: {
        contactId: c.contactId,
        name: validName(c.name),
        phone: validPhone(c.phone),
        timezone: c.timezone == null ? null : newTimeZone(c.timezone),
        leadQuality,
        leadStatus: INITIAL_LEAD_STATUS,
        assignedAgentId: c.assignedAgentId ?? null,
        tags: normaliseTags(c.tags ?? [], 'tags'),
        campaignId: c.campaignId ?? null,
        status: 'ACTIVE',
      },
    },
  ];
}

/** Event order: ContactUpdated, LeadQualityChanged, ContactAssigned, LeadStatusChanged, ContactStatusChanged. */
function updateContact(c: UpdateContact, state: ContactState): ContactEvent[] {
  ensureExists(state, c.contactId);
  const contactId = c.contactId;
  const changes: { -readonly [K in keyof ContactChanges]: ContactChanges[K] } = {};
  if (c.name !== undefined) {
    const name = validName(c.name);
    if (name !== state.name) changes.name = name;
  }
  if (c.phone !== undefined) {
    const phone = validPhone(c.phone);
    if (phone !== state.phone) changes.phone = phone;
  }
  // a zone sent again as stored is no change, whatever it is (one taken before only IANA names were: it keeps working)
  if (c.timezone !== undefined && c.timezone !== state.timezone) changes.timezone = c.timezone === null ? null : newTimeZone(c.timezone);
  if (c.tags !== undefined) {
    const tags = normaliseTags(c.tags, 'tags');
    if (!sameTags(tags, state.tags)) changes.tags = tags;
  }
  if (c.campaignId !== undefined && c.campaignId !== state.campaignId) changes.campaignId = c.campaignId;

  const events: ContactEvent[] = [];
  if (Object.keys(changes).length > 0) events.push({ type: ContactUpdated, data: { contactId, changes } });
  if (c.leadQuality !== undefined && c.leadQuality !== state.leadQuality) {
    requireOneOf(LEAD_QUALITIES, c.leadQuality, 'leadQuality');
    events.push({ type: LeadQualityChanged, data: { contactId, from: state.leadQuality, to: c.leadQuality } });
  }
  if (c.assignedAgentId !== undefined && c.assignedAgentId !== state.assignedAgentId) {
    events.push({ type: ContactAssigned, data: { contactId, fromAgentId: state.assignedAgentId, toAgentId: c.assignedAgentId, at: isoUtc(c.at, 'at') } });
  }
  if (c.leadStatus !== undefined && c.leadStatus !== state.leadStatus) {
    requireOneOf(LEAD_STATUSES, c.leadStatus, 'leadStatus');
    events.push(leadStatusChanged(contactId, state.leadStatus, c.leadStatus, { kind: 'manual' }));
  }
  if (c.status !== undefined && c.status !== state.status) {
    requireOneOf(CONTACT_STATUSES, c.status, 'status');
    events.push({ type: ContactStatusChanged, data: { contactId, from: state.status, to: c.status } });
  }
  return events;
}

/**
 * A call may name only a follow-up of its contact (SPEC §2: the follow-up it was an attempt of): another is bad input.
 * The final push of a call known as In-progress is taken all the same, naming no follow-up: diallers send the same
 * body when a call starts and when it ends, and one started before this rule (or whose follow-up id went wrong
 * since) would otherwise stay live for ever, its outcome lost (diallers do not retry a 400).
 */
function followUpIdOf(call: LogCall['call'], state: ContactState, live: boolean): string | null {
  const named = call.followUpId ?? null;
  if (named === null || state.followUpIds.has(named)) return named;
  if (live) return null;
  throw new ValidationError('followUpId', UNKNOWN_FOLLOW_UP);
}

/**
 * Idempotent by callId + status: a known final call with the same status is a duplicate ([]), with another
 * status a conflict; `In-progress` for a call already known is a duplicate or a late live update ([]).
 * Event order for a final call: CallLogged, then the attempt it ends (FollowUpAttemptStarted when none was
 * open, then FollowUpAttemptSucceeded or FollowUpAttemptFailed; only when the command carries now and
 * retryDelaySeconds), then FollowUpScheduled (Follow up / Rescheduled), then at most one LeadStatusChanged
 * (cause: the call), so projections see the call before what it caused.
 */
function logCall(c: LogCall, state: ContactState): ContactEvent[] {
  ensureExists(state, c.contactId);
  const { call } = c;
  requireOneOf(CALL_STATUSES, call.status, 'status');
  requireText(call.callId, 'callId');
  const known = state.calls.get(call.callId);

  if (!isFinalCallStatus(call.status)) {
    // (a followUp sent with In-progress is not refused: diallers send the same body when the call starts and when it
    // ends, and the final push is the one that schedules)
    if (known) return [];
    followUpIdOf(call, state, false);
    return [{ type: CallStarted, data: callBase(c, state) }];
  }

  if (known?.final) {
    if (known.status === call.status) return [];
    throw new ConflictError(`call ${call.callId} was already logged as ${known.status}`);
  }
  const followUpId = followUpIdOf(call, state, known !== undefined);

  const status: FinalCallStatus = call.status;
  const base = callBase(c, state);
  checkDuration(call.durationSec);
  // Spelled out, not `...base`: adding properties to a spread copy cost 4% of the service's CPU in a batch profile.
  const logged: CallLoggedData = {
    callId: base.callId,
    contactId: base.contactId,
    agentId: base.agentId,
    direction: base.direction,
    startedAt: base.startedAt,
    campaignId: base.campaignId,
    tags: base.tags,
    status,
    durationSec: call.durationSec,
    connected: call.durationSec > 0,
    note: optionalText(call.note),
    followUpId,
  };
  const events: ContactEvent[] = [{ type: CallLogged, data: logged }];
  if (c.now !== undefined && c.retryDelaySeconds !== undefined) {
    const now = isoUtc(c.now, 'now');
    if (!Number.isFinite(c.retryDelaySeconds) || c.retryDelaySeconds < 0) throw new ValidationError('retryDelaySeconds', 'must be a number of seconds, 0 or more');
    const attempt = callAttemptEvents(logged, state.followUps, state.callAttemptCandidates, now, c.retryDelaySeconds);
    // A call that names no follow-up but ends one's attempt (the next final outbound call to the contact, SPEC §5) is
    // recorded as that attempt's call, as one that names it is: the call list shows which follow-up it answered.
    if (attempt.length > 0 && logged.followUpId === null) (logged as { followUpId: string | null }).followUpId = (attempt[0].data as { followUpId: string }).followUpId;
    events.push(...attempt);
  }

  let scheduled: FollowUpScheduledData | null = null;
  refuseStrayFollowUp(c);
  if (status === 'Follow up') {
    requireFollowUp(c.followUp);
    scheduled = followUpData(c.followUp, c.followUp.source ?? 'call_outcome', state, { contactId: c.contactId, prefix: 'followUp.', callId: call.callId, campaignId: logged.campaignId });
  } else if (status === 'Rescheduled') {
    scheduled = callbackFollowUp(c.callback, c.followUp, logged, state);
  }
  if (scheduled) {
    if (state.followUpIds.has(scheduled.followUpId)) throw new ConflictError(`follow-up ${scheduled.followUpId} exists already`);
    events.push({ type: FollowUpScheduled, data: scheduled });
  }

  // SPEC §4 decides by the last call, the one that ended last: a call pushed late that ended before the latest one
  // logged (a dialler's batch out of order) is recorded and ends its attempt, but does not set the lead status the
  // later call left (an old "Not Interested" over a newer "Interested"). By the end, not the start: a 20-minute call
  // whose final push comes after a Busy from another line during it is the last word. Scheduling a call follow-up
  // moves the lead to Followups whenever.
  const last = state.lastCallEndedAt ?? null;
  let to = last === null || callEnd(logged) >= last ? nextLeadStatus(state.leadStatus, status, call.leadStatus ?? undefined) : state.leadStatus;
  if (scheduled) to = leadStatusAfterFollowUpScheduled(to, scheduled.type);
  if (to !== state.leadStatus) {
    events.push(leadStatusChanged(c.contactId, state.leadStatus, to, { kind: 'call', callId: call.callId, callStatus: status }));
  }
  return events;
}

function addNote(c: AddNote, state: ContactState): ContactEvent[] {
  ensureExists(state, c.contactId);
  if (state.noteIds.has(c.noteId)) return []; // the same id again is a replay of the same request
  const text = noteText(c.text);
  requireText(c.authorId, 'authorId');
  return [{ type: NoteAdded, data: { noteId: c.noteId, contactId: c.contactId, authorId: c.authorId, text, at: isoUtc(c.at, 'at') } }];
}

/** FollowUpScheduled, then LeadStatusChanged to Followups (cause follow_up_scheduled) for a call follow-up. */
function scheduleFollowUp(c: ScheduleFollowUp, state: ContactState): ContactEvent[] {
  ensureExists(state, c.contactId);
  if (state.followUpIds.has(c.followUp.followUpId)) return []; // the same id again is a replay of the same request
  requireOneOf(SOURCES, c.source, 'source');
  const data = followUpData(c.followUp, c.source, state, { contactId: c.contactId, prefix: '', callId: null, campaignId: null });
  const events: ContactEvent[] = [{ type: FollowUpScheduled, data }];
  const to = leadStatusAfterFollowUpScheduled(state.leadStatus, data.type);
  if (to !== state.leadStatus) {
    events.push(leadStatusChanged(c.contactId, state.leadStatus, to, { kind: 'follow_up_scheduled', followUpId: data.followUpId }));
  }
  return events;
}

/** The lifecycle commands of one follow-up of this contact (follow-up.decider.ts). */
function followUpCommand(c: FollowUpCommand, state: ContactState): ContactEvent[] {
  ensureExists(state, c.contactId);
  const followUp = state.followUps.get(c.followUpId);
  if (!followUp) throw new NotFoundError('follow-up', c.followUpId);
  const decided = decideFollowUp(c, followUp);
  // An archived lead (a wrong number, a do-not-contact, a closed deal) gets no dial request, text or webhook: the
  // follow-up its job is live for ends, saying why, instead of starting an attempt, or instead of resuming one left
  // in flight by a crash. Reactivated before the due time, it runs as usual.
  if (c.type === 'StartFollowUpAttempt' && state.status === 'ARCHIVED' && c.schedule === followUp.schedule && isOpenFollowUpStatus(followUp.status)) {
    return decideFollowUp({ type: 'CancelFollowUp', contactId: c.contactId, followUpId: c.followUpId, reason: ARCHIVED_CONTACT_REASON }, followUp);
  }
  return decided;
}

/** Why the worker cancelled a follow-up instead of running it. */
export const ARCHIVED_CONTACT_REASON = 'contact archived: no outreach to an archived contact';

// ---------------------------------------------------------------------------------------------------------------
// Helpers (pure checks live in contact.invariants.ts)

function ensureExists(state: ContactState, contactId: string): void {
  if (!state.exists) throw new NotFoundError('contact', contactId);
}

function leadStatusChanged(contactId: string, from: LeadStatus, to: LeadStatus, cause: LeadStatusCause): ContactEvent {
  return { type: LeadStatusChanged, data: { contactId, from, to, cause } };
}

function callBase(c: LogCall, state: ContactState) {
  const { call } = c;
  requireText(call.agentId, 'agentId');
  requireOneOf(CALL_DIRECTIONS, call.direction, 'direction');
  return {
    callId: call.callId,
    contactId: c.contactId,
    agentId: call.agentId,
    direction: call.direction,
    startedAt: isoUtc(call.startedAt, 'startedAt'),
    campaignId: call.campaignId ?? state.campaignId,
    // A push without tags is tagged as its lead is at the time (the report by tag answers "how do our hot-list leads
    // pick up?" without the dialler repeating every lead's tags); an explicit [] stays untagged.
    tags: normaliseTags(call.tags ?? state.tags, 'tags'),
  };
}

/**
 * `Rescheduled`: the lead asked to be called back. A call follow-up at callbackAt, source lead_request, with the §5
 * defaults or the fields the push's optional `followUp` gives (a lead who asks for 21:30 needs allowOutOfWindow). Its
 * notes are the push's reason, else followUp.notes, else the call's note (where the help pages tell agents to write why
 * the lead deferred).
 * agentId null (inherit): routing gives it to whoever holds the lead when it comes due, which is the calling agent
 * unless the lead was reassigned meanwhile (then the new owner makes the callback).
 */
function callbackFollowUp(callback: CallbackInput | undefined, fields: FollowUpInput | undefined, call: CallLoggedData, state: ContactState): FollowUpScheduledData {
  requireCallbackAt(callback);
  const scheduledAt = checkCallback(callback, fields);
  const input: FollowUpInput = {
    ...(fields ?? FOLLOW_UP_DEFAULTS),
    followUpId: callback.followUpId,
    type: 'call',
    scheduledAt,
    notes: optionalText(callback.reason) ?? optionalText(fields?.notes) ?? call.note,
  };
  return followUpData(input, 'lead_request', state, { contactId: call.contactId, prefix: 'followUp.', callId: call.callId, campaignId: call.campaignId });
}

function followUpData(
  f: FollowUpInput,
  source: FollowUpSource,
  state: ContactState,
  ctx: { contactId: string; prefix: string; callId: string | null; campaignId: string | null },
): FollowUpScheduledData {
  const field = (name: string) => `${ctx.prefix}${name}`;
  checkFollowUpFields(f, source, field);
  const message = f.type === 'sms' ? optionalText(f.message) : null;
  const url = f.type === 'webhook' ? optionalText(f.url) : null;
  return {
    followUpId: f.followUpId,
    contactId: ctx.contactId,
    type: f.type,
    scheduledAt: isoUtc(f.scheduledAt, field('scheduledAt')),
    agentId: f.agentId ?? null,
    priority: f.priority,
    maxAttempts: f.maxAttempts,
    allowOutOfWindow: f.allowOutOfWindow,
    notes: optionalText(f.notes),
    campaignId: f.campaignId ?? ctx.campaignId ?? state.campaignId,
    source,
    message,
    url,
    callId: ctx.callId,
  };
}

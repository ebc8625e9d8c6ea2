/**
 * Auto lead assignment (SPEC §7), the pure part: when a lead is "recycled", whether it may be reassigned, and to
 * whom. No clock, no I/O: the handler brings the settings, the candidate agents and their load.
 *
 * A lead is recycled from the first unreached event (a final call that did not connect, or a lead status change
 * into a status nobody has spoken to) until something closes the streak: a connected call or a spoken-to
 * status (it was spoken to), a reassignment (auto or by hand: the new owner gets a fresh chance), or a change to
 * another status (that starts its own streak). Each unreached event makes one delayed job naming its stream
 * version; the job reassigns only if the streak that event belongs to is still open, so any number of triggers
 * in one streak reassign the lead once.
 *
 * A call counts by when it happened, not when the dialler pushed it: one that ended before the lead was handed to its
 * current agent (a dialler's late upload of the previous owner's No Answer) opens no streak, nor does the lead status it
 * sets, and the new owner keeps their fresh chance.
 */
import {
  CallLogged,
  ContactAssigned,
  ContactEvent,
  LeadReassigned,
  LeadReassignedData,
  LeadStatus,
  LeadStatusChanged,
  ReassignmentScope,
  ReassignmentStrategy,
  isSpokenTo,
} from './contact.events';

export interface RecycleStreak {
  /** The lead status the streak is about. */
  readonly status: LeadStatus;
  /** Stream version of the event that opened it. */
  readonly since: number;
}

/** What the streak is decided with: the contact before the event, and its calls after it (when each call ended). */
export interface RecycleFacts {
  readonly leadStatus: LeadStatus;
  readonly recycle: RecycleStreak | null;
  /** When the lead was last handed to an agent (ContactState.assignedAt), and to whom. */
  readonly assignedAt?: string | null;
  readonly assignedAgentId: string | null;
}

/** A call the contact knows: when it ended (final calls) and whose it was. */
type KnownCalls = { get(callId: string): { readonly endedAt?: string; readonly agentId?: string } | undefined };

/**
 * The streak after `event`, given the contact before it (`prev`), the contact's calls once the event is folded (when
 * each final call ended) and the event's stream version.
 */
export function recycleAfter(
  prev: RecycleFacts,
  calls: KnownCalls,
  event: ContactEvent,
  version: number,
): RecycleStreak | null {
  const streak = prev.recycle;
  switch (event.type) {
    case CallLogged:
      // a call of the previous owner's time neither opens nor closes the current owner's streak
      if (endedBeforeOwner(prev, calls, event.data.callId)) return streak;
      if (event.data.connected) return null;
      if (streak) return streak;
      return isRecyclable(prev.leadStatus) ? { status: prev.leadStatus, since: version } : null;
    case LeadStatusChanged:
      if (event.data.to === prev.leadStatus) return streak;
      // The previous owner's call moved the lead (it is the last call): an open streak moves to the new status, as a
      // change of status starts its own; none opens.
      if (event.data.cause.kind === 'call' && endedBeforeOwner(prev, calls, event.data.cause.callId)) {
        return streak && isRecyclable(event.data.to) ? { status: event.data.to, since: version } : null;
      }
      return isRecyclable(event.data.to) ? { status: event.data.to, since: version } : null;
    case LeadReassigned:
    case ContactAssigned:
      return null;
    default:
      return streak;
  }
}

/**
 * Whether the call is another agent's that ended before the lead was handed to its current agent (never when the
 * handover has no time). The current owner's own calls always count: their end is on the dialler's clock and the
 * handover's on ours, and a call placed just after an auto reassignment must not be lost to a lagging dialler clock.
 */
function endedBeforeOwner(prev: RecycleFacts, calls: KnownCalls, callId: string): boolean {
  if (!prev.assignedAt) return false;
  const call = calls.get(callId);
  return call?.endedAt !== undefined && call.endedAt < prev.assignedAt && call.agentId !== prev.assignedAgentId;
}

/** Statuses a streak can be about: not spoken to, and not `New` (a lead nobody has called yet is not recycled). */
const isRecyclable = (s: LeadStatus) => !isSpokenTo(s) && s !== 'New';

export const REASSIGNMENT_SKIP_REASONS = [
  'disabled',
  'archived',
  'not_recycled',
  'status_not_recycled',
  'max_reassignments',
  'no_eligible_agent',
] as const;
export type ReassignmentSkipReason = (typeof REASSIGNMENT_SKIP_REASONS)[number];

export interface ReassignmentRules {
  readonly enabled: boolean;
  readonly statuses: readonly string[];
  readonly maxReassignments: number;
  readonly strategy: ReassignmentStrategy;
  readonly scope: ReassignmentScope;
}

/** What the reassignment check reads of the contact. */
export interface RecyclableContact {
  readonly status: 'ACTIVE' | 'ARCHIVED';
  readonly leadStatus: LeadStatus;
  readonly assignedAgentId: string | null;
  readonly recycle: RecycleStreak | null;
  readonly reassignments: number;
}

/**
 * Why the lead must not be reassigned for the trigger at `triggerVersion`, or null when it may be. The trigger's
 * streak must be the open one (opened at or before the trigger: not closed or replaced since).
 */
export function reassignmentBlocker(contact: RecyclableContact, triggerVersion: number, rules: ReassignmentRules): ReassignmentSkipReason | null {
  if (!rules.enabled) return 'disabled';
  if (contact.status !== 'ACTIVE') return 'archived';
  if (!contact.recycle || contact.recycle.since > triggerVersion || contact.recycle.status !== contact.leadStatus) return 'not_recycled';
  if (!rules.statuses.includes(contact.leadStatus)) return 'status_not_recycled';
  if (contact.reassignments >= rules.maxReassignments) return 'max_reassignments';
  return null;
}

export interface CandidateAgent {
  readonly id: string;
  readonly name: string;
  readonly branch: string | null;
  readonly department: string | null;
  /** Open follow-ups (least_loaded). */
  readonly openFollowUps: number;
  /** When auto-assignment last gave this agent a lead (ms since epoch), null if never (round_robin). */
  readonly lastAssignedAt: number | null;
}

/**
 * The new agent, never the current one. Candidates are the org's ACTIVE agents (the handler filters); `scope`
 * keeps the current agent's branch or department (a lead without an agent, or whose agent has none, has no
 * branch to keep: nobody is eligible). round_robin: the candidate auto-assignment gave a lead least recently
 * (never first), which rotates through the pool as new agents join or leave; least_loaded: fewest open
 * follow-ups, then as round_robin. Ties end on name, then id, so the choice is deterministic.
 */
export function chooseAgent(
  strategy: ReassignmentStrategy,
  scope: ReassignmentScope,
  current: { readonly id: string; readonly branch: string | null; readonly department: string | null } | null,
  candidates: readonly CandidateAgent[],
): CandidateAgent | null {
  const inScope = candidates.filter((c) => {
    if (current && c.id === current.id) return false;
    if (scope === 'org') return true;
    const key = scope === 'branch' ? current?.branch : current?.department;
    if (key === null || key === undefined) return false;
    return (scope === 'branch' ? c.branch : c.department) === key;
  });
  const byRotation = (a: CandidateAgent, b: CandidateAgent) =>
    (a.lastAssignedAt ?? -Infinity) - (b.lastAssignedAt ?? -Infinity) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  const order = strategy === 'least_loaded' ? (a: CandidateAgent, b: CandidateAgent) => a.openFollowUps - b.openFollowUps || byRotation(a, b) : byRotation;
  return [...inScope].sort(order)[0] ?? null;
}

export interface ReassignLead {
  readonly type: 'ReassignLead';
  readonly contactId: string;
  /** Stream version of the unreached event whose job this is. */
  readonly triggerVersion: number;
  readonly rules: ReassignmentRules;
  /** The chosen agent; null when nobody was eligible. */
  readonly toAgentId: string | null;
  /** ISO-8601, UTC: now. */
  readonly at: string;
}

/** LeadReassigned, or nothing with the reason (the caller logs and counts it). */
export function decideReassignment(c: ReassignLead, contact: RecyclableContact): { events: ContactEvent[]; skipped: ReassignmentSkipReason | null } {
  const blocker = reassignmentBlocker(contact, c.triggerVersion, c.rules);
  if (blocker) return { events: [], skipped: blocker };
  if (!c.toAgentId || c.toAgentId === contact.assignedAgentId) return { events: [], skipped: 'no_eligible_agent' };
  const data: LeadReassignedData = {
    contactId: c.contactId,
    fromAgentId: contact.assignedAgentId,
    toAgentId: c.toAgentId,
    leadStatus: contact.leadStatus,
    strategy: c.rules.strategy,
    scope: c.rules.scope,
    reassignments: contact.reassignments + 1,
    at: c.at,
  };
  return { events: [{ type: LeadReassigned, data }], skipped: null };
}

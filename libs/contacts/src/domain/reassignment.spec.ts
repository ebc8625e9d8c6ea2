import { CallLogged, ContactAssigned, ContactEvent, LeadReassigned, LeadStatus, LeadStatusChanged } from './contact.events';
import { CandidateAgent, chooseAgent, decideReassignment, RecyclableContact, RecycleFacts, recycleAfter, RecycleStreak, ReassignmentRules, reassignmentBlocker } from './reassignment';

const call = (connected: boolean): ContactEvent => ({
  type: CallLogged,
  data: {
    callId: 'c',
    contactId: 'k',
    agentId: 'a',
    direction: 'outbound',
    status: connected ? 'Called' : 'Busy',
    durationSec: connected ? 30 : 0,
    connected,
    startedAt: '2026-01-01T00:00:00.000Z',
    note: null,
    campaignId: null,
    tags: [],
    followUpId: null,
  },
});
const statusTo = (from: string, to: string): ContactEvent =>
  ({ type: LeadStatusChanged, data: { contactId: 'k', from, to, cause: { kind: 'manual' } } }) as ContactEvent;

const rules: ReassignmentRules = { enabled: true, statuses: ['Not Picked', 'Missed'], maxReassignments: 3, strategy: 'round_robin', scope: 'org' };
const contact = (over: Partial<RecyclableContact> = {}): RecyclableContact => ({
  status: 'ACTIVE',
  leadStatus: 'Not Picked',
  assignedAgentId: 'ana',
  recycle: { status: 'Not Picked', since: 5 },
  reassignments: 0,
  ...over,
});
const agent = (id: string, over: Partial<CandidateAgent> = {}): CandidateAgent => ({
  id,
  name: id,
  branch: null,
  department: null,
  openFollowUps: 0,
  lastAssignedAt: null,
  ...over,
});

const at = (leadStatus: string, recycle: RecycleStreak | null, assignedAt: string | null = null): RecycleFacts => ({ leadStatus: leadStatus as LeadStatus, recycle, assignedAt, assignedAgentId: 'b' });
const noCalls = { get: () => undefined };

describe('recycleAfter (when a lead counts as recycled)', () => {
  it('should open a streak at an unreached call on a lead already in a recycled status, and keep the first one', () => {
    const open = recycleAfter(at('Not Picked', null), noCalls, call(false), 7);
    expect(open).toEqual({ status: 'Not Picked', since: 7 });
    expect(recycleAfter(at('Not Picked', open), noCalls, call(false), 9)).toBe(open);
  });

  it('should not open a streak for a lead nobody has called yet or one spoken to', () => {
    expect(recycleAfter(at('New', null), noCalls, call(false), 2)).toBeNull();
    expect(recycleAfter(at('Interested', null), noCalls, call(false), 2)).toBeNull();
  });

  it('should open a streak on entering a recycled status and replace it on moving to another', () => {
    expect(recycleAfter(at('New', null), noCalls, statusTo('New', 'Not Picked'), 3)).toEqual({ status: 'Not Picked', since: 3 });
    expect(recycleAfter(at('Not Picked', { status: 'Not Picked', since: 3 }), noCalls, statusTo('Not Picked', 'Missed'), 8)).toEqual({ status: 'Missed', since: 8 });
  });

  it('should close the streak when the lead is spoken to, reassigned, or assigned by hand', () => {
    const open = { status: 'Not Picked' as const, since: 3 };
    expect(recycleAfter(at('Not Picked', open), noCalls, call(true), 4)).toBeNull();
    expect(recycleAfter(at('Not Picked', open), noCalls, statusTo('Not Picked', 'Interested'), 4)).toBeNull();
    expect(recycleAfter(at('Not Picked', open), noCalls, { type: ContactAssigned, data: { contactId: 'k', fromAgentId: 'a', toAgentId: 'b' } }, 4)).toBeNull();
    expect(
      recycleAfter(at('Not Picked', open), noCalls, { type: LeadReassigned, data: { contactId: 'k', fromAgentId: 'a', toAgentId: 'b', leadStatus: 'Not Picked', strategy: 'round_robin', scope: 'org', reassignments: 1 } }, 4),
    ).toBeNull();
  });
});

describe('reassignmentBlocker', () => {
  it('should let a lead still in its streak, under the maximum, be reassigned', () => {
    expect(reassignmentBlocker(contact(), 5, rules)).toBeNull();
    expect(reassignmentBlocker(contact(), 9, rules)).toBeNull(); // a later trigger of the same streak
  });

  it.each([
    ['auto-assignment is off', contact(), 5, { ...rules, enabled: false }, 'disabled'],
    ['the contact is archived', contact({ status: 'ARCHIVED' }), 5, rules, 'archived'],
    ['it was spoken to (streak closed)', contact({ recycle: null }), 5, rules, 'not_recycled'],
    ['its streak started after the trigger (closed, then reopened)', contact({ recycle: { status: 'Not Picked', since: 12 } }), 5, rules, 'not_recycled'],
    ['its status is not one the org recycles', contact({ leadStatus: 'Missed', recycle: { status: 'Missed', since: 5 } }), 5, { ...rules, statuses: ['Not Picked'] }, 'status_not_recycled'],
    ['it reached maxReassignments', contact({ reassignments: 3 }), 5, rules, 'max_reassignments'],
  ] as const)('should refuse when %s', (_, c, version, r, reason) => {
    expect(reassignmentBlocker(c, version, r)).toBe(reason);
  });
});

describe('chooseAgent', () => {
  const current = { id: 'ana', branch: 'North', department: 'Sales' };

  it('should never pick the current agent, and pick the one given a lead least recently (never first) for round_robin', () => {
    const pool = [agent('ana'), agent('bob', { lastAssignedAt: 2 }), agent('cy', { lastAssignedAt: 1 }), agent('dee')];
    expect(chooseAgent('round_robin', 'org', current, pool)?.id).toBe('dee');
    expect(chooseAgent('round_robin', 'org', current, pool.filter((a) => a.id !== 'dee'))?.id).toBe('cy');
  });

  it('should pick the agent with the fewest open follow-ups for least_loaded, ties by rotation', () => {
    const pool = [agent('bob', { openFollowUps: 4 }), agent('cy', { openFollowUps: 1, lastAssignedAt: 5 }), agent('dee', { openFollowUps: 1, lastAssignedAt: 3 })];
    expect(chooseAgent('least_loaded', 'org', current, pool)?.id).toBe('dee');
  });

  it('should keep the current agent branch or department by scope', () => {
    const pool = [agent('bob', { branch: 'South', department: 'Sales' }), agent('cy', { branch: 'North', department: 'Care' })];
    expect(chooseAgent('round_robin', 'branch', current, pool)?.id).toBe('cy');
    expect(chooseAgent('round_robin', 'department', current, pool)?.id).toBe('bob');
  });

  it('should find nobody when the scope has no other agent, or the lead has no agent with a branch to keep', () => {
    expect(chooseAgent('round_robin', 'branch', current, [agent('ana', { branch: 'North' }), agent('bob', { branch: 'South' })])).toBeNull();
    expect(chooseAgent('round_robin', 'branch', null, [agent('bob', { branch: 'South' })])).toBeNull();
    expect(chooseAgent('round_robin', 'org', null, [agent('bob')])?.id).toBe('bob');
  });
});

describe('decideReassignment', () => {
  it('should reassign to the chosen agent and count the reassignment', () => {
    expect(decideReassignment({ type: 'ReassignLead', contactId: 'k', triggerVersion: 5, rules, toAgentId: 'bob', at: '2026-01-01T10:00:00.000Z' }, contact({ reassignments: 1 }))).toEqual({
      events: [
        {
          type: LeadReassigned,
          data: { contactId: 'k', fromAgentId: 'ana', toAgentId: 'bob', leadStatus: 'Not Picked', strategy: 'round_robin', scope: 'org', reassignments: 2, at: '2026-01-01T10:00:00.000Z' },
        },
      ],
      skipped: null,
    });
  });

  it('should change nothing without an eligible agent, or when the chosen one already holds the lead', () => {
    expect(decideReassignment({ type: 'ReassignLead', contactId: 'k', triggerVersion: 5, rules, toAgentId: null, at: '2026-01-01T10:00:00.000Z' }, contact())).toEqual({ events: [], skipped: 'no_eligible_agent' });
    expect(decideReassignment({ type: 'ReassignLead', contactId: 'k', triggerVersion: 5, rules, toAgentId: 'ana', at: '2026-01-01T10:00:00.000Z' }, contact())).toEqual({ events: [], skipped: 'no_eligible_agent' });
  });
});

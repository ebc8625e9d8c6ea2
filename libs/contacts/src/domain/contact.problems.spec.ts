import { ValidationError } from '@app/shared';
import { ContactCreated, ContactCreatedData, ContactEvent } from './contact.events';
import { CallInput, ContactCommand, FollowUpInput, LogCall, decideContact, evolveContact, initialContactState } from './contact.decider';
import { createContactProblems, followUpProblems, logCallProblems, updateContactProblems } from './contact.problems';
import { prng } from '@app/testing/seeded-random';
import { FIXTURE_CONTACT_ID, fixtureContact } from '@app/testing/contact-fixture';

// ---- fixtures -------------------------------------------------------------------------------------------------

const contactId = FIXTURE_CONTACT_ID;
const contact: ContactCreatedData = fixtureContact;
const existing = [contact].map((data): ContactEvent => ({ type: ContactCreated, data })).reduce(evolveContact, initialContactState);

const call = (overrides: Record<string, unknown> = {}): CallInput =>
  ({ callId: 'call1', agentId: 'a1', direction: 'outbound', status: 'Called', durationSec: 42, startedAt: '2025-03-10T14:00:00.000Z', ...overrides }) as CallInput;
const logCall = (overrides: Record<string, unknown> = {}, extra: Partial<Omit<LogCall, 'type' | 'call'>> = {}): LogCall => ({ type: 'LogCall', contactId, call: call(overrides), ...extra });
const followUp = (overrides: Record<string, unknown> = {}): FollowUpInput =>
  ({ followUpId: 'f1', type: 'call', scheduledAt: '2025-03-11T10:00:00.000Z', agentId: null, priority: 'normal', maxAttempts: 3, allowOutOfWindow: false, ...overrides }) as FollowUpInput;

const fieldsOf = (problems: readonly { field: string }[]) => problems.map((p) => p.field);

/** The decider's refusal of `command`: every field it names (or what it did instead). */
function refusal(command: ContactCommand, state = existing): string[] | string {
  try {
    return `accepted: ${JSON.stringify(decideContact(command, state).map((e) => e.type))}`;
  } catch (error) {
    return error instanceof ValidationError ? fieldsOf(error.problems) : `${(error as Error).name}: ${(error as Error).message}`;
  }
}

// ---- the collectors ---------------------------------------------------------------------------------------------

describe(logCallProblems.name, () => {
  it('should find nothing when the call is valid', () => {
    expect(logCallProblems(logCall())).toEqual([]);
    expect(logCallProblems(logCall({ status: 'Follow up' }, { followUp: followUp() }))).toEqual([]);
    expect(logCallProblems(logCall({ status: 'Rescheduled' }, { callback: { followUpId: 'f1', callbackAt: '2025-03-11T10:00:00Z' } }))).toEqual([]);
  });

  it('should find every bad field of a call, each once and in the decider’s words, when it has several', () => {
    const problems = logCallProblems(logCall({ direction: 'sideways', startedAt: '2025-03-10', tags: 'vip' }, { callback: { followUpId: 'f1', callbackAt: '2025-03-11T10:00:00Z' } }));
    expect(problems).toEqual([
      { field: 'direction', message: 'direction must be one of inbound, outbound' },
      { field: 'startedAt', message: 'startedAt must be an ISO-8601 timestamp with an offset, like 2025-01-31T09:30:00Z' },
      { field: 'tags', message: 'tags must be a list of strings' },
      { field: 'callbackAt', message: 'callbackAt is taken only with status Rescheduled (required), or In-progress (ignored)' },
    ]);
  });

  it('should not look at what only a final call carries when the call is In-progress, nor when its status is unknown', () => {
    expect(fieldsOf(logCallProblems(logCall({ status: 'In-progress', durationSec: -1, direction: 'x' }, { callback: { followUpId: 'f1', callbackAt: 'soon' } })))).toEqual(['direction']);
    expect(fieldsOf(logCallProblems(logCall({ status: 'Voicemail', durationSec: -1 }, { followUp: followUp() })))).toEqual(['status']);
  });

  it("should check a Rescheduled push's callback and the fields its followUp gives, the time against the callback's only when that is valid", () => {
    const fields = followUp({ type: 'sms', source: 'manual', priority: 'x', scheduledAt: '2025-03-12T10:00:00Z' });
    expect(fieldsOf(logCallProblems(logCall({ status: 'Rescheduled' }, { followUp: fields, callback: { followUpId: 'f1', callbackAt: '2025-03-11T10:00:00Z' } })))).toEqual([
      'followUp.type',
      'followUp.source',
      'followUp.scheduledAt',
      'followUp.priority',
    ]);
    expect(fieldsOf(logCallProblems(logCall({ status: 'Rescheduled' }, { followUp: fields, callback: { followUpId: 'f1', callbackAt: '2025-03-11' } })))).toEqual([
      'callbackAt',
      'followUp.type',
      'followUp.source',
      'followUp.priority',
    ]);
  });
});

describe(followUpProblems.name, () => {
  it('should find every bad field of a follow-up, named with the prefix', () => {
    expect(fieldsOf(followUpProblems(followUp({ type: 'sms', message: '  ', priority: 'x', maxAttempts: 0, scheduledAt: '2025-03-11' }), 'manual', 'followUp.'))).toEqual([
      'followUp.priority',
      'followUp.maxAttempts',
      'followUp.message',
      'followUp.scheduledAt',
    ]);
    expect(followUpProblems(followUp(), 'manual', '')).toEqual([]);
  });
});

describe(createContactProblems.name, () => {
  it('should find every bad field of a contact to create, whatever their types', () => {
    const bad = { type: 'CreateContact', contactId, name: '  ', phone: 42, timezone: 'BST', tags: [1], leadQuality: 'hot' } as unknown as Parameters<typeof createContactProblems>[0];
    expect(fieldsOf(createContactProblems(bad))).toEqual(['leadQuality', 'name', 'phone', 'timezone', 'tags']);
  });
});

describe(updateContactProblems.name, () => {
  it('should look only at the fields sent', () => {
    expect(updateContactProblems({ type: 'UpdateContact', contactId, at: '' })).toEqual([]);
    expect(fieldsOf(updateContactProblems({ type: 'UpdateContact', contactId, at: '', name: ' ', status: 'GONE' as never, timezone: null }))).toEqual(['name', 'status']);
  });
});

// ---- the decider answers with them ------------------------------------------------------------------------------

describe('decideContact refusing bad input (SPEC §9: every bad field named)', () => {
  it('should refuse a call naming every bad field, not only the first it met', () => {
    expect(refusal(logCall({ direction: 'sideways', startedAt: '2025-03-10' }, { callback: { followUpId: 'f1', callbackAt: '2025-03-11T10:00:00Z' } }))).toEqual([
      'direction',
      'startedAt',
      'callbackAt',
    ]);
  });

  it("should name a fault of the contact's state beside the input's", () => {
    expect(refusal(logCall({ followUpId: 'not-of-this-contact', direction: 'sideways' }))).toEqual(['direction', 'followUpId']);
  });

  it('should refuse a follow-up to schedule, and a contact to create or change, naming each bad field', () => {
    expect(refusal({ type: 'ScheduleFollowUp', contactId, source: 'manual', followUp: followUp({ type: 'sms', message: ' ', scheduledAt: '2025-03-11' }) })).toEqual([
      'message',
      'scheduledAt',
    ]);
    expect(refusal({ type: 'CreateContact', contactId: 'c2', name: ' ', phone: '555', timezone: 'Mars/Olympus' }, initialContactState)).toEqual(['name', 'phone', 'timezone']);
    expect(refusal({ type: 'UpdateContact', contactId, name: ' ', phone: '555', at: '2025-03-10T14:00:00Z' })).toEqual(['name', 'phone']);
  });

  it('should still answer a duplicate push as a duplicate, and a conflict as a conflict, however bad its other fields', () => {
    const logged = [logCall()].flatMap((c) => decideContact(c, existing));
    const state = logged.reduce(evolveContact, existing);
    expect(decideContact(logCall({}, { callback: { followUpId: 'f1', callbackAt: 'soon' } }), state)).toEqual([]);
    expect(() => decideContact(logCall({ status: 'Busy', direction: 'sideways' }), state)).toThrow(/already logged as Called/);
  });
});

// ---- the decider and the collector agree -------------------------------------------------------------------------


const CALL_VALUES: Record<string, unknown[]> = {
  callId: ['call1', '', '  ', 7],
  agentId: ['a1', '', null],
  direction: ['outbound', 'inbound', 'sideways', undefined],
  status: ['Called', 'Busy', 'In-progress', 'Follow up', 'Rescheduled', 'Voicemail'],
  durationSec: [0, 42, -1, Number.NaN, '3'],
  startedAt: ['2025-03-10T14:00:00.000Z', '2025-03-10', '2025-02-30T10:00:00Z', '1899-12-31T23:00:00Z', 42],
  tags: [undefined, ['a'], 'a', [1]],
};
const FOLLOW_UP_VALUES: Record<string, unknown[]> = {
  type: ['call', 'sms', 'webhook', 'email'],
  scheduledAt: ['2025-03-11T10:00:00.000Z', '2025-03-11', 'soon'],
  priority: ['normal', 'x'],
  maxAttempts: [3, 0, 2.5],
  allowOutOfWindow: [false, 'yes'],
  source: [undefined, 'lead_request', 'manual', 'crm'],
  message: [null, 'hi', '  '],
  url: [null, 'https://hooks.example.com/x', 'ftp://x'],
};
const pick = <T>(random: () => number, values: readonly T[]): T => values[Math.floor(random() * values.length)];

describe('logCallProblems and the decider', () => {
  it('should agree on thousands of generated calls: the decider refuses a call as bad input exactly when the collector finds problems, naming the same fields', () => {
    const random = prng(20261207).next;
    for (let i = 0; i < 5000; i++) {
      const overrides = Object.fromEntries(Object.entries(CALL_VALUES).map(([k, values]) => [k, pick(random, values)]));
      const fields = Object.fromEntries(Object.entries(FOLLOW_UP_VALUES).map(([k, values]) => [k, pick(random, values)]));
      const command = logCall(overrides, {
        followUp: random() < 0.5 ? followUp(fields) : undefined,
        callback: random() < 0.5 ? { followUpId: 'f1', callbackAt: pick(random, ['2025-03-11T10:00:00.000Z', '2025-03-11', '']) } : undefined,
      });
      const expected = fieldsOf(logCallProblems(command));
      const answer = refusal(command);
      const refused = Array.isArray(answer) ? answer : [];
      expect({ command, refused }).toEqual({ command, refused: expected });
    }
  });
});

import 'reflect-metadata';
import { validateByRules, validateItem } from '../http/validation.pipe';
import { CALL_KEYS, isPlainValidCall } from './call.fast-check';
import { CallDto } from './calls.dto';
import { prng } from '@app/testing/seeded-random';


const UUID = '3b241101-e2bb-4255-8caf-4136c566a962';
const OTHER_UUID = 'b5a6c7d8-1e2f-4a3b-9c4d-5e6f7a8b9c0d';

/** Calls a dialler pushes every day: each must take the fast path (or the fast path would be pointless). */
const VALID: Record<string, unknown>[] = [
  { callId: 'c-1', contactId: UUID, agentId: OTHER_UUID, direction: 'outbound', status: 'Busy', durationSec: 0, startedAt: '2026-11-21T10:00:00.000Z' },
  {
    callId: 'c-2',
    contactId: UUID,
    agentId: OTHER_UUID,
    direction: 'inbound',
    status: 'Called',
    durationSec: 95,
    startedAt: '2026-11-21T10:00:00Z',
    note: 'Asked for a quote',
    leadStatus: 'Interested',
    campaignId: UUID,
    tags: ['q4', 'vip'],
    followUpId: OTHER_UUID,
  },
  {
    callId: 'c-3',
    contactId: UUID,
    agentId: OTHER_UUID,
    direction: 'outbound',
    status: 'Follow up',
    durationSec: 30,
    startedAt: '2026-11-21T10:00:00+01:00',
    followUp: { type: 'call', scheduledAt: '2026-11-22T09:00:00.000Z', agentId: UUID, priority: 'high', maxAttempts: 5, allowOutOfWindow: true, notes: 'send pricing', campaignId: UUID },
  },
  { callId: 'c-4', contactId: UUID, agentId: OTHER_UUID, direction: 'outbound', status: 'Follow up', durationSec: 30, startedAt: '2026-11-21T10:00:00Z', followUp: {} },
  {
    callId: 'c-5',
    contactId: UUID,
    agentId: OTHER_UUID,
    direction: 'outbound',
    status: 'Rescheduled',
    durationSec: 12,
    startedAt: '2026-11-21T10:00:00Z',
    callbackAt: '2026-11-21T15:00:00Z',
    reason: 'in a meeting',
  },
  { callId: 'c-6', contactId: UUID, agentId: OTHER_UUID, direction: 'outbound', status: 'In-progress', durationSec: 0, startedAt: '2026-11-21T10:00:00Z' },
];

const KEYS = [...CALL_KEYS, 'extra', '__proto__', 'constructor'];
const FOLLOW_UP_KEYS = ['type', 'scheduledAt', 'agentId', 'priority', 'maxAttempts', 'allowOutOfWindow', 'notes', 'campaignId', 'message', 'url', 'source', 'colour', '__proto__'];

const VALUES: unknown[] = [
  undefined,
  null,
  '',
  ' ',
  'x',
  'a'.repeat(50),
  'a'.repeat(51),
  'a'.repeat(200),
  'a'.repeat(201),
  'a'.repeat(1600),
  'a'.repeat(1601),
  'a'.repeat(5000),
  'a'.repeat(5001),
  'a'.repeat(10_000),
  'a'.repeat(10_001),
  '😀'.repeat(30),
  0,
  -1,
  1,
  1.5,
  10,
  11,
  604_800,
  604_801,
  1e21,
  true,
  false,
  [],
  ['q4'],
  [1],
  [null],
  Array.from({ length: 50 }, () => 't'),
  Array.from({ length: 51 }, () => 't'),
  {},
  { a: 1 },
  UUID,
  UUID.toUpperCase(),
  '00000000-0000-0000-0000-000000000000',
  '3b241101-e2bb-4255-8caf-4136c566a96',
  'not-a-uuid',
  '2026-11-21T10:00:00Z',
  '2026-11-21T10:00:00.123+05:30',
  '2026-11-21',
  '2026-11-21 10:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-11-21T25:00:00Z',
  'inbound',
  'outbound',
  'sideways',
  'Called',
  'Busy',
  'No Answer',
  'Missed',
  'In-progress',
  'Follow up',
  'Rescheduled',
  'called',
  'New',
  'Interested',
  'Not Interested',
  'Followups',
  'Not Picked',
  'call',
  'sms',
  'webhook',
  'fax',
  'low',
  'normal',
  'high',
  'urgent',
  'https://hooks.example.com/x',
  'ftp://example.com',
  { type: 'call' },
  { type: 'sms', message: 'hi' },
  { type: 'sms' },
  { type: 'webhook', url: 'https://hooks.example.com/x' },
  { type: 'webhook', url: 'nope' },
  { scheduledAt: 'tomorrow' },
  { maxAttempts: 0 },
  { agentId: null },
];

/** A JSON body as a client would send it: one round trip through JSON, `__proto__` kept as an own key. */
function asJson(value: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(value));
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete target[key];
  else Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function mutate(random: () => number): Record<string, unknown> {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const call: Record<string, unknown> = structuredClone(pick(VALID));
  const changes = 1 + Math.floor(random() * 3);
  for (let i = 0; i < changes; i++) {
    if (random() < 0.3) {
      const followUp: Record<string, unknown> = call.followUp && typeof call.followUp === 'object' && !Array.isArray(call.followUp) ? { ...(call.followUp as object) } : {};
      setOwn(followUp, pick(FOLLOW_UP_KEYS), pick(VALUES));
      call.followUp = followUp;
    } else {
      setOwn(call, pick(KEYS), pick(VALUES));
    }
  }
  return call;
}

describe('the fast check of a pushed call', () => {
  it.each(VALID.map((v) => [v.callId, v]))('should take the fast path for the everyday call %s, which the DTO accepts too', (_, call) => {
    const body = asJson(call as Record<string, unknown>);
    expect(isPlainValidCall(body)).toBe(true);
    expect(validateByRules(CallDto, body)).not.toHaveProperty('errors');
  });

  it('should never pass a call that CallDto’s rules refuse, over 20,000 generated calls', () => {
    const random = prng(20261122).next;
    let passed = 0;
    let refusedByRules = 0;
    const wronglyPassed: unknown[] = [];
    for (let i = 0; i < 20_000; i++) {
      const body = asJson(mutate(random));
      const byRules = validateByRules(CallDto, body);
      if ('errors' in byRules) refusedByRules++;
      if (isPlainValidCall(body)) {
        passed++;
        if ('errors' in byRules) wronglyPassed.push({ body, errors: byRules.errors });
      }
    }
    expect(wronglyPassed.slice(0, 3)).toEqual([]);
    // Both sides were exercised: plenty of generated calls are fine and plenty are refused.
    expect(passed).toBeGreaterThan(800);
    expect(refusedByRules).toBeGreaterThan(8000);
  });

  it.each([
    ['an unknown field', { ...VALID[0], extra: 1 }],
    ['a __proto__ key', JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(VALID[0]).slice(1)}`)],
    ['Follow up without followUp', { ...VALID[0], status: 'Follow up' }],
    ['Rescheduled without callbackAt', { ...VALID[0], status: 'Rescheduled' }],
    ['a negative duration', { ...VALID[0], durationSec: -1 }],
    ['a sms follow-up (its rules depend on the type)', { ...VALID[2], followUp: { type: 'sms', message: 'hi' } }],
    ['a null note', { ...VALID[0], note: null }],
  ])('should leave %s to class-validator', (_, body) => {
    expect(isPlainValidCall(body)).toBe(false);
  });

  it('should answer validateItem with the DTO’s own messages when the fast check declines', () => {
    expect(validateItem(CallDto, { ...VALID[0], durationSec: -1, colour: 'red' })).toEqual({
      errors: expect.arrayContaining([expect.stringMatching(/^durationSec/), expect.stringMatching(/^colour/)]),
    });
    expect(validateItem(CallDto, asJson(VALID[1]))).toEqual({ value: asJson(VALID[1]) });
  });
});

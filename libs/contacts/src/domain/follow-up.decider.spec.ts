import { Set as ImmutableSet } from 'immutable';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '@app/shared';
import {
  CallLogged,
  CallLoggedData,
  ContactCreated,
  ContactStatusChanged,
  ContactEvent,
  ENDED_FOLLOW_UP_STATUSES,
  FOLLOW_UP_STATUSES,
  FollowUpAttemptFailed,
  FollowUpAttemptFailedData,
  FollowUpAttemptStarted,
  FollowUpAttemptStartedData,
  FollowUpAttemptSucceeded,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpDeferred,
  FollowUpExpired,
  FollowUpRescheduled,
  FollowUpScheduled,
  FollowUpScheduledData,
  FollowUpSnoozed,
  LeadStatusChanged,
  isOpenFollowUpStatus,
} from './contact.events';
import { ARCHIVED_CONTACT_REASON, CallInput, ContactCommand, LogCall, decideContact, evolveContact, initialContactState } from './contact.decider';
import { FollowUpState, FollowUpWindowCheck, RecordFollowUpAttemptResult, StartFollowUpAttempt, liveCallOfAttempt, routeAttempt, snoozeUntil } from './follow-up.decider';

// ---- fixtures -------------------------------------------------------------------------------------------------

const contactId = 'c1';
const followUpId = 'f1';
const due = '2025-03-11T14:00:00.000Z';
const now = '2025-03-11T14:00:05.000Z';

const created: ContactEvent = {
  type: ContactCreated,
  data: {
    contactId,
    name: 'Sarah Lee',
    phone: '+14155550100',
    timezone: 'America/New_York',
    leadQuality: 'WARM',
    leadStatus: 'Followups',
    assignedAgentId: 'a1',
    tags: [],
    campaignId: 'camp1',
    status: 'ACTIVE',
  },
};

const scheduled = (overrides: Partial<FollowUpScheduledData> = {}): ContactEvent => ({
  type: FollowUpScheduled,
  data: {
    followUpId,
    contactId,
    type: 'call',
    scheduledAt: due,
    agentId: null,
    priority: 'normal',
    maxAttempts: 3,
    allowOutOfWindow: false,
    notes: null,
    campaignId: 'camp1',
    source: 'manual',
    message: null,
    url: null,
    callId: null,
    ...overrides,
  },
});
const sms = scheduled({ type: 'sms', message: 'See you tomorrow' });
const webhook = scheduled({ type: 'webhook', url: 'https://hooks.example/x' });

const started = (attempt: number, overrides: Partial<FollowUpAttemptStartedData> = {}): ContactEvent => ({
  type: FollowUpAttemptStarted,
  data: { followUpId, contactId, attempt, maxAttempts: 3, outOfWindow: false, at: now, schedule: attempt, ...overrides },
});
const failed = (attempt: number, retryAt: string | null, schedule: number | null, overrides: Partial<FollowUpAttemptFailedData> = {}): ContactEvent => ({
  type: FollowUpAttemptFailed,
  data: { followUpId, contactId, attempt, reason: 'failed', callId: null, retryAt, schedule, ...overrides },
});

const inWindow: FollowUpWindowCheck = { inWindow: true, nextOpening: null };
const outOfWindow: FollowUpWindowCheck = { inWindow: false, nextOpening: '2025-03-12T12:00:00.000Z' };
const neverOpen: FollowUpWindowCheck = { inWindow: false, nextOpening: null };

const start = (overrides: Partial<StartFollowUpAttempt> = {}): StartFollowUpAttempt => ({
  type: 'StartFollowUpAttempt',
  contactId,
  followUpId,
  schedule: 1,
  now,
  window: inWindow,
  ...overrides,
});
const result = (attempt: number, success: boolean, overrides: Partial<RecordFollowUpAttemptResult> = {}): RecordFollowUpAttemptResult => ({
  type: 'RecordFollowUpAttemptResult',
  contactId,
  followUpId,
  attempt,
  success,
  reason: success ? null : 'http 500',
  retryAt: '2025-03-11T14:15:05.000Z',
  ...overrides,
});

const snooze = (until = '2025-03-14T14:00:00Z') => ({ type: 'SnoozeFollowUp' as const, contactId, followUpId, until });
const reschedule = (scheduledAt = '2025-03-20T09:00:00Z') => ({ type: 'RescheduleFollowUp' as const, contactId, followUpId, scheduledAt });
const cancel = (reason?: string | null) => ({ type: 'CancelFollowUp' as const, contactId, followUpId, reason });
const complete = (how: 'manual' | 'hub' = 'manual', by: string | null = 'a1') => ({ type: 'CompleteFollowUp' as const, contactId, followUpId, how, by });
const expire = (at: string, expireAfterDays = 7, timezone = 'UTC') => ({ type: 'ExpireFollowUp' as const, contactId, followUpId, now: at, expireAfterDays, timezone });

const call = (overrides: Partial<CallInput> = {}): CallInput => ({
  callId: 'call1',
  agentId: 'a1',
  direction: 'outbound',
  status: 'Called',
  durationSec: 42,
  startedAt: '2025-03-11T15:00:00.000Z',
  ...overrides,
});
/** The LogCall's clock: when an attempt a call ends, ends. */
const callNow = '2025-03-11T15:01:00.000Z';
const logCall = (overrides: Partial<CallInput> = {}, extra: Partial<Omit<LogCall, 'type' | 'call'>> = {}): LogCall => ({
  type: 'LogCall',
  contactId,
  call: call(overrides),
  now: callNow,
  retryDelaySeconds: 900,
  ...extra,
});
const callLogged = (overrides: Partial<CallLoggedData> = {}): ContactEvent => ({
  type: CallLogged,
  data: {
    callId: 'call1',
    contactId,
    agentId: 'a1',
    direction: 'outbound',
    status: 'Called',
    durationSec: 42,
    connected: true,
    startedAt: '2025-03-11T15:00:00.000Z',
    note: null,
    campaignId: 'camp1',
    tags: [],
    followUpId: null,
    ...overrides,
  },
});
const retryAfterCall = '2025-03-11T15:16:00.000Z'; // the LogCall's now + 900 s

// ---- given / when / then ------------------------------------------------------------------------------------

const fold = (events: readonly ContactEvent[]) => events.reduce(evolveContact, initialContactState);
const followUpAfter = (events: readonly ContactEvent[], id = followUpId): FollowUpState => {
  const f = fold(events).followUps.get(id);
  if (!f) throw new Error(`no follow-up ${id}`);
  return f;
};

const given = (...history: ContactEvent[]) => ({
  when: (command: ContactCommand) => ({
    then: (expected: ContactEvent[]) => expect(decideContact(command, fold(history))).toEqual(expected),
    thenThrows: (errorType: new (...args: never[]) => DomainError, expected: { field?: string; message?: string | RegExp } = {}) => {
      let thrown: unknown;
      try {
        decideContact(command, fold(history));
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(errorType);
      if (expected.field !== undefined) expect((thrown as DomainError).field).toBe(expected.field);
      if (expected.message !== undefined) expect((thrown as DomainError).message).toMatch(expected.message);
    },
  }),
});

/** Feeds the events a decision produced back into the history, as the store would. */
const after = (history: readonly ContactEvent[], ...commands: ContactCommand[]): ContactEvent[] =>
  commands.reduce<ContactEvent[]>((events, command) => [...events, ...decideContact(command, fold(events))], [...history]);

/** Histories that end the follow-up in each ended status. */
const endedIn: Record<(typeof ENDED_FOLLOW_UP_STATUSES)[number], ContactEvent[]> = {
  completed: [created, scheduled(), { type: FollowUpCompleted, data: { followUpId, contactId, how: 'manual', by: 'a1' } }],
  failed: [created, scheduled({ maxAttempts: 1 }), started(1, { maxAttempts: 1 }), failed(1, null, null)],
  cancelled: [created, scheduled(), { type: FollowUpCancelled, data: { followUpId, contactId, reason: null } }],
  expired: [created, scheduled(), { type: FollowUpExpired, data: { followUpId, contactId, overdueSince: due, at: '2025-03-20T00:00:00.000Z' } }],
};
const endedHistories = ENDED_FOLLOW_UP_STATUSES.map((status) => [status, endedIn[status]] as const);

// ---- tests ----------------------------------------------------------------------------------------------------

describe('follow-up statuses', () => {
  it('should tell the four open statuses from the four ended ones when asked', () => {
    expect(FOLLOW_UP_STATUSES.filter(isOpenFollowUpStatus)).toEqual(['scheduled', 'queued', 'in_progress', 'snoozed']);
    expect(FOLLOW_UP_STATUSES.filter((s) => !isOpenFollowUpStatus(s))).toEqual([...ENDED_FOLLOW_UP_STATUSES]);
  });

  it.each(endedHistories)('should fold to %s when the follow-up ends that way', (status, history) => {
    expect(followUpAfter(history)).toMatchObject({ status, attemptOpen: false });
  });
});

describe(`${decideContact.name}: follow-up lifecycle`, () => {
  describe('FollowUpScheduled', () => {
    it('should start scheduled at schedule 1 with no attempt when a follow-up is scheduled', () => {
      expect(followUpAfter([created, scheduled({ allowOutOfWindow: true })])).toEqual({
        id: followUpId,
        type: 'call',
        status: 'scheduled',
        scheduledAt: due,
        nextAttemptAt: due,
        agentId: null,
        priority: 'normal',
        campaignId: 'camp1',
        maxAttempts: 3,
        attempts: 0,
        attemptOpen: false,
        outOfWindow: false,
        allowOutOfWindow: true,
        schedule: 1,
        message: null,
        url: null,
        notes: null,
      });
      expect(fold([created, scheduled()]).followUpIds).toEqual(ImmutableSet([followUpId]));
    });
  });

  describe(liveCallOfAttempt.name, () => {
    const attempt = { ...followUpAfter([created, scheduled(), started(1, { at: '2025-03-11T14:00:00.000Z' })]) };
    const now = new Date('2025-03-11T15:00:00.000Z');
    const HOURS_4 = 4 * 3600_000;
    const live = (startedAt: string) => ['c', { final: false, startedAt }] as [string, { final: boolean; startedAt?: string }];

    it('should find a call still in progress that began since the attempt started, give or take the clock skew', () => {
      expect(liveCallOfAttempt([live('2025-03-11T14:20:00.000Z')], attempt, now, HOURS_4)).toBe('2025-03-11T14:20:00.000Z');
      expect(liveCallOfAttempt([live('2025-03-11T13:59:30.000Z')], attempt, now, HOURS_4)).toBe('2025-03-11T13:59:30.000Z');
    });

    it('should ignore a final call, a live call from before the attempt, one past the live age limit, and any when no call attempt is open', () => {
      expect(liveCallOfAttempt([['c', { final: true, startedAt: '2025-03-11T14:20:00.000Z' }]], attempt, now, HOURS_4)).toBeNull();
      expect(liveCallOfAttempt([live('2025-03-11T13:00:00.000Z')], attempt, now, HOURS_4)).toBeNull();
      expect(liveCallOfAttempt([live('2025-03-11T14:20:00.000Z')], attempt, new Date('2025-03-11T18:30:00.000Z'), HOURS_4)).toBeNull();
      expect(liveCallOfAttempt([live('2025-03-11T14:20:00.000Z')], followUpAfter([created, scheduled()]), now, HOURS_4)).toBeNull();
    });
  });

  describe(snoozeUntil.name, () => {
    it('should keep the wall-clock time across a DST change: calendar days, not 24-hour periods', () => {
      // Friday 20:30 EST before the clocks go forward: Monday 20:30 EDT (72 h would be 21:30, past a 21:00 window)
      expect(snoozeUntil(new Date('2026-03-07T01:30:00Z'), 3, 'America/New_York')).toBe('2026-03-10T00:30:00.000Z');
      // Friday 10:00 EDT before they go back: Monday 10:00 EST
      expect(snoozeUntil(new Date('2026-10-30T14:00:00Z'), 3, 'America/New_York')).toBe('2026-11-02T15:00:00.000Z');
      expect(snoozeUntil(new Date('2026-03-27T12:00:00Z'), 3, 'Europe/London')).toBe('2026-03-30T11:00:00.000Z');
      // no change in between: exactly N days
      expect(snoozeUntil(new Date('2026-06-01T12:00:00Z'), 7, 'Asia/Kolkata')).toBe('2026-06-08T12:00:00.000Z');
    });

    it('should count whole days of 24 hours in a zone it cannot read, rather than fail the snooze', () => {
      expect(snoozeUntil(new Date('2026-03-07T01:30:00Z'), 3, 'Not/AZone')).toBe('2026-03-10T01:30:00.000Z');
    });

    it('should move a wall-clock time the clocks skip forward past the gap', () => {
      // 02:30 on 2026-03-08 does not exist in New York: 03:30 EDT
      expect(snoozeUntil(new Date('2026-03-05T07:30:00Z'), 3, 'America/New_York')).toBe('2026-03-08T07:30:00.000Z');
    });
  });

  describe('SnoozeFollowUp', () => {
    it('should snooze it to the given time with the next schedule when it is scheduled', () => {
      given(created, scheduled())
        .when(snooze('2025-03-14T10:00:00-04:00'))
        .then([{ type: FollowUpSnoozed, data: { followUpId, contactId, until: '2025-03-14T14:00:00.000Z', previousScheduledAt: due, schedule: 2, withdrawnAttempt: null } }]);
    });

    it('should make it snoozed and due (and next attempted) at the snooze end when folded', () => {
      expect(followUpAfter(after([created, scheduled()], snooze()))).toMatchObject({
        status: 'snoozed',
        scheduledAt: '2025-03-14T14:00:00.000Z',
        nextAttemptAt: '2025-03-14T14:00:00.000Z',
        schedule: 2,
      });
    });

    it('should withdraw the open attempt when a queued call follow-up is snoozed', () => {
      const history = [created, scheduled(), started(1)];
      given(...history)
        .when(snooze())
        .then([{ type: FollowUpSnoozed, data: { followUpId, contactId, until: '2025-03-14T14:00:00.000Z', previousScheduledAt: due, schedule: 2, withdrawnAttempt: 1 } }]);
      expect(followUpAfter(after(history, snooze()))).toMatchObject({ status: 'snoozed', attempts: 0, attemptOpen: false });
    });

    it('should snooze it again to a later time when it is snoozed', () => {
      const history = after([created, scheduled()], snooze());
      given(...history)
        .when(snooze('2025-03-17T14:00:00Z'))
        .then([{ type: FollowUpSnoozed, data: { followUpId, contactId, until: '2025-03-17T14:00:00.000Z', previousScheduledAt: '2025-03-14T14:00:00.000Z', schedule: 3, withdrawnAttempt: null } }]);
    });

    it('should record nothing when the same snooze comes again', () => {
      given(...after([created, scheduled()], snooze())).when(snooze()).then([]);
    });

    it('should refuse with a conflict a snooze that would bring the follow-up forward, and take one to its due time', () => {
      // a callback the lead asked for in a month is not called in three days because an agent snoozed it
      given(created, scheduled({ scheduledAt: '2025-04-30T15:00:00.000Z' }))
        .when(snooze('2025-03-14T14:00:00Z'))
        .thenThrows(ConflictError, { message: /is due at 2025-04-30T15:00:00.000Z, after a snooze would end \(2025-03-14T14:00:00.000Z\): reschedule it/ });
      given(...after([created, scheduled()], snooze('2025-03-20T14:00:00Z'))).when(snooze()).thenThrows(ConflictError);
      given(created, scheduled()).when(snooze(due)).then([{ type: FollowUpSnoozed, data: { followUpId, contactId, until: due, previousScheduledAt: due, schedule: 2, withdrawnAttempt: null } }]);
    });

    it.each(endedHistories)('should refuse with a conflict naming the status when the follow-up is %s', (status, history) => {
      given(...history).when(snooze()).thenThrows(ConflictError, { message: `follow-up f1 is ${status}` });
    });

    it('should answer not found when the contact has no such follow-up', () => {
      given(created).when(snooze()).thenThrows(NotFoundError, { message: 'follow-up f1 not found' });
    });

    it('should answer not found when the contact does not exist', () => {
      given().when(snooze()).thenThrows(NotFoundError, { message: 'contact c1 not found' });
    });

    it('should refuse naming until when it is not a timestamp', () => {
      given(created, scheduled()).when(snooze('in three days')).thenThrows(ValidationError, { field: 'until' });
    });
  });

  describe('RescheduleFollowUp', () => {
    it('should move the due time and the next attempt with the next schedule when it is scheduled', () => {
      const history = [created, scheduled()];
      given(...history)
        .when(reschedule())
        .then([{ type: FollowUpRescheduled, data: { followUpId, contactId, scheduledAt: '2025-03-20T09:00:00.000Z', previousScheduledAt: due, schedule: 2, withdrawnAttempt: null } }]);
      expect(followUpAfter(after(history, reschedule()))).toMatchObject({
        status: 'scheduled',
        scheduledAt: '2025-03-20T09:00:00.000Z',
        nextAttemptAt: '2025-03-20T09:00:00.000Z',
        schedule: 2,
      });
    });

    it('should make a snoozed follow-up scheduled again when it is rescheduled', () => {
      expect(followUpAfter(after([created, scheduled()], snooze(), reschedule()))).toMatchObject({ status: 'scheduled', scheduledAt: '2025-03-20T09:00:00.000Z', schedule: 3 });
    });

    it('should withdraw the open attempt when a queued follow-up is rescheduled', () => {
      const history = after([created, scheduled(), started(1)], reschedule());
      expect(history.at(-1)).toMatchObject({ type: FollowUpRescheduled, data: { withdrawnAttempt: 1 } });
      expect(followUpAfter(history)).toMatchObject({ status: 'scheduled', attempts: 0, attemptOpen: false });
    });

    it('should record nothing when it is rescheduled to the time it is scheduled at', () => {
      given(created, scheduled()).when(reschedule(due)).then([]);
    });

    it('should move the next attempt back to the due time when a deferred follow-up is rescheduled to its due time', () => {
      const deferred = after([created, scheduled()], start({ window: outOfWindow }));
      given(...deferred)
        .when(reschedule(due))
        .then([{ type: FollowUpRescheduled, data: { followUpId, contactId, scheduledAt: due, previousScheduledAt: due, schedule: 3, withdrawnAttempt: null } }]);
    });

    it.each(endedHistories)('should refuse with a conflict naming the status when the follow-up is %s', (status, history) => {
      given(...history).when(reschedule()).thenThrows(ConflictError, { message: `follow-up f1 is ${status}` });
    });

    it('should refuse naming scheduledAt when it has no offset', () => {
      given(created, scheduled()).when(reschedule('2025-03-20T09:00:00')).thenThrows(ValidationError, { field: 'scheduledAt' });
    });
  });

  describe('CancelFollowUp', () => {
    it('should cancel it with the reason trimmed when it is open', () => {
      given(created, scheduled())
        .when(cancel('  lead bought elsewhere '))
        .then([{ type: FollowUpCancelled, data: { followUpId, contactId, reason: 'lead bought elsewhere' } }]);
    });

    it('should cancel a queued follow-up with no reason when none is given', () => {
      const history = [created, scheduled(), started(1)];
      given(...history).when(cancel()).then([{ type: FollowUpCancelled, data: { followUpId, contactId, reason: null } }]);
      expect(followUpAfter(after(history, cancel()))).toMatchObject({ status: 'cancelled', attemptOpen: false, attempts: 1 });
    });

    it.each(endedHistories)('should refuse with a conflict naming the status when the follow-up is %s', (status, history) => {
      given(...history).when(cancel()).thenThrows(ConflictError, { message: `follow-up f1 is ${status}` });
    });
  });

  describe('CompleteFollowUp', () => {
    it.each(['manual', 'hub'] as const)('should complete it saying how (%s) and by whom when it is open', (how) => {
      const history = [created, scheduled()];
      given(...history).when(complete(how, 'a1')).then([{ type: FollowUpCompleted, data: { followUpId, contactId, how, by: 'a1' } }]);
      expect(followUpAfter(after(history, complete(how)))).toMatchObject({ status: 'completed' });
    });

    it('should complete a snoozed follow-up when the hub marks it done', () => {
      given(...after([created, scheduled()], snooze()))
        .when(complete('hub', null))
        .then([{ type: FollowUpCompleted, data: { followUpId, contactId, how: 'hub', by: null } }]);
    });

    it.each(endedHistories)('should refuse with a conflict naming the status when the follow-up is %s', (status, history) => {
      given(...history).when(complete()).thenThrows(ConflictError, { message: `follow-up f1 is ${status}` });
    });

    it('should refuse naming how when it is neither manual nor hub', () => {
      given(created, scheduled())
        .when({ ...complete(), how: 'dialler' as 'manual' })
        .thenThrows(ValidationError, { field: 'how' });
    });
  });

  describe('StartFollowUpAttempt', () => {
    it('should start attempt 1 of maxAttempts and queue a call follow-up when its job comes due in the window', () => {
      const history = [created, scheduled()];
      given(...history).when(start()).then([started(1)]);
      expect(followUpAfter(after(history, start()))).toMatchObject({ status: 'queued', attempts: 1, attemptOpen: true, outOfWindow: false, schedule: 1 });
    });

    it('should record the agent the attempt was routed to, and keep it on the follow-up for a resumed run', () => {
      const history = [created, scheduled()];
      given(...history).when(start({ agentId: 'agent-ben' })).then([started(1, { agentId: 'agent-ben' })]);
      expect(followUpAfter(after(history, start({ agentId: 'agent-ben' })))).toMatchObject({ attemptOpen: true, attemptAgentId: 'agent-ben' });
      given(...history).when(start({ agentId: null })).then([started(1, { agentId: null })]);
    });

    it('should refuse a routed agent that is not a user id or null', () => {
      expect(() => decideContact(start({ agentId: '' }), [created, scheduled()].reduce(evolveContact, initialContactState))).toThrow(ValidationError);
    });

    describe('whether a call attempt is sent to a dialler (recorded at the start)', () => {
      it.each([true, false])('should record dialled %s on the attempt and keep it on the follow-up when the executor says so', (dialled) => {
        const history = [created, scheduled()];
        given(...history).when(start({ dialled })).then([started(1, { dialled })]);
        expect(followUpAfter(after(history, start({ dialled })))).toMatchObject({ status: 'queued', attemptOpen: true, attemptDialled: dialled });
      });

      it('should record nothing, and leave it unknown, when the command does not say (the settings of the moment then stand in)', () => {
        const history = [created, scheduled()];
        given(...history).when(start()).then([started(1)]);
        expect(followUpAfter(after(history, start())).attemptDialled).toBeUndefined();
      });

      it('should not record it on an sms or webhook attempt: only calls are dialled', () => {
        given(created, sms).when(start({ dialled: true })).then([started(1)]);
        given(created, webhook).when(start({ dialled: false })).then([started(1)]);
      });

      it('should take each attempt\'s own: a retry started after the dialler was removed is not dialled', () => {
        const history = after([created, scheduled()], start({ dialled: true }), result(1, false, { schedule: 1 }));
        expect(followUpAfter(after(history, start({ schedule: 2, dialled: false })))).toMatchObject({ attempts: 2, attemptDialled: false });
      });

      it('should record an attempt a pushed call started as not dialled: the engine sent no dial request', () => {
        expect(followUpAfter(after([created, scheduled()], logCall({ followUpId, status: 'Busy', durationSec: 0 })))).toMatchObject({ attempts: 1, attemptDialled: false });
      });

      it('should refuse dialled when it is not a boolean', () => {
        given(created, scheduled())
          .when(start({ dialled: 'yes' as unknown as boolean }))
          .thenThrows(ValidationError, { field: 'dialled' });
      });
    });

    describe('an archived contact', () => {
      const archived: ContactEvent = { type: ContactStatusChanged, data: { contactId, from: 'ACTIVE', to: 'ARCHIVED' } };
      const reactivated: ContactEvent = { type: ContactStatusChanged, data: { contactId, from: 'ARCHIVED', to: 'ACTIVE' } };
      const cancelled: ContactEvent = { type: FollowUpCancelled, data: { followUpId, contactId, reason: ARCHIVED_CONTACT_REASON } };

      it.each([
        ['a call', scheduled()],
        ['an sms', sms],
        ['a webhook', scheduled({ type: 'webhook', url: 'https://example.com/h' })],
      ])('should cancel %s follow-up that comes due, saying why, instead of reaching out', (_, fu) => {
        given(created, fu, archived).when(start()).then([cancelled]);
        given(created, fu, archived).when(start({ window: outOfWindow })).then([cancelled]);
      });

      it('should leave alone a stale job of an archived contact, and an ended follow-up', () => {
        given(created, scheduled(), archived).when(start({ schedule: 2 })).then([]);
        given(created, scheduled(), archived, cancelled).when(start()).then([]);
      });

      it('should cancel instead of resuming an attempt left in flight when the contact was archived', () => {
        given(created, sms, started(1), archived).when(start()).then([cancelled]);
        given(created, scheduled(), started(1), archived).when(start()).then([cancelled]);
      });

      it('should neither start nor cancel anything for an attempt in flight of an active contact', () => {
        given(created, sms, started(1)).when(start()).then([]);
      });

      it('should run the follow-up as usual once the contact is active again', () => {
        given(created, scheduled(), archived, reactivated).when(start()).then([started(1)]);
      });
    });

    it('should make an sms follow-up in_progress when its attempt starts', () => {
      expect(followUpAfter(after([created, sms], start()))).toMatchObject({ status: 'in_progress', attempts: 1, attemptOpen: true });
    });

    it('should start a snoozed follow-up when the snooze has run out', () => {
      const snoozed = after([created, scheduled()], snooze());
      given(...snoozed)
        .when(start({ schedule: 2, now: '2025-03-14T14:00:01Z' }))
        .then([started(1, { at: '2025-03-14T14:00:01.000Z', schedule: 2 })]);
    });

    describe('calling window', () => {
      it('should defer a call to the next opening without counting an attempt when it is out of window', () => {
        const history = [created, scheduled()];
        given(...history)
          .when(start({ window: outOfWindow }))
          .then([{ type: FollowUpDeferred, data: { followUpId, contactId, reason: 'out_of_window', nextAttemptAt: '2025-03-12T12:00:00.000Z', schedule: 2 } }]);
        expect(followUpAfter(after(history, start({ window: outOfWindow })))).toMatchObject({
          status: 'scheduled',
          scheduledAt: due,
          nextAttemptAt: '2025-03-12T12:00:00.000Z',
          attempts: 0,
          attemptOpen: false,
          schedule: 2,
        });
      });

      it('should show a snoozed follow-up scheduled again when its snooze ends out of window (SPEC §5: snoozed until then)', () => {
        const snoozed = after([created, scheduled()], snooze('2025-03-11T22:00:00Z'));
        expect(followUpAfter(snoozed)).toMatchObject({ status: 'snoozed', schedule: 2 });
        const deferred = after(snoozed, start({ schedule: 2, now: '2025-03-11T22:00:01Z', window: outOfWindow }));
        expect(deferred.at(-1)!.type).toBe(FollowUpDeferred);
        expect(followUpAfter(deferred)).toMatchObject({ status: 'scheduled', scheduledAt: '2025-03-11T22:00:00.000Z', nextAttemptAt: '2025-03-12T12:00:00.000Z', schedule: 3 });
      });

      it('should defer an sms the same way when it is out of window', () => {
        given(created, sms)
          .when(start({ window: outOfWindow }))
          .then([{ type: FollowUpDeferred, data: { followUpId, contactId, reason: 'out_of_window', nextAttemptAt: '2025-03-12T12:00:00.000Z', schedule: 2 } }]);
      });

      it('should run the attempt marked out of window when the follow-up allows it', () => {
        const history = [created, scheduled({ allowOutOfWindow: true })];
        given(...history).when(start({ window: outOfWindow })).then([started(1, { outOfWindow: true })]);
        expect(followUpAfter(after(history, start({ window: outOfWindow })))).toMatchObject({ outOfWindow: true, attempts: 1 });
      });

      it('should run a webhook, not marked out of window, when it is out of window without the override', () => {
        given(created, webhook).when(start({ window: outOfWindow })).then([started(1)]);
        given(created, webhook).when(start({ window: neverOpen })).then([started(1)]);
      });

      it('should do nothing when the window never opens and the follow-up has no override', () => {
        given(created, scheduled()).when(start({ window: neverOpen })).then([]);
      });

      it('should start the deferred attempt with the new schedule and ignore the old job when the window opens', () => {
        const deferred = after([created, scheduled()], start({ window: outOfWindow }));
        given(...deferred).when(start({ schedule: 1, now: '2025-03-12T12:00:00Z' })).then([]);
        given(...deferred)
          .when(start({ schedule: 2, now: '2025-03-12T12:00:00Z' }))
          .then([started(1, { at: '2025-03-12T12:00:00.000Z', schedule: 2 })]);
      });

      it('should refuse naming window.nextOpening when the opening it gives is not after now', () => {
        given(created, scheduled())
          .when(start({ window: { inWindow: false, nextOpening: now } }))
          .thenThrows(ValidationError, { field: 'window.nextOpening' });
      });

      describe('an sms attempt left in flight by a crash, resumed (SPEC §5 step 2: texts keep the window too)', () => {
        const opening = '2025-03-12T12:00:00.000Z';
        const deferral = (schedule = 2): ContactEvent => ({ type: FollowUpDeferred, data: { followUpId, contactId, reason: 'out_of_window', nextAttemptAt: opening, schedule } });
        const inFlight = [created, sms, started(1)];

        it('should defer its delivery to the next opening when it is resumed out of window, keeping the attempt open and counted once', () => {
          given(...inFlight).when(start({ window: outOfWindow })).then([deferral()]);
          expect(followUpAfter(after(inFlight, start({ window: outOfWindow })))).toMatchObject({
            status: 'scheduled',
            scheduledAt: due,
            nextAttemptAt: opening,
            attempts: 1,
            attemptOpen: true,
            schedule: 2,
          });
        });

        it('should keep the occurrence (the webhook-id the provider de-duplicates on) through that deferral', () => {
          expect(followUpAfter(after(inFlight, start({ window: outOfWindow }))).occurrence).toBe(followUpAfter(inFlight).occurrence);
        });

        it('should resume it, starting no second attempt, when the window has opened, and take the resumed delivery\'s result', () => {
          const deferred = after(inFlight, start({ window: outOfWindow }));
          given(...deferred).when(start({ schedule: 2, now: opening })).then([]);
          // the job of the old schedule is stale
          given(...deferred).when(start({ schedule: 1, now: opening })).then([]);
          // the resumed delivery names the schedule the attempt started under (a worker from before that was recorded,
          // the deferral's: both are the open attempt's)
          for (const schedule of [1, 2]) {
            given(...deferred)
              .when(result(1, true, { schedule }))
              .then([{ type: FollowUpAttemptSucceeded, data: { followUpId, contactId, attempt: 1, callId: null, detail: null } }]);
          }
          expect(followUpAfter(after(deferred, result(1, false, { schedule: 1 })))).toMatchObject({ status: 'scheduled', attempts: 1, attemptOpen: false, schedule: 3 });
        });

        it('should take the result of a stalled delivery that went on while another worker deferred the attempt, so the opening sends nothing again', () => {
          const deferred = after(inFlight, start({ window: outOfWindow }));
          expect(followUpAfter(deferred)).toMatchObject({ attemptSchedule: 1, schedule: 2 });
          const delivered = after(deferred, result(1, true, { schedule: 1 }));
          expect(followUpAfter(delivered)).toMatchObject({ status: 'completed', attemptOpen: false });
          // the deferral's job, at the opening, finds nothing to send; a second answer is stale
          given(...delivered).when(start({ schedule: 2, now: opening })).then([]);
          given(...delivered).when(result(1, true, { schedule: 2 })).then([]);
        });

        it('should not let the result of an attempt withdrawn by a snooze end the attempt started again under the new schedule, deferred or not', () => {
          const restarted = after(inFlight, snooze(), start({ schedule: 2, now: '2025-03-14T14:00:00.000Z' }));
          expect(followUpAfter(restarted)).toMatchObject({ attempts: 1, attemptOpen: true, attemptSchedule: 2 });
          given(...restarted).when(result(1, true, { schedule: 1 })).then([]);
          const deferredAgain = after(restarted, start({ schedule: 2, window: { inWindow: false, nextOpening: '2025-03-15T08:00:00.000Z' }, now: '2025-03-14T22:00:00.000Z' }));
          expect(followUpAfter(deferredAgain)).toMatchObject({ attemptOpen: true, attemptSchedule: 2, schedule: 3 });
          given(...deferredAgain).when(result(1, true, { schedule: 1 })).then([]);
        });

        it('should defer it again when its job finds the window still shut', () => {
          const deferred = after(inFlight, start({ window: outOfWindow }));
          given(...deferred)
            .when(start({ schedule: 2, window: { inWindow: false, nextOpening: '2025-03-13T12:00:00.000Z' } }))
            .then([{ type: FollowUpDeferred, data: { followUpId, contactId, reason: 'out_of_window', nextAttemptAt: '2025-03-13T12:00:00.000Z', schedule: 3 } }]);
        });

        it('should resume it out of window when the follow-up allows it', () => {
          given(created, scheduled({ type: 'sms', message: 'Hi', allowOutOfWindow: true }), started(1)).when(start({ window: outOfWindow })).then([]);
        });

        it('should neither defer nor resume anything when the window never opens (the worker then does not send)', () => {
          given(...inFlight).when(start({ window: neverOpen })).then([]);
        });

        it('should resume it as before in the window', () => {
          given(...inFlight).when(start()).then([]);
        });

        it('should leave an open webhook or call attempt to the worker whatever the window', () => {
          given(created, webhook, started(1)).when(start({ window: outOfWindow })).then([]);
          given(created, scheduled(), started(1)).when(start({ window: outOfWindow })).then([]);
        });

        it('should cancel it rather than defer it when the contact was archived', () => {
          const archived: ContactEvent = { type: ContactStatusChanged, data: { contactId, from: 'ACTIVE', to: 'ARCHIVED' } };
          given(...inFlight, archived)
            .when(start({ window: outOfWindow }))
            .then([{ type: FollowUpCancelled, data: { followUpId, contactId, reason: ARCHIVED_CONTACT_REASON } }]);
        });

        it('should withdraw the deferred attempt when the follow-up is snoozed meanwhile', () => {
          const deferred = after(inFlight, start({ window: outOfWindow }));
          given(...deferred)
            .when(snooze())
            .then([{ type: FollowUpSnoozed, data: { followUpId, contactId, until: '2025-03-14T14:00:00.000Z', previousScheduledAt: due, schedule: 3, withdrawnAttempt: 1 } }]);
        });
      });
    });

    describe('stale jobs', () => {
      it('should do nothing when the job was made for another schedule', () => {
        given(created, scheduled()).when(start({ schedule: 2 })).then([]);
        given(...after([created, scheduled()], snooze())).when(start({ schedule: 1 })).then([]);
      });

      it('should do nothing when an attempt is already open', () => {
        given(created, scheduled(), started(1)).when(start()).then([]);
      });

      it.each(endedHistories)('should do nothing when the follow-up is %s', (_status, history) => {
        given(...history).when(start()).then([]);
      });

      it('should do nothing when no attempt is left', () => {
        const noneLeft: ContactEvent[] = [
          created,
          scheduled({ maxAttempts: 1 }),
          started(1, { maxAttempts: 1 }),
          { type: FollowUpSnoozed, data: { followUpId, contactId, until: due, previousScheduledAt: due, schedule: 2, withdrawnAttempt: null } },
        ];
        given(...noneLeft).when(start({ schedule: 2 })).then([]);
      });

      it('should answer not found when the contact has no such follow-up', () => {
        given(created).when(start()).thenThrows(NotFoundError);
      });
    });
  });

  describe('RecordFollowUpAttemptResult', () => {
    it('should complete the follow-up when the open attempt succeeds', () => {
      const history = [created, sms, started(1)];
      given(...history)
        .when(result(1, true, { detail: ' provider id 77 ' }))
        .then([{ type: FollowUpAttemptSucceeded, data: { followUpId, contactId, attempt: 1, callId: null, detail: 'provider id 77' } }]);
      expect(followUpAfter(after(history, result(1, true)))).toMatchObject({ status: 'completed', attemptOpen: false, attempts: 1 });
    });

    it('should retry at retryAt with the next schedule when an attempt fails with attempts left', () => {
      const history = [created, webhook, started(1)];
      given(...history)
        .when(result(1, false))
        .then([failed(1, '2025-03-11T14:15:05.000Z', 2, { reason: 'http 500' })]);
      expect(followUpAfter(after(history, result(1, false)))).toMatchObject({
        status: 'scheduled',
        scheduledAt: due,
        nextAttemptAt: '2025-03-11T14:15:05.000Z',
        attempts: 1,
        attemptOpen: false,
        schedule: 2,
      });
    });

    it('should say failed when a failure comes with no reason', () => {
      given(created, webhook, started(1)).when(result(1, false, { reason: null })).then([failed(1, '2025-03-11T14:15:05.000Z', 2)]);
    });

    it('should retry twice then fail the follow-up when all 3 attempts fail', () => {
      const retry1 = '2025-03-11T14:15:05.000Z';
      const retry2 = '2025-03-11T14:30:10.000Z';
      const history = after(
        [created, webhook],
        start(),
        result(1, false, { retryAt: retry1 }),
        start({ schedule: 2, now: retry1 }),
        result(2, false, { retryAt: retry2 }),
        start({ schedule: 3, now: retry2 }),
        result(3, false, { retryAt: '2025-03-11T14:45:15.000Z' }),
      );
      expect(history.slice(2)).toEqual([
        started(1),
        failed(1, retry1, 2, { reason: 'http 500' }),
        started(2, { at: retry1 }),
        failed(2, retry2, 3, { reason: 'http 500' }),
        started(3, { at: retry2 }),
        failed(3, null, null, { reason: 'http 500' }),
      ]);
      expect(followUpAfter(history)).toMatchObject({ status: 'failed', attempts: 3, attemptOpen: false, schedule: 3 });
    });

    it('should do nothing when the result is for an attempt that is not the open one', () => {
      given(created, webhook, started(1)).when(result(2, true)).then([]);
      given(created, webhook).when(result(1, true)).then([]);
      given(...after([created, webhook], start(), result(1, false))).when(result(1, true)).then([]);
    });

    it('should do nothing when the attempt was withdrawn by a snooze', () => {
      given(...after([created, scheduled(), started(1)], snooze())).when(result(1, false)).then([]);
    });

    it('should refuse naming retryAt when a failure with attempts left has no valid retry time', () => {
      given(created, webhook, started(1)).when(result(1, false, { retryAt: 'soon' })).thenThrows(ValidationError, { field: 'retryAt' });
    });
  });

  describe('ExpireFollowUp', () => {
    // due Tuesday 2025-03-11 14:00 UTC: overdue from Wednesday 00:00, "overdue by 7 days" all of Tuesday 03-18
    const expired = (at: string, overdueSince = due): ContactEvent[] => [{ type: FollowUpExpired, data: { followUpId, contactId, overdueSince, at } }];

    it('should expire an open follow-up once today is more than expireAfterDays calendar days past its due date (SPEC §5)', () => {
      const history = [created, scheduled()];
      given(...history).when(expire('2025-03-18T23:59:59.999Z')).then([]);
      given(...history).when(expire('2025-03-19T00:00:00Z')).then(expired('2025-03-19T00:00:00.000Z'));
      expect(followUpAfter(after(history, expire('2025-03-19T00:00:00Z')))).toMatchObject({ status: 'expired' });
    });

    it("should count the days in the organization's timezone", () => {
      // 07:00 on the 11th in Los Angeles (PDT, UTC-7): expires at midnight there on the 19th, 07:00 UTC
      given(created, scheduled()).when(expire('2025-03-19T06:59:59Z', 7, 'America/Los_Angeles')).then([]);
      given(created, scheduled()).when(expire('2025-03-19T07:00:00Z', 7, 'America/Los_Angeles')).then(expired('2025-03-19T07:00:00.000Z'));
      // 23:00 on the 11th in Tokyo (UTC+9): midnight there on the 19th is 15:00 UTC on the 18th
      given(created, scheduled()).when(expire('2025-03-18T14:59:59Z', 7, 'Asia/Tokyo')).then([]);
      given(created, scheduled()).when(expire('2025-03-18T15:00:00Z', 7, 'Asia/Tokyo')).then(expired('2025-03-18T15:00:00.000Z'));
    });

    it('should count calendar days across a DST change: a day of 23 hours is one day', () => {
      // London: clocks go forward on 2025-03-30; due 09:00 on the 24th, expired from midnight BST on April 1st
      const history = [created, scheduled({ scheduledAt: '2025-03-24T09:00:00.000Z' })];
      given(...history).when(expire('2025-03-31T22:59:59Z', 7, 'Europe/London')).then([]);
      given(...history).when(expire('2025-03-31T23:00:00Z', 7, 'Europe/London')).then(expired('2025-03-31T23:00:00.000Z', '2025-03-24T09:00:00.000Z'));
    });

    it.each([
      ['an sms', sms],
      ['a webhook', webhook],
    ])('should wait for %s being delivered, expiring it only if no result came ten minutes after its attempt started', (_, fu) => {
      // its attempt started after the expiry age (a retry, say); the delivery is out when the expiry job runs
      const delivering = [created, fu, started(1, { at: '2025-03-19T15:00:00.000Z' })];
      given(...delivering).when(expire('2025-03-19T15:00:05Z')).then([]);
      given(...delivering).when(expire('2025-03-19T15:09:59Z')).then([]);
      given(...delivering).when(expire('2025-03-19T15:10:00Z')).then(expired('2025-03-19T15:10:00.000Z'));
      // a queued call is the agent's to make: it expires as it is
      given(created, scheduled(), started(1, { at: '2025-03-19T15:00:00.000Z' }))
        .when(expire('2025-03-19T15:00:05Z'))
        .then(expired('2025-03-19T15:00:05.000Z'));
    });

    it('should expire an sms whose resumed delivery waits for the window, but wait for it from the opening on', () => {
      // resumed out of window on the 19th (past the expiry age), its delivery deferred to 08:00 UTC on the 20th
      const deferred = after([created, sms, started(1, { at: '2025-03-19T01:00:00.000Z' })], start({ now: '2025-03-19T02:00:00Z', window: { inWindow: false, nextOpening: '2025-03-20T08:00:00Z' } }));
      given(...deferred).when(expire('2025-03-19T03:00:00Z')).then(expired('2025-03-19T03:00:00.000Z'));
      given(...deferred).when(expire('2025-03-20T08:00:05Z')).then([]);
      given(...deferred).when(expire('2025-03-20T08:10:00Z')).then(expired('2025-03-20T08:10:00.000Z'));
    });

    it('should wait for an sms whose delivery another worker deferred while a stalled one may still be delivering it', () => {
      // started at 01:00 on the 19th (past the expiry age) and deferred a minute later by another worker's run of the job
      const deferred = after([created, sms, started(1, { at: '2025-03-19T01:00:00.000Z' })], start({ now: '2025-03-19T01:01:00Z', window: { inWindow: false, nextOpening: '2025-03-20T08:00:00Z' } }));
      given(...deferred).when(expire('2025-03-19T01:05:00Z')).then([]);
      given(...deferred).when(expire('2025-03-19T01:10:00Z')).then(expired('2025-03-19T01:10:00.000Z'));
    });

    it('should do nothing while it is overdue by expireAfterDays days or fewer', () => {
      given(created, scheduled()).when(expire('2025-03-18T14:00:01Z')).then([]);
      given(created, scheduled()).when(expire('2025-03-12T14:00:00Z')).then([]);
      given(created, scheduled()).when(expire('2025-03-11T13:00:00Z')).then([]); // not even due
    });

    it('should honour another expiry period when the org sets one, 0 expiring it as soon as it is overdue', () => {
      given(created, scheduled()).when(expire('2025-03-13T23:59:59Z', 2)).then([]);
      given(created, scheduled()).when(expire('2025-03-14T00:00:00Z', 2)).then(expired('2025-03-14T00:00:00.000Z'));
      given(created, scheduled()).when(expire('2025-03-11T23:59:59Z', 0)).then([]);
      given(created, scheduled()).when(expire('2025-03-12T00:00:00Z', 0)).then(expired('2025-03-12T00:00:00.000Z'));
    });

    it('should refuse a timezone that is not an IANA zone, naming it', () => {
      given(created, scheduled()).when(expire('2025-03-19T00:00:00Z', 7, 'Mars/Olympus')).thenThrows(ValidationError, { field: 'timezone' });
    });

    it('should expire a queued call follow-up nobody called', () => {
      expect(decideContact(expire('2025-03-25T00:00:00Z'), fold([created, scheduled(), started(1)])).map((e) => e.type)).toEqual([FollowUpExpired]);
    });

    it('should count from the snoozed due time when the follow-up was snoozed', () => {
      const snoozed = after([created, scheduled()], snooze('2025-03-14T14:00:00Z'));
      given(...snoozed).when(expire('2025-03-21T23:59:59Z')).then([]);
      given(...snoozed).when(expire('2025-03-22T00:00:00Z')).then(expired('2025-03-22T00:00:00.000Z', '2025-03-14T14:00:00.000Z'));
    });

    it.each(endedHistories)('should do nothing, not refuse, when the follow-up is %s', (_status, history) => {
      given(...history).when(expire('2026-01-01T00:00:00Z')).then([]);
    });
  });

  describe('schedule numbers', () => {
    it('should grow by one with every event that sets a new next attempt time, and not with the others', () => {
      const history = after(
        [created, scheduled()],
        start({ window: outOfWindow }), // deferred → 2
        start({ schedule: 2, now: '2025-03-12T12:00:00Z' }), // attempt 1, stays 2
        result(1, false, { retryAt: '2025-03-12T12:15:00Z' }), // retry → 3
        snooze(), // → 4
        reschedule(), // → 5
      );
      const schedules = history
        .slice(1)
        .map((_, i) => fold(history.slice(0, i + 2)).followUps.get(followUpId)?.schedule);
      expect(history.slice(1).map((e) => e.type)).toEqual([FollowUpScheduled, FollowUpDeferred, FollowUpAttemptStarted, FollowUpAttemptFailed, FollowUpSnoozed, FollowUpRescheduled]);
      expect(schedules).toEqual([1, 2, 2, 3, 4, 5]);
    });

    it('should keep the occurrence through deferrals and retries, and take a new one with each snooze or reschedule', () => {
      const history = after(
        [created, sms],
        start({ window: outOfWindow }), // deferred to the window's opening
        start({ schedule: 2, now: '2025-03-12T12:00:00Z' }),
        result(1, false, { retryAt: '2025-03-12T12:15:00Z' }), // retried
        start({ schedule: 3, now: '2025-03-12T12:15:00Z' }),
        snooze(), // withdraws attempt 2
        start({ schedule: 4, now: '2025-03-14T14:00:00Z' }),
        reschedule(),
      );
      const occurrences = history.slice(1).map((_, i) => fold(history.slice(0, i + 2)).followUps.get(followUpId)?.occurrence);
      expect(occurrences).toEqual([undefined, undefined, undefined, undefined, undefined, 4, 4, 5]);
    });
  });

  describe('LogCall ending a call attempt', () => {
    const queued = [created, scheduled(), started(1)];

    it('should complete a queued call follow-up when the next outbound call connects', () => {
      given(...queued)
        .when(logCall())
        .then([callLogged({ followUpId }), { type: FollowUpAttemptSucceeded, data: { followUpId, contactId, attempt: 1, callId: 'call1', detail: null } }]);
      expect(followUpAfter(after(queued, logCall()))).toMatchObject({ status: 'completed', attemptOpen: false });
    });

    it.each(['Busy', 'No Answer'] as const)('should fail the attempt and retry after the retry delay when the call is %s', (status) => {
      given(...queued)
        .when(logCall({ status, durationSec: 0 }))
        // the lead is in Followups, a spoken-to status: an unanswered call leaves it
        .then([callLogged({ followUpId, status, durationSec: 0, connected: false }), failed(1, retryAfterCall, 2, { reason: status, callId: 'call1', at: callNow })]);
      expect(followUpAfter(after(queued, logCall({ status, durationSec: 0 })))).toMatchObject({ status: 'scheduled', nextAttemptAt: retryAfterCall, schedule: 2, attempts: 1 });
    });

    it('should put the attempt events between CallLogged and the lead status change', () => {
      const newLead: ContactEvent = { ...created, data: { ...(created.data as object), leadStatus: 'New' } } as ContactEvent;
      given(newLead, scheduled(), started(1))
        .when(logCall({ status: 'No Answer', durationSec: 0 }))
        .then([
          callLogged({ followUpId, status: 'No Answer', durationSec: 0, connected: false }),
          failed(1, retryAfterCall, 2, { reason: 'No Answer', callId: 'call1', at: callNow }),
          { type: LeadStatusChanged, data: { contactId, from: 'New', to: 'Not Picked', cause: { kind: 'call', callId: 'call1', callStatus: 'No Answer' } } },
        ]);
    });

    it('should fail the follow-up when the call on its last attempt is not answered', () => {
      const lastAttempt = [created, scheduled({ maxAttempts: 1 }), started(1, { maxAttempts: 1 })];
      given(...lastAttempt)
        .when(logCall({ status: 'Busy', durationSec: 0 }))
        .then([callLogged({ followUpId, status: 'Busy', durationSec: 0, connected: false }), failed(1, null, null, { reason: 'Busy', callId: 'call1', at: callNow })]);
    });

    it('should treat a Called call of 0 s as a failed attempt, because nobody was reached', () => {
      given(...queued)
        .when(logCall({ durationSec: 0 }))
        .then([callLogged({ followUpId, durationSec: 0, connected: false }), failed(1, retryAfterCall, 2, { reason: 'Called', callId: 'call1', at: callNow })]);
    });

    it('should start and end an attempt when the call names a scheduled follow-up (the agent called before the worker ran)', () => {
      const history = [created, scheduled()];
      given(...history)
        .when(logCall({ followUpId }))
        .then([
          callLogged({ followUpId }),
          started(1, { at: '2025-03-11T15:00:00.000Z', dialled: false }),
          { type: FollowUpAttemptSucceeded, data: { followUpId, contactId, attempt: 1, callId: 'call1', detail: null } },
        ]);
      expect(followUpAfter(after(history, logCall({ followUpId })))).toMatchObject({ status: 'completed', attempts: 1 });
    });

    it('should start and fail the next attempt when the call names a snoozed follow-up and is Missed', () => {
      const snoozed = after([created, scheduled(), started(1), failed(1, due, 2)], snooze());
      given(...snoozed)
        .when(logCall({ followUpId, status: 'Missed', direction: 'inbound', durationSec: 0 }))
        .then([
          callLogged({ followUpId, status: 'Missed', direction: 'inbound', durationSec: 0, connected: false }),
          started(2, { at: '2025-03-11T15:00:00.000Z', schedule: 3, dialled: false }),
          failed(2, retryAfterCall, 4, { reason: 'Missed', callId: 'call1', at: callNow }),
        ]);
    });

    describe('a late push of a call placed before the attempt or the snooze', () => {
      const noAnswer = (overrides: Partial<CallInput> = {}) => logCall({ status: 'No Answer', durationSec: 0, ...overrides });
      const notConnected = (overrides: Partial<CallLoggedData> = {}) => callLogged({ status: 'No Answer', durationSec: 0, connected: false, ...overrides });

      it('should not end the open attempt with an outbound call that ended hours before it (SPEC §5: the next call)', () => {
        // attempt 1 started at 14:00:05; the dialler's batch brings a call from 12:00 only now
        given(...queued)
          .when(noAnswer({ startedAt: '2025-03-11T12:00:00.000Z' }))
          .then([notConnected({ startedAt: '2025-03-11T12:00:00.000Z' })]);
        given(...queued)
          .when(logCall({ startedAt: '2025-03-11T12:00:00.000Z', durationSec: 300 }))
          .then([callLogged({ startedAt: '2025-03-11T12:00:00.000Z', durationSec: 300 })]);
      });

      it('should end it with a call naming it, whatever its clock says: the dialler says which follow-up it was for', () => {
        given(...queued)
          .when(noAnswer({ startedAt: '2025-03-11T12:00:00.000Z', followUpId }))
          .then([notConnected({ startedAt: '2025-03-11T12:00:00.000Z', followUpId }), failed(1, retryAfterCall, 2, { reason: 'No Answer', callId: 'call1', at: callNow })]);
      });

      it('should end it with a connected call that began before it and was still going on when it started', () => {
        // the agent rang the lead at 13:58; the call lasted past the attempt's start at 14:00:05
        given(...queued)
          .when(logCall({ startedAt: '2025-03-11T13:58:00.000Z', durationSec: 300 }))
          .then([
            callLogged({ followUpId, startedAt: '2025-03-11T13:58:00.000Z', durationSec: 300 }),
            { type: FollowUpAttemptSucceeded, data: { followUpId, contactId, attempt: 1, callId: 'call1', detail: null } },
          ]);
      });

      it("should not count an unanswered call naming the follow-up as its next attempt when it began before the last attempt ended (the timed-out attempt's late result)", () => {
        // attempt 1 started 14:00:05 and timed out at 15:00; the dialler's No Answer for its 14:00:30 call comes at 15:01
        const timedOut = [...queued, failed(1, '2025-03-11T15:15:00.000Z', 2, { reason: 'timeout', at: '2025-03-11T15:00:00.000Z' })];
        given(...timedOut)
          .when(noAnswer({ startedAt: '2025-03-11T14:00:30.000Z', followUpId }))
          .then([notConnected({ startedAt: '2025-03-11T14:00:30.000Z', followUpId })]);
        expect(followUpAfter(after(timedOut, noAnswer({ startedAt: '2025-03-11T14:00:30.000Z', followUpId })))).toMatchObject({ attempts: 1, nextAttemptAt: '2025-03-11T15:15:00.000Z' });
        // connected, it reached the lead: completed
        expect(followUpAfter(after(timedOut, logCall({ startedAt: '2025-03-11T14:00:30.000Z', followUpId })))).toMatchObject({ status: 'completed' });
        // one placed after the timeout is the next attempt, as before
        expect(followUpAfter(after(timedOut, noAnswer({ startedAt: '2025-03-11T15:00:30.000Z', followUpId })))).toMatchObject({ attempts: 2 });
        // nor does it fail attempt 2 when that one is already out at the dialler
        const retrying = [...timedOut, started(2, { at: '2025-03-11T15:15:02.000Z', schedule: 2 })];
        given(...retrying)
          .when(noAnswer({ startedAt: '2025-03-11T14:00:30.000Z', followUpId }))
          .then([notConnected({ startedAt: '2025-03-11T14:00:30.000Z', followUpId })]);
        expect(followUpAfter(after(retrying, noAnswer({ startedAt: '2025-03-11T14:00:30.000Z', followUpId })))).toMatchObject({ status: 'queued', attempts: 2, attemptOpen: true });
      });

      it("should end it with a call that says it started up to a minute before it, the dialler's clock being behind ours", () => {
        given(...queued)
          .when(noAnswer({ startedAt: '2025-03-11T13:59:10.000Z' }))
          .then([notConnected({ followUpId, startedAt: '2025-03-11T13:59:10.000Z' }), failed(1, retryAfterCall, 2, { reason: 'No Answer', callId: 'call1', at: callNow })]);
        given(...queued)
          .when(noAnswer({ startedAt: '2025-03-11T13:59:00.000Z' }))
          .then([notConnected({ startedAt: '2025-03-11T13:59:00.000Z' })]);
      });

      it.each([
        ['snoozed', snooze()],
        ['rescheduled to a later day', reschedule()],
      ])('should leave a follow-up %s while its attempt was out when the dialler reports that attempt unanswered', (_, move) => {
        // the dial request of attempt 1 went out at 14:00:05; the agent moved the follow-up; then the result came
        const moved = after(queued, move);
        const before = followUpAfter(moved);
        given(...moved).when(noAnswer({ followUpId })).then([notConnected({ followUpId })]);
        // not rung again in retryDelaySeconds: it waits for the time the agent chose, with its attempt given back
        expect(followUpAfter(after(moved, noAnswer({ followUpId })))).toEqual(before);
        expect(before).toMatchObject({ attempts: 0, attemptOpen: false });
      });

      it('should complete a snoozed follow-up when that call connected: the lead was reached', () => {
        const moved = after(queued, snooze());
        expect(followUpAfter(after(moved, logCall({ followUpId })))).toMatchObject({ status: 'completed', attempts: 1 });
      });
    });

    it('should end the attempt of the follow-up the call names, not the earliest queued one', () => {
      const two = [created, scheduled(), started(1), scheduled({ followUpId: 'f2', scheduledAt: '2025-03-11T16:00:00.000Z' }), started(1, { followUpId: 'f2' })];
      given(...two)
        .when(logCall({ followUpId: 'f2' }))
        .then([callLogged({ followUpId: 'f2' }), { type: FollowUpAttemptSucceeded, data: { followUpId: 'f2', contactId, attempt: 1, callId: 'call1', detail: null } }]);
    });

    it('should end the queued call follow-up due earliest when the outbound call names none', () => {
      const two = [created, scheduled({ followUpId: 'f2', scheduledAt: '2025-03-11T16:00:00.000Z' }), started(1, { followUpId: 'f2' }), scheduled(), started(1)];
      given(...two)
        .when(logCall())
        .then([callLogged({ followUpId }), { type: FollowUpAttemptSucceeded, data: { followUpId, contactId, attempt: 1, callId: 'call1', detail: null } }]);
    });

    it('should end nothing when an inbound call names no follow-up', () => {
      given(...queued).when(logCall({ direction: 'inbound' })).then([callLogged({ direction: 'inbound' })]);
    });

    it('should end nothing when the outbound call names no follow-up and none is queued', () => {
      given(created, scheduled()).when(logCall()).then([callLogged()]);
    });

    describe('an outbound call naming no follow-up, between the attempts of one', () => {
      // f1 due 14:00, tried once (the attempt ended 14:30), its retry pending; the agent calls the lead at 15:00
      const retrying = [created, scheduled(), started(1), failed(1, '2025-03-11T15:30:00.000Z', 2, { at: '2025-03-11T14:30:00.000Z' })];

      it('should be its next attempt, so the engine does not ring a lead the agent has just spoken to', () => {
        given(...retrying)
          .when(logCall())
          .then([
            callLogged({ followUpId }),
            started(2, { at: '2025-03-11T15:00:00.000Z', schedule: 2, dialled: false }),
            { type: FollowUpAttemptSucceeded, data: { followUpId, contactId, attempt: 2, callId: 'call1', detail: null } },
          ]);
        expect(followUpAfter(after(retrying, logCall()))).toMatchObject({ status: 'completed', attempts: 2 });
      });

      it('should count a failed attempt when the call does not connect, and retry after the delay from then', () => {
        given(...retrying)
          .when(logCall({ status: 'No Answer', durationSec: 0 }))
          .then([
            callLogged({ followUpId, status: 'No Answer', durationSec: 0, connected: false }),
            started(2, { at: '2025-03-11T15:00:00.000Z', schedule: 2, dialled: false }),
            failed(2, retryAfterCall, 3, { reason: 'No Answer', callId: 'call1', at: callNow }),
          ]);
      });

      it('should end the open attempt rather than one awaiting its retry', () => {
        const both = [...retrying, scheduled({ followUpId: 'f2', scheduledAt: '2025-03-11T16:00:00.000Z' }), started(1, { followUpId: 'f2' })];
        given(...both)
          .when(logCall())
          .then([callLogged({ followUpId: 'f2' }), { type: FollowUpAttemptSucceeded, data: { followUpId: 'f2', contactId, attempt: 1, callId: 'call1', detail: null } }]);
      });

      it('should not take a call placed while the last attempt was still open (pushed late, after it timed out)', () => {
        // the attempt opened 14:00 and timed out 15:30; the dialler pushes the call it placed at 15:00 only now
        const timedOut = [created, scheduled(), started(1), failed(1, '2025-03-11T15:45:00.000Z', 2, { reason: 'timeout', at: '2025-03-11T15:30:00.000Z' })];
        given(...timedOut).when(logCall()).then([callLogged()]);
        // nor one whose attempt ended before its end was recorded (an event stored by an earlier version)
        given(created, scheduled(), started(1), failed(1, '2025-03-11T15:30:00.000Z', 2)).when(logCall()).then([callLogged()]);
      });

      it('should take none that is snoozed, never tried, or due after the call started', () => {
        given(...after(retrying, snooze())).when(logCall()).then([callLogged()]);
        given(created, scheduled({ scheduledAt: '2025-03-11T09:00:00.000Z' })).when(logCall()).then([callLogged()]);
        given(...after(retrying, reschedule())).when(logCall()).then([callLogged()]); // rescheduled to the 20th
        given(...retrying).when(logCall({ direction: 'inbound' })).then([callLogged({ direction: 'inbound' })]);
      });
    });

    it('should end nothing when the call names an ended or non-call follow-up, and refuse one of no follow-up of the contact', () => {
      given(...endedIn.cancelled).when(logCall({ followUpId })).then([callLogged({ followUpId })]);
      given(...queued).when(logCall({ followUpId: 'f9' })).thenThrows(ValidationError, { field: 'followUpId' });
      given(created, sms, started(1)).when(logCall({ followUpId })).then([callLogged({ followUpId })]);
    });

    it('should end nothing when the handler passes no clock (now, retryDelaySeconds)', () => {
      given(...queued)
        .when(logCall({}, { now: undefined, retryDelaySeconds: undefined }))
        .then([callLogged()]);
    });

    it('should end nothing while the call is live', () => {
      expect(decideContact(logCall({ status: 'In-progress', durationSec: 0 }), fold(queued)).map((e) => e.type)).toEqual(['CallStarted']);
    });

    it('should record nothing when the same call is pushed again', () => {
      given(...after(queued, logCall({ status: 'Busy', durationSec: 0 })))
        .when(logCall({ status: 'Busy', durationSec: 0 }))
        .then([]);
    });

    it('should end the attempt before scheduling the next follow-up when a Follow up call connects', () => {
      const next = { followUpId: 'f2', type: 'call' as const, scheduledAt: '2025-03-13T14:00:00Z', priority: 'normal' as const, maxAttempts: 3, allowOutOfWindow: false };
      expect(decideContact(logCall({ status: 'Follow up', followUpId }, { followUp: next }), fold(queued)).map((e) => e.type)).toEqual([
        CallLogged,
        FollowUpAttemptSucceeded,
        FollowUpScheduled,
      ]);
    });

    it('should refuse naming retryDelaySeconds when it is negative', () => {
      given(...queued).when(logCall({}, { retryDelaySeconds: -1 })).thenThrows(ValidationError, { field: 'retryDelaySeconds' });
    });

    it('should end the one open attempt when the lead has many ended call follow-ups besides', () => {
      const ended = Array.from({ length: 20 }, (_, i) => [
        scheduled({ followUpId: `old${i}`, scheduledAt: '2025-03-01T09:00:00.000Z' }),
        started(1, { followUpId: `old${i}` }),
        { type: FollowUpAttemptSucceeded, data: { followUpId: `old${i}`, contactId, attempt: 1, callId: `c${i}`, detail: null } } as ContactEvent,
      ]).flat();
      given(created, ...ended, scheduled(), started(1))
        .when(logCall())
        .then([callLogged({ followUpId }), { type: FollowUpAttemptSucceeded, data: { followUpId, contactId, attempt: 1, callId: 'call1', detail: null } }]);
    });
  });

  describe("the state's call attempt candidates", () => {
    it('should name exactly the call follow-ups with an attempt open or awaiting a retry, after every event of a history', () => {
      const f2 = (over: Partial<FollowUpAttemptStartedData> = {}) => started(1, { followUpId: 'f2', ...over });
      let history: ContactEvent[] = [
        created,
        scheduled(),
        scheduled({ followUpId: 'f2', scheduledAt: '2025-03-11T16:00:00.000Z' }),
        scheduled({ followUpId: 'f3', type: 'sms', message: 'hi' }),
        started(1),
        f2(),
        started(1, { followUpId: 'f3' }),
      ];
      history = after(history, logCall({ status: 'Busy', durationSec: 0 })); // ends the earliest queued attempt (f1), to retry
      history = after(history, { ...snooze(), followUpId: 'f2' }); // withdraws f2's attempt
      history = after(history, start({ schedule: 2, now: retryAfterCall })); // f1 queued again (attempt 2)
      history = after(history, cancel()); // and cancelled with it open
      const seen: string[][] = [];
      for (let k = 1; k <= history.length; k++) {
        const state = fold(history.slice(0, k));
        const expected = [...state.followUps.values()]
          .filter((f) => f.type === 'call' && ((f.attemptOpen && isOpenFollowUpStatus(f.status)) || (!f.attemptOpen && f.status === 'scheduled' && f.attempts > 0)))
          .map((f) => f.id);
        expect([...state.callAttemptCandidates].sort()).toEqual(expected.sort());
        seen.push([...state.callAttemptCandidates]);
      }
      // The history opened and closed attempts of both call follow-ups (and never listed the sms one); f1 stayed
      // listed while it awaited its retry.
      expect(seen).toContainEqual(['f1', 'f2']);
      expect(seen).toContainEqual(['f1']);
      const awaiting = history.findIndex((_, i) => {
        const f = fold(history.slice(0, i + 1)).followUps.get(followUpId);
        return f?.status === 'scheduled' && !f.attemptOpen && f.attempts === 1;
      });
      expect(awaiting).toBeGreaterThan(0);
      expect(seen[awaiting]).toContain('f1');
      expect(seen.at(-1)).toEqual([]);
      expect(seen.flat()).not.toContain('f3');
    });
  });
});

describe(routeAttempt.name, () => {
  const pool = ['agent-c', 'agent-a', 'agent-b'];
  const route = (o: Partial<Parameters<typeof routeAttempt>[0]> = {}) =>
    routeAttempt({ ownAgentId: null, contactAgentId: null, pool, followUpId: 'f-1', attempt: 1, ...o });

  it("should give the attempt to the follow-up's own agent first, then the contact's, then the pool (SPEC §5)", () => {
    expect(route({ ownAgentId: 'own', contactAgentId: 'owner' })).toBe('own');
    expect(route({ contactAgentId: 'owner' })).toBe('owner');
    expect(pool).toContain(route());
  });

  it('should route to nobody when the lead has no agent and the pool is empty', () => {
    expect(route({ pool: [] })).toBeNull();
  });

  it('should route the same attempt to the same agent whatever order the pool is listed in (a job run again agrees)', () => {
    for (let i = 0; i < 50; i++) {
      const id = `f-${i}`;
      expect(route({ followUpId: id, pool: ['agent-b', 'agent-c', 'agent-a'] })).toBe(route({ followUpId: id }));
    }
  });

  it('should move each further attempt to the next agent of the pool, round the pool', () => {
    for (let i = 0; i < 20; i++) {
      const seen = [1, 2, 3, 4].map((attempt) => route({ followUpId: `f-${i}`, attempt }));
      expect(new Set(seen.slice(0, 3)).size).toBe(3);
      expect(seen[3]).toBe(seen[0]);
    }
  });

  it("should spread a campaign's leads over its pool", () => {
    const counts = new Map<string | null, number>();
    for (let i = 0; i < 3000; i++) {
      const agent = route({ followUpId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` });
      counts.set(agent, (counts.get(agent) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['agent-a', 'agent-b', 'agent-c']);
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
  });
});

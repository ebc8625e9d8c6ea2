import { Map as ImmutableMap, OrderedMap, Set as ImmutableSet } from 'immutable';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '@app/shared';
import {
  CallLogged,
  CallLoggedData,
  CallStarted,
  ContactAssigned,
  ContactCreated,
  ContactCreatedData,
  ContactEvent,
  ContactStatusChanged,
  ContactUpdated,
  FINAL_CALL_STATUSES,
  FollowUpCancelled,
  FollowUpScheduled,
  FollowUpScheduledData,
  LeadQualityChanged,
  LeadReassigned,
  LeadStatus,
  LeadStatusCause,
  LeadStatusChanged,
  NoteAdded,
  SPOKEN_TO_STATUSES,
  contactStream,
} from './contact.events';
import { CallInput, ContactCommand, FollowUpInput, LogCall, contactDecider, decideContact, evolveContact, initialContactState } from './contact.decider';
import { FIXTURE_CONTACT_ID, fixtureContact } from '@app/testing/contact-fixture';

// ---- fixtures -------------------------------------------------------------------------------------------------

const contactId = FIXTURE_CONTACT_ID;
const contact: ContactCreatedData = fixtureContact;
const created: ContactEvent = { type: ContactCreated, data: contact };

const leadStatusChanged = (from: LeadStatus, to: LeadStatus, cause: LeadStatusCause = { kind: 'manual' }): ContactEvent => ({
  type: LeadStatusChanged,
  data: { contactId, from, to, cause },
});
const leadIs = (status: LeadStatus): ContactEvent[] => (status === 'New' ? [] : [leadStatusChanged('New', status)]);

const call = (overrides: Partial<CallInput> = {}): CallInput => ({
  callId: 'call1',
  agentId: 'a1',
  direction: 'outbound',
  status: 'Called',
  durationSec: 42,
  startedAt: '2025-03-10T14:00:00.000Z',
  ...overrides,
});
const logCall = (overrides: Partial<CallInput> = {}, extra: Partial<Omit<LogCall, 'type' | 'call'>> = {}): LogCall => ({
  type: 'LogCall',
  contactId,
  call: call(overrides),
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
    startedAt: '2025-03-10T14:00:00.000Z',
    note: null,
    campaignId: 'camp1',
    // A push without tags is tagged as its lead (the fixture contact's ['vip']).
    tags: ['vip'],
    followUpId: null,
    ...overrides,
  },
});

const followUp = (overrides: Partial<FollowUpInput> = {}): FollowUpInput => ({
  followUpId: 'f1',
  type: 'call',
  scheduledAt: '2025-03-11T10:00:00.000Z',
  agentId: null,
  priority: 'normal',
  maxAttempts: 3,
  allowOutOfWindow: false,
  ...overrides,
});
const followUpScheduled = (overrides: Partial<FollowUpScheduledData> = {}): ContactEvent => ({
  type: FollowUpScheduled,
  data: {
    followUpId: 'f1',
    contactId,
    type: 'call',
    scheduledAt: '2025-03-11T10:00:00.000Z',
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

// ---- given / when / then ------------------------------------------------------------------------------------

const fold = (events: ContactEvent[]) => events.reduce(evolveContact, initialContactState);

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

/** Feeds the events a decision produced back into the state, as the store would. */
const after = (history: ContactEvent[], command: ContactCommand): ContactEvent[] => [...history, ...decideContact(command, fold(history))];

// ---- tests ----------------------------------------------------------------------------------------------------

describe(decideContact.name, () => {
  describe('CreateContact', () => {
    const create = { type: 'CreateContact' as const, contactId, name: ' Sarah Lee ', phone: '+14155550100', timezone: 'America/New_York' };

    it('should create a New, ACTIVE, WARM contact when only the required fields are given', () => {
      given().when(create).then([{ type: ContactCreated, data: { ...contact, assignedAgentId: null, tags: [], campaignId: null } }]);
    });

    it('should keep the given quality, agent, campaign and tags (trimmed, once each) when they are given', () => {
      given()
        .when({ ...create, leadQuality: 'HOT', assignedAgentId: 'a1', campaignId: 'camp1', tags: ['vip', ' vip ', '', 'b2b'] })
        .then([{ type: ContactCreated, data: { ...contact, leadQuality: 'HOT', tags: ['vip', 'b2b'] } }]);
    });

    it('should refuse with a conflict when the contact exists already', () => {
      given(created).when(create).thenThrows(ConflictError);
    });

    it('should refuse when the phone is not E.164', () => {
      given().when({ ...create, phone: '415-555-0100' }).thenThrows(ValidationError, { field: 'phone' });
    });

    it('should refuse when the timezone is not an IANA zone', () => {
      given().when({ ...create, timezone: 'Mars/Olympus' }).thenThrows(ValidationError, { field: 'timezone' });
    });

    it.each([
      ['absent', undefined],
      ['null', null],
    ])("should record no timezone of its own, so the org's as it is at each moment applies, when it is %s", (_, timezone) => {
      given()
        .when({ ...create, timezone })
        .then([{ type: ContactCreated, data: { ...contact, timezone: null, assignedAgentId: null, tags: [], campaignId: null } }]);
      expect(fold(decideContact({ ...create, timezone }, initialContactState)).timezone).toBeNull();
    });

    it('should refuse when the name is blank', () => {
      given().when({ ...create, name: '  ' }).thenThrows(ValidationError, { field: 'name' });
    });
  });

  describe('UpdateContact', () => {
    const update = { type: 'UpdateContact' as const, contactId, at: '2025-03-10T15:00:00.000Z' };

    it('should record nothing when no field changes', () => {
      given(created)
        .when({ ...update, name: 'Sarah Lee', phone: '+14155550100', timezone: 'America/New_York', tags: ['vip'], campaignId: 'camp1', leadQuality: 'WARM', assignedAgentId: 'a1', status: 'ACTIVE', leadStatus: 'New' })
        .then([]);
    });

    it('should record nothing when the same tags come in another order', () => {
      const tagged = given(created).when({ ...update, tags: ['vip', 'b2b'] });
      tagged.then([{ type: ContactUpdated, data: { contactId, changes: { tags: ['vip', 'b2b'] } } }]);
      given(...after([created], { ...update, tags: ['vip', 'b2b'] }))
        .when({ ...update, tags: ['b2b', 'vip'] })
        .then([]);
    });

    it('should record only the fields that changed when some are the same', () => {
      given(created)
        .when({ ...update, name: 'Sarah Lee', phone: '+14155550199', campaignId: null })
        .then([{ type: ContactUpdated, data: { contactId, changes: { phone: '+14155550199', campaignId: null } } }]);
    });

    it("should record timezone null, and leave the contact with none of its own, when it is patched to follow the org's", () => {
      given(created).when({ ...update, timezone: null }).then([{ type: ContactUpdated, data: { contactId, changes: { timezone: null } } }]);
      expect(fold(after([created], { ...update, timezone: null })).timezone).toBeNull();
    });

    it("should record nothing when the timezone is patched to the one it has, its own or the org's", () => {
      given(created).when({ ...update, timezone: 'America/New_York' }).then([]);
      const followsOrg: ContactEvent = { type: ContactCreated, data: { ...contact, timezone: null } };
      given(followsOrg).when({ ...update, timezone: null }).then([]);
    });

    it('should record its own timezone when a contact following the org gets one', () => {
      const followsOrg: ContactEvent = { type: ContactCreated, data: { ...contact, timezone: null } };
      given(followsOrg).when({ ...update, timezone: 'Europe/Madrid' }).then([{ type: ContactUpdated, data: { contactId, changes: { timezone: 'Europe/Madrid' } } }]);
    });

    it('should refuse naming timezone when it is patched to a zone that is not IANA', () => {
      given(created).when({ ...update, timezone: 'Europe/Atlantis' }).thenThrows(ValidationError, { field: 'timezone' });
    });

    it('should record LeadQualityChanged when the quality changes', () => {
      given(created).when({ ...update, leadQuality: 'HOT' }).then([{ type: LeadQualityChanged, data: { contactId, from: 'WARM', to: 'HOT' } }]);
    });

    it('should record ContactAssigned from the old agent when the contact is reassigned', () => {
      given(created).when({ ...update, assignedAgentId: 'a2' }).then([{ type: ContactAssigned, data: { contactId, fromAgentId: 'a1', toAgentId: 'a2', at: '2025-03-10T15:00:00.000Z' } }]);
    });

    it('should record ContactAssigned to null when the contact is unassigned', () => {
      given(created).when({ ...update, assignedAgentId: null }).then([{ type: ContactAssigned, data: { contactId, fromAgentId: 'a1', toAgentId: null, at: '2025-03-10T15:00:00.000Z' } }]);
    });

    it('should record ContactAssigned from null when an unassigned contact gets an agent', () => {
      const unassigned = after([created], { ...update, assignedAgentId: null });
      given(...unassigned).when({ ...update, assignedAgentId: 'a3' }).then([{ type: ContactAssigned, data: { contactId, fromAgentId: null, toAgentId: 'a3', at: '2025-03-10T15:00:00.000Z' } }]);
    });

    it('should record ContactStatusChanged when the contact is archived', () => {
      given(created).when({ ...update, status: 'ARCHIVED' }).then([{ type: ContactStatusChanged, data: { contactId, from: 'ACTIVE', to: 'ARCHIVED' } }]);
    });

    it('should record a manual LeadStatusChanged when the lead status is set by hand', () => {
      given(created).when({ ...update, leadStatus: 'Interested' }).then([leadStatusChanged('New', 'Interested', { kind: 'manual' })]);
    });

    it('should record every kind of change in a fixed order when many change at once', () => {
      given(created)
        .when({ ...update, status: 'ARCHIVED', leadStatus: 'Not Interested', assignedAgentId: 'a2', leadQuality: 'COLD', name: 'Sarah Lee-Park' })
        .then([
          { type: ContactUpdated, data: { contactId, changes: { name: 'Sarah Lee-Park' } } },
          { type: LeadQualityChanged, data: { contactId, from: 'WARM', to: 'COLD' } },
          { type: ContactAssigned, data: { contactId, fromAgentId: 'a1', toAgentId: 'a2', at: '2025-03-10T15:00:00.000Z' } },
          leadStatusChanged('New', 'Not Interested', { kind: 'manual' }),
          { type: ContactStatusChanged, data: { contactId, from: 'ACTIVE', to: 'ARCHIVED' } },
        ]);
    });

    it('should answer not found when the contact does not exist', () => {
      given().when({ ...update, name: 'X' }).thenThrows(NotFoundError);
    });
  });

  describe('LogCall', () => {
    it('should answer not found when the contact does not exist', () => {
      given().when(logCall()).thenThrows(NotFoundError);
    });

    describe('SPEC §4 through a call', () => {
      it.each(['Interested', 'Not Interested', 'Followups'] as const)('should log the call and move the lead to %s when a Called push asks for it', (requested) => {
        given(created)
          .when(logCall({ leadStatus: requested }))
          .then([callLogged(), leadStatusChanged('New', requested, { kind: 'call', callId: 'call1', callStatus: 'Called' })]);
      });

      it('should log the call only when a Called push asks for no status', () => {
        given(created).when(logCall()).then([callLogged()]);
      });

      it('should take the status of a long call that ended last, though a short one began during it (the last call is the one that ended last)', () => {
        // call A began 14:00 (live); another line got Busy at 14:05; A's final push, 20 minutes long, says Interested
        const during = [
          created,
          { type: CallStarted, data: { callId: 'callA', contactId, agentId: 'a1', direction: 'outbound', startedAt: '2025-03-10T14:00:00.000Z', campaignId: null, tags: [] } } as ContactEvent,
          callLogged({ callId: 'callB', startedAt: '2025-03-10T14:05:00.000Z', status: 'Busy', durationSec: 0, connected: false }),
          leadStatusChanged('New', 'Not Picked', { kind: 'call', callId: 'callB', callStatus: 'Busy' }),
        ];
        given(...during)
          .when(logCall({ callId: 'callA', startedAt: '2025-03-10T14:00:00.000Z', durationSec: 1200, leadStatus: 'Interested' }))
          .then([
            callLogged({ callId: 'callA', startedAt: '2025-03-10T14:00:00.000Z', durationSec: 1200 }),
            leadStatusChanged('Not Picked', 'Interested', { kind: 'call', callId: 'callA', callStatus: 'Called' }),
          ]);
      });

      it('should leave the status the last call set when a call that ended before it is pushed late (SPEC §4: the last call)', () => {
        // the 15:00 call made the lead Interested; the dialler's batch brings the 14:00 one, Not Interested, only now
        const later = [created, callLogged({ callId: 'call2', startedAt: '2025-03-10T15:00:00.000Z' }), leadStatusChanged('New', 'Interested', { kind: 'call', callId: 'call2', callStatus: 'Called' })];
        given(...later).when(logCall({ leadStatus: 'Not Interested' })).then([callLogged()]);
        given(...later).when(logCall({ status: 'Busy', durationSec: 0 })).then([callLogged({ status: 'Busy', durationSec: 0, connected: false })]);
        // one that began after it sets it as usual
        given(...later)
          .when(logCall({ leadStatus: 'Not Interested', startedAt: '2025-03-10T15:30:00.000Z' }))
          .then([
            callLogged({ startedAt: '2025-03-10T15:30:00.000Z' }),
            leadStatusChanged('Interested', 'Not Interested', { kind: 'call', callId: 'call1', callStatus: 'Called' }),
          ]);
      });

      it('should still move the lead to Followups when a late call schedules a call follow-up (SPEC §4, last row)', () => {
        const later = [created, callLogged({ callId: 'call2', startedAt: '2025-03-10T15:00:00.000Z', status: 'Busy', durationSec: 0, connected: false }), leadStatusChanged('New', 'Not Picked', { kind: 'call', callId: 'call2', callStatus: 'Busy' })];
        const events = decideContact(logCall({ status: 'Rescheduled', durationSec: 30 }, { callback: { followUpId: 'f9', callbackAt: '2025-03-12T10:00:00.000Z', reason: null } }), fold(later));
        expect(events.map((e) => e.type)).toEqual([CallLogged, FollowUpScheduled, LeadStatusChanged]);
        expect(events.at(-1)!.data).toMatchObject({ from: 'Not Picked', to: 'Followups' });
      });

      it.each(['Busy', 'No Answer'] as const)('should move a new lead to Not Picked when the call is %s', (status) => {
        given(created)
          .when(logCall({ status, durationSec: 0 }))
          .then([callLogged({ status, durationSec: 0, connected: false }), leadStatusChanged('New', 'Not Picked', { kind: 'call', callId: 'call1', callStatus: status })]);
      });

      it('should log the call only when a Not Picked lead is Busy again', () => {
        given(created, leadStatusChanged('New', 'Not Picked'))
          .when(logCall({ status: 'Busy', durationSec: 0 }))
          .then([callLogged({ status: 'Busy', durationSec: 0, connected: false })]);
      });

      it('should move the lead to Missed when an inbound call is Missed', () => {
        given(created)
          .when(logCall({ status: 'Missed', direction: 'inbound', durationSec: 0 }))
          .then([
            callLogged({ status: 'Missed', direction: 'inbound', durationSec: 0, connected: false }),
            leadStatusChanged('New', 'Missed', { kind: 'call', callId: 'call1', callStatus: 'Missed' }),
          ]);
      });

      const spokenTo = (['Busy', 'No Answer', 'Missed'] as const).flatMap((status) => SPOKEN_TO_STATUSES.map((lead) => [status, lead] as const));
      it.each(spokenTo)('should keep the lead status (spoken-to) when the call is %s and the lead is %s', (status, lead) => {
        given(created, ...leadIs(lead))
          .when(logCall({ status, durationSec: 0 }))
          .then([callLogged({ status, durationSec: 0, connected: false })]);
      });

      it('should ignore the requested lead status when the call is not Called', () => {
        given(created)
          .when(logCall({ status: 'No Answer', durationSec: 0, leadStatus: 'Interested' }))
          .then([callLogged({ status: 'No Answer', durationSec: 0, connected: false }), leadStatusChanged('New', 'Not Picked', { kind: 'call', callId: 'call1', callStatus: 'No Answer' })]);
      });
    });

    describe('Follow up', () => {
      it('should log the call, schedule the follow-up (call_outcome) and move the lead to Followups, in that order', () => {
        given(created)
          .when(logCall({ status: 'Follow up' }, { followUp: followUp({ notes: ' send the brochure ' }) }))
          .then([
            callLogged({ status: 'Follow up' }),
            followUpScheduled({ source: 'call_outcome', callId: 'call1', notes: 'send the brochure' }),
            leadStatusChanged('New', 'Followups', { kind: 'call', callId: 'call1', callStatus: 'Follow up' }),
          ]);
      });

      it('should not change the lead status when the lead is in Followups already', () => {
        given(created, ...leadIs('Followups'))
          .when(logCall({ status: 'Follow up' }, { followUp: followUp() }))
          .then([callLogged({ status: 'Follow up' }), followUpScheduled({ source: 'call_outcome', callId: 'call1' })]);
      });

      it("should take the call's campaign for the follow-up when the follow-up names none", () => {
        given(created)
          .when(logCall({ status: 'Follow up', campaignId: 'camp9' }, { followUp: followUp() }))
          .then([
            callLogged({ status: 'Follow up', campaignId: 'camp9' }),
            followUpScheduled({ source: 'call_outcome', callId: 'call1', campaignId: 'camp9' }),
            leadStatusChanged('New', 'Followups', { kind: 'call', callId: 'call1', callStatus: 'Follow up' }),
          ]);
      });

      it('should refuse naming followUp when the push carries no follow-up', () => {
        given(created)
          .when(logCall({ status: 'Follow up' }))
          .thenThrows(ValidationError, { field: 'followUp', message: 'followUp is required when status is Follow up' });
      });

      it('should name the nested field when the follow-up is invalid', () => {
        given(created)
          .when(logCall({ status: 'Follow up' }, { followUp: followUp({ maxAttempts: 11 }) }))
          .thenThrows(ValidationError, { field: 'followUp.maxAttempts' });
      });

      it('should refuse with a conflict when the follow-up id is taken already', () => {
        given(created, followUpScheduled())
          .when(logCall({ status: 'Follow up' }, { followUp: followUp() }))
          .thenThrows(ConflictError, { message: 'follow-up f1 exists already' });
      });
    });

    describe('Rescheduled', () => {
      const callback = { followUpId: 'f2', callbackAt: '2025-03-12T16:30:00+01:00', reason: 'in a meeting' };
      /** What a Rescheduled push of 30 s records: the call, the callback's follow-up (these fields over the defaults), Followups. */
      const rescheduled = (followUp: Partial<FollowUpScheduledData> = {}) => [
        callLogged({ status: 'Rescheduled', durationSec: 30 }),
        followUpScheduled({
          followUpId: 'f2',
          type: 'call',
          scheduledAt: '2025-03-12T15:30:00.000Z',
          agentId: null,
          priority: 'normal',
          maxAttempts: 3,
          allowOutOfWindow: false,
          notes: 'in a meeting',
          campaignId: 'camp1',
          source: 'lead_request',
          callId: 'call1',
          ...followUp,
        }),
        leadStatusChanged('New', 'Followups', { kind: 'call', callId: 'call1', callStatus: 'Rescheduled' }),
      ];

      it('should schedule a call follow-up (lead_request) at the callback time with the defaults when the lead asks to be called back', () => {
        given(created).when(logCall({ status: 'Rescheduled', durationSec: 30 }, { callback })).then(rescheduled());
      });

      it('should take the callback\'s agent, priority, attempts and out-of-window override from the push\'s followUp when it gives them', () => {
        const fields = { followUpId: 'ignored', type: 'call' as const, scheduledAt: callback.callbackAt, agentId: 'a2', priority: 'urgent' as const, maxAttempts: 5, allowOutOfWindow: true, campaignId: 'camp2' };
        given(created)
          .when(logCall({ status: 'Rescheduled', durationSec: 30 }, { callback, followUp: fields }))
          .then(rescheduled({ agentId: 'a2', priority: 'urgent', maxAttempts: 5, allowOutOfWindow: true, campaignId: 'camp2' }));
      });

      it('should take the callback\'s notes from followUp.notes, else the call\'s note, when the push gives no reason', () => {
        const noReason = { followUpId: 'f2', callbackAt: callback.callbackAt };
        const fields = { followUpId: 'f2', type: 'call' as const, scheduledAt: callback.callbackAt, priority: 'normal' as const, maxAttempts: 3, allowOutOfWindow: false };
        const notesOf = (events: ContactEvent[]) => (events.find((e) => e.type === FollowUpScheduled)!.data as { notes: string | null }).notes;
        expect(notesOf(decideContact(logCall({ status: 'Rescheduled', note: ' wants to ask her husband ' }, { callback: noReason }), fold([created])))).toBe('wants to ask her husband');
        expect(notesOf(decideContact(logCall({ status: 'Rescheduled', note: 'call note' }, { callback: noReason, followUp: { ...fields, notes: 'after 18:00' } }), fold([created])))).toBe('after 18:00');
        expect(notesOf(decideContact(logCall({ status: 'Rescheduled' }, { callback: noReason }), fold([created])))).toBeNull();
      });

      it('should refuse, naming the field, a followUp that is not a call, names another source or another time than callbackAt', () => {
        const fields = { followUpId: 'f2', type: 'call' as const, scheduledAt: callback.callbackAt, priority: 'normal' as const, maxAttempts: 3, allowOutOfWindow: false };
        const pushWith = (followUp: FollowUpInput) => given(created).when(logCall({ status: 'Rescheduled' }, { callback, followUp }));
        pushWith({ ...fields, type: 'sms', message: 'hi' }).thenThrows(ValidationError, { field: 'followUp.type' });
        pushWith({ ...fields, source: 'manual' }).thenThrows(ValidationError, { field: 'followUp.source' });
        pushWith({ ...fields, scheduledAt: '2025-03-13T15:30:00Z' }).thenThrows(ValidationError, { field: 'followUp.scheduledAt' });
        pushWith({ ...fields, maxAttempts: 11 }).thenThrows(ValidationError, { field: 'followUp.maxAttempts' });
        // the same instant in another offset is callbackAt
        pushWith({ ...fields, scheduledAt: '2025-03-12T15:30:00Z' }).then(expect.arrayContaining([expect.objectContaining({ type: FollowUpScheduled })]));
      });

      it('should refuse naming callbackAt when the push carries no callback', () => {
        given(created).when(logCall({ status: 'Rescheduled' })).thenThrows(ValidationError, { field: 'callbackAt' });
      });

      it('should refuse naming callbackAt when the callback time is not a timestamp', () => {
        given(created)
          .when(logCall({ status: 'Rescheduled' }, { callback: { ...callback, callbackAt: 'tomorrow' } }))
          .thenThrows(ValidationError, { field: 'callbackAt' });
      });
    });

    describe('idempotency and live calls', () => {
      it('should record nothing when the same call is pushed again with the same status', () => {
        const history = after([created], logCall({ status: 'Busy', durationSec: 0 }));
        given(...history).when(logCall({ status: 'Busy', durationSec: 0 })).then([]);
      });

      it('should record nothing when a Follow up call is pushed again, even without its follow-up', () => {
        const history = after([created], logCall({ status: 'Follow up' }, { followUp: followUp() }));
        given(...history).when(logCall({ status: 'Follow up' })).then([]);
      });

      it('should refuse with a conflict naming the first status when the same call comes with another final status', () => {
        given(created, callLogged({ status: 'Busy', durationSec: 0, connected: false }))
          .when(logCall({ status: 'Called' }))
          .thenThrows(ConflictError, { message: 'call call1 was already logged as Busy' });
      });

      it('should record CallStarted when a call starts', () => {
        given(created)
          .when(logCall({ status: 'In-progress', durationSec: 0, tags: ['promo'] }))
          .then([{ type: CallStarted, data: { callId: 'call1', contactId, agentId: 'a1', direction: 'outbound', startedAt: '2025-03-10T14:00:00.000Z', campaignId: 'camp1', tags: ['promo'] } }]);
      });

      it('should record nothing when a live call is pushed again', () => {
        const history = after([created], logCall({ status: 'In-progress', durationSec: 0 }));
        given(...history).when(logCall({ status: 'In-progress', durationSec: 0 })).then([]);
      });

      it('should make one call of In-progress then final, and ignore the same final status again', () => {
        const live = after([created], logCall({ status: 'In-progress', durationSec: 0 }));
        expect(live.slice(1).map((e) => e.type)).toEqual([CallStarted]);

        given(...live).when(logCall({ status: 'Called', durationSec: 95 })).then([callLogged({ durationSec: 95 })]);

        const ended = after(live, logCall({ status: 'Called', durationSec: 95 }));
        expect(fold(ended).calls).toEqual(ImmutableMap([['call1', { status: 'Called', final: true, endedAt: '2025-03-10T14:01:35.000Z', agentId: 'a1' }]]));
        given(...ended).when(logCall({ status: 'Called', durationSec: 95 })).then([]);
      });

      it('should record nothing when a live update arrives after the final status', () => {
        given(created, callLogged()).when(logCall({ status: 'In-progress', durationSec: 0 })).then([]);
      });
    });

    describe('call fields', () => {
      it.each(FINAL_CALL_STATUSES.flatMap((status) => [[status, 0, false] as const, [status, 7, true] as const]))(
        'should mark a %s call of %ss as connected=%s',
        (status, durationSec, connected) => {
          const extra = status === 'Follow up' ? { followUp: followUp() } : status === 'Rescheduled' ? { callback: { followUpId: 'f2', callbackAt: '2025-03-12T16:00:00Z' } } : {};
          const [logged] = decideContact(logCall({ status, durationSec }, extra), fold([created]));
          expect(logged).toMatchObject({ type: CallLogged, data: { status, durationSec, connected } });
        },
      );

      it('should tag the call as its lead is when the push names no tags, and keep an explicit empty list', () => {
        given(created).when(logCall()).then([callLogged({ tags: ['vip'] })]);
        given(created).when(logCall({ tags: [] })).then([callLogged({ tags: [] })]);
        given(created).when(logCall({ status: 'In-progress', durationSec: 0 })).then([{ type: CallStarted, data: { callId: 'call1', contactId, agentId: 'a1', direction: 'outbound', startedAt: '2025-03-10T14:00:00.000Z', campaignId: 'camp1', tags: ['vip'] } }]);
      });

      it('should refuse naming callbackAt when a final push other than Rescheduled carries one, rather than drop it', () => {
        const callback = { followUpId: 'f1', callbackAt: '2025-03-12T10:00:00.000Z' };
        for (const status of ['Called', 'Busy', 'No Answer', 'Missed'] as const) {
          given(created).when(logCall({ status }, { callback })).thenThrows(ValidationError, { field: 'callbackAt' });
        }
        given(created).when(logCall({ status: 'Follow up' }, { callback, followUp: followUp() })).thenThrows(ValidationError, { field: 'callbackAt' });
        // In-progress: the body the final Rescheduled push will carry
        given(created)
          .when(logCall({ status: 'In-progress', durationSec: 0 }, { callback }))
          .then([{ type: CallStarted, data: { callId: 'call1', contactId, agentId: 'a1', direction: 'outbound', startedAt: '2025-03-10T14:00:00.000Z', campaignId: 'camp1', tags: ['vip'] } }]);
      });

      it('should refuse naming followUp when a final push that is neither Follow up nor Rescheduled carries one, rather than drop it', () => {
        for (const status of ['Called', 'Busy', 'No Answer', 'Missed'] as const) {
          given(created).when(logCall({ status }, { followUp: followUp() })).thenThrows(ValidationError, { field: 'followUp' });
        }
        // In-progress: the same body the final Follow up push will carry; the call starts, nothing is scheduled yet
        given(created)
          .when(logCall({ status: 'In-progress', durationSec: 0 }, { followUp: followUp() }))
          .then([{ type: CallStarted, data: { callId: 'call1', contactId, agentId: 'a1', direction: 'outbound', startedAt: '2025-03-10T14:00:00.000Z', campaignId: 'camp1', tags: ['vip'] } }]);
      });

      it('should keep the note (trimmed), tags, campaign and follow-up id and store startedAt in UTC when the push carries them', () => {
        // f9 is an sms follow-up of the contact: named, and no call attempt of it
        given(created, followUpScheduled({ followUpId: 'f9', type: 'sms', message: 'Hi' }))
          .when(logCall({ note: '  asked for pricing ', tags: ['promo'], campaignId: 'camp2', followUpId: 'f9', startedAt: '2025-03-10T09:00:00-05:00' }))
          .then([callLogged({ note: 'asked for pricing', tags: ['promo'], campaignId: 'camp2', followUpId: 'f9', startedAt: '2025-03-10T14:00:00.000Z' })]);
      });

      it('should refuse naming followUpId a follow-up that is not one of the contact, live or final', () => {
        given(created).when(logCall({ followUpId: 'f9' })).thenThrows(ValidationError, { field: 'followUpId' });
        given(created).when(logCall({ followUpId: 'f9', status: 'In-progress', durationSec: 0 })).thenThrows(ValidationError, { field: 'followUpId' });
      });

      it('should take the final push of a call known live naming no follow-up of the contact as naming none', () => {
        const live = after([created], logCall({ status: 'In-progress', durationSec: 0 }));
        given(...live).when(logCall({ followUpId: 'f9' })).then([callLogged({ followUpId: null })]);
      });

      it('should refuse naming durationSec when it is negative', () => {
        given(created).when(logCall({ durationSec: -1 })).thenThrows(ValidationError, { field: 'durationSec' });
      });

      it('should refuse naming startedAt when it has no offset', () => {
        given(created).when(logCall({ startedAt: '2025-03-10T14:00:00' })).thenThrows(ValidationError, { field: 'startedAt' });
      });

      it('should refuse naming startedAt when the date does not exist', () => {
        given(created).when(logCall({ startedAt: '2025-02-30T14:00:00Z' })).thenThrows(ValidationError, { field: 'startedAt' });
      });

      it('should still log the call when the contact is archived, because diallers lag', () => {
        given(created, { type: ContactStatusChanged, data: { contactId, from: 'ACTIVE', to: 'ARCHIVED' } })
          .when(logCall())
          .then([callLogged()]);
      });
    });
  });

  describe('AddNote', () => {
    const addNote = { type: 'AddNote' as const, contactId, noteId: 'n1', authorId: 'a1', text: '  prefers mornings ', at: '2025-03-10T14:05:00Z' };

    it('should record the note with its text trimmed when a note is added', () => {
      given(created)
        .when(addNote)
        .then([{ type: NoteAdded, data: { noteId: 'n1', contactId, authorId: 'a1', text: 'prefers mornings', at: '2025-03-10T14:05:00.000Z' } }]);
    });

    it('should refuse naming text when the text is blank', () => {
      given(created).when({ ...addNote, text: ' \n ' }).thenThrows(ValidationError, { field: 'text' });
    });

    it('should record nothing when the same note id comes again', () => {
      given(...after([created], addNote)).when(addNote).then([]);
    });

    it('should not touch the lead status when a note is added', () => {
      const events = decideContact(addNote, fold([created]));
      expect(events.map((e) => e.type)).toEqual([NoteAdded]);
    });

    it('should answer not found when the contact does not exist', () => {
      given().when(addNote).thenThrows(NotFoundError);
    });
  });

  describe('ScheduleFollowUp', () => {
    const schedule = (overrides: Partial<FollowUpInput> = {}, source: 'manual' | 'api' | 'import' = 'manual') => ({
      type: 'ScheduleFollowUp' as const,
      contactId,
      source,
      followUp: followUp(overrides),
    });

    it('should schedule it and move the lead to Followups when a call follow-up is scheduled', () => {
      given(created)
        .when(schedule())
        .then([followUpScheduled(), leadStatusChanged('New', 'Followups', { kind: 'follow_up_scheduled', followUpId: 'f1' })]);
    });

    it.each(['api', 'import'] as const)('should move the lead to Followups whatever the source, here %s', (source) => {
      given(created, ...leadIs('Not Picked'))
        .when(schedule({}, source))
        .then([followUpScheduled({ source }), leadStatusChanged('Not Picked', 'Followups', { kind: 'follow_up_scheduled', followUpId: 'f1' })]);
    });

    it('should only schedule it when the lead is in Followups already', () => {
      given(created, ...leadIs('Followups')).when(schedule()).then([followUpScheduled()]);
    });

    it('should keep the lead status when an sms follow-up is scheduled', () => {
      given(created)
        .when(schedule({ type: 'sms', message: 'See you tomorrow', url: 'https://ignored.example' }))
        .then([followUpScheduled({ type: 'sms', message: 'See you tomorrow' })]);
    });

    it('should keep its own agent, priority, campaign and out-of-window flag when they are given', () => {
      given(created)
        .when(schedule({ agentId: 'a2', priority: 'urgent', campaignId: 'camp2', allowOutOfWindow: true, maxAttempts: 10 }))
        .then([
          followUpScheduled({ agentId: 'a2', priority: 'urgent', campaignId: 'camp2', allowOutOfWindow: true, maxAttempts: 10 }),
          leadStatusChanged('New', 'Followups', { kind: 'follow_up_scheduled', followUpId: 'f1' }),
        ]);
    });

    it('should refuse naming message when an sms follow-up has none', () => {
      given(created).when(schedule({ type: 'sms' })).thenThrows(ValidationError, { field: 'message' });
    });

    it('should refuse naming url when a webhook follow-up has none', () => {
      given(created).when(schedule({ type: 'webhook' })).thenThrows(ValidationError, { field: 'url' });
    });

    it.each([0, 11, 2.5])('should refuse naming maxAttempts when it is %s', (maxAttempts) => {
      given(created).when(schedule({ maxAttempts })).thenThrows(ValidationError, { field: 'maxAttempts' });
    });

    it('should accept a past due time, for imports', () => {
      given(created, ...leadIs('Followups'))
        .when(schedule({ scheduledAt: '2020-01-01T00:00:00Z' }, 'import'))
        .then([followUpScheduled({ scheduledAt: '2020-01-01T00:00:00.000Z', source: 'import' })]);
    });

    it('should record nothing when the same follow-up id comes again', () => {
      given(...after([created], schedule())).when(schedule()).then([]);
    });

    it('should answer not found when the contact does not exist', () => {
      given().when(schedule()).thenThrows(NotFoundError);
    });
  });
});

describe(evolveContact.name, () => {
  it('should fold a stream into the state the decider reads', () => {
    const state = fold([
      created,
      { type: ContactUpdated, data: { contactId, changes: { name: 'S. Lee', campaignId: null } } },
      { type: ContactAssigned, data: { contactId, fromAgentId: 'a1', toAgentId: 'a2' } },
      { type: LeadQualityChanged, data: { contactId, from: 'WARM', to: 'HOT' } },
      { type: CallStarted, data: { callId: 'call2', contactId, agentId: 'a2', direction: 'inbound', startedAt: '2025-03-10T14:00:00.000Z', campaignId: null, tags: [] } },
      callLogged({ status: 'Busy', durationSec: 0, connected: false }),
      leadStatusChanged('New', 'Not Picked', { kind: 'call', callId: 'call1', callStatus: 'Busy' }),
      { type: NoteAdded, data: { noteId: 'n1', contactId, authorId: 'a2', text: 'hi', at: '2025-03-10T14:05:00.000Z' } },
      followUpScheduled(),
      { type: ContactStatusChanged, data: { contactId, from: 'ACTIVE', to: 'ARCHIVED' } },
    ]);
    expect(state).toEqual({
      ...initialContactState,
      exists: true,
      contactId,
      name: 'S. Lee',
      phone: '+14155550100',
      timezone: 'America/New_York',
      tags: ['vip'],
      leadStatus: 'Not Picked',
      leadQuality: 'HOT',
      assignedAgentId: 'a2',
      status: 'ARCHIVED',
      campaignId: null,
      version: 10,
      // the Busy call came first (the lead was New: not recycled), then the status change opened the streak
      recycle: { status: 'Not Picked', since: 7 },
      calls: ImmutableMap([
        ['call2', { status: 'In-progress', final: false, startedAt: '2025-03-10T14:00:00.000Z' }],
        ['call1', { status: 'Busy', final: true, endedAt: '2025-03-10T14:00:00.000Z', agentId: 'a1' }],
      ]),
      lastCallEndedAt: '2025-03-10T14:00:00.000Z',
      assignedAt: null, // an event recorded before the time was kept
      noteIds: ImmutableSet(['n1']),
      followUpIds: ImmutableSet(['f1']),
      followUps: OrderedMap([
        [
          'f1',
          {
            id: 'f1',
            type: 'call',
            status: 'scheduled',
            scheduledAt: '2025-03-11T10:00:00.000Z',
            nextAttemptAt: '2025-03-11T10:00:00.000Z',
            agentId: null,
            priority: 'normal',
            campaignId: 'camp1',
            maxAttempts: 3,
            attempts: 0,
            attemptOpen: false,
            outOfWindow: false,
            allowOutOfWindow: false,
            schedule: 1,
            message: null,
            url: null,
            notes: null,
          },
        ],
      ]),
    });
  });

  it('should not downgrade a final call when a late CallStarted is folded', () => {
    const state = fold([created, callLogged(), { type: CallStarted, data: { callId: 'call1', contactId, agentId: 'a1', direction: 'outbound', startedAt: '2025-03-10T14:00:00.000Z', campaignId: null, tags: [] } }]);
    expect(state.calls.get('call1')).toEqual({ status: 'Called', final: true, endedAt: '2025-03-10T14:00:42.000Z', agentId: 'a1' });
  });

  it('should leave an earlier state as it was when later calls and notes are folded onto it (ingest answers from it)', () => {
    const before = fold([created, ...Array.from({ length: 300 }, (_, i) => callLogged({ callId: `c${i}` }))]);
    const after = [callLogged({ callId: 'late' }), { type: CallStarted, data: { callId: 'live', contactId, agentId: 'a1', direction: 'outbound', startedAt: '2025-03-10T14:00:00.000Z', campaignId: null, tags: [] } }, { type: NoteAdded, data: { noteId: 'n9', contactId, text: 'x', authorId: 'a1', at: '2025-03-10T14:00:00.000Z' } }].reduce(
      (s, e) => evolveContact(s, e as ContactEvent),
      before,
    );
    expect([before.calls.size, before.calls.has('late'), before.calls.has('live'), before.noteIds.has('n9')]).toEqual([300, false, false, false]);
    expect([after.calls.size, after.calls.get('late'), after.calls.get('live'), after.noteIds.has('n9')]).toEqual([302, { status: 'Called', final: true, endedAt: '2025-03-10T14:00:42.000Z', agentId: 'a1' }, { status: 'In-progress', final: false, startedAt: '2025-03-10T14:00:00.000Z' }, true]);
  });

  describe('recycling streak (auto lead assignment) and the time a call ended', () => {
    // a1 tried the lead (Not Picked); at 15:00 a supervisor hands it to a2
    const handedOver = [
      created,
      callLogged({ callId: 'a1-first', status: 'No Answer', durationSec: 0, connected: false, startedAt: '2025-03-10T13:00:00.000Z' }),
      leadStatusChanged('New', 'Not Picked', { kind: 'call', callId: 'a1-first', callStatus: 'No Answer' }),
      { type: ContactAssigned, data: { contactId, fromAgentId: 'a1', toAgentId: 'a2', at: '2025-03-10T15:00:00.000Z' } } as ContactEvent,
    ];
    const late = (startedAt: string, status: 'No Answer' | 'Missed' = 'No Answer') =>
      decideContact(logCall({ callId: `late-${status}-${startedAt}`, status, durationSec: 0, startedAt }), fold(handedOver));

    it('should open no streak for the previous owner pushed late: a call that ended before the handover', () => {
      const events = late('2025-03-10T14:30:00.000Z');
      expect(fold(handedOver).recycle).toBeNull();
      expect(fold([...handedOver, ...events]).recycle).toBeNull();
    });

    it('should open no streak for the lead status such a call sets, nor keep one', () => {
      const events = late('2025-03-10T14:30:00.000Z', 'Missed');
      expect(events.map((e) => e.type)).toEqual([CallLogged, LeadStatusChanged]); // it is the last call: Missed is the status
      const state = fold([...handedOver, ...events]);
      expect([state.leadStatus, state.recycle]).toEqual(['Missed', null]);
    });

    it("should open the streak for the new owner's own unreached call", () => {
      const events = late('2025-03-10T15:10:00.000Z');
      expect(fold([...handedOver, ...events]).recycle).toEqual({ status: 'Not Picked', since: handedOver.length + 1 });
    });

    it('should take the handover time of an auto reassignment too', () => {
      const reassigned = [
        ...handedOver.slice(0, 3),
        { type: LeadReassigned, data: { contactId, fromAgentId: 'a1', toAgentId: 'a2', leadStatus: 'Not Picked', strategy: 'round_robin', scope: 'org', reassignments: 1, at: '2025-03-10T15:00:00.000Z' } } as ContactEvent,
      ];
      const before = decideContact(logCall({ callId: 'late', status: 'No Answer', durationSec: 0, startedAt: '2025-03-10T14:30:00.000Z' }), fold(reassigned));
      expect(fold([...reassigned, ...before]).recycle).toBeNull();
      const afterwards = decideContact(logCall({ callId: 'own', status: 'No Answer', durationSec: 0, startedAt: '2025-03-10T15:01:00.000Z' }), fold(reassigned));
      expect(fold([...reassigned, ...afterwards]).recycle).toEqual({ status: 'Not Picked', since: reassigned.length + 1 });
    });

    it("should leave the new owner's streak open when the previous owner's connected call from before arrives", () => {
      const own = decideContact(logCall({ callId: 'a2-own', agentId: 'a2', status: 'No Answer', durationSec: 0, startedAt: '2025-03-10T15:10:00.000Z' }), fold(handedOver));
      const opened = [...handedOver, ...own];
      const streak = fold(opened).recycle;
      expect(streak).toEqual({ status: 'Not Picked', since: handedOver.length + 1 });
      const connected = decideContact(logCall({ callId: 'a1-spoke', agentId: 'a1', status: 'Called', durationSec: 60, startedAt: '2025-03-10T14:30:00.000Z' }), fold(opened));
      expect(fold([...opened, ...connected]).recycle).toEqual(streak);
    });

    it("should count the new owner's own call though the dialler's clock puts its end before the handover", () => {
      const skewed = decideContact(logCall({ callId: 'a2-skewed', agentId: 'a2', status: 'No Answer', durationSec: 0, startedAt: '2025-03-10T14:59:58.000Z' }), fold(handedOver));
      expect(fold([...handedOver, ...skewed]).recycle).toEqual({ status: 'Not Picked', since: handedOver.length + 1 });
    });

    it("should move the new owner's open streak to the status a previous owner's late call sets", () => {
      // a2 marked the lead Not Picked by hand (a streak), then a1's Missed call, the last to end, arrives
      const manual = [...handedOver.slice(0, 1), handedOver[3], leadStatusChanged('New', 'Not Picked')];
      expect(fold(manual).recycle).toEqual({ status: 'Not Picked', since: 3 });
      const late = decideContact(logCall({ callId: 'a1-missed', agentId: 'a1', status: 'Missed', durationSec: 0, startedAt: '2025-03-10T14:30:00.000Z' }), fold(manual));
      const state = fold([...manual, ...late]);
      expect([state.leadStatus, state.recycle]).toEqual(['Missed', { status: 'Missed', since: manual.length + 2 }]);
    });

    it('should count a late call as today when the handover was recorded without its time (before it was kept)', () => {
      const untimed = [...handedOver.slice(0, 3), { type: ContactAssigned, data: { contactId, fromAgentId: 'a1', toAgentId: 'a2' } } as ContactEvent];
      const events = decideContact(logCall({ callId: 'late', status: 'No Answer', durationSec: 0, startedAt: '2025-03-10T14:30:00.000Z' }), fold(untimed));
      expect(fold([...untimed, ...events]).recycle).toEqual({ status: 'Not Picked', since: untimed.length + 1 });
    });
  });

  it('should keep follow-ups in the order scheduled, a changed one in its place, and an earlier state as it was', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `f${String(19 - i).padStart(2, '0')}`); // not in sorted order
    const before = fold([created, ...ids.map((followUpId) => followUpScheduled({ followUpId }))]);
    const after = evolveContact(before, { type: FollowUpCancelled, data: { followUpId: 'f07', contactId, reason: null } });
    expect([...after.followUps.keys()]).toEqual(ids);
    expect([before.followUps.get('f07')!.status, after.followUps.get('f07')!.status]).toEqual(['scheduled', 'cancelled']);
  });
});

describe('contactDecider', () => {
  it('should expose initial, evolve and decide for the event store helpers, on the contact-<id> stream', () => {
    expect(contactDecider.evolve(contactDecider.initial, created).exists).toBe(true);
    expect(contactStream('c1')).toBe('contact-c1');
  });
});

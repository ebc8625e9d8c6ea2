import { StoredEvent } from '@app/event-store';
import { NO_AGENT, slotOf } from './due-slots';
import { ActivityKind, foldTally, TallyResult, tallyLoad, TallyState, TrackedContact, TrackedFollowUp } from './follow-up-tally';

const ORG = 'org-1';
const OTHER_ORG = 'org-2';
const ANA = 'ana';
const BOB = 'bob';
const CAL = 'cal';

let position = 0;
const ev = (type: string, data: Record<string, unknown>, at = '2025-06-10T10:00:00.000Z', orgId = ORG): StoredEvent => ({
  globalPosition: String(++position),
  transactionId: String(position),
  streamId: 'contact-x',
  streamVersion: position,
  orgId,
  type,
  data,
  metadata: { orgId, occurredAt: at },
  idempotencyKey: null,
});

const created = (contactId: string, assignedAgentId: string | null, orgId = ORG) => ev('ContactCreated', { contactId, assignedAgentId }, undefined, orgId);
const scheduled = (followUpId: string, contactId: string, scheduledAt: string, agentId: string | null = null, at?: string) =>
  ev('FollowUpScheduled', { followUpId, contactId, scheduledAt, agentId }, at);
const fu = (type: string, followUpId: string, contactId: string, extra: Record<string, unknown> = {}, at?: string) => ev(type, { followUpId, contactId, ...extra }, at);
const archived = (contactId: string) => ev('ContactStatusChanged', { contactId, from: 'ACTIVE', to: 'ARCHIVED' });
const activated = (contactId: string) => ev('ContactStatusChanged', { contactId, from: 'ARCHIVED', to: 'ACTIVE' });

/**
 * The projection's tables, in memory, written the way its SQL writes them (upsert, add, delete zero cells), and read
 * back the way it loads a batch: to fold a log in any cut and compare the results.
 */
class Tables {
  contacts = new Map<string, TrackedContact>();
  followUps = new Map<string, TrackedFollowUp>();
  timezones = new Map<string, string>();
  open = new Map<string, { open: number; snoozed: number }>();
  activity = new Map<string, Record<ActivityKind, number>>();

  apply(events: StoredEvent[]): TallyResult {
    const load = tallyLoad(events);
    const state: TallyState = {
      contacts: new Map(load.contactIds.filter((id) => this.contacts.has(id)).map((id) => [id, this.contacts.get(id)!])),
      followUps: new Map(
        [...this.followUps.values()]
          .filter(
            (f) =>
              load.followUpIds.includes(f.followUpId) ||
              (f.agentId === null && load.reassignedContactIds.includes(f.contactId)) ||
              load.statusChangedContactIds.includes(f.contactId),
          )
          .map((f) => [f.followUpId, { ...f }]),
      ),
      orgTimezones: new Map(load.orgIds.filter((id) => this.timezones.has(id)).map((id) => [id, this.timezones.get(id)!])),
    };
    const r = foldTally(events, state);
    for (const [id, tz] of r.orgTimezones) this.timezones.set(id, tz);
    for (const [id, agent] of r.contacts) this.contacts.set(id, agent);
    for (const id of r.ended) this.followUps.delete(id);
    for (const f of r.upsert) this.followUps.set(f.followUpId, { ...f });
    for (const d of r.open) {
      const key = `${d.orgId}|${d.agentId}|${new Date(d.slot).toISOString()}`;
      const cell = this.open.get(key) ?? { open: 0, snoozed: 0 };
      cell.open += d.open;
      cell.snoozed += d.snoozed;
      if (cell.open === 0 && cell.snoozed === 0) this.open.delete(key);
      else this.open.set(key, cell);
    }
    for (const a of r.activity) {
      const key = `${a.orgId}|${a.agentId}|${a.day}`;
      const row = this.activity.get(key) ?? { scheduled: 0, completed: 0, failed: 0, expired: 0, cancelled: 0, notesWritten: 0 };
      for (const k of Object.keys(row) as ActivityKind[]) row[k] += a[k];
      this.activity.set(key, row);
    }
    return r;
  }

  dump() {
    const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return { contacts: sorted(this.contacts), followUps: sorted(this.followUps), timezones: sorted(this.timezones), open: sorted(this.open), activity: sorted(this.activity) };
  }

  /** Open cells of one agent, as `slot: open/snoozed`. */
  cells(agentId: string, orgId = ORG): Record<string, string> {
    return Object.fromEntries(
      [...this.open.entries()]
        .filter(([k]) => k.startsWith(`${orgId}|${agentId}|`))
        .map(([k, v]) => [k.split('|')[2], `${v.open}/${v.snoozed}`]),
    );
  }

  day(agentId: string, day: string, orgId = ORG) {
    return this.activity.get(`${orgId}|${agentId}|${day}`);
  }
}

const activity = (counts: Partial<Record<ActivityKind, number>>) => ({ scheduled: 0, completed: 0, failed: 0, expired: 0, cancelled: 0, notesWritten: 0, ...counts });

describe(foldTally.name, () => {
  it('should count an inheriting follow-up for the contact’s agent and an explicit one for its own, in 15-minute UTC slots', () => {
    const t = new Tables();
    t.apply([created('c1', ANA), scheduled('f1', 'c1', '2025-06-11T09:07:00Z'), scheduled('f2', 'c1', '2025-06-11T09:14:59Z', BOB), scheduled('f3', 'c1', '2025-06-11T09:15:00Z')]);
    expect(t.cells(ANA)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0', '2025-06-11T09:15:00.000Z': '1/0' });
    expect(t.cells(BOB)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0' });
    expect(t.day(ANA, '2025-06-10')).toEqual(activity({ scheduled: 2 }));
    expect(t.day(BOB, '2025-06-10')).toEqual(activity({ scheduled: 1 }));
  });

  it('should count a follow-up on an unassigned contact under no agent, and give it to the agent the contact gets', () => {
    const t = new Tables();
    t.apply([created('c1', null), scheduled('f1', 'c1', '2025-06-11T09:00:00Z')]);
    expect(t.cells(NO_AGENT)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0' });
    t.apply([ev('ContactAssigned', { contactId: 'c1', fromAgentId: null, toAgentId: ANA })]);
    expect(t.cells(NO_AGENT)).toEqual({});
    expect(t.cells(ANA)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0' });
  });

  it('should move only open inheriting follow-ups on ContactAssigned and LeadReassigned, leaving explicit ones and past activity', () => {
    const t = new Tables();
    t.apply([
      created('c1', ANA),
      scheduled('f1', 'c1', '2025-06-11T09:00:00Z'),
      scheduled('f2', 'c1', '2025-06-12T09:00:00Z'),
      scheduled('f3', 'c1', '2025-06-11T09:00:00Z', ANA),
      scheduled('f4', 'c1', '2025-06-11T09:00:00Z'),
      fu('FollowUpCompleted', 'f4', 'c1', { how: 'manual', by: null }),
    ]);
    t.apply([fu('FollowUpSnoozed', 'f2', 'c1', { until: '2025-06-13T09:00:00Z' })]);
    t.apply([ev('ContactAssigned', { contactId: 'c1', fromAgentId: ANA, toAgentId: BOB })]);
    expect(t.cells(ANA)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0' }); // f3, explicit
    expect(t.cells(BOB)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0', '2025-06-13T09:00:00.000Z': '1/1' });
    expect(t.day(ANA, '2025-06-10')).toEqual(activity({ scheduled: 4, completed: 1 }));
    expect(t.day(BOB, '2025-06-10')).toBeUndefined();

    t.apply([ev('LeadReassigned', { contactId: 'c1', fromAgentId: BOB, toAgentId: CAL, reassignments: 1 })]);
    expect(t.cells(BOB)).toEqual({});
    expect(t.cells(CAL)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0', '2025-06-13T09:00:00.000Z': '1/1' });
    // what ends after the move counts for the new agent
    t.apply([fu('FollowUpCancelled', 'f1', 'c1', { reason: null }, '2025-06-12T10:00:00Z')]);
    expect(t.day(CAL, '2025-06-12')).toEqual(activity({ cancelled: 1 }));
    expect(t.cells(CAL)).toEqual({ '2025-06-13T09:00:00.000Z': '1/1' });
  });

  it('should follow the due time and the snoozed flag: snooze, attempt, reschedule; deferrals and retries move neither', () => {
    const t = new Tables();
    t.apply([created('c1', ANA), scheduled('f1', 'c1', '2025-06-10T09:00:00Z')]);
    t.apply([fu('FollowUpSnoozed', 'f1', 'c1', { until: '2025-06-13T09:00:00Z' })]);
    expect(t.cells(ANA)).toEqual({ '2025-06-13T09:00:00.000Z': '1/1' });
    t.apply([fu('FollowUpAttemptStarted', 'f1', 'c1', { attempt: 1 })]);
    expect(t.cells(ANA)).toEqual({ '2025-06-13T09:00:00.000Z': '1/0' });
    t.apply([fu('FollowUpAttemptFailed', 'f1', 'c1', { attempt: 1, retryAt: '2025-06-13T09:15:00Z', schedule: 3 })]);
    expect(t.cells(ANA)).toEqual({ '2025-06-13T09:00:00.000Z': '1/0' });
    t.apply([fu('FollowUpRescheduled', 'f1', 'c1', { scheduledAt: '2025-06-20T10:00:00Z' })]);
    expect(t.cells(ANA)).toEqual({ '2025-06-20T10:00:00.000Z': '1/0' });
    t.apply([fu('FollowUpAttemptFailed', 'f1', 'c1', { attempt: 2, retryAt: null, schedule: null })]);
    expect(t.cells(ANA)).toEqual({});
    expect(t.followUps.size).toBe(0);
    expect(t.day(ANA, '2025-06-10')).toEqual(activity({ scheduled: 1, failed: 1 }));
  });

  it('should stop counting a follow-up as snoozed once its snooze ended and the calling window deferred it, keeping its due time', () => {
    const t = new Tables();
    t.apply([created('c1', ANA), scheduled('f1', 'c1', '2025-06-10T09:00:00Z')]);
    t.apply([fu('FollowUpSnoozed', 'f1', 'c1', { until: '2025-06-13T22:00:00Z' })]);
    expect(t.cells(ANA)).toEqual({ '2025-06-13T22:00:00.000Z': '1/1' });
    t.apply([fu('FollowUpDeferred', 'f1', 'c1', { nextAttemptAt: '2025-06-14T08:00:00Z', reason: 'out_of_window', schedule: 3 })]);
    expect(t.cells(ANA)).toEqual({ '2025-06-13T22:00:00.000Z': '1/0' });
    t.apply([fu('FollowUpDeferred', 'f1', 'c1', { nextAttemptAt: '2025-06-16T08:00:00Z', reason: 'out_of_window', schedule: 4 })]);
    expect(t.cells(ANA)).toEqual({ '2025-06-13T22:00:00.000Z': '1/0' });
  });

  it('should count each ending once: completed by hand or by an attempt, cancelled, expired', () => {
    const t = new Tables();
    t.apply([created('c1', ANA), ...['f1', 'f2', 'f3', 'f4'].map((id) => scheduled(id, 'c1', '2025-06-01T09:00:00Z'))]);
    t.apply([
      fu('FollowUpCompleted', 'f1', 'c1', { how: 'hub', by: ANA }),
      fu('FollowUpAttemptSucceeded', 'f2', 'c1', { attempt: 1 }),
      fu('FollowUpCancelled', 'f3', 'c1', { reason: null }),
      fu('FollowUpExpired', 'f4', 'c1', { overdueSince: '2025-06-01T09:00:00Z' }),
    ]);
    expect(t.day(ANA, '2025-06-10')).toEqual(activity({ scheduled: 4, completed: 2, cancelled: 1, expired: 1 }));
    expect(t.open.size).toBe(0);
  });

  it("should count notes for their author on the note's local day in the org's zone, a zone change applying from then on", () => {
    const t = new Tables();
    t.apply([
      ev('OrganizationCreated', { orgId: ORG, name: 'O', timezone: 'Pacific/Auckland' }),
      created('c1', ANA),
      ev('NoteAdded', { noteId: 'n1', contactId: 'c1', authorId: CAL, text: 'x', at: '2025-06-10T13:00:00Z' }, '2025-06-10T13:00:00Z'),
      ev('SettingsChanged', { changes: { timezone: 'America/Los_Angeles' }, settings: {} }),
      ev('NoteAdded', { noteId: 'n2', contactId: 'c1', authorId: CAL, text: 'x', at: '2025-06-10T03:00:00Z' }, '2025-06-10T03:00:00Z'),
    ]);
    expect(t.day(CAL, '2025-06-11')).toEqual(activity({ notesWritten: 1 })); // 01:00 on the 11th in Auckland
    expect(t.day(CAL, '2025-06-09')).toEqual(activity({ notesWritten: 1 })); // 20:00 on the 9th in Los Angeles
    expect(t.open.size).toBe(0);
    expect(t.timezones.get(ORG)).toBe('America/Los_Angeles');
  });

  it('should keep organizations apart', () => {
    const t = new Tables();
    t.apply([created('c1', ANA), created('c2', ANA, OTHER_ORG), scheduled('f1', 'c1', '2025-06-11T09:00:00Z'), { ...scheduled('f2', 'c2', '2025-06-11T09:00:00Z'), orgId: OTHER_ORG }]);
    expect(t.cells(ANA)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0' });
    expect(t.cells(ANA, OTHER_ORG)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0' });
  });

  it('should write the same tables however the log is cut into batches', () => {
    const log: StoredEvent[] = [
      ev('OrganizationCreated', { orgId: ORG, name: 'O', timezone: 'Europe/Paris' }),
      created('c1', ANA),
      created('c2', null),
      scheduled('f1', 'c1', '2025-06-11T09:00:00Z'),
      scheduled('f2', 'c1', '2025-06-11T09:05:00Z', BOB),
      scheduled('f3', 'c2', '2025-06-09T22:30:00Z'),
      fu('FollowUpSnoozed', 'f1', 'c1', { until: '2025-06-14T09:00:00Z' }),
      ev('ContactAssigned', { contactId: 'c1', fromAgentId: ANA, toAgentId: CAL }),
      fu('FollowUpAttemptStarted', 'f3', 'c2', { attempt: 1 }),
      ev('NoteAdded', { noteId: 'n1', contactId: 'c1', authorId: ANA, text: 'x', at: '2025-06-10T22:30:00Z' }),
      ev('ContactAssigned', { contactId: 'c2', fromAgentId: null, toAgentId: BOB }),
      scheduled('f4', 'c2', '2025-06-11T09:00:00Z'),
      fu('FollowUpCompleted', 'f2', 'c1', { how: 'manual', by: null }),
      ev('LeadReassigned', { contactId: 'c1', fromAgentId: CAL, toAgentId: ANA, reassignments: 1 }),
      fu('FollowUpAttemptStarted', 'f1', 'c1', { attempt: 1 }),
      fu('FollowUpExpired', 'f3', 'c2', { overdueSince: '2025-06-09T22:30:00Z' }),
      fu('FollowUpRescheduled', 'f4', 'c2', { scheduledAt: '2025-06-11T09:10:00Z' }),
      ev('ContactAssigned', { contactId: 'c2', fromAgentId: BOB, toAgentId: null }),
    ];
    const whole = new Tables();
    whole.apply(log);
    for (const size of [1, 2, 3, 5, 7]) {
      const cut = new Tables();
      for (let i = 0; i < log.length; i += size) cut.apply(log.slice(i, i + size));
      expect(cut.dump()).toEqual(whole.dump());
    }
    expect(whole.cells(ANA)).toEqual({ '2025-06-14T09:00:00.000Z': '1/0' });
    expect(whole.cells(NO_AGENT)).toEqual({ '2025-06-11T09:00:00.000Z': '1/0' });
    expect(whole.cells(BOB)).toEqual({});
    expect(whole.cells(CAL)).toEqual({});
    expect(whole.day(ANA, '2025-06-11')).toEqual(activity({ notesWritten: 1 })); // 00:30 in Paris
    expect(whole.day(BOB, '2025-06-10')).toEqual(activity({ scheduled: 2, completed: 1, expired: 1 }));
  });

  describe('an archived contact (the hub lists ACTIVE contacts only)', () => {
    const OVERDUE = '2025-06-09T09:00:00.000Z';
    const TODAY = '2025-06-10T15:00:00.000Z';
    const LATER = '2025-06-12T09:00:00.000Z';

    it('should take its open follow-ups out of every open cell, overdue, today, later and snoozed, when it is archived', () => {
      // given
      const t = new Tables();
      t.apply([created('c1', ANA), scheduled('f1', 'c1', OVERDUE), scheduled('f2', 'c1', TODAY), scheduled('f3', 'c1', TODAY, BOB), scheduled('f4', 'c1', TODAY)]);
      t.apply([fu('FollowUpSnoozed', 'f4', 'c1', { until: LATER })]);
      t.apply([created('c2', ANA), scheduled('f5', 'c2', TODAY)]);
      expect(t.cells(ANA)).toEqual({ [OVERDUE]: '1/0', [TODAY]: '2/0', [LATER]: '1/1' });
      // when
      t.apply([archived('c1')]);
      // then: the other contact's stays; the follow-ups are still tracked, activity is history
      expect(t.cells(ANA)).toEqual({ [TODAY]: '1/0' });
      expect(t.cells(BOB)).toEqual({});
      expect([...t.followUps.keys()].sort()).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
      expect(t.contacts.get('c1')).toEqual({ agentId: ANA, archived: true });
      expect(t.day(ANA, '2025-06-10')).toEqual(activity({ scheduled: 4 }));
      expect(t.day(BOB, '2025-06-10')).toEqual(activity({ scheduled: 1 }));
    });

    it('should put back the follow-ups still open, where they are due now, when it is made ACTIVE again', () => {
      // given
      const t = new Tables();
      t.apply([created('c1', ANA), scheduled('f1', 'c1', OVERDUE), scheduled('f2', 'c1', TODAY), scheduled('f3', 'c1', TODAY, BOB), scheduled('f4', 'c1', TODAY)]);
      t.apply([archived('c1')]);
      t.apply([fu('FollowUpSnoozed', 'f2', 'c1', { until: LATER }), fu('FollowUpRescheduled', 'f3', 'c1', { scheduledAt: LATER })]);
      expect(t.open.size).toBe(0);
      // when
      t.apply([activated('c1')]);
      // then
      expect(t.cells(ANA)).toEqual({ [OVERDUE]: '1/0', [TODAY]: '1/0', [LATER]: '1/1' });
      expect(t.cells(BOB)).toEqual({ [LATER]: '1/0' });
      expect(t.contacts.get('c1')).toEqual({ agentId: ANA, archived: false });
    });

    it('should count what ended while it was archived as activity and put nothing of it back when it is made ACTIVE', () => {
      // given
      const t = new Tables();
      t.apply([created('c1', ANA), ...['f1', 'f2', 'f3', 'f4', 'f5'].map((id) => scheduled(id, 'c1', OVERDUE))]);
      t.apply([archived('c1')]);
      // when: cancelled as it came due (reason "contact archived"), by hand, by a call, expired
      t.apply([
        fu('FollowUpCancelled', 'f1', 'c1', { reason: 'contact archived' }),
        fu('FollowUpCompleted', 'f2', 'c1', { how: 'manual', by: null }),
        fu('FollowUpAttemptSucceeded', 'f3', 'c1', { attempt: 1 }),
        fu('FollowUpExpired', 'f4', 'c1', { overdueSince: OVERDUE }),
      ]);
      expect(t.open.size).toBe(0);
      t.apply([activated('c1')]);
      // then
      expect(t.cells(ANA)).toEqual({ [OVERDUE]: '1/0' });
      expect([...t.followUps.keys()]).toEqual(['f5']);
      expect(t.day(ANA, '2025-06-10')).toEqual(activity({ scheduled: 5, cancelled: 1, completed: 2, expired: 1 }));
    });

    it('should give its inheriting follow-ups to the agent it was reassigned to while archived, explicit ones staying, when made ACTIVE', () => {
      // given
      const t = new Tables();
      t.apply([created('c1', ANA), scheduled('f1', 'c1', TODAY), scheduled('f2', 'c1', TODAY, BOB)]);
      t.apply([archived('c1')]);
      // when
      t.apply([ev('ContactAssigned', { contactId: 'c1', fromAgentId: ANA, toAgentId: CAL })]);
      t.apply([ev('LeadReassigned', { contactId: 'c1', fromAgentId: CAL, toAgentId: BOB, reassignments: 1 })]);
      t.apply([ev('ContactAssigned', { contactId: 'c1', fromAgentId: BOB, toAgentId: CAL })]);
      // then: nothing counted while archived
      expect(t.open.size).toBe(0);
      expect(t.contacts.get('c1')).toEqual({ agentId: CAL, archived: true });
      // when
      t.apply([activated('c1')]);
      // then
      expect(t.cells(ANA)).toEqual({});
      expect(t.cells(CAL)).toEqual({ [TODAY]: '1/0' });
      expect(t.cells(BOB)).toEqual({ [TODAY]: '1/0' });
      // and what ends now counts for the new agent
      t.apply([fu('FollowUpCancelled', 'f1', 'c1', { reason: null }, '2025-06-11T10:00:00Z')]);
      expect(t.day(CAL, '2025-06-11')).toEqual(activity({ cancelled: 1 }));
      expect(t.cells(CAL)).toEqual({});
    });

    it('should not count a follow-up scheduled while it is archived until it is made ACTIVE, and again not once archived again', () => {
      // given
      const t = new Tables();
      t.apply([created('c1', ANA), archived('c1')]);
      // when
      t.apply([scheduled('f1', 'c1', TODAY), scheduled('f2', 'c1', LATER, BOB)]);
      // then: scheduled is activity (counted), not open
      expect(t.open.size).toBe(0);
      expect(t.day(ANA, '2025-06-10')).toEqual(activity({ scheduled: 1 }));
      // when
      t.apply([activated('c1')]);
      // then
      expect(t.cells(ANA)).toEqual({ [TODAY]: '1/0' });
      expect(t.cells(BOB)).toEqual({ [LATER]: '1/0' });
      // when: archived again, and the same status twice counts once
      t.apply([archived('c1'), archived('c1')]);
      expect(t.open.size).toBe(0);
      t.apply([activated('c1'), activated('c1')]);
      expect(t.cells(ANA)).toEqual({ [TODAY]: '1/0' });
    });

    it('should write the same tables however a log of archiving, making ACTIVE, scheduling, reassigning and ending is cut into batches', () => {
      const log: StoredEvent[] = [
        ev('OrganizationCreated', { orgId: ORG, name: 'O', timezone: 'Europe/Paris' }),
        created('c1', ANA),
        created('c2', null),
        scheduled('f1', 'c1', OVERDUE),
        scheduled('f2', 'c1', TODAY, BOB),
        archived('c1'),
        scheduled('f3', 'c1', TODAY),
        scheduled('f4', 'c2', TODAY),
        fu('FollowUpSnoozed', 'f1', 'c1', { until: LATER }),
        ev('ContactAssigned', { contactId: 'c1', fromAgentId: ANA, toAgentId: CAL }),
        archived('c2'),
        activated('c1'),
        fu('FollowUpCancelled', 'f4', 'c2', { reason: 'contact archived' }),
        scheduled('f5', 'c2', LATER),
        archived('c1'),
        fu('FollowUpRescheduled', 'f3', 'c1', { scheduledAt: LATER }),
        fu('FollowUpCompleted', 'f2', 'c1', { how: 'manual', by: null }),
        ev('LeadReassigned', { contactId: 'c1', fromAgentId: CAL, toAgentId: ANA, reassignments: 1 }),
        activated('c1'),
        ev('ContactAssigned', { contactId: 'c2', fromAgentId: null, toAgentId: BOB }),
        fu('FollowUpAttemptStarted', 'f1', 'c1', { attempt: 1 }),
      ];
      const whole = new Tables();
      whole.apply(log);
      for (const size of [1, 2, 3, 4, 5, 7]) {
        const cut = new Tables();
        for (let i = 0; i < log.length; i += size) cut.apply(log.slice(i, i + size));
        expect(cut.dump()).toEqual(whole.dump());
      }
      expect(whole.cells(ANA)).toEqual({ [LATER]: '2/0' }); // f1 (snoozed, then attempted), f3 (rescheduled)
      expect(whole.cells(BOB)).toEqual({}); // f5 on c2, archived
      expect(whole.cells(CAL)).toEqual({});
      expect(whole.cells(NO_AGENT)).toEqual({});
      expect([...whole.followUps.keys()].sort()).toEqual(['f1', 'f3', 'f5']);
      expect(whole.day(ANA, '2025-06-10')).toEqual(activity({ scheduled: 2 }));
      expect(whole.day(BOB, '2025-06-10')).toEqual(activity({ scheduled: 1, completed: 1 }));
      expect(whole.day(NO_AGENT, '2025-06-10')).toEqual(activity({ scheduled: 2, cancelled: 1 }));
    });

    it('should load every open follow-up of a contact whose status changes, and the contact', () => {
      expect(tallyLoad([archived('c1'), scheduled('f1', 'c2', TODAY)])).toEqual({
        contactIds: ['c1', 'c2'],
        followUpIds: [],
        reassignedContactIds: [],
        statusChangedContactIds: ['c1'],
        orgIds: [ORG],
      });
    });
  });

  it('should name what a batch must load: the contacts it does not create, the follow-ups its lifecycle events name, and the reassigned contacts', () => {
    expect(
      tallyLoad([
        created('c1', ANA),
        scheduled('f1', 'c2', '2025-06-11T09:00:00Z'),
        fu('FollowUpSnoozed', 'f2', 'c3', { until: '2025-06-14T09:00:00Z' }),
        ev('LeadReassigned', { contactId: 'c4', toAgentId: BOB }),
        ev('NoteAdded', { noteId: 'n1', contactId: 'c5', authorId: ANA, at: '2025-06-10T10:00:00Z' }, undefined, OTHER_ORG),
      ]),
    ).toEqual({ contactIds: ['c2', 'c3', 'c4'], followUpIds: ['f2'], reassignedContactIds: ['c4'], statusChangedContactIds: [], orgIds: [ORG, OTHER_ORG] });
    expect(slotOf('2025-06-11T09:14:59Z')).toBe(Date.parse('2025-06-11T09:00:00Z'));
  });
});

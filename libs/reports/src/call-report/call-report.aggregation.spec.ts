import { StoredEvent } from '@app/event-store';
import { aggregateCallReport, CallReportDayRow, CallReportState, periodRows } from './call-report.aggregation';

const ORG = '00000000-0000-4000-8000-000000000001';
const OTHER_ORG = '00000000-0000-4000-8000-000000000002';
const ANA = '00000000-0000-4000-8000-0000000000a1';
const CAMPAIGN = '00000000-0000-4000-8000-0000000000c1';

let position = 0;
const event = (type: string, data: unknown, orgId = ORG): StoredEvent => ({
  globalPosition: String(++position),
  transactionId: String(position),
  streamId: 's',
  streamVersion: 1,
  orgId,
  type,
  data,
  metadata: { orgId, occurredAt: '2026-11-21T00:00:00Z' },
  idempotencyKey: null,
});

const call = (data: Record<string, unknown>, orgId = ORG) =>
  event(
    'CallLogged',
    {
      callId: `call-${position}`,
      contactId: '00000000-0000-4000-8000-0000000000f1',
      agentId: ANA,
      direction: 'outbound',
      status: 'Called',
      durationSec: 0,
      connected: false,
      startedAt: '2026-03-10T15:00:00Z',
      note: null,
      campaignId: null,
      tags: [],
      followUpId: null,
      ...data,
    },
    orgId,
  );

const emptyState = (): CallReportState => ({ orgTimezones: new Map(), users: new Map() });
const rowsOf = (rows: CallReportDayRow[], dimension: string) =>
  rows
    .filter((r) => r.dimension === dimension)
    .map(({ day, key, attempts, connected, talkSec, byStatus }) => ({ day, key, attempts, connected, talkSec, byStatus }))
    .sort((a, b) => (a.day + a.key < b.day + b.key ? -1 : 1));

// byStatus order: Called, Busy, No Answer, Missed, Follow up, Rescheduled
describe(aggregateCallReport.name, () => {
  it('should count one call once in every dimension, with none as the empty key', () => {
    const { rows } = aggregateCallReport([call({ status: 'Busy', durationSec: 12 })], emptyState());
    const one = { day: '2026-03-10', attempts: 1, connected: 1, talkSec: 12, byStatus: [0, 1, 0, 0, 0, 0] };
    expect(rows.map((r) => [r.dimension, r.key]).sort()).toEqual([
      ['agent', ANA],
      ['branch', ''],
      ['campaign', ''],
      ['department', ''],
      ['status', 'Busy'],
      ['tag', ''],
    ]);
    expect(rowsOf(rows, 'status')).toEqual([{ ...one, key: 'Busy' }]);
  });

  it('should count a call once per distinct tag and sum calls of one day and key', () => {
    const { rows } = aggregateCallReport(
      [call({ tags: ['vip', 'retry', 'vip'], durationSec: 30, campaignId: CAMPAIGN }), call({ tags: ['vip'], status: 'No Answer' })],
      emptyState(),
    );
    expect(rowsOf(rows, 'tag')).toEqual([
      { day: '2026-03-10', key: 'retry', attempts: 1, connected: 1, talkSec: 30, byStatus: [1, 0, 0, 0, 0, 0] },
      { day: '2026-03-10', key: 'vip', attempts: 2, connected: 1, talkSec: 30, byStatus: [1, 0, 1, 0, 0, 0] },
    ]);
    expect(rowsOf(rows, 'campaign').map((r) => [r.key, r.attempts])).toEqual([
      ['', 1],
      [CAMPAIGN, 1],
    ]);
  });

  it('should bucket a call by the org timezone the log has at that point, not the one it ends with', () => {
    const state = emptyState();
    const { rows, changedOrgs } = aggregateCallReport(
      [
        event('OrganizationCreated', { orgId: ORG, name: 'Org', timezone: 'UTC' }),
        call({ startedAt: '2026-11-01T03:30:00Z' }), // UTC: 1 November
        event('SettingsChanged', { changes: { timezone: 'America/New_York' }, settings: {} }),
        call({ startedAt: '2026-11-01T03:30:00Z' }), // New York: 23:30 on 31 October
        call({ startedAt: '2026-11-01T03:30:00Z' }, OTHER_ORG), // an org with no timezone yet: UTC
      ],
      state,
    );
    expect(rowsOf(rows.filter((r) => r.orgId === ORG), 'status').map((r) => [r.day, r.attempts])).toEqual([
      ['2026-10-31', 1],
      ['2026-11-01', 1],
    ]);
    expect(rows.filter((r) => r.orgId === OTHER_ORG && r.dimension === 'status').map((r) => r.day)).toEqual(['2026-11-01']);
    expect(state.orgTimezones.get(ORG)).toBe('America/New_York');
    expect([...changedOrgs]).toEqual([ORG]);
  });

  it('should put calls a second apart on either side of local midnight on their own days, and calls of one minute on one', () => {
    const state: CallReportState = { orgTimezones: new Map([[ORG, 'America/New_York']]), users: new Map() };
    const { rows } = aggregateCallReport(
      [
        call({ startedAt: '2026-11-01T03:59:00Z' }),
        call({ startedAt: '2026-11-01T03:59:59.999Z' }), // 23:59:59.999 EDT on 31 October
        call({ startedAt: '2026-11-01T04:00:00Z' }), // midnight EDT: 1 November
        call({ startedAt: '2026-11-01T04:00:30Z' }),
      ],
      state,
    );
    expect(rowsOf(rows, 'status').map((r) => [r.day, r.attempts])).toEqual([
      ['2026-10-31', 2],
      ['2026-11-01', 2],
    ]);
  });

  it('should ignore a timezone it cannot use and keep the one before', () => {
    const state: CallReportState = { orgTimezones: new Map([[ORG, 'Europe/London']]), users: new Map() };
    const { changedOrgs } = aggregateCallReport([event('SettingsChanged', { changes: { timezone: 'Nowhere/Land' }, settings: {} })], state);
    expect(state.orgTimezones.get(ORG)).toBe('Europe/London');
    expect(changedOrgs.size).toBe(0);
  });

  it("should count a call under the agent's branch and department as they are when it comes in the log", () => {
    const state = emptyState();
    const { rows, changedUsers } = aggregateCallReport(
      [
        event('UserCreated', { userId: ANA, orgId: ORG, name: 'Ana', email: null, role: 'agent', branch: 'North', department: 'Sales', timezone: 'UTC' }),
        call({}),
        event('UserUpdated', { userId: ANA, changes: { department: 'Support' } }),
        call({}),
        event('UserUpdated', { userId: ANA, changes: { branch: null, name: 'Ana B.' } }),
        call({}),
      ],
      state,
    );
    expect(rowsOf(rows, 'branch').map((r) => [r.key, r.attempts])).toEqual([
      ['', 1],
      ['North', 2],
    ]);
    expect(rowsOf(rows, 'department').map((r) => [r.key, r.attempts])).toEqual([
      ['Sales', 1],
      ['Support', 2],
    ]);
    expect(state.users.get(ANA)).toEqual({ orgId: ORG, branch: '', department: 'Support' });
    expect([...changedUsers]).toEqual([ANA]);
  });

  it('should give the same rows whatever the batch boundaries, carrying the state from one batch to the next', () => {
    const events = [
      event('OrganizationCreated', { orgId: ORG, name: 'Org', timezone: 'America/New_York' }),
      event('UserCreated', { userId: ANA, orgId: ORG, name: 'Ana', email: null, role: 'agent', branch: 'North', department: null, timezone: 'UTC' }),
      call({ startedAt: '2026-03-08T04:30:00Z', durationSec: 5, tags: ['a'] }),
      event('UserUpdated', { userId: ANA, changes: { branch: 'South' } }),
      call({ startedAt: '2026-03-08T04:30:00Z', status: 'Missed' }),
    ];
    const whole = aggregateCallReport(events, emptyState()).rows;
    const state = emptyState();
    const split = [...aggregateCallReport(events.slice(0, 3), state).rows, ...aggregateCallReport(events.slice(3), state).rows];
    const merged = new Map<string, CallReportDayRow>();
    for (const r of split) {
      const id = `${r.dimension}|${r.day}|${r.key}`;
      const m = merged.get(id);
      if (!m) merged.set(id, { ...r, byStatus: [...r.byStatus] });
      else {
        m.attempts += r.attempts;
        m.connected += r.connected;
        m.talkSec += r.talkSec;
        r.byStatus.forEach((n, i) => (m.byStatus[i] += n));
      }
    }
    for (const dimension of ['status', 'agent', 'branch', 'department', 'tag', 'campaign']) {
      expect(rowsOf([...merged.values()], dimension)).toEqual(rowsOf(whole, dimension));
    }
    expect(rowsOf(whole, 'branch').map((r) => [r.day, r.key, r.attempts])).toEqual([
      ['2026-03-07', 'North', 1],
      ['2026-03-07', 'South', 1],
    ]);
  });
});

describe('periodRows', () => {
  const day = (d: string, attempts: number) => ({
    orgId: 'o',
    dimension: 'agent' as const,
    day: d,
    key: 'ann',
    attempts,
    connected: 1,
    talkSec: 10 * attempts,
    byStatus: [attempts, 0, 0, 0, 0, 0],
  });

  it('should add each day to its ISO week and its calendar month, across a month end', () => {
    // Tue 31 March and Wed 1 April 2026 share the week of Monday 30 March, not a month
    const rows = periodRows([day('2026-03-31', 2), day('2026-04-01', 3), day('2026-04-06', 4)]);
    const by = (grain: string, start: string) => rows.find((r) => r.grain === grain && r.start === start);
    expect(by('week', '2026-03-30')).toMatchObject({ attempts: 5, connected: 2, talkSec: 50, byStatus: [5, 0, 0, 0, 0, 0] });
    expect(by('week', '2026-04-06')).toMatchObject({ attempts: 4 });
    expect(by('month', '2026-03-01')).toMatchObject({ attempts: 2 });
    expect(by('month', '2026-04-01')).toMatchObject({ attempts: 7, connected: 2 });
    expect(rows).toHaveLength(4);
  });
});

import { group, overdueDays, timing, todayIn } from './due-timing';

const at = (iso: string) => new Date(iso);

describe(timing.name, () => {
  it('should say due today when the due time is earlier today in the viewer’s zone', () => {
    expect(timing(at('2026-03-10T08:00:00Z'), 'UTC', at('2026-03-10T20:00:00Z'))).toEqual({
      overdueDays: 0,
      reason: 'Follow-up due today',
      suggestedTiming: 'Due today',
    });
  });

  it('should say 1 day, singular, when it was due yesterday', () => {
    expect(timing(at('2026-03-09T23:00:00Z'), 'UTC', at('2026-03-10T00:30:00Z'))).toEqual({
      overdueDays: 1,
      reason: 'Follow-up overdue by 1 day',
      suggestedTiming: 'Overdue',
    });
  });

  it('should count 4 calendar days, plural', () => {
    expect(timing(at('2026-03-06T12:00:00Z'), 'UTC', at('2026-03-10T09:00:00Z')).reason).toBe('Follow-up overdue by 4 days');
  });
});

describe(overdueDays.name, () => {
  it('should count days in the viewer’s zone where "today" differs from UTC', () => {
    // 2026-03-10 02:00 UTC is still 2026-03-09 in Los Angeles: a follow-up due 2026-03-09 18:00 local is due today there.
    const due = at('2026-03-10T01:00:00Z');
    const now = at('2026-03-10T02:00:00Z');
    expect(overdueDays(due, 'America/Los_Angeles', now)).toBe(0);
    // In Tokyo the same due time was 2026-03-10 10:00 and now is 2026-03-10 11:00: also today.
    expect(overdueDays(due, 'Asia/Tokyo', now)).toBe(0);
    // Due 2026-03-09 23:30 UTC is 2026-03-10 08:30 in Tokyo, but "now" 2026-03-11 00:10 Tokyo is the next day.
    expect(overdueDays(at('2026-03-09T23:30:00Z'), 'Asia/Tokyo', at('2026-03-10T15:10:00Z'))).toBe(1);
  });

  it('should count one calendar day across a spring-forward night (a 23-hour day)', () => {
    // Europe/London springs forward on 2026-03-29.
    expect(overdueDays(at('2026-03-28T23:30:00Z'), 'Europe/London', at('2026-03-29T22:30:00Z'))).toBe(1);
  });

  it('should count one calendar day across a fall-back night (a 25-hour day)', () => {
    // America/New_York falls back on 2026-11-01: due 2026-10-31 23:50 local, now 2026-11-01 23:50 local.
    expect(overdueDays(at('2026-11-01T03:50:00Z'), 'America/New_York', at('2026-11-02T04:50:00Z'))).toBe(1);
  });

  it('should count across a month end', () => {
    expect(overdueDays(at('2026-01-30T10:00:00Z'), 'UTC', at('2026-02-02T10:00:00Z'))).toBe(3);
  });
});

describe(todayIn.name, () => {
  it('should give the viewer’s local midnight to midnight', () => {
    expect(todayIn('Asia/Kolkata', at('2026-03-10T20:00:00Z'))).toEqual({ start: at('2026-03-10T18:30:00Z'), end: at('2026-03-11T18:30:00Z') });
  });
});

describe(group.name, () => {
  it('should put hot and overdue first, then hot, then overdue, then the rest', () => {
    expect([group(true, true), group(true, false), group(false, true), group(false, false)]).toEqual([0, 1, 2, 3]);
  });
});

describe(`${overdueDays.name} against luxon`, () => {
  it('should agree with calendar-day arithmetic in luxon for instants spread over years and zones', () => {
    const { DateTime } = jest.requireActual('luxon') as typeof import('luxon');
    const zones = ['UTC', 'Europe/London', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Kiritimati', 'Pacific/Pago_Pago'];
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 3000; i++) {
      const zone = zones[i % zones.length];
      const now = new Date(Date.UTC(2024, 0, 1) + rand() * 3 * 365 * 86_400_000);
      const due = new Date(now.getTime() - rand() * 40 * 86_400_000);
      const expected = Math.round(
        DateTime.fromJSDate(now, { zone }).startOf('day').diff(DateTime.fromJSDate(due, { zone }).startOf('day'), 'days').days,
      );
      expect([zone, now.toISOString(), due.toISOString(), overdueDays(due, zone, now)]).toEqual([zone, now.toISOString(), due.toISOString(), expected]);
    }
  });
});

describe('todayIn', () => {
  it('should end today at the start of tomorrow where DST begins at midnight', () => {
    // America/Santiago: the clocks go from 24:00 on 2024-09-07 to 01:00 on 2024-09-08, so the 8th is 23 hours long
    const { start, end } = todayIn('America/Santiago', new Date('2024-09-07T15:00:00Z'));
    expect(start.toISOString()).toBe('2024-09-07T04:00:00.000Z');
    expect(end.toISOString()).toBe('2024-09-08T04:00:00.000Z');
    // and the 8th starts at 01:00 local (04:00Z) and lasts to the 9th's midnight (03:00Z)
    const next = todayIn('America/Santiago', new Date('2024-09-08T15:00:00Z'));
    expect([next.start.toISOString(), next.end.toISOString()]).toEqual(['2024-09-08T04:00:00.000Z', '2024-09-09T03:00:00.000Z']);
  });
});

describe('todayIn where the clocks fall back to midnight', () => {
  // America/Havana falls back from 01:00 CDT (-4) to 00:00 CST (-5) on Sunday 2025-11-02: midnight happens twice,
  // at 04:00 and 05:00 UTC, and the day starts at the first
  it('should start the day at the first midnight whether it is asked before or after the change', () => {
    for (const now of ['2025-11-02T04:30:00Z', '2025-11-02T05:30:00Z', '2025-11-02T17:00:00Z', '2025-11-03T04:59:59Z']) {
      const { start, end } = todayIn('America/Havana', at(now));
      expect([now, start.toISOString(), end.toISOString()]).toEqual([now, '2025-11-02T04:00:00.000Z', '2025-11-03T05:00:00.000Z']);
    }
    // and the Saturday before ends where Sunday starts
    expect(todayIn('America/Havana', at('2025-11-01T17:00:00Z')).end.toISOString()).toBe('2025-11-02T04:00:00.000Z');
  });

  it('should not put a follow-up due at 00:30 that Sunday among the overdue while its reason says due today', () => {
    // the hub flags overdue as dueAt < today's start; the reason comes from overdueDays
    const dueAt = at('2025-11-02T04:30:00Z'); // 00:30 CDT, Sunday
    const now = at('2025-11-02T17:00:00Z'); // 12:00 CST, Sunday
    expect(timing(dueAt, 'America/Havana', now).reason).toBe('Follow-up due today');
    expect(dueAt < todayIn('America/Havana', now).start).toBe(false);
  });
});

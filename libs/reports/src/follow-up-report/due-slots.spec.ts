import { Settings } from 'luxon';
import { localDate } from '@app/shared';
import { todayIn } from '@app/hub';
import { activityDay, alignedToSlots, dayWindow, isLocalDate, SLOT_MS, slotOf, slotsOf, todayWindow } from './due-slots';

/** Every slot start from a day before to a day after `date` (UTC), to compare against the window. */
const slotsAround = (date: string): number[] => {
  const mid = Date.parse(`${date}T12:00:00Z`);
  const out: number[] = [];
  for (let s = slotOf(new Date(mid - 2 * 86_400_000)); s < mid + 2 * 86_400_000; s += SLOT_MS) out.push(s);
  return out;
};

describe('due slots', () => {
  describe(slotOf.name, () => {
    it('should truncate to the 15-minute UTC slot', () => {
      expect(new Date(slotOf('2025-03-30T00:59:59.999Z')).toISOString()).toBe('2025-03-30T00:45:00.000Z');
      expect(new Date(slotOf('2025-03-30T01:00:00.000Z')).toISOString()).toBe('2025-03-30T01:00:00.000Z');
      expect(new Date(slotOf(new Date('2025-03-30T01:14:00+05:45'))).toISOString()).toBe('2025-03-29T19:15:00.000Z');
    });
  });

  describe(dayWindow.name, () => {
    it.each([
      // zone, day, slots in the day, first instant (UTC)
      ['Europe/Paris', '2025-03-30', 92, '2025-03-29T23:00:00.000Z'], // spring forward: 23 h
      ['Europe/Paris', '2025-10-26', 100, '2025-10-25T22:00:00.000Z'], // fall back: 25 h
      ['Europe/Paris', '2025-06-15', 96, '2025-06-14T22:00:00.000Z'],
      ['America/Santiago', '2024-09-08', 92, '2024-09-08T04:00:00.000Z'], // DST starts at midnight: the day starts at 01:00
      ['Asia/Kathmandu', '2025-01-01', 96, '2024-12-31T18:15:00.000Z'], // +05:45
      ['Australia/Lord_Howe', '2025-04-06', 98, '2025-04-05T13:00:00.000Z'], // half-hour DST: 24.5 h
    ])('should give %s on %s as %i whole slots from its first instant', (zone, day, slots, start) => {
      const w = dayWindow(day, zone);
      expect(w.start.toISOString()).toBe(start);
      expect(alignedToSlots(w)).toBe(true);
      expect(slotsOf(w)).toHaveLength(slots);
    });

    it.each([
      ['Europe/Paris', '2025-03-30'],
      ['Europe/Paris', '2025-10-26'],
      ['America/New_York', '2025-03-09'],
      ['America/New_York', '2025-11-02'],
      ['America/Santiago', '2024-09-08'],
      ['Australia/Lord_Howe', '2025-04-06'],
      ['Asia/Kathmandu', '2025-01-01'],
    ])('should hold exactly the slots whose instants fall on %s %s local, so a day is a sum over slots', (zone, day) => {
      const w = dayWindow(day, zone);
      const inWindow = slotsAround(day).filter((s) => s >= w.start.getTime() && s < w.end.getTime());
      expect(inWindow).toEqual(slotsOf(w));
      // every instant of each slot (its first and last millisecond) is on that local day; none outside is
      for (const s of slotsAround(day)) {
        const onDay = localDate(new Date(s), zone) === day && localDate(new Date(s + SLOT_MS - 1), zone) === day;
        expect({ slot: new Date(s).toISOString(), onDay }).toEqual({ slot: new Date(s).toISOString(), onDay: inWindow.includes(s) });
      }
    });

    it("should agree with the hub's today on a DST day (the hub's overdue and the report's are the same split)", () => {
      const now = new Date('2025-10-26T12:00:00Z');
      expect(todayWindow('Europe/Paris', now)).toEqual(todayIn('Europe/Paris', now));
      expect(todayWindow('Europe/Paris', now)).toEqual(dayWindow('2025-10-26', 'Europe/Paris'));
    });

    it("should end a day that began late at the next day's start", () => {
      // 2024-09-08 in Santiago begins at 01:00 (-03, DST at midnight) and the 9th begins at 00:00 (-03): 23 hours.
      expect(todayWindow('America/Santiago', new Date('2024-09-08T15:00:00Z'))).toEqual({
        start: new Date('2024-09-08T04:00:00.000Z'),
        end: new Date('2024-09-09T03:00:00.000Z'),
      });
    });
  });

  describe(`${dayWindow.name} where the clocks fall back to midnight`, () => {
    const serverClock = Settings.now;
    afterEach(() => {
      Settings.now = serverClock;
    });

    // America/Havana falls back from 01:00 CDT to 00:00 CST on 2025-11-02: midnight happens at 04:00 and 05:00 UTC
    it.each(['2025-07-01T12:00:00Z', '2026-01-15T12:00:00Z', '2025-11-02T17:00:00Z'])(
      'should start the day at the first midnight whatever the server clock reads (%s)',
      (serverNow) => {
        Settings.now = () => Date.parse(serverNow);
        const w = dayWindow('2025-11-02', 'America/Havana');
        expect([w.start.toISOString(), w.end.toISOString()]).toEqual(['2025-11-02T04:00:00.000Z', '2025-11-03T05:00:00.000Z']);
        expect(dayWindow('2025-11-01', 'America/Havana').end).toEqual(w.start);
        expect(slotsOf(w)).toHaveLength(100); // 25 hours
      },
    );

    it("should count a follow-up due at 00:30 CDT that Sunday as due today in the report, the same as the hub's today", () => {
      const now = new Date('2025-11-02T17:00:00Z'); // 12:00 CST
      Settings.now = () => now.getTime();
      const today = todayWindow('America/Havana', now);
      expect(today.start.toISOString()).toBe('2025-11-02T04:00:00.000Z'); // so a slot at 04:30 UTC (00:30 CDT) is not overdue
      expect(today).toEqual(todayIn('America/Havana', now));
    });

    it('should refuse a day that does not exist, or a zone that does not', () => {
      expect(() => dayWindow('2025-02-30', 'UTC')).toThrow(RangeError);
      expect(() => dayWindow('2025-01-01', 'Mars/Olympus_Mons')).toThrow(RangeError);
    });
  });

  describe(isLocalDate.name, () => {
    it.each(['2025-01-31', '2024-02-29', '1999-12-31'])('should accept %s', (v) => expect(isLocalDate(v)).toBe(true));
    it.each(['2025-02-29', '2025-13-01', '2025-00-10', '2025-1-01', '20250101', '2025-01-01T00:00:00Z', ' 2025-01-01', '', 20250101, null, ['2025-01-01']])(
      'should refuse %p',
      (v) => expect(isLocalDate(v)).toBe(false),
    );
  });

  describe(activityDay.name, () => {
    it("should date an event on its local day in the org's zone", () => {
      expect(activityDay('2025-01-01T11:30:00Z', 'Pacific/Auckland')).toBe('2025-01-02');
      expect(activityDay('2025-01-01T04:30:00Z', 'America/Los_Angeles')).toBe('2024-12-31');
    });

    it('should fall back to UTC for a zone the runtime does not know', () => {
      expect(activityDay('2025-01-01T23:30:00Z', 'Mars/Olympus_Mons')).toBe('2025-01-01');
    });
  });
});

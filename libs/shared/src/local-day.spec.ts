import { DateTime, IANAZone } from 'luxon';
import { localDate, localDayNumber, localDayStart } from './local-day';

/** luxon's calendar day of an instant in a zone, as days since 1970-01-01: the reference. */
const luxonDay = (t: number, zone: string) => Math.round(DateTime.fromMillis(t, { zone }).startOf('day').setZone('UTC', { keepLocalTime: true }).toMillis() / 86_400_000);

// Zones with whole-hour, half-hour and 45-minute offsets, 30-minute DST (Lord Howe), DST at midnight
// (Santiago), a southern-hemisphere DST (Adelaide, Chatham) and a date-line jump history (Apia).
const ZONES = ['Europe/London', 'America/New_York', 'America/Santiago', 'Australia/Adelaide', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Kathmandu', 'Pacific/Apia', 'UTC'];

/** Every instant at which a zone's offset changed in [from, to) (years), found hour by hour, then to the minute. */
function transitions(zone: string, from = 2024, to = 2027): number[] {
  const z = IANAZone.create(zone);
  const out: number[] = [];
  for (let t = Date.UTC(from, 0, 1); t < Date.UTC(to, 0, 1); t += 3_600_000) {
    if (z.offset(t) === z.offset(t + 3_600_000)) continue;
    let m = t;
    while (z.offset(m) === z.offset(t)) m += 60_000;
    out.push(m);
  }
  return out;
}

describe(localDayNumber.name, () => {
  it.each(ZONES)('should agree with luxon minute by minute around every offset change of %s in 2024-2026', (zone) => {
    const changes = transitions(zone);
    // the zones that still change their clocks (Apia stopped in 2021; UTC and Kathmandu never did)
    if (!['UTC', 'Asia/Kathmandu', 'Pacific/Apia'].includes(zone)) expect(changes.length).toBeGreaterThanOrEqual(4);
    for (const change of changes) {
      for (let t = change - 3 * 3_600_000; t <= change + 3 * 3_600_000; t += 60_000 + 7) {
        expect([zone, new Date(t).toISOString(), localDayNumber(new Date(t), zone)]).toEqual([zone, new Date(t).toISOString(), luxonDay(t, zone)]);
      }
    }
  });

  // Iran (until 2022) changed clocks at local midnight, which is half past a UTC hour (+03:30/+04:30): the hour
  // 19:00-20:00Z of 2021-09-21 holds both the offset change and a change of local date.
  it('should agree with luxon where an offset change at half past a UTC hour is also a local midnight (Asia/Tehran, 2020-2021)', () => {
    const changes = transitions('Asia/Tehran', 2020, 2022);
    expect(changes.map((t) => new Date(t).toISOString())).toContain('2021-09-21T19:30:00.000Z');
    for (const change of changes) {
      for (let t = change - 2 * 3_600_000; t <= change + 2 * 3_600_000; t += 60_000) {
        expect([new Date(t).toISOString(), localDayNumber(new Date(t), 'Asia/Tehran')]).toEqual([new Date(t).toISOString(), luxonDay(t, 'Asia/Tehran')]);
      }
    }
  });

  it('should agree with luxon on local midnights and random instants across the zones, asked in any order', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5_000; i++) {
      const zone = ZONES[i % ZONES.length];
      const t = Math.floor(Date.UTC(2023, 0, 1) + rand() * 5 * 365 * 86_400_000);
      expect([zone, t, localDayNumber(new Date(t), zone)]).toEqual([zone, t, luxonDay(t, zone)]);
      const midnight = DateTime.fromMillis(t, { zone }).startOf('day').toMillis();
      expect([zone, midnight, localDayNumber(new Date(midnight - 1), zone), localDayNumber(new Date(midnight), zone)]).toEqual([
        zone,
        midnight,
        luxonDay(midnight - 1, zone),
        luxonDay(midnight, zone),
      ]);
    }
  });

  it('should name the local date of a call at 23:30 local on that day', () => {
    expect(localDate(new Date('2026-03-29T22:30:00Z'), 'Europe/Madrid')).toBe('2026-03-30');
    expect(localDate(new Date('2026-03-29T21:30:00Z'), 'Europe/Madrid')).toBe('2026-03-29');
    expect(localDate(new Date('2026-11-21T18:20:00Z'), 'Asia/Kathmandu')).toBe('2026-11-22');
  });
});

describe(localDayStart.name, () => {
  const day = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

  it('should start a day at its midnight, on either side of a DST change', () => {
    expect(localDayStart(day('2025-03-30'), 'Europe/Berlin').toISOString()).toBe('2025-03-29T23:00:00.000Z'); // 00:00 CET
    expect(localDayStart(day('2025-03-31'), 'Europe/Berlin').toISOString()).toBe('2025-03-30T22:00:00.000Z'); // 00:00 CEST
    expect(localDayStart(day('2025-01-01'), 'Asia/Kathmandu').toISOString()).toBe('2024-12-31T18:15:00.000Z');
  });

  it('should start a day at the end of the gap when the clocks skip midnight (Santiago, 00:00 → 01:00)', () => {
    expect(localDayStart(day('2025-09-07'), 'America/Santiago').toISOString()).toBe('2025-09-07T04:00:00.000Z'); // 01:00 -03
  });

  it('should start a day at the first of two midnights when the clocks fall back to midnight (Havana, 01:00 CDT → 00:00 CST)', () => {
    expect(localDayStart(day('2025-11-02'), 'America/Havana').toISOString()).toBe('2025-11-02T04:00:00.000Z'); // 00:00 CDT, not 00:00 CST
    expect(localDayNumber(new Date('2025-11-02T03:59:59.999Z'), 'America/Havana')).toBe(day('2025-11-01'));
  });
});

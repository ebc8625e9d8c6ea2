import { localDayNumber } from '@app/shared';
import { expiryCutoff } from './expiry-cutoff';

const DAY = 86_400_000;
const at = (iso: string) => new Date(iso);
/** Overdue for longer than N days, as follow-up.decider.ts expire counts it. */
const deciderExpires = (now: Date, due: Date, zone: string, n: number) => localDayNumber(now, zone) - localDayNumber(due, zone) > n;

describe(expiryCutoff.name, () => {
  it('should start the cutoff day at 01:00 where the clocks skip midnight (America/Santiago, 2026-09-06)', () => {
    // Monday 2026-09-14 12:00 -03, N = 8: today − 8 is Sunday 09-06, whose 00:00 -04 became 01:00 -03 (04:00Z)
    const now = at('2026-09-14T15:00:00Z');
    const cutoff = expiryCutoff(now, 'America/Santiago', 8);
    expect(cutoff.toISOString()).toBe('2026-09-06T04:00:00.000Z');
    expect(deciderExpires(now, at('2026-09-06T03:59:59.999Z'), 'America/Santiago', 8)).toBe(true); // Saturday 23:59:59.999 -04
    expect(deciderExpires(now, cutoff, 'America/Santiago', 8)).toBe(false); // Sunday 01:00 -03
  });

  it('should start the cutoff day at the first of two midnights where the clocks fall back to 00:00 (America/Havana, 2026-11-01)', () => {
    const now = at('2026-11-09T17:00:00Z'); // Monday 12:00 CST
    const cutoff = expiryCutoff(now, 'America/Havana', 8);
    expect(cutoff.toISOString()).toBe('2026-11-01T04:00:00.000Z'); // 00:00 CDT; 01:00 CDT is 00:00 CST again, same date
    expect(deciderExpires(now, new Date(cutoff.getTime() - 1), 'America/Havana', 8)).toBe(true);
    expect(deciderExpires(now, at('2026-11-01T05:30:00Z'), 'America/Havana', 8)).toBe(false); // 00:30 CST, the second midnight's
  });

  it('should expire exactly what the decider expires, around the cutoff and anywhere before it, in zones with DST, skipped and repeated hours', () => {
    const zones = ['UTC', 'Europe/London', 'America/New_York', 'America/Santiago', 'America/Havana', 'America/Sao_Paulo', 'America/Asuncion', 'Australia/Lord_Howe', 'Pacific/Apia', 'Pacific/Kiritimati', 'Asia/Kolkata', 'Asia/Tehran', 'Etc/GMT+12'];
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const mismatches: string[] = [];
    for (const zone of zones) {
      for (let i = 0; i < 3000; i++) {
        const now = new Date(Date.UTC(2010, 0, 1) + Math.floor(random() * 20 * 365 * DAY));
        const n = 1 + Math.floor(random() * 10);
        const cutoff = expiryCutoff(now, zone, n).getTime();
        const near = Math.floor(random() * 3 * 3_600_000);
        for (const due of [cutoff - 1, cutoff, cutoff + 1, cutoff - near, cutoff + near, now.getTime() - Math.floor(random() * (n + 2) * DAY)]) {
          if (deciderExpires(now, new Date(due), zone, n) !== due < cutoff) mismatches.push(`${zone} now ${now.toISOString()} N ${n} due ${new Date(due).toISOString()}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('should throw for a zone Node does not know, which the job logs and skips for that org alone', () => {
    expect(() => expiryCutoff(at('2026-12-08T12:00:00Z'), 'Mars/Olympus_Mons', 7)).toThrow(/unknown time zone "Mars\/Olympus_Mons"/);
  });
});

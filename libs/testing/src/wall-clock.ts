import { IANAZone } from 'luxon';
import { prng } from './seeded-random';

export { prng };

/*
 * Shared by the property specs of the time logic (the hub's timing, local days, due slots, the call report's
 * calendar): a seeded PRNG, the zones they cover, and an oracle of each zone's wall clock built from luxon's
 * offsets alone, independent of the code under test.
 */

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;


export const ZONES = [
  'America/New_York',
  'Europe/London',
  'Europe/Berlin',
  'Australia/Lord_Howe',
  'Australia/Adelaide',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Pacific/Apia',
  'Pacific/Kiritimati',
  'Pacific/Chatham',
  'America/Santiago',
  'America/Havana',
  'Africa/Casablanca',
  'America/St_Johns',
  'UTC',
];

/**
 * The oracle: a zone's UTC offset over 2024-10 to 2028-03 as a table, from luxon's offset every 6 hours (no zone
 * changes twice within 6 hours), each change bisected to the millisecond. The local date of an instant is then
 * floor((instant + offset) / 1 day), and a local day starts at the first UTC minute whose local date is that day
 * (offsets are whole minutes and change on whole minutes), found by scanning minute by minute.
 */
export class WallClock {
  static readonly FROM = Date.UTC(2024, 9, 1);
  static readonly TO = Date.UTC(2028, 2, 1);
  readonly changes: number[] = [];
  private readonly after: number[] = [];
  private readonly first: number;

  constructor(readonly zone: string) {
    const z = IANAZone.create(zone);
    const off = (t: number) => z.offset(t) * MINUTE;
    this.first = off(WallClock.FROM);
    for (let t = WallClock.FROM; t < WallClock.TO; t += 6 * HOUR) {
      if (off(t) === off(t + 6 * HOUR)) continue;
      let lo = t;
      let hi = t + 6 * HOUR;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (off(mid) === off(t)) lo = mid;
        else hi = mid;
      }
      this.changes.push(hi);
      this.after.push(off(hi));
    }
  }

  /** The offset in effect from one change to the next, last asked about: scans ask about nearby instants. */
  private segment = { from: 0, to: 0, offset: 0 };

  offset(t: number): number {
    if (t >= this.segment.from && t < this.segment.to) return this.segment.offset;
    if (t < WallClock.FROM || t >= WallClock.TO) throw new RangeError(`outside the table: ${new Date(t).toISOString()}`);
    let i = 0;
    while (i < this.changes.length && this.changes[i] <= t) i++;
    this.segment = { from: i ? this.changes[i - 1] : WallClock.FROM, to: i < this.changes.length ? this.changes[i] : WallClock.TO, offset: i ? this.after[i - 1] : this.first };
    return this.segment.offset;
  }

  /** The local date at t, as days since 1970-01-01. */
  day(t: number): number {
    return Math.floor((t + this.offset(t)) / DAY);
  }

  /** The first instant whose local date is `day` or later. */
  dayStart(day: number): number {
    let t = day * DAY - 15 * HOUR; // still an earlier day: no offset exceeds +14 h
    while (this.day(t + HOUR) < day) t += HOUR; // local dates never go backwards, so all of [t, t + 1 h] is earlier
    while (this.day(t) < day) t += MINUTE;
    return t;
  }

  /** The clock changes of 2025-2027. */
  get recentChanges(): number[] {
    return this.changes.filter((t) => t >= Date.UTC(2025, 0, 1) && t < Date.UTC(2028, 0, 1));
  }
}

const CLOCKS = new Map(ZONES.map((z) => [z, new WallClock(z)]));
export const clock = (zone: string) => CLOCKS.get(zone)!;
export const iso = (t: number) => new Date(t).toISOString();
export const dateOf = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);

/** An instant near a clock change of the zone (2025-2027), near one of its local midnights, or anywhere in 2025-2027. */
export function instantIn(zone: string, rand: ReturnType<typeof prng>): number {
  const changes = clock(zone).recentChanges;
  const kind = rand.int(0, 9);
  if (changes.length && kind < 5) {
    const c = rand.pick(changes);
    return rand.pick([c, c - 1, c + 1, c - MINUTE, c + rand.int(-36 * 60, 36 * 60) * MINUTE + rand.pick([0, rand.int(0, MINUTE - 1)])]);
  }
  const t = Date.UTC(2025, 0, 1) + Math.floor(rand.next() * 3 * 365 * DAY);
  if (kind < 8) {
    const start = clock(zone).dayStart(clock(zone).day(t));
    return start + rand.pick([0, -1, 1, rand.int(-90, 90) * MINUTE]);
  }
  return t;
}


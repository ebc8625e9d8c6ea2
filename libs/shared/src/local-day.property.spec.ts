import { IANAZone } from 'luxon';
import { localDate, localDayNumber, localDayStart } from './local-day';

/*
 * Property tests: localDayNumber, localDate and localDayStart against a table of each zone's offsets.
 * Set PROPERTY_SEED=<n> to replay a run; the seed is in the test names.
 */
const SEED = Number(process.env.PROPERTY_SEED ?? 20251109);

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  return { next, int, pick };
}

const ZONES = [
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
class WallClock {
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

  offset(t: number): number {
    if (t < WallClock.FROM || t >= WallClock.TO) throw new RangeError(`outside the table: ${new Date(t).toISOString()}`);
    let o = this.first;
    for (let i = 0; i < this.changes.length && this.changes[i] <= t; i++) o = this.after[i];
    return o;
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
const clock = (zone: string) => CLOCKS.get(zone)!;
const iso = (t: number) => new Date(t).toISOString();
const dateOf = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);

/** An instant near a clock change of the zone (2025-2027), near one of its local midnights, or anywhere in 2025-2027. */
function instantIn(zone: string, rand: ReturnType<typeof prng>): number {
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

it('should read the same offsets as luxon (the oracle itself is sound)', () => {
  const r = prng(SEED);
  for (const zone of ZONES) {
    const z = IANAZone.create(zone);
    for (let i = 0; i < 100; i++) {
      const t = Date.UTC(2024, 11, 1) + Math.floor(r.next() * 3 * 365 * DAY);
      expect([zone, t, clock(zone).offset(t)]).toEqual([zone, t, z.offset(t) * MINUTE]);
    }
  }
  // the zones that change their clocks do so twice a year
  for (const zone of ['America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago', 'America/Havana', 'America/St_Johns']) {
    expect([zone, clock(zone).recentChanges.length]).toEqual([zone, 6]);
  }
});

describe(`local days against an offset table (seed ${SEED})`, () => {
  it('should date every instant on its local calendar day, around clock changes and midnights, zones asked in any order', () => {
    const rand = prng(SEED);
    const failures: object[] = [];
    for (let i = 0; i < 10_000; i++) {
      const zone = rand.pick(ZONES);
      const t = instantIn(zone, rand);
      const want = clock(zone).day(t);
      const got = localDayNumber(new Date(t), zone);
      const gotDate = localDate(new Date(t), zone);
      if (got !== want || gotDate !== dateOf(want)) failures.push({ zone, at: iso(t), got: [got, gotDate], want: [want, dateOf(want)] });
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });

  it('should start each local day at its first instant: midnight, the first of two midnights, or the end of a gap over midnight', () => {
    const rand = prng(SEED + 1);
    const failures: object[] = [];
    for (let i = 0; i < 3_000; i++) {
      const zone = rand.pick(ZONES);
      const day = clock(zone).day(instantIn(zone, rand)) + rand.int(-1, 1);
      const want = clock(zone).dayStart(day);
      const got = localDayStart(day, zone).getTime();
      // and the day an instant is dated on agrees with the day's bounds: the start is on the day, the instant before is not
      const agrees = localDayNumber(new Date(got), zone) === day && localDayNumber(new Date(got - 1), zone) === day - 1;
      if (got !== want || !agrees) failures.push({ zone, day: dateOf(day), got: iso(got), want: iso(want), agrees });
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });
});

import { DateTime, IANAZone } from 'luxon';
import { bucketOf, bucketsByDay, dayNumber, GRANULARITIES, Granularity, reportDay } from './call-report.calendar';

/*
 * Property tests: the call report's local days and day/week/month buckets against a table of each zone's offsets
 * (the org's zone). Set PROPERTY_SEED=<n> to replay a run; the seed is in the test names.
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

/** The bucket's first day, and the first day of the next bucket, by luxon's calendar (ISO weeks start on Monday). */
function bucketDays(day: number, granularity: Granularity): [number, number] {
  const d = DateTime.fromMillis(day * DAY, { zone: 'utc' });
  const unit = granularity === 'day' ? 'day' : granularity === 'week' ? 'week' : 'month';
  const first = d.startOf(unit);
  return [first.toMillis() / DAY, first.plus({ [`${unit}s`]: 1 }).toMillis() / DAY];
}

describe(`call report buckets against an offset table (seed ${SEED})`, () => {
  it('should date a call on its local day in the org zone, however its time is written', () => {
    const rand = prng(SEED);
    const failures: object[] = [];
    for (let i = 0; i < 5_000; i++) {
      const zone = ZONES[i % ZONES.length];
      const t = instantIn(zone, rand);
      const want = dateOf(clock(zone).day(t));
      // a dialler may send UTC or a local offset, with or without milliseconds
      const local = DateTime.fromMillis(t, { zone }).toISO()!;
      const got = [reportDay(iso(t), zone), reportDay(local, zone)];
      if (got[0] !== want || got[1] !== want) failures.push({ zone, at: iso(t), local, got, want });
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });

  it('should put every instant in exactly one bucket, running from the first instant of its first local day to the next bucket’s', () => {
    const rand = prng(SEED + 1);
    const failures: object[] = [];
    for (let i = 0; i < 3_000; i++) {
      const zone = ZONES[i % ZONES.length];
      const granularity = GRANULARITIES[i % GRANULARITIES.length];
      const t = instantIn(zone, rand);
      const label = bucketOf(reportDay(iso(t), zone)!, granularity);
      const [first, next] = bucketDays(clock(zone).day(t), granularity);
      const [from, to] = [clock(zone).dayStart(first), clock(zone).dayStart(next)];
      if (label !== dateOf(first) || !(from <= t && t < to)) failures.push({ zone, granularity, at: iso(t), label, want: dateOf(first), bucket: [iso(from), iso(to)] });
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });

  it('should never move a later call into an earlier bucket, minute by minute across every clock change', () => {
    const failures: object[] = [];
    for (const zone of ZONES) {
      for (const change of clock(zone).recentChanges) {
        for (const granularity of GRANULARITIES) {
          let previous = '';
          for (let t = change - 26 * HOUR; t <= change + 26 * HOUR; t += 13 * MINUTE) {
            const label = bucketOf(reportDay(iso(t), zone)!, granularity);
            if (label < previous) failures.push({ zone, granularity, at: iso(t), label, previous });
            previous = label;
          }
        }
      }
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });

  it('should list every day of a range once, in order, each in its own bucket, buckets in runs', () => {
    const rand = prng(SEED + 2);
    const failures: object[] = [];
    for (let i = 0; i < 200; i++) {
      const granularity = GRANULARITIES[i % GRANULARITIES.length];
      const from = dayNumber('2024-12-01')! + rand.int(0, 3 * 365);
      const to = from + rand.int(0, granularity === 'day' ? 40 : 120);
      const { days, buckets } = bucketsByDay(dateOf(from), dateOf(to), granularity);
      const wantDays = Array.from({ length: to - from + 1 }, (_, k) => dateOf(from + k));
      const wantBuckets = wantDays.map((d) => dateOf(bucketDays(dayNumber(d)!, granularity)[0]));
      const runs = buckets.filter((b, k) => k === 0 || b !== buckets[k - 1]);
      if (JSON.stringify(days) !== JSON.stringify(wantDays) || JSON.stringify(buckets) !== JSON.stringify(wantBuckets) || new Set(runs).size !== runs.length) {
        failures.push({ granularity, from: dateOf(from), to: dateOf(to) });
      }
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });
});

import { DateTime, IANAZone } from 'luxon';
import { bucketOf, bucketsByDay, dayNumber, GRANULARITIES, Granularity, reportDay } from './call-report.calendar';
import { clock, DAY, dateOf, HOUR, instantIn, iso, MINUTE, prng, ZONES } from '@app/testing/wall-clock';

/*
 * Property tests: the call report's local days and day/week/month buckets against a table of each zone's offsets
 * (the org's zone). Set PROPERTY_SEED=<n> to replay a run; the seed is in the test names.
 */
const SEED = Number(process.env.PROPERTY_SEED ?? 20251109);

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

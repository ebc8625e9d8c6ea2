import { localDate, localDayNumber, localDayStart } from './local-day';
import { clock, dateOf, instantIn, iso, prng, ZONES } from '@app/testing/wall-clock';

/*
 * Property tests: localDayNumber, localDate and localDayStart against a table of each zone's offsets.
 * Set PROPERTY_SEED=<n> to replay a run; the seed is in the test names.
 */
const SEED = Number(process.env.PROPERTY_SEED ?? 20251109);

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

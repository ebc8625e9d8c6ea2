import { Settings } from 'luxon';
import { overdueDays, timing, todayIn } from './due-timing';
import { clock, DAY, instantIn, iso, MINUTE, prng, ZONES } from '@app/testing/wall-clock';

/*
 * Property tests: the hub's today, overdueDays and reason against a table of each zone's offsets (the viewer's
 * zone). Set PROPERTY_SEED=<n> to replay a run; the seed is in the test names.
 */
const SEED = Number(process.env.PROPERTY_SEED ?? 20251109);

describe(`hub timing against an offset table (seed ${SEED})`, () => {
  const serverClock = Settings.now;
  afterEach(() => {
    Settings.now = serverClock;
  });

  // luxon reads ambiguous local times with the offset of "now", so the server's season is part of the input
  it.each(['2026-01-15T12:00:00Z', '2026-07-15T12:00:00Z'])(
    "should give today as [the first instant of the viewer's local day, the next day's first instant), with the server clock at %s",
    (serverNow) => {
      Settings.now = () => Date.parse(serverNow);
      const rand = prng(SEED);
      const failures: object[] = [];
      for (let i = 0; i < 3_000; i++) {
        const zone = ZONES[i % ZONES.length];
        const now = instantIn(zone, rand);
        const day = clock(zone).day(now);
        const want = { start: iso(clock(zone).dayStart(day)), end: iso(clock(zone).dayStart(day + 1)) };
        const got = todayIn(zone, new Date(now));
        const contains = got.start.getTime() <= now && now < got.end.getTime();
        if (iso(got.start.getTime()) !== want.start || iso(got.end.getTime()) !== want.end || !contains) {
          failures.push({ zone, now: iso(now), got: { start: got.start.toISOString(), end: got.end.toISOString() }, want });
        }
      }
      expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
    },
  );

  it('should count overdue days as whole local calendar days, and word the reason to match', () => {
    const rand = prng(SEED + 1);
    const failures: object[] = [];
    for (let i = 0; i < 5_000; i++) {
      const zone = ZONES[i % ZONES.length];
      const due = instantIn(zone, rand);
      // now: the same local day, a few days later (across the change), or up to 40 days later, near a midnight or not
      const now = rand.pick([
        () => due + rand.int(0, 36 * 60) * MINUTE,
        () => due + rand.int(1, 40) * DAY + rand.int(-120, 120) * MINUTE,
        () => clock(zone).dayStart(clock(zone).day(due) + rand.int(0, 3)) + rand.pick([-1, 0, 1]),
        () => instantIn(zone, rand),
      ])();
      const days = Math.max(0, clock(zone).day(now) - clock(zone).day(due));
      const want = {
        overdueDays: days,
        reason: days === 0 ? 'Follow-up due today' : `Follow-up overdue by ${days} ${days === 1 ? 'day' : 'days'}`,
        suggestedTiming: days === 0 ? 'Due today' : 'Overdue',
      };
      const got = timing(new Date(due), zone, new Date(now));
      if (JSON.stringify(got) !== JSON.stringify(want) || overdueDays(new Date(due), zone, new Date(now)) !== days) {
        failures.push({ zone, due: iso(due), now: iso(now), got, want });
      }
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });

  it.each(['2026-01-15T12:00:00Z', '2026-07-15T12:00:00Z'])(
    "should flag a follow-up overdue (due before today's start, as the hub's query does) exactly when its reason says overdue, server clock at %s",
    (serverNow) => {
      Settings.now = () => Date.parse(serverNow);
      const rand = prng(SEED + 2);
      const failures: object[] = [];
      for (let i = 0; i < 3_000; i++) {
        const zone = ZONES[i % ZONES.length];
        const now = instantIn(zone, rand);
        const { start, end } = todayIn(zone, new Date(now));
        // due somewhere in the last three days up to the end of today: what the hub lists
        const due = rand.pick([
          start.getTime() - 1,
          start.getTime(),
          start.getTime() + rand.int(0, 120) * MINUTE,
          start.getTime() - rand.int(0, 180) * MINUTE,
          now - rand.int(0, 3 * 1440) * MINUTE,
          end.getTime() - 1,
        ]);
        if (due >= end.getTime()) continue;
        const flagged = due < start.getTime();
        const { suggestedTiming, overdueDays: days } = timing(new Date(due), zone, new Date(now));
        if (flagged !== (suggestedTiming === 'Overdue') || flagged !== days > 0) {
          failures.push({ zone, due: iso(due), now: iso(now), todayStart: start.toISOString(), flagged, suggestedTiming, days });
        }
      }
      expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
    },
  );
});

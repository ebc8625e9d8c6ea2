import { Settings } from 'luxon';
import { todayIn } from '@app/hub';
import { alignedToSlots, dayWindow, SLOT_MS, slotsOf, todayWindow } from './due-slots';
import { clock, dateOf, instantIn, iso, prng, ZONES } from '@app/testing/wall-clock';

/*
 * Property tests: the follow-up report's day windows and slots against a table of each zone's offsets.
 * Set PROPERTY_SEED=<n> to replay a run; the seed is in the test names.
 */
const SEED = Number(process.env.PROPERTY_SEED ?? 20251109);

describe(`follow-up report days against an offset table (seed ${SEED})`, () => {
  const serverClock = Settings.now;
  afterEach(() => {
    Settings.now = serverClock;
  });

  // luxon reads ambiguous local times with the offset of "now", so the server's season is part of the input
  it.each(['2026-01-15T12:00:00Z', '2026-07-15T12:00:00Z'])(
    'should give each local day as [its first instant, the next day’s first instant), a whole number of 15-minute slots, with the server clock at %s',
    (serverNow) => {
      Settings.now = () => Date.parse(serverNow);
      const rand = prng(SEED);
      const failures: object[] = [];
      for (let i = 0; i < 1_500; i++) {
        const zone = ZONES[i % ZONES.length];
        const day = clock(zone).day(instantIn(zone, rand));
        const want = { start: clock(zone).dayStart(day), end: clock(zone).dayStart(day + 1) };
        const w = dayWindow(dateOf(day), zone);
        const next = dayWindow(dateOf(day + 1), zone);
        const slots = slotsOf(w);
        const ok =
          w.start.getTime() === want.start &&
          w.end.getTime() === want.end &&
          next.start.getTime() === w.end.getTime() && // consecutive days leave no gap and do not overlap
          alignedToSlots(w) &&
          slots.length === (want.end - want.start) / SLOT_MS &&
          // every instant of every slot (first and last millisecond) is on that local day
          slots.every((s) => clock(zone).day(s) === day && clock(zone).day(s + SLOT_MS - 1) === day);
        if (!ok) failures.push({ zone, date: dateOf(day), got: { start: w.start.toISOString(), end: w.end.toISOString(), slots: slots.length }, want: { start: iso(want.start), end: iso(want.end) } });
      }
      expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
    },
  );

  it.each(['2026-01-15T12:00:00Z', '2026-07-15T12:00:00Z'])(
    "should split due today from overdue where the hub does: the report's today holds now and equals the hub's, server clock at %s",
    (serverNow) => {
      Settings.now = () => Date.parse(serverNow);
      const rand = prng(SEED + 1);
      const failures: object[] = [];
      for (let i = 0; i < 1_500; i++) {
        const zone = ZONES[i % ZONES.length];
        const now = instantIn(zone, rand);
        const report = todayWindow(zone, new Date(now));
        const hub = todayIn(zone, new Date(now));
        const ok =
          report.start.getTime() === clock(zone).dayStart(clock(zone).day(now)) &&
          report.start.getTime() === hub.start.getTime() &&
          report.end.getTime() === hub.end.getTime() &&
          report.start.getTime() <= now &&
          now < report.end.getTime();
        if (!ok) failures.push({ zone, now: iso(now), report, hub });
      }
      expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
    },
  );
});

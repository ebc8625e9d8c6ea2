import { IANAZone } from 'luxon';
import { ValidationError } from '@app/shared';
import { CallingWindow, WEEKDAYS, checkWindow, effectiveWindow } from './calling-window';
import { clock, DAY, HOUR, MINUTE, prng, WallClock, ZONES } from '@app/testing/wall-clock';

/*
 * Property tests: checkWindow and effectiveWindow against a brute-force oracle that reads the contact's wall clock
 * at every UTC minute. Set PROPERTY_SEED=<n> to replay a run; the seed is in every test's name.
 */
const SEED = Number(process.env.PROPERTY_SEED ?? 20251109);

/** The local wall clock at t on the oracle's table: day number, weekday name, minute of the day. */
const readWall = (c: WallClock, t: number): { day: number; weekday: string; minute: number } => {
  const wall = t + c.offset(t);
  const day = Math.floor(wall / DAY);
  return { day, weekday: WEEKDAYS[(((day + 3) % 7) + 7) % 7], minute: Math.floor((wall - day * DAY) / MINUTE) };
};
/** 1440 is written 24:00, the end of the day (an end only). */
const hhmm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
const mins = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** SPEC §7 read literally: an allowed local weekday and start <= local time < end, on the contact's wall clock. */
const inWindow = (w: CallingWindow) => {
  const allowed = WEEKDAYS.map((d) => w.days.includes(d));
  const [start, end] = [mins(w.start), mins(w.end)];
  return (weekday: number, minute: number) => allowed[weekday] && minute >= start && minute < end;
};
type Rule = ReturnType<typeof inWindow>;

/** The rule as a predicate on instants, reading the zone's wall clock (weekday 0 = Monday; day 0 was a Thursday). */
const atInstant = (rule: Rule, zone: string) => {
  const c = clock(zone);
  return (t: number) => {
    const wall = t + c.offset(t);
    const day = Math.floor(wall / DAY);
    return rule((((day + 3) % 7) + 7) % 7, Math.floor((wall - day * DAY) / MINUTE));
  };
};

/**
 * now when open; else the first instant after now that is open, or null. Every offset is whole minutes and every
 * change falls on a whole UTC minute, so the answer is constant on each UTC minute: scanning the minute boundaries
 * after now finds the first open instant exactly. A rule that no (weekday, minute) satisfies never opens; any
 * other opens within 15 days (a gap can swallow a window once, not two weeks running).
 */
function oracle(now: number, zone: string, rule: Rule): number | null {
  let some = false;
  for (let m = 0; m < 7 * 1440 && !some; m++) some = rule(Math.floor(m / 1440), m % 1440);
  if (!some) return null;
  const open = atInstant(rule, zone);
  if (open(now)) return now;
  for (let t = Math.floor(now / MINUTE) * MINUTE + MINUTE; t <= now + 15 * DAY; t += MINUTE) if (open(t)) return t;
  return null;
}

/** Each test reseeds it, so a test's inputs do not depend on which tests ran before it. */
let rand = prng(SEED);
const TRANSITIONS_2025_2027 = (zone: string) => clock(zone).changes.filter((t) => t >= Date.UTC(2025, 0, 1) && t < Date.UTC(2028, 0, 1));

/** An instant near a DST change of the zone, near a local midnight, or anywhere in 2025-2027. */
function instant(zone: string): number {
  const changes = TRANSITIONS_2025_2027(zone);
  const kind = rand.int(0, 9);
  if (changes.length && kind < 5) {
    const c = rand.pick(changes);
    return rand.pick([c, c - 1, c + 1, c - MINUTE, c + MINUTE, c + rand.int(-36 * 60, 36 * 60) * MINUTE + rand.pick([0, 0, rand.int(0, MINUTE - 1)])]);
  }
  const t = Date.UTC(2025, 0, 1) + Math.floor(rand.next() * 3 * 365 * DAY);
  if (kind < 8) {
    // around a local midnight: walk back to the first instant of the local day
    let m = Math.floor(t / MINUTE) * MINUTE;
    const { day } = readWall(clock(zone), m);
    while (readWall(clock(zone), m - MINUTE).day === day) m -= MINUTE;
    return m + rand.int(-90, 90) * MINUTE + rand.pick([0, -1, 1, rand.int(0, MINUTE - 1)]);
  }
  return t;
}

/** Start/end times that matter in the zone: both sides of each clock change, local midnight and the day's last minute. */
function interestingTimes(zone: string): number[] {
  const c = clock(zone);
  const out = new Set<number>([0, 1, 23 * 60 + 59, 23 * 60, 8 * 60, 21 * 60]);
  for (const t of TRANSITIONS_2025_2027(zone)) {
    for (const m of [readWall(c, t - 1).minute, readWall(c, t).minute]) for (const d of [-30, -15, -1, 0, 1, 15, 30]) out.add((m + d + 1440) % 1440);
  }
  return [...out];
}
const INTERESTING = new Map(ZONES.map((z) => [z, interestingTimes(z)]));

function windowFor(zone: string, now: number, valid = true): CallingWindow {
  const times = INTERESTING.get(zone)!;
  const time = () => (rand.next() < 0.7 ? rand.pick(times) : rand.int(0, 1439));
  let start = time();
  let end = time();
  if (valid) {
    if (start === end) end = Math.min(1439, start + rand.pick([1, 15, 30, 60]));
    if (start === end) start = 1438;
    if (start > end) [start, end] = [end, start];
    // one time in five, a window that runs to the end of the local day
    if (rand.next() < 0.2) end = 1440;
  }
  const today = readWall(clock(zone), now).weekday;
  const days = rand.pick([
    () => [...WEEKDAYS],
    () => [today],
    () => [WEEKDAYS[(WEEKDAYS.indexOf(today as (typeof WEEKDAYS)[number]) + 1) % 7]],
    () => WEEKDAYS.filter(() => rand.next() < 0.5),
    () => ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
  ])();
  return { days, start: hhmm(start), end: hhmm(end) };
}

/**
 * A now and a window: mostly independent draws; one time in four a window inside the hour a clock change skips or
 * repeats (a spring-forward gap that swallows it, a fall-back that runs through it twice), asked shortly before,
 * during or after that change.
 */
function scenario(zone: string): { now: number; window: CallingWindow } {
  const changes = TRANSITIONS_2025_2027(zone);
  if (!changes.length || rand.next() >= 0.25) {
    const now = instant(zone);
    return { now, window: windowFor(zone, now) };
  }
  const c = rand.pick(changes);
  const [before, after] = [readWall(clock(zone), c - 1), readWall(clock(zone), c)];
  // a gap runs from the minute after `before` up to `after`; an overlap repeats `after` to `before`
  const [lo, hi] = after.minute > before.minute ? [before.minute + 1, after.minute] : [after.minute, before.minute + 1];
  const start = Math.min(rand.int(lo, hi - 1), 1438);
  const end = Math.min(rand.int(start + 1, Math.min(hi + 1, 1439)), 1439);
  const days = rand.next() < 0.5 ? [...WEEKDAYS] : [after.weekday];
  return { now: c + rand.int(-20 * 60, 90) * MINUTE + rand.pick([0, -1, rand.int(0, MINUTE - 1)]), window: { days, start: hhmm(start), end: hhmm(end) } };
}

describe(`${checkWindow.name} against a minute-by-minute scan of the wall clock (seed ${SEED})`, () => {
  it('should read the same wall clock as luxon (the oracle itself is sound)', () => {
    const r = prng(SEED);
    for (const zone of ZONES) {
      const z = IANAZone.create(zone);
      for (let i = 0; i < 200; i++) {
        const t = Date.UTC(2024, 11, 1) + Math.floor(r.next() * 3 * 365 * DAY);
        expect([zone, t, clock(zone).offset(t)]).toEqual([zone, t, z.offset(t) * MINUTE]);
      }
    }
    // the zones that change their clocks do so about twice a year (Casablanca four times, around Ramadan)
    for (const zone of ['America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago', 'America/Havana', 'America/St_Johns']) {
      expect([zone, TRANSITIONS_2025_2027(zone).length]).toEqual([zone, 6]);
    }
  });

  it('should be in window exactly when the wall clock is, and otherwise answer the first instant it is', () => {
    const failures: object[] = [];
    rand = prng(SEED + 1);
    for (let i = 0; i < 900; i++) {
      const zone = ZONES[i % ZONES.length];
      const { now, window } = scenario(zone);
      const open = atInstant(inWindow(window), zone);
      const want = oracle(now, zone, inWindow(window));
      const got = checkWindow(new Date(now), zone, window);
      const gotMs = got.nextOpening?.getTime() ?? null;
      if (got.inWindow !== open(now) || gotMs !== want) {
        failures.push({ zone, now: iso(now), window, got: { inWindow: got.inWindow, nextOpening: iso(gotMs) }, want: { inWindow: open(now), nextOpening: iso(want) } });
      }
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });

  it('should answer an opening that is never before now, is inside the window, and is now itself when now is inside', () => {
    const failures: object[] = [];
    rand = prng(SEED + 2);
    for (let i = 0; i < 900; i++) {
      const zone = ZONES[i % ZONES.length];
      const { now, window } = scenario(zone);
      const open = atInstant(inWindow(window), zone);
      const { inWindow: isIn, nextOpening } = checkWindow(new Date(now), zone, window);
      const next = nextOpening?.getTime() ?? null;
      const ok =
        window.days.length === 0
          ? !isIn && next === null
          : next !== null && // a valid window with a day opens within a week
            (isIn ? next === now : next > now) &&
            open(next) &&
            (!isIn || open(now));
      if (!ok) failures.push({ zone, now: iso(now), window, inWindow: isIn, nextOpening: iso(next) });
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });
});

describe(`${effectiveWindow.name} against the intersection of the org's and the campaign's windows (seed ${SEED})`, () => {
  it('should open exactly when both the org window and the campaign window are open, or never when they share no minute', () => {
    const failures: object[] = [];
    rand = prng(SEED + 3);
    for (let i = 0; i < 700; i++) {
      const zone = ZONES[i % ZONES.length];
      const now = instant(zone);
      const org = windowFor(zone, now);
      if (org.days.length === 0) continue; // settings refuse an org window without days
      // a campaign window is valid on its own (the API refuses end <= start) yet may share no minute with the org's;
      // one time in five an invalid one too, as stored data might hold
      const campaign = windowFor(zone, now, rand.next() < 0.8);
      const [orgRule, campaignRule] = [inWindow(org), inWindow(campaign)];
      const rule: Rule = (weekday, minute) => orgRule(weekday, minute) && campaignRule(weekday, minute);
      const both = atInstant(rule, zone);
      const narrowed = effectiveWindow(org, campaign);
      const want = oracle(now, zone, rule);
      const got = checkWindow(new Date(now), zone, narrowed);
      const gotMs = got.nextOpening?.getTime() ?? null;
      if (got.inWindow !== both(now) || gotMs !== want) {
        failures.push({ zone, now: iso(now), org, campaign, narrowed, got: { inWindow: got.inWindow, nextOpening: iso(gotMs) }, want: iso(want) });
      }
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });
});

describe('calling-window input at the edges of what settings accept', () => {
  const now = new Date('2025-03-11T12:00:00Z');

  it('should keep a window ending 23:59, as stored before 24:00 was accepted, closed only in the last minute of each local day', () => {
    const untilLastMinute: CallingWindow = { days: [...WEEKDAYS], start: '00:00', end: '23:59' };
    expect(checkWindow(new Date('2025-03-12T03:58:59Z'), 'America/New_York', untilLastMinute)).toEqual({ inWindow: true, nextOpening: new Date('2025-03-12T03:58:59Z') });
    // 23:59 EDT: closed, open again at 00:00 EDT a minute later
    expect(checkWindow(new Date('2025-03-12T03:59:00Z'), 'America/New_York', untilLastMinute)).toEqual({ inWindow: false, nextOpening: new Date('2025-03-12T04:00:00Z') });
  });

  it('should keep the widest window settings accept (00:00–24:00 every day) open at every instant, in every zone', () => {
    const widest: CallingWindow = { days: [...WEEKDAYS], start: '00:00', end: '24:00' };
    const failures: object[] = [];
    rand = prng(SEED + 4);
    for (let i = 0; i < 600; i++) {
      const zone = ZONES[i % ZONES.length];
      const t = instant(zone);
      const got = checkWindow(new Date(t), zone, widest);
      if (!got.inWindow || got.nextOpening?.getTime() !== t) failures.push({ zone, now: iso(t), got });
    }
    expect({ seed: SEED, count: failures.length, first: failures.slice(0, 3) }).toEqual({ seed: SEED, count: 0, first: [] });
  });

  it.each([
    ['an end before the start', { start: '21:00', end: '08:00' }],
    ['an end equal to the start', { start: '09:00', end: '09:00' }],
  ])('should never open (and never throw) on %s, which settings refuse and a campaign narrowing can produce', (_, times) => {
    expect(checkWindow(now, 'Europe/Berlin', { days: [...WEEKDAYS], ...times })).toEqual({ inWindow: false, nextOpening: null });
  });

  it.each(['24:00', '8:00', '08:60', ''])('should refuse %p as a start, as settings do', (bad) => {
    expect(() => checkWindow(now, 'UTC', { days: [...WEEKDAYS], start: bad, end: '23:00' })).toThrow(ValidationError);
  });

  it.each(['24:01', '25:00', '8:00', '08:60', ''])('should refuse %p as an end, as settings do', (bad) => {
    expect(() => checkWindow(now, 'UTC', { days: [...WEEKDAYS], start: '08:00', end: bad })).toThrow(ValidationError);
  });
});

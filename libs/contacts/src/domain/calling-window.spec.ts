import { ValidationError } from '@app/shared';
import { CallingWindow, WEEKDAYS, checkWindow, effectiveWindow, minutesOfDay, toFollowUpWindowCheck } from './calling-window';

const ORG: CallingWindow = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', end: '21:00' };
const EVERY_DAY: CallingWindow = { ...ORG, days: [...WEEKDAYS] };

/** checkWindow at a UTC instant, answering ISO strings. */
const at = (utc: string, zone: string, window: CallingWindow | null = ORG) => {
  const { inWindow, nextOpening } = checkWindow(new Date(utc), zone, window);
  return { inWindow, nextOpening: nextOpening?.toISOString() ?? null };
};
const closedUntil = (nextOpening: string) => ({ inWindow: false, nextOpening });
const open = (now: string) => ({ inWindow: true, nextOpening: new Date(now).toISOString() });

describe(checkWindow.name, () => {
  describe('in and out of the window', () => {
    it('should be out of window and open at 08:00 the same day when it is 03:00 local', () => {
      // Tuesday 2025-03-11, 03:00 EDT
      expect(at('2025-03-11T07:00:00Z', 'America/New_York')).toEqual(closedUntil('2025-03-11T12:00:00.000Z'));
    });

    it('should open at 08:00 the next day when it is 22:00 local', () => {
      expect(at('2025-03-12T02:00:00Z', 'America/New_York')).toEqual(closedUntil('2025-03-12T12:00:00.000Z'));
    });

    it('should open on Monday 08:00 when it is Saturday evening and the window is mon–sat', () => {
      // Saturday 2025-03-15 21:30 EDT
      expect(at('2025-03-16T01:30:00Z', 'America/New_York')).toEqual(closedUntil('2025-03-17T12:00:00.000Z'));
    });

    it('should open on Monday 08:00 when it is Sunday noon and the window is mon–sat', () => {
      expect(at('2025-03-16T16:00:00Z', 'America/New_York')).toEqual(closedUntil('2025-03-17T12:00:00.000Z'));
    });

    it('should be in window, answering now as the opening, when it is inside the hours on an allowed day', () => {
      expect(at('2025-03-11T15:30:00Z', 'America/New_York')).toEqual(open('2025-03-11T15:30:00Z'));
    });

    it('should be in window when it is exactly the start time (start inclusive)', () => {
      expect(at('2025-03-11T12:00:00Z', 'America/New_York')).toEqual(open('2025-03-11T12:00:00Z'));
    });

    it('should be in window at 20:59:59 and out at 21:00 (end exclusive), opening the next day', () => {
      expect(at('2025-03-12T00:59:59Z', 'America/New_York').inWindow).toBe(true);
      expect(at('2025-03-12T01:00:00Z', 'America/New_York')).toEqual(closedUntil('2025-03-12T12:00:00.000Z'));
    });

    it('should open a week later when the only allowed day is today and today’s window is over', () => {
      const tuesdays: CallingWindow = { ...ORG, days: ['tue'] };
      expect(at('2025-03-12T02:00:00Z', 'America/New_York', tuesdays)).toEqual(closedUntil('2025-03-18T12:00:00.000Z'));
    });
  });

  describe('the contact’s timezone', () => {
    it('should judge the same instant in each contact’s local time when contacts are in Tokyo and Los Angeles', () => {
      // 2025-03-12T05:00Z is 14:00 Wednesday in Tokyo, 22:00 Tuesday in Los Angeles
      expect(at('2025-03-12T05:00:00Z', 'Asia/Tokyo')).toEqual(open('2025-03-12T05:00:00Z'));
      expect(at('2025-03-12T05:00:00Z', 'America/Los_Angeles')).toEqual(closedUntil('2025-03-12T15:00:00.000Z'));
    });

    it('should open each contact at its own 08:00 when both are out of window at the same instant', () => {
      // 2025-03-12T13:00Z is 22:00 Wednesday in Tokyo, 06:00 Wednesday in Los Angeles (PDT)
      expect(at('2025-03-12T13:00:00Z', 'Asia/Tokyo')).toEqual(closedUntil('2025-03-12T23:00:00.000Z'));
      expect(at('2025-03-12T13:00:00Z', 'America/Los_Angeles')).toEqual(closedUntil('2025-03-12T15:00:00.000Z'));
    });

    it('should use the local weekday, not the UTC one, when they differ', () => {
      // Sunday 23:30 UTC is already Monday 08:30 in Tokyo
      expect(at('2025-03-16T23:30:00Z', 'Asia/Tokyo').inWindow).toBe(true);
      // Monday 01:00 UTC is still Sunday 21:00 in New York (EDT): closed on Sunday
      expect(at('2025-03-17T01:00:00Z', 'America/New_York')).toEqual(closedUntil('2025-03-17T12:00:00.000Z'));
    });

    it('should refuse naming timezone when it is not an IANA zone', () => {
      expect(() => checkWindow(new Date('2025-03-11T12:00:00Z'), 'Mars/Olympus', ORG)).toThrow(ValidationError);
    });
  });

  describe('the day the clocks change', () => {
    it('should open at 08:00 BST (07:00 UTC) when London springs forward that night', () => {
      // Sunday 2025-03-30, 00:30 GMT; clocks go 01:00 GMT → 02:00 BST
      expect(at('2025-03-30T00:30:00Z', 'Europe/London', EVERY_DAY)).toEqual(closedUntil('2025-03-30T07:00:00.000Z'));
    });

    it('should open on Monday at 08:00 BST (07:00 UTC) when Saturday evening was still GMT', () => {
      expect(at('2025-03-29T22:00:00Z', 'Europe/London')).toEqual(closedUntil('2025-03-31T07:00:00.000Z'));
    });

    it('should open at 08:00 GMT (08:00 UTC) when London falls back that night', () => {
      // Sunday 2025-10-26, 00:30 BST; clocks go 02:00 BST → 01:00 GMT
      expect(at('2025-10-25T23:30:00Z', 'Europe/London', EVERY_DAY)).toEqual(closedUntil('2025-10-26T08:00:00.000Z'));
    });

    it('should open at 08:00 EDT (12:00 UTC) when New York springs forward that night', () => {
      // Sunday 2025-03-09, 00:30 EST
      expect(at('2025-03-09T05:30:00Z', 'America/New_York', EVERY_DAY)).toEqual(closedUntil('2025-03-09T12:00:00.000Z'));
      // Saturday 22:00 EST: ten hours of wall clock, nine of real time, to the opening
      expect(at('2025-03-09T03:00:00Z', 'America/New_York', EVERY_DAY)).toEqual(closedUntil('2025-03-09T12:00:00.000Z'));
    });

    it('should open at 08:00 EST (13:00 UTC) when New York falls back that night', () => {
      // Sunday 2025-11-02, 00:30 EDT
      expect(at('2025-11-02T04:30:00Z', 'America/New_York', EVERY_DAY)).toEqual(closedUntil('2025-11-02T13:00:00.000Z'));
    });

    it('should close at 21:00 local on both sides of the change', () => {
      expect(at('2025-03-09T00:59:00Z', 'America/New_York', EVERY_DAY).inWindow).toBe(true); // Sat 19:59 EST
      expect(at('2025-03-10T00:59:00Z', 'America/New_York', EVERY_DAY).inWindow).toBe(true); // Sun 20:59 EDT
      expect(at('2025-03-10T01:00:00Z', 'America/New_York', EVERY_DAY).inWindow).toBe(false); // Sun 21:00 EDT
    });
  });

  describe('a start time the clocks skip or repeat', () => {
    const night: CallingWindow = { days: [...WEEKDAYS], start: '02:30', end: '05:00' };

    it('should open at the first instant after the gap (03:00 EDT) when 02:30 does not exist that day', () => {
      // Sunday 2025-03-09, 01:00 EST; 02:00 EST jumps to 03:00 EDT
      expect(at('2025-03-09T06:00:00Z', 'America/New_York', night)).toEqual(closedUntil('2025-03-09T07:00:00.000Z'));
    });

    it('should be in window from the end of the gap, and not just before it', () => {
      expect(at('2025-03-09T06:59:59Z', 'America/New_York', night).inWindow).toBe(false); // 01:59:59 EST
      expect(at('2025-03-09T07:00:00Z', 'America/New_York', night).inWindow).toBe(true); // 03:00 EDT
    });

    it('should open at 02:30 on the days around the change, when 02:30 exists', () => {
      expect(at('2025-03-08T06:00:00Z', 'America/New_York', night)).toEqual(closedUntil('2025-03-08T07:30:00.000Z')); // 02:30 EST
      expect(at('2025-03-09T12:00:00Z', 'America/New_York', night)).toEqual(closedUntil('2025-03-10T06:30:00.000Z')); // 02:30 EDT
    });

    it('should open when the gap ends (02:00 BST) when London skips a 01:30 start', () => {
      const early: CallingWindow = { days: [...WEEKDAYS], start: '01:30', end: '05:00' };
      expect(at('2025-03-30T00:10:00Z', 'Europe/London', early)).toEqual(closedUntil('2025-03-30T01:00:00.000Z'));
    });

    it('should open when a half-hour gap ends when the zone skips 30 minutes (Lord Howe)', () => {
      // Sunday 2025-10-05, 02:00 +10:30 jumps to 02:30 +11:00
      const early: CallingWindow = { days: [...WEEKDAYS], start: '02:15', end: '05:00' };
      expect(at('2025-10-04T14:00:00Z', 'Australia/Lord_Howe', early)).toEqual(closedUntil('2025-10-04T15:30:00.000Z'));
    });

    it('should open at the first occurrence when the start time happens twice (fall-back)', () => {
      // Sunday 2025-11-02: 01:30 EDT (05:30 UTC), then 01:30 EST (06:30 UTC)
      const early: CallingWindow = { days: [...WEEKDAYS], start: '01:30', end: '05:00' };
      expect(at('2025-11-02T04:00:00Z', 'America/New_York', early)).toEqual(closedUntil('2025-11-02T05:30:00.000Z'));
    });
  });

  describe('a window the clocks skip over or run through twice', () => {
    it('should not open in a gap that swallows the whole window, but the next day (New York, 02:00–03:00 on spring-forward day)', () => {
      // Sunday 2025-03-09, 01:30 EST; 02:00 EST jumps to 03:00 EDT, so no minute of 02:00–02:59 happens that day
      const swallowed: CallingWindow = { days: [...WEEKDAYS], start: '02:00', end: '03:00' };
      expect(at('2025-03-09T06:30:00Z', 'America/New_York', swallowed)).toEqual(closedUntil('2025-03-10T06:00:00.000Z')); // Monday 02:00 EDT
    });

    it('should not open at the end of the gap when that is past the window (Adelaide, Sunday 02:00–02:29 on spring-forward day)', () => {
      // Sunday 2027-10-03, 01:59 ACST; 02:00 ACST jumps to 03:00 ACDT
      const sunday: CallingWindow = { days: ['sun'], start: '02:00', end: '02:29' };
      expect(at('2027-10-02T16:29:00Z', 'Australia/Adelaide', sunday)).toEqual(closedUntil('2027-10-09T15:30:00.000Z')); // next Sunday 02:00 ACDT
    });

    it('should open at the second occurrence of the start time when the first is past (New York falls back)', () => {
      // Sunday 2025-11-02, 01:45 EDT (05:45 UTC): 01:15–01:30 is over, but 01:15 EST (06:15 UTC) is still to come
      const repeated: CallingWindow = { days: [...WEEKDAYS], start: '01:15', end: '01:30' };
      expect(at('2025-11-02T05:45:00Z', 'America/New_York', repeated)).toEqual(closedUntil('2025-11-02T06:15:00.000Z'));
    });

    it('should open at the change itself when the clocks fall back into the window', () => {
      // Sunday 2025-11-02, 01:45 EDT: at 06:00 UTC the clocks go back from 02:00 EDT to 01:00 EST, inside 00:30–01:30
      const early: CallingWindow = { days: [...WEEKDAYS], start: '00:30', end: '01:30' };
      expect(at('2025-11-02T05:45:00Z', 'America/New_York', early)).toEqual(closedUntil('2025-11-02T06:00:00.000Z'));
      // Havana falls back at 01:00 CDT to 00:00 CST, inside a window that starts at midnight
      const midnight: CallingWindow = { days: ['sun'], start: '00:00', end: '00:30' };
      expect(at('2025-11-02T04:45:00Z', 'America/Havana', midnight)).toEqual(closedUntil('2025-11-02T05:00:00.000Z'));
    });

    it('should open again after Lord Howe falls back half an hour over the window', () => {
      // Sunday 2025-04-06, 01:59:59 +11 (14:59:59 UTC): at 15:00 UTC the clocks go back to 01:30 +10:30
      const narrow: CallingWindow = { days: ['sun'], start: '01:45', end: '01:58' };
      expect(at('2025-04-05T14:59:59Z', 'Australia/Lord_Howe', narrow)).toEqual(closedUntil('2025-04-05T15:15:00.000Z')); // 01:45 +10:30
    });
  });

  describe('a window that ends at 24:00, the end of the local day', () => {
    const evenings: CallingWindow = { days: [...WEEKDAYS], start: '20:00', end: '24:00' };
    const allDay = (days: string[]): CallingWindow => ({ days, start: '00:00', end: '24:00' });

    it('should be in window through the last minute of the day, and out at midnight until the next start', () => {
      // Tuesday 2025-03-11 in New York (EDT)
      expect(at('2025-03-12T03:59:00Z', 'America/New_York', evenings)).toEqual(open('2025-03-12T03:59:00Z')); // 23:59
      expect(at('2025-03-12T03:59:59.999Z', 'America/New_York', evenings)).toEqual(open('2025-03-12T03:59:59.999Z'));
      expect(at('2025-03-12T04:00:00Z', 'America/New_York', evenings)).toEqual(closedUntil('2025-03-13T00:00:00.000Z')); // Wed 00:00 → 20:00
    });

    it('should apply the next day’s rules from midnight', () => {
      // Tuesday only: open to 23:59:59 Tuesday, closed from Wednesday 00:00 until next Tuesday 00:00
      expect(at('2025-03-12T03:59:30Z', 'America/New_York', allDay(['tue'])).inWindow).toBe(true);
      expect(at('2025-03-12T04:00:00Z', 'America/New_York', allDay(['tue']))).toEqual(closedUntil('2025-03-18T04:00:00.000Z'));
      // every day: never closed, midnight included
      expect(at('2025-03-12T04:00:00Z', 'America/New_York', allDay([...WEEKDAYS]))).toEqual(open('2025-03-12T04:00:00Z'));
    });

    it('should open at midnight when asked inside the 23:59 minute of a day that is closed', () => {
      // Tuesday 23:59:30 EDT, the window Wednesday only: it opens 30 s later, at Wednesday 00:00
      expect(at('2025-03-12T03:59:30Z', 'America/New_York', allDay(['wed']))).toEqual(closedUntil('2025-03-12T04:00:00.000Z'));
      // Saturday 23:59:30 EDT, mon–sat: open, as it was not with an end of 23:59 (then it opened Monday 00:00)
      const monToSat = allDay(['mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
      expect(at('2025-03-16T03:59:30Z', 'America/New_York', monToSat)).toEqual(open('2025-03-16T03:59:30Z'));
      expect(at('2025-03-16T03:59:30Z', 'America/New_York', { ...monToSat, end: '23:59' })).toEqual(closedUntil('2025-03-17T04:00:00.000Z'));
    });

    it('should stay open through the hour repeated before midnight when the day is 25 hours long (Santiago falls back at 24:00)', () => {
      // Saturday 2025-04-05: at 24:00 -03 (03:00 UTC) the clocks go back to 23:00 -04, so Saturday ends at 04:00 UTC
      const saturday: CallingWindow = { days: ['sat'], start: '22:00', end: '24:00' };
      for (const t of ['2025-04-06T02:59:59Z', '2025-04-06T03:00:00Z', '2025-04-06T03:59:59Z']) {
        expect(at(t, 'America/Santiago', saturday)).toEqual(open(t));
      }
      expect(at('2025-04-06T04:00:00Z', 'America/Santiago', saturday)).toEqual(closedUntil('2025-04-13T02:00:00.000Z')); // Sun 00:00 -04 → next Sat 22:00 -04
    });

    it('should close when a 23-hour day skips midnight (Santiago springs forward at 24:00), and open the next day at the change', () => {
      // Saturday 2025-09-06 23:59:59 -04 is followed by Sunday 01:00 -03 (04:00 UTC): Sunday 00:00 never happens
      const saturday: CallingWindow = { days: ['sat'], start: '20:00', end: '24:00' };
      expect(at('2025-09-07T03:59:59Z', 'America/Santiago', saturday).inWindow).toBe(true);
      expect(at('2025-09-07T04:00:00Z', 'America/Santiago', saturday)).toEqual(closedUntil('2025-09-13T23:00:00.000Z')); // next Sat 20:00 -03
      // a Sunday window from 00:00, asked in Saturday's last minute, opens when Sunday begins: at the change
      expect(at('2025-09-07T03:59:30Z', 'America/Santiago', allDay(['sun']))).toEqual(closedUntil('2025-09-07T04:00:00.000Z'));
      // and stays open to the end of that 23-hour Sunday
      expect(at('2025-09-08T02:59:59Z', 'America/Santiago', allDay(['sun'])).inWindow).toBe(true); // Sun 23:59:59 -03
      expect(at('2025-09-08T03:00:00Z', 'America/Santiago', allDay(['sun']))).toEqual(closedUntil('2025-09-14T03:00:00.000Z')); // next Sun 00:00 -03
    });

    it('should open on Sunday at 01:00 CDT when Havana skips midnight, and never close a window that is always open', () => {
      // Saturday 2025-03-08 23:59:59 CST is followed by Sunday 01:00 CDT (05:00 UTC)
      expect(at('2025-03-09T04:59:59Z', 'America/Havana', allDay(['sat'])).inWindow).toBe(true);
      expect(at('2025-03-09T05:00:00Z', 'America/Havana', allDay(['sat']))).toEqual(closedUntil('2025-03-15T04:00:00.000Z')); // next Sat 00:00 CDT
      expect(at('2025-03-09T04:30:00Z', 'America/Havana', allDay(['sun']))).toEqual(closedUntil('2025-03-09T05:00:00.000Z'));
      for (const t of ['2025-03-09T04:59:59Z', '2025-03-09T05:00:00Z', '2025-11-02T04:59:59Z', '2025-11-02T05:00:00Z']) {
        expect(at(t, 'America/Havana', allDay([...WEEKDAYS]))).toEqual(open(t));
      }
    });
  });

  describe('a window that never opens', () => {
    it('should never open when there are no days', () => {
      expect(at('2025-03-11T12:00:00Z', 'UTC', { ...ORG, days: [] })).toEqual({ inWindow: false, nextOpening: null });
    });

    it('should never open when the start is not before the end', () => {
      expect(at('2025-03-11T12:00:00Z', 'UTC', { ...ORG, start: '21:00', end: '08:00' })).toEqual({ inWindow: false, nextOpening: null });
    });

    it('should never open when the window is null (an empty effective window)', () => {
      expect(at('2025-03-11T12:00:00Z', 'UTC', null)).toEqual({ inWindow: false, nextOpening: null });
    });

    it('should ignore day names that are not weekdays', () => {
      expect(at('2025-03-11T12:00:00Z', 'UTC', { ...ORG, days: ['Tuesday', 'wed'] })).toEqual(closedUntil('2025-03-12T08:00:00.000Z'));
    });

    it('should refuse when a time is not HH:MM', () => {
      expect(() => checkWindow(new Date('2025-03-11T12:00:00Z'), 'UTC', { ...ORG, start: '8am' })).toThrow(ValidationError);
    });
  });
});

describe(effectiveWindow.name, () => {
  it('should be the org’s window when there is no campaign', () => {
    expect(effectiveWindow(ORG, null)).toEqual(ORG);
  });

  it('should keep the common days, the later start and the earlier end when a campaign narrows it', () => {
    expect(effectiveWindow(ORG, { days: ['sun', 'fri', 'mon'], start: '09:30', end: '22:00' })).toEqual({ days: ['mon', 'fri'], start: '09:30', end: '21:00' });
    expect(effectiveWindow(ORG, { days: [...WEEKDAYS], start: '07:00', end: '17:00' })).toEqual({ ...ORG, end: '17:00' });
  });

  it('should be null when the campaign shares no day with the org', () => {
    expect(effectiveWindow(ORG, { days: ['sun'], start: '08:00', end: '21:00' })).toBeNull();
  });

  it('should be null when the hours do not overlap', () => {
    expect(effectiveWindow(ORG, { days: ['mon'], start: '21:00', end: '23:00' })).toBeNull();
  });

  it('should be null when the org itself has no day', () => {
    expect(effectiveWindow({ ...ORG, days: [] }, null)).toBeNull();
  });

  it('should take 24:00 as the latest end, on either side', () => {
    const lateOrg: CallingWindow = { ...EVERY_DAY, end: '24:00' };
    expect(effectiveWindow(lateOrg, { ...EVERY_DAY, start: '09:00', end: '22:00' })).toEqual({ ...EVERY_DAY, start: '09:00', end: '22:00' });
    expect(effectiveWindow(lateOrg, { ...EVERY_DAY, start: '22:00', end: '24:00' })).toEqual({ ...EVERY_DAY, start: '22:00', end: '24:00' });
    expect(effectiveWindow(lateOrg, { ...EVERY_DAY, start: '23:59', end: '24:00' })).toEqual({ ...EVERY_DAY, start: '23:59', end: '24:00' });
    expect(effectiveWindow(lateOrg, { ...EVERY_DAY, start: '00:00', end: '23:59' })).toEqual({ ...EVERY_DAY, end: '23:59' });
    expect(effectiveWindow(ORG, { ...EVERY_DAY, start: '20:00', end: '24:00' })).toEqual({ ...ORG, start: '20:00' });
  });

  it('should be null when a campaign runs to 24:00 only after the org stops', () => {
    expect(effectiveWindow(ORG, { ...EVERY_DAY, start: '21:00', end: '24:00' })).toBeNull();
  });

  it('should refuse 24:00 as a start, naming the org’s or the campaign’s field', () => {
    expect(() => effectiveWindow({ ...ORG, start: '24:00', end: '24:00' }, null)).toThrow(new ValidationError('callingWindow.start', 'must be HH:MM, from 00:00 to 23:59'));
    expect(() => effectiveWindow(ORG, { ...ORG, start: '24:00', end: '24:00' })).toThrow(new ValidationError('campaign.callingWindow.start', 'must be HH:MM, from 00:00 to 23:59'));
  });
});

describe(minutesOfDay.name, () => {
  it('should read 24:00 as the end of the day (1440) as an end only', () => {
    expect(minutesOfDay('24:00', 'callingWindow.end', 'end')).toBe(1440);
    expect(minutesOfDay('23:59', 'callingWindow.end', 'end')).toBe(1439);
    expect(minutesOfDay('00:00', 'callingWindow.start', 'start')).toBe(0);
    expect(() => minutesOfDay('24:00', 'callingWindow.start', 'start')).toThrow(new ValidationError('callingWindow.start', 'must be HH:MM, from 00:00 to 23:59'));
  });

  it.each(['24:01', '25:00', '24:60', '2400', '', '8:00'])('should refuse %p as an end, saying 24:00 is the latest and naming the field', (bad) => {
    expect(() => minutesOfDay(bad, 'campaign.callingWindow.end', 'end')).toThrow(new ValidationError('campaign.callingWindow.end', 'must be HH:MM, up to 24:00 (the end of the day)'));
  });
});

describe(toFollowUpWindowCheck.name, () => {
  it('should give the ISO shape StartFollowUpAttempt takes', () => {
    expect(toFollowUpWindowCheck({ inWindow: false, nextOpening: new Date('2025-03-11T12:00:00Z') })).toEqual({ inWindow: false, nextOpening: '2025-03-11T12:00:00.000Z' });
    expect(toFollowUpWindowCheck({ inWindow: false, nextOpening: null })).toEqual({ inWindow: false, nextOpening: null });
  });
});

import { WeekDay } from '@app/settings';
import { opensSooner } from './opens-sooner';

/** 2026-03-04 (a Wednesday) 03:00 in New York (08:00 UTC); deferred to the 08:00 opening there (13:00 UTC). */
const now = new Date('2026-03-04T08:00:00Z');
const deferred = { id: 'f', contactId: 'c', schedule: 2, nextAttemptAt: '2026-03-04T13:00:00.000Z', timezone: 'America/New_York', campaignWindow: null };
const ALL: WeekDay[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const org = (start: string, end: string, timezone = 'UTC') => ({ callingWindow: { days: ALL, start, end }, timezone });

describe('opensSooner (which deferred follow-ups a window change runs again)', () => {
  it('should run one whose window is open now, or opens before the opening it waits for', () => {
    expect(opensSooner(deferred, org('00:00', '24:00'), now)).toBe(true);
    expect(opensSooner(deferred, org('07:00', '21:00'), now)).toBe(true);
  });

  it('should leave one whose next opening has not moved sooner: a later end, a later start, a window that never opens', () => {
    expect(opensSooner(deferred, org('08:00', '22:00'), now)).toBe(false);
    expect(opensSooner(deferred, org('09:00', '21:00'), now)).toBe(false);
    expect(opensSooner(deferred, { callingWindow: { days: [], start: '08:00', end: '21:00' }, timezone: 'UTC' }, now)).toBe(false);
  });

  it("should work the window out in the contact's zone, else the org's, narrowed by the campaign's", () => {
    // no zone of its own: the org's, where it is 08:00 now (London): open
    expect(opensSooner({ ...deferred, timezone: null }, org('08:00', '21:00', 'Europe/London'), now)).toBe(true);
    // the campaign starts at 09:00 in New York: later than the 08:00 it waits for
    expect(opensSooner({ ...deferred, campaignWindow: { days: ALL, start: '09:00', end: '21:00' } }, org('07:00', '21:00'), now)).toBe(false);
  });

  it('should leave to the executor a window it cannot read', () => {
    expect(opensSooner(deferred, org('7 am', '21:00'), now)).toBe(true);
  });
});

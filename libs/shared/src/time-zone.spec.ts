import { isIanaTimeZone, isKnownTimeZone } from './time-zone';

describe(isIanaTimeZone.name, () => {
  it.each(['Europe/London', 'America/Argentina/Buenos_Aires', 'UTC', 'GMT', 'Etc/GMT+5', 'EST', 'MST', 'HST', 'CET', 'EST5EDT', 'US/Eastern', 'Asia/Calcutta', 'Asia/Kolkata', 'GB', 'NZ', 'Japan'])(
    'should accept the IANA name or link %s',
    (zone) => expect(isIanaTimeZone(zone)).toBe(true),
  );

  it.each(['BST', 'IST', 'AST', 'PST', 'CST', 'SST', 'ist', 'Pst', 'SystemV/EST5'])(
    'should refuse %s, which Intl reads as a zone although IANA has no such name',
    (zone) => {
      expect(isKnownTimeZone(zone)).toBe(true);
      expect(isIanaTimeZone(zone)).toBe(false);
    },
  );

  it.each([['Mars/Olympus'], [''], ['CEST'], [42], [null], [undefined]])('should refuse %p, which no one can compute with', (zone) => {
    expect(isKnownTimeZone(zone)).toBe(false);
    expect(isIanaTimeZone(zone)).toBe(false);
  });

  it("should read BST as Intl does (Asia/Dhaka): why it is refused as a client's zone", () => {
    expect(new Intl.DateTimeFormat('en-US', { timeZone: 'BST' }).resolvedOptions().timeZone).toBe('Asia/Dhaka');
  });
});

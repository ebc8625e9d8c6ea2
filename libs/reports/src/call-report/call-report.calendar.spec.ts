import { bucketOf, bucketsByDay, dayNumber, reportDay, weekStart } from './call-report.calendar';

describe(reportDay.name, () => {
  describe('America/New_York (EST -5, EDT -4 from 2026-03-08 02:00, back to EST on 2026-11-01 02:00)', () => {
    const ny = 'America/New_York';

    it('should count a call at 23:30 EST the night before spring-forward on that local day, not the UTC one', () => {
      expect(reportDay('2026-03-08T04:30:00Z', ny)).toBe('2026-03-07');
    });

    it('should count a call just after spring-forward (03:30 EDT) on the DST day', () => {
      expect(reportDay('2026-03-08T07:30:00Z', ny)).toBe('2026-03-08');
    });

    it('should count a call at 23:30 EDT on the DST day itself on that day (a 23-hour day)', () => {
      expect(reportDay('2026-03-09T03:30:00Z', ny)).toBe('2026-03-08');
      expect(reportDay('2026-03-09T04:30:00Z', ny)).toBe('2026-03-09');
    });

    it('should count a call at 23:30 EDT on 31 October in October, though it is 1 November in UTC', () => {
      expect(reportDay('2026-11-01T03:30:00Z', ny)).toBe('2026-10-31');
    });

    it('should count both 01:30s of the fall-back night (EDT then EST) on 1 November', () => {
      expect(reportDay('2026-11-01T05:30:00Z', ny)).toBe('2026-11-01');
      expect(reportDay('2026-11-01T06:30:00Z', ny)).toBe('2026-11-01');
    });

    it('should count a call at 23:30 EST on the fall-back day (a 25-hour day) on that day', () => {
      expect(reportDay('2026-11-02T04:30:00Z', ny)).toBe('2026-11-01');
      expect(reportDay('2026-11-02T05:00:00Z', ny)).toBe('2026-11-02');
    });

    it('should count a call at 23:30 on 31 December in that year', () => {
      expect(reportDay('2027-01-01T04:30:00Z', ny)).toBe('2026-12-31');
    });
  });

  describe('Europe/London (GMT, BST +1 from 2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC)', () => {
    const london = 'Europe/London';

    it('should use GMT the evening before spring-forward and BST after it', () => {
      expect(reportDay('2026-03-28T23:30:00Z', london)).toBe('2026-03-28');
      expect(reportDay('2026-03-29T23:30:00Z', london)).toBe('2026-03-30');
    });

    it('should use BST the night before fall-back and GMT on the evening after it', () => {
      expect(reportDay('2026-10-24T23:30:00Z', london)).toBe('2026-10-25');
      expect(reportDay('2026-10-25T23:30:00Z', london)).toBe('2026-10-25');
    });

    it('should move a call at 00:30 BST on 1 May into May, and keep 23:30 GMT on 31 October in October', () => {
      expect(reportDay('2026-04-30T23:30:00Z', london)).toBe('2026-05-01');
      expect(reportDay('2026-10-31T23:30:00Z', london)).toBe('2026-10-31');
    });
  });

  it('should answer null for a time it cannot read', () => {
    expect(reportDay('not a time', 'UTC')).toBeNull();
  });
});

describe(bucketOf.name, () => {
  it('should label a day bucket by the day itself', () => {
    expect(bucketOf('2026-03-08', 'day')).toBe('2026-03-08');
  });

  it('should label a week by its Monday (ISO weeks start on Monday)', () => {
    expect(bucketOf('2026-03-02', 'week')).toBe('2026-03-02'); // a Monday
    expect(bucketOf('2026-03-07', 'week')).toBe('2026-03-02'); // Saturday
    expect(bucketOf('2026-03-08', 'week')).toBe('2026-03-02'); // Sunday, DST day: still the week before
    expect(bucketOf('2026-03-09', 'week')).toBe('2026-03-09'); // Monday
    expect(bucketOf('2026-10-31', 'week')).toBe('2026-10-26'); // Saturday
    expect(bucketOf('2026-11-01', 'week')).toBe('2026-10-26'); // Sunday, a week across a month end
    expect(bucketOf('2026-11-02', 'week')).toBe('2026-11-02');
  });

  it('should label a week across a year end by its Monday in the year before', () => {
    expect(bucketOf('2027-01-03', 'week')).toBe('2026-12-28');
    expect(bucketOf('2027-01-04', 'week')).toBe('2027-01-04');
  });

  it('should label a month by its first day', () => {
    expect(bucketOf('2026-10-31', 'month')).toBe('2026-10-01');
    expect(bucketOf('2026-11-01', 'month')).toBe('2026-11-01');
    expect(bucketOf('2028-02-29', 'month')).toBe('2028-02-01');
  });
});

describe(weekStart.name, () => {
  it('should find the Monday before the epoch (1970-01-01 was a Thursday)', () => {
    expect(weekStart(0)).toBe(-3);
    expect(weekStart(-3)).toBe(-3);
    expect(weekStart(-4)).toBe(-10);
  });
});

describe(dayNumber.name, () => {
  it('should read a calendar date', () => {
    expect(dayNumber('1970-01-02')).toBe(1);
    expect(dayNumber('2028-02-29')).not.toBeNull();
  });

  it.each(['2026-02-29', '2026-13-01', '2026-04-31', '2026-3-1', '2026-03-01T00:00:00Z', '20260301', '', '1899-12-31'])('should refuse %p', (day) => {
    expect(dayNumber(day)).toBeNull();
  });
});

describe(bucketsByDay.name, () => {
  it('should map each day of the range to its bucket, keeping cut weeks and months at their label', () => {
    expect(bucketsByDay('2026-10-31', '2026-11-02', 'week')).toEqual({
      days: ['2026-10-31', '2026-11-01', '2026-11-02'],
      buckets: ['2026-10-26', '2026-10-26', '2026-11-02'],
    });
    expect(bucketsByDay('2026-10-30', '2026-11-01', 'month')).toEqual({
      days: ['2026-10-30', '2026-10-31', '2026-11-01'],
      buckets: ['2026-10-01', '2026-10-01', '2026-11-01'],
    });
  });

  it('should give 28 days to February 2026 and 29 to February 2028', () => {
    expect(bucketsByDay('2026-02-01', '2026-03-01', 'month').buckets.filter((b) => b === '2026-02-01')).toHaveLength(28);
    expect(bucketsByDay('2028-02-01', '2028-03-01', 'month').buckets.filter((b) => b === '2028-02-01')).toHaveLength(29);
  });
});

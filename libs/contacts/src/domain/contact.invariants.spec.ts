import { ValidationError } from '@app/shared';
import { isoUtc } from './contact.invariants';

describe('isoUtc', () => {
  it('should normalise a timestamp with an offset to UTC, the same way every time it is asked', () => {
    // The second and third answers come from the memo of recent timestamps.
    for (let i = 0; i < 3; i++) expect(isoUtc('2025-01-31T09:30:00+01:00', 'startedAt')).toBe('2025-01-31T08:30:00.000Z');
    expect(isoUtc('2025-01-31T08:30:00Z', 'startedAt')).toBe('2025-01-31T08:30:00.000Z');
  });

  it('should refuse, naming the field, a timestamp without an offset or off the calendar, however often it is asked', () => {
    for (let i = 0; i < 2; i++) {
      expect(() => isoUtc('2025-02-30T00:00:00Z', 'callbackAt')).toThrow(new ValidationError('callbackAt', 'must be an ISO-8601 timestamp with an offset, like 2025-01-31T09:30:00Z'));
      expect(() => isoUtc('2025-01-31T09:30:00', 'startedAt')).toThrow(ValidationError);
      expect(() => isoUtc(1_700_000_000_000, 'startedAt')).toThrow(ValidationError);
    }
  });

  it('should refuse, naming the field, an offset no place on Earth has, and take the widest real ones', () => {
    // +23:59 would silently move a callback by almost a day
    for (const t of ['2026-12-10T10:00:00+23:59', '2026-12-10T10:00:00+14:01', '2026-12-10T10:00:00-12:01', '2026-12-10T10:00:00+12:60']) {
      expect(() => isoUtc(t, 'scheduledAt')).toThrow(new ValidationError('scheduledAt', 'must be an ISO-8601 timestamp with an offset, like 2025-01-31T09:30:00Z'));
    }
    expect(isoUtc('2026-12-10T10:00:00+14:00', 'at')).toBe('2026-12-09T20:00:00.000Z'); // Pacific/Kiritimati
    expect(isoUtc('2026-12-10T10:00:00-12:00', 'at')).toBe('2026-12-10T22:00:00.000Z');
    expect(isoUtc('2026-12-10T10:00:00+0545', 'at')).toBe('2026-12-10T04:15:00.000Z'); // Asia/Kathmandu
  });

  it('should refuse, naming the field, an instant outside the years 1900 to 9999 UTC, and take their first and last', () => {
    // 10000-01-01T04:30Z would be written with a six-digit year, which Postgres refuses; years below 100 were read as 19xx
    for (const t of ['9999-12-31T23:30:00-05:00', '1899-12-31T23:59:59Z', '1900-01-01T00:30:00+01:00', '0100-01-01T00:30:00+01:00', '0001-01-01T00:00:00Z']) {
      expect(() => isoUtc(t, 'callbackAt')).toThrow(new ValidationError('callbackAt', 'must be between 1900-01-01T00:00:00Z and 9999-12-31T23:59:59Z'));
    }
    expect(isoUtc('1900-01-01T00:00:00Z', 'at')).toBe('1900-01-01T00:00:00.000Z');
    expect(isoUtc('9999-12-31T23:59:59.999Z', 'at')).toBe('9999-12-31T23:59:59.999Z');
    expect(isoUtc('9999-12-31T23:59:59+14:00', 'at')).toBe('9999-12-31T09:59:59.000Z');
  });

  it('should keep answering correctly when more timestamps pass than it remembers', () => {
    const minutes = Array.from({ length: 200 }, (_, m) => `2025-03-01T${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:00-05:00`);
    for (let round = 0; round < 2; round++) {
      minutes.forEach((t, m) => expect(isoUtc(t, 'at')).toBe(new Date(Date.UTC(2025, 2, 1, 5, m)).toISOString()));
    }
  });
});

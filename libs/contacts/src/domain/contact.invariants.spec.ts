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

  it('should keep answering correctly when more timestamps pass than it remembers', () => {
    const minutes = Array.from({ length: 200 }, (_, m) => `2025-03-01T${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:00-05:00`);
    for (let round = 0; round < 2; round++) {
      minutes.forEach((t, m) => expect(isoUtc(t, 'at')).toBe(new Date(Date.UTC(2025, 2, 1, 5, m)).toISOString()));
    }
  });
});

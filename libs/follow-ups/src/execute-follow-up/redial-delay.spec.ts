import { redialDelayMs } from './follow-up-executor';

describe('redialDelayMs (a dial request the dialler did not take, sent again)', () => {
  it('should wait 15 s, doubling up to 5 minutes, with the default hour-long attempt timeout', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 30].map((n) => redialDelayMs(n, 3600, 0))).toEqual([15_000, 30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
  });

  it('should scale with a short attempt timeout, never under a second', () => {
    expect([1, 2, 3].map((n) => redialDelayMs(n, 60, 0))).toEqual([3000, 6000, 6000]);
    expect([1, 2].map((n) => redialDelayMs(n, 6, 0))).toEqual([1000, 1000]);
  });

  it('should spread the requests of an outage over up to a fifth more', () => {
    expect(redialDelayMs(1, 3600, 0.999)).toBe(17_997);
    expect(redialDelayMs(6, 3600, 0.5)).toBe(330_000);
  });
});

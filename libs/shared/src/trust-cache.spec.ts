import { TrustCache } from './trust-cache';

describe('TrustCache', () => {
  it('should answer a value until its time, and nothing after', () => {
    const c = new TrustCache<string>();
    c.set('k', 'v', c.mark(), 1_000);
    expect([c.get('k', 999), c.until('k', 999), c.get('k', 1_000), c.until('k', 1_000)]).toEqual(['v', 1_000, undefined, undefined]);
  });

  it('should drop everything on forget, and not store a value read before the forget', () => {
    const c = new TrustCache<string>();
    c.set('a', 'old', c.mark(), 10_000);
    const mark = c.mark(); // a lookup starts
    c.forget(); // a change in this process lands while it runs
    c.set('b', 'read before the change', mark, 10_000);
    expect([c.get('a', 0), c.get('b', 0)]).toEqual([undefined, undefined]);
    c.set('b', 'read after', c.mark(), 10_000);
    expect(c.get('b', 0)).toBe('read after');
  });

  it('should keep at most max entries, dropping the oldest first', () => {
    const c = new TrustCache<number>(2);
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) c.set(k, v, c.mark(), 10_000);
    expect([c.get('a', 0), c.get('b', 0), c.get('c', 0)]).toEqual([undefined, 2, 3]);
  });
});

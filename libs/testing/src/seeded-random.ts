/**
 * mulberry32: a small seeded PRNG, so a generated workload or input is reproducible from its seed (the property,
 * model and oracle tests print theirs). Every helper draws from `next` alone, so one seed gives one sequence.
 */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const chance = (p: number) => next() < p;
  /** A key, with probability proportional to its weight. */
  const weighted = <T extends string>(w: Record<T, number>): T => {
    const entries = Object.entries(w) as [T, number][];
    let r = next() * entries.reduce((s, [, n]) => s + n, 0);
    for (const [k, n] of entries) if ((r -= n) < 0) return k;
    return entries[entries.length - 1][0];
  };
  const subset = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => next() < p);
  /** A shuffled copy (Fisher-Yates). */
  const shuffle = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  return { next, int, pick, chance, weighted, subset, shuffle };
}

export type Rng = ReturnType<typeof prng>;

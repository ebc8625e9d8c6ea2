/**
 * Facts a process may trust for a while (API keys' actors, the agents and campaigns a push names), per key, each
 * until its own time. forget() drops them all at once, after a change made in this process; and a value read from
 * the database before that forget() is not stored after it: `mark()` before the read, pass the mark to `set()`,
 * which ignores it when something was forgotten in between (else a lookup in flight while an admin deactivated a
 * user would put the user back, trusted for another full period).
 */
export class TrustCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private generation = 0;

  /** `max`: entries kept at most, the oldest dropped first. */
  constructor(private readonly max = Number.POSITIVE_INFINITY) {}

  /** The value, while it may still be trusted. */
  get(key: string, now = Date.now()): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.until > now) return hit.value;
    this.entries.delete(key);
    return undefined;
  }

  /** How long the value stored under the key is trusted (ms since the epoch), if it still is. */
  until(key: string, now = Date.now()): number | undefined {
    const hit = this.entries.get(key);
    return hit && hit.until > now ? hit.until : undefined;
  }

  /** Taken before reading what will be stored: see set(). */
  mark(): number {
    return this.generation;
  }

  /** Stores a value read after `mark`, trusted until `until`; nothing if forget() ran since the mark. */
  set(key: string, value: V, mark: number, until: number): void {
    if (mark !== this.generation) return;
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, until });
  }

  forget(): void {
    this.entries.clear();
    this.generation++;
  }
}

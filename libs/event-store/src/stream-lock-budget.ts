/**
 * How many streams this process's appends may hold locked at once: appends past it wait their turn (first come, first
 * served), so that a burst of large batches slows down instead of failing.
 *
 * An append to many streams (fu_append_many) takes one advisory lock per stream, held to its commit, and Postgres keeps
 * every lock of the server in one shared table of max_locks_per_transaction × (max_connections +
 * max_prepared_transactions) entries: 6,400 with the defaults. A security review measured 1,000 locks for one
 * 1,000-call batch; with a dozen such batches in flight on one server (a pool of 20 connections lets one API process
 * run 20), every statement that needed a lock, any organization's, and every new connection failed with "out of shared
 * memory". Bounding what the process holds, and the server's table to what all processes may hold
 * (docs/operations.md), makes that impossible. An append of more streams than the whole budget runs alone.
 *
 * Written here rather than taken from a library: a counting semaphore whose permits are a weight (streams) and that
 * never lets a later, smaller append pass a waiting larger one, in a dozen lines.
 */
export class StreamLockBudget {
  private held = 0;
  private readonly waiting: { streams: number; go: () => void }[] = [];

  constructor(readonly size: number) {}

  /** Waits until `streams` (at most the whole budget) fit, takes them, and returns their release (call it once). */
  async take(streams: number): Promise<() => void> {
    const n = Math.max(0, Math.min(streams, this.size));
    if (this.waiting.length > 0 || this.held + n > this.size) await new Promise<void>((go) => this.waiting.push({ streams: n, go }));
    else this.held += n;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= n;
      this.admit();
    };
  }

  /** Streams held now (for tests and metrics). */
  get inUse(): number {
    return this.held;
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.held + this.waiting[0].streams <= this.size) {
      const next = this.waiting.shift()!;
      this.held += next.streams;
      next.go();
    }
  }
}

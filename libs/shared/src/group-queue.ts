/**
 * Group commit without a timer: items that arrive while up to `maxInFlight` groups are being processed wait,
 * and go together (up to `maxGroup`) into the next group. A lone item is processed at once. Each item's
 * promise settles with its own outcome, set by the group processor through `done`/`fail`.
 */
export class GroupQueue<T, R> {
  private readonly queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    private readonly process: (group: { item: T; done: (r: R) => void; fail: (e: unknown) => void }[]) => Promise<void>,
    private readonly maxGroup = 200,
    private readonly maxInFlight = 4,
    private readonly onGroup?: (size: number) => void,
  ) {}

  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const group = this.queue.splice(0, this.maxGroup);
      this.inFlight++;
      this.onGroup?.(group.length);
      const entries = group.map((g) => {
        let settled = false;
        return {
          item: g.item,
          done: (r: R) => void (settled || ((settled = true), g.resolve(r))),
          fail: (e: unknown) => void (settled || ((settled = true), g.reject(e))),
          settledOr: (e: unknown) => (settled ? undefined : ((settled = true), g.reject(e))),
        };
      });
      void this.process(entries)
        .catch((err) => entries.forEach((e) => e.settledOr(err)))
        .finally(() => {
          this.inFlight--;
          this.drain();
        });
    }
  }
}

import { DomainError, ErrorCode } from '@app/shared';

export class ConcurrencyError extends DomainError {
  constructor(message: string) {
    super(ErrorCode.Concurrency, message);
  }
}

/**
 * Runs fn again when it loses an optimistic-concurrency race, a bounded number of times, after a random wait that
 * doubles each time (up to 5, 10, 20, ... 250 ms): a contact whose due follow-ups the worker is running appends several
 * times within a few tens of milliseconds, and five tries spread over ~50 ms let a client's write to it lose them all
 * and answer 409 (seen in test/report-oracle). Eight tries wait at most 565 ms in all (5 + 10 + … + 160 + 250).
 */
export async function retryOnConcurrency<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * Math.min(250, 5 * 2 ** (i - 1)))));
    }
  }
}

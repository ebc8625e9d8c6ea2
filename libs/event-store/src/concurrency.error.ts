import { DomainError, ErrorCode } from '@app/shared';

export class ConcurrencyError extends DomainError {
  constructor(message: string) {
    super(ErrorCode.Concurrency, message);
  }
}

/** Runs fn again when it loses an optimistic-concurrency race, a bounded number of times. */
export async function retryOnConcurrency<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5 * i)));
    }
  }
}

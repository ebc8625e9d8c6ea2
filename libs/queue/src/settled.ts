/**
 * Waits for a connection (a BullMQ object's, the rate limit's Redis client) to finish opening, at most `ms`, whatever
 * the outcome.
 *
 * Closing a Queue or Worker while its connection is still opening (a boot refused right after the workers were
 * made) races inside BullMQ 5.81: close() removes every listener of the connection, then the opening fails with
 * "Connection is closed" and the connection emits 'error' with nobody listening, an unhandled rejection (the job
 * layer's int test failed on it now and then; its test "... still connecting" makes the race happen through a slow
 * proxy, and failed 2 runs in 3 without this wait). The processors and queues wait here before @nestjs/bullmq closes
 * them in onApplicationShutdown. Bounded, so a Redis that does not answer cannot hold a shutdown up (against such a
 * Redis the race remains, BullMQ's to fix).
 */
export async function settled(opening: Promise<unknown> | undefined, ms = 2000): Promise<void> {
  if (!opening) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([opening.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * The outcome of a Redis call, or a rejection once `ms` have passed without one. BullMQ's connections retry a command
 * forever while Redis is away (maxRetriesPerRequest: null, which its workers need), so a caller that must not wait
 * that long (a metrics scrape, a transaction held open around an enqueue) bounds its own wait. The command itself is
 * not withdrawn: it still runs if Redis comes back, which the deterministic job ids make harmless.
 */
export async function withinMs<T>(ms: number, what: string, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      call,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

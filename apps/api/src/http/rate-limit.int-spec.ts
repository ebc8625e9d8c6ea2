import { randomUUID } from 'node:crypto';
import { flushPrefix } from '@app/testing';
import { FailOpenRedisStorage } from './rate-limit';

/**
 * The rate limit's counting across API processes (two storages on one Redis stand for two processes): each counts a
 * key's requests locally and adds them in Redis now and then, and at every request once the key nears its limit, so
 * the limit itself is decided on the count of both.
 */
describe('rate limit storage across processes', () => {
  const prefix = `fu_rl_${randomUUID().slice(0, 8)}`;
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let a: FailOpenRedisStorage;
  let b: FailOpenRedisStorage;
  beforeEach(() => {
    a = FailOpenRedisStorage.connect(url, prefix);
    b = FailOpenRedisStorage.connect(url, prefix);
  });
  afterEach(async () => {
    a.onModuleDestroy();
    b.onModuleDestroy();
    await flushPrefix(prefix);
  });

  it('should refuse past the limit on the count of both processes, whichever process the requests reach', async () => {
    const limit = 200;
    const key = `user-${randomUUID()}`;
    const answers: boolean[] = [];
    for (let i = 0; i < 300; i++) answers.push((await (i % 3 === 0 ? b : a).increment(key, 60_000, limit)).isBlocked);
    // Up to the limit every request passes; past it, a process that has not yet seen the other's latest requests may
    // pass a few more (each counts up to 32 between syncs), and then every one is refused.
    const passed = answers.filter((blocked) => !blocked).length;
    expect(answers.slice(0, limit).every((blocked) => !blocked)).toBe(true);
    expect(passed).toBeLessThanOrEqual(limit + 2 * 32);
    expect(answers.slice(-50).every((blocked) => blocked)).toBe(true);
  });

  it('should add a process\'s requests to Redis in one step now and then, not one a request, while far from the limit', async () => {
    const key = `user-${randomUUID()}`;
    for (let i = 0; i < 100; i++) await a.increment(key, 60_000, 1_000_000);
    // Redis has seen at most 100 and at least the syncs' worth (every 32nd request)
    const seenByB = await b.increment(key, 60_000, 1_000_000);
    expect(seenByB.totalHits).toBeGreaterThanOrEqual(97);
    expect(seenByB.totalHits).toBeLessThanOrEqual(101);
  });

  it('should start a new window when the last has ended, in Redis and in each process', async () => {
    const key = `user-${randomUUID()}`;
    const limit = 3;
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await a.increment(key, 1000, limit)).isBlocked);
    expect(results).toEqual([false, false, false, true]);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await a.increment(key, 1000, limit)).toMatchObject({ isBlocked: false, totalHits: 1 });
    expect(await b.increment(key, 1000, limit)).toMatchObject({ isBlocked: false, totalHits: 2 });
  });

  it('should count the commands sent while the first connects, not pass them uncounted', async () => {
    const key = `user-${randomUUID()}`;
    await Promise.all(Array.from({ length: 5 }, () => a.increment(key, 60_000, 1_000_000)));
    expect((await b.increment(key, 60_000, 1_000_000)).totalHits).toBe(6);
  });

  it('should tell a process that a key has reached its limit from its own count, without asking Redis', async () => {
    const key = `address-${randomUUID()}`;
    const limit = 3;
    for (let i = 0; i < limit - 1; i++) await a.increment(key, 2000, limit);
    expect(a.blockedFor(key, limit)).toBe(0);
    await a.increment(key, 2000, limit);
    expect(a.blockedFor(key, limit)).toBeGreaterThan(1000);
    expect(a.blockedFor(key, limit)).toBeLessThanOrEqual(2000);
    // The other process learns the count at its own next increment of the key.
    expect(b.blockedFor(key, limit)).toBe(0);
    await b.increment(key, 2000, limit);
    expect(b.blockedFor(key, limit)).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2100));
    expect(a.blockedFor(key, limit)).toBe(0);
  });

  it('should share a flag between processes until it is removed, and answer undefined when Redis does not answer', async () => {
    const key = `flag-${randomUUID()}`;
    expect(await b.isMarked(key)).toBe(false);
    await a.mark(key, 60_000);
    expect(await b.isMarked(key)).toBe(true);
    await b.unmark(key);
    expect(await a.isMarked(key)).toBe(false);

    const unreachable = FailOpenRedisStorage.connect('redis://127.0.0.1:1', prefix);
    try {
      await unreachable.mark(key, 60_000);
      expect(await unreachable.isMarked(key)).toBeUndefined();
    } finally {
      unreachable.onModuleDestroy();
    }
  });
});

import Redis from 'ioredis';

/**
 * Deletes every Redis key that starts with `prefix` (a test file's queues, or a whole run's).
 * No path aliases here: global-teardown loads this file outside jest's moduleNameMapper.
 */
export async function flushPrefix(prefix: string): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

import { ExecutionContext, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerGuard, ThrottlerModule, ThrottlerStorage } from '@nestjs/throttler';
import Redis from 'ioredis';
import { redisOptions } from '@app/queue';

/**
 * Requests per API key's user: `RATE_LIMIT_REQUESTS` in every `RATE_LIMIT_WINDOW_MS`, over all routes together, shared
 * by every API process through Redis (@nestjs/throttler's guard, with the Redis storage below; a fixed window).
 * Past the limit a key gets 429 with `Retry-After` (seconds) until the window ends; every answer carries
 * `X-RateLimit-Limit`, `-Remaining` and `-Reset`. A runaway dialler loop or a buggy integration then slows itself
 * instead of the organisations that share the service. A batch push is one request.
 *
 * What is counted is the authenticated user, so this guard runs after ApiKeyGuard (a request without a valid key is
 * already a 401); public routes (health, metrics, docs) are not counted.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return !context.switchToHttp().getRequest().actor;
  }

  protected override async getTracker(req: Record<string, any>): Promise<string> {
    return req.actor.userId;
  }

  /** One budget per user across routes (the library's default is one per route). */
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }
}

/**
 * The counters are in Redis, which holds nothing here that cannot be lost: a lost window starts afresh. When Redis
 * cannot answer (down, or slower than COMMAND_TIMEOUT_MS) the request is let through and a warning logged at most once
 * a minute: pushes go to Postgres alone, and a rate limit must not turn a Redis outage into a dialler outage.
 *
 * A fixed window per key, counted by a three-line script (INCR; PEXPIRE when the window starts; PTTL) run by its SHA.
 * Written here rather than taken from @nest-lab/throttler-storage-redis, whose storage sends a longer script's text
 * with every request (EVAL): with it a single push cost the service ~100 µs and Redis ~30 µs more than without a
 * limiter (bench:ingest-cost BENCH_PUSH=single), and bench:ingest's single-push ratio fell from ~0.44 to ~0.31. An
 * ioredis pipeline of the three commands costs Node 48-69 µs; this script 22-25 µs and Redis ~12 µs (measured with
 * 64 concurrent callers). Past the limit a key stays refused until its window ends (Retry-After is what is left of it).
 */
const WINDOW_SCRIPT = `
  local hits = redis.call('INCR', KEYS[1])
  if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
  return { hits, redis.call('PTTL', KEYS[1]) }`;
const COMMAND_TIMEOUT_MS = 250;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
const WARN_EVERY_MS = 60_000;

export class FailOpenRedisStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly logger = new Logger('RateLimit');
  private lastWarning = 0;

  constructor(private readonly redis: Redis & { fuRateWindow?: (key: string, ttlMs: number) => Promise<[number, number]> }) {
    redis.defineCommand('fuRateWindow', { numberOfKeys: 1, lua: WINDOW_SCRIPT });
  }

  static connect(url: string, prefix: string): FailOpenRedisStorage {
    const client = new Redis({
      ...redisOptions(url),
      keyPrefix: `${prefix}:ratelimit:`,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
    client.on('error', () => undefined); // readiness reports Redis; each failed count is logged below
    return new FailOpenRedisStorage(client);
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    try {
      if (this.redis.status === 'wait') await this.redis.connect().catch(() => undefined);
      const [totalHits, leftMs] = await this.redis.fuRateWindow!(key, ttl);
      const timeToExpire = Math.ceil((leftMs > 0 ? leftMs : ttl) / 1000);
      const isBlocked = totalHits > limit;
      return { totalHits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
    } catch (err) {
      const now = Date.now();
      if (now - this.lastWarning >= WARN_EVERY_MS) {
        this.lastWarning = now;
        this.logger.warn({ err }, 'rate limit not counted: Redis did not answer; requests pass uncounted until it does');
      }
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}

/** The throttler's options from the environment; `RATE_LIMIT_REQUESTS=0` turns the limit off. */
export const RateLimitModule = ThrottlerModule.forRootAsync({
  inject: [ConfigService],
  useFactory: (config: ConfigService) => {
    const limit = config.getOrThrow<number>('RATE_LIMIT_REQUESTS');
    const ttl = config.getOrThrow<number>('RATE_LIMIT_WINDOW_MS');
    return {
      throttlers: [{ name: 'default', limit, ttl }],
      skipIf: () => limit === 0,
      errorMessage: `rate limit exceeded: at most ${limit} requests in ${ttl / 1000} s per API key; retry after the Retry-After header's seconds`,
      storage: FailOpenRedisStorage.connect(config.getOrThrow('REDIS_URL'), config.getOrThrow('QUEUE_PREFIX')),
    };
  },
});

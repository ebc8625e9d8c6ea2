import { ExecutionContext, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerGuard, ThrottlerModule, ThrottlerStorage } from '@nestjs/throttler';
import Redis from 'ioredis';
import { redisOptions, settled } from '@app/queue';

/**
 * Requests per API key's user: `RATE_LIMIT_REQUESTS` in every `RATE_LIMIT_WINDOW_MS`, over all routes together, shared
 * by every API process through Redis (@nestjs/throttler's guard, with the Redis storage below; a fixed window).
 * Past the limit a key gets 429 with `Retry-After` (seconds) until the window ends; every answer carries
 * `X-RateLimit-Limit`, `-Remaining` and `-Reset`. A runaway dialler loop or a buggy integration then slows itself
 * instead of the organisations that share the service. A batch push is one request.
 *
 * What is counted is the authenticated user, so this guard runs after ApiKeyGuard (a request without a valid key is
 * already a 401, and those are limited per client address there: auth/auth-failure-limit.ts); public routes (health,
 * metrics, docs) are not counted.
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
 *
 * Even so, a Redis round trip a request cost Redis ~30 µs a single push (a tenth of the push) and took bench:ingest's
 * single ratio to 0.28-0.33. So a process counts a key's requests locally and adds them to Redis in one INCRBY every
 * SYNC_EVERY_HITS requests or SYNC_MS, whichever comes first; and at every request once the key's count (as last
 * seen in Redis, plus this process's own since, those being added included) reaches EXACT_FROM of the limit, so that
 * the limit itself is decided on Redis's count. Between syncs a process does not see the other processes' requests: a key spread over N API
 * processes can pass its limit by up to N x SYNC_EVERY_HITS before they all sync, only while it is still under
 * EXACT_FROM of the limit by what each has seen. The X-RateLimit-Remaining of a request counted locally is this
 * process's estimate.
 *
 * The failed-authentication limit (AuthFailureLimit) counts here too, and keeps its flags of keys known valid here.
 */
const WINDOW_SCRIPT = `
  local hits = redis.call('INCRBY', KEYS[1], ARGV[2])
  if hits == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
  return { hits, redis.call('PTTL', KEYS[1]) }`;
const COMMAND_TIMEOUT_MS = 250;
const SYNC_EVERY_HITS = 32;
const SYNC_MS = 100;
const EXACT_FROM = 0.8;
/** Windows a process keeps at most; past it, those that have ended are dropped. */
const MAX_WINDOWS = 10_000;

/** What a process knows of one key's window. */
interface Window {
  /** The count Redis answered at the last sync. */
  known: number;
  /** Requests counted here since, not yet added in Redis. */
  pending: number;
  /** Requests being added in Redis right now (a sync in flight), not yet in `known`. */
  inflight: number;
  endsAt: number;
  syncedAt: number;
}

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
const WARN_EVERY_MS = 60_000;

export class FailOpenRedisStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly logger = new Logger('RateLimit');
  private lastWarning = 0;

  private readonly windows = new Map<string, Window>();
  private connecting: Promise<unknown> | undefined;

  constructor(private readonly redis: Redis & { fuRateWindow?: (key: string, ttlMs: number, hits: number) => Promise<[number, number]> }) {
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
    const now = Date.now();
    let w = this.windows.get(key);
    if (w && now >= w.endsAt) {
      this.windows.delete(key); // its window is over in Redis too; requests counted here in it no longer matter
      w = undefined;
    }
    if (w) {
      const estimate = w.known + w.inflight + w.pending + 1;
      if (estimate < limit * EXACT_FROM && w.pending + 1 < SYNC_EVERY_HITS && now - w.syncedAt < SYNC_MS) {
        w.pending++;
        return { totalHits: estimate, timeToExpire: Math.ceil((w.endsAt - now) / 1000), isBlocked: false, timeToBlockExpire: 0 };
      }
    }
    // This request and those counted here since the last sync, added in Redis now.
    const hits = (w?.pending ?? 0) + 1;
    if (w) {
      w.pending = 0;
      w.inflight += hits;
      w.syncedAt = now;
    }
    try {
      await this.ready();
      let answer: [number, number];
      try {
        answer = await this.redis.fuRateWindow!(key, ttl, hits);
      } finally {
        if (w) w.inflight -= hits;
      }
      const [totalHits, leftMs] = answer;
      const windowMs = leftMs > 0 ? leftMs : ttl;
      this.remember(key, totalHits, Date.now() + windowMs, ttl);
      const timeToExpire = Math.ceil(windowMs / 1000);
      const isBlocked = totalHits > limit;
      return { totalHits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
    } catch (err) {
      this.warn(err);
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  /** The count Redis answered; requests counted here meanwhile stay pending. */
  private remember(key: string, known: number, endsAt: number, ttl: number): void {
    const w = this.windows.get(key);
    if (w) {
      // Answers of one window may come back out of order (keep the highest); an answer of a later window (the last one
      // ended in Redis a moment before it ended here) starts the count afresh.
      w.known = endsAt - w.endsAt > ttl / 2 ? known : Math.max(w.known, known);
      w.endsAt = endsAt;
      return;
    }
    if (this.windows.size >= MAX_WINDOWS) {
      const now = Date.now();
      for (const [k, old] of this.windows) if (old.endsAt <= now) this.windows.delete(k);
      if (this.windows.size >= MAX_WINDOWS) this.windows.clear();
    }
    this.windows.set(key, { known, pending: 0, inflight: 0, endsAt, syncedAt: Date.now() });
  }

  /**
   * What is left (ms) of a key's window if this process's count of it (what Redis answered at the last sync, and what
   * was counted here since) has reached `limit`, else 0. Asks Redis nothing, so a refusal costs no round trip; a
   * process learns of the other processes' counts at its own next sync (its next increment of the key).
   */
  blockedFor(key: string, limit: number): number {
    const w = this.windows.get(key);
    if (!w) return 0;
    const left = w.endsAt - Date.now();
    return left > 0 && w.known + w.inflight + w.pending >= limit ? left : 0;
  }

  /** Sets a flag every process can test, for `ttlMs`; lost if Redis does not answer. */
  async mark(key: string, ttlMs: number): Promise<void> {
    await this.answer(() => this.redis.set(key, '1', 'PX', ttlMs));
  }

  async unmark(key: string): Promise<void> {
    await this.answer(() => this.redis.del(key));
  }

  /** Whether the flag is set; undefined when Redis does not answer. */
  async isMarked(key: string): Promise<boolean | undefined> {
    const n = await this.answer(() => this.redis.exists(key));
    return n === undefined ? undefined : n > 0;
  }

  private async answer<T>(command: () => Promise<T>): Promise<T | undefined> {
    try {
      await this.ready();
      return await command();
    } catch (err) {
      this.warn(err);
      return undefined;
    }
  }

  /**
   * The first command connects (lazyConnect); those sent while it does wait for it, where they would fail (there is no
   * offline queue) and pass uncounted.
   */
  private async ready(): Promise<void> {
    if (this.redis.status === 'wait') this.connecting = this.redis.connect().catch(() => undefined);
    // at most a command's time: a Redis still loading its data (or not answering) must not hold every request
    if (this.redis.status === 'connecting' || this.redis.status === 'connect') await settled(this.connecting, COMMAND_TIMEOUT_MS);
  }

  private warn(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning >= WARN_EVERY_MS) {
      this.lastWarning = now;
      this.logger.warn({ err }, 'rate limit not counted: Redis did not answer; requests pass uncounted until it does');
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

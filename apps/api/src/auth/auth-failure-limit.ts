import { Global, Inject, Injectable, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { normalizeIp, ThrottlerStorage } from '@nestjs/throttler';
import { FailOpenRedisStorage } from '../http/rate-limit';

/** How long a key that authenticated is let through a refused address (renewed while it is used). */
const KNOWN_KEY_MS = 24 * 3_600_000;
/** Keys a process remembers as known valid at most; past it, the one remembered longest ago is dropped. */
const MAX_KNOWN_KEYS = 10_000;
const WARN_EVERY_MS = 60_000;
/** Client addresses whose counted form a process remembers at most (then it starts afresh). */
const MAX_ADDRESSES = 10_000;
const addresses = new Map<string, string>();

/**
 * Failed authentications per client address: every 401 of ApiKeyGuard (no key, a malformed, unknown or revoked one, a
 * deactivated user's). Once an address has had AUTH_FAILURE_LIMIT of them in AUTH_FAILURE_WINDOW_MS, its requests get
 * 429 with Retry-After until the window ends, before any key lookup: a client looping on a bad key costs no Postgres
 * query a request, and a guesser gets no answer about its keys. Counted in the per-key rate limit's storage (a fixed
 * window in Redis, shared by the API processes, failing open). A process learns the others' count at its own next
 * failure from the address, so each may look up one more key a window (and as many as run at once as a window starts).
 * No key is remembered as bad: a key created a second ago works at once.
 *
 * A call centre's clients share its NAT's address, so one misconfigured client must not lock out the rest: a refused
 * address's request is still looked up when its key has worked in the last KNOWN_KEY_MS, in this process or any other
 * (a flag in Redis naming the key by its SHA-256, as the database does; one round trip, only on a refused address).
 * Not the auth cache: AUTH_CACHE_MS (1 s) is shorter than a screen's gap between requests and is per process, so a
 * deploy or the load balancer would lock working clients out. Being known only earns the usual lookup, so a revoked
 * key is still refused, and its failure forgets it. What waits with the bad requests is a key not used in that time;
 * telling it from a guess would take the lookup the limit saves.
 */
@Injectable()
export class AuthFailureLimit {
  private readonly logger = new Logger('AuthFailureLimit');
  private lastWarning = 0;
  /** Key hash → when this process last marked it known valid in Redis. */
  private readonly known = new Map<string, number>();
  private readonly storage: FailOpenRedisStorage;
  readonly limit: number;
  readonly windowMs: number;

  constructor(config: ConfigService, @Inject(ThrottlerStorage) storage: ThrottlerStorage) {
    if (!(storage instanceof FailOpenRedisStorage)) throw new Error("AuthFailureLimit counts failed authentications in RateLimitModule's FailOpenRedisStorage");
    this.storage = storage;
    this.limit = config.getOrThrow<number>('AUTH_FAILURE_LIMIT');
    this.windowMs = config.getOrThrow<number>('AUTH_FAILURE_WINDOW_MS');
  }

  /** The client address counted: an IPv6 client's /64, as the throttler tracks it (a host has a whole /64 to pick from). */
  static addressOf(ip: string | undefined): string {
    if (ip === undefined || ip === '') return 'unknown';
    // Remembered: working out an IPv6 (or IPv4-mapped) address's /64 was 2 % of the service's CPU on single pushes, for
    // the few addresses a call centre's diallers come from.
    let address = addresses.get(ip);
    if (address === undefined) {
      if (addresses.size >= MAX_ADDRESSES) addresses.clear();
      address = normalizeIp(ip) || 'unknown';
      addresses.set(ip, address);
    }
    return address;
  }

  /** Seconds the request must wait (0: go on and look its key up). */
  async refusedFor(address: string, keyHash: string | undefined): Promise<number> {
    if (this.limit === 0) return 0;
    const leftMs = this.storage.blockedFor(failuresKey(address), this.limit);
    if (leftMs === 0) return 0;
    if (keyHash !== undefined) {
      const markedAt = this.known.get(keyHash);
      if (markedAt !== undefined && Date.now() - markedAt < KNOWN_KEY_MS) return 0;
      // Redis not answering (undefined) lets it through too: the limit fails open, like the per-key one.
      if ((await this.storage.isMarked(knownKey(keyHash))) !== false) return 0;
    }
    return Math.ceil(leftMs / 1000);
  }

  async failed(address: string, keyHash: string | undefined): Promise<void> {
    if (this.limit === 0) return;
    if (keyHash !== undefined) {
      this.known.delete(keyHash);
      void this.storage.unmark(knownKey(keyHash));
    }
    const { totalHits } = await this.storage.increment(failuresKey(address), this.windowMs, this.limit);
    if (totalHits === this.limit) this.warnRefusing(address);
  }

  /**
   * A key just issued (a new user's, another for a user): known valid before its first use, so that a client given a
   * new key while its address is refused (the old key's stragglers failing as it is rotated out) is served at once.
   */
  async issued(keyHash: string): Promise<void> {
    // awaited: the client's first request may go to another process, which must find the flag
    await this.succeeded(keyHash);
  }

  /** Marks the key known (in Redis at most every KNOWN_KEY_MS / 2); the promise is for issued, a request does not wait. */
  succeeded(keyHash: string): Promise<void> | undefined {
    if (this.limit === 0) return;
    const now = Date.now();
    const markedAt = this.known.get(keyHash);
    if (markedAt !== undefined && now - markedAt < KNOWN_KEY_MS / 2) return;
    this.known.delete(keyHash);
    if (this.known.size >= MAX_KNOWN_KEYS) this.known.delete(this.known.keys().next().value!);
    this.known.set(keyHash, now);
    return this.storage.mark(knownKey(keyHash), KNOWN_KEY_MS);
  }

  /** Names the address that reached the limit (a misconfigured client to find, or a guesser), at most once a minute. */
  private warnRefusing(address: string): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.logger.warn(
      { address },
      `${this.limit} failed authentications from ${address} in ${this.windowMs / 1000} s: its requests without a known valid key get 429 until the window ends`,
    );
  }
}

const failuresKey = (address: string) => `auth-failures:${address}`;
const knownKey = (keyHash: string) => `known-key:${keyHash}`;

/** The limit as one instance per process, for the key guard and for what issues keys (UsersController). */
@Global()
@Module({ providers: [AuthFailureLimit], exports: [AuthFailureLimit] })
export class AuthFailureLimitModule {}

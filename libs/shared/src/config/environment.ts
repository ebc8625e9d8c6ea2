import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, Min, ValidateBy, validateSync } from 'class-validator';
import { DEFAULT_PRIVATE_NETWORKS, parseNetworks } from '../net/ip-address';

/** Whether `parseNetworks`, which the outbound guard reads the variable with, takes it. */
function isNetworkList(value: unknown): boolean {
  try {
    return typeof value === 'string' && (parseNetworks(value), true);
  } catch {
    return false;
  }
}

/** Comma-separated IP addresses or networks (an address alone is its /32 or /128), for TRUST_PROXY. */
function isAddressList(value: unknown): boolean {
  if (typeof value !== 'string' || value.trim() === 'none') return false;
  return value.split(',').every((part) => isNetworkList(part.includes('/') ? part : `${part.trim()}/${part.includes(':') ? 128 : 32}`));
}

/**
 * A whole-number variable: decimal digits (a minus sign allowed, for the range check to name), spaces around them
 * aside; anything else is NaN, which @IsInt refuses naming the variable. Number() took `0x0CEB` as 3307, `1e3` as
 * 1000, and spaces alone as 0 (RATE_LIMIT_REQUESTS=" " turned the limit off). Blank is the default.
 */
const wholeNumber =
  (fallback: number) =>
  ({ value }: { value: unknown }): number => {
    if (typeof value === 'number') return value;
    const text = String(value ?? '').trim();
    if (text === '') return fallback;
    return /^-?\d+$/.test(text) ? Number(text) : NaN;
  };

/** Whether a variable's value counts as unset: undefined, empty, or spaces alone (README: unset or empty is the default). */
const isBlank = (value: unknown): boolean => value === undefined || (typeof value === 'string' && value.trim() === '');

/** Process configuration (SPEC §9). Everything else is per-organization settings stored as events. */
export class Environment {
  @Transform(wholeNumber(3000))
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/followups';

  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Key prefix for every BullMQ key, so several deployments (or test runs) can share one Redis. */
  @Matches(/^[A-Za-z0-9_:-]+$/, { message: 'QUEUE_PREFIX may hold letters, digits, _ : - only' })
  QUEUE_PREFIX = 'fu';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** How often async projections and the job outbox look for new events (ms). */
  @Transform(wholeNumber(50))
  @IsInt()
  @Min(5)
  @Max(100)
  POLL_INTERVAL_MS = 50;

  @Transform(wholeNumber(20))
  @IsInt()
  @Min(2)
  @Max(500)
  PG_POOL_SIZE = 20;

  /** Folded contact states a process keeps in memory (catching up on newer events), instead of folding whole streams. 0: none. */
  @Transform(wholeNumber(20_000))
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  STATE_CACHE_SIZE = 20_000;

  /**
   * Streams a process's appends may hold locked at once (one advisory lock each, to commit); appends past it wait.
   * Every process's budget together must fit the Postgres server's lock table (docs/operations.md, "Postgres").
   */
  @Transform(wholeNumber(2000))
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  STREAM_LOCK_BUDGET = 2000;

  /** How long a process trusts a valid API key it has looked up (ms); revocations reach other processes within it. 0: ask every time. */
  @Transform(wholeNumber(1000))
  @IsInt()
  @Min(0)
  @Max(60_000)
  AUTH_CACHE_MS = 1000;

  /** Jobs a worker process runs at once per queue. */
  @Transform(wholeNumber(50))
  @IsInt()
  @Min(1)
  @Max(1000)
  WORKER_CONCURRENCY = 50;

  /**
   * Jobs of one organization a worker process runs at once per queue once its receivers run slow, so that one
   * organization's slow receivers cannot take every slot from the others (dispatching.processor.ts). 0: half of
   * WORKER_CONCURRENCY (rounded up).
   */
  @Transform(wholeNumber(0))
  @IsInt()
  @Min(0)
  @Max(1000)
  WORKER_ORG_CONCURRENCY = 0;

  /** How often the periodic follow-up expiry job runs (ms). */
  @Transform(wholeNumber(60_000))
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  EXPIRY_INTERVAL_MS = 60_000;

  /**
   * How long an In-progress call stays in the live view (GET /api/calls/live) without its final status (ms). A
   * dialler that drops a final push would otherwise leave the call "live" for ever; the call itself is kept, and
   * its final status, whenever it comes, is recorded as usual.
   */
  @Transform(wholeNumber(14_400_000))
  @IsInt()
  @Min(60_000)
  @Max(604_800_000)
  LIVE_CALL_MAX_AGE_MS = 14_400_000;

  /**
   * How long a process asked to stop (SIGTERM, SIGINT) may take to close before it exits 1 all the same: under
   * docker-compose.yml's 30 s stop grace, so the log says why rather than a SIGKILL.
   */
  @Transform(wholeNumber(25_000))
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  SHUTDOWN_TIMEOUT_MS = 25_000;

  /** Requests an API key's user may make in each RATE_LIMIT_WINDOW_MS, all routes together, counted in Redis across processes. 0: no limit. */
  @Transform(wholeNumber(6000))
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  RATE_LIMIT_REQUESTS = 6000;

  /** The rate limit's window (ms). */
  @Transform(wholeNumber(60_000))
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  RATE_LIMIT_WINDOW_MS = 60_000;

  /**
   * Failed authentications (401s) a client address may have in each AUTH_FAILURE_WINDOW_MS; past it, its requests
   * without a key known valid get 429 without a key lookup. Counted in Redis across processes. 0: no limit.
   */
  @Transform(wholeNumber(20))
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  AUTH_FAILURE_LIMIT = 20;

  /**
   * Which proxies in front of the API to believe about the client's address (X-Forwarded-For): empty, none (the
   * connection's peer is the client); or comma-separated addresses and CIDRs of the proxies (`10.0.0.0/8,127.0.0.1`).
   * Not a hop count: with one, any client reaching the API directly could name itself any address, and step around
   * the failed-authentication limit or spend another address's. That limit counts per client address: behind a proxy
   * that is not listed here, every client shares the proxy's.
   */
  @ValidateBy({ name: 'isAddressList', validator: { validate: (v: unknown) => v === '' || isAddressList(v) } }, {
    message: 'TRUST_PROXY must be empty, or comma-separated IP addresses or networks (10.0.0.0/8,192.168.1.5)',
  })
  TRUST_PROXY = '';

  /** The failed-authentication limit's window (ms). */
  @Transform(wholeNumber(60_000))
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  AUTH_FAILURE_WINDOW_MS = 60_000;

  /**
   * The non-public networks a host an organization lists in webhooks.allowHttpHosts may resolve to (comma-separated
   * CIDRs, or `none`); any other non-public address is refused whatever the org lists. The default is SPEC §7's private
   * and loopback ranges; a multi-tenant deployment narrows it to its diallers' networks, or `none`.
   */
  @ValidateBy({ name: 'isNetworkList', validator: { validate: (v: unknown) => isNetworkList(v) } }, {
    message: 'OUTBOUND_PRIVATE_NETWORKS must be comma-separated networks like 10.0.0.0/8,fc00::/7 (an IP address and a prefix length it can have), or none',
  })
  OUTBOUND_PRIVATE_NETWORKS = DEFAULT_PRIVATE_NETWORKS;

  /**
   * When set, `/metrics` answers only a scrape that sends `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).
   * Unset: public, for a deployment whose ingress does not route /metrics.
   */
  @Matches(/^([\x21-\x7e]{16,256})?$/, { message: 'METRICS_TOKEN must be 16 to 256 printable characters without spaces, or unset' })
  METRICS_TOKEN = '';

  /**
   * Keys that seal the organizations' webhook signing secrets at rest (README). Declared here so that blank means unset
   * as for every variable; their form is checked as the settings module starts (SecretBox, naming the variable).
   */
  @IsString()
  SECRET_KEYS = '';

  @IsString()
  NODE_ENV = 'production';

  /** The CLI logs to stderr so that its stdout is only its JSON answer. */
  @IsIn(['stdout', 'stderr'])
  LOG_DESTINATION: 'stdout' | 'stderr' = 'stdout';
}

export class ConfigurationError extends Error {}

/** Validates the environment at boot and fails with one readable line per bad variable. */
export function validateEnvironment(raw: Record<string, unknown>): Environment {
  const defaults = new Environment();
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(defaults) as (keyof Environment)[]) {
    const value = raw[key];
    merged[key] = isBlank(value) ? defaults[key] : value;
  }
  const env = plainToInstance(Environment, merged);
  const errors = validateSync(env);
  if (errors.length > 0) {
    // not a whole number: that alone (its NaN also fails both bounds, which said nothing useful)
    const said = (property: string, c: Record<string, string>) => (c.isInt ? [`${property} must be a whole number in decimal digits`] : Object.values(c));
    const lines = errors.map((e) => `  ${e.property}=${JSON.stringify(merged[e.property])}: ${said(e.property, e.constraints ?? {}).join('; ')}`);
    throw new ConfigurationError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return env;
}

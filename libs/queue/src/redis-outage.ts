import { Inject, Injectable, Logger, Optional } from '@nestjs/common';

/**
 * The level a process reports a Redis that does not answer at: `warn` in the service; `debug` in a CLI command, which
 * ends with its own one-line message naming Redis (jobs:reconcile printed 18 error lines with stack traces before it).
 */
export const REDIS_OUTAGE_LOG_LEVEL = Symbol('REDIS_OUTAGE_LOG_LEVEL');
export type RedisOutageLogLevel = 'warn' | 'debug';

/** A connection error is logged at most this often a process; the others are counted in the next line. */
export const REDIS_OUTAGE_LOG_EVERY_MS = 60_000;

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** Whether an 'error' a Redis client (ioredis, or BullMQ through it) emits says only that Redis cannot be reached. */
export function isRedisConnectionError(err: unknown): err is Error {
  // not `instanceof Error`: an error of Node's net module is of another realm than code under jest's sandbox
  if (err === null || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return false;
  return (typeof code === 'string' && CONNECTION_CODES.has(code)) || /^(Connection is closed|connect ETIMEDOUT|Stream isn't writeable)/.test(message);
}

/**
 * One process's reports of a Redis that does not answer. Each BullMQ queue and worker emits an 'error' at every
 * reconnection attempt (about one a second): logged as they came, an API-only process wrote 70 error lines over an
 * outage. Now one line a minute at most for the whole process, saying how many it left out; each in full (its stack)
 * at debug.
 */
@Injectable()
export class RedisOutageLog {
  private readonly logger = new Logger('Redis');
  private lastLineAt = -Infinity;
  private suppressed = 0;

  constructor(@Optional() @Inject(REDIS_OUTAGE_LOG_LEVEL) readonly level: RedisOutageLogLevel = 'warn') {}

  /** A connection error of one of the process's Redis clients; `source` names it (`{ queue }`, `{ worker }`). */
  connectionError(err: Error, source: Record<string, unknown>): void {
    this.logger.debug({ err, ...source }, 'Redis connection error');
    if (this.level === 'debug') return;
    const now = Date.now();
    if (now - this.lastLineAt < REDIS_OUTAGE_LOG_EVERY_MS) {
      this.suppressed++;
      return;
    }
    const suppressed = this.suppressed;
    this.lastLineAt = now;
    this.suppressed = 0;
    this.logger.warn(
      { ...source, error: err.message, code: (err as { code?: unknown }).code, suppressed },
      `Redis does not answer: ${err.message} (connection errors are logged once a minute at most` +
        (suppressed ? `; ${suppressed} more since the last such line)` : ')'),
    );
  }

  /** A line about Redis not answering, at this process's level (a CLI command's own message says it already). */
  say(fields: Record<string, unknown>, message: string): void {
    if (this.level === 'debug') this.logger.debug(fields, message);
    else this.logger.warn(fields, message);
  }
}

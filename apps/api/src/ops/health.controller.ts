import { Controller, Get, Inject, Logger } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Database } from '@app/shared';
import { RedisClient } from '@app/queue';
import { Public } from '../auth/auth.decorators';

const PROBE_TIMEOUT_MS = 2000;
/**
 * An API-only process's look at Redis, which does not decide its readiness: short, so that a Redis outage does not
 * make the probe itself slow (a client retrying its connection holds a PING for a second or two), and a load balancer
 * with a 1 s check timeout would take the process out after all.
 */
const INFO_PROBE_TIMEOUT_MS = 250;
class ProbeTimeout extends Error {}

/** Whether readiness fails when Redis does not answer: for processes that run workers (true), not API-only ones. */
export const READINESS_NEEDS_REDIS = Symbol('READINESS_NEEDS_REDIS');

/**
 * Liveness: the process answers. Readiness: Postgres answers, and Redis too in a process that runs workers.
 *
 * An API-only process (`--api-only`) serves pushes and reads from Postgres alone: its one use of Redis, the rate limits,
 * lets requests through uncounted when Redis is down. Failing its readiness on Redis would let a load balancer take
 * every API process out of service during a Redis outage and refuse the diallers' pushes, which is what the fail-open
 * limit is for. It still reports Redis (`info`), so the outage shows.
 */
@ApiExcludeController()
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly db: Database,
    private readonly redis: RedisClient,
    @Inject(READINESS_NEEDS_REDIS) private readonly needsRedis: boolean,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  async ready() {
    const postgres = () => this.probe('postgres', () => this.db.query('SELECT 1'));
    if (this.needsRedis) return this.health.check([postgres, () => this.probe('redis', () => this.pingRedis())]);
    // Redis in `details` whatever its state (and in `info` when up), never in `error`: the process is ready without it.
    const [result, redis] = await Promise.all([this.health.check([postgres]), this.probe('redis', () => this.pingRedis(), INFO_PROBE_TIMEOUT_MS)]);
    const up = redis.redis.status === 'up';
    return { ...result, info: { ...result.info, ...(up ? redis : {}) }, details: { ...result.details, ...redis } };
  }

  private async pingRedis(): Promise<void> {
    await this.redis.redis.ping();
  }

  /**
   * Up, or down saying only `unreachable` or `timeout`: the probe is public, and a driver's error text names internal
   * hosts, addresses and database roles (ECONNREFUSED 10.0.0.5:5432, role "app" does not exist). That goes to the
   * warn log instead, for the operator.
   */
  private async probe(key: string, check: () => Promise<unknown>, timeoutMs = PROBE_TIMEOUT_MS) {
    const indicator = this.indicator.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new ProbeTimeout()), timeoutMs)))]);
      return indicator.up();
    } catch (err) {
      this.logger.warn({ err, check: key }, 'readiness check failed');
      return indicator.down({ message: err instanceof ProbeTimeout ? 'timeout' : 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  }
}

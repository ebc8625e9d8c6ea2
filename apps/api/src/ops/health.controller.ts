import { Controller, Get, Logger } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Database } from '@app/shared';
import { RedisClient } from '@app/queue';
import { Public } from '../auth/auth.decorators';

const PROBE_TIMEOUT_MS = 2000;
class ProbeTimeout extends Error {}

/** Liveness: the process answers. Readiness: Postgres and Redis answer too. */
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
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.probe('postgres', () => this.db.query('SELECT 1')), () => this.probe('redis', () => this.pingRedis())]);
  }

  private async pingRedis(): Promise<void> {
    await this.redis.redis.ping();
  }

  /**
   * Up, or down saying only `unreachable` or `timeout`: the probe is public, and a driver's error text names internal
   * hosts, addresses and database roles (ECONNREFUSED 10.0.0.5:5432, role "app" does not exist). That goes to the
   * warn log instead, for the operator.
   */
  private async probe(key: string, check: () => Promise<unknown>) {
    const indicator = this.indicator.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new ProbeTimeout()), PROBE_TIMEOUT_MS)))]);
      return indicator.up();
    } catch (err) {
      this.logger.warn({ err, check: key }, 'readiness check failed');
      return indicator.down({ message: err instanceof ProbeTimeout ? 'timeout' : 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  }
}

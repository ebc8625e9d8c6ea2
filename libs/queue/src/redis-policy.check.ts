import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RedisClient } from './redis.provider';

/** BullMQ loses jobs silently if Redis evicts keys; say so loudly at boot. */
@Injectable()
export class RedisPolicyCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger(RedisPolicyCheck.name);

  constructor(private readonly client: RedisClient) {}

  async onApplicationBootstrap(): Promise<void> {
    const policy = await RedisPolicyCheck.evictionPolicy(this.client);
    if (policy !== 'noeviction') {
      this.logger.warn(
        { maxmemoryPolicy: policy ?? 'unknown' },
        `Redis maxmemory-policy is ${policy ?? 'unknown'}, not noeviction: Redis may drop queued jobs under memory pressure. ` +
          'Set maxmemory-policy noeviction (jobs:reconcile recovers lost jobs).',
      );
    }
  }

  static async evictionPolicy(client: RedisClient): Promise<string | undefined> {
    try {
      const reply = (await client.redis.config('GET', 'maxmemory-policy')) as string[];
      return reply[1];
    } catch {
      return undefined; // CONFIG is disabled on some managed Redis services
    }
  }
}

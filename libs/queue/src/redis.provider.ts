import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { redisOptions } from './redis-options';

/** A plain Redis connection for health checks and admin commands (BullMQ keeps its own). */
@Injectable()
export class RedisClient implements OnApplicationShutdown {
  readonly redis: Redis;

  constructor(@Inject(ConfigService) config: ConfigService) {
    this.redis = new Redis({ ...redisOptions(config.getOrThrow('REDIS_URL')), lazyConnect: false, maxRetriesPerRequest: 1 });
    this.redis.on('error', () => undefined); // readiness reports it; do not crash the process
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}

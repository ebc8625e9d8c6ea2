import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { redisOptions } from './redis-options';

/** A plain Redis connection for health checks and admin commands (BullMQ keeps its own). */
@Injectable()
export class RedisClient implements OnApplicationShutdown {
  readonly redis: Redis;
  /** The last error the connection emitted (ECONNREFUSED …): what a caller that got no answer can name. */
  lastError?: Error;

  constructor(@Inject(ConfigService) config: ConfigService) {
    this.redis = new Redis({ ...redisOptions(config.getOrThrow('REDIS_URL')), lazyConnect: false, maxRetriesPerRequest: 1 });
    // readiness reports it; do not crash the process
    this.redis.on('error', (err: Error) => (this.lastError = err));
  }

  /** Resolves once the connection is ready (at once if it is), false if it is closed first. */
  whenReady(): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    if (this.redis.status === 'end') return Promise.resolve(false);
    return new Promise((resolve) => {
      const ready = () => done(true);
      const end = () => done(false);
      const done = (answer: boolean) => {
        this.redis.off('ready', ready).off('end', end);
        resolve(answer);
      };
      this.redis.once('ready', ready).once('end', end);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}

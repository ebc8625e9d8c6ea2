import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { JobOutbox } from './job-outbox.consumer';
import { JobQueues } from './job-queues';
import { JobReconciler } from './job-reconciler';
import { JobRegistry } from './job.registry';
import { ALL_QUEUES } from './queue.constants';
import { redisOptions } from './redis-options';
import { RedisOutageLog } from './redis-outage';
import { RedisPolicyCheck } from './redis-policy.check';
import { RedisClient } from './redis.provider';

/** Every job's options unless its request says otherwise. */
export const DEFAULT_JOB_OPTIONS = {
  // Completed jobs are removed (Redis holds only pending work); failed ones are kept a while for inspection.
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  // Retries here are for infrastructure faults (a database blip); domain attempts are counted in events.
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
} as const;

@Global()
@Module({
  imports: [
    DiscoveryModule,
    BullModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        connection: redisOptions(config.getOrThrow('REDIS_URL')),
        prefix: config.getOrThrow('QUEUE_PREFIX'),
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      }),
    }),
    BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
  ],
  providers: [RedisClient, RedisOutageLog, JobRegistry, JobQueues, JobOutbox, JobReconciler, RedisPolicyCheck],
  exports: [BullModule, RedisClient, RedisOutageLog, JobRegistry, JobQueues, JobReconciler],
})
export class QueueModule {}

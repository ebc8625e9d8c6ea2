/**
 * What Redis holds for each pending follow-up, for sizing it: the memory of one BullMQ delayed execute job, made as the
 * job outbox makes it (JobQueues.enqueue, the production job options, ids and payload), beside a raw baseline.
 *
 *   npm run bench:redis-memory
 *   BENCH_JOBS=200000 npm run bench:redis-memory
 *
 * Adds BENCH_JOBS [50,000] execute jobs due in a day, in the job outbox's chunks, under a scratch key prefix of the Redis
 * at REDIS_URL [redis://127.0.0.1:6379], and prints the growth of `used_memory` per job and the rate they were added
 * at. The raw baseline, in the same run and the same Redis: one hash per job holding the same payload (pipelined
 * HSET), with its memory and rate. Then deletes every key it made (the scratch prefix).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { executeJob } from '@app/follow-ups';
import { DEFAULT_JOB_OPTIONS, JobQueues, QueueName, redisOptions } from '@app/queue';
import { flushPrefix } from '@app/testing/redis-prefix';
import { envInt, printTable } from './lib';

const JOBS = envInt('BENCH_JOBS', 50_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHUNK = 500;

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** Memory growth and time of `fill`, after a settle; the same prefix is deleted afterwards. */
async function measure(redis: Redis, prefix: string, fill: () => Promise<void>): Promise<{ bytes: number; perSecond: number }> {
  const before = await usedMemory(redis);
  const t0 = process.hrtime.bigint();
  await fill();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = await usedMemory(redis);
  await flushPrefix(prefix);
  return { bytes: (after - before) / JOBS, perSecond: JOBS / seconds };
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']); // JobQueues logs each enqueue at debug
  const redis = new Redis(REDIS_URL);
  const run = `fu_bench_mem_${randomUUID().slice(0, 8)}`;
  const due = new Date(Date.now() + 86_400_000).toISOString();
  const payloads = Array.from({ length: JOBS }, () => ({ orgId: randomUUID(), contactId: randomUUID(), followUpId: randomUUID(), schedule: 1 }));
  const queues = [QueueName.FollowUps, QueueName.Maintenance].map(
    (name) => new Queue(name, { connection: redisOptions(REDIS_URL), prefix: `${run}_q`, defaultJobOptions: DEFAULT_JOB_OPTIONS }),
  );
  try {
    await Promise.all(queues.map((q) => q.waitUntilReady()));
    const jobs = new JobQueues(queues[0], queues[1]);
    // The queues' own keys (meta, ...) exist before the measurement starts.
    await jobs.enqueue([executeJob({ orgId: randomUUID(), contactId: randomUUID(), followUpId: randomUUID(), schedule: 1 }, due, 'normal')]);

    const raw = await measure(redis, `${run}_raw`, async () => {
      for (let i = 0; i < JOBS; i += CHUNK) {
        const pipe = redis.pipeline();
        for (const p of payloads.slice(i, i + CHUNK)) pipe.hset(`${run}_raw:${p.followUpId}`, 'data', JSON.stringify(p));
        await pipe.exec();
      }
    });
    const bull = await measure(redis, `${run}_q:${QueueName.FollowUps}:fu-exec`, async () => {
      for (let i = 0; i < JOBS; i += CHUNK) await jobs.enqueue(payloads.slice(i, i + CHUNK).map((p) => executeJob(p, due, 'normal')));
    });
    // what measure() could not delete by its prefix: the delayed set, the event stream, the id counter
    await flushPrefix(`${run}_q`);
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log(`Redis ${REDIS_URL}, ${JOBS.toLocaleString('en-US')} jobs due in a day`);
    printTable(
      ['what', 'bytes per job', 'added per second'],
      [
        ['raw: one hash of the payload (HSET, pipelined)', fmt(raw.bytes), fmt(raw.perSecond)],
        ['BullMQ delayed execute job (JobQueues.enqueue)', fmt(bull.bytes), fmt(bull.perSecond)],
        ['BullMQ / raw', (bull.bytes / raw.bytes).toFixed(2), (bull.perSecond / raw.perSecond).toFixed(2)],
      ],
    );
    console.log(`1,000,000 pending follow-ups: about ${fmt((bull.bytes * 1e6) / 2 ** 20)} MiB of Redis`);
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    await flushPrefix(run);
    redis.disconnect();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

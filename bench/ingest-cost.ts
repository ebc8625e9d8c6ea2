/**
 * What one batch call costs each process, for comparing changes to the write path (not a run for the targets).
 *
 *   npm run bench:ingest-cost
 *   BENCH_CONTACTS=3000 BENCH_BATCH=500 BENCH_BATCH_CLIENTS=1 BENCH_WARMUP_BATCHES=40 BENCH_BATCHES=60 BENCH_ROUNDS=3 npm run bench:ingest-cost
 *
 * bench:ingest's batch phase shares the host's two cores between four clients, the service and Postgres, and its
 * rates and CPU figures move by 10-20 % from one run to the next. Here one client (BENCH_BATCH_CLIENTS) pushes
 * POST /api/calls/batch in turn, with the same calls, the same service (API and workers) and the same scratch
 * database, and each round prints the CPU per call of the service, Postgres (every postgres process), Redis and this
 * load generator, read from /proc, and the WAL written per call (cluster-wide; the bytes include full-page images,
 * which depend on when checkpoints fall): what a change of the writes saves shows in the records whatever the host's
 * speed. Alternate two builds (see bench/ab-ingest.sh for a worktree) and compare rounds.
 * A round ends when the async consumers (the reports, the job outbox) have caught up with its events, so their
 * work counts in the round that caused it. BENCH_API_ONLY=1 runs the service without its worker role, to see what
 * the async consumers cost. BENCH_PUSH=single
 * pushes the same number of calls through POST /api/calls instead, one a request, from BENCH_CLIENTS [64] clients.
 */
import 'reflect-metadata';
import { JsonClient } from './http-client';
import { Pool } from 'pg';
import { caughtUp, cpuPerUnit, cpuSnapshot, envInt, walDiff, walSnapshot } from './lib';
import { pushedCall, withDiallerService } from './dialler';

const CONTACTS = envInt('BENCH_CONTACTS', 3000);
const BATCH = envInt('BENCH_BATCH', 500);
/** BENCH_PUSH=single: POST /api/calls, one call a request, from BENCH_CLIENTS [64] clients (as bench:ingest's single phase). */
const SINGLE = process.env.BENCH_PUSH === 'single';
const CLIENTS = SINGLE ? envInt('BENCH_CLIENTS', 64) : envInt('BENCH_BATCH_CLIENTS', 1);
const WARMUP = envInt('BENCH_WARMUP_BATCHES', 40);
const BATCHES = envInt('BENCH_BATCHES', 60);
const ROUNDS = envInt('BENCH_ROUNDS', 3);

async function main(): Promise<void> {
  await withDiallerService(CONTACTS, 20, async ({ databaseUrl, server, world }) => {
    const client = new JsonClient(server.url, world.diallerKey, CLIENTS);
    let n = 0;
    const push = async () => {
      const res = SINGLE
        ? await client.request('POST', '/api/calls', pushedCall(world, n++))
        : await client.request('POST', '/api/calls/batch', { calls: Array.from({ length: BATCH }, () => pushedCall(world, n++)) });
      if (res.status !== (SINGLE ? 201 : 200)) throw new Error(`push: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    };
    /** As many calls as `batches` batches hold, in batches or one a request. */
    const run = async (batches: number) => {
      let started = 0;
      const step = SINGLE ? 1 : BATCH;
      await Promise.all(Array.from({ length: CLIENTS }, async () => { while (started < batches * BATCH) { started += step; await push(); } }));
    };
    const pg = new Pool({ connectionString: databaseUrl, max: 1 });
    const wal = () => walSnapshot((sql) => pg.query(sql));
    await run(WARMUP);
    if (process.env.PROFILE_ON_SIGNAL) server.profile();
    console.log(`${CONTACTS} contacts, ${SINGLE ? 'one call a request' : `${BATCH} calls a batch`}, ${CLIENTS} client(s)${process.env.BENCH_API_ONLY ? ', async consumers OFF' : ''}; CPU µs per call:`);
    for (let r = 1; r <= ROUNDS; r++) {
      const walBefore = await wal();
      const before = cpuSnapshot([server.pid]);
      const t0 = process.hrtime.bigint();
      await run(BATCHES);
      // The round's events through the reports and the job outbox too, so their cost falls in the round that made it.
      if (!process.env.BENCH_API_ONLY) await caughtUp(pg);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = cpuPerUnit(before, cpuSnapshot([server.pid]), BATCHES * BATCH);
      const w = walDiff(walBefore, await wal());
      const us = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1)).padStart(6);
      console.log(`round ${r}: ${String(Math.round((BATCHES * BATCH) / seconds)).padStart(6)} calls/s  service ${us(c?.service)}  postgres ${us(c?.postgres)}  redis ${us(c?.redis)}  generator ${us(c?.generator)}  |  WAL per call ${(w.records / (BATCHES * BATCH)).toFixed(1)} records, ${Math.round(w.bytes / (BATCHES * BATCH))} bytes (${(w.fpi / (BATCHES * BATCH)).toFixed(2)} full pages)`);
    }
    client.close();
    await pg.end();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

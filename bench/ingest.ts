/**
 * Dialler ingest throughput over HTTP, beside the raw INSERT rate of the event-store benchmark, in one run.
 *
 *   npm run bench:ingest
 *   BENCH_SECONDS=10 BENCH_CONTACTS=5000 BENCH_CLIENTS=64 BENCH_BATCH_CLIENTS=4 BENCH_BATCH=500 npm run bench:ingest
 *
 * The service (API + workers + projections) runs as its own process against a scratch database; this
 * process is the load generator. Every pushed call is recorded with what it causes (lead status change,
 * follow-up for "Follow up"/"Rescheduled") and the inline read models (contacts, calls, follow-ups) are
 * current when the request returns; the job outbox runs too.
 *   raw single   one events-shaped row per autocommit INSERT into a bare table, BENCH_RAW_CONNECTIONS [32] connections
 *   ingest single  POST /api/calls, BENCH_CLIENTS concurrent clients
 *   raw batch    BENCH_BATCH rows per INSERT, BENCH_BATCH_CLIENTS connections
 *   ingest batch   POST /api/calls/batch with BENCH_BATCH calls, BENCH_BATCH_CLIENTS concurrent clients
 * After the warm-up: ANALYZE, what autovacuum's auto-analyze does on a production server once tables grow (it is
 * off on this machine; BENCH_ANALYZE=0 skips it).
 * BENCH_PG_STATEMENTS=1: what Postgres spent its time on during the single pushes (needs pg_stat_statements).
 * Each phase also prints the CPU per call (or raw row) of the service, Postgres and this load generator (/proc), and
 * the two CPU ratios: the rate ratios as the CPU costs them, steadier when the host's speed moves within a run.
 * BENCH_KEEP_DATABASE=1 keeps the scratch database afterwards; BENCH_NO_BUILD=1 runs the last build.
 * BENCH_API_ONLY=1 runs the service without its worker role (no async projections, no job outbox): the reports and
 * jobs are then not kept current, so such a run does not count for the targets; it shows what the consumers cost.
 * The async consumers (the two reports, the job outbox) may fall behind while the clients push: an ingest phase ends
 * when they have caught up with every event of the phase, and its rate and CPU are over that whole time (the "drain"
 * column is how long the catching up took after the last response).
 * Targets: single >= 0.3 of raw single; batch >= 10,000 calls/s and >= 0.3 of raw batch.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { JsonClient } from './http-client';
import {
  BENCH_ADMIN_URL,
  caughtUp,
  cpuPerUnit,
  cpuSnapshot,
  envInt,
  EventRow,
  fmtMs,
  fmtRate,
  fmtRatio,
  LoadResult,
  machineInfo,
  printPairs,
  printTable,
  RawInsertBaseline,
  runLoad,
  statementProfile,
} from './lib';
import { histogram } from './server';
import { pushedCall, withDiallerService } from './dialler';

const SECONDS = envInt('BENCH_SECONDS', 10);
const WARMUP = envInt('BENCH_WARMUP_SECONDS', 2);
const CONTACTS = envInt('BENCH_CONTACTS', 5000);
const AGENTS = envInt('BENCH_AGENTS', 20);
const CLIENTS = envInt('BENCH_CLIENTS', 64);
const BATCH_CLIENTS = envInt('BENCH_BATCH_CLIENTS', 4);
const BATCH = envInt('BENCH_BATCH', 500);
/** Postgres allows 100 connections by default; the service holds BENCH_SERVER_POOL of them during the run. */
const RAW_CONNECTIONS = envInt('BENCH_RAW_CONNECTIONS', 32);

const rawRow = (i: number, orgId: string): EventRow => ({
  streamId: `contact-${randomUUID()}`,
  streamVersion: 1,
  orgId,
  type: 'CallLogged',
  data: JSON.stringify(pushedCall({ contacts: [{ id: randomUUID(), agentId: randomUUID() }] }, i)),
  metadata: JSON.stringify({ orgId, actorId: randomUUID(), occurredAt: new Date().toISOString() }),
  idempotencyKey: `call:${randomUUID()}:Called:0`,
});

async function main(): Promise<void> {
  await withDiallerService(CONTACTS, AGENTS, async ({ databaseUrl, databaseName, orgId, server, world }) => {
    const client = new JsonClient(server.url, world.diallerKey, CLIENTS);
    const pg = new Pool({ connectionString: databaseUrl, max: 2 });
    // Connections are scarce (max_connections 100 by default): each baseline gets a pool of its own, closed after.
    const rawSingleBaseline = new RawInsertBaseline(databaseUrl, RAW_CONNECTIONS);
    await rawSingleBaseline.createTable();
    let n = 0;
    let failures = 0;
    const pushOne = async () => {
      const res = await client.request('POST', '/api/calls', pushedCall(world, n++));
      if (res.status !== 201) failures++;
      return 1;
    };
    const pushBatch = async () => {
      const calls = Array.from({ length: BATCH }, () => pushedCall(world, n++));
      const res = await client.request('POST', '/api/calls/batch', { calls });
      if (res.status !== 200) throw new Error(`batch: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      failures += res.body.results.filter((r: { status: string }) => r.status !== 'accepted').length;
      return BATCH;
    };

    const results: LoadResult[] = [];
    // CPU per call (or raw row) on each side, by phase: what a change saves shows here even when the host's speed moves.
    const costs: (ReturnType<typeof cpuPerUnit>)[] = [];
    const drains: (number | undefined)[] = [];
    const costed = async (phase: () => Promise<LoadResult>, drained = false) => {
      const before = cpuSnapshot([server.pid]);
      let r = await phase();
      if (drained) {
        const drain = await caughtUp(pg);
        drains[costs.length] = drain;
        r = { ...r, seconds: r.seconds + drain, eventsPerSecond: r.events / (r.seconds + drain), opsPerSecond: r.ops / (r.seconds + drain) };
      }
      costs.push(cpuPerUnit(before, cpuSnapshot([server.pid]), r.events));
      return r;
    };
    await runLoad('warm-up', { writers: CLIENTS, seconds: WARMUP }, pushOne);
    // The warm-up's reports and jobs done before the raw phase, not on its cores.
    if (!process.env.BENCH_API_ONLY) await caughtUp(pg);
    if (process.env.BENCH_ANALYZE !== '0') await pg.query('ANALYZE');
    results.push(await costed(() => runLoad('raw single INSERT', { writers: RAW_CONNECTIONS, seconds: SECONDS }, (_, i) => rawSingleBaseline.insertOne(rawRow(i, orgId)))));
    await rawSingleBaseline.close();
    if (process.env.PROFILE_ON_SIGNAL === 'single') server.profile();
    const groupsBefore = await histogram(server.url, 'ingest_group_commit_size');
    const singlePhase = await statementProfile(
      BENCH_ADMIN_URL,
      databaseName,
      () => costed(() => runLoad('POST /api/calls', { writers: CLIENTS, seconds: SECONDS }, pushOne), !process.env.BENCH_API_ONLY),
      !!process.env.BENCH_PG_STATEMENTS,
    );
    results.push(singlePhase.result);
    const groupsAfter = await histogram(server.url, 'ingest_group_commit_size');
    const raw = new RawInsertBaseline(databaseUrl, BATCH_CLIENTS);
    results.push(
      await costed(() =>
        runLoad(`raw INSERT x${BATCH}`, { writers: BATCH_CLIENTS, seconds: SECONDS }, (_, i) =>
          raw.insertMany(Array.from({ length: BATCH }, (_, k) => rawRow(i * BATCH + k, orgId))),
        ),
      ),
    );
    if (process.env.PROFILE_ON_SIGNAL === 'batch') server.profile();
    const batchPhase = await statementProfile(
      BENCH_ADMIN_URL,
      databaseName,
      () => costed(() => runLoad(`POST /api/calls/batch x${BATCH}`, { writers: BATCH_CLIENTS, seconds: SECONDS }, pushBatch), !process.env.BENCH_API_ONLY),
      !!process.env.BENCH_PG_STATEMENTS,
    );
    results.push(batchPhase.result);

    const counts = (await pg.query(`SELECT (SELECT count(*) FROM calls) AS calls, (SELECT count(*) FROM events) AS events`)).rows[0];
    printPairs('Machine', [...(await machineInfo((sql) => pg.query(sql))), ['contacts', CONTACTS], ['agents', AGENTS], ['ANALYZE after warm-up', process.env.BENCH_ANALYZE === '0' ? 'no' : 'yes'], ...(process.env.BENCH_API_ONLY ? [['async consumers', 'OFF (BENCH_API_ONLY): not a run for the targets'] as [string, string]] : [])]);
    const us = (n: number | undefined) => (n === undefined ? '-' : String(Math.round(n)));
    printTable(
      ['scenario', 'clients', 'rows or calls/s', 'drain s', 'p50 ms', 'p99 ms', 'CPU µs/unit: service', 'postgres', 'redis', 'generator'],
      results.map((r, k) => [
        r.label,
        String(r.writers),
        fmtRate(r.eventsPerSecond),
        drains[k] === undefined ? '-' : drains[k]!.toFixed(2),
        fmtMs(r.p50),
        fmtMs(r.p99),
        us(costs[k]?.service),
        us(costs[k]?.postgres),
        us(costs[k]?.redis),
        us(costs[k]?.generator),
      ]),
    );
    const [rawSingle, single, rawBatch, batch] = results;
    const ratioSingle = single.eventsPerSecond / rawSingle.eventsPerSecond;
    const ratioBatch = batch.eventsPerSecond / rawBatch.eventsPerSecond;
    // The machine's CPU for one raw row over that for one call (service, Postgres, Redis, load generator): the rate
    // ratio, as the CPU costs it. Steadier than the rates when the host's speed moves within a run.
    const machine = (c: (typeof costs)[number]) => (c ? c.service + c.postgres + c.redis + c.generator : NaN);
    const cpuRatio = (rawK: number, callK: number) => fmtRatio(machine(costs[rawK]) / machine(costs[callK]));
    printTable(
      ['measure', 'value', 'target', 'verdict'],
      [
        ['single / raw single', fmtRatio(ratioSingle), '>= 0.30', ratioSingle >= 0.3 ? 'PASS' : 'FAIL'],
        ['batch calls/s', fmtRate(batch.eventsPerSecond), '>= 10,000', batch.eventsPerSecond >= 10_000 ? 'PASS' : 'FAIL'],
        ['batch / raw batch', fmtRatio(ratioBatch), '>= 0.30', ratioBatch >= 0.3 ? 'PASS' : 'FAIL'],
        ['CPU: raw single row / single call', cpuRatio(0, 1), '', ''],
        ['CPU: raw batch row / batch call', cpuRatio(2, 3), '', ''],
      ],
    );
    printPairs('Totals', [
      ['calls stored', counts.calls],
      ['events stored', counts.events],
      ['pushes not accepted', failures],
      ['single pushes per group commit', ((groupsAfter.sum - groupsBefore.sum) / Math.max(1, groupsAfter.count - groupsBefore.count)).toFixed(1)],
    ]);
    for (const [phase, name] of [[singlePhase, 'POST /api/calls'], [batchPhase, 'POST /api/calls/batch']] as const) {
      if (phase.rows.length) printTable(['calls', 'total ms', 'mean ms', '% of time', 'planning ms', `Postgres during ${name}: statement`], phase.rows);
    }
    client.close();
    await raw.close();
    await pg.end();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

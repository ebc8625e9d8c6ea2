/**
 * The HTTP stack's own ceiling on this machine: requests per second that do (almost) nothing, beside the raw
 * single-row INSERT rate measured in the same run. It bounds what any endpoint can reach, and so what share of
 * raw Postgres a pushed call can: bench:ingest's single target is 0.3 of raw single INSERTs.
 *
 *   npm run bench:http
 *   BENCH_SECONDS=5 BENCH_CLIENTS=64 npm run bench:http
 *
 * The service (API + workers, idle) runs as its own process; this process is the load generator, 64 keep-alive
 * clients as in bench:ingest.
 *   GET /health/live         no key, no database: Fastify, Nest, the request log, metrics
 *   GET /api/settings        + the API key guard (cached key) and one small indexed SELECT
 *   POST /api/calls, 400     + JSON body parsing and validation, answered with the error naming the field
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { JsonClient } from './http-client';
import { envInt, fmtMs, fmtRate, fmtRatio, printTable, RawInsertBaseline, runLoad, withScratchDatabase } from './lib';
import { runJson, startServer } from './server';

const SECONDS = envInt('BENCH_SECONDS', 5);
const CLIENTS = envInt('BENCH_CLIENTS', 64);
const RAW_CONNECTIONS = envInt('BENCH_RAW_CONNECTIONS', 32);

async function main(): Promise<void> {
  await withScratchDatabase(async (scratch) => {
    const env = { DATABASE_URL: scratch.url, QUEUE_PREFIX: scratch.name };
    const org = await runJson('apps/cli/src/main.ts', ['org:create', '--name', 'Bench'], env);
    const server = await startServer(env);
    const client = new JsonClient(server.url, org.adminKey, CLIENTS);
    try {
      const raw = new RawInsertBaseline(scratch.url, RAW_CONNECTIONS);
      await raw.createTable();
      const baseline = await runLoad('raw single INSERT', { writers: RAW_CONNECTIONS, seconds: SECONDS }, () =>
        raw.insertOne({ streamId: randomUUID(), streamVersion: 1, orgId: org.orgId, type: 'X', data: '{}', metadata: '{}', idempotencyKey: null }),
      );
      await raw.close();
      const rows = [[baseline.label, String(RAW_CONNECTIONS), fmtRate(baseline.eventsPerSecond), fmtMs(baseline.p50), fmtMs(baseline.p99), '1.00']];
      const probes: [string, () => Promise<unknown>][] = [
        ['GET /health/live', () => client.getRaw('/health/live')],
        ['GET /api/settings', () => client.getRaw('/api/settings')],
        ['POST /api/calls, 400', () => client.request('POST', '/api/calls', { callId: 'x', status: 'Nope' })],
      ];
      for (const [label, op] of probes) {
        await runLoad('warm-up', { writers: CLIENTS, seconds: 1 }, async () => (await op(), 1));
        const r = await runLoad(label, { writers: CLIENTS, seconds: SECONDS }, async () => (await op(), 1));
        rows.push([label, String(CLIENTS), fmtRate(r.eventsPerSecond), fmtMs(r.p50), fmtMs(r.p99), fmtRatio(r.eventsPerSecond / baseline.eventsPerSecond)]);
      }
      printTable(['request', 'clients', 'per s', 'p50 ms', 'p99 ms', 'of raw single INSERT'], rows);
    } finally {
      client.close();
      await server.stop();
    }
  });
}

void main();

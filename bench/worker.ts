/**
 * Follow-up execution throughput: BENCH_FOLLOW_UPS webhook follow-ups all due at the same instant, executed by
 * the service's workers against a local HTTP sink, beside the raw INSERT rate measured in the same run.
 *
 *   npm run bench:worker
 *   BENCH_FOLLOW_UPS=10000 BENCH_CONTACTS=2000 WORKER_CONCURRENCY=100 npm run bench:worker
 *
 * Each execution re-reads the follow-up from its contact's stream, checks the calling window, counts the
 * attempt (an event), POSTs a signed webhook, and records the result (an event); the read models and the job
 * outbox are kept current. Lateness = when the sink received the webhook minus the follow-up's due time.
 * Targets: >= 1,000 executions/s and p99 lateness under 1 s at that rate.
 */
import 'reflect-metadata';
import http from 'node:http';
import { JsonClient } from './http-client';
import { envInt, fmtMs, fmtRate, machineInfo, percentile, printPairs, printTable, RawInsertBaseline, runLoad, withScratchDatabase } from './lib';
import { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { runJson, startServer } from './server';

const FOLLOW_UPS = envInt('BENCH_FOLLOW_UPS', 10_000);
const CONTACTS = envInt('BENCH_CONTACTS', 2_000);
const LEAD_SECONDS = envInt('BENCH_LEAD_SECONDS', 20);

async function main(): Promise<void> {
  const received = new Map<string, number>();
  const sink = http.createServer((req, res) => {
    const id = String(req.headers['webhook-id'] ?? '');
    req.resume();
    req.on('end', () => {
      if (!received.has(id)) received.set(id, Date.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/hook`;

  await withScratchDatabase(async (scratch) => {
    const env = {
      DATABASE_URL: scratch.url,
      QUEUE_PREFIX: scratch.name,
      PG_POOL_SIZE: String(envInt('BENCH_SERVER_POOL', 24)),
      WORKER_CONCURRENCY: String(envInt('WORKER_CONCURRENCY', 100)),
    };
    const org = await runJson('apps/cli/src/main.ts', ['org:create', '--name', 'Bench'], env);
    const server = await startServer(env);
    const admin = new JsonClient(server.url, org.adminKey, 32);
    const pg = new Pool({ connectionString: scratch.url, max: 2 });
    try {
      const s = await admin.request('PATCH', '/api/settings', { webhooks: { allowHttpHosts: ['127.0.0.1'] }, retryDelaySeconds: 60 });
      if (s.status !== 200) throw new Error(`settings: ${s.status} ${JSON.stringify(s.body)}`);
      const contacts: string[] = [];
      for (let c = 0; c < CONTACTS; c += 32) {
        const made = await Promise.all(
          Array.from({ length: Math.min(32, CONTACTS - c) }, (_, k) => admin.request('POST', '/api/contacts', { name: `Lead ${c + k}`, phone: '+14155550123' })),
        );
        contacts.push(...made.map((m) => m.body.id));
      }
      // Everything falls due at one instant, after the set-up has finished.
      const dueAt = Date.now() + LEAD_SECONDS * 1000;
      const due = new Date(dueAt).toISOString();
      const made = Date.now();
      for (let i = 0; i < FOLLOW_UPS; i += 64) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(64, FOLLOW_UPS - i) }, (_, k) =>
            admin.request('POST', `/api/contacts/${contacts[(i + k) % contacts.length]}/follow-ups`, { type: 'webhook', url: sinkUrl, scheduledAt: due }),
          ),
        );
        for (const b of batch) if (b.status !== 201) throw new Error(`follow-up: ${b.status} ${JSON.stringify(b.body)}`);
      }
      const setupSeconds = (Date.now() - made) / 1000;
      if (Date.now() > dueAt) throw new Error(`set-up took ${setupSeconds}s, longer than BENCH_LEAD_SECONDS; raise it`);

      if (process.env.PROFILE_ON_SIGNAL) setTimeout(() => server.profile(), dueAt - Date.now());
      const deadline = dueAt + 300_000;
      while (received.size < FOLLOW_UPS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const lateness = Float64Array.from([...received.values()].map((t) => t - dueAt)).sort();
      const last = lateness[lateness.length - 1];
      const rate = received.size / (last / 1000);
      const completed = (await pg.query(`SELECT count(*)::int AS n FROM follow_ups WHERE status = 'completed'`)).rows[0].n;
      await new Promise((r) => setTimeout(r, 1000));
      const completedLater = (await pg.query(`SELECT count(*)::int AS n FROM follow_ups WHERE status = 'completed'`)).rows[0].n;

      // The raw rate of this machine in this run, for the ratio.
      const raw = new RawInsertBaseline(scratch.url, 16);
      await raw.createTable();
      const orgId = randomUUID();
      const rawSingle = await runLoad('raw single INSERT', { writers: 16, seconds: 5 }, () =>
        raw.insertOne({ streamId: randomUUID(), streamVersion: 1, orgId, type: 'X', data: '{}', metadata: '{}', idempotencyKey: null }),
      );
      await raw.close();

      printPairs('Machine', [...(await machineInfo((sql) => pg.query(sql))), ['worker concurrency', env.WORKER_CONCURRENCY]]);
      printPairs('Worker', [
        ['follow-ups due at once', FOLLOW_UPS],
        ['contacts', CONTACTS],
        ['webhooks received', received.size],
        ['completed (then 1 s later)', `${completed} (${completedLater})`],
        ['all delivered within (s)', (last / 1000).toFixed(2)],
      ]);
      printTable(
        ['measure', 'value', 'target', 'verdict'],
        [
          ['executions/s', fmtRate(rate), '>= 1,000', rate >= 1000 ? 'PASS' : 'FAIL'],
          ['lateness p50 (ms)', fmtMs(percentile(lateness, 0.5)), '', ''],
          ['lateness p99 (ms)', fmtMs(percentile(lateness, 0.99)), '< 1,000', percentile(lateness, 0.99) < 1000 ? 'PASS' : 'FAIL'],
          ['raw single INSERT/s (16 conns)', fmtRate(rawSingle.eventsPerSecond), '', ''],
          ['executions / raw INSERTs', (rate / rawSingle.eventsPerSecond).toFixed(2), '', ''],
        ],
      );
    } finally {
      admin.close();
      await pg.end();
      await server.stop();
      sink.close();
    }
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

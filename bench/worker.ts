/**
 * Follow-up execution: webhook follow-ups executed by the service's workers against a local HTTP sink, beside
 * the raw INSERT rate measured in the same run. Two phases, each on follow-ups made over the API beforehand:
 *   burst   BENCH_FOLLOW_UPS [10,000] due at one instant: executions per second (all of them over the time the
 *           last one took) and how late each ran;
 *   steady  BENCH_STEADY_RATE [1,000] due per second for BENCH_STEADY_SECONDS [5]: lateness at that rate, which
 *           stays small only if the workers keep up with it.
 *
 *   npm run bench:worker
 *   BENCH_FOLLOW_UPS=10000 BENCH_CONTACTS=3000 BENCH_STEADY_RATE=400 WORKER_CONCURRENCY=400 npm run bench:worker
 *   BENCH_PG_SAMPLE=1 npm run bench:worker     # also: what Postgres was doing in the first 5 s of the burst
 *   BENCH_WORKER_PROCESSES=1 npm run bench:worker  # one more process running the worker role alone
 *
 * Each execution re-reads the follow-up from its contact's stream, counts the attempt (an event), POSTs a
 * signed webhook, and records the result (an event); the read models and the job outbox are kept current.
 * Lateness = when the sink received the webhook minus the follow-up's due time.
 * After the set-up, before anything falls due: ANALYZE, what autovacuum's auto-analyze does on a production server
 * once tables grow (it is off on this machine; BENCH_ANALYZE=0 skips it and shows plans made without statistics).
 * Targets: >= 1,000 executions/s and p99 lateness under 1 s at that rate.
 */
import 'reflect-metadata';
import http from 'node:http';
import { JsonClient } from './http-client';
import { BENCH_ADMIN_URL, envInt, fmtMs, fmtRate, machineInfo, percentile, printPairs, printTable, RawInsertBaseline, runLoad, samplePgActivity, withScratchDatabase } from './lib';
import { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { histogram, runJson, startServer } from './server';

const FOLLOW_UPS = envInt('BENCH_FOLLOW_UPS', 10_000);
const CONTACTS = envInt('BENCH_CONTACTS', 2_000);
/** Seconds from starting to make a phase's follow-ups to its first due time; default: enough for ~80 made a second, ANALYZE and the raw rate. */
const leadSeconds = (count: number) => envInt('BENCH_LEAD_SECONDS', Math.ceil(count / 80) + 20);
const STEADY_RATE = envInt('BENCH_STEADY_RATE', 1000);
const STEADY_SECONDS = envInt('BENCH_STEADY_SECONDS', 5);
/** Worker processes besides the service's own (which runs API, workers and projections). */
const WORKER_PROCESSES = Number(process.env.BENCH_WORKER_PROCESSES ?? 0);

/** Follow-up id → when the sink first received its webhook (the message id starts with the follow-up id). */
const received = new Map<string, number>();

/**
 * Makes one webhook follow-up per due time (spread over the contacts, 64 requests at a time), to fall due
 * BENCH_LEAD_SECONDS from now plus its offset; resolves with each one's due instant once the last is made.
 */
async function makeFollowUps(
  admin: JsonClient,
  contacts: string[],
  sinkUrl: string,
  offsetsMs: number[],
  /** Run after the last is made and before the first falls due (it must fit in the lead). */
  beforeDue: () => Promise<void> = async () => undefined,
): Promise<Map<string, number>> {
  const start = Date.now() + leadSeconds(offsetsMs.length) * 1000;
  const due = new Map<string, number>();
  for (let i = 0; i < offsetsMs.length; i += 64) {
    const batch = await Promise.all(
      offsetsMs.slice(i, i + 64).map(async (offset, k) => {
        const at = start + offset;
        const res = await admin.request('POST', `/api/contacts/${contacts[(i + k) % contacts.length]}/follow-ups`, {
          type: 'webhook',
          url: sinkUrl,
          scheduledAt: new Date(at).toISOString(),
        });
        return { res, at };
      }),
    );
    for (const { res, at } of batch) {
      if (res.status !== 201) throw new Error(`follow-up: ${res.status} ${JSON.stringify(res.body)}`);
      due.set(res.body.id, at);
    }
  }
  await beforeDue();
  if (Date.now() > start) throw new Error(`set-up took longer than the lead (${leadSeconds(offsetsMs.length)} s); raise BENCH_LEAD_SECONDS`);
  return due;
}

/** Waits until every follow-up's webhook arrived (or 5 minutes); each one's lateness in ms, sorted. */
async function lateness(due: Map<string, number>): Promise<Float64Array> {
  const deadline = Math.max(...due.values()) + 300_000;
  const arrived = () => [...due.keys()].filter((id) => received.has(id)).length;
  while (arrived() < due.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return Float64Array.from([...due].filter(([id]) => received.has(id)).map(([id, at]) => received.get(id)! - at)).sort();
}

/** Raw single INSERTs a second on this machine now (16 connections, 5 s): the host's state, for the ratio. */
async function rawRate(url: string): Promise<number> {
  const raw = new RawInsertBaseline(url, 16);
  await raw.createTable();
  const orgId = randomUUID();
  const r = await runLoad('raw single INSERT', { writers: 16, seconds: 5 }, () =>
    raw.insertOne({ streamId: randomUUID(), streamVersion: 1, orgId, type: 'X', data: '{}', metadata: '{}', idempotencyKey: null }),
  );
  await raw.close();
  return r.eventsPerSecond;
}

async function main(): Promise<void> {
  const sink = http.createServer((req, res) => {
    const id = String(req.headers['webhook-id'] ?? '').split('.')[0];
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
      WORKER_CONCURRENCY: String(envInt('WORKER_CONCURRENCY', 400)),
    };
    const org = await runJson('apps/cli/src/main.ts', ['org:create', '--name', 'Bench'], env);
    const server = await startServer(env);
    // More worker processes (the worker role alone), as operations.md describes scaling out.
    const workers = await Promise.all(Array.from({ length: WORKER_PROCESSES }, () => startServer(env, [], 'apps/worker/src/main.ts')));
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
      // Burst: everything falls due at one instant, after the set-up has finished.
      // The raw rate just before the burst as well as after the run: this shared host's speed drifts by 2-3x within
      // minutes, and the two together show what it was while the burst ran.
      let rawBefore = 0;
      const burstDue = await makeFollowUps(admin, contacts, sinkUrl, new Array(FOLLOW_UPS).fill(0), async () => {
        if (process.env.BENCH_ANALYZE !== '0') await pg.query('ANALYZE');
        rawBefore = await rawRate(scratch.url);
      });
      const dueAt = Math.min(...burstDue.values());
      if (process.env.PROFILE_ON_SIGNAL) setTimeout(() => server.profile(), dueAt - Date.now());
      const pgProfile = process.env.BENCH_PG_SAMPLE
        ? new Promise((r) => setTimeout(r, dueAt - Date.now())).then(() => samplePgActivity(BENCH_ADMIN_URL, scratch.name, 5000))
        : null;
      const burst = await lateness(burstDue);
      const last = burst[burst.length - 1];
      const rate = burst.length / (last / 1000);
      const mean = async (stage: string) => {
        const h = await histogram(server.url, 'follow_up_execution_group_size', `stage="${stage}"`);
        return (h.sum / Math.max(1, h.count)).toFixed(1);
      };
      const groups = `attempts started ${await mean('start')}, results recorded ${await mean('result')}`;
      const completed = (await pg.query(`SELECT count(*)::int AS n FROM follow_ups WHERE status = 'completed'`)).rows[0].n;
      await new Promise((r) => setTimeout(r, 1000));
      const completedLater = (await pg.query(`SELECT count(*)::int AS n FROM follow_ups WHERE status = 'completed'`)).rows[0].n;

      // Steady: STEADY_RATE fall due every second, evenly spaced.
      const steadyDue = await makeFollowUps(
        admin,
        contacts,
        sinkUrl,
        Array.from({ length: STEADY_RATE * STEADY_SECONDS }, (_, i) => (i * 1000) / STEADY_RATE),
      );
      const steady = await lateness(steadyDue);

      if (pgProfile) printTable(['backends', 'Postgres during the first 5 s of the burst: wait / statement'], (await pgProfile).slice(0, 15).map(([k, n]) => [n.toFixed(2), k]));
      if (process.env.BENCH_TABLE_STATS) {
        const { rows } = await pg.query(
          `SELECT relname, seq_scan, seq_tup_read, idx_scan, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables ORDER BY seq_tup_read DESC, idx_scan DESC LIMIT 12`,
        );
        console.table(rows);
      }
      const rawAfter = await rawRate(scratch.url);
      const rawSingle = { eventsPerSecond: (rawBefore + rawAfter) / 2 };

      printPairs('Machine', [...(await machineInfo((sql) => pg.query(sql))), ['worker concurrency', env.WORKER_CONCURRENCY], ['processes', `the service + ${WORKER_PROCESSES} worker process(es)`], ['ANALYZE after set-up', process.env.BENCH_ANALYZE === '0' ? 'no' : 'yes']]);
      printPairs('Worker', [
        ['contacts', CONTACTS],
        ['burst: follow-ups due at once', FOLLOW_UPS],
        ['burst: webhooks received', burst.length],
        ['burst: completed (then 1 s later)', `${completed} (${completedLater})`],
        ['burst: all delivered within (s)', (last / 1000).toFixed(2)],
        ['burst: mean follow-ups per append (the service process)', groups],
        ['steady: follow-ups due', `${steadyDue.size} (${STEADY_RATE}/s for ${STEADY_SECONDS} s)`],
        ['steady: webhooks received', steady.length],
      ]);
      const steadyP99 = percentile(steady, 0.99);
      printTable(
        ['measure', 'value', 'target', 'verdict'],
        [
          ['burst: executions/s', fmtRate(rate), '>= 1,000', rate >= 1000 ? 'PASS' : 'FAIL'],
          ['burst: lateness p50 / p99 (ms)', `${fmtMs(percentile(burst, 0.5))} / ${fmtMs(percentile(burst, 0.99))}`, '', ''],
          [`steady ${STEADY_RATE}/s: lateness p50 (ms)`, fmtMs(percentile(steady, 0.5)), '', ''],
          [
            `steady ${STEADY_RATE}/s: lateness p99 (ms)`,
            fmtMs(steadyP99),
            STEADY_RATE >= 1000 ? '< 1,000' : '(< 1,000 at 1,000/s)',
            STEADY_RATE >= 1000 ? (steadyP99 < 1000 && steady.length === steadyDue.size ? 'PASS' : 'FAIL') : '',
          ],
          ['raw single INSERT/s (16 conns): before / after', `${fmtRate(rawBefore)} / ${fmtRate(rawAfter)}`, '', ''],
          ['burst executions / raw INSERTs (mean)', (rate / rawSingle.eventsPerSecond).toFixed(2), '', ''],
        ],
      );
    } finally {
      admin.close();
      await pg.end();
      await Promise.all(workers.map((w) => w.stop()));
      await server.stop();
      sink.close();
    }
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

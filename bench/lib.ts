/**
 * Helpers shared by the benchmark scripts in bench/: a scratch database per run, closed-loop load with
 * N concurrent writers, percentiles, the raw-INSERT baseline and plain-text tables.
 * Benchmarks print figures; they do not assert beyond a printed PASS/FAIL.
 */
import Redis from 'ioredis';
import { Client, Pool } from 'pg';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { runMigrations, Sql } from '@app/shared';

// ---------------------------------------------------------------- parameters

/** A positive integer from the environment, or the default. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

// ---------------------------------------------------------------- scratch database

export const BENCH_ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
}

async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: BENCH_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates `fu_bench_<random>`, runs every migration, hands it to fn and drops it afterwards, also when
 * fn throws or the process is interrupted (Ctrl-C / SIGTERM). The run's Redis keys (benchmarks use the
 * database's name as QUEUE_PREFIX) go with it: jobs still delayed at the end would otherwise stay behind.
 */
export async function withScratchDatabase<T>(fn: (db: ScratchDatabase) => Promise<T>): Promise<T> {
  const name = `fu_bench_${randomBytes(4).toString('hex')}`;
  const url = new URL(BENCH_ADMIN_URL);
  url.pathname = `/${name}`;
  const db: ScratchDatabase = { name, url: url.toString() };
  const drop = async () => {
    // BENCH_KEEP_DATABASE=1 leaves the scratch database behind, to look at its plans and tables after the run.
    if (process.env.BENCH_KEEP_DATABASE) return void process.stderr.write(`kept database ${name}\n`);
    await withAdmin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
    await forgetRedisPrefix(name);
  };

  let dropping: Promise<void> | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: dropping ${name}\n`);
    dropping ??= drop();
    dropping.finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  try {
    await runMigrations(db.url);
    return await fn(db);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    dropping ??= drop();
    await dropping;
  }
}

/** Deletes every Redis key under `<prefix>:` (SCAN, never KEYS: the server may be shared). */
async function forgetRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch (err) {
    process.stderr.write(`could not remove the Redis keys under ${prefix}: ${(err as Error).message}\n`);
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------- timing

/** Nanoseconds on a monotonic clock. */
export const now = (): bigint => process.hrtime.bigint();
export const secondsSince = (start: bigint): number => Number(now() - start) / 1e9;

/** The value below which p (0..1) of the sorted sample lies (nearest rank). */
export function percentile(sorted: Float64Array | readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank];
}

export interface LoadResult {
  readonly label: string;
  readonly writers: number;
  /** Calls completed (one call may carry many events). */
  readonly ops: number;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly opsPerSecond: number;
  /** Latency of one call in milliseconds. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Closed-loop load: `writers` concurrent loops, each calling op back to back until `seconds` have passed.
 * op(writer, i) returns how many events that call stored. The rate counts until the last call returns,
 * so a slow tail is not hidden.
 */
export async function runLoad(
  label: string,
  options: { writers: number; seconds: number },
  op: (writer: number, i: number) => Promise<number>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let events = 0;
  const start = now();
  const deadline = start + BigInt(Math.round(options.seconds * 1e9));
  const loop = async (writer: number) => {
    for (let i = 0; now() < deadline; i++) {
      const t0 = now();
      const stored = await op(writer, i); // not `events += await`: that reads events before the await
      events += stored;
      latencies.push(Number(now() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: options.writers }, (_, w) => loop(w)));
  const seconds = secondsSince(start);
  const sorted = Float64Array.from(latencies).sort();
  return {
    label,
    writers: options.writers,
    ops: latencies.length,
    events,
    seconds,
    eventsPerSecond: events / seconds,
    opsPerSecond: latencies.length / seconds,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** Merges the rounds of one scenario: totals summed, so the rate is events over all measured time. */
export function combine(results: readonly LoadResult[]): LoadResult & { readonly perRound: readonly number[] } {
  const events = results.reduce((s, r) => s + r.events, 0);
  const ops = results.reduce((s, r) => s + r.ops, 0);
  const seconds = results.reduce((s, r) => s + r.seconds, 0);
  const worst = (k: 'p50' | 'p95' | 'p99' | 'max') => Math.max(...results.map((r) => r[k]));
  return {
    label: results[0].label,
    writers: results[0].writers,
    ops,
    events,
    seconds,
    eventsPerSecond: events / seconds,
    opsPerSecond: ops / seconds,
    // Percentiles do not add up across rounds: report the worst round's.
    p50: worst('p50'),
    p95: worst('p95'),
    p99: worst('p99'),
    max: worst('max'),
    perRound: results.map((r) => r.eventsPerSecond),
  };
}

// ---------------------------------------------------------------- raw-INSERT baseline

/** The columns an append writes (everything but the defaults), in the order the baseline inserts them. */
export interface EventRow {
  readonly streamId: string;
  readonly streamVersion: number;
  readonly orgId: string;
  readonly type: string;
  /** JSON text. */
  readonly data: string;
  /** JSON text. */
  readonly metadata: string;
  readonly idempotencyKey: string | null;
}

export const RAW_TABLE = 'bench_raw_events';

/**
 * The baseline: a bare table with the row shape of `events` (same columns, types and defaults) and only
 * its primary key: no (stream, version) unique constraint, no idempotency index, no commit-order indexes,
 * no streams table, no lock. What "a raw INSERT" costs on this machine in this run.
 */
export const RAW_TABLE_DDL = `
  CREATE TABLE ${RAW_TABLE} (
    global_position bigserial PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text NOT NULL,
    stream_version bigint NOT NULL,
    org_id uuid NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    idempotency_key text,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
  )`;

const RAW_ONE = {
  name: 'bench_raw_one',
  text: `INSERT INTO ${RAW_TABLE} (stream_id, stream_version, org_id, type, data, metadata, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
};
// Same unnest shape fu_append uses to insert a batch, so the baseline batch is one statement too.
const RAW_MANY = {
  name: 'bench_raw_many',
  text: `INSERT INTO ${RAW_TABLE} (stream_id, stream_version, org_id, type, data, metadata, idempotency_key)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[])`,
};

/** Raw autocommit INSERTs into the bare table over a pool of its own (prepared statements, like the store). */
export class RawInsertBaseline {
  readonly pool: Pool;

  constructor(url: string, connections: number) {
    this.pool = new Pool({ connectionString: url, max: connections, application_name: 'fu-bench-raw' });
    this.pool.on('error', () => undefined);
  }

  async createTable(): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS ${RAW_TABLE}; ${RAW_TABLE_DDL}`);
  }

  /** One row, one statement, one commit. */
  async insertOne(r: EventRow): Promise<number> {
    await this.pool.query({ ...RAW_ONE, values: [r.streamId, r.streamVersion, r.orgId, r.type, r.data, r.metadata, r.idempotencyKey] });
    return 1;
  }

  /** Many rows, one statement, one commit. */
  async insertMany(rows: readonly EventRow[]): Promise<number> {
    await this.pool.query({
      ...RAW_MANY,
      values: [
        rows.map((r) => r.streamId),
        rows.map((r) => r.streamVersion),
        rows.map((r) => r.orgId),
        rows.map((r) => r.type),
        rows.map((r) => r.data),
        rows.map((r) => r.metadata),
        rows.map((r) => r.idempotencyKey),
      ],
    });
    return rows.length;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

// ---------------------------------------------------------------- server-side counters

/** Cluster-wide WAL and checkpoint counters (PostgreSQL 14+): diff two snapshots to cost a scenario. */
export interface WalSnapshot {
  readonly records: number;
  readonly fpi: number;
  readonly bytes: number;
  readonly checkpoints: number;
}

export async function walSnapshot(query: (sql: string) => Promise<{ rows: any[] }>): Promise<WalSnapshot> {
  const { rows } = await query(`SELECT w.wal_records::float8 AS records, w.wal_fpi::float8 AS fpi, w.wal_bytes::float8 AS bytes,
      (b.checkpoints_timed + b.checkpoints_req)::float8 AS checkpoints FROM pg_stat_wal w, pg_stat_bgwriter b`);
  return rows[0];
}

export const walDiff = (a: WalSnapshot, b: WalSnapshot): WalSnapshot => ({
  records: b.records - a.records,
  fpi: b.fpi - a.fpi,
  bytes: b.bytes - a.bytes,
  checkpoints: b.checkpoints - a.checkpoints,
});

// ---------------------------------------------------------------- CPU spent, by process

/** CPU seconds used so far (user + system, from /proc): the service process, every postgres process, Redis, this process. */
export interface CpuSnapshot {
  readonly service: number;
  readonly postgres: number;
  readonly redis: number;
  readonly generator: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux that Node supports

function procCpuSeconds(pid: string): { comm: string; seconds: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    // After "pid (comm) ": state is field 0, utime 11, stime 12, and the exited children's cutime 13, cstime 14: a
    // backend that exits during a phase (the pool closes idle connections) is counted by the postmaster then.
    const ticks = fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0);
    return { comm: stat.slice(stat.indexOf('(') + 1, close), seconds: ticks / TICKS_PER_SECOND };
  } catch {
    return null; // gone meanwhile
  }
}

/**
 * Where the machine's CPU went, so a phase can be costed per call on each side (less moved by how fast this shared
 * host happens to be than a rate). Postgres is every `postgres` process of the machine (backends, WAL writer,
 * checkpointer), and Redis every `redis-server` process (the jobs a call schedules go there): run nothing else against
 * them meanwhile. Null where there is no /proc.
 */
export function cpuSnapshot(servicePids: readonly number[]): CpuSnapshot | null {
  if (!existsSync('/proc/self/stat')) return null;
  let postgres = 0;
  let redis = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const p = procCpuSeconds(pid);
    if (p?.comm === 'postgres') postgres += p.seconds;
    else if (p?.comm === 'redis-server') redis += p.seconds;
  }
  const service = servicePids.reduce((sum, pid) => sum + (procCpuSeconds(String(pid))?.seconds ?? 0), 0);
  const own = process.cpuUsage();
  return { service, postgres, redis, generator: (own.user + own.system) / 1e6 };
}

/** CPU microseconds per unit (call, row) on each side between two snapshots. */
export function cpuPerUnit(a: CpuSnapshot | null, b: CpuSnapshot | null, units: number): CpuSnapshot | null {
  if (!a || !b || units <= 0) return null;
  const per = (k: keyof CpuSnapshot) => ((b[k] - a[k]) * 1e6) / units;
  return { service: per('service'), postgres: per('postgres'), redis: per('redis'), generator: per('generator') };
}

// ---------------------------------------------------------------- printing

/** Cores, memory, Node and PostgreSQL versions and the server settings that move commit-bound figures. */
export async function machineInfo(query: (sql: string) => Promise<{ rows: any[] }>): Promise<[string, string][]> {
  const { rows } = await query(`SELECT version() AS version,
      current_setting('shared_buffers') AS shared_buffers, current_setting('synchronous_commit') AS synchronous_commit,
      current_setting('fsync') AS fsync, current_setting('wal_level') AS wal_level, current_setting('max_wal_size') AS max_wal_size,
      current_setting('autovacuum') AS autovacuum`);
  const s = rows[0];
  return [
    ['cpu', `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}`],
    ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['node', process.version],
    ['postgres', String(s.version).split(' on ')[0]],
    ['pg settings', `shared_buffers=${s.shared_buffers} synchronous_commit=${s.synchronous_commit} fsync=${s.fsync} wal_level=${s.wal_level} max_wal_size=${s.max_wal_size}`],
    // Without autovacuum nothing re-analyzes a table that started empty, so cached generic plans made then stay.
    ['autovacuum', s.autovacuum === 'on' ? 'on' : `${s.autovacuum} (no auto-analyze: plans cached while a table was empty are never revisited)`],
    ['load average', os.loadavg().map((l) => l.toFixed(2)).join(' ')],
  ];
}

export function printPairs(title: string, pairs: readonly [string, string | number][]): void {
  console.log(`\n${title}`);
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) console.log(`  ${k.padEnd(width)}  ${v}`);
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

export const fmtRate = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtMs = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
export const fmtRatio = (n: number): string => n.toFixed(2);

// ---------------------------------------------------------------- statements a repository sends

export interface CapturedStatement {
  readonly name?: string;
  readonly text: string;
  readonly values: unknown[];
}

/**
 * Runs fn with every query of `db` recorded (and still executed), then restores `db`: the statements a
 * repository really sends, to time them bare over pg or EXPLAIN them.
 */
export async function captureStatements(db: Sql, fn: () => Promise<unknown>): Promise<CapturedStatement[]> {
  const captured: CapturedStatement[] = [];
  const query = db.query.bind(db);
  const recording: Sql['query'] = (text, values) => {
    captured.push(typeof text === 'string' ? { text, values: values ?? [] } : { name: text.name, text: text.text, values: values ?? text.values ?? [] });
    return query(text, values);
  };
  (db as { query: Sql['query'] }).query = recording;
  try {
    await fn();
  } finally {
    (db as { query: Sql['query'] }).query = query;
  }
  return captured;
}

// ---------------------------------------------------------------- where Postgres spends its time

/**
 * A sampling profile of the server: every 10 ms for `ms`, which statements of `database` are active and what
 * they wait on (CPU, WAL write, a lock, ...). Prints the average number of backends in each state, busiest
 * first: 0.5 means half of one backend's time.
 */
export async function samplePgActivity(adminUrl: string, database: string, ms: number): Promise<[string, number][]> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  const counts = new Map<string, number>();
  let samples = 0;
  try {
    for (const end = Date.now() + ms; Date.now() < end; samples++) {
      const { rows } = await client.query<{ q: string; w: string | null; e: string | null }>(
        `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS q, wait_event_type AS w, wait_event AS e
           FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND datname = $1`,
        [database],
      );
      for (const r of rows) {
        const key = `${r.w ? `${r.w}/${r.e}` : 'CPU'}  ${r.q}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await client.end();
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n / Math.max(1, samples)]);
}

/**
 * What Postgres spent its time on during `fn`, by statement, from pg_stat_statements (BENCH_PG_STATEMENTS=1).
 * Needs the extension preloaded (`shared_preload_libraries = 'pg_stat_statements'`, then a restart, then
 * `CREATE EXTENSION pg_stat_statements` in the admin database); without it this says so and measures nothing.
 * The counters are server-wide: run nothing else against the server meanwhile.
 */
export async function statementProfile<T>(adminUrl: string, database: string, fn: () => Promise<T>, enabled = true): Promise<{ result: T; rows: string[][] }> {
  if (!enabled) return { result: await fn(), rows: [] };
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    try {
      await client.query('SELECT pg_stat_statements_reset()');
    } catch (err) {
      return { result: await fn(), rows: [['-', '-', '-', '-', '-', `pg_stat_statements unavailable: ${(err as Error).message}`]] };
    }
    const result = await fn();
    const { rows } = await client.query<{ calls: string; total: number; mean: number; plan: number; share: number; q: string }>(
      `SELECT s.calls, s.total_exec_time AS total, s.mean_exec_time AS mean, s.total_plan_time AS plan,
              s.total_exec_time / sum(s.total_exec_time) OVER () AS share, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 90) AS q
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = $1 ORDER BY s.total_exec_time DESC LIMIT 15`,
      [database],
    );
    return { result, rows: rows.map((r) => [String(r.calls), r.total.toFixed(0), r.mean.toFixed(3), (100 * r.share).toFixed(1), r.plan.toFixed(0), r.q]) };
  } finally {
    await client.end();
  }
}

/**
 * Seconds until every checkpointed consumer (the reports, the job outbox) has passed every event stored so far: what
 * the async read models still had to do when the clients stopped.
 */
export async function caughtUp(pg: Pool, timeoutMs = 300_000): Promise<number> {
  const start = process.hrtime.bigint();
  const last = (await pg.query<{ t: string | null }>('SELECT max(transaction_id)::text AS t FROM events')).rows[0].t;
  for (;;) {
    // One probe of events_pkey per checkpoint (a join on the row comparison was a scan of the whole table a poll).
    const { rows } = await pg.query<{ behind: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM consumer_checkpoints c CROSS JOIN LATERAL (
                        SELECT 1 FROM events e
                         WHERE e.transaction_id <= $1::xid8 AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                         ORDER BY e.transaction_id, e.global_position LIMIT 1) x) AS behind`,
      [last],
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (!rows[0].behind) return seconds;
    if (seconds * 1000 > timeoutMs) throw new Error(`the consumers did not catch up within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

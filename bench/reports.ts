/**
 * The call report (issue 6 point 7) at scale: GET /api/reports/calls latency over BENCH_CALLS (10,000,000) calls,
 * beside the repository's own SQL run straight through pg; and the `call-report` projection's lag while calls are
 * appended at BENCH_RATE (2,000) calls/s, beside the raw INSERT rate of the same rows. Everything in one run.
 *
 *   npm run bench:reports
 *   BENCH_CALLS=200000 BENCH_SECONDS=10 npm run bench:reports        # a quick run
 *   BENCH_CALLS=10000000 BENCH_AGENTS=500 BENCH_RATE=2000 BENCH_SECONDS=30 BENCH_CLIENTS=4 npm run bench:reports
 *   BENCH_CHUNK=500000           rows per bulk INSERT ... SELECT (one transaction each)
 *   BENCH_CALLS_PER_CONTACT=10   calls per contact stream (so 1,000,000 streams for 10,000,000 calls)
 *   BENCH_TIMEZONE=Europe/London the org's time zone (default America/New_York): calls are bucketed by local day
 *   BENCH_WARMUP_SECONDS=2       per latency scenario, before measuring
 *   BENCH_RAW_SECONDS=5          the raw INSERT baseline of phase 2
 *   BENCH_SERVER_POOL=24         the service's PG_POOL_SIZE; POLL_INTERVAL_MS (default 50) is passed to it as set
 *   BENCH_ANALYZE=0              skip the ANALYZE of events (after the load) and call_report_days (after the rebuild)
 *
 * Phase 1, report latency (one scratch database, dropped at the end, also on error or Ctrl-C):
 *   1. org (CLI org:create), the whole service as a child process, BENCH_AGENTS agents through POST /api/users
 *      (10 branches x 5 departments, so UserCreated events carry them); wait until every consumer has caught up,
 *      stop the service.
 *   2. Bulk load: BENCH_CALLS CallLogged events straight into `events` (one INSERT ... SELECT FROM generate_series
 *      per BENCH_CHUNK rows): one year of calls in log order, 08:00-20:00 local time, contact streams
 *      `contact-<uuid>` with contiguous versions (a stream's version is its last event's: migration 0023), the six final
 *      statuses (~30% connected, with durations), 0-2 of 20 tags, 50 campaigns (1 call in 6 without), metadata
 *      with orgId and occurredAt, the ingest path's idempotency key. No inline projection runs: only the log.
 *   3. ANALYZE events: what autovacuum's auto-analyze would do after a bulk of inserts; it is off on this
 *      server, and without statistics the planner reads each rebuild batch (LIMIT 2000) by sorting every remaining
 *      event of the projection's types (bitmap scan + sort), so the rebuild is quadratic (500,000 calls: 291 s,
 *      1,700 events/s; 10,000,000 would take days). BENCH_ANALYZE=0 shows it.
 *   4. The other consumers (job outbox, follow-up report) are moved past the bulk-loaded calls, as if they had kept
 *      up as the calls came in (the follow-up report ignores CallLogged; the job outbox only makes auto-assignment
 *      jobs, off by default); otherwise the service would spend the measurement catching up on a year of calls.
 *   5. ProjectionRebuilder.rebuild('call-report') in this process (the code path of `cli projection:rebuild`), timed;
 *      the sum of attempts over dimension `status` must equal BENCH_CALLS.
 *   6. ANALYZE call_report_days (as autovacuum would), the service again, then per scenario BENCH_CLIENTS
 *      closed-loop clients for BENCH_SECONDS each:
 *        raw SQL    the statement CallReportRepository.report sends (captured from its first call, so it is the
 *                   current one), over pg with the result left as text: the database floor
 *        repository CallReportRepository.report in this process (SQL + mapping, no HTTP), target scenario only
 *        API        GET /api/reports/calls with the org's admin key (the body is read, not parsed, by the client)
 *      Scenarios: last full month by day by agent (the target: BENCH_AGENTS x ~31 rows), the same month as one
 *      bucket by agent (BENCH_AGENTS rows), that month by week by status, the last full ISO week by day by status,
 *      the 12 months up to that month by month by agent. Each answer's totals.attempts is checked against the
 *      count the generator put into that range.
 *   Target: API p99 < 100 ms for a month by agent (granularity=day, as the issue's scenario is read here).
 *
 * Phase 2, projection lag (the service running, its worker applying the async projections):
 *   every 50 ms one EventStore.appendMany (fu_append_many, one transaction) of BENCH_RATE / 20 calls, each a new
 *   contact stream with CallLogged + the LeadStatusChanged the decider would add (nextLeadStatus from New; no
 *   FollowUpScheduled for Follow up / Rescheduled), open loop (a slow append does not hold back the next), for
 *   BENCH_SECONDS. The real EventStore provider in this process, not HTTP: POST /api/calls/batch tops out below
 *   2,000 calls/s on this machine, and this measures the projection, not ingest. Being another process, the
 *   appends do not wake the worker: it finds them by polling (POLL_INTERVAL_MS), the split API/worker case.
 *   Lag of a batch = from its append returning (committed) until a consumer's checkpoint in consumer_checkpoints
 *   has passed its last event, compared as (transaction_id, global_position) like ConsumerRunner orders them,
 *   polled every 5 ms from a separate connection. Printed for every checkpointed consumer (call-report first).
 *   The oldest write transaction of the whole PostgreSQL server is sampled beside it: consumers read below
 *   pg_snapshot_xmin, which any transaction holding an xid in any database keeps back (a 2 s transaction in the
 *   `postgres` database gave every consumer ~2 s of lag), so on a shared server that line explains outliers.
 *   Baseline: raw INSERTs of the same rows (bench_raw_events, 1 connection, x2000 per statement like a rebuild
 *   batch) beside the projection's apply rate from the rebuild in phase 1.
 *   Target: call-report lag p99 < 250 ms at 2,000 calls/s.
 */
import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { Database, PlatformModule } from '@app/shared';
import { AppendRequest, EventMetadata, EventStore, EventStoreModule, NewEvent, ProjectionRebuilder } from '@app/event-store';
import { CallLogged, CallLoggedData, contactStream, FINAL_CALL_STATUSES, FinalCallStatus, LeadStatusChanged, LeadStatusChangedData, nextLeadStatus } from '@app/contacts';
import { CALL_REPORT_PROJECTION, CallReportQuery, CallReportRepository, ReportsModule } from '@app/reports';
import { JsonClient } from './http-client';
import {
  envInt,
  EventRow,
  fmtMs,
  fmtRate,
  fmtRatio,
  LoadResult,
  machineInfo,
  now,
  percentile,
  printPairs,
  printTable,
  RAW_TABLE,
  RawInsertBaseline,
  runLoad,
  secondsSince,
  withScratchDatabase,
  captureStatements,
} from './lib';
import { runJson, startServer } from './server';

const CALLS = envInt('BENCH_CALLS', 10_000_000);
const AGENTS = envInt('BENCH_AGENTS', 500);
const CHUNK = envInt('BENCH_CHUNK', 500_000);
const CALLS_PER_CONTACT = envInt('BENCH_CALLS_PER_CONTACT', 10);
const SECONDS = envInt('BENCH_SECONDS', 30);
const WARMUP = envInt('BENCH_WARMUP_SECONDS', 2);
const CLIENTS = envInt('BENCH_CLIENTS', 4);
const RATE = envInt('BENCH_RATE', 2_000);
const RAW_SECONDS = envInt('BENCH_RAW_SECONDS', 5);
const TIMEZONE = process.env.BENCH_TIMEZONE || 'America/New_York';
/** BENCH_ANALYZE=0: no ANALYZE after the load and the rebuild (see the header: the rebuild then goes quadratic). */
const ANALYZE = process.env.BENCH_ANALYZE !== '0';
const CONTACTS = Math.ceil(CALLS / CALLS_PER_CONTACT);
const DAYS = 365;
const BRANCHES = 10;
const DEPARTMENTS = ['Sales', 'Support', 'Retention', 'Onboarding', 'Collections'];
const TAGS = Array.from({ length: 20 }, (_, t) => `tag-${String(t + 1).padStart(2, '0')}`);
const CAMPAIGNS = 50;
const TICK_MS = 50;
const CHECKPOINT_POLL_MS = 5;
const RAW_BATCH = 2000;
const TARGET_REPORT_P99 = 100;
const TARGET_LAG_P99 = 250;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------- the calendar of the generated year

/** Day numbers (days since 1970-01-01) and their YYYY-MM-DD. */
const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
const ymd = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The generated year: DAYS local days ending yesterday (UTC dates; the calls are 08:00-20:00 in the org's zone). */
const TODAY = dayOf(Date.now());
const DAY0 = TODAY - DAYS;

/**
 * Call i lands on local day DAY0 + floor(i * DAYS / CALLS) (see LOAD_SQL), so the calls of days [a, b] (offsets
 * from DAY0) are i in [ceil(a * CALLS / DAYS), ceil((b + 1) * CALLS / DAYS)).
 */
function callsBetween(from: string, to: string): number {
  const first = (k: number) => {
    const d = BigInt(Math.min(Math.max(k, 0), DAYS));
    return (d * BigInt(CALLS) + BigInt(DAYS) - 1n) / BigInt(DAYS);
  };
  const a = Date.parse(`${from}T00:00:00Z`) / DAY_MS - DAY0;
  const b = Date.parse(`${to}T00:00:00Z`) / DAY_MS - DAY0;
  return Number(first(b + 1) - first(a));
}

interface Scenario {
  readonly label: string;
  readonly query: CallReportQuery;
  readonly target: boolean;
}

function scenarios(): Scenario[] {
  const t = new Date(TODAY * DAY_MS);
  const monthStart = Date.UTC(t.getUTCFullYear(), t.getUTCMonth() - 1, 1);
  const monthEnd = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 0);
  const yearStart = Date.UTC(t.getUTCFullYear(), t.getUTCMonth() - 12, 1);
  // The last full ISO week before today (day 0 was a Thursday: Monday is (n + 3) % 7 == 0).
  const thisMonday = TODAY - ((TODAY + 3) % 7);
  const month = { from: ymd(dayOf(monthStart)), to: ymd(dayOf(monthEnd)) };
  const week = { from: ymd(thisMonday - 7), to: ymd(thisMonday - 1) };
  const year = { from: ymd(dayOf(yearStart)), to: month.to };
  return [
    { label: 'month by day by agent', query: { ...month, granularity: 'day', groupBy: 'agent' }, target: true },
    { label: 'month by month by agent', query: { ...month, granularity: 'month', groupBy: 'agent' }, target: false },
    { label: 'month by week by status', query: { ...month, granularity: 'week', groupBy: 'status' }, target: false },
    { label: 'week by day by status', query: { ...week, granularity: 'day', groupBy: 'status' }, target: false },
    { label: '12 months by month by agent', query: { ...year, granularity: 'month', groupBy: 'agent' }, target: false },
  ];
}

const reportPath = (q: CallReportQuery) => `/api/reports/calls?from=${q.from}&to=${q.to}&granularity=${q.granularity}&groupBy=${q.groupBy}`;

// ---------------------------------------------------------------- bulk load

/**
 * Calls $1..$2 (0-based) of $3, as CallLogged events of contact streams: call i is call number i / $4 + 1 of
 * contact i % $4, so each stream's versions are contiguous and rise with global_position, and the log is in
 * startedAt order (a projection batch covers a few hours, as live). The pseudo-random choices are hashes of i.
 * Rows get their global_position in generate_series order (one function scan feeding the insert); an ORDER BY
 * would only add a sort of each chunk (~350 MB spilled to disk per 500,000 rows).
 * $5 org, $6 agents, $7 first day, $8 time zone, $9 actor, $10 tags.
 */
const LOAD_SQL = `
  INSERT INTO events (stream_id, stream_version, org_id, type, data, metadata, idempotency_key)
  SELECT 'contact-' || b.contact_id, a.version, $5::uuid, 'CallLogged',
         jsonb_build_object('callId', b.call_id, 'contactId', b.contact_id, 'agentId', b.agent_id,
           'direction', CASE WHEN b.status = 'Missed' OR a.h3 % 10 = 0 THEN 'inbound' ELSE 'outbound' END,
           'status', b.status, 'durationSec', b.duration, 'connected', b.duration > 0,
           'startedAt', to_char(b.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'note', CASE WHEN a.h3 % 3 = 0 THEN 'Asked to call back after lunch, prefers WhatsApp for the quote.' END,
           'campaignId', CASE WHEN a.h2 % 60 < ${CAMPAIGNS} THEN md5('bench-campaign-' || (a.h2 % 60))::uuid::text END,
           'tags', CASE (a.h3 / 7) % 3 WHEN 0 THEN '[]'::jsonb
                   WHEN 1 THEN jsonb_build_array(($10::text[])[1 + (a.h3 / 21) % 20])
                   ELSE jsonb_build_array(($10::text[])[1 + (a.h3 / 21) % 20], ($10::text[])[1 + ((a.h3 / 21) % 20 + 1 + (a.h3 / 420) % 19) % 20]) END,
           'followUpId', NULL),
         jsonb_build_object('orgId', $5::uuid, 'actorId', $9::uuid, 'correlationId', NULL, 'causationId', NULL,
           'occurredAt', to_char((b.started_at + b.duration * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
         'call:' || b.call_id || ':' || b.status || ':0'
    FROM generate_series($1::bigint, $2::bigint) AS s(i)
   CROSS JOIN LATERAL (
     SELECT s.i % $4 AS c, s.i / $4 + 1 AS version, s.i * ${DAYS} * 43200 / $3 AS t,
            (hashint8extended(s.i, 1) & 9223372036854775807) % 100 AS p,
            hashint8extended(s.i, 2) & 9223372036854775807 AS h2,
            hashint8extended(s.i, 3) & 9223372036854775807 AS h3
   ) a
   CROSS JOIN LATERAL (
     SELECT md5('bench-contact-' || a.c)::uuid::text AS contact_id,
            md5('bench-call-' || s.i)::uuid::text AS call_id,
            ($6::text[])[1 + a.c % cardinality($6::text[])] AS agent_id,
            CASE WHEN a.p < 22 THEN 'Called' WHEN a.p < 27 THEN 'Follow up' WHEN a.p < 30 THEN 'Rescheduled'
                 WHEN a.p < 50 THEN 'Busy' WHEN a.p < 90 THEN 'No Answer' ELSE 'Missed' END AS status,
            CASE WHEN a.p < 30 THEN 20 + a.h2 % 880 ELSE 0 END AS duration,
            (($7::date + (a.t / 43200)::int)::timestamp + interval '8 hours' + (a.t % 43200) * interval '1 second') AT TIME ZONE $8 AS started_at
   ) b`;

interface Loaded {
  events: number;
  streams: number;
  seconds: number;
}

async function bulkLoad(pg: Pool, orgId: string, actorId: string, agentIds: string[]): Promise<Loaded> {
  const start = now();
  let lastReport = start;
  let events = 0;
  for (let lo = 0; lo < CALLS; lo += CHUNK) {
    const hi = Math.min(CALLS, lo + CHUNK) - 1;
    events += (await pg.query(LOAD_SQL, [lo, hi, CALLS, CONTACTS, orgId, agentIds, ymd(DAY0), TIMEZONE, actorId, TAGS])).rowCount ?? 0;
    if (Number(now() - lastReport) > 15e9 || hi === CALLS - 1) {
      lastReport = now();
      const s = secondsSince(start);
      process.stderr.write(`  load: ${fmtRate(hi + 1)} calls in ${s.toFixed(0)} s (${fmtRate((hi + 1) / s)}/s)\n`);
    }
  }
  // A stream's version is its last event's (migration 0023): the load writes events and nothing else.
  return { events, streams: Math.min(CONTACTS, CALLS), seconds: secondsSince(start) };
}

// ---------------------------------------------------------------- checkpoints

interface Position {
  readonly tx: bigint;
  readonly pos: bigint;
}

/** Commit order, as ConsumerRunner reads the log: (transaction_id, global_position). */
const atOrAfter = (a: Position, b: Position) => a.tx > b.tx || (a.tx === b.tx && a.pos >= b.pos);

async function checkpoints(sql: Pool | Client): Promise<Map<string, Position>> {
  const { rows } = await (sql as Pool).query<{ name: string; tx: string; pos: string }>(
    'SELECT name, transaction_id::text AS tx, global_position::text AS pos FROM consumer_checkpoints ORDER BY name',
  );
  return new Map(rows.map((r) => [r.name, { tx: BigInt(r.tx), pos: BigInt(r.pos) }]));
}

async function lastEvent(pg: Pool): Promise<Position> {
  const { rows } = await pg.query<{ tx: string; pos: string }>(
    'SELECT transaction_id::text AS tx, global_position::text AS pos FROM events ORDER BY transaction_id DESC, global_position DESC LIMIT 1',
  );
  return { tx: BigInt(rows[0].tx), pos: BigInt(rows[0].pos) };
}

/** Waits until every consumer's checkpoint has passed the last event of the log. */
async function waitForConsumers(pg: Pool, timeoutMs: number): Promise<void> {
  const last = await lastEvent(pg);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const behind = [...(await checkpoints(pg))].filter(([, p]) => !atOrAfter(p, last)).map(([n]) => n);
    if (behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`consumers did not catch up: ${behind.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- the service

/** The whole service (API + worker) as a child process, and how long it took to become ready. */
async function startService(env: Record<string, string>): Promise<{ url: URL; seconds: number; stop: () => Promise<void> }> {
  const t = now();
  const server = await startServer(env);
  return { url: server.url, seconds: secondsSince(t), stop: server.stop };
}

// ---------------------------------------------------------------- in-process Nest context

@Module({})
class BenchModule {}

/** Built after DATABASE_URL is set. No inline projection is registered: appends here write the log only. */
const benchModule = (): DynamicModule => ({
  module: BenchModule,
  imports: [PlatformModule.forRoot(), EventStoreModule.forRoot({ runConsumers: false }), ReportsModule],
});

// ---------------------------------------------------------------- phase 2: live calls

const MIX: readonly FinalCallStatus[] = ['Called', 'Called', 'Called', 'Called', 'Busy', 'Busy', 'No Answer', 'No Answer', 'No Answer', 'Missed', 'Follow up', 'Rescheduled'];

/** One call as ingest would append it to a new contact: CallLogged, and LeadStatusChanged when the lead moves. */
function liveCall(i: number, agentIds: readonly string[], campaignIds: readonly string[]): AppendRequest {
  const contactId = randomUUID();
  const callId = randomUUID();
  const status = MIX[i % MIX.length];
  const durationSec = status === 'Called' || status === 'Follow up' || status === 'Rescheduled' ? 20 + ((i * 37) % 880) : 0;
  const tags = i % 3 === 0 ? [] : i % 3 === 1 ? [TAGS[i % 20]] : [TAGS[i % 20], TAGS[(i + 7) % 20]];
  const data: CallLoggedData = {
    callId,
    contactId,
    agentId: agentIds[i % agentIds.length],
    direction: status === 'Missed' ? 'inbound' : 'outbound',
    status,
    durationSec,
    connected: durationSec > 0,
    startedAt: new Date(Date.now() - 30_000 - durationSec * 1000).toISOString(),
    note: i % 3 === 0 ? 'Asked to call back after lunch, prefers WhatsApp for the quote.' : null,
    campaignId: i % 6 === 5 ? null : campaignIds[i % campaignIds.length],
    tags,
    followUpId: null,
  };
  const key = `call:${callId}:${status}`;
  const events: NewEvent[] = [{ type: CallLogged, data, idempotencyKey: `${key}:0` }];
  const to = nextLeadStatus('New', status);
  if (to !== 'New') {
    const changed: LeadStatusChangedData = { contactId, from: 'New', to, cause: { kind: 'call', callId, callStatus: status } };
    events.push({ type: LeadStatusChanged, data: changed, idempotencyKey: `${key}:1` });
  }
  return { streamId: contactStream(contactId), expectedVersion: 0, events };
}

interface LagRun {
  calls: number;
  events: number;
  batches: number;
  seconds: number;
  appendLatencies: Float64Array;
  /** consumer → lag of each batch in ms (sorted); unresolved batches are counted apart */
  lags: Map<string, { sorted: Float64Array; unresolved: number }>;
  pollMs: Float64Array;
  holds: WriteTransactions;
}

/** The oldest write transaction in the whole cluster, sampled: any of them holds back every consumer's horizon. */
interface WriteTransactions {
  samples: number;
  /** samples that saw one older than HOLD_MS */
  held: number;
  worst: { ms: number; database: string; application: string } | null;
}

const HOLD_MS = 100;
const HOLD_SAMPLE_MS = 50;

/**
 * Samples pg_stat_activity every HOLD_SAMPLE_MS until stopped. pg_snapshot_xmin is cluster-wide: a transaction with
 * an xid in any database (another application, another test run) keeps the consumers below it until it ends.
 */
function sampleWriteTransactions(url: string): { stop: () => Promise<WriteTransactions> } {
  const client = new Client({ connectionString: url, application_name: 'fu-bench-xact-sampler' });
  client.on('error', () => undefined);
  const out: WriteTransactions = { samples: 0, held: 0, worst: null };
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ ms: number; datname: string | null; application_name: string | null }>(
        `SELECT (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS ms, datname, application_name
           FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() ORDER BY xact_start LIMIT 1`,
      );
      out.samples += 1;
      const r = rows[0];
      if (r && r.ms > HOLD_MS) out.held += 1;
      if (r && (!out.worst || r.ms > out.worst.ms)) out.worst = { ms: r.ms, database: r.datname ?? '?', application: r.application_name ?? '' };
      await new Promise((res) => setTimeout(res, HOLD_SAMPLE_MS));
    }
  })().catch(() => undefined); // a lost connection only ends the sampling
  return {
    stop: async () => {
      running = false;
      await loop;
      await client.end().catch(() => undefined);
      return out;
    },
  };
}

async function measureLag(store: EventStore, url: string, orgId: string, actorId: string, agentIds: string[], campaignIds: string[]): Promise<LagRun> {
  const poller = new Client({ connectionString: url, application_name: 'fu-bench-lag-poller' });
  poller.on('error', () => undefined); // a dropped connection fails the next poll, which ends the run
  await poller.connect();
  try {
    const consumers = [...(await checkpoints(poller)).keys()].sort((a, b) => (a === CALL_REPORT_PROJECTION ? -1 : b === CALL_REPORT_PROJECTION ? 1 : a.localeCompare(b)));
    const pending = new Map<string, { last: Position; committed: bigint }[]>(consumers.map((c) => [c, []]));
    const lags = new Map<string, number[]>(consumers.map((c) => [c, []]));
    const pollMs: number[] = [];
    const sampler = sampleWriteTransactions(url);
    let polling = true;
    let failure: unknown = null;
    const poll = (async () => {
      while (!failure && (polling || [...pending.values()].some((p) => p.length > 0))) {
        const t0 = now();
        const cps = await checkpoints(poller);
        const seen = now();
        pollMs.push(Number(seen - t0) / 1e6);
        for (const c of consumers) {
          const cp = cps.get(c);
          const list = pending.get(c)!;
          if (!cp || list.length === 0) continue;
          const left = list.filter((b) => {
            if (!atOrAfter(cp, b.last)) return true;
            lags.get(c)!.push(Number(seen - b.committed) / 1e6);
            return false;
          });
          pending.set(c, left);
        }
        await new Promise((r) => setTimeout(r, CHECKPOINT_POLL_MS));
      }
    })().catch((err) => void (failure ??= err));

    const appendLatencies: number[] = [];
    const inFlight = new Set<Promise<void>>();
    let calls = 0;
    let events = 0;
    let batches = 0;
    const metadata = (): EventMetadata => ({ orgId, actorId, occurredAt: new Date().toISOString() });
    const start = now();
    const ticks = Math.round((SECONDS * 1000) / TICK_MS);
    for (let k = 1; k <= ticks && !failure; k++) {
      const due = start + BigInt(k * TICK_MS) * 1_000_000n;
      const wait = Number(due - now()) / 1e6;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Whole calls per tick, carrying the remainder, so any rate comes out right over the run.
      const n = Math.round((RATE * k * TICK_MS) / 1000) - Math.round((RATE * (k - 1) * TICK_MS) / 1000);
      if (n === 0) continue;
      const requests = Array.from({ length: n }, (_, j) => liveCall(calls + j, agentIds, campaignIds));
      calls += n;
      const t0 = now();
      const append = async () => {
        try {
          const results = await store.appendMany(requests, metadata());
          const committed = now();
          appendLatencies.push(Number(committed - t0) / 1e6);
          const bad = results.filter((r) => r.outcome !== 'ok').length;
          if (bad > 0) throw new Error(`append: ${bad} requests not ok`);
          let last: Position = { tx: 0n, pos: 0n };
          for (const e of results.flatMap((r) => r.events)) {
            const at = { tx: BigInt(e.transactionId), pos: BigInt(e.globalPosition) };
            if (atOrAfter(at, last)) last = at;
            events += 1;
          }
          batches += 1;
          for (const c of consumers) pending.get(c)!.push({ last, committed });
        } catch (err) {
          failure ??= err;
        }
      };
      const tracked: Promise<void> = append().then(() => void inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    await Promise.all(inFlight);
    const seconds = secondsSince(start);

    // Let the consumers finish the last batches (bounded), then stop polling.
    const deadline = Date.now() + 60_000;
    while (!failure && [...pending.values()].some((p) => p.length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const unresolved = new Map(consumers.map((c) => [c, pending.get(c)!.length]));
    for (const c of consumers) pending.set(c, []);
    polling = false;
    await poll;
    const holds = await sampler.stop();
    if (failure) throw failure;
    return {
      calls,
      events,
      batches,
      seconds,
      appendLatencies: Float64Array.from(appendLatencies).sort(),
      lags: new Map(consumers.map((c) => [c, { sorted: Float64Array.from(lags.get(c)!).sort(), unresolved: unresolved.get(c)! }])),
      pollMs: Float64Array.from(pollMs).sort(),
      holds,
    };
  } finally {
    await poller.end();
  }
}

// ---------------------------------------------------------------- main

interface LatencyRow {
  scenario: string;
  path: string;
  result: LoadResult;
  floor?: LoadResult;
  target?: number;
}

async function main(): Promise<void> {
  const wallStart = now();
  const timings: [string, number][] = [];
  const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t = now();
    try {
      return await fn();
    } finally {
      timings.push([label, secondsSince(t)]);
    }
  };

  await withScratchDatabase(async (scratch) => {
    const env = {
      DATABASE_URL: scratch.url,
      QUEUE_PREFIX: scratch.name,
      PG_POOL_SIZE: String(envInt('BENCH_SERVER_POOL', 24)),
    };
    const pg = new Pool({ connectionString: scratch.url, max: CLIENTS * 3 + 2, application_name: 'fu-bench-reports' });
    pg.on('error', () => undefined);
    let server: Awaited<ReturnType<typeof startService>> | null = null;
    let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>> | null = null;
    try {
      printPairs('Machine', [
        ...(await machineInfo((sql) => pg.query(sql))),
        ['service', `whole service (API + worker) in one child process, PG_POOL_SIZE=${env.PG_POOL_SIZE}, POLL_INTERVAL_MS=${process.env.POLL_INTERVAL_MS || '50 (default)'}`],
      ]);
      const all = scenarios();
      printPairs('Parameters', [
        ['database', `${scratch.name} (scratch, migrated, dropped at the end)`],
        ['calls', `${fmtRate(CALLS)} CallLogged over ${DAYS} local days ${ymd(DAY0)}..${ymd(TODAY - 1)} (${TIMEZONE}, 08:00-20:00), ${fmtRate(CONTACTS)} contact streams x ${CALLS_PER_CONTACT}`],
        ['agents', `${AGENTS} in ${BRANCHES} branches x ${DEPARTMENTS.length} departments; ${TAGS.length} tags, ${CAMPAIGNS} campaigns`],
        ['load', `INSERT ... SELECT generate_series, ${fmtRate(CHUNK)} rows per statement (one transaction each)`],
        ['report clients', `${CLIENTS} closed-loop per scenario, ${SECONDS} s after ${WARMUP} s warm-up`],
        ['scenarios', all.map((s) => `${s.label} ${s.query.from}..${s.query.to}`).join('; ')],
        ['live calls', `${fmtRate(RATE)} calls/s for ${SECONDS} s: one appendMany of ${RATE / (1000 / TICK_MS)} calls every ${TICK_MS} ms (open loop)`],
      ]);

      // ---- org, agents (through the API, so UserCreated carries branch and department)
      const org = await timed('org:create (CLI)', () => runJson('apps/cli/src/main.ts', ['org:create', '--name', 'Bench', '--timezone', TIMEZONE], env));
      process.stderr.write('starting the service to create the agents...\n');
      server = await startService(env);
      timings.push(['service start (1)', server.seconds]);
      const admin = new JsonClient(server.url, org.adminKey, 16);
      const agentIds: string[] = [];
      await timed(`${AGENTS} agents (POST /api/users)`, async () => {
        for (let a = 0; a < AGENTS; a += 16) {
          const made = await Promise.all(
            Array.from({ length: Math.min(16, AGENTS - a) }, (_, k) =>
              admin.request('POST', '/api/users', {
                name: `Agent ${a + k}`,
                role: 'agent',
                branch: `Branch ${String(((a + k) % BRANCHES) + 1).padStart(2, '0')}`,
                department: DEPARTMENTS[Math.floor((a + k) / BRANCHES) % DEPARTMENTS.length],
              }),
            ),
          );
          for (const m of made) {
            if (m.status !== 201) throw new Error(`agent: ${m.status} ${JSON.stringify(m.body).slice(0, 300)}`);
            agentIds.push(m.body.id);
          }
        }
        await waitForConsumers(pg, 60_000);
      });
      admin.close();
      await server.stop();
      server = null;
      const campaignIds = Array.from({ length: CAMPAIGNS }, () => randomUUID());

      // ---- the log: BENCH_CALLS calls
      process.stderr.write(`loading ${fmtRate(CALLS)} calls...\n`);
      const load = await bulkLoad(pg, org.orgId, org.adminUserId, agentIds);
      timings.push(['bulk load (events)', load.seconds]);
      const eventsSize = (await pg.query<{ size: string }>(`SELECT pg_size_pretty(pg_total_relation_size('events')) AS size`)).rows[0].size;

      let analyzeEvents = 0;
      if (ANALYZE) {
        const t = now();
        await pg.query('ANALYZE events');
        analyzeEvents = secondsSince(t);
        timings.push(['ANALYZE events', analyzeEvents]);
      }

      // ---- the other consumers have seen the calls go by
      const last = await lastEvent(pg);
      const moved = [...(await checkpoints(pg)).keys()].filter((n) => n !== CALL_REPORT_PROJECTION);
      await pg.query(`UPDATE consumer_checkpoints SET transaction_id = $2::xid8, global_position = $3::bigint, updated_at = now() WHERE name = ANY ($1::text[])`, [
        moved,
        last.tx.toString(),
        last.pos.toString(),
      ]);

      // ---- the report, built the way production rebuilds it
      Object.assign(process.env, { DATABASE_URL: scratch.url, LOG_LEVEL: 'warn', PG_POOL_SIZE: String(Math.max(8, CLIENTS + 2)) });
      app = await NestFactory.createApplicationContext(benchModule(), { logger: false });
      await app.init();
      process.stderr.write('rebuilding call-report...\n');
      const tRebuild = now();
      const rebuilt = await app.get(ProjectionRebuilder).rebuild(CALL_REPORT_PROJECTION);
      const rebuildSeconds = secondsSince(tRebuild);
      timings.push(['rebuild call-report', rebuildSeconds]);
      const applyRate = rebuilt.events / rebuildSeconds;
      const report = (
        await pg.query<{ attempts: string; rows: string; agent_rows: string; size: string }>(
          `SELECT coalesce(sum(attempts) FILTER (WHERE dimension = 'status'), 0)::text AS attempts, count(*)::text AS rows,
                  count(*) FILTER (WHERE dimension = 'agent')::text AS agent_rows, pg_size_pretty(pg_total_relation_size('call_report_days')) AS size
             FROM call_report_days WHERE org_id = $1`,
          [org.orgId],
        )
      ).rows[0];
      let analyzeReport = 0;
      if (ANALYZE) {
        const t = now();
        // VACUUM as well: the rebuild's adding upserts leave a dead version per update (one transaction, nothing
        // pruned), which autovacuum would clear soon after; it is off on this server
        for (const table of ['call_report_days', 'call_report_periods', 'call_report_users', 'call_report_orgs']) await pg.query(`VACUUM (ANALYZE) ${table}`);
        analyzeReport = secondsSince(t);
        timings.push(['VACUUM (ANALYZE) call_report_*', analyzeReport]);
      }
      const attemptsOk = Number(report.attempts) === CALLS;
      if (!attemptsOk) process.exitCode = 1;

      printPairs('Phase 1: data', [
        ['events', `${fmtRate(load.events)} CallLogged inserted in ${fmtRate(load.streams)} streams; events ${eventsSize} with indexes`],
        ['bulk load', `${fmtRate(CALLS)} rows in ${load.seconds.toFixed(1)} s: ${fmtRate(CALLS / load.seconds)} rows/s`],
        [
          'statistics',
          ANALYZE
            ? `ANALYZE events after the load (${analyzeEvents.toFixed(1)} s), VACUUM (ANALYZE) call_report_* after the rebuild (${analyzeReport.toFixed(1)} s): what autovacuum would do`
            : 'none (BENCH_ANALYZE=0): the tables are as the load and the rebuild left them',
        ],
        ['other consumers', `${moved.join(', ') || 'none'} moved past the loaded calls (they would have handled them as they came in)`],
        ['rebuild', `ProjectionRebuilder.rebuild('${CALL_REPORT_PROJECTION}'): ${fmtRate(rebuilt.events)} events in ${rebuildSeconds.toFixed(1)} s: ${fmtRate(applyRate)} events/s`],
        ['call_report_days', `${fmtRate(Number(report.rows))} rows (${fmtRate(Number(report.agent_rows))} by agent), ${report.size}`],
        ['attempts (status)', `${fmtRate(Number(report.attempts))}: ${attemptsOk ? 'OK' : `MISMATCH, expected ${fmtRate(CALLS)}`}`],
      ]);

      // ---- the repository's own statements, captured from its first call per scenario
      const db = app.get(Database);
      const repo = app.get(CallReportRepository);
      // every statement of one report (rows, totals, context), run together as the repository runs them
      const statements: { text: string; values: unknown[] }[][] = [];
      for (const s of all) {
        const captured = await captureStatements(db, () => repo.report(org.orgId, s.query));
        if (captured.length === 0) throw new Error(`no statement captured for ${s.label}`);
        statements.push(captured);
      }

      // ---- the service, with the report in place
      process.stderr.write('starting the service...\n');
      server = await startService(env);
      timings.push(['service start (2)', server.seconds]);
      const client = new JsonClient(server.url, org.adminKey, CLIENTS);

      process.stderr.write('measuring report latency...\n');
      const rows: LatencyRow[] = [];
      const checks: [string, string][] = [];
      await timed('report latency', async () => {
        for (const [k, s] of all.entries()) {
          const stmts = statements[k].map((st) => ({ text: st.text, values: st.values, types: { getTypeParser: () => (v: string) => v } }));
          const path = reportPath(s.query);
          const first = await client.getRaw(path);
          if (first.status !== 200) throw new Error(`GET ${path}: ${first.status} ${first.body.toString('utf8').slice(0, 300)}`);
          const answer = JSON.parse(first.body.toString('utf8'));
          const expected = callsBetween(s.query.from, s.query.to);
          const ok = answer.totals.attempts === expected;
          if (!ok) process.exitCode = 1;
          checks.push([s.label, `${answer.rows.length} rows, ${(first.body.length / 1024).toFixed(0)} KiB; totals.attempts ${fmtRate(answer.totals.attempts)}: ${ok ? 'OK' : `MISMATCH, generated ${fmtRate(expected)}`}`]);
          const sqlOp = async () => (await Promise.all(stmts.map((st) => pg.query(st))))[0].rows.length;
          const apiOp = async () => {
            const r = await client.getRaw(path);
            if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
            return 1;
          };
          await runLoad('warm-up', { writers: CLIENTS, seconds: WARMUP }, async () => (await sqlOp()) + (await apiOp()));
          const raw = await runLoad(`${s.label}: raw SQL`, { writers: CLIENTS, seconds: SECONDS }, sqlOp);
          rows.push({ scenario: raw.label, path: 'pg', result: raw });
          if (s.target) {
            const r = await runLoad(`${s.label}: repository`, { writers: CLIENTS, seconds: SECONDS }, async () => (await repo.report(org.orgId, s.query)).rows.length);
            rows.push({ scenario: r.label, path: 'in-process', result: r, floor: raw });
          }
          const api = await runLoad(`${s.label}: API${s.target ? ' (target)' : ''}`, { writers: CLIENTS, seconds: SECONDS }, apiOp);
          rows.push({ scenario: api.label, path: 'HTTP', result: api, floor: raw, target: TARGET_REPORT_P99 });
        }
      });

      console.log(`\nPhase 1: report latency (${CLIENTS} clients, ${SECONDS} s each; floor = the repository's SQL over pg, result left as text)\n`);
      printTable(
        ['scenario', 'via', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'p99/floor', 'target p99', 'verdict'],
        rows.map((r) => [
          r.scenario,
          r.path,
          fmtRate(r.result.opsPerSecond),
          fmtMs(r.result.p50),
          fmtMs(r.result.p95),
          fmtMs(r.result.p99),
          fmtMs(r.result.max),
          r.floor ? fmtRatio(r.result.p99 / r.floor.p99) : '',
          r.target ? `< ${r.target} ms` : '',
          r.target ? (r.result.p99 < r.target ? 'PASS' : 'FAIL') : '',
        ]),
      );
      printPairs('Answers (first GET of each scenario, checked against what the generator put in the range)', checks);

      const explain = await pg.query(`EXPLAIN (ANALYZE, BUFFERS) ${statements[0][0].text}`, statements[0][0].values);
      console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the target statement (${all[0].label})`);
      for (const r of explain.rows) console.log(`  ${r['QUERY PLAN']}`);

      // ---- phase 2: the raw INSERT rate of the same rows, then the lag at BENCH_RATE
      const store = app.get(EventStore);
      const rawInsert = new RawInsertBaseline(scratch.url, 1);
      let rawResult: LoadResult;
      try {
        await rawInsert.createTable();
        const meta = JSON.stringify({ orgId: org.orgId, actorId: org.adminUserId, occurredAt: new Date().toISOString() });
        let n = 0;
        rawResult = await timed('raw INSERT baseline', () =>
          runLoad(`raw INSERT x${RAW_BATCH}`, { writers: 1, seconds: RAW_SECONDS }, () => {
            const batch: EventRow[] = [];
            while (batch.length < RAW_BATCH) {
              const r = liveCall(n++, agentIds, campaignIds);
              r.events.forEach((e, v) =>
                batch.push({ streamId: r.streamId, streamVersion: v + 1, orgId: org.orgId, type: e.type, data: JSON.stringify(e.data), metadata: meta, idempotencyKey: e.idempotencyKey ?? null }),
              );
            }
            return rawInsert.insertMany(batch);
          }),
        );
        await rawInsert.pool.query(`DROP TABLE ${RAW_TABLE}`);
      } finally {
        await rawInsert.close();
      }

      process.stderr.write(`appending ${fmtRate(RATE)} calls/s for ${SECONDS} s...\n`);
      const lag = await timed('projection lag', () => measureLag(store, scratch.url, org.orgId, org.adminUserId, agentIds, campaignIds));
      const after = Number(
        (await pg.query<{ n: string }>(`SELECT coalesce(sum(attempts), 0)::text AS n FROM call_report_days WHERE org_id = $1 AND dimension = 'status'`, [org.orgId])).rows[0].n,
      );
      const liveOk = after === CALLS + lag.calls;
      if (!liveOk) process.exitCode = 1;
      const achieved = lag.calls / lag.seconds;

      printPairs(`Phase 2: projection lag at ${fmtRate(RATE)} calls/s`, [
        [
          'appended',
          `${fmtRate(lag.calls)} calls (${fmtRate(lag.events)} events) in ${lag.batches} appendMany over ${lag.seconds.toFixed(1)} s: ${fmtRate(achieved)} calls/s ` +
            `(${fmtRatio(achieved / RATE)} of the asked rate); append p50 ${fmtMs(percentile(lag.appendLatencies, 0.5))} ms, p99 ${fmtMs(percentile(lag.appendLatencies, 0.99))} ms`,
        ],
        ['checkpoint poll', `every ${CHECKPOINT_POLL_MS} ms; one poll p50 ${fmtMs(percentile(lag.pollMs, 0.5))} ms, p99 ${fmtMs(percentile(lag.pollMs, 0.99))} ms (${fmtRate(lag.pollMs.length)} polls)`],
        [
          'write transactions',
          lag.holds.worst
            ? `oldest seen ${fmtMs(lag.holds.worst.ms)} ms (${lag.holds.worst.database === scratch.name ? 'this database' : `database ${lag.holds.worst.database}`}` +
              `${lag.holds.worst.application ? `, ${lag.holds.worst.application}` : ''}); ${lag.holds.held} of ${lag.holds.samples} samples saw one older than ${HOLD_MS} ms ` +
              '(any database of the server: pg_snapshot_xmin, below which consumers read, waits for it)'
            : `none seen (${lag.holds.samples} samples)`,
        ],
        ['call-report count', `attempts (status) ${fmtRate(after)}: ${liveOk ? 'OK' : `MISMATCH, expected ${fmtRate(CALLS + lag.calls)}`}`],
      ]);
      console.log('');
      printTable(
        ['consumer', 'batches', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'unresolved', 'target p99', 'verdict'],
        [...lag.lags].map(([name, l]) => {
          const p99 = percentile(l.sorted, 0.99);
          const target = name === CALL_REPORT_PROJECTION;
          return [
            name,
            String(l.sorted.length),
            fmtMs(percentile(l.sorted, 0.5)),
            fmtMs(percentile(l.sorted, 0.95)),
            fmtMs(p99),
            fmtMs(l.sorted.length ? l.sorted[l.sorted.length - 1] : NaN),
            String(l.unresolved),
            target ? `< ${TARGET_LAG_P99} ms` : '',
            target ? (l.unresolved === 0 && p99 < TARGET_LAG_P99 ? 'PASS' : 'FAIL') : '',
          ];
        }),
      );
      console.log('');
      printTable(
        ['apply rate vs raw INSERT', 'rows/s', 'ratio'],
        [
          [`raw INSERT x${RAW_BATCH} (1 connection, ${RAW_SECONDS} s, same rows)`, fmtRate(rawResult.eventsPerSecond), '1.00'],
          [`call-report rebuild (phase 1, events/s)`, fmtRate(applyRate), fmtRatio(applyRate / rawResult.eventsPerSecond)],
          [`asked live rate (events/s at ${fmtRate(RATE)} calls/s)`, fmtRate((lag.events / lag.calls) * RATE), fmtRatio(((lag.events / lag.calls) * RATE) / rawResult.eventsPerSecond)],
        ],
      );
      client.close();
    } finally {
      if (server) await server.stop().catch(() => undefined);
      if (app) await app.close().catch(() => undefined);
      await pg.end().catch(() => undefined);
    }
  });

  timings.push(['total (wall)', secondsSince(wallStart)]);
  console.log('');
  printTable(
    ['phase', 'seconds'],
    timings.map(([k, v]) => [k, v.toFixed(1)]),
  );
}

/** After Ctrl-C the scratch database is dropped under the running queries: their errors are not the news. */
let interrupted: NodeJS.Signals | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (interrupted ??= signal));

main().then(
  () => process.exit(), // process.exitCode when a count did not match
  (err) => {
    if (interrupted) process.stderr.write(`interrupted (${interrupted}): ${(err as Error).message}\n`);
    else console.error(err);
    process.exit(interrupted ? 130 : 1);
  },
);

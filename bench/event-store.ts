/**
 * Event store append throughput beside a raw INSERT of the same row shape, measured in the same run.
 *
 *   npm run bench:event-store
 *   BENCH_SECONDS=10 BENCH_ROUNDS=3 BENCH_WARMUP_SECONDS=2 BENCH_WRITERS=16 BENCH_BATCH=100 npm run bench:event-store
 *   BENCH_ONLY="store single,raw single"            a subset of the scenarios
 *   BENCH_SETUP_SQL=proposal.sql                     time a proposed schema change (run after the migrations)
 *
 * It creates a scratch database fu_bench_<random> on BENCH_ADMIN_DATABASE_URL's server (default
 * postgres://postgres@127.0.0.1:5432/postgres), migrates it and drops it at the end, also on error or Ctrl-C.
 *
 * Four scenarios, each run by BENCH_WRITERS concurrent closed-loop writers for BENCH_SECONDS per round:
 *   raw single    one row per autocommit INSERT into a bare table (primary key only)
 *   store single  EventStore.append of one event per call (the real Nest provider, fu_append)
 *   raw batch     BENCH_BATCH rows per autocommit INSERT (unnest) into the bare table
 *   store batch   EventStore.append of BENCH_BATCH events to one stream per call
 * Rounds alternate the order of raw and store so drift on a shared machine does not favour either side.
 * Target: store / raw >= 0.5 for both single and batch.
 */
import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Database, PlatformModule } from '@app/shared';
import { EventMetadata, EventStore, EventStoreModule, NewEvent } from '@app/event-store';
import {
  combine,
  envInt,
  EventRow,
  fmtMs,
  fmtRate,
  fmtRatio,
  LoadResult,
  machineInfo,
  printPairs,
  printTable,
  RAW_TABLE,
  RawInsertBaseline,
  runLoad,
  WalSnapshot,
  walDiff,
  walSnapshot,
  withScratchDatabase,
} from './lib';

const SECONDS = envInt('BENCH_SECONDS', 10);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 2);
const WRITERS = envInt('BENCH_WRITERS', 16);
const BATCH = envInt('BENCH_BATCH', 100);
/** Streams each writer cycles over; each append names the version it expects (optimistic concurrency). */
const STREAMS_PER_WRITER = envInt('BENCH_STREAMS_PER_WRITER', 64);
const ORGS = envInt('BENCH_ORGS', 4);
const TARGET = 0.5;
/**
 * SQL run on the scratch database after the migrations, to time a proposed schema or fu_append change
 * without editing a migration: BENCH_SETUP_SQL="ALTER FUNCTION fu_append SET plan_cache_mode = force_custom_plan".
 * A value ending in .sql is read as a file.
 */
const SETUP_SQL = process.env.BENCH_SETUP_SQL?.endsWith('.sql') ? readFileSync(process.env.BENCH_SETUP_SQL, 'utf8') : process.env.BENCH_SETUP_SQL;

const ORG_IDS = Array.from({ length: ORGS }, () => randomUUID());
const AGENT_IDS = Array.from({ length: 50 }, () => randomUUID());
const CAMPAIGN_IDS = Array.from({ length: 10 }, () => randomUUID());
const STATUSES = ['answered', 'no_answer', 'busy', 'voicemail', 'callback_requested'];
const NOTES = ['Asked to call back after lunch, prefers WhatsApp for the quote.', 'Left a voicemail.', 'Interested in the premium plan; send the brochure.', ''];

/** A CallLogged-like event of about 400 bytes of JSON: what an agent's dialler posts most often. */
function callLogged(contactId: string, i: number): NewEvent {
  const callId = randomUUID();
  return {
    type: 'CallLogged',
    idempotencyKey: `call:${callId}:${STATUSES[i % STATUSES.length]}:1`, // the shape call ingest uses
    data: {
      callId,
      contactId,
      agentId: AGENT_IDS[i % AGENT_IDS.length],
      direction: i % 3 === 0 ? 'inbound' : 'outbound',
      status: STATUSES[i % STATUSES.length],
      durationSec: (i * 37) % 900,
      startedAt: new Date(Date.UTC(2025, 0, 1) + i * 61_000).toISOString(),
      note: NOTES[i % NOTES.length],
      campaignId: CAMPAIGN_IDS[i % CAMPAIGN_IDS.length],
      tags: ['inbound-lead', 'q1'],
      followUpId: null,
    },
  };
}

function metadataFor(orgId: string, actorId: string): EventMetadata {
  return { orgId, actorId, correlationId: randomUUID(), causationId: null, occurredAt: new Date().toISOString() };
}

/** Per writer: its streams, their versions (so expectedVersion is exact) and a contact id per stream. */
class Writer {
  readonly orgId: string;
  private readonly versions = new Map<string, number>();
  private readonly contacts = new Map<string, string>();

  constructor(readonly index: number) {
    this.orgId = ORG_IDS[index % ORG_IDS.length];
  }

  stream(kind: string, i: number): { streamId: string; version: number; contactId: string } {
    const streamId = `${kind}-${this.index}-${i % STREAMS_PER_WRITER}`;
    let contactId = this.contacts.get(streamId);
    if (!contactId) this.contacts.set(streamId, (contactId = randomUUID()));
    return { streamId, version: this.versions.get(streamId) ?? 0, contactId };
  }

  advance(streamId: string, version: number): void {
    this.versions.set(streamId, version);
  }
}

/** The same rows the store would write, as the raw baseline inserts them (JSON serialised per call, like append). */
function rawRows(w: Writer, kind: string, i: number, n: number): EventRow[] {
  const s = w.stream(kind, i);
  const metadata = JSON.stringify(metadataFor(w.orgId, AGENT_IDS[i % AGENT_IDS.length]));
  const rows = Array.from({ length: n }, (_, k) => {
    const e = callLogged(s.contactId, i * n + k);
    return { streamId: s.streamId, streamVersion: s.version + k + 1, orgId: w.orgId, type: e.type, data: JSON.stringify(e.data), metadata, idempotencyKey: e.idempotencyKey ?? null };
  });
  w.advance(s.streamId, s.version + n);
  return rows;
}

async function storeAppend(store: EventStore, w: Writer, kind: string, i: number, n: number): Promise<number> {
  const s = w.stream(kind, i);
  const events = Array.from({ length: n }, (_, k) => callLogged(s.contactId, i * n + k));
  const r = await store.append(s.streamId, events, { expectedVersion: s.version, metadata: metadataFor(w.orgId, AGENT_IDS[i % AGENT_IDS.length]) });
  w.advance(s.streamId, r.nextExpectedVersion);
  return events.length;
}

/**
 * Entries read from events_idempotency_uq so far (server statistics, flushed by backends about once a second).
 * About zero per appended event is healthy (a new key matches nothing); hundreds or more mean the key
 * check scans the organization's whole slice of the index (a generic plan cached while events was tiny).
 */
async function idempotencyIndexReads(db: Database): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT idx_tup_read::text AS n FROM pg_stat_user_indexes WHERE indexrelname = 'events_idempotency_uq'`);
  return Number(rows[0]?.n ?? 0);
}

@Module({})
class BenchModule {}

/** Built after DATABASE_URL is set: PlatformModule.forRoot() reads and validates the environment when called. */
const benchModule = (): DynamicModule => ({
  module: BenchModule,
  imports: [PlatformModule.forRoot(), EventStoreModule.forRoot({ runConsumers: false })],
});

const ALL_SCENARIOS = ['raw single', 'store single', 'raw batch', 'store batch'] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];
/** BENCH_ONLY="store single,raw single" runs a subset (for investigating one path); the default runs all four. */
const SCENARIOS: Scenario[] = (() => {
  const only = process.env.BENCH_ONLY?.split(',').map((x) => x.trim()).filter(Boolean);
  if (!only?.length) return [...ALL_SCENARIOS];
  const unknown = only.filter((x) => !(ALL_SCENARIOS as readonly string[]).includes(x));
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown scenario ${unknown.join(', ')}; known: ${ALL_SCENARIOS.join(', ')}`);
  return ALL_SCENARIOS.filter((x) => only.includes(x));
})();
/** The order of rounds 2, 4, ...: each store scenario just before its raw baseline. */
const PAIR_ORDER = (s: Scenario): number => ALL_SCENARIOS.indexOf(s) + (s.startsWith('store') ? -1.5 : 0);

async function main(): Promise<void> {
  await withScratchDatabase(async (scratch) => {
    // The real code path: EventStore from EventStoreModule over the Database the platform module builds.
    Object.assign(process.env, { DATABASE_URL: scratch.url, LOG_LEVEL: 'warn', PG_POOL_SIZE: String(Math.max(WRITERS + 4, 20)) });
    const app = await NestFactory.createApplicationContext(benchModule(), { logger: false });
    const raw = new RawInsertBaseline(scratch.url, WRITERS);
    try {
      await app.init();
      const store = app.get(EventStore);
      const db = app.get(Database);
      await raw.createTable();
      if (SETUP_SQL) await raw.pool.query(SETUP_SQL);

      printPairs('machine', await machineInfo((sql) => db.query(sql)));
      printPairs('parameters', [
        ['database', `${scratch.name} (scratch, migrated, dropped at the end)`],
        ['writers', `${WRITERS} concurrent closed-loop writers per scenario (store pool ${process.env.PG_POOL_SIZE}, raw pool ${WRITERS})`],
        ['duration', `${ROUNDS} rounds x ${SECONDS} s per scenario, after ${WARMUP_SECONDS} s warm-up each`],
        ['batch', `${BATCH} events per append / per INSERT statement`],
        ['streams', `${STREAMS_PER_WRITER} per writer, exact expectedVersion, ${ORGS} organizations`],
        ['event', `CallLogged, ~${JSON.stringify(callLogged(randomUUID(), 1).data).length} B data + ~${JSON.stringify(metadataFor(ORG_IDS[0], AGENT_IDS[0])).length} B metadata, unique idempotency key`],
        [
          'setup SQL',
          SETUP_SQL
            ? `${process.env.BENCH_SETUP_SQL!.endsWith('.sql') ? `${process.env.BENCH_SETUP_SQL}: ` : ''}${SETUP_SQL.replace(/--.*$/gm, '').trim().replace(/\s+/g, ' ').slice(0, 120)}...`
            : 'none (schema exactly as migrated)',
        ],
        ['baseline', `${RAW_TABLE}: same columns and defaults as events, primary key only (no unique/secondary indexes, no lock)`],
      ]);

      const writers = Array.from({ length: WRITERS }, (_, w) => new Writer(w));
      const ops: Record<Scenario, (w: number, i: number) => Promise<number>> = {
        'raw single': (w, i) => raw.insertOne(rawRows(writers[w], 'raw1', i, 1)[0]),
        'store single': (w, i) => storeAppend(store, writers[w], 'contact', i, 1),
        'raw batch': (w, i) => raw.insertMany(rawRows(writers[w], 'rawN', i, BATCH)),
        'store batch': (w, i) => storeAppend(store, writers[w], 'import', i, BATCH),
      };
      // Iteration counters carry on across rounds so each round keeps cycling the same streams.
      const offsets: Record<Scenario, number> = { 'raw single': 0, 'store single': 0, 'raw batch': 0, 'store batch': 0 };
      const wal: Record<Scenario, WalSnapshot[]> = { 'raw single': [], 'store single': [], 'raw batch': [], 'store batch': [] };
      const keyReads: Record<Scenario, number> = { 'raw single': 0, 'store single': 0, 'raw batch': 0, 'store batch': 0 };
      const counted = { store: 0, raw: 0 }; // warm-up included, checked against the tables at the end
      const run = async (s: Scenario, seconds: number): Promise<LoadResult> => {
        const base = offsets[s];
        const perWriter = new Array<number>(WRITERS).fill(0);
        const before = await walSnapshot((q) => db.query(q));
        const readsBefore = await idempotencyIndexReads(db);
        const r = await runLoad(s, { writers: WRITERS, seconds }, (w, i) => {
          perWriter[w] = Math.max(perWriter[w], i + 1);
          return ops[s](w, base + i);
        });
        wal[s].push(walDiff(before, await walSnapshot((q) => db.query(q))));
        keyReads[s] += (await idempotencyIndexReads(db)) - readsBefore;
        offsets[s] = base + Math.max(...perWriter);
        counted[s.startsWith('store') ? 'store' : 'raw'] += r.events;
        return r;
      };

      process.stdout.write('\nwarm-up ');
      for (const s of SCENARIOS) {
        await run(s, WARMUP_SECONDS);
        wal[s].length = 0;
        keyReads[s] = 0;
        process.stdout.write('.');
      }
      process.stdout.write('\n');

      const results: Record<Scenario, LoadResult[]> = { 'raw single': [], 'store single': [], 'raw batch': [], 'store batch': [] };
      for (let round = 0; round < ROUNDS; round++) {
        // Rounds 2, 4, ... run the store first, so drift on a shared machine does not favour either side.
        const order = round % 2 === 0 ? SCENARIOS : [...SCENARIOS].sort((a, b) => PAIR_ORDER(a) - PAIR_ORDER(b));
        for (const s of order) {
          const r = await run(s, SECONDS);
          results[s].push(r);
          console.log(`round ${round + 1}/${ROUNDS}  ${s.padEnd(12)}  ${fmtRate(r.eventsPerSecond).padStart(9)} events/s  p50 ${fmtMs(r.p50)} ms  p99 ${fmtMs(r.p99)} ms`);
        }
      }

      const total = Object.fromEntries(SCENARIOS.map((s) => [s, combine(results[s])])) as Record<Scenario, ReturnType<typeof combine>>;
      console.log(`\nresults (${ROUNDS} x ${SECONDS} s, ${WRITERS} writers; latency is per call, worst round; WAL is cluster-wide, per event;`);
      console.log(`key reads: idempotency-index entries read per event, ~0 when the key check is a point lookup, as a new key matches nothing)\n`);
      printTable(
        ['scenario', 'events/s', 'calls/s', 'p50 ms', 'p95 ms', 'p99 ms', 'events', 'WAL B', 'WAL rec', 'FPI', 'ckpt', 'key reads', 'per round events/s'],
        SCENARIOS.map((s) => {
          const t = total[s];
          const w = wal[s].reduce((a, b) => ({ records: a.records + b.records, fpi: a.fpi + b.fpi, bytes: a.bytes + b.bytes, checkpoints: a.checkpoints + b.checkpoints }));
          return [
            s,
            fmtRate(t.eventsPerSecond),
            fmtRate(t.opsPerSecond),
            fmtMs(t.p50),
            fmtMs(t.p95),
            fmtMs(t.p99),
            fmtRate(t.events),
            fmtRate(w.bytes / t.events),
            (w.records / t.events).toFixed(1),
            (w.fpi / t.events).toFixed(2),
            String(w.checkpoints),
            s.startsWith('store') ? (keyReads[s] / t.events).toFixed(1) : '-',
            t.perRound.map(fmtRate).join(' / '),
          ];
        }),
      );

      const comparisons = (
        [
          ['store single', 'raw single'],
          ['store batch', 'raw batch'],
        ] as [Scenario, Scenario][]
      ).filter(([a, b]) => SCENARIOS.includes(a) && SCENARIOS.includes(b));
      if (comparisons.length > 0) {
        console.log(`\nratio to the raw rate measured in this run (target >= ${TARGET})\n`);
        printTable(
          ['comparison', 'ratio', 'per round', 'verdict'],
          comparisons.map(([a, b]) => {
            const ratio = total[a].eventsPerSecond / total[b].eventsPerSecond;
            const perRound = results[a].map((r, i) => fmtRatio(r.eventsPerSecond / results[b][i].eventsPerSecond)).join(' / ');
            // Truncated, so a 0.4996 that fails never prints as 0.500.
            return [`${a} / ${b}`, (Math.floor(ratio * 1000) / 1000).toFixed(3), perRound, ratio >= TARGET ? 'PASS' : 'FAIL'];
          }),
        );
      }

      // Sanity: every counted event is stored exactly once.
      const { rows } = await db.query<{ events: number; raw: number; streams: number; events_size: string; raw_size: string }>(
        `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM ${RAW_TABLE}) AS raw, (SELECT count(DISTINCT stream_id) FROM events) AS streams,
                pg_size_pretty(pg_total_relation_size('events')) AS events_size, pg_size_pretty(pg_total_relation_size('${RAW_TABLE}')) AS raw_size`,
      );
      const c = rows[0];
      const check = (n: number, expected: number) => (n === expected ? 'as counted' : `MISMATCH: ${fmtRate(expected)} counted`);
      printPairs('stored (warm-up included)', [
        ['events', `${fmtRate(c.events)} rows (${check(c.events, counted.store)}) in ${fmtRate(c.streams)} streams, ${c.events_size} with indexes`],
        [RAW_TABLE, `${fmtRate(c.raw)} rows (${check(c.raw, counted.raw)}), ${c.raw_size}`],
      ]);
      if (c.events !== counted.store || c.raw !== counted.raw) process.exitCode = 1;
    } finally {
      await raw.close().catch(() => undefined);
      await app.close();
    }
  });
}

main().then(
  () => process.exit(), // process.exitCode when the stored counts did not match
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

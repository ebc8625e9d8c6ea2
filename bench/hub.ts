/**
 * The follow-ups hub (SPEC §6) at scale: GET /api/follow-ups/due latency for one agent's hub in an org of
 * 1,000,000 contacts and 500 agents (about 100,000 of them due), idle and while calls are being ingested, and
 * PATCH latency for 200 ids; beside a raw indexed SELECT of the same agent's due contacts (the floor), in one run.
 *
 *   npm run bench:hub
 *   BENCH_CONTACTS=1000000 BENCH_AGENTS=500 BENCH_SECONDS=10 BENCH_PATCHES=30 npm run bench:hub
 *   BENCH_TIMEZONE=Europe/London npm run bench:hub  # the org's (and so the agents') time zone; default UTC
 *   BENCH_SERVER_ROLE=all npm run bench:hub        # the whole service (workers too) instead of --api-only
 *   BENCH_INGEST_PROCESS=separate npm run bench:hub  # the dialler's batches go to a second --api-only process
 *                                                    # (operations.md: route /api/calls* apart from agents)
 *
 * Phases (one scratch database):
 *   1. org (CLI org:create), the service as a child process, 500 agents through POST /api/users.
 *   2. Populate through the real write path: in this process, a Nest context (platform, event store without
 *      consumers, contacts and hub modules) decides CreateContact (+ ScheduleFollowUp for some) with the contact
 *      decider and stores them with EventStore.appendMany, BENCH_POPULATE_BATCH contacts per call,
 *      BENCH_POPULATE_PARALLEL calls at a time; the inline ContactsProjection writes contacts and follow_ups.
 *      Contact i belongs to agent i % AGENTS; of each agent's contacts, every 10th has a call follow-up due
 *      (spread from 10 days ago to later today) and every 50th (offset 5) one due in 1-30 days. Then ANALYZE.
 *   3. Idle, then again while an ingest load runs (POST /api/calls/batch, BENCH_INGEST_CLIENTS x
 *      BENCH_INGEST_BATCH calls to random contacts, like bench/ingest.ts), each scenario BENCH_SECONDS closed-loop:
 *        raw SELECT          the agent's due contacts straight from `contacts` (the hub's index), LIMIT 200, over pg:
 *                            the floor every hub figure is divided by (same condition, same number of clients)
 *        hub SQL only        the repository's own statement (captured from its first call), over pg, no mapping
 *        hub repository      HubRepository.due() in this process (the hub's SQL + mapping to items, no HTTP)
 *        GET /health/live    the service's HTTP floor: Fastify + Nest, no key lookup, no query
 *        GET limit=10 / 200  over HTTP with the agent's key; with 8 clients, 8 agents, one each
 *      and PATCH /api/follow-ups/due {personIds: <the 200 ids a GET limit=200 returned>, action: snooze} once per
 *      agent for BENCH_PATCHES agents not used otherwise (each has its ~200 due contacts, so each PATCH has 200).
 * Targets (on loopback): GET p99 < 15 ms idle, < 50 ms under ingest.
 *
 * The service runs `--api-only` by default: the worker role would otherwise start an attempt (one more event
 * and projection write each) for every one of the ~100,000 due follow-ups the bulk load just made, a backlog a
 * live system works off as follow-ups fall due, and that would be measured as "idle" here.
 */
import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Pool, PoolClient } from 'pg';
import { Database, PlatformModule } from '@app/shared';
import { AppendRequest, EventMetadata, EventStore, EventStoreModule } from '@app/event-store';
import { ContactEvent, contactDecider, ContactsModule, contactStream, LeadQuality } from '@app/contacts';
import { HubModule, HubRepository, todayIn } from '@app/hub';
import { JsonClient } from './http-client';
import {
  envInt,
  fmtMs,
  fmtRate,
  fmtRatio,
  LoadResult,
  machineInfo,
  now,
  percentile,
  printPairs,
  printTable,
  RawInsertBaseline,
  runLoad,
  secondsSince,
  withScratchDatabase,
  captureStatements,
} from './lib';
import { runJson, startServer } from './server';
import { callBody } from './dialler';

const CONTACTS = envInt('BENCH_CONTACTS', 1_000_000);
const AGENTS = envInt('BENCH_AGENTS', 500);
const SECONDS = envInt('BENCH_SECONDS', 10);
const WARMUP = envInt('BENCH_WARMUP_SECONDS', 2);
const CLIENTS = envInt('BENCH_CLIENTS', 8);
const PATCHES = envInt('BENCH_PATCHES', 30);
const POPULATE_BATCH = envInt('BENCH_POPULATE_BATCH', 1000);
const POPULATE_PARALLEL = envInt('BENCH_POPULATE_PARALLEL', 3);
const INGEST_CLIENTS = envInt('BENCH_INGEST_CLIENTS', 2);
const INGEST_BATCH = envInt('BENCH_INGEST_BATCH', 500);
/** The org's time zone (the agents inherit it): "today", overdue days and the due spread are taken in it. */
const TIMEZONE = process.env.BENCH_TIMEZONE || 'UTC';
const SERVER_ROLE = process.env.BENCH_SERVER_ROLE === 'all' ? 'all' : 'api';
/** `separate`: the ingest load is sent to an API process of its own, as a path-routing proxy would. */
const INGEST_PROCESS = process.env.BENCH_INGEST_PROCESS === 'separate' ? 'separate' : 'same';
const TARGET_IDLE_P99 = 15;
const TARGET_INGEST_P99 = 50;
const DAY = 86_400_000;

// ---------------------------------------------------------------- the world

interface World {
  orgId: string;
  timezone: string;
  agents: { id: string; key: string }[];
  /** contact i is assigned to agents[i % AGENTS] */
  contacts: string[];
}

function leadQuality(i: number): LeadQuality {
  const q = Math.imul(i, 2654435761) >>> 0;
  const p = q % 100;
  return p < 20 ? 'HOT' : p < 60 ? 'WARM' : p < 85 ? 'COLD' : 'NURTURE';
}

/** k = the contact's rank among its agent's contacts: every 10th is due, every 50th (offset 5) due later. */
const isDue = (k: number) => k % 10 === 0;
const isFuture = (k: number) => k % 50 === 5;
/** Low-discrepancy fraction in [0, 1), so each agent's due times cover the whole range. */
const spread = (n: number) => (n * 0.6180339887498949) % 1;

/** The events the contact decider makes for contact i: CreateContact, and ScheduleFollowUp for some. */
function contactEvents(i: number, id: string, world: World, dueFrom: number, dueTo: number, futureFrom: number): ContactEvent[] {
  const agentId = world.agents[i % AGENTS].id;
  const k = Math.floor(i / AGENTS);
  const s0 = contactDecider.initial;
  const events = contactDecider.decide(
    {
      type: 'CreateContact',
      contactId: id,
      name: `Lead ${i}`,
      phone: `+1415${String(i).padStart(7, '0')}`,
      timezone: world.timezone,
      leadQuality: leadQuality(i),
      assignedAgentId: agentId,
      tags: [],
      campaignId: null,
    },
    s0,
  );
  if (!isDue(k) && !isFuture(k)) return events;
  const scheduledAt = isDue(k) ? dueFrom + spread(k / 10) * (dueTo - dueFrom) : futureFrom + spread(k) * 29 * DAY;
  const s1 = events.reduce(contactDecider.evolve, s0);
  events.push(
    ...contactDecider.decide(
      {
        type: 'ScheduleFollowUp',
        contactId: id,
        source: 'import',
        followUp: {
          followUpId: randomUUID(),
          type: 'call',
          scheduledAt: new Date(scheduledAt).toISOString(),
          agentId: null,
          priority: 'normal',
          maxAttempts: 3,
          allowOutOfWindow: false,
          notes: null,
          campaignId: null,
        },
      },
      s1,
    ),
  );
  return events;
}

// ---------------------------------------------------------------- in-process Nest context (the write path)

@Module({})
class BenchModule {}

/** Built after DATABASE_URL is set: PlatformModule.forRoot() reads the environment when called. */
const benchModule = (): DynamicModule => ({
  module: BenchModule,
  imports: [PlatformModule.forRoot(), CqrsModule.forRoot(), EventStoreModule.forRoot({ runConsumers: false }), ContactsModule, HubModule],
});

async function populate(store: EventStore, world: World, adminUserId: string): Promise<{ seconds: number; events: number }> {
  const t = new Date();
  const { end } = todayIn(world.timezone, t);
  // Due: from 10 days ago to a minute before the end of today (the org's zone); not due: from tomorrow on.
  const dueFrom = t.getTime() - 10 * DAY;
  const dueTo = Math.max(t.getTime(), end.getTime() - 60_000);
  const futureFrom = end.getTime() + 3_600_000;
  const batches = Math.ceil(CONTACTS / POPULATE_BATCH);
  let next = 0;
  let events = 0;
  let done = 0;
  const start = now();
  let lastReport = start;
  const loop = async () => {
    for (let b = next++; b < batches; b = next++) {
      const requests: AppendRequest[] = [];
      for (let i = b * POPULATE_BATCH; i < Math.min(CONTACTS, (b + 1) * POPULATE_BATCH); i++) {
        const id = randomUUID();
        world.contacts[i] = id;
        requests.push({ streamId: contactStream(id), expectedVersion: 0, events: contactEvents(i, id, world, dueFrom, dueTo, futureFrom) });
      }
      const metadata: EventMetadata = { orgId: world.orgId, actorId: adminUserId, occurredAt: new Date().toISOString() };
      const results = await store.appendMany(requests, metadata);
      const bad = results.filter((r) => r.outcome !== 'ok');
      if (bad.length) throw new Error(`populate: ${bad.length} appends not ok (${bad[0].outcome})`);
      events += requests.reduce((s, r) => s + r.events.length, 0);
      done += requests.length;
      if (Number(now() - lastReport) > 15e9) {
        lastReport = now();
        const s = secondsSince(start);
        process.stderr.write(`  populate: ${fmtRate(done)} contacts in ${s.toFixed(0)} s (${fmtRate(done / s)}/s)\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: POPULATE_PARALLEL }, loop));
  return { seconds: secondsSince(start), events };
}

// ---------------------------------------------------------------- the service

/** The service as a child process: `--api-only` (default) or the whole service (BENCH_SERVER_ROLE=all). */
const startService = (env: Record<string, string>) => startServer(env, SERVER_ROLE === 'all' ? [] : ['--api-only']);

// ---------------------------------------------------------------- the ingest load (bench/dialler.ts's calls, on random contacts)

function call(world: World, i: number) {
  const c = Math.floor(Math.random() * world.contacts.length);
  return callBody({ id: world.contacts[c], agentId: world.agents[c % AGENTS].id }, i);
}

interface IngestLoad {
  stop(): Promise<{ calls: number; seconds: number; notAccepted: number; p50: number; p99: number }>;
}

function startIngest(client: JsonClient, world: World): IngestLoad {
  let running = true;
  let n = 0;
  let calls = 0;
  let notAccepted = 0;
  const latencies: number[] = [];
  const start = now();
  const loop = async () => {
    while (running) {
      const body = { calls: Array.from({ length: INGEST_BATCH }, () => call(world, n++)) };
      const t0 = now();
      const res = await client.request('POST', '/api/calls/batch', body);
      latencies.push(Number(now() - t0) / 1e6);
      if (res.status !== 200) throw new Error(`batch: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      notAccepted += res.body.results.filter((r: { status: string }) => r.status !== 'accepted').length;
      calls += INGEST_BATCH;
    }
  };
  const loops = Promise.all(Array.from({ length: INGEST_CLIENTS }, loop));
  loops.catch(() => (running = false));
  return {
    async stop() {
      running = false;
      await loops;
      const sorted = Float64Array.from(latencies).sort();
      return { calls, seconds: secondsSince(start), notAccepted, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
    },
  };
}

// ---------------------------------------------------------------- measurements

/** The floor: the agent's due contacts straight from the table, on the hub's index, no ordering by group, no counts. */
const RAW_SELECT = {
  name: 'bench-hub-raw',
  text: `SELECT id, name, lead_quality, lead_status, status, next_follow_up_at FROM contacts
          WHERE org_id = $1 AND assigned_agent_id = $2 AND status = 'ACTIVE' AND next_follow_up_at IS NOT NULL AND next_follow_up_at < $3
          ORDER BY next_follow_up_at LIMIT 200`,
};

interface Row {
  scenario: string;
  clients: number;
  result: LoadResult;
  /** the raw SELECT row (same condition, same clients) this one is compared with */
  floor?: LoadResult;
  target?: number;
}

async function measureCondition(
  condition: 'idle' | 'ingest',
  world: World,
  raw: Pool,
  repo: HubRepository,
  hubSql: { text: string; values: unknown[] },
  http: JsonClient[],
): Promise<Row[]> {
  const agentIds = world.agents.slice(0, CLIENTS).map((a) => a.id);
  const target = condition === 'idle' ? TARGET_IDLE_P99 : TARGET_INGEST_P99;
  const endOfToday = () => todayIn(world.timezone, new Date()).end;
  const rawSelect = (agent: number) => async () => {
    const { rows } = await raw.query({ ...RAW_SELECT, values: [world.orgId, agentIds[agent], endOfToday()] });
    return rows.length;
  };
  const get = (limit: number) => async (agent: number) => {
    const res = await http[agent].request('GET', `/api/follow-ups/due?limit=${limit}`);
    if (res.status !== 200) throw new Error(`GET due: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    return res.body.followUps.length;
  };
  const label = (s: string) => `${s} [${condition}]`;
  await runLoad('warm-up', { writers: CLIENTS, seconds: WARMUP }, async (w) => (await rawSelect(w)()) + (await get(200)(w)));

  const rows: Row[] = [];
  const rawOne = await runLoad(label('raw SELECT 200'), { writers: 1, seconds: SECONDS }, () => rawSelect(0)());
  rows.push({ scenario: rawOne.label, clients: 1, result: rawOne });
  const sqlOne = await runLoad(label('hub SQL only, limit 200'), { writers: 1, seconds: SECONDS }, async () => {
    const { rows } = await raw.query({ name: 'bench-hub-sql', text: hubSql.text, values: hubSql.values });
    return rows.length;
  });
  rows.push({ scenario: sqlOne.label, clients: 1, result: sqlOne, floor: rawOne });
  const repoOne = await runLoad(label('hub repository, limit 200'), { writers: 1, seconds: SECONDS }, async () => {
    const page = await repo.due(world.orgId, agentIds[0], world.timezone, new Date(), 'all', 200);
    return page.followUps.length;
  });
  rows.push({ scenario: repoOne.label, clients: 1, result: repoOne, floor: rawOne });
  const live = await runLoad(label('GET /health/live'), { writers: 1, seconds: SECONDS }, async () => {
    const res = await http[0].request('GET', '/health/live');
    if (res.status !== 200) throw new Error(`GET /health/live: ${res.status}`);
    return 1;
  });
  rows.push({ scenario: live.label, clients: 1, result: live });
  for (const limit of [10, 200]) {
    const r = await runLoad(label(`GET limit=${limit}`), { writers: 1, seconds: SECONDS }, () => get(limit)(0));
    rows.push({ scenario: r.label, clients: 1, result: r, floor: rawOne, target });
  }
  const rawMany = await runLoad(label('raw SELECT 200'), { writers: CLIENTS, seconds: SECONDS }, (w) => rawSelect(w)());
  rows.push({ scenario: rawMany.label, clients: CLIENTS, result: rawMany });
  for (const limit of [10, 200]) {
    const r = await runLoad(label(`GET limit=${limit}`), { writers: CLIENTS, seconds: SECONDS }, (w) => get(limit)(w));
    rows.push({ scenario: r.label, clients: CLIENTS, result: r, floor: rawMany, target });
  }
  return rows;
}

/** PATCH snooze of the ids a GET limit=200 returned, once per agent, one at a time. */
async function measurePatches(condition: string, url: URL, agents: World['agents']): Promise<{ result: LoadResult; ids: number; updated: number }> {
  const latencies: number[] = [];
  let ids = 0;
  let updated = 0;
  const start = now();
  for (const agent of agents) {
    const client = new JsonClient(url, agent.key, 1);
    const page = await client.request('GET', '/api/follow-ups/due?limit=200');
    const personIds: string[] = page.body.followUps.map((f: { contactId: string }) => f.contactId);
    const t0 = now();
    const res = await client.request('PATCH', '/api/follow-ups/due', { personIds, action: 'snooze' });
    latencies.push(Number(now() - t0) / 1e6);
    if (res.status !== 200) throw new Error(`PATCH due: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    ids += personIds.length;
    updated += res.body.count;
    // SPEC §6: the next read no longer shows what was just snoozed.
    const after = await client.request('GET', '/api/follow-ups/due?limit=200');
    const cleared = new Set(personIds);
    const left = after.body.followUps.filter((f: { contactId: string }) => cleared.has(f.contactId)).length;
    if (left > 0) throw new Error(`PATCH snooze: ${left} of ${personIds.length} contacts still listed for agent ${agent.id}`);
    client.close();
  }
  const seconds = secondsSince(start);
  const sorted = Float64Array.from(latencies).sort();
  const result: LoadResult = {
    label: `PATCH snooze x200 [${condition}]`,
    writers: 1,
    ops: latencies.length,
    events: updated,
    seconds,
    eventsPerSecond: updated / seconds,
    opsPerSecond: latencies.length / seconds,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1],
  };
  return { result, ids, updated };
}

/** EXPLAIN ANALYZE of the hub's own statement (as the repository sent it), as a custom and as a generic plan. */
async function explainHub(pg: PoolClient, captured: { text: string; values: unknown[] }): Promise<void> {
  const values = captured.values.map((v) => (v instanceof Date ? v.toISOString() : v));
  const custom = await pg.query(`EXPLAIN (ANALYZE, BUFFERS) ${captured.text}`, values);
  console.log('\nEXPLAIN (ANALYZE, BUFFERS) of the hub query, agent 0, limit 200 (custom plan)');
  for (const r of custom.rows) console.log(`  ${r['QUERY PLAN']}`);
  await pg.query('SET plan_cache_mode = force_generic_plan');
  await pg.query(`PREPARE bench_hub_generic AS ${captured.text}`);
  const literals = values.map((v) => (typeof v === 'number' ? String(v) : pg.escapeLiteral(String(v))));
  const generic = await pg.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_hub_generic(${literals.join(', ')})`);
  await pg.query('DEALLOCATE bench_hub_generic; RESET plan_cache_mode');
  console.log('\nthe same as a generic plan (what a pooled connection may settle on after 5 executions of the prepared statement)');
  for (const r of generic.rows) console.log(`  ${r['QUERY PLAN']}`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  await withScratchDatabase(async (scratch) => {
    const env = {
      DATABASE_URL: scratch.url,
      QUEUE_PREFIX: scratch.name,
      PG_POOL_SIZE: String(envInt('BENCH_SERVER_POOL', 24)),
    };
    const org = await runJson('apps/cli/src/main.ts', ['org:create', '--name', 'Bench', '--timezone', TIMEZONE], env);
    const server = await startService(env);
    const admin = new JsonClient(server.url, org.adminKey, 16);
    const pg = new Pool({ connectionString: scratch.url, max: CLIENTS + 2, application_name: 'fu-bench-hub' });
    pg.on('error', () => undefined);
    Object.assign(process.env, { DATABASE_URL: scratch.url, LOG_LEVEL: 'warn', PG_POOL_SIZE: String(POPULATE_PARALLEL + 4) });
    const app = await NestFactory.createApplicationContext(benchModule(), { logger: false });
    try {
      // ---- the org: settings (time zone; expiry later than the oldest due time), agents, a dialler key
      const settings = await admin.request('GET', '/api/settings');
      const timezone: string = settings.body?.timezone ?? TIMEZONE;
      const patched = await admin.request('PATCH', '/api/settings', { expireAfterDays: 30 });
      if (patched.status !== 200) throw new Error(`settings: ${patched.status} ${JSON.stringify(patched.body).slice(0, 300)}`);
      const world: World = { orgId: org.orgId, timezone, agents: [], contacts: new Array(CONTACTS) };
      const tAgents = now();
      for (let a = 0; a < AGENTS; a += 16) {
        const made = await Promise.all(
          Array.from({ length: Math.min(16, AGENTS - a) }, (_, k) => admin.request('POST', '/api/users', { name: `Agent ${a + k}`, role: 'agent' })),
        );
        for (const m of made) {
          if (m.status !== 201) throw new Error(`agent: ${m.status} ${JSON.stringify(m.body).slice(0, 300)}`);
          world.agents.push({ id: m.body.id, key: m.body.apiKey });
        }
      }
      const agentsSeconds = secondsSince(tAgents);
      const dialler = await admin.request('POST', '/api/users', { name: 'Dialler', role: 'integration' });

      // ---- raw batch INSERT rate, the yardstick for the load rate
      const rawInsert = new RawInsertBaseline(scratch.url, POPULATE_PARALLEL);
      await rawInsert.createTable();
      const rawLoad = await runLoad(`raw INSERT x${POPULATE_BATCH}`, { writers: POPULATE_PARALLEL, seconds: 5 }, (_, i) =>
        rawInsert.insertMany(
          Array.from({ length: POPULATE_BATCH }, (_, k) => ({
            streamId: `contact-${randomUUID()}`,
            streamVersion: 1,
            orgId: org.orgId,
            type: 'ContactCreated',
            data: JSON.stringify({ contactId: randomUUID(), name: `Lead ${i * POPULATE_BATCH + k}`, phone: '+14150000000', timezone, leadQuality: 'WARM', leadStatus: 'New', assignedAgentId: randomUUID(), tags: [], campaignId: null, status: 'ACTIVE' }),
            metadata: JSON.stringify({ orgId: org.orgId, actorId: org.adminUserId, occurredAt: new Date().toISOString() }),
            idempotencyKey: null,
          })),
        ),
      );
      await rawInsert.pool.query('DROP TABLE bench_raw_events');
      await rawInsert.close();

      // ---- populate through EventStore.appendMany + the inline projection
      process.stderr.write(`populating ${fmtRate(CONTACTS)} contacts over ${AGENTS} agents...\n`);
      const store = app.get(EventStore);
      const loaded = await populate(store, world, org.adminUserId);
      const tAnalyze = now();
      await pg.query('ANALYZE contacts; ANALYZE follow_ups; ANALYZE events');
      const analyzeSeconds = secondsSince(tAnalyze);
      const sizes = (
        await pg.query(`SELECT (SELECT count(*) FROM contacts)::int AS contacts, (SELECT count(*) FROM follow_ups)::int AS follow_ups,
            (SELECT count(*) FROM events)::int AS events,
            (SELECT count(*) FROM contacts WHERE status = 'ACTIVE' AND next_follow_up_at < $1)::int AS due,
            pg_size_pretty(pg_total_relation_size('contacts')) AS contacts_size, pg_size_pretty(pg_relation_size('contacts_hub_ix')) AS hub_ix_size,
            pg_size_pretty(pg_total_relation_size('events')) AS events_size`,
          [todayIn(timezone, new Date()).end],
        )
      ).rows[0];

      // The hub's statement as the repository sends it, for EXPLAIN (captured on its first call).
      const db = app.get(Database);
      const repo = app.get(HubRepository);
      const sent = await captureStatements(db, () => repo.due(world.orgId, world.agents[0].id, timezone, new Date(), 'all', 200));
      const captured = sent.find((st) => st.name === 'hub-due');
      if (!captured) throw new Error('the hub statement was not captured');
      const hubSql: { text: string; values: unknown[] } = { text: captured.text, values: captured.values };

      const http = world.agents.slice(0, CLIENTS).map((a) => new JsonClient(server.url, a.key, 1));
      const dueOf = async (agent: number) => (await http[agent].request('GET', '/api/follow-ups/due?limit=10')).body.counts;
      const dueBefore = await dueOf(0);
      const patchIdle = world.agents.slice(CLIENTS, CLIENTS + PATCHES);
      const patchIngest = world.agents.slice(CLIENTS + PATCHES, CLIENTS + 2 * PATCHES);

      // ---- idle
      process.stderr.write('measuring (idle)...\n');
      const rows = await measureCondition('idle', world, pg, repo, hubSql, http);
      const patchesIdle = await measurePatches('idle', server.url, patchIdle);

      // ---- while calls are being ingested
      process.stderr.write('measuring (under ingest)...\n');
      const ingestServer = INGEST_PROCESS === 'separate' ? await startServer(env, ['--api-only']) : null;
      const ingestClient = new JsonClient((ingestServer ?? server).url, dialler.body.apiKey, INGEST_CLIENTS);
      const ingest = startIngest(ingestClient, world);
      if (process.env.PROFILE_ON_SIGNAL === 'ingest') server.profile();
      rows.push(...(await measureCondition('ingest', world, pg, repo, hubSql, http)));
      const patchesIngest = await measurePatches('ingest', server.url, patchIngest);
      const ingestDone = await ingest.stop();
      ingestClient.close();
      await ingestServer?.stop();
      const dueAfter = await dueOf(0);

      const explainClient = await pg.connect();
      try {
        await explainHub(explainClient, hubSql);
      } finally {
        explainClient.release();
      }

      // ---- report
      printPairs('Machine', [
        ...(await machineInfo((sql) => pg.query(sql))),
        ['service', SERVER_ROLE === 'all' ? 'whole service (API + workers), one process' : 'API role only (--api-only), one process'],
        ['ingest load to', INGEST_PROCESS === 'separate' ? 'a second --api-only process (agents and dialler routed apart)' : 'the same process as the agents'],
        ['server pool', `${env.PG_POOL_SIZE} connections`],
      ]);
      printPairs('Data', [
        ['contacts', `${fmtRate(sizes.contacts)} in one org (time zone ${timezone}), ${AGENTS} agents (${fmtRate(CONTACTS / AGENTS)} each), ${sizes.contacts_size} with indexes`],
        ['follow-ups', `${fmtRate(sizes.follow_ups)} open call follow-ups (scheduled by the bulk load)`],
        ['due now', `${fmtRate(sizes.due)} contacts (${fmtRate(sizes.due / AGENTS)} per agent); hub index ${sizes.hub_ix_size}`],
        ['events', `${fmtRate(sizes.events)} (${sizes.events_size} with indexes)`],
        ['agents created', `${AGENTS} through POST /api/users in ${agentsSeconds.toFixed(1)} s`],
        [
          'populate',
          `${fmtRate(CONTACTS)} contacts in ${loaded.seconds.toFixed(0)} s: ${fmtRate(CONTACTS / loaded.seconds)} contacts/s, ${fmtRate(loaded.events / loaded.seconds)} events/s ` +
            `(appendMany x${POPULATE_BATCH}, ${POPULATE_PARALLEL} at a time, inline projection)`,
        ],
        ['raw INSERT', `${fmtRate(rawLoad.eventsPerSecond)} rows/s (x${POPULATE_BATCH} into a bare events-shaped table, ${POPULATE_PARALLEL} connections): load = ${fmtRatio(loaded.events / loaded.seconds / rawLoad.eventsPerSecond)} of raw`],
        ['ANALYZE', `contacts, follow_ups, events in ${analyzeSeconds.toFixed(1)} s (autovacuum is off on this server: nothing else would)`],
        ['agent 0 due', `before: ${JSON.stringify(dueBefore)}; after the ingest phase: ${JSON.stringify(dueAfter)}`],
        [
          'ingest load',
          `${INGEST_CLIENTS} x POST /api/calls/batch x${INGEST_BATCH}: ${fmtRate(ingestDone.calls / ingestDone.seconds)} calls/s over ${ingestDone.seconds.toFixed(0)} s ` +
            `(batch p50 ${fmtMs(ingestDone.p50)} ms, p99 ${fmtMs(ingestDone.p99)} ms; ${ingestDone.notAccepted} not accepted)`,
        ],
      ]);
      console.log('');
      printTable(
        ['scenario', 'clients', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'p50/floor', 'p99/floor', 'target p99', 'verdict'],
        rows.map((r) => [
          r.scenario,
          String(r.clients),
          fmtRate(r.result.opsPerSecond),
          fmtMs(r.result.p50),
          fmtMs(r.result.p99),
          fmtMs(r.result.max),
          r.floor ? fmtRatio(r.result.p50 / r.floor.p50) : '',
          r.floor ? fmtRatio(r.result.p99 / r.floor.p99) : '',
          r.target ? `< ${r.target} ms` : '',
          r.target ? (r.result.p99 < r.target ? 'PASS' : 'FAIL') : '',
        ]),
      );
      console.log('');
      printTable(
        ['PATCH (200 ids, one agent each)', 'PATCHes', 'p50 ms', 'p99 ms', 'max ms', 'contacts updated'],
        [patchesIdle, patchesIngest].map((p) => [p.result.label, String(p.result.ops), fmtMs(p.result.p50), fmtMs(p.result.p99), fmtMs(p.result.max), `${p.updated} of ${p.ids}`]),
      );
      http.forEach((c) => c.close());
    } finally {
      admin.close();
      await app.close();
      await pg.end();
      await server.stop();
    }
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

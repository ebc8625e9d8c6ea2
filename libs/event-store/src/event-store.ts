import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EventEmitter } from 'node:events';
import { Database, NotFoundError, opaqueArray, pgArrayLiteral, Sql, StatementBatch } from '@app/shared';
import { Counter } from 'prom-client';
import { ConcurrencyError } from './concurrency.error';
import { AppendResult, Checkpoint, EventMetadata, ExpectedVersion, NewEvent, PlannedEvent, StoredEvent } from './event-store.types';
import { Projection } from './projection';
import { ProjectionRegistry } from './projection.registry';
import { StreamLockBudget } from './stream-lock-budget';

/** Two 1,000-call batches, or four of 500, in flight at once: what two cores keep busy (docs/benchmarks.md). */
export const DEFAULT_STREAM_LOCK_BUDGET = 2000;

const APPEND_SQL = { name: 'fu_append', text: 'SELECT replayed, stream_version, positions::text[] AS positions, transaction_id::text AS transaction_id FROM fu_append($1, $2, $3, $4, $5, $6, $7)' };
const EVENT_COLUMNS = `global_position::text AS global_position, transaction_id::text AS transaction_id, stream_id, stream_version,
  org_id, type, data, metadata, idempotency_key`;

const appendedEvents = new Counter({ name: 'event_store_appended_events_total', help: 'Events stored by appends', labelNames: ['type'] });
const replayedAppends = new Counter({ name: 'event_store_replayed_appends_total', help: 'Appends answered from an idempotency key' });

/** One stream's part of a multi-stream append. */
export interface AppendRequest {
  readonly streamId: string;
  readonly events: readonly NewEvent[];
  readonly expectedVersion: ExpectedVersion;
}

export type AppendOutcome = 'ok' | 'replayed' | 'conflict' | 'foreign';

export interface ManyResult {
  readonly outcome: AppendOutcome;
  /** ok / replayed: the stream's version after the append; conflict: its current version. */
  readonly streamVersion: number | null;
  readonly events: readonly StoredEvent[];
}

/** The multi-stream append's call; its eight parameters come first in every statement that makes it. */
const APPEND_MANY_CALL = 'fu_append_many_json($1, $2, $3, $4, $5, $6, $7, $8)';
const APPEND_MANY_SQL = {
  name: 'fu_append_many_json',
  // The transaction id comes with the rows (a plpgsql set-returning function has run to its end, inserts and
  // all, before the first row is projected), instead of a round trip of its own. The events' data go as one JSON
  // array and the metadata once (fu_append_many_json, migration 0017), not as jsonb[] literals.
  text: `SELECT request, outcome, stream_version, positions::text[] AS positions, pg_current_xact_id()::text AS transaction_id FROM ${APPEND_MANY_CALL}`,
};

/**
 * Names for the texts of one-statement appends, so each connection parses and plans a text once (node-postgres
 * prepares a named statement per connection; Postgres then keeps its plan). Unnamed, every group of single pushes
 * paid for parsing and planning a statement of a dozen CTEs: 0.3 ms of planning alone a statement, a tenth of
 * Postgres's CPU for single pushes (pg_stat_statements). A text depends only on which projection writes an append
 * needs (which CTEs, how many parameters), so there are few; past MAX_NAMED_TEXTS they go unnamed. A kept generic
 * plan must not depend on the table sizes it was made at: the one choice in these statements, the contacts UPDATE's
 * `id = ANY ($n)`, is a scan of contacts_pkey in the generic plan even when made on a 20-row table, and stays one as
 * the table grows to 300,000 rows unanalyzed (checked with EXPLAIN EXECUTE).
 */
const MAX_NAMED_TEXTS = 256;
const namedTexts = new Map<string, string>();
function statementName(text: string): string | undefined {
  let name = namedTexts.get(text);
  if (name === undefined && namedTexts.size < MAX_NAMED_TEXTS) namedTexts.set(text, (name = `fu_one_statement_${namedTexts.size + 1}`));
  return name;
}

/** SQLSTATE of fu_all_appended (migration 0019): a request of a one-statement append was not stored. */
const NOT_ALL_APPENDED = 'EV412';

interface ManyRow {
  request: number;
  outcome: AppendOutcome;
  stream_version: string | null;
  positions: string[] | null;
  transaction_id: string;
}

/**
 * An appendMany that failed for a race, not for what it asked, and stored nothing: run it again. Two retries of the
 * same append on different streams raced past the key check (the unique index stopped the second), or two appends
 * deadlocked in the read models' rows (two call batches naming each other's new callIds for different contacts,
 * say) and Postgres failed this one.
 */
function runAgain(err: unknown): boolean {
  return (err as { constraint?: string }).constraint === 'events_idempotency_uq' || (err as { code?: string }).code === '40P01';
}

/** fu_append_many's rows as each request's answer, with the events it stored. */
function manyResults(requests: readonly AppendRequest[], metadata: EventMetadata, rows: readonly ManyRow[]): ManyResult[] {
  return rows.map((row) => {
    const request = requests[row.request - 1];
    const version = row.stream_version === null ? null : Number(row.stream_version);
    const stored: StoredEvent[] =
      row.outcome !== 'ok'
        ? []
        : request.events.map((e, i) => ({
            globalPosition: row.positions![i],
            transactionId: row.transaction_id,
            streamId: request.streamId,
            streamVersion: version! - request.events.length + i + 1,
            orgId: metadata.orgId,
            type: e.type,
            data: e.data,
            metadata,
            idempotencyKey: e.idempotencyKey ?? null,
          }));
    return { outcome: row.outcome, streamVersion: version, events: stored };
  });
}

export interface AppendOptions {
  readonly expectedVersion: ExpectedVersion;
  readonly metadata: EventMetadata;
}

interface Row {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_version: number;
  org_id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  idempotency_key: string | null;
}

/** A row as a StoredEvent, with its metadata parsed (readAfter shares one object among the events of an append). */
const toStored = (r: Omit<Row, 'metadata'>, metadata: EventMetadata): StoredEvent => ({
  globalPosition: r.global_position,
  transactionId: r.transaction_id,
  streamId: r.stream_id,
  streamVersion: Number(r.stream_version),
  orgId: r.org_id,
  type: r.type,
  data: r.data,
  metadata,
  idempotencyKey: r.idempotency_key,
});

/** Wakes this process's consumers right after a local append, so they need not wait for the next poll. */
@Injectable()
export class AppendSignal extends EventEmitter {}

/** PostgreSQL event store: atomic multi-event appends with optimistic concurrency and idempotency keys. */
@Injectable()
export class EventStore {
  /** Streams this process's multi-stream appends hold locked at once (STREAM_LOCK_BUDGET): see StreamLockBudget. */
  private readonly lockBudget: StreamLockBudget;

  constructor(
    private readonly db: Database,
    private readonly registry: ProjectionRegistry,
    private readonly signal: AppendSignal,
    config: ConfigService,
  ) {
    this.lockBudget = new StreamLockBudget(Number(config.get('STREAM_LOCK_BUDGET') ?? DEFAULT_STREAM_LOCK_BUDGET));
  }

  /**
   * Appends events to one stream atomically. Inline projections for these event types run in the same
   * transaction. Throws ConcurrencyError when the stream is not at the expected version.
   */
  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const inline = this.registry.inlineFor(events.map((e) => e.type));
    let result: AppendResult;
    for (let attempt = 1; ; attempt++) {
      try {
        result =
          inline.length === 0
            ? await this.appendWith(this.db, streamId, events, options)
            : await this.db.transaction(async (tx) => {
                const r = await this.appendWith(tx, streamId, events, options);
                if (!r.replayed) for (const p of inline) await p.handle(r.events.filter((e) => p.eventTypes.includes(e.type)), tx);
                return r;
              });
        break;
      } catch (err) {
        // Two retries of the same append raced past the key check (running it again returns the first one's result),
        // or its inline projection's writes deadlocked with another append's: see runAgain.
        if (runAgain(err) && attempt < 3) continue;
        throw err;
      }
    }
    if (result.replayed) replayedAppends.inc();
    else {
      for (const e of events) appendedEvents.inc({ type: e.type });
      this.signal.emit('appended');
    }
    return result;
  }

  /**
   * Appends to many streams of one organization in one transaction (one round trip for the events, one pass
   * of each inline projection). Each request is answered on its own: a stale version is 'conflict', a seen
   * idempotency key 'replayed', another organization's stream 'foreign'; the others are stored.
   *
   * When every request names its stream's version and the inline projections can say their writes up front
   * (`Projection.statements`) as one statement, the append and those writes go as one statement: one round trip
   * where BEGIN, the append, the projection and COMMIT took four, which on a busy host cost more than the work
   * (see oneStatement). A request that is not stored makes that statement fail, storing nothing, and the call is
   * made again the long way, which answers each request on its own.
   */
  async appendMany(requests: readonly AppendRequest[], metadata: EventMetadata): Promise<ManyResult[]> {
    if (requests.length === 0) return [];
    const release = await this.lockBudget.take(new Set(requests.map((r) => r.streamId)).size);
    try {
      return await this.appendManyNow(requests, metadata);
    } finally {
      release();
    }
  }

  private async appendManyNow(requests: readonly AppendRequest[], metadata: EventMetadata): Promise<ManyResult[]> {
    const events = requests.flatMap((r) => r.events);
    const inline = this.registry.inlineFor(events.map((e) => e.type));
    // The arrays as literals made here (pgArrayLiteral), not by node-postgres: see there.
    const values = [
      metadata.orgId,
      pgArrayLiteral(requests.map((r) => r.streamId)),
      pgArrayLiteral(requests.map((r) => r.expectedVersion)),
      pgArrayLiteral(requests.map((r) => r.events.length)),
      pgArrayLiteral(events.map((e) => e.type)),
      JSON.stringify(events.map((e) => e.data)),
      JSON.stringify(metadata),
      pgArrayLiteral(events.map((e) => e.idempotencyKey ?? null)),
    ];
    const single = this.oneStatement(requests, metadata, inline, values);
    if (single) {
      try {
        return this.appended(manyResults(requests, metadata, (await this.db.query<ManyRow>(single)).rows));
      } catch (err) {
        // Not every request could be stored (or the statement lost a race, see runAgain): nothing was; answer each below.
        if ((err as { code?: string }).code !== NOT_ALL_APPENDED && !runAgain(err)) throw err;
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await this.db.transaction(async (tx) => {
          const out = manyResults(requests, metadata, (await tx.query<ManyRow>({ ...APPEND_MANY_SQL, values })).rows);
          const stored = out.flatMap((r) => r.events);
          if (stored.length > 0) for (const p of inline) await p.handle(stored.filter((e) => p.eventTypes.includes(e.type)), tx);
          return out;
        });
        return this.appended(results);
      } catch (err) {
        if (runAgain(err) && attempt < 3) continue;
        throw err;
      }
    }
  }

  private appended(results: ManyResult[]): ManyResult[] {
    for (const r of results) for (const e of r.events) appendedEvents.inc({ type: e.type });
    if (results.some((r) => r.outcome === 'ok')) this.signal.emit('appended');
    return results;
  }

  /**
   * The append and the inline projections' writes as one statement, or null when they cannot be: a request without an
   * expected version (its events' versions are not known before the append), a projection without `statements`,
   * writes that need more than one statement, or a write that reads a table (`reads`).
   *
   * The append runs first: the writes' CTEs are not read by the main query, so Postgres runs them after it, to
   * completion (and whatever the order, a statement is atomic). `g` fails the whole statement when a request was not
   * stored, so no write is ever made for events that were not. The writes see the statement's snapshot, taken
   * before the append waited for its streams' locks, so only writes that read nothing but the rows they write may
   * go here (an UPDATE re-reads those at their latest version, ON CONFLICT sees the latest row): a statement that
   * declares `reads` sends the call the long way.
   */
  private oneStatement(
    requests: readonly AppendRequest[],
    metadata: EventMetadata,
    inline: readonly Projection[],
    values: unknown[],
  ): { name?: string; text: string; values: unknown[] } | null {
    if (inline.length === 0) return { ...APPEND_MANY_SQL, values };
    if (inline.some((p) => !p.statements) || requests.some((r) => r.expectedVersion < 0)) return null;
    const planned: PlannedEvent[] = requests.flatMap((r) =>
      r.events.map((e, i) => ({
        streamId: r.streamId,
        streamVersion: r.expectedVersion + i + 1,
        orgId: metadata.orgId,
        type: e.type,
        data: e.data,
        metadata,
        idempotencyKey: e.idempotencyKey ?? null,
      })),
    );
    const statements = inline.flatMap((p) => p.statements!(planned.filter((e) => p.eventTypes.includes(e.type))));
    // A write that reads another table would read it as of before the streams' locks: not in this statement.
    if (statements.some((st) => st.reads?.length)) return null;
    const writes = new StatementBatch(statements).asCtes(values.length);
    if (!writes) return null;
    const text = `WITH a AS MATERIALIZED (SELECT request, outcome, stream_version, positions FROM ${APPEND_MANY_CALL}),
        g AS MATERIALIZED (SELECT fu_all_appended(array_agg(a.outcome)) AS ok FROM a)${writes.ctes.map((c) => `,\n${c}`).join('')}
        SELECT a.request, a.outcome, a.stream_version, a.positions::text[] AS positions, pg_current_xact_id()::text AS transaction_id
          FROM a CROSS JOIN g ORDER BY a.request`;
    return { name: statementName(text), text, values: [...values, ...writes.values] };
  }

  /** Many streams' events in one query, grouped by stream in version order (scoped to an organization). */
  async readStreams(orgId: string, streamIds: readonly string[]): Promise<Map<string, StoredEvent[]>> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ANY ($1) AND org_id = $2 ORDER BY stream_id, stream_version`,
      [streamIds, orgId],
    );
    const byStream = new Map<string, StoredEvent[]>(streamIds.map((id) => [id, []]));
    for (const r of rows) byStream.get(r.stream_id)!.push(toStored(r, r.metadata));
    return byStream;
  }

  /**
   * For folding from a known state: each stream's events after a version, just what a fold needs (type, data,
   * version). One query; a LATERAL range read per stream on (stream_id, stream_version), whatever the statistics.
   * The arrays go in through opaqueArray: bare, a read of a stream or two was planned again at every read (0.1 ms of
   * planning against 0.02 ms of execution, pg_stat_statements).
   */
  async readTails(orgId: string, tails: readonly { streamId: string; after: number }[]): Promise<Map<string, { version: number; type: string; data: unknown }[]>> {
    const byStream = new Map<string, { version: number; type: string; data: unknown }[]>(tails.map((t) => [t.streamId, []]));
    if (tails.length === 0) return byStream;
    const { rows } = await this.db.query<{ stream_id: string; stream_version: string; type: string; data: unknown }>(
      {
        name: 'read-tails',
        text: `SELECT s.id AS stream_id, e.stream_version, e.type, e.data
                 FROM unnest(${opaqueArray('$1', 'text')}, ${opaqueArray('$2', 'bigint')}) WITH ORDINALITY AS s(id, after, n)
                 CROSS JOIN LATERAL (
                   SELECT e.stream_version, e.type, e.data FROM events e
                    WHERE e.stream_id = s.id AND e.stream_version > s.after AND e.org_id = $3 ORDER BY e.stream_version
                 ) e
                ORDER BY s.n, e.stream_version`,
      },
      [tails.map((t) => t.streamId), tails.map((t) => t.after), orgId],
    );
    for (const r of rows) byStream.get(r.stream_id)!.push({ version: Number(r.stream_version), type: r.type, data: r.data });
    return byStream;
  }

  private async appendWith(sql: Sql, streamId: string, events: readonly NewEvent[], o: AppendOptions): Promise<AppendResult> {
    const metadata = { ...o.metadata };
    try {
      const { rows } = await sql.query<{ replayed: boolean; stream_version: number; positions: string[]; transaction_id: string | null }>({
        ...APPEND_SQL,
        values: [
          streamId,
          o.metadata.orgId,
          o.expectedVersion,
          events.map((e) => e.type),
          events.map((e) => JSON.stringify(e.data)),
          events.map(() => JSON.stringify(metadata)),
          events.map((e) => e.idempotencyKey ?? null),
        ],
      });
      const row = rows[0];
      const version = Number(row.stream_version);
      const stored: StoredEvent[] = row.replayed
        ? []
        : events.map((e, i) => ({
            globalPosition: row.positions[i],
            transactionId: row.transaction_id!,
            streamId,
            streamVersion: version - events.length + i + 1,
            orgId: o.metadata.orgId,
            type: e.type,
            data: e.data,
            metadata,
            idempotencyKey: e.idempotencyKey ?? null,
          }));
      return { replayed: row.replayed, nextExpectedVersion: version, positions: row.positions, events: stored };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EV409') throw new ConcurrencyError((err as Error).message);
      if (code === 'EV404') throw new NotFoundError('stream', streamId);
      throw err;
    }
  }

  /** One stream's events in version order, scoped to an organization. */
  async readStream(orgId: string, streamId: string, fromVersion = 1): Promise<StoredEvent[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND org_id = $2 AND stream_version >= $3 ORDER BY stream_version`,
      [streamId, orgId, fromVersion],
    );
    return rows.map((r) => toStored(r, r.metadata));
  }

  /** The stored events carrying these idempotency keys (the original result of a replayed append). */
  async readByKeys(orgId: string, keys: readonly string[]): Promise<StoredEvent[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE org_id = $1 AND idempotency_key = ANY ($2) ORDER BY events.global_position`,
      [orgId, keys],
    );
    return rows.map((r) => toStored(r, r.metadata));
  }

  /** The horizon query: one row, column `h` (text). */
  static readonly HORIZON_SQL = 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS h';

  /**
   * The transaction id below which every transaction has ended. Reading only below it, in transaction-id
   * order, is what keeps a consumer from skipping an event whose transaction commits late.
   */
  static async horizon(sql: Sql): Promise<string> {
    const { rows } = await sql.query<{ h: string }>(EventStore.HORIZON_SQL);
    return rows[0].h;
  }

  /** Events after a checkpoint and below a horizon, in commit order; `types` null means all. */
  static async readAfter(sql: Sql, after: Checkpoint, horizon: string, types: readonly string[] | null, limit: number): Promise<StoredEvent[]> {
    const values: unknown[] = [after.transactionId, after.globalPosition, horizon, limit];
    let filter = '';
    if (types) {
      values.push(types);
      filter = 'AND type = ANY ($5)';
    }
    // The metadata come as text and are parsed once for each run of rows that share them (the events of one append
    // all do), not once a row: an append of a 500-call batch shares one metadata object among its ~750 events, as
    // appendMany's own results do. The consumers read them; none changes them.
    const { rows } = await sql.query<Omit<Row, 'metadata'> & { metadata: string }>(
      `SELECT ${EVENT_COLUMNS.replace(/\bmetadata\b/, 'metadata::text AS metadata')} FROM events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint) AND transaction_id < $3::xid8 ${filter}
        ORDER BY events.transaction_id, events.global_position LIMIT $4`,
      values,
    );
    let text: string | undefined;
    let metadata: EventMetadata | undefined;
    return rows.map((r) => {
      if (r.metadata !== text) {
        text = r.metadata;
        metadata = JSON.parse(text) as EventMetadata;
      }
      return toStored(r, metadata!);
    });
  }
}

import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Database, Sql } from '@app/shared';
import { Counter, Gauge, Histogram } from 'prom-client';
import { AppendSignal, EventStore } from './event-store';
import { Checkpoint, START, StoredEvent } from './event-store.types';
import { EventConsumer } from './projection';
import { ProjectionRegistry } from './projection.registry';

/**
 * Most events a round reads. With 500, the consumers fell behind a stream of 500-call batches: at the end of
 * bench:ingest's batch phase the reports and the job outbox had some 70,000 of the phase's 110,000 events still to
 * do, and took 3 s to catch up. A round costs about the same dozen statements whatever it holds (the reports write a
 * row per key, not per event), so bigger rounds are cheaper per event; with 2,000 the same phase ends 0.15 s behind.
 * 2,000 rows of readAfter (about 1.7 MB) still sort within Postgres's default work_mem.
 */
const BATCH = 2000;
const MAX_POSITION = '9223372036854775807';

const lagSeconds = new Gauge({ name: 'projection_lag_seconds', help: 'Age of the newest event a consumer has processed, 0 when caught up', labelNames: ['consumer'] });
const lagHistogram = new Histogram({
  name: 'projection_event_lag_seconds',
  help: 'Time from an event occurring to a consumer processing it',
  labelNames: ['consumer'],
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

/**
 * The lag gauge cannot show a consumer that is stuck: it is set by rounds that succeed, and a failing handler's rounds
 * do not (the job outbox failing means no follow-up job at all, while its gauge keeps saying 0). These two can: alert
 * on `increase(consumer_failures_total[5m]) > 0` and on `time() - max by (consumer)
 * (consumer_last_round_timestamp_seconds) > 60` (max over processes: only the one holding a checkpoint runs it).
 */
const failures = new Counter({ name: 'consumer_failures_total', help: 'Rounds of a consumer undone by an error (its handler, or reading the log)', labelNames: ['consumer'] });
const lastRound = new Gauge({
  name: 'consumer_last_round_timestamp_seconds',
  help: 'When a round of this consumer last committed in this process (Unix time), whether or not it had events',
  labelNames: ['consumer'],
});

/** A projection writes only to Postgres; other consumers (the job outbox) have effects outside it. */
const isProjection = (c: EventConsumer): boolean => 'mode' in c && 'tables' in c;

/** What the runner needs to switch on: the worker role turns it on, the api-only role does not. */
export const RUN_CONSUMERS = Symbol('run-consumers');

/**
 * Drives every checkpointed consumer (async projections, the job outbox) in this process.
 * Each batch runs in one transaction that row-locks the consumer's checkpoint (SKIP LOCKED), so across
 * any number of processes only one applies a given consumer at a time, and its writes and the new
 * checkpoint commit together (compare-and-set by the lock).
 */
@Injectable()
export class ConsumerRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ConsumerRunner.name);
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly sleepers = new Set<{ done: () => void; onAppend: boolean }>();

  constructor(
    private readonly db: Database,
    private readonly registry: ProjectionRegistry,
    private readonly signal: AppendSignal,
    private readonly config: ConfigService,
    @Inject(RUN_CONSUMERS) private readonly enabled: boolean,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    const consumers = this.registry.checkpointed();
    for (const c of consumers) await ConsumerRunner.ensureCheckpoint(this.db, c.name);
    this.running = true;
    const onAppend = () => [...this.sleepers].filter((s) => s.onAppend).forEach((s) => s.done());
    this.signal.on('appended', onAppend);
    this.loops = [this.loop(consumers)];
  }

  /**
   * Stops the loop and waits for the round under way, before any module's onApplicationShutdown: that is where
   * @nestjs/bullmq closes the queues, and it could come first (hooks run module by module), so the job outbox's round
   * failed to enqueue at every graceful shutdown, was undone, logged as an error and done again by the next process.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    [...this.sleepers].forEach((s) => s.done());
    await Promise.all(this.loops);
  }

  static async ensureCheckpoint(sql: Sql, name: string): Promise<void> {
    await sql.query('INSERT INTO consumer_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING', [name]);
  }

  /**
   * Every consumer of this process in one loop: each round is one transaction and, for consumers at the same
   * checkpoint (the usual case), one read of the log (runTick). A consumer whose handler failed runs on its own
   * from then on, a second after each failure, until it succeeds again: its failure must not hold the others back.
   */
  private async loop(consumers: readonly EventConsumer[]): Promise<void> {
    const interval = Number(this.config.get('POLL_INTERVAL_MS') ?? 50);
    const solo = new Map<string, number>(); // consumer → when it may run again
    while (this.running) {
      const shared = consumers.filter((c) => !solo.has(c.name));
      const due = consumers.filter((c) => (solo.get(c.name) ?? Infinity) <= Date.now());
      let handled = 0;
      let full = false;
      for (const group of [shared, ...due.map((c) => [c])]) {
        if (group.length === 0 || !this.running) continue;
        try {
          const r = await ConsumerRunner.runTick(this.db, group, BATCH);
          handled += r.handled;
          full ||= r.full;
          if (r.failed) {
            this.logger.error({ err: r.failed.error, consumer: r.failed.name }, 'consumer batch failed; retrying');
            solo.set(r.failed.name, Date.now() + 1000);
          } else if (solo.has(group[0].name)) {
            // Back with the others once it has run (another process holding it is no proof it works again).
            if (r.locked === 1) solo.delete(group[0].name);
            else solo.set(group[0].name, Date.now() + 1000);
          }
        } catch (err) {
          this.logger.error({ err, consumers: group.map((c) => c.name) }, 'consumer batch failed; retrying');
          if (this.running) await this.sleep(1000, false);
        }
      }
      // Caught up: the next append wakes it at once, so a lone write shows in the async read models at once.
      // Behind a steady stream of appends (it handled some): it waits the interval out and takes them as one
      // batch. Woken by every append instead, each consumer ran one transaction per append, ~30 a second each in a
      // worker burst (bench:worker), three times the statements of the appends themselves.
      if (handled === 0) await this.sleep(interval, true);
      else if (!full) await this.sleep(interval, false);
    }
  }

  /** Resolves after `ms`, on shutdown, and (when `onAppend`) on the next append. */
  private sleep(ms: number, onAppend: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(sleeper);
        resolve();
      };
      const sleeper = { done, onAppend };
      const timer = setTimeout(done, ms);
      this.sleepers.add(sleeper);
    });
  }

  /** Applies one batch of a consumer. Returns how many events it handled; 0 also when another process holds it. */
  static async runBatch(db: Database, consumer: EventConsumer, limit: number): Promise<number> {
    const r = await ConsumerRunner.runTick(db, [consumer], limit);
    if (r.failed) throw r.failed.error;
    return r.handled;
  }

  /**
   * One batch for each of these consumers that no other process holds right now, in one transaction: its
   * checkpoint rows are locked (SKIP LOCKED), so across processes one applies a given consumer at a time, and every
   * consumer's writes commit with its new checkpoint. Consumers at the same checkpoint share one read of the log:
   * before, each read and parsed the same events on its own (row parsing was the largest item of the service's
   * profile in bench:ingest's batches, and the reads 7% of Postgres's time). One whose checkpoint differs (just
   * rebuilt, or it failed) reads alone, so it holds no one back. If a handler throws, the whole transaction is
   * undone and the consumer is named in `failed`, for the caller to run it on its own; the others' work is redone.
   * Projections run before consumers with effects outside Postgres, so a projection's failure never comes after the
   * job outbox has enqueued; if the outbox itself fails after enqueueing some jobs, they are enqueued again, which
   * job ids collapse while a job is in Redis, and every job re-reads its state and does nothing once stale.
   */
  static async runTick(
    db: Database,
    consumers: readonly EventConsumer[],
    limit: number,
  ): Promise<{ handled: number; full: boolean; locked: number; failed: { name: string; error: unknown } | null }> {
    const client = await db.pool.connect();
    const byName = new Map(consumers.map((c) => [c.name, c]));
    const names = consumers.map((c) => client.escapeLiteral(c.name)).join(', ');
    let current: EventConsumer | null = null;
    try {
      // Three statements, one round trip (the simple protocol: hence the literal names). The horizon is taken
      // before the row locks give this transaction an id that would hold the horizon back.
      const [, h, locked] = (await client.query(
        `BEGIN;
         ${EventStore.HORIZON_SQL};
         SELECT name, transaction_id::text AS transaction_id, global_position::text AS global_position
           FROM consumer_checkpoints WHERE name IN (${names}) ORDER BY name FOR UPDATE SKIP LOCKED`,
      )) as unknown as [unknown, { rows: { h: string }[] }, { rows: { name: string; transaction_id: string; global_position: string }[] }];
      const horizon = h.rows[0].h;
      if (locked.rows.length === 0) {
        await client.query('ROLLBACK');
        return { handled: 0, full: false, locked: 0, failed: null };
      }
      const groups = new Map<string, { from: Checkpoint; consumers: EventConsumer[] }>();
      for (const row of locked.rows) {
        const key = `${row.transaction_id}/${row.global_position}`;
        const group = groups.get(key) ?? { from: { transactionId: row.transaction_id, globalPosition: row.global_position }, consumers: [] };
        group.consumers.push(byName.get(row.name)!);
        groups.set(key, group);
      }
      let handled = 0;
      let full = false;
      const work: { consumer: EventConsumer; own: readonly StoredEvent[]; from: Checkpoint; to: Checkpoint; caughtUp: boolean }[] = [];
      for (const { from, consumers: members } of groups.values()) {
        const types = [...new Set(members.flatMap((c) => c.eventTypes))];
        const events = await EventStore.readAfter(client, from, horizon, types, limit);
        const to = ConsumerRunner.nextCheckpoint(from, events, horizon, limit);
        full ||= events.length === limit;
        for (const consumer of members) {
          const wanted = new Set(consumer.eventTypes);
          work.push({ consumer, own: members.length === 1 ? events : events.filter((e) => wanted.has(e.type)), from, to, caughtUp: events.length < limit });
        }
      }
      // Projections (writes to Postgres only) first, then consumers whose effects reach outside it (the job outbox
      // enqueues): a projection that throws undoes the round before anything has been enqueued for it.
      work.sort((a, b) => Number(!isProjection(a.consumer)) - Number(!isProjection(b.consumer)));
      const moves: { name: string; to: Checkpoint }[] = [];
      for (const { consumer, own, from, to } of work) {
        current = consumer;
        if (own.length > 0) await consumer.handle(own, client);
        current = null;
        handled += own.length;
        if (to.transactionId !== from.transactionId || to.globalPosition !== from.globalPosition) moves.push({ name: consumer.name, to });
      }
      if (moves.length > 0) {
        // Digits from Postgres or from nextCheckpoint; checked anyway before they become literals.
        for (const { to } of moves) {
          if (!/^\d+$/.test(to.transactionId) || !/^\d+$/.test(to.globalPosition)) throw new Error(`bad checkpoint ${JSON.stringify(to)}`);
        }
        const values = moves.map(({ name, to }) => `(${client.escapeLiteral(name)}, '${to.transactionId}'::xid8, ${to.globalPosition}::bigint)`).join(', ');
        await client.query(
          `UPDATE consumer_checkpoints c SET transaction_id = m.t, global_position = m.p, updated_at = now()
             FROM (VALUES ${values}) AS m(name, t, p) WHERE c.name = m.name; COMMIT`,
        );
      } else {
        await client.query('COMMIT');
      }
      const committedAt = Date.now() / 1000;
      for (const w of work) {
        ConsumerRunner.observeLag(w.consumer.name, w.own, w.caughtUp);
        lastRound.set({ consumer: w.consumer.name }, committedAt);
      }
      return { handled, full, locked: locked.rows.length, failed: null };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (current) {
        failures.inc({ consumer: current.name });
        return { handled: 0, full: false, locked: 0, failed: { name: current.name, error: err } };
      }
      for (const c of consumers) failures.inc({ consumer: c.name });
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * After a full batch, the last event read. After a short one, everything below the horizon has been
   * seen (the type filter skipped the rest), so the checkpoint moves to just below the horizon.
   */
  static nextCheckpoint(from: Checkpoint, events: readonly StoredEvent[], horizon: string, limit: number): Checkpoint {
    if (events.length === limit) {
      const last = events[events.length - 1];
      return { transactionId: last.transactionId, globalPosition: last.globalPosition };
    }
    // Transaction horizon-1 has ended: (horizon-1, MAX) is past all of it, even when the checkpoint stands partway
    // through it (a full batch ended inside a large transaction). Keeping `from` there handed the rest of that
    // transaction out again every round until the horizon moved.
    const belowHorizon = (BigInt(horizon) - 1n).toString();
    if (BigInt(belowHorizon) < BigInt(from.transactionId)) return from;
    return { transactionId: belowHorizon, globalPosition: MAX_POSITION };
  }

  private static observeLag(name: string, events: readonly StoredEvent[], caughtUp: boolean): void {
    const now = Date.now();
    const observe = lagHistogram.labels({ consumer: name }); // bound once: labels hashed per batch, not per event
    // The events of one append share their time: parsed once for a run of them, not once an event.
    let at: string | undefined;
    let lag = NaN;
    for (const e of events) {
      if (e.metadata.occurredAt !== at) {
        at = e.metadata.occurredAt;
        lag = Math.max(0, (now - Date.parse(at)) / 1000);
      }
      if (Number.isFinite(lag)) observe.observe(lag); // an unreadable time is no reason to fail a committed round
    }
    const newest = events.length ? (now - Date.parse(events[events.length - 1].metadata.occurredAt)) / 1000 : NaN;
    if (caughtUp) lagSeconds.set({ consumer: name }, 0);
    else if (Number.isFinite(newest)) lagSeconds.set({ consumer: name }, newest);
  }

  /** Resets a checkpoint to the start (used by rebuilds and tests). */
  static async reset(sql: Sql, name: string, to: Checkpoint = START): Promise<void> {
    await sql.query('UPDATE consumer_checkpoints SET transaction_id = $2::xid8, global_position = $3::bigint, updated_at = now() WHERE name = $1', [
      name,
      to.transactionId,
      to.globalPosition,
    ]);
  }
}

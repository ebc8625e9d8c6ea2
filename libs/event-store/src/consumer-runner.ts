import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Database, Sql } from '@app/shared';
import { Gauge, Histogram } from 'prom-client';
import { AppendSignal, EventStore } from './event-store';
import { Checkpoint, START, StoredEvent } from './event-store.types';
import { EventConsumer } from './projection';
import { ProjectionRegistry } from './projection.registry';

const BATCH = 500;
const MAX_POSITION = '9223372036854775807';

const lagSeconds = new Gauge({ name: 'projection_lag_seconds', help: 'Age of the newest event a consumer has processed, 0 when caught up', labelNames: ['consumer'] });
const lagHistogram = new Histogram({
  name: 'projection_event_lag_seconds',
  help: 'Time from an event occurring to a consumer processing it',
  labelNames: ['consumer'],
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

/** What the runner needs to switch on: the worker role turns it on, the api-only role does not. */
export const RUN_CONSUMERS = Symbol('run-consumers');

/**
 * Drives every checkpointed consumer (async projections, the job outbox) in this process.
 * Each batch runs in one transaction that row-locks the consumer's checkpoint (SKIP LOCKED), so across
 * any number of processes only one applies a given consumer at a time, and its writes and the new
 * checkpoint commit together (compare-and-set by the lock).
 */
@Injectable()
export class ConsumerRunner implements OnApplicationBootstrap, OnApplicationShutdown {
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
    this.loops = consumers.map((c) => this.loop(c));
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    [...this.sleepers].forEach((s) => s.done());
    await Promise.all(this.loops);
  }

  static async ensureCheckpoint(sql: Sql, name: string): Promise<void> {
    await sql.query('INSERT INTO consumer_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING', [name]);
  }

  private async loop(consumer: EventConsumer): Promise<void> {
    const interval = Number(this.config.get('POLL_INTERVAL_MS') ?? 50);
    while (this.running) {
      let handled = 0;
      try {
        handled = await ConsumerRunner.runBatch(this.db, consumer, BATCH);
      } catch (err) {
        this.logger.error({ err, consumer: consumer.name }, 'consumer batch failed; retrying');
        await this.sleep(1000, false);
        continue;
      }
      // Caught up: the next append wakes it at once, so a lone write shows in the async read models at once.
      // Behind a steady stream of appends (it handled some): it waits the interval out and takes them as one
      // batch. Woken by every append instead, each consumer ran one transaction per append, ~30 a second each in a
      // worker burst (bench:worker), three times the statements of the appends themselves.
      if (handled === 0) await this.sleep(interval, true);
      else if (handled < BATCH) await this.sleep(interval, false);
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

  /**
   * Applies one batch of a consumer. Returns how many events it handled; 0 also when another process
   * holds the consumer right now.
   */
  static async runBatch(db: Database, consumer: EventConsumer, limit: number): Promise<number> {
    const client = await db.pool.connect();
    const name = client.escapeLiteral(consumer.name);
    try {
      // Three statements, one round trip (the simple protocol: hence the literal name). The horizon is taken
      // before the row lock gives this transaction an id that would hold the horizon back.
      const [, h, locked] = (await client.query(
        `BEGIN;
         ${EventStore.HORIZON_SQL};
         SELECT transaction_id::text AS transaction_id, global_position::text AS global_position
           FROM consumer_checkpoints WHERE name = ${name} FOR UPDATE SKIP LOCKED`,
      )) as unknown as [unknown, { rows: { h: string }[] }, { rows: { transaction_id: string; global_position: string }[] }];
      const horizon = h.rows[0].h;
      if (locked.rows.length === 0) {
        await client.query('ROLLBACK');
        return 0;
      }
      const from: Checkpoint = { transactionId: locked.rows[0].transaction_id, globalPosition: locked.rows[0].global_position };
      const events = await EventStore.readAfter(client, from, horizon, consumer.eventTypes, limit);
      if (events.length > 0) await consumer.handle(events, client);
      const to = ConsumerRunner.nextCheckpoint(from, events, horizon, limit);
      if (to.transactionId !== from.transactionId || to.globalPosition !== from.globalPosition) {
        // Both are digits from Postgres or from nextCheckpoint; checked anyway before they become literals.
        if (!/^\d+$/.test(to.transactionId) || !/^\d+$/.test(to.globalPosition)) throw new Error(`bad checkpoint ${JSON.stringify(to)}`);
        await client.query(
          `UPDATE consumer_checkpoints SET transaction_id = '${to.transactionId}'::xid8, global_position = ${to.globalPosition}::bigint, updated_at = now()
            WHERE name = ${name}; COMMIT`,
        );
      } else {
        await client.query('COMMIT');
      }
      ConsumerRunner.observeLag(consumer.name, events, events.length < limit);
      return events.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
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
    const belowHorizon = (BigInt(horizon) - 1n).toString();
    if (BigInt(belowHorizon) <= BigInt(from.transactionId)) return from;
    return { transactionId: belowHorizon, globalPosition: MAX_POSITION };
  }

  private static observeLag(name: string, events: readonly StoredEvent[], caughtUp: boolean): void {
    const now = Date.now();
    const observe = lagHistogram.labels({ consumer: name }); // bound once: labels hashed per batch, not per event
    for (const e of events) observe.observe(Math.max(0, now - Date.parse(e.metadata.occurredAt)) / 1000);
    if (caughtUp) lagSeconds.set({ consumer: name }, 0);
    else if (events.length) lagSeconds.set({ consumer: name }, (now - Date.parse(events[events.length - 1].metadata.occurredAt)) / 1000);
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

import { Injectable, Logger } from '@nestjs/common';
import { Database } from '@app/shared';
import { ConsumerRunner } from './consumer-runner';
import { EventStore } from './event-store';
import { START, Checkpoint } from './event-store.types';
import { Projection } from './projection';
import { ProjectionRegistry } from './projection.registry';

/**
 * Events per page of a replay. Large: a projection that adds to counters (the reports) updates a row once per
 * page it appears in, and in the one rebuild transaction each update leaves a dead version until it commits.
 */
const BATCH = 10_000;

/**
 * Times a rebuild is tried when Postgres breaks a deadlock by failing it. Taking an inline projection's tables (one
 * LOCK, table by table) can deadlock with an append in flight that holds one of them and goes on to write another
 * (the contacts projection's CTE writes `calls` before `contacts`): Postgres fails one of the two. The append runs
 * again on its own (EventStore's runAgain); the rebuild, one transaction that has changed nothing yet, does too.
 */
const ATTEMPTS = 5;
const DEADLOCK_DETECTED = '40P01';

/**
 * Rebuilds a projection from event zero in one transaction. Readers never see it half done: the ACCESS EXCLUSIVE
 * locks (LOCK TABLE, TRUNCATE) make them wait until the rebuild commits, and then they see the new tables.
 * - inline: its tables are locked first; an append that would touch them waits and applies on top.
 * - async: its checkpoint row is locked, so the runner skips it until the rebuild commits.
 */
@Injectable()
export class ProjectionRebuilder {
  private readonly logger = new Logger(ProjectionRebuilder.name);

  constructor(
    private readonly db: Database,
    private readonly registry: ProjectionRegistry,
  ) {}

  async rebuild(name: string): Promise<{ events: number }> {
    const projection = this.registry.projection(name);
    if (!projection) throw new Error(`unknown projection ${name}; known: ${this.registry.projectionNames().join(', ')}`);
    for (let attempt = 1; ; attempt++) {
      try {
        const events = await this.replay(projection);
        this.logger.log({ projection: name, events }, 'projection rebuilt');
        return { events };
      } catch (err) {
        if ((err as { code?: string }).code !== DEADLOCK_DETECTED || attempt >= ATTEMPTS) throw err;
        this.logger.warn({ projection: name, attempt }, 'projection rebuild deadlocked with a write in flight; running it again');
      }
    }
  }

  /** The rebuild itself: one transaction, so a failed one leaves the tables as they were. Returns the events replayed. */
  private async replay(projection: Projection): Promise<number> {
    const tables = projection.tables.map((t) => `"${t}"`).join(', ');
    let count = 0;
    await this.db.transaction(async (tx) => {
      if (projection.mode === 'inline') {
        await tx.query(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`);
      } else {
        await ConsumerRunner.ensureCheckpoint(tx, projection.name);
        await tx.query('SELECT 1 FROM consumer_checkpoints WHERE name = $1 FOR UPDATE', [projection.name]);
      }
      await tx.query(`TRUNCATE ${tables} CASCADE`);
      // Read-model guards that refuse what the service would not store now let the replay rebuild what was stored
      // before they existed (migration 0021).
      await tx.query(`SET LOCAL fu.rebuilding = 'on'`);
      // The replay reads the whole log in commit order, page by page. Planned without statistics on events (a
      // restored database, or autovacuum off) each page became a bitmap scan plus a sort of every event left:
      // quadratic, 1,700 events/s at 500,000 events instead of 34,000. A sample-based ANALYZE costs seconds.
      await tx.query('ANALYZE events');
      // Inline: every event that touches these tables has committed (later ones wait on the lock), so read
      // to the end. Async: stop at the horizon and let the runner go on from there.
      const horizon = projection.mode === 'inline' ? '18446744073709551615' : await EventStore.horizon(tx);
      let at: Checkpoint = START;
      for (;;) {
        const events = await EventStore.readAfter(tx, at, horizon, projection.eventTypes, BATCH);
        if (events.length > 0) await projection.handle(events, tx);
        count += events.length;
        const next = ConsumerRunner.nextCheckpoint(at, events, horizon, BATCH);
        at = next;
        if (events.length < BATCH) break;
      }
      if (projection.mode === 'async') await ConsumerRunner.reset(tx, projection.name, at);
    });
    return count;
  }
}

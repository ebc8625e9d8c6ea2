import { Sql } from '@app/shared';
import { eventually } from './test-app';

/**
 * The checkpointed consumers (async projections, the job outbox) still short of the last event committed when
 * asked: one probe of events_pkey per checkpoint (as bench/lib.ts `caughtUp`).
 */
export async function consumersBehind(sql: Sql): Promise<string[]> {
  const last = (await sql.query<{ t: string | null }>('SELECT max(transaction_id)::text AS t FROM events')).rows[0].t;
  const { rows } = await sql.query<{ name: string }>(
    `SELECT c.name FROM consumer_checkpoints c CROSS JOIN LATERAL (
       SELECT 1 FROM events e WHERE e.transaction_id <= $1::xid8 AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
        ORDER BY e.transaction_id, e.global_position LIMIT 1) x
      ORDER BY c.name`,
    [last],
  );
  return rows.map((r) => r.name);
}

/** Waits until every checkpointed consumer has passed every event stored so far, or fails naming those behind. */
export async function consumersCaughtUp(sql: Sql, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => expect(await consumersBehind(sql)).toEqual([]), timeoutMs);
}

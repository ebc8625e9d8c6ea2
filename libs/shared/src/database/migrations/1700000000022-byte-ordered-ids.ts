import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cheaper index entries for what every append and call writes (perf, batch ingest: inserting index entries was a
 * quarter of Postgres's CPU, and comparing keys in them the largest part of that).
 *
 * - The identifiers the ingest's B-trees are keyed on (stream ids, call ids, idempotency keys) are compared bytewise
 *   (COLLATE "C") instead of by the database's collation: they are machine-made, never sorted for a reader, and with
 *   any other collation than "C" (C.UTF-8 and en_US.UTF-8 included) each comparison is a strcoll() call. Equality is
 *   the same either way; order is not, on a database whose collation is not C or C.UTF-8 ('call-B' < 'call-a' in "C",
 *   not in en_US). The one list ordered by these ids is the calls list, for calls with the same startedAt: a page
 *   cursor issued before this migration may skip or repeat calls among such ties (operations.md).
 * - events had two B-trees that are each unique on their own: the serial global_position (the primary key, read by
 *   nothing) and (transaction_id, global_position), the commit order consumers read in. The latter is now the
 *   primary key and the former is gone: one index entry fewer per event.
 */
export class ByteOrderedIds1700000000022 implements MigrationInterface {
  name = 'ByteOrderedIds1700000000022';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE streams ALTER COLUMN stream_id TYPE text COLLATE "C";
      ALTER TABLE events ALTER COLUMN stream_id TYPE text COLLATE "C", ALTER COLUMN idempotency_key TYPE text COLLATE "C";
      ALTER TABLE calls ALTER COLUMN call_id TYPE text COLLATE "C";
      ALTER TABLE events DROP CONSTRAINT events_pkey;
      DROP INDEX events_commit_order_ix;
      ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (transaction_id, global_position);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE events DROP CONSTRAINT events_pkey;
      ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (global_position);
      CREATE INDEX events_commit_order_ix ON events (transaction_id, global_position);
      ALTER TABLE calls ALTER COLUMN call_id TYPE text COLLATE "default";
      ALTER TABLE events ALTER COLUMN stream_id TYPE text COLLATE "default", ALTER COLUMN idempotency_key TYPE text COLLATE "default";
      ALTER TABLE streams ALTER COLUMN stream_id TYPE text COLLATE "default";
    `);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event store. Appends go through one function call (one round trip, one commit):
 * - a per-stream advisory lock is taken before any write, so a transaction id is assigned only after
 *   the stream is ours: ordering consumers by transaction id then never reorders one stream's events;
 * - idempotency keys are unique per organization: a retried append returns the stored result;
 * - expected version: -1 any, 0 no stream yet, n exactly n.
 */
export class EventStore1700000000001 implements MigrationInterface {
  name = 'EventStore1700000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE streams (
        stream_id text PRIMARY KEY,
        org_id uuid NOT NULL,
        version bigint NOT NULL
      );
      CREATE TABLE events (
        global_position bigserial PRIMARY KEY,
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id text NOT NULL,
        stream_version bigint NOT NULL,
        org_id uuid NOT NULL,
        type text NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL,
        idempotency_key text,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT events_stream_version_uq UNIQUE (stream_id, stream_version)
      );
      CREATE UNIQUE INDEX events_idempotency_uq ON events (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX events_commit_order_ix ON events (transaction_id, global_position);
      CREATE INDEX events_type_commit_order_ix ON events (type, transaction_id, global_position);

      CREATE TABLE consumer_checkpoints (
        name text PRIMARY KEY,
        transaction_id xid8 NOT NULL DEFAULT '0',
        global_position bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE FUNCTION fu_append(
        p_stream_id text, p_org_id uuid, p_expected bigint,
        p_types text[], p_data jsonb[], p_metadata jsonb[], p_keys text[]
      ) RETURNS TABLE (replayed boolean, stream_version bigint, positions bigint[], transaction_id xid8)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_count int := cardinality(p_types);
        v_version bigint;
        v_positions bigint[];
        v_stream_org uuid;
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));

        IF EXISTS (SELECT 1 FROM unnest(p_keys) k WHERE k IS NOT NULL) THEN
          SELECT array_agg(e.global_position ORDER BY e.global_position), max(e.stream_version)
            INTO v_positions, v_version
            FROM events e
           WHERE e.org_id = p_org_id AND e.idempotency_key = ANY (p_keys);
          IF v_positions IS NOT NULL THEN
            RETURN QUERY SELECT true, v_version, v_positions, NULL::xid8;
            RETURN;
          END IF;
        END IF;

        SELECT s.version, s.org_id INTO v_version, v_stream_org FROM streams s WHERE s.stream_id = p_stream_id;
        IF FOUND AND v_stream_org <> p_org_id THEN
          RAISE EXCEPTION 'stream % belongs to another organization', p_stream_id USING ERRCODE = 'EV404';
        END IF;
        IF p_expected >= 0 AND coalesce(v_version, 0) <> p_expected THEN
          RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id, coalesce(v_version, 0), p_expected
            USING ERRCODE = 'EV409';
        END IF;

        IF v_version IS NULL THEN
          INSERT INTO streams (stream_id, org_id, version) VALUES (p_stream_id, p_org_id, v_count);
          v_version := v_count;
        ELSE
          v_version := v_version + v_count;
          UPDATE streams SET version = v_version WHERE streams.stream_id = p_stream_id;
        END IF;

        WITH ins AS (
          INSERT INTO events (stream_id, stream_version, org_id, type, data, metadata, idempotency_key)
          SELECT p_stream_id, v_version - v_count + x.ord, p_org_id, x.t, x.d, x.m, x.k
            FROM unnest(p_types, p_data, p_metadata, p_keys) WITH ORDINALITY AS x(t, d, m, k, ord)
           ORDER BY x.ord
          RETURNING events.global_position
        )
        SELECT array_agg(ins.global_position ORDER BY ins.global_position) INTO v_positions FROM ins;

        RETURN QUERY SELECT false, v_version, v_positions, pg_current_xact_id();
      END
      $fn$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION fu_append; DROP TABLE consumer_checkpoints; DROP TABLE events; DROP TABLE streams;`);
  }
}

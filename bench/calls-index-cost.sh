#!/bin/bash
# What one more index on `calls` costs an insert (migration 0028's calls_campaign_ix): 300,000 calls with a campaign,
# 500 per INSERT, into a bare copy of the calls table with its indexes, without and then with the index, ROUNDS times.
# Prints rows/s (noisy on a shared host), WAL bytes a row and index size (repeatable). Scratch database fu_bench_idx.
set -euo pipefail
ROUNDS=${ROUNDS:-2}
P="psql ${PSQL_ARGS:--U postgres -h 127.0.0.1} -q -v ON_ERROR_STOP=1"
$P -c "DROP DATABASE IF EXISTS fu_bench_idx" -c "CREATE DATABASE fu_bench_idx" 2>/dev/null
trap '$P -c "DROP DATABASE IF EXISTS fu_bench_idx"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for variant in without with; do
    $P -d fu_bench_idx -c "DROP TABLE IF EXISTS calls" -c "
      CREATE TABLE calls (org_id uuid NOT NULL, call_id text COLLATE \"C\" NOT NULL, contact_id uuid NOT NULL, agent_id uuid NOT NULL,
        direction text NOT NULL, status text NOT NULL, live boolean NOT NULL, duration_sec int NOT NULL DEFAULT 0,
        connected boolean NOT NULL DEFAULT false, started_at timestamptz NOT NULL, note text, campaign_id uuid,
        tags text[] NOT NULL DEFAULT '{}', follow_up_id uuid, logged_at timestamptz NOT NULL, PRIMARY KEY (org_id, call_id));
      CREATE INDEX calls_org_started_ix ON calls (org_id, started_at, call_id);
      CREATE INDEX calls_contact_ix ON calls (contact_id, started_at);
      CREATE INDEX calls_agent_ix ON calls (org_id, agent_id, started_at);
      CREATE INDEX calls_live_ix ON calls (org_id, started_at) WHERE live;" 2>/dev/null
    if [ "$variant" = with ]; then
      $P -d fu_bench_idx -c "CREATE INDEX calls_campaign_ix ON calls (org_id, campaign_id, started_at, call_id) WHERE campaign_id IS NOT NULL"
    fi
    $P -d fu_bench_idx -c "CHECKPOINT"
    lsn0=$($P -Atd fu_bench_idx -c "SELECT pg_current_wal_lsn()")
    start=$(date +%s.%N)
    for b in $(seq 0 599); do
      echo "INSERT INTO calls (org_id, call_id, contact_id, agent_id, direction, status, live, started_at, campaign_id, logged_at)
            SELECT '00000000-0000-0000-0000-000000000001', 'c' || ($b * 500 + i), md5(i::text)::uuid, md5((i % 20)::text)::uuid,
                   'outbound', 'Busy', false, now() + make_interval(secs => $b * 500 + i), md5((i % 20 + 100)::text)::uuid, now()
              FROM generate_series(1, 500) i;"
    done | $P -d fu_bench_idx
    end=$(date +%s.%N)
    wal=$($P -Atd fu_bench_idx -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')::bigint")
    idx=$($P -Atd fu_bench_idx -c "SELECT pg_indexes_size('calls')")
    printf 'round %s %-7s index: %6.0f rows/s  WAL %4d B a row  indexes %4d MB\n' "$round" "$variant" \
      "$(echo "300000 / ($end - $start)" | bc -l)" $((wal / 300000)) $((idx / 1048576))
  done
done

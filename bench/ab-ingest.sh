#!/usr/bin/env bash
# A/B of bench:ingest on a noisy host: a base commit (BASE, default HEAD~1) built in a git worktree, run in turn
# with this checkout ROUNDS times, so drift in the host's speed does not favour either. Compare the CPU ratios.
#   BASE=6607304 ROUNDS=2 S=6 bench/ab-ingest.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base_dir=$(mktemp -d /tmp/fu-ab-base.XXXXXX)
trap 'git -C "$here" worktree remove --force "$base_dir" >/dev/null 2>&1 || true' EXIT
git -C "$here" worktree add --detach "$base_dir" "${BASE:-HEAD~1}" >/dev/null
ln -s "$here/node_modules" "$base_dir/node_modules"
(cd "$base_dir" && npm run -s build) && (cd "$here" && npm run -s build)
for i in $(seq 1 "${ROUNDS:-2}"); do
  for side in base new; do
    dir=$base_dir; [ "$side" = new ] && dir=$here
    echo "== $side $i"
    (cd "$dir" && BENCH_NO_BUILD=1 BENCH_SECONDS="${S:-6}" BENCH_CONTACTS="${CONTACTS:-3000}" npm run -s bench:ingest 2>&1) | grep -E "^(raw|POST)|^CPU:|^(single|batch) "
  done
done

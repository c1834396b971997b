#!/usr/bin/env bash
# Run the book's replication matrix and audit in priority order, resumably (finished runs are
# skipped), e.g. under nohup on a machine that stays up:
#   nohup scripts/run_matrix.sh > matrix.log 2>&1 &
# Order: V2 and V3 (both flavours) seed by seed, so that each seed adds a complete comparison;
# then the other variants, then the audit rows. WORKERS runs at once, THREADS threads each.
set -uo pipefail
cd "${ROOT:-$(dirname "$0")/..}"
PY=${PY:-.venv/bin/python}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-1}
run() { "$PY" -m gainakt.book run --workers "$WORKERS" --threads-per-run "$THREADS" "$@"; }
for seed in 42 43 44; do
  run --tag core --key "assist2015/*/seed$seed"
done
for seed in 42 43 44; do
  run --tag replication --key "assist2015/*/seed$seed"
done
for seed in 42 43 44; do
  run --tag audit --key "assist2015/*/seed$seed"
done

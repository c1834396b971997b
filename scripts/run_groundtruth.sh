#!/usr/bin/env bash
# The ground-truth experiment (issue 18 item 2), resumably (finished runs are skipped), one run at a
# time on one thread, e.g.  nohup scripts/run_groundtruth.sh > groundtruth.log 2>&1 &
# experiments.yml tag groundtruth: BKT on each condition's data (seconds), then V1, V2 and V3 (both
# flavours) seed by seed, so that every finished seed adds a complete comparison.
set -uo pipefail
cd "${ROOT:-$(dirname "$0")/..}"
export GAINAKT_DATA=${GAINAKT_DATA:-../shared/data}
PY=${PY:-.venv/bin/python}
run() { "$PY" -m gainakt.book run --tag groundtruth --workers 1 --threads-per-run 1 "$@"; }
run --key "synthetic/bkt-baseline-gt-*"
for seed in 0 1 2; do
  for cond in none moderate strong; do
    run --key "synthetic/V*-gt-$cond/seed$seed"
  done
done

#!/usr/bin/env bash
# The ground-truth experiment (issue 18 item 2), resumably (finished runs are skipped), one run at a
# time on one thread, e.g.  nohup scripts/run_groundtruth.sh > groundtruth.log 2>&1 &
# First BKT on each condition's data (seconds), then V2 and V3 (both flavours, experiments.yml tag
# groundtruth) seed by seed, so that every finished seed adds a complete comparison.
set -uo pipefail
cd "${ROOT:-$(dirname "$0")/..}"
export PYTHONPATH=$PWD OMP_NUM_THREADS=1 GAINAKT_DATA=${GAINAKT_DATA:-/work/shared/data}
PY=${PY:-.venv/bin/python}
CONDITIONS="none moderate strong"
for cond in $CONDITIONS; do
  out=results/synthetic/bkt-baseline-gt-$cond/seed0
  [ -f "$out/metrics.json" ] && { echo "done: $out"; continue; }
  syn=$("$PY" -c "from gainakt.analysis.groundtruth import simconfig_of; import json; print(json.dumps(simconfig_of('$cond')))")
  "$PY" -m gainakt train --model bkt --dataset synthetic --synthetic "$syn" --seq-len 60 --seed 0 \
    --title bkt-baseline --num-threads 1 --baseline-max-iter 1000 --out "$out"
done
for seed in 0 1 2; do
  for cond in $CONDITIONS; do
    "$PY" -m gainakt.book run --tag groundtruth --key "synthetic/*-gt-$cond/seed$seed" --workers 1 --threads-per-run 1
  done
done

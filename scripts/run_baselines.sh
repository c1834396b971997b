#!/usr/bin/env bash
# Run the baselines of the book into results/<dataset>/<model>-baseline/seed<k>/ (skips finished runs).
#   scripts/run_baselines.sh [classical|dkt|sakt] [dataset ...]
# Classical models are deterministic (seed 0 only); DKT and SAKT run seeds 0 1 2.
# Sizes: small, CPU, 1 thread: DKT LSTM 64; SAKT d 64, 4 heads, 1 block, d_ff 128.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD OMP_NUM_THREADS=1 GAINAKT_DATA=${GAINAKT_DATA:-/work/shared/data}
PY=${PYTHON:-python}
family=${1:-classical}; shift || true
datasets=${*:-assist2015 assist2009 statics2011}
DEEP="--learning-rate 0.001 --weight-decay 0 --dropout 0.2 --batch-size 64 --d-model 64 --num-threads 1"
for ds in $datasets; do
  case $family in
    classical) runs="skill_only:0 pfa:0 bkt:0"; extra="--num-threads 1" ;;
    dkt) runs="dkt:0 dkt:1 dkt:2"; extra="$DEEP --epochs 30 --patience 3" ;;
    sakt) runs="sakt:0 sakt:1 sakt:2"; extra="$DEEP --epochs 12 --patience 2 --n-heads 4 --n-blocks 1 --d-ff 128" ;;
    *) echo "unknown family '$family'; expected classical, dkt or sakt" >&2; exit 2 ;;
  esac
  for r in $runs; do
    model=${r%%:*}; seed=${r##*:}
    out=results/$ds/$model-baseline/seed$seed
    [ -f "$out/metrics.json" ] && { echo "done: $out"; continue; }
    $PY -m gainakt train --model "$model" --dataset "$ds" --seed "$seed" --title "$model-baseline" $extra --out "$out"
  done
done

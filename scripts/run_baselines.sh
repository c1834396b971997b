#!/usr/bin/env bash
# Run the book's baselines into results/<dataset>/<model>-baseline/seed<k>/ (finished runs are skipped).
#   [SEEDS="0 1 2"] scripts/run_baselines.sh FAMILY [dataset ...]      FAMILY: classical | dkt | sakt
# Classical models are deterministic: seed 0 only. DKT and SAKT: seeds 0 1 2, seed-major (every
# dataset gets seed 0 before any gets seed 1). Small CPU sizes, 1 thread each:
# DKT LSTM 64; SAKT d 64, 4 heads, 1 block, d_ff 128; Adam 1e-3, no weight decay, dropout 0.2.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD OMP_NUM_THREADS=1 GAINAKT_DATA=${GAINAKT_DATA:-/work/shared/data}
PY=${PYTHON:-python}
family=${1:-classical}; shift || true
datasets=${*:-assist2015 assist2009 statics2011}
DEEP="--learning-rate 0.001 --weight-decay 0 --dropout 0.2 --batch-size 64 --d-model 64 --num-threads 1"
case $family in
  classical) models="skill_only pfa bkt"; seeds="0"; extra="--num-threads 1 --baseline-max-iter 1000" ;;
  dkt) models="dkt"; seeds="0 1 2"; extra="$DEEP --epochs 20 --patience 3" ;;
  sakt) models="sakt"; seeds="0 1 2"; extra="$DEEP --epochs 20 --patience 3 --n-heads 4 --n-blocks 1 --d-ff 128" ;;
  *) echo "unknown family '$family'; expected classical, dkt or sakt" >&2; exit 2 ;;
esac
seeds=${SEEDS:-$seeds}
for seed in $seeds; do
  for ds in $datasets; do
    for model in $models; do
      out=results/$ds/$model-baseline/seed$seed
      [ -f "$out/metrics.json" ] && { echo "done: $out"; continue; }
      $PY -m gainakt train --model "$model" --dataset "$ds" --seed "$seed" --title "$model-baseline" $extra --out "$out"
    done
  done
done

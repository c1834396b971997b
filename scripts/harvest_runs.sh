#!/usr/bin/env bash
# Copy the finished runs of another checkout (e.g. a worktree frozen at the commit the matrix runs
# from, so that this one can change meanwhile) into this checkout, and commit each run on its own:
#   git worktree add --detach ../run HEAD && (cd ../run && ln -s "$PWD/../main/.venv" .venv)
#   (cd ../run && nohup scripts/run_matrix.sh > ../matrix.log 2>&1 &)
#   scripts/harvest_runs.sh ../run          # as often as you like: finished runs only, once each
# A run is finished when its metrics.json exists (written last) and its executed notebook is in
# book/runs/; checkpoints and locks stay behind. Driver summaries are committed too.
set -uo pipefail
SRC=$(cd "${1:?usage: scripts/harvest_runs.sh OTHER_CHECKOUT}" && pwd)
DST=$(cd "$(dirname "$0")/.." && pwd)
CODE=$(git -C "$SRC" rev-parse --short HEAD)
cd "$SRC"
for m in results/*/*/seed*/metrics.json; do
  [[ -e $m ]] || continue
  d=$(dirname "$m"); [[ -e $d/metrics.json.incomplete ]] && continue
  [[ -e $DST/$d/metrics.json ]] && continue
  ds=$(echo "$d" | cut -d/ -f2); run=$(echo "$d" | cut -d/ -f3); seed=${d##*/seed}
  nb=book/runs/$ds/$run-seed$seed.ipynb
  [[ -e $nb ]] || { echo "not yet: $d (no executed notebook)"; continue; }
  mkdir -p "$DST/$d" "$DST/$(dirname "$nb")"
  for f in "$d"/*; do [[ -f $f && $(basename "$f") != metrics.json ]] && cp "$f" "$DST/$d/"; done
  cp "$nb" "$DST/$nb"; cp "$m" "$DST/$m"          # metrics.json last
  n=$(ls "$DST"/results/"$ds"/"$run"/seed*/metrics.json 2>/dev/null | wc -l)
  # the notebook is added unless .gitignore keeps it out of the book (the ground-truth runs' pages)
  (cd "$DST" && git add "$d" && { git check-ignore -q "$nb" || git add -f "$nb"; } \
     && git commit -q -m "Results: $ds/$run seed $seed (code $CODE): $n seeds committed" && echo "committed $d")
done
for s in results/_driver/summary-*.json; do
  [[ -e $s && ! -e $DST/$s ]] || continue
  cp "$s" "$DST/$s" && (cd "$DST" && git add "$s" && git commit -q -m "Driver summary $(basename "$s") (code $CODE)")
done

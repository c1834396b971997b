#!/usr/bin/env bash
# One prepared call for a session that is lent the GPU machine (torch with CUDA, pandas, PyYAML;
# no papermill or nbformat, no package registry). It runs the runs of one tag of experiments.yml
# with the driver's direct mode (gainakt.pipeline.direct: the training notebook's Config and
# training, no kernel), several at once on the one GPU, and first the GPU benchmarks.
#
# Here, once per session (the data must travel inside the checkout; ../shared does not):
#   mkdir -p .gpu_data && cp -r ../shared/data/. .gpu_data/
#   grep -qx '/.gpu_data/' .git/info/exclude || echo '/.gpu_data/' >> .git/info/exclude
# Then the device tool:  run(command="bash scripts/gpu_session.sh full 4 540", carry=[".gpu_data"],
#                            timeout_s=600)
# Back here: copy what came back (files_at/results, files_at/book) into the checkout, check each
# run (`python -m gainakt.book status --tag full`), commit each finished run on its own.
#
# Arguments: TAG (default full: V2 and V3 at the seeds' size), WORKERS (runs at once, default 4),
# SECONDS (the whole call's budget, default 540; keep it under the tool's limit). A run that the
# budget stops leaves no result (it is not done); the driver's summary says which finished.
set -u
tag=${1:-full}; workers=${2:-4}; budget=${3:-540}; py=${PY:-python3}   # PY: another interpreter (a test here)
start=$(date +%s)
out=${OUT:-/tmp/gpu_out}; mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} GAINAKT_DATA=$PWD/.gpu_data PYTHONUNBUFFERED=1
left() { echo $((budget - ($(date +%s) - start))); }

nvidia-smi > "$out/nvidia-smi.txt" 2>&1
$py -c "import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0))" \
  > "$out/torch.txt" 2>&1
[ -d .gpu_data ] || { echo "no .gpu_data: copy ../shared/data there and carry it (see the header)"; exit 2; }

# the GPU benchmarks (a quarter of the budget at most): the seeds' size, one run and K runs sharing
timeout $((budget / 4)) $py benchmarks/bench_epoch.py --device cuda --size full --share 2 4 \
  > "$out/bench_epoch_cuda_full.txt" 2>&1
echo "bench_epoch exit $? after $(( $(date +%s) - start )) s" >> "$out/bench_epoch_cuda_full.txt"

# the runs, until 30 s before the budget ends
timeout $(( $(left) - 30 )) $py -m gainakt.book run --direct --tag "$tag" --workers "$workers" \
  --threads-per-run 1 > "$out/driver.log" 2>&1
echo "driver exit $? after $(( $(date +%s) - start )) s" >> "$out/driver.log"

# what came back: the files this call wrote under results/ and book/runs/ (finished runs, their
# pages, the driver's summary and logs), checkpoints left out
$py - "$out" "$start" <<'EOF'
import shutil, sys
from pathlib import Path
out, start = Path(sys.argv[1]), float(sys.argv[2])
for f in [*Path("results").rglob("*"), *Path("book/runs").rglob("*")]:
    if f.is_file() and f.suffix != ".pt" and f.stat().st_mtime >= start:
        (out / f.parent).mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, out / f)
EOF

#!/usr/bin/env bash
# Run the book's CPU matrix in priority order, resumably (finished runs are skipped), e.g. under
# nohup on a machine that stays up:
#   nohup scripts/run_matrix.sh > matrix.log 2>&1 &
# From a worktree frozen at one commit, scripts/harvest_runs.sh copies and commits the finished runs.
# Order: V2 and V3 in both flavours (the core comparison), V6 itself (the corrected model) and on
# the simulated learners (tag corrected-gt), the rest of the replication, the audit rows and V2 and
# V3 to their plateau (tag converged: the replication and audit chapters need both), V6's ablation
# rows, V2, V3 and V6 on assist2009 and statics2011 (tag datasets), then the seeds' sweeps (Phase 2,
# the Phase 1 points with 3 seeds, V2's BCE sweep, the Phase 1 grid). Within a group the driver keeps
# the file order of experiments.yml (entry, dataset, flavour, seed). WORKERS runs at once, THREADS
# threads each. The projected cost of each group is in the replication chapter.
set -uo pipefail
cd "${ROOT:-$(dirname "$0")/..}"
PY=${PY:-.venv/bin/python}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-1}
run() { "$PY" -m gainakt.book run --workers "$WORKERS" --threads-per-run "$THREADS" "$@"; }
run --tag core
run --tag corrected --key "assist2015/V6-as_intended-small/*"
run --tag corrected-gt
run --tag replication
run --tag audit
run --tag converged
run --tag corrected
run --tag datasets
run --tag phase2
run --tag phase1-points
run --tag v2-bce
run --tag phase1

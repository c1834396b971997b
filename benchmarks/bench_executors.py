"""Wall time of a small matrix with one worker against two (local pool, optionally Dask).

    .venv/bin/python benchmarks/bench_executors.py                      # 8 fixture runs
    .venv/bin/python benchmarks/bench_executors.py --executors local dask
    .venv/bin/python benchmarks/bench_executors.py --notebook notebooks/train_variant.ipynb \
        --params '{"epochs": 1, "d_model": 32, "n_blocks": 1}' --runs 4

Default load: the fixture notebook ``tests/fixtures/tiny_run.ipynb`` with a fixed CPU load of
``--work`` 256x256 matrix products per run (about 1 s on one core) and no sleep, one thread per
run (OMP_NUM_THREADS=1). Each configuration runs in a fresh temporary repository root, so
nothing is skipped and nothing in the repository is touched. Prints one table (with
``--repeat N``: the fastest of N interleaved repetitions, and every wall time).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gainakt.pipeline.driver import drive  # noqa: E402
from gainakt.pipeline.matrix import expand  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "tiny_run.ipynb"


def matrix(notebook: Path, n_runs: int, work: int, params: dict) -> dict:
    fixture = notebook.resolve() == FIXTURE
    defaults = {"notebook": str(notebook.resolve()), "dataset": "synthetic", "epochs": 2,
                "seeds": list(range(n_runs)), "num_threads": 1}
    if fixture:
        defaults["overrides"] = {"work": work, "sleep_s": 0}
    defaults.update(params)
    return {"validate": not fixture, "defaults": defaults,
            "runs": [{"variant": "V1", "flavour": "as_run", "label": "bench"}]}


def one(executor: str, workers: int, m: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{executor}{workers}-") as tmp:
        root = Path(tmp)
        (root / "notebooks").mkdir()
        runs = expand(m)
        t = time.perf_counter()
        rep = drive(runs, repo_root=root, executor=executor, workers=workers, progress=False)
        wall = time.perf_counter() - t
        if rep.exit_code:
            bad = [r for r in rep.results if r.status != "done"]
            raise SystemExit(f"{executor}/{workers}: {len(bad)} runs failed:\n{bad[0].error}")
        per_run = sum(r.seconds for r in rep.results) / len(rep.results)
        return {"executor": executor, "workers": workers, "runs": len(runs), "wall_s": wall,
                "mean_run_s": per_run}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--notebook", type=Path, default=FIXTURE)
    p.add_argument("--runs", type=int, default=8)
    p.add_argument("--work", type=int, default=2000,
                   help="fixture only: 256x256 matrix products per run (default 2000, ~1 s)")
    p.add_argument("--params", default="{}",
                   help="YAML/JSON mapping merged into the matrix defaults")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--executors", nargs="+", default=["local"], choices=["local", "dask"])
    p.add_argument("--repeat", type=int, default=1,
                   help="interleaved repetitions; the table shows the fastest (default 1)")
    p.add_argument("--json", type=Path, help="also write the rows to this file")
    a = p.parse_args(argv)
    m = matrix(a.notebook, a.runs, a.work, yaml.safe_load(a.params) or {})
    print(f"{a.runs} runs of {a.notebook.relative_to(REPO) if a.notebook.is_absolute() and REPO in a.notebook.parents else a.notebook}"
          f" on {os.cpu_count()} CPUs, 1 thread per run", flush=True)
    configs = [(ex, w) for ex in a.executors for w in a.workers]
    trials: dict[tuple, list] = {c: [] for c in configs}
    for i in range(a.repeat):          # interleaved, so slow phases of a shared machine
        for ex, w in configs:          # hit every configuration alike
            trials[(ex, w)].append(one(ex, w, m))
            print(f"  [{i + 1}/{a.repeat}] {ex} x{w}: {trials[(ex, w)][-1]['wall_s']:.1f} s",
                  flush=True)
    rows = []
    for c in configs:
        best = dict(min(trials[c], key=lambda r: r["wall_s"]))
        best["all_wall_s"] = [round(r["wall_s"], 2) for r in trials[c]]
        rows.append(best)
    print()
    print(f"{'executor':<9} {'workers':>7} {'runs':>5} {'wall s':>8} {'runs/min':>9} "
          f"{'mean run s':>11} {'speed-up':>9}")
    for r in rows:
        base = next(x for x in rows if x["executor"] == r["executor"])["wall_s"]
        print(f"{r['executor']:<9} {r['workers']:>7} {r['runs']:>5} {r['wall_s']:>8.1f} "
              f"{60 * r['runs'] / r['wall_s']:>9.1f} {r['mean_run_s']:>11.2f} "
              f"{base / r['wall_s']:>8.2f}x"
              + (f"   all: {r['all_wall_s']}" if len(r["all_wall_s"]) > 1 else ""))
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does the fast path learn the same model as the plain path? Metrics over seeds, side by side.

    python benchmarks/bench_metrics.py [--data-dir DIR] [--seeds 0 1 2 3] [--epochs 3]
                                       [--paths fast windows plain] [--out benchmarks/results/metrics]

Trains the book configuration (V1 as run, assist2015 folds 1-4) for a few epochs with each seed
and each path, then prints validation and test AUC as mean and standard deviation over seeds, and
the gap between each path and the plain one in units of its standard error (Welch's t):

* fast:    fused attention, gather practice, and steps of about the same number of targets, each
           made of one length bucket from each of 4 length strata (`batching="tokens"`,
           `length_strata=4`): the default;
* strata2, strata3, strata8: the same with 2, 3 or 8 strata (more strata: smaller buckets, more of
           them per step, a mix of lengths closer to a padded batch's, and a slower epoch);
* tokens1: the same with one bucket per step (`length_strata=1`): a step holds only short or only
           long windows;
* windows: buckets of 64 windows (`batching="windows"`), the fast path before the token budget:
           its short batches weigh their targets far more than the plain path does;
* plain:   matmul attention, dense [B, L, C] practice, 64 windows padded to 200 (the original).

Every (path, seed) is an ordinary run directory (config.json, history.csv, metrics.json) written by
`gainakt.train.run`: an interrupted benchmark resumes where it stopped, and
`python -m gainakt compare` can check a re-run against it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# common first: it puts this checkout's gainakt on sys.path
from common import BOOK_SIZE, PATHS, add_common_args, machine_line
from gainakt.repro import write_config
from gainakt.train import run
from gainakt.variants import make_config


ROOT = Path(__file__).resolve().parent


def run_one(path: str, seed: int, args) -> Path:
    cfg = make_config(args.variant, args.flavour, **BOOK_SIZE, **PATHS[path], seed=seed, epochs=args.epochs,
                      patience=args.epochs, dataset="assist2015", data_dir=args.data_dir,
                      train_eval_fraction=0.1, n_trajectory_students=1, num_threads=args.threads)
    out = Path(args.out) / path / f"seed{seed}"
    if not (out / "config.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        write_config(out, cfg, argv=sys.argv)
    if (out / "metrics.json").exists():  # written last, atomically: the run is finished
        return out
    run(cfg, out, log=lambda s: print(f"[{path} seed {seed}] {s}", flush=True))
    return out


def collect(args) -> pd.DataFrame:
    rows = []
    for path in args.paths:
        for seed in args.seeds:
            out = Path(args.out) / path / f"seed{seed}"
            if not (out / "metrics.json").exists():
                continue
            hist = pd.read_csv(out / "history.csv")
            met = json.loads((out / "metrics.json").read_text())
            for _, h in hist[hist.epoch > 0].iterrows():
                rows.append(dict(path=path, seed=seed, epoch=int(h.epoch), valid_enc1=h.valid_enc1_auc,
                                 valid_enc2=h.valid_enc2_auc, seconds=h.epoch_seconds))
            rows.append(dict(path=path, seed=seed, epoch="test (best)", valid_enc1=met["test"]["enc1_auc"],
                             valid_enc2=met["test"]["enc2_auc"], seconds=np.nan))
    return pd.DataFrame(rows)


def welch_t(a: np.ndarray, b: np.ndarray) -> float:
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return float((a.mean() - b.mean()) / se) if se > 0 else float("nan")


def report(df: pd.DataFrame, ref: str = "plain") -> None:
    if df.empty:
        print("no finished runs yet")
        return
    print(f"{'epoch':>12} {'path':8} {'seeds':>5} {'Enc1 AUC mean':>13} {'sd':>7} {'Enc2 AUC mean':>13} {'sd':>7}"
          f" {'Enc1 t vs ' + ref:>14} {'Enc2 t vs ' + ref:>14} {'s/epoch':>8}")
    for epoch, g in df.groupby(df.epoch.astype(str), sort=True):
        base = g[g.path == ref]
        for path, h in g.groupby("path", sort=False):
            t1 = t2 = ""
            if path != ref and len(base) > 1 and len(h) > 1:
                t1 = f"{welch_t(h.valid_enc1.values, base.valid_enc1.values):+.2f}"
                t2 = f"{welch_t(h.valid_enc2.values, base.valid_enc2.values):+.2f}"
            print(f"{epoch:>12} {path:8} {len(h):5d} {h.valid_enc1.mean():13.4f} {h.valid_enc1.std(ddof=1):7.4f}"
                  f" {h.valid_enc2.mean():13.4f} {h.valid_enc2.std(ddof=1):7.4f} {t1:>14} {t2:>14}"
                  f" {h.seconds.mean():8.1f}")
    print("\nrows 1..N: validation AUC after each epoch; 'test (best)': test AUC of the best-validation epoch.\n"
          "t: Welch's t of the path's mean against the plain path's (|t| < 2: within seed noise).")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, ["fast", "strata2", "strata3", "strata8", "tokens1", "windows", "plain"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "results" / "metrics"))
    p.add_argument("--report-only", action="store_true", help="print the table of the finished runs")
    args = p.parse_args()
    print(machine_line())
    print(f"configuration: {args.variant} {args.flavour}, {BOOK_SIZE}, {args.epochs} epochs, seeds {args.seeds}\n")
    if not args.report_only:
        for seed in args.seeds:          # seed-major: a partial benchmark already compares the paths
            for path in args.paths:
                run_one(path, seed, args)
    report(collect(args))


if __name__ == "__main__":
    main()

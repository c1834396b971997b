"""What the matrix costs: measured training time of finished runs, projected onto the planned ones.

A planned run's cost is its epoch budget times the mean training seconds per epoch of the finished
runs of the same cost class (the as-run V2-V5 run Encoder 2 over the padded batches because their
regularisers read padding; every other run is packed): an upper bound on epochs (early stopping
may stop sooner) and a lower bound on time (per-epoch evaluation is not in `epoch_seconds`).
A dataset with no finished run of a class borrows the rate of a dataset that has one, scaled by the
ratio of training interactions (a packed step's cost follows real interactions; the method chapter's
benchmark), and says so in the `rate from` column.

Wall time is not CPU time: the background runs took one thread each but ran two to five at once on
two cores, so a run's `epoch_seconds` measured its share of the machine. Runs now record their CPU
time (`epoch_cpu_seconds`); for the older ones `cpu_share` estimates it from when their notebooks
ran and how many ran beside them.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..variants import make_config


def cost_class(variant: str, flavour: str, overrides: dict | None = None) -> str:
    cfg = make_config(variant, flavour, **(overrides or {}))
    return "Encoder 2 over padding" if cfg.regularisers_see_padding else "packed"


def train_interactions(results_root) -> dict[str, int]:
    """dataset -> training interactions, as the baseline runs recorded them (metrics.json 'dataset')."""
    out = {}
    for f in sorted(Path(results_root).glob("*/*-baseline/*/metrics.json")):
        d = json.loads(f.read_text()).get("dataset") or {}
        if isinstance(d, dict) and d.get("train_interactions"):
            out.setdefault(str(d.get("name", f.parts[-4])), int(d["train_interactions"]))
    return out


def run_key(results_dir) -> str:
    """'dataset/name/seedN': a run folder's last three parts, whatever root it sits under."""
    return "/".join(Path(str(results_dir)).parts[-3:])


def run_intervals(notebook_root) -> dict[str, tuple[float, float]]:
    """run_key -> (start, end) in POSIX seconds, from the papermill metadata of the executed run
    notebooks under `notebook_root` (the driver writes one per run; a resumed run keeps its last
    attempt's times)."""
    out = {}
    for f in sorted(Path(notebook_root).rglob("*.ipynb")):
        try:
            pm = json.loads(f.read_text()).get("metadata", {}).get("papermill") or {}
            start, end = (pd.Timestamp(pm[k]).timestamp() for k in ("start_time", "end_time"))
            out[run_key(pm["parameters"]["results_dir"])] = (start, end)
        except (OSError, ValueError, KeyError, TypeError):
            continue   # not a run notebook, or one that never finished
    return out


def cpu_share(intervals: dict[str, tuple[float, float]], cores: int) -> dict[str, float]:
    """run_key -> the run's mean share of a core while it ran: the time average over its interval of
    min(1, cores / n(t)), n(t) the number of run notebooks executing at t (itself included). Runs took
    one thread each, so share x wall time estimates CPU time. An upper bound: work without a run
    notebook (the ground-truth runs, checks of the book) used the same cores unseen."""
    if not intervals:
        return {}
    keys = list(intervals)
    se = np.array([intervals[k] for k in keys], dtype=float)        # [R, 2]
    edges = np.unique(se.ravel())
    mid, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)        # [S] segments between events
    inside = (se[:, :1] <= mid) & (mid < se[:, 1:])                  # [R, S] run r runs in segment s
    share = np.minimum(1.0, cores / np.maximum(inside.sum(0), 1))    # [S]
    span = np.maximum(se[:, 1] - se[:, 0], 1e-9)
    return dict(zip(keys, (inside * (share * width)).sum(1) / span))


def _recorded_and_estimated(runs: pd.DataFrame, shares: dict[str, float]) -> tuple[pd.Series, pd.Series]:
    """Per run: the CPU time it recorded (NaN before the clock) and wall time x its share of a core."""
    recorded = runs["cpu_seconds"] if "cpu_seconds" in runs else pd.Series(np.nan, index=runs.index)
    return recorded, runs.train_seconds * runs.dir.map(lambda d: shares.get(run_key(d), np.nan))


def cpu_seconds_estimate(runs: pd.DataFrame, shares: dict[str, float]) -> pd.Series:
    """Per run: the CPU time it recorded (`cpu_seconds`), else its training wall time x its share of
    a core (`cpu_share`); NaN for a run with neither."""
    recorded, est = _recorded_and_estimated(runs, shares)
    return recorded.where(recorded.notna(), est)


def share_check(runs: pd.DataFrame, shares: dict[str, float]) -> pd.Series:
    """For the runs that recorded their CPU time and have an estimated share: measured CPU time over
    the estimate (train_seconds x share). Below 1: the estimate overstates, as an upper bound should."""
    recorded, est = _recorded_and_estimated(runs, shares)
    ratio = recorded / est
    return ratio[np.isfinite(ratio)]


def projected_cost(runs: pd.DataFrame, planned, states: dict, interactions: dict[str, int] | None = None,
                   seconds: str = "train_seconds") -> pd.DataFrame:
    """One row per tag group of `planned` (matrix Runs): runs planned, done, and hours done and still
    to do. A planned run costs its epochs times the seconds per epoch (column `seconds`) of the
    finished runs of its dataset, cost class and variant (V0's scalar gain costs less than a per-skill
    variant of the same class); without those, of its dataset and class ('measured (class)'). With
    `interactions` (dataset -> training interactions, `train_interactions`), a dataset without a
    measured rate for a class gets the rate of the measured dataset of that class scaled by the
    ratio of training interactions ('scaled from <dataset>'). `s/epoch`: the mean rate of the group's runs."""
    per_epoch: dict[tuple, list[tuple[bool, float]]] = {}
    for _, r in runs.iterrows():
        if r.epochs_run and not r.get("derived_from") and pd.notna(r[seconds]):   # a copied run measured nothing
            k = cost_class(r.variant, r.flavour, {f: r.config[f] for f in ("mask_padding", "batching")})
            clocked = pd.notna(r.get("cpu_seconds", np.nan))   # its CPU time recorded, not estimated
            for key in ((r.dataset, k), (r.dataset, k, r.variant)):
                per_epoch.setdefault(key, []).append((clocked, r[seconds] / r.epochs_run))
    # where some runs of a key recorded their CPU time, they alone set its rate (the estimate is a ceiling)
    rate = {k: float(np.mean([x for c, x in v if c] or [x for _, x in v])) for k, v in per_epoch.items()}
    source = {k: "measured" if len(k) == 3 else "measured (class)" for k in rate}
    interactions = interactions or {}
    for d in {r.dataset for r in planned}:
        for k in ("packed", "Encoder 2 over padding"):
            ref = [key[0] for key in rate if len(key) == 2 and key[1] == k and key[0] in interactions]
            if (d, k) not in rate and d in interactions and ref:
                m = max(ref, key=lambda x: len(per_epoch[(x, k)]))   # the best-measured dataset
                rate[(d, k)] = rate[(m, k)] * interactions[d] / interactions[m]
                source[(d, k)] = f"scaled from {m}"
    rows = []
    for r in planned:
        ov = {k: v for k, v in (r.params.get("overrides") or {}).items() if k in ("mask_padding", "batching")}
        k = cost_class(r.variant, r.flavour, ov)
        key = (r.dataset, k, r.variant) if (r.dataset, k, r.variant) in rate else (r.dataset, k)
        done = states.get(r.key) == "done"
        match = runs[runs.dir.str.endswith(r.results_dir)] if len(runs) else runs
        rows.append({"group": "+".join(t for t in r.tags if t != "core") or "-", "class": k, "done": done,
                     "hours done": float(match[seconds].sum()) / 3600 if done and len(match) else 0.0,
                     "dataset": r.dataset, "rate": rate.get(key, np.nan), "rate from": source.get(key, "none"),
                     "hours to do": 0.0 if done else r.params["epochs"] * rate.get(key, np.nan) / 3600})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    out = df.groupby(["dataset", "group", "class"]).agg(
        planned=("done", "size"), done=("done", "sum"), hours_done=("hours done", "sum"),
        hours_to_do=("hours to do", lambda x: x.sum(min_count=1)), **{"s/epoch": ("rate", "mean")},
        **{"rate from": ("rate from", lambda x: ", ".join(sorted(set(x))))})
    return out.reset_index()


def late_slowdown(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose epochs grew costlier as they trained: per run that recorded its CPU time on every
    trained epoch (more than `runs.EARLY_EPOCHS` of them; `runs.cpu_profile`, read with the run), the
    median CPU seconds of its first epochs, its costliest epoch, and their ratio, costliest first.
    Process time is not inflated by runs sharing the cores, so a ratio well above 1 is the run's own
    arithmetic getting slower (subnormal floats: `benchmarks/bench_denormal.py`). Columns: dataset,
    run, seed, epochs, early_cpu_s, max_cpu_s, ratio."""
    cols = ["dataset", "run", "seed", "epochs", "early_cpu_s", "max_cpu_s", "ratio"]
    if not len(runs) or "cpu_epochs" not in runs:
        return pd.DataFrame(columns=cols)
    r = runs[runs.cpu_epochs.notna()]
    t = pd.DataFrame({"dataset": r.dataset, "run": r["name"], "seed": r.seed, "epochs": r.cpu_epochs.astype(int),
                      "early_cpu_s": r.cpu_early_s, "max_cpu_s": r.cpu_max_s, "ratio": r.cpu_max_s / r.cpu_early_s},
                     columns=cols)
    return t.sort_values("ratio", ascending=False, ignore_index=True)

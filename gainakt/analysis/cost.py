"""What the matrix costs: measured training time of finished runs, projected onto the planned ones.

A planned run's cost is its epoch budget times the mean training seconds per epoch of the finished
runs of the same cost class (the as-run V2-V5 run Encoder 2 over the padded batches because their
regularisers read padding; every other run is packed): an upper bound on epochs (early stopping
may stop sooner) and a lower bound on time (per-epoch evaluation is not in `epoch_seconds`).
A dataset with no finished run of a class borrows the rate of a dataset that has one, scaled by the
ratio of training interactions (a packed step's cost follows real interactions; the method chapter's
benchmark), and says so in the `rate from` column.
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


def projected_cost(runs: pd.DataFrame, planned, states: dict, interactions: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per tag group of `planned` (matrix Runs): runs planned, done, and CPU-hours done and
    still to do (seconds per epoch per cost class from the finished runs, `runs`). With
    `interactions` (dataset -> training interactions, `train_interactions`), a dataset without a
    measured rate for a class gets the rate of the measured dataset of that class scaled by the
    ratio of training interactions (column `rate from`: 'measured' or 'scaled from <dataset>')."""
    per_epoch: dict[str, list[float]] = {}
    for _, r in runs.iterrows():
        if r.epochs_run and not r.get("derived_from"):   # a copied run measured nothing
            k = cost_class(r.variant, r.flavour, {f: r.config[f] for f in ("mask_padding", "batching")})
            per_epoch.setdefault((r.dataset, k), []).append(r.train_seconds / r.epochs_run)
    rate = {k: float(np.mean(v)) for k, v in per_epoch.items()}
    source = {k: "measured" for k in rate}
    interactions = interactions or {}
    for d in {r.dataset for r in planned}:
        for k in ("packed", "Encoder 2 over padding"):
            ref = [m for (m, c) in list(rate) if c == k and source[(m, c)] == "measured" and m in interactions]
            if (d, k) not in rate and d in interactions and ref:
                m = max(ref, key=lambda x: len(per_epoch[(x, k)]))   # the best-measured dataset
                rate[(d, k)] = rate[(m, k)] * interactions[d] / interactions[m]
                source[(d, k)] = f"scaled from {m}"
    rows = []
    for r in planned:
        ov = {k: v for k, v in (r.params.get("overrides") or {}).items() if k in ("mask_padding", "batching")}
        k = cost_class(r.variant, r.flavour, ov)
        done = states.get(r.key) == "done"
        match = runs[runs.dir.str.endswith(r.results_dir)] if len(runs) else runs
        rows.append({"group": "+".join(t for t in r.tags if t != "core") or "-", "class": k, "done": done,
                     "hours done": float(match.train_seconds.sum()) / 3600 if done and len(match) else 0.0,
                     "dataset": r.dataset,
                     "hours to do": 0.0 if done else r.params["epochs"] * rate.get((r.dataset, k), np.nan) / 3600})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    out = df.groupby(["dataset", "group", "class"]).agg(planned=("done", "size"), done=("done", "sum"),
                                             hours_done=("hours done", "sum"), hours_to_do=("hours to do", lambda x: x.sum(min_count=1)))
    out["s/epoch"] = [rate.get((d, k), np.nan) for d, _, k in out.index]
    out["rate from"] = [source.get((d, k), "none") for d, _, k in out.index]
    return out.reset_index()

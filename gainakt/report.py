"""Reading results back for the book: one run, all runs, and 'reported vs measured' tables.

Analysis notebooks use only this module and `plots.py`; they never train.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .variants import variant_by_slug

# reported-number key -> (split, metric in metrics.json); None split = learned parameter
REPORTED_MAP = {
    "enc1_train_auc": ("train", "enc1_auc"), "enc1_val_auc": ("valid", "enc1_auc"),
    "enc1_test_auc": ("test", "enc1_auc"), "enc2_train_auc": ("train", "enc2_auc"),
    "enc2_val_auc": ("valid", "enc2_auc"), "enc2_test_auc": ("test", "enc2_auc"),
    "mastery_corr": ("test", "mastery_corr_original"), "mastery_corr_test": ("test", "mastery_corr_original"),
    "gain_corr": ("test", "gain_corr_original"),
    "gain_mean": ("test", "gain_scalar_mean"), "gain_std": ("test", "gain_scalar_std"),
    "gain_cv": ("test", "gain_scalar_cv"), "per_skill_cv": ("test", "gain_scalar_per_skill_cv"),
    "response_ratio": ("test", "gain_scalar_response_ratio_next"), "beta_std": ("params", "beta_std"),
    "best_epoch": (None, "best_epoch"), "epochs_run": (None, "epochs_run"),
    "checks_passed": (None, "checks_passed"),
    # V3+'s "CV = 0.24 at epoch 0": the per-skill gains (not the legacy scalar) of the untrained model
    "init_cv": ("untrained", "gain_skill_per_skill_cv"),
    # V4/V5's "correlation with 1/difficulty": computed by the replication chapter from skill_gains.csv
    # (gainakt.analysis.replication.add_inv_difficulty_corr), not by training
    "corr_inv_difficulty": ("test", "corr_inv_difficulty"),
}


def repo_root(start: str | Path | None = None) -> Path:
    """The folder holding pyproject.toml above `start` (default: this package)."""
    p = Path(start or Path(__file__)).resolve()
    for q in [p, *p.parents]:
        if (q / "pyproject.toml").exists() and (q / "gainakt").is_dir():
            return q
    raise FileNotFoundError(f"no project root (pyproject.toml + gainakt/) above {p}")


def resolve(path: str | Path) -> Path:
    """Relative paths are taken from the project root, so notebooks can run from any folder."""
    p = Path(path)
    return p if p.is_absolute() else repo_root() / p


def load_run(results_dir: str | Path) -> dict:
    d = resolve(results_dir)
    out = {"dir": d, "metrics": json.loads((d / "metrics.json").read_text()),
           "config": json.loads((d / "config.json").read_text())["config"],
           "history": pd.read_csv(d / "history.csv")}
    if (d / "trajectories.csv").exists():
        out["trajectories"] = pd.read_csv(d / "trajectories.csv")
    return out


def _lookup(metrics: dict, history: pd.DataFrame | None, split, key):
    if split is None:
        return metrics.get(key, np.nan)
    if split == "params":
        return metrics["params"].get(key, np.nan)
    if split == "untrained":  # the untrained model of the same configuration, validation split
        return metrics.get("untrained_valid", {}).get(key, np.nan)
    if split == "train" and "train" in metrics:  # the final evaluation (runs from this version on)
        return metrics["train"].get(key, np.nan)
    if split == "train":  # older runs: train metrics come from the best epoch's row of the history
        if history is None:
            return np.nan
        row = history[history.epoch == metrics["best_epoch"]]
        return float(row[f"train_{key}"].iloc[0]) if len(row) else np.nan
    return metrics[split].get(key, np.nan)


def reported_vs_measured(variant: str, metrics: dict, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """The seeds' numbers for `variant` beside what this run measured (same definitions where
    the original's definition is known: gain statistics of the legacy scalar tensor, response ratio
    conditioned on r_{t+1}, mastery correlation averaged over all skills, checks counted the
    original's way).

    Columns: `measured` (the whole test split, or the split named in `measured_from`);
    `measured_seeds_rows` for gain statistics: the same statistic over the rows the seeds computed it
    on (the trajectory CSV: the first n_trajectory_students test windows with >= trajectory_min_steps
    steps, audit 5.3); `per_skill_tensor`: the whole-split value read from the per-skill gains."""
    v = variant_by_slug(variant)
    sample = metrics.get("test_trajectory_sample", {})
    rows = []
    for key, rep in v.reported.items():
        split, metric = REPORTED_MAP.get(key, (None, key))
        row = {"quantity": key, "reported": rep, "measured": _lookup(metrics, history, split, metric),
               "measured_from": f"{split or 'run'}.{metric}"}
        if metric.startswith("gain_scalar"):
            row["measured_seeds_rows"] = sample.get(metric, np.nan)
            row["per_skill_tensor"] = _lookup(metrics, history, split, metric.replace("gain_scalar", "gain_skill"))
        if key == "checks_passed":
            row["measured_seeds_rows"] = metrics.get("checks_passed", np.nan)
            row["measured"] = metrics.get("checks_passed_by", {}).get("test_split/original", row["measured"])
            row["measured_from"] = "run.checks_passed_by[test_split/original]"
        rows.append(row)
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["quantity", "reported", "measured", "measured_from"])


SUMMARY_METRICS = ("enc1_auc", "enc1_acc", "enc2_auc", "enc2_acc", "gain_scalar_std", "gain_skill_std",
                   "gain_skill_per_skill_cv", "mastery_corr_original", "mastery_corr_target",
                   "saturation_fraction_readout", "saturation_fraction")


def run_summary(metrics: dict) -> pd.DataFrame:
    """One run's headline metrics (rows) on valid, test and the untrained model on valid (columns):
    the untrained column is the noise floor of each gain statistic."""
    cols = {s: {k: metrics[s].get(k, np.nan) for k in SUMMARY_METRICS} for s in ("valid", "test")}
    cols["untrained (valid)"] = {k: metrics.get("untrained_valid", {}).get(k, np.nan) for k in SUMMARY_METRICS}
    return pd.DataFrame(cols)


def collect(results_root: str | Path = "results") -> pd.DataFrame:
    """One row per finished GainAKT3Exp run under results/<dataset>/<name>/seed<k>/: config and test
    metrics (baseline runs are left out: `gainakt.baselines.report` reads them)."""
    rows = []
    for mfile in sorted(resolve(results_root).glob("*/*/seed*/metrics.json")):
        d = mfile.parent
        try:
            run = json.loads(mfile.read_text())
            cfg = json.loads((d / "config.json").read_text())["config"]
        except (OSError, json.JSONDecodeError, KeyError):
            continue
        if cfg.get("model", "gainakt") != "gainakt":
            continue  # baselines: gainakt.baselines.report
        row = {"dataset": cfg["dataset"], "variant": cfg["variant"], "flavour": cfg["flavour"],
               "run": d.parent.name, "seed": cfg["seed"], "epochs_run": run["epochs_run"],
               "best_epoch": run["best_epoch"], "d_model": cfg["d_model"], "n_blocks": cfg["n_blocks"]}
        row.update({f"test_{k}": v for k, v in run["test"].items() if isinstance(v, (int, float))})
        row.update({f"untrained_{k}": v for k, v in run.get("untrained_valid", {}).items()
                    if isinstance(v, (int, float))})
        row["checks_passed"] = run.get("checks_passed", np.nan)
        row.update({f"checks_passed_{k.replace('/', '_')}": n for k, n in run.get("checks_passed_by", {}).items()})
        rows.append(row)
    base = ["dataset", "variant", "flavour", "run", "seed", "epochs_run", "best_epoch", "d_model", "n_blocks"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=base)


def summarise(df: pd.DataFrame, metrics: list[str], by=("dataset", "run")) -> pd.DataFrame:
    """Mean and standard deviation over seeds (n = number of seeds) for each group."""
    metrics = [m for m in metrics if m in df.columns]
    if df.empty or not metrics:
        return pd.DataFrame(columns=[*by, "n_seeds"])
    g = df.groupby(list(by))
    out = g[metrics].agg(["mean", "std"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    out.insert(0, "n_seeds", g.size())
    return out.reset_index()

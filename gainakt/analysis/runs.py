"""Finished runs as one table: identity, configuration, how training ended, and every metric.

`load_runs("results", dataset="assist2015")` reads results/<dataset>/<name>/seed<k>/ folders
(config.json, metrics.json, history.csv) into one row per run. Metric columns are prefixed by
where they come from: ``test_``, ``valid_``, ``untrained_`` (the untrained model of the same
configuration on the validation split: the noise floor of every gain statistic) and ``param_``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..report import resolve

# Config fields that identify a run rather than change what it learns.
IDENTITY_FIELDS = {"variant", "flavour", "title", "seed", "data_dir", "device", "num_threads"}


def flavour_words(flavour: str) -> str:
    """'as_run' -> 'as run': a flavour in a sentence."""
    return flavour.replace("_", " ")


def stopping(history: pd.DataFrame, epochs: int, patience: int) -> str:
    """How training ended: 'early stop' (patience ran out before the epoch budget), 'budget,
    still improving' (the best epoch is the last one: not converged), or 'budget, plateau'."""
    trained = history[history.epoch > 0]
    if trained.empty:
        return "not trained"
    last = int(trained.epoch.max())
    best = int(trained.loc[trained.valid_enc1_auc.idxmax(), "epoch"])
    if last < epochs:
        return "early stop"
    if best == last:
        return "budget, still improving"
    return "budget, plateau" if last - best < patience else "early stop"


# An epoch this many times longer than the run's median measured a pause, not training: the background
# runs are stopped (SIGSTOP) while a check of the book runs, and `epoch_seconds` is wall time.
PAUSED_EPOCH_FACTOR = 5.0


def training_seconds(history: pd.DataFrame) -> float:
    """Training time of a run: the sum of `epoch_seconds` over trained epochs, where an epoch longer
    than PAUSED_EPOCH_FACTOR x the run's median counts as the median (a paused process)."""
    if "epoch_seconds" not in history:
        return np.nan
    s = history.loc[history.epoch > 0, "epoch_seconds"].astype(float)
    if s.empty:
        return 0.0
    med = float(s.median())
    return float(s.where(s <= PAUSED_EPOCH_FACTOR * med, med).sum())


def cpu_seconds(history: pd.DataFrame) -> float:
    """CPU time of training: the sum of `epoch_cpu_seconds` (the run's process time; recorded since
    runs shared the cores, when wall time stopped measuring cost). NaN when any trained epoch lacks
    it (a run from before, or one resumed across the change)."""
    if "epoch_cpu_seconds" not in history:
        return np.nan
    s = history.loc[history.epoch > 0, "epoch_cpu_seconds"].astype(float)
    return float(s.sum()) if s.notna().all() else np.nan


EARLY_EPOCHS = 5   # the epochs `cpu_profile` takes as a run's starting cost


def cpu_profile(history: pd.DataFrame) -> tuple[float, float, float]:
    """(trained epochs, median CPU seconds of the first EARLY_EPOCHS, the costliest epoch's) from
    `epoch_cpu_seconds`; NaNs unless every trained epoch recorded a positive CPU time and there are
    more than EARLY_EPOCHS of them (`cost.late_slowdown` reads it)."""
    nan = (np.nan, np.nan, np.nan)
    if "epoch_cpu_seconds" not in history:
        return nan
    s = history.loc[history.epoch > 0, "epoch_cpu_seconds"].astype(float)
    if len(s) <= EARLY_EPOCHS or s.isna().any() or (s <= 0).any():
        return nan
    return float(len(s)), float(s.iloc[:EARLY_EPOCHS].median()), float(s.max())


def _flat(prefix: str, d: dict) -> dict:
    return {f"{prefix}{k}": v for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def read_run(d: Path) -> dict | None:
    """One run folder -> one row (None when it is not finished, cannot be read, or is a baseline)."""
    try:
        metrics = json.loads((d / "metrics.json").read_text())
        record = json.loads((d / "config.json").read_text())
        history = pd.read_csv(d / "history.csv")
    except (OSError, ValueError):
        return None
    cfg = record["config"]
    if cfg.get("model", "gainakt") != "gainakt":
        return None   # a baseline run: gainakt.baselines.report reads those
    name = d.parent.name
    prefix = f"{cfg['variant']}-{cfg['flavour']}"
    label = name[len(prefix) + 1:] if name.startswith(prefix + "-") else ""
    row = {"dataset": cfg["dataset"], "name": name, "variant": cfg["variant"], "flavour": cfg["flavour"],
           "label": label, "seed": cfg["seed"], "dir": str(d), "config": cfg,
           "epochs": cfg["epochs"], "patience": cfg["patience"],
           "epochs_run": metrics.get("epochs_run"), "best_epoch": metrics.get("best_epoch"),
           "stopping": stopping(history, cfg["epochs"], cfg["patience"]),
           "train_seconds": training_seconds(history), "cpu_seconds": cpu_seconds(history),
           **dict(zip(("cpu_epochs", "cpu_early_s", "cpu_max_s"), cpu_profile(history))),
           "d_model": cfg["d_model"], "n_blocks": cfg["n_blocks"], "git_commit": record.get("git_commit"),
           # the CPU the run trained on (`repro.versions`); "" for runs older than that record
           "cpu": (record.get("versions") or {}).get("cpu", ""), "created": record.get("created", ""),
           # copied from a run that trained the same (gainakt.pipeline.derive): no training time of its own
           "derived_from": (record.get("derived_from") or {}).get("results_dir", "")}
    if row["derived_from"]:
        row["train_seconds"] = row["cpu_seconds"] = 0.0
    for split in ("test", "valid", "untrained_valid"):
        row.update(_flat("untrained_" if split == "untrained_valid" else f"{split}_", metrics.get(split, {})))
    row.update(_flat("param_", metrics.get("params", {})))
    # the seeds' gain statistics came from 10 test windows (audit 5.3): sample_* beside test_*
    row.update(_flat("sample_", metrics.get("test_trajectory_sample", {})))
    # the six trajectory checks, the seeds' way (their 10 test windows); set before the early return
    # below, which once left them out of every run that had a final training evaluation
    row["checks_passed"] = metrics.get("checks_passed", np.nan)
    if "train" in metrics:  # the final evaluation of the training windows (the original's evaluator)
        row.update(_flat("train_", metrics["train"]))
        return row
    best = history[history.epoch == metrics.get("best_epoch")]
    if len(best):  # older runs: train metrics (a sample of the training windows) at the best epoch
        row.update({c: float(best[c].iloc[0]) for c in history.columns if c.startswith("train_")
                    and not c.startswith("train_loss") and pd.api.types.is_numeric_dtype(history[c])})
    return row


def load_runs(results_root: str | Path = "results", dataset: str | None = None) -> pd.DataFrame:
    """Every finished run under `results_root` (optionally one dataset), one row each."""
    root = resolve(results_root)
    pattern = f"{dataset or '*'}/*/seed*/metrics.json"
    rows = [r for f in sorted(root.glob(pattern)) if (r := read_run(f.parent)) is not None]
    cols = ["dataset", "name", "variant", "flavour", "label", "seed", "dir", "config", "epochs",
            "epochs_run", "best_epoch", "stopping"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)


def config_diff(a: dict, b: dict, ignore=IDENTITY_FIELDS) -> dict:
    """Fields whose values differ between two configs (b's value), identity fields ignored. A field
    that a config written before it existed lacks takes its default (`gainakt.config.with_defaults`),
    so a new field is never mistaken for a switch."""
    from ..config import with_defaults

    a, b = with_defaults(a), with_defaults(b)
    return {k: b.get(k) for k in sorted(set(a) | set(b)) if k not in ignore and a.get(k) != b.get(k)}


def switch_text(base: pd.DataFrame, group: pd.DataFrame) -> str:
    """The switch of an audit group, as every chapter writes it: 'field=value, ...' for the config
    fields of `group`'s first run that differ from `base`'s first run (`config_diff`)."""
    return ", ".join(f"{k}={v}" for k, v in config_diff(base.iloc[0].config, group.iloc[0].config).items())


def mean_sd(values, digits: int | None = 4, n: bool = True, sign: bool = False) -> str:
    """'m ± sd (n=k)' over the finite values ('m (n=1)' for one, '' for none): the one formatter of
    every chapter table. digits None: 4 decimals, 6 when every |value| < 0.01 (gain statistics near
    0); n False drops '(n=k)'; sign writes '+' on positive means (changes, effects)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return ""
    d = digits if digits is not None else (4 if np.abs(v).max() >= 0.01 else 6)
    out = f"{v.mean():{'+' if sign else ''}.{d}f}" + (f" ± {v.std(ddof=1):.{d}f}" if v.size > 1 else "")
    return out + (f" (n={v.size})" if n else "")


# Beyond seed noise: a two-sided Welch test at this level. With 3 seeds a side the Welch-Satterthwaite
# degrees of freedom are 2-4, so this needs |t| of about 2.8-4.3, not the normal 2 (too lax for 3 seeds).
NOISE_ALPHA = 0.05


def _welch(a, b) -> tuple[float, float]:
    """(Welch's t of mean(a) - mean(b), two-sided p with Welch-Satterthwaite degrees of freedom);
    NaN for both with fewer than 2 finite values on a side. Zero spread on both sides: t is +-inf
    and p 0 where the means differ, t 0 and p 1 where they are equal (runs that are bit-identical)."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return float("nan"), float("nan")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    d = a.mean() - b.mean()
    if va + vb == 0:
        return (float("inf") * np.sign(d), 0.0) if d != 0 else (0.0, 1.0)
    t = d / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    return float(t), float(2 * stats.t.sf(abs(t), df))


def welch_t(a, b) -> float:
    """Welch's t of mean(a) - mean(b); NaN with fewer than 2 values on a side."""
    return _welch(a, b)[0]


def welch_p(a, b) -> float:
    """Two-sided p of Welch's test of mean(a) = mean(b) (`_welch`); NaN with fewer than 2 values a side."""
    return _welch(a, b)[1]


def beyond_noise(p: float, alpha: float = NOISE_ALPHA) -> bool:
    """Whether a difference with Welch p-value `p` is beyond seed noise (False for NaN)."""
    return bool(np.isfinite(p) and p < alpha)


def t_text(a, b) -> str:
    """'Welch t +3.1, p 0.03' for the prose of every chapter."""
    t, p = _welch(a, b)
    return f"Welch t {t:+.1f}, p {p:.2g}" if np.isfinite(p) else "Welch t n/a"


def noise_word(a, b) -> str:
    """'beyond' or 'within' (seed noise), by `beyond_noise` of the Welch test of a against b."""
    return "beyond" if beyond_noise(welch_p(a, b)) else "within"
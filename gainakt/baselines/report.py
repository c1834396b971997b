"""Tables of the baseline runs under results/, for the book.

    baseline_table("results")   # one row per dataset x model: test/valid AUC and accuracy, mean and sd over seeds
    skill_params("results", "assist2015")  # per skill: attempts, accuracy, BKT and PFA parameters, joined

Runs are the folders results/<dataset>/<model>-baseline/seed<k>/ holding a metrics.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..report import resolve

# Published pyKT test AUCs on assist2015 (pyKT's own evaluation: its windows and question/concept
# handling, not ours; Liu et al. 2022, "pyKT: A Python Library to Benchmark Deep Learning based
# Knowledge Tracing Models", NeurIPS Datasets and Benchmarks).
PYKT_ASSIST2015 = {"dkt": 0.7271, "akt": 0.7281, "deep_irt": 0.7219}

ORDER = ("skill_only", "pfa", "pfa_monotone", "afm", "bkt", "dkt", "sakt")


def baseline_runs(results_dir: str | Path = "results") -> pd.DataFrame:
    """One row per finished baseline run: dataset, model, seed, valid/test AUC and accuracy, seconds, converged."""
    rows = []
    for f in sorted(resolve(results_dir).glob("*/*-baseline/seed*/metrics.json")):
        m = json.loads(f.read_text())
        seed_dir = f.parent
        rows.append({"dataset": seed_dir.parents[1].name, "model": m["model"],
                     "seed": int(seed_dir.name.removeprefix("seed")),
                     **{f"{s}_{k}": m[s][f"enc1_{k}"] for s in ("test", "valid") for k in ("auc", "acc")},
                     "test_interactions": m["test"]["interactions"], "epochs_run": m["epochs_run"],
                     "seconds": m["seconds"], "converged": m["converged"]})
    return pd.DataFrame(rows)


def baseline_table(results_dir: str | Path = "results", digits: int = 4) -> pd.DataFrame:
    """One row per dataset x model: n seeds, mean and sd (over seeds; NaN with one seed) of test and
    valid AUC and accuracy, mean seconds per run, and whether every seed's fit converged."""
    runs = baseline_runs(results_dir)
    if runs.empty:
        return runs
    metrics = ["test_auc", "test_acc", "valid_auc", "valid_acc"]
    g = runs.groupby(["dataset", "model"])
    table = g[metrics].mean().add_suffix("_mean").join(g[metrics].std(ddof=1).add_suffix("_sd"))
    table = table.join(g.size().rename("seeds")).join(g["seconds"].mean().rename("seconds_mean"))
    table = table.join(g["converged"].all().rename("all_converged")).reset_index()
    table["model"] = pd.Categorical(table["model"], [m for m in ORDER if m in set(table["model"])]
                                    + sorted(set(table["model"]) - set(ORDER)), ordered=True)
    cols = ["dataset", "model", "seeds"] + [f"{m}_{s}" for m in metrics for s in ("mean", "sd")] \
        + ["seconds_mean", "all_converged"]
    return table.sort_values(["dataset", "model"])[cols].round(digits).reset_index(drop=True)


def skill_params(results_dir: str | Path, dataset: str, seed: int = 0) -> pd.DataFrame:
    """Per-skill parameters of the classical baselines on `dataset`, joined on skill."""
    out = None
    for model in ("skill_only", "pfa", "pfa_monotone", "afm", "bkt"):
        f = resolve(results_dir) / dataset / f"{model}-baseline" / f"seed{seed}" / "skill_params.csv"
        if not f.is_file():
            continue
        t = pd.read_csv(f)
        out = t if out is None else out.merge(t.drop(columns=[c for c in t if c in out and c != "skill"]), on="skill")
    if out is None:
        raise FileNotFoundError(f"no skill_params.csv of a classical baseline under {results_dir}/{dataset}/")
    return out


def gainakt_runs(results_dir: str | Path = "results") -> pd.DataFrame:
    """Encoder 1 and Encoder 2 of every GainAKT3Exp run under results/ (baselines, whose metrics.json
    names their model, left out), one row per run and encoder, with the same columns as `baseline_runs`."""
    rows = []
    for f in sorted(resolve(results_dir).glob("*/*/seed*/metrics.json")):
        name = f.parent.parent.name
        m = json.loads(f.read_text())
        if "model" in m:   # a baseline run (also one with a label, e.g. bkt-baseline-gt-none)
            continue
        for enc, label in (("enc1", "Encoder 1"), ("enc2", "Encoder 2")):
            rows.append({"dataset": f.parents[2].name, "model": f"{name} {label}",
                         "seed": int(f.parent.name.removeprefix("seed")),
                         **{f"{s}_{k}": m[s][f"{enc}_{k}"] for s in ("test", "valid") for k in ("auc", "acc")},
                         "epochs_run": m.get("epochs_run")})
    return pd.DataFrame(rows)


def comparison_table(results_dir: str | Path = "results", dataset: str = "assist2015",
                     labels: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Test AUC and accuracy on `dataset`: baselines (mean, sd over seeds), GainAKT3Exp's encoders
    (mean, sd over seeds) and, for assist2015, pyKT's published AUCs (its own evaluation protocol).
    `labels`: keep only the GainAKT3Exp runs whose name ends in '-<label>' (e.g. ("small",): the
    replication matrix and V6 itself, not the audit and design rows); None keeps every run."""
    parts = []
    base = baseline_table(results_dir)
    if not base.empty:
        parts.append(base[base.dataset == dataset].assign(source="this book, baseline"))
    g = gainakt_runs(results_dir)
    if not g.empty and labels is not None:
        name = g.model.str.rsplit(" Encoder", n=1).str[0]
        g = g[name.str.endswith(tuple(f"-{lab}" for lab in labels))]
    if not g.empty:
        g = g[g.dataset == dataset].groupby("model")
        t = g[["test_auc", "test_acc"]].mean().add_suffix("_mean").join(
            g[["test_auc", "test_acc"]].std(ddof=1).add_suffix("_sd")).join(g.size().rename("seeds"))
        parts.append(t.reset_index().assign(dataset=dataset, source="this book, GainAKT3Exp"))
    if dataset == "assist2015":
        parts.append(pd.DataFrame([{"dataset": dataset, "model": f"{k} (pyKT)", "test_auc_mean": v,
                                    "source": "pyKT paper, its own evaluation"} for k, v in PYKT_ASSIST2015.items()]))
    cols = ["source", "model", "seeds", "test_auc_mean", "test_auc_sd", "test_acc_mean", "test_acc_sd"]
    out = pd.concat([p.astype({"model": str}) for p in parts], ignore_index=True) if parts else pd.DataFrame()
    return out.reindex(columns=cols)

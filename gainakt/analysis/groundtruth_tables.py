"""Ground truth, the tables: what `groundtruth.per_run` found, per condition, variant, flavour and
switch, with seed spread, the untrained model's value and the classical references (BKT, AFM, PFA on
the same data); and the chapter's generated sentences. The data side (the truth, the runs, the
per-run correlations, the classical references) is `groundtruth`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..synthetic import SimConfig
from .gains import cross_seed_agreement, fmt, read_skill_tables
from .groundtruth import TRUTH_COLUMNS, classical_rates, parse_label, per_run, simconfig_of, truth_table
from .runs import flavour_words


def scale_table(pr: pd.DataFrame, results_root="results", condition: str = "moderate",
                synthetic_of=simconfig_of, min_n: int = 20) -> pd.DataFrame:
    """Condition `condition` at each number of students that has runs: per variant, flavour and V6
    ablation row (`switch`, '' for the variant itself), the Spearman of per-skill mean gains with
    the true rates and its partial given accuracy (mean ± sd over seeds), the untrained model's
    Spearman, and the classical models' (AFM, BKT, PFA) on the same data (the classical references)."""
    rows = []
    sel = pr[pr.condition == condition]
    if "ablation" not in sel:
        sel = sel.assign(ablation="")
    main_size = int(synthetic_of(condition).get("n_students", SimConfig().n_students))
    for (n, v, fl, ab), g in sel.groupby(["students", "variant", "flavour", "ablation"], sort=True):
        tr, un = g[g.model == "trained"], g[g.model == "untrained"]
        row = {"students": int(n), "variant": v, "flavour": fl, "switch": ab, "seeds": len(tr),
               "Spearman with true rate": fmt(tr.learn_rate), "partial | accuracy": fmt(tr.partial),
               "untrained": fmt(un.learn_rate)}
        size = None if int(n) == main_size else int(n)   # the main runs' data carry no -n<students> label
        rates = classical_rates(results_root, condition, truth_table(synthetic_of(condition, students=size)),
                                size, min_n)
        row.update({k: f"{v:.3f}" for k, v in rates.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def ablation_table(pr: pd.DataFrame, variant: str = "V6") -> pd.DataFrame:
    """`variant`'s main runs and its ablation rows on the simulations (labels ``gt-<condition>-v6-<switch>``),
    per condition with a learning-rate spread: Spearman of per-skill mean gains with the true rates,
    its partial given accuracy and the untrained model's Spearman (mean ± sd over seeds)."""
    sel = pr[(pr.variant == variant) & (pr.condition != "none")]
    if "students" in sel and "main" in sel:
        sel = sel[sel.main | (sel.ablation != "")]
        sel = sel[sel.students == sel[sel.main].students.max()] if sel.main.any() else sel
    rows = []
    for (c, ab), g in sel.groupby(["condition", "ablation"], sort=True):
        tr, un = g[g.model == "trained"], g[g.model == "untrained"]
        rows.append({"condition": c, "switch": ab or "(V6 itself)", "seeds": len(tr),
                     "Spearman with true rate": fmt(tr.learn_rate), "partial | accuracy": fmt(tr.partial),
                     "untrained": fmt(un.learn_rate)})
    return pd.DataFrame(rows)


def recovery_table(pr: pd.DataFrame, col: str = "gain_own_mean", min_n: int = 20) -> pd.DataFrame:
    """Per condition, variant and flavour: Spearman of per-skill mean gains with the true learning
    rates, trained and untrained (the noise floor), mean ± sd over seeds (n = seeds), the CV of the
    per-skill gains across skills, and the cross-seed agreement of the per-skill gains (mean
    pairwise Spearman), trained and untrained."""
    rows = []
    for (c, v, fl), g in pr.groupby(["condition", "variant", "flavour"], sort=False):
        tr, un = g[g.model == "trained"], g[g.model == "untrained"]
        agree = {m: cross_seed_agreement(read_skill_tables(gg.dir, untrained=m == "untrained"), col, min_n)
                 for m, gg in (("trained", tr), ("untrained", un))}
        fmt_pairs = lambda a: "" if not np.isfinite(a["mean"]) else (  # noqa: E731
            f"{a['mean']:.3f}" + (f" ± {a['sd']:.3f}" if np.isfinite(a["sd"]) else "") + f" ({a['pairs']} pairs)")
        rows.append({"condition": c, "variant": v, "flavour": fl, "seeds": len(tr),
                     "Spearman with true rate": fmt(tr.learn_rate), "untrained": fmt(un.learn_rate),
                     "partial | accuracy": fmt(tr.partial), "untrained partial": fmt(un.partial),
                     "per-skill CV": fmt(tr.cv), "untrained CV": fmt(un.cv),
                     "cross-seed agreement": fmt_pairs(agree["trained"]), "untrained agreement": fmt_pairs(agree["untrained"])})
    return pd.DataFrame(rows)


def follows_table(pr: pd.DataFrame, condition: str = "none", refs: dict[str, str] = TRUTH_COLUMNS) -> pd.DataFrame:
    """For one condition: Spearman of per-skill mean gains with each true quantity, per variant,
    flavour and model (trained, untrained), mean ± sd over seeds. Constant truths (the learning rate
    in condition 'none') are left out. Where `pr` holds V6 ablation rows, each is its own line
    (column `switch`)."""
    sel = pr[pr.condition == condition]
    keep = [c for c in refs if sel[c].notna().any()]
    ablations = "ablation" in sel and (sel.ablation != "").any()
    keys = ["variant", "flavour", *(["ablation"] if ablations else []), "model"]
    rows = []
    for key, g in sel.groupby(keys, sort=False):
        row = dict(zip(keys, key))
        if ablations:
            row["switch"] = row.pop("ablation")
        rows.append({**row, "seeds": len(g), **{refs[c]: fmt(g[c]) for c in keep}})
    return pd.DataFrame(rows)


def strongest(pr: pd.DataFrame, condition: str, variant: str, flavour: str, model: str = "trained",
              refs: dict[str, str] = TRUTH_COLUMNS) -> tuple[str, float]:
    """The true quantity (TRUTH_COLUMNS key) with the largest |mean Spearman over seeds| for one
    group, and that mean; ('', nan) when the group has no runs."""
    g = pr[(pr.condition == condition) & (pr.variant == variant) & (pr.flavour == flavour) & (pr.model == model)]
    means = g[list(refs)].mean().dropna()
    if means.empty:
        return "", np.nan
    k = means.abs().idxmax()
    return k, float(means[k])


def statements(pr: pd.DataFrame, ceil: pd.DataFrame, clear: float = 0.3) -> list[str]:
    """Plain sentences, one per condition, variant and flavour, saying what the trained gains track
    (the true quantity with the largest mean |Spearman|, named as followed only from `clear` up),
    each beside its noise floor and BKT's learn rate on the same data (a classical reference). Written
    for readers: condition 'none' reads "no spread", flavours without underscores."""
    out = []
    bkt = ceil.set_index("condition")["BKT learn ~ rate"] if "BKT learn ~ rate" in ceil else pd.Series(dtype=float)
    for (c, v, fl), g in pr.groupby(["condition", "variant", "flavour"], sort=False):
        tr, un = g[g.model == "trained"], g[g.model == "untrained"]
        k, rho = strongest(pr, c, v, fl)
        if not k:
            continue
        s = f"{spread_name(c)}, {v} {flavour_words(fl)} ({len(tr)} seed{'' if len(tr) == 1 else 's'}): "
        if c != "none":
            s += (f"Spearman with the true learning rate {tr.learn_rate.mean():+.2f} "
                  f"(untrained {un.learn_rate.mean():+.2f}; BKT {bkt.get(c, np.nan):+.2f}); ")
        ku = un[k].mean() if len(un) else np.nan
        s += (f"the gains follow {TRUTH_COLUMNS[k]} most" if abs(rho) >= clear else
              f"the gains follow no true quantity clearly (largest: {TRUTH_COLUMNS[k]}")
        s += f" ({rho:+.2f}, untrained {ku:+.2f})" + ("." if abs(rho) >= clear else ").")
        out.append(s)
    return out


def spread_name(condition: str) -> str:
    """'none' -> 'no spread', 'moderate' -> 'moderate spread': a condition in a sentence."""
    return "no spread" if condition == "none" else f"{condition} spread"


def most_followed(pr: pd.DataFrame, condition: str, model: str = "trained",
                  refs: dict[str, str] = TRUTH_COLUMNS) -> str:
    """The true quantity with the largest mean |Spearman| over every trained run of `condition`
    ('' when there are none): the x axis of that condition's figure when the rates are all equal."""
    g = pr[(pr.condition == condition) & (pr.model == model)]
    means = g[list(refs)].abs().mean().dropna()
    return str(means.idxmax()) if len(means) else ""


# V6's per-skill quantities of skill_gains.csv, and what each may carry.
PARAMETER_COLUMNS = {"gain_own_mean": "mean gain", "rate_own_mean": "beta x gain", "beta": "beta",
                     "m_sat": "M_sat", "intercept": "intercept"}


def parameter_table(runs: pd.DataFrame, variant: str = "V6", conditions=("moderate", "strong"),
                    cols: dict[str, str] = PARAMETER_COLUMNS, min_n: int = 20) -> pd.DataFrame:
    """Which of a model's per-skill quantities carries the true learning rate: for `variant`'s main
    runs, per condition and quantity, the Spearman with the true rates, its partial given per-skill
    accuracy, and the Spearman with accuracy (mean ± sd over seeds)."""
    sel = runs[(runs.variant == variant) & runs.condition.isin(conditions)] if len(runs) else runs
    if "main" in sel:
        sel = sel[sel.main]
    rows = []
    for col, name in cols.items():
        pr = per_run(sel, col=col, min_n=min_n) if len(sel) else pd.DataFrame()
        pr = pr[pr.model == "trained"] if len(pr) else pr
        for c, g in pr.groupby("condition", sort=False) if len(pr) else []:
            if g.learn_rate.notna().any():
                rows.append({"condition": c, "quantity": name, "seeds": len(g), "~ true rate": fmt(g.learn_rate),
                             "partial | accuracy": fmt(g.partial), "~ accuracy": fmt(g.train_accuracy)})
    return pd.DataFrame(rows)


# Two per-skill read-outs of a design's gains: the mean over all attempts (the statistic) and
# the mean after a correct answer only (how PFA reads its success coefficient).
READOUTS = {"gain_own_mean": "mean gain", "gain_own_correct": "gain after a correct answer"}


def gain_readout_table(runs: pd.DataFrame, ablation: str, variant: str = "V6", readouts: dict[str, str] = READOUTS,
                  results_root="results", min_n: int = 20) -> pd.DataFrame:
    """`variant`'s ablation row `ablation` on the simulated learners, per condition with a spread and
    number of students: for each read-out of the per-skill gains, the Spearman with the true rates and
    its partial given accuracy (mean ± sd over seeds), beside the classical models' on the same data
    (`groundtruth.classical_rates`: Spearman, then partial)."""
    sel = runs[(runs.variant == variant) & (runs.ablation == ablation) & (runs.condition != "none")] if len(runs) else runs
    rows = []
    for (c, n), g in sel.groupby(["condition", "students"], sort=True) if len(sel) else []:
        row = {"condition": c, "students": int(n), "seeds": len(g)}
        for col, name in readouts.items():
            pr = per_run(g, col=col, min_n=min_n)
            tr = pr[pr.model == "trained"]
            row[f"{name} ~ true rate"] = fmt(tr.learn_rate)
            row[f"{name}: partial | accuracy"] = fmt(tr.partial)
        size = parse_label(g.label.iloc[0])[1]      # None at the main runs' number of students
        rates = classical_rates(results_root, c, truth_table(g.config.iloc[0].get("synthetic") or {}), size, min_n)
        row.update({k: f"{v:.3f}" for k, v in rates.items()})
        rows.append(row)
    return pd.DataFrame(rows)

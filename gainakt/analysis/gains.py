"""What the gains measure: agreement across seeds and with classical per-skill parameters.

Inputs are the per-skill tables each run writes (``skill_gains.csv`` for the best checkpoint,
``skill_gains_untrained.csv`` for the untrained model of the same configuration, both on the test
split; see `gainakt.skillstats`) and a baseline's ``skill_params.csv``. Only skills with at least
`min_n` interactions in the split enter a statistic (default 20, as the book states).
"""
from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .runs import mean_sd

# mean ± sd over seeds, as every table of this chapter writes it
fmt = partial(mean_sd, digits=None)


def read_skill_tables(run_dirs, untrained: bool = False) -> list[pd.DataFrame]:
    name = "skill_gains_untrained.csv" if untrained else "skill_gains.csv"
    return [pd.read_csv(Path(d) / name) for d in run_dirs if (Path(d) / name).exists()]


def cross_seed_agreement(tables: list[pd.DataFrame], col: str = "gain_own_mean", min_n: int = 20) -> dict:
    """Mean and sd of the pairwise Spearman correlations of per-skill `col` between runs (seeds),
    over skills seen at least `min_n` times in every run of the pair."""
    rhos = []
    for a, b in itertools.combinations(tables, 2):
        m = a[["skill", "n", col]].merge(b[["skill", "n", col]], on="skill", suffixes=("_a", "_b"))
        m = m[(m.n_a >= min_n) & (m.n_b >= min_n)].dropna()
        if len(m) >= 3 and m[f"{col}_a"].nunique() > 1 and m[f"{col}_b"].nunique() > 1:
            rhos.append(stats.spearmanr(m[f"{col}_a"], m[f"{col}_b"]).statistic)
    r = np.asarray(rhos, float)
    return {"mean": float(r.mean()) if r.size else np.nan,
            "sd": float(r.std(ddof=1)) if r.size > 1 else np.nan, "pairs": int(r.size)}


def partial_spearman(x, y, z) -> float:
    """Spearman correlation of x and y controlling for z: Pearson of the residuals of the ranks
    of x and y after a linear regression on the ranks of z."""
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
    A = np.column_stack([np.ones_like(rz), rz])
    res = lambda v: v - A @ np.linalg.lstsq(A, v, rcond=None)[0]  # noqa: E731
    ex, ey = res(rx), res(ry)
    # a side that z explains entirely leaves rounding noise, not a residual: undefined, not a number
    tiny = 1e-9 * len(rx) ** 2
    if (ex ** 2).sum() < tiny or (ey ** 2).sum() < tiny:
        return np.nan
    return float((ex * ey).sum() / np.sqrt((ex ** 2).sum() * (ey ** 2).sum()))


def external_validity(gains: pd.DataFrame, reference: pd.DataFrame, refs: dict[str, str],
                      col: str = "gain_own_mean", control: str = "accuracy", min_n: int = 20) -> pd.DataFrame:
    """Spearman of per-skill `col` with each reference column (refs: column -> display name), and
    the partial Spearman controlling for the reference table's `control` column (per-skill
    accuracy on the training folds). `reference` needs a `skill` column (and `attempts` or `n`)."""
    ref = reference.rename(columns={"n": "ref_n"})
    if "attempts" in ref:   # kept as a reference of its own (how much a skill is practised)
        ref = ref.assign(ref_n=ref["attempts"])
    m = gains[["skill", "n", col]].merge(ref, on="skill")
    m = m[(m.n >= min_n) & (m.ref_n >= min_n if "ref_n" in m else True)]
    rows = []
    for c, name in refs.items():
        d = m[list(dict.fromkeys([col, c, control]))].dropna()
        if len(d) < 3 or d[col].nunique() < 2 or d[c].nunique() < 2:   # no correlation with a constant
            rows.append({"reference": name, "skills": len(d), "spearman": np.nan, "partial (given accuracy)": np.nan})
            continue
        rho = stats.spearmanr(d[col], d[c]).statistic
        part = partial_spearman(d[col], d[c], d[control]) if c != control else np.nan
        rows.append({"reference": name, "skills": len(d), "spearman": float(rho),
                     "partial (given accuracy)": part})
    return pd.DataFrame(rows)


def _groups(runs: pd.DataFrame, label: str, dataset: str):
    from ..variants import VARIANTS
    sel = runs[(runs.dataset == dataset) & (runs.label == label)] if len(runs) else runs
    for v in VARIANTS:
        for fl in ("as_run", "as_intended"):
            g = sel[(sel.variant == v) & (sel.flavour == fl)] if len(sel) else sel
            if len(g):
                yield v, fl, g


def noise_floor_table(runs: pd.DataFrame, metrics: dict[str, str], label: str = "small",
                      dataset: str = "assist2015") -> pd.DataFrame:
    """Each statistic of the trained model (best checkpoint) beside the untrained model of the same
    configuration, both on the validation split, mean ± sd over seeds. metrics: metric -> name."""
    rows = []
    for v, fl, g in _groups(runs, label, dataset):
        row = {"variant": v, "flavour": fl}
        for m, name in metrics.items():
            row[f"{name}"] = fmt(g.get(f"valid_{m}", pd.Series(dtype=float)))
            row[f"{name} (untrained)"] = fmt(g.get(f"untrained_{m}", pd.Series(dtype=float)))
        rows.append(row)
    return pd.DataFrame(rows)


def agreement_table(runs: pd.DataFrame, label: str = "small", dataset: str = "assist2015",
                    col: str = "gain_own_mean", min_n: int = 20) -> pd.DataFrame:
    """Cross-seed agreement of per-skill mean gains, trained and untrained, per variant and flavour."""
    rows = []
    for v, fl, g in _groups(runs, label, dataset):
        tr = cross_seed_agreement(read_skill_tables(g.dir), col, min_n)
        un = cross_seed_agreement(read_skill_tables(g.dir, untrained=True), col, min_n)
        f = lambda a: "" if not np.isfinite(a["mean"]) else (  # noqa: E731
            f"{a['mean']:.3f}" + (f" ± {a['sd']:.3f}" if np.isfinite(a["sd"]) else "") + f" ({a['pairs']} pairs)")
        rows.append({"variant": v, "flavour": fl, "seeds": len(g), "trained": f(tr), "untrained": f(un)})
    return pd.DataFrame(rows)


# Per-skill parameters of the classical baselines that the gains are compared with.
REFERENCES = {"bkt_learn": "BKT learn rate", "afm_learn": "AFM learning rate", "pfa_success": "PFA success coefficient",
              "learning_slope": "learning-curve slope", "train_accuracy": "accuracy (training folds)",
              "attempts": "attempts (training folds)"}


def load_reference(results_root, dataset: str) -> pd.DataFrame | None:
    """The classical baselines' per-skill table (`gainakt.baselines.report.skill_params`: attempts,
    accuracy and learning-curve slope on the training folds, BKT's and PFA's parameters), with
    ``train_attempts`` named ``attempts``; None if no classical baseline ran on `dataset`."""
    from ..baselines.report import skill_params
    try:
        return skill_params(results_root, dataset).rename(columns={"train_attempts": "attempts"})
    except FileNotFoundError:
        return None


def external_table(runs: pd.DataFrame, reference: pd.DataFrame, label: str = "small",
                   dataset: str = "assist2015", col: str = "gain_own_mean", min_n: int = 20,
                   refs: dict[str, str] = REFERENCES) -> pd.DataFrame:
    """Per variant and flavour: Spearman of per-skill mean gains with each reference, and the
    partial Spearman given training accuracy, mean ± sd over seeds (each seed's own gains); the
    untrained model of the same configuration beside it."""
    refs = {c: n for c, n in refs.items() if c in reference}
    rows = []
    for v, fl, g in _groups(runs, label, dataset):
        for untrained in (False, True):
            tabs = read_skill_tables(g.dir, untrained=untrained)
            if not tabs:
                continue
            per_seed = [external_validity(t, reference, refs, col, "train_accuracy", min_n) for t in tabs]
            both = pd.concat(per_seed)
            for name, grp in both.groupby("reference", sort=False):
                rows.append({"variant": v, "flavour": fl, "model": "untrained" if untrained else "trained",
                             "reference": name, "skills": int(grp.skills.max()),
                             "spearman": fmt(grp.spearman), "partial (given accuracy)": fmt(grp["partial (given accuracy)"])})
    return pd.DataFrame(rows)


# 0.25 bounds the variance of values in (0, 1) only: gains scaled after the sigmoid (V4, V5 as intended) can pass it.
VARIANCE_COLUMN = "variance (≤ 0.25 if gains in (0, 1))"
SPLIT_CV_COLUMN = "CV of a 0/1 split with these shares"


def saturation_table(runs: pd.DataFrame, label: str = "small", dataset: str = "assist2015",
                     col: str = "gain_own_mean", low: float = 0.05, high: float = 0.95,
                     min_n: int = 20) -> pd.DataFrame:
    """Where the per-skill mean gains sit in (0, 1), per variant and flavour, mean ± sd over seeds:
    the share of skills (seen at least `min_n` times) below `low`, between, and above `high`, and the
    variance of the per-skill means beside 0.25, the most that values in (0, 1) can have (half the
    skills at 0, half at 1: what a loss that maximises their variance drives them to); trained and
    untrained. Gains scaled after the sigmoid (as intended, V4 divides them by the skill's difficulty
    and V4 and V5 multiply them by the student's velocity) can leave (0, 1), and their variance can
    exceed 0.25. At that optimum the per-skill CV is a count in disguise: k of n skills at 1 and the
    rest at 0 give CV sqrt((n - k) / k), 1 for an even split; the table shows the measured CV beside
    the one the shares alone imply (`SPLIT_CV_COLUMN`), so a reader can tell a split from spread."""
    rows = []
    for v, fl, g in _groups(runs, label, dataset):
        for untrained in (False, True):
            stats_ = []
            for t in read_skill_tables(g.dir, untrained=untrained):
                x = t.loc[t.n >= min_n, col].dropna().to_numpy(float)
                if x.size:
                    lo, hi = (x < low).mean(), (x > high).mean()
                    stats_.append((lo, ((x >= low) & (x <= high)).mean(), hi, x.var(), x.std() / x.mean(),
                                   np.sqrt(lo / hi) if hi > 0 else np.nan))
            if not stats_:
                continue
            s = np.asarray(stats_)
            rows.append({"variant": v, "flavour": fl, "model": "untrained" if untrained else "trained",
                         "seeds": len(stats_), f"share < {low}": fmt(s[:, 0]),
                         f"share in [{low}, {high}]": fmt(s[:, 1]), f"share > {high}": fmt(s[:, 2]),
                         VARIANCE_COLUMN: fmt(s[:, 3]), "per-skill CV": fmt(s[:, 4]),
                         SPLIT_CV_COLUMN: fmt(s[:, 5])})
    return pd.DataFrame(rows)


def external_wide(ext: pd.DataFrame, value: str = "spearman") -> pd.DataFrame:
    """`external_table` with one row per variant, flavour and model and one column per reference,
    holding `value` ('spearman' or 'partial (given accuracy)'): the same numbers in a grid a reader
    can scan whole (the long table has six rows per configuration and model). Row and column order
    as in `ext`; a reference with no value in any row (the partial of accuracy given accuracy) has
    no column."""
    if not len(ext):
        return pd.DataFrame()
    keys = ["variant", "flavour", "model"]
    order = list(dict.fromkeys(map(tuple, ext[keys].to_numpy())))
    refs = list(dict.fromkeys(ext.reference))
    wide = ext.pivot(index=keys, columns="reference", values=value)
    wide = wide.reindex(index=pd.MultiIndex.from_tuples(order, names=keys), columns=refs).fillna("")
    wide.columns.name = None
    return wide.loc[:, (wide != "").any()]   # a reference with no value anywhere (accuracy's own partial)


def skills_moved_table(runs: pd.DataFrame, label: str = "small", dataset: str = "assist2015",
                       threshold: float = 0.1) -> pd.DataFrame:
    """How many skills one interaction's gain vector moves: per variant and flavour, the median and
    mean over the trajectory sample's interactions of the number of skills whose gain exceeds
    `threshold` (the seeds' check 2 asks for 1-3), mean ± sd over seeds, with the number of skills."""
    rows = []
    col = f"skills_gain_gt_{threshold:g}"
    for v, fl, g in _groups(runs, label, dataset):
        med, mean, n_skills = [], [], []
        for d in g.dir:
            f = Path(d) / "trajectories.csv"
            if f.exists():
                t = pd.read_csv(f)
                if col in t:
                    med.append(float(t[col].median()))
                    mean.append(float(t[col].mean()))
            s = Path(d) / "skill_gains.csv"
            if s.exists():
                n_skills.append(len(pd.read_csv(s)))
        if med:
            rows.append({"variant": v, "flavour": fl, "seeds": len(med), "skills": max(n_skills, default=np.nan),
                         f"median skills with gain > {threshold:g}": fmt(med),
                         f"mean skills with gain > {threshold:g}": fmt(mean)})
    return pd.DataFrame(rows)


def reference_agreement(reference: pd.DataFrame, refs: dict[str, str] = REFERENCES, min_n: int = 20) -> pd.DataFrame:
    """Spearman correlations between the classical per-skill references themselves (skills with at
    least `min_n` training attempts), as a square table named by the references' display names."""
    cols = [c for c in refs if c in reference]
    ref = reference[reference.get("attempts", pd.Series(min_n, index=reference.index)) >= min_n][cols]
    return ref.corr(method="spearman").rename(index=refs, columns=refs)

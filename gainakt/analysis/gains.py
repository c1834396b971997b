"""What the gains measure: agreement across seeds and with classical per-skill parameters.

Inputs are the per-skill tables each run writes (``skill_gains.csv`` for the best checkpoint,
``skill_gains_untrained.csv`` for the untrained model of the same configuration, both on the test
split; see `gainakt.skillstats`) and a baseline's ``skill_params.csv``. Only skills with at least
`min_n` interactions in the split enter a statistic (default 20, as the book states).
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


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
    den = np.sqrt((ex ** 2).sum() * (ey ** 2).sum())
    return float((ex * ey).sum() / den) if den > 0 else np.nan


def external_validity(gains: pd.DataFrame, reference: pd.DataFrame, refs: dict[str, str],
                      col: str = "gain_own_mean", control: str = "accuracy", min_n: int = 20) -> pd.DataFrame:
    """Spearman of per-skill `col` with each reference column (refs: column -> display name), and
    the partial Spearman controlling for the reference table's `control` column (per-skill
    accuracy on the training folds). `reference` needs a `skill` column (and `attempts` or `n`)."""
    ref = reference.rename(columns={"attempts": "ref_n", "n": "ref_n"})
    m = gains[["skill", "n", col]].merge(ref, on="skill")
    m = m[(m.n >= min_n) & (m.ref_n >= min_n if "ref_n" in m else True)]
    rows = []
    for c, name in refs.items():
        d = m[list(dict.fromkeys([col, c, control]))].dropna()
        if len(d) < 3:
            rows.append({"reference": name, "skills": len(d), "spearman": np.nan, "partial (given accuracy)": np.nan})
            continue
        rho = stats.spearmanr(d[col], d[c]).statistic
        part = partial_spearman(d[col], d[c], d[control]) if c != control else np.nan
        rows.append({"reference": name, "skills": len(d), "spearman": float(rho),
                     "partial (given accuracy)": part})
    return pd.DataFrame(rows)

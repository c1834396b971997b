"""The seeds' sweeps re-run (issue 20): tables over a sweep's points, the seeds' "parameter impact"
numbers computed their way and with a regression that reports its uncertainty, and the seed spread
that every difference between points has to beat.

Sweep runs are experiments.yml entries with ``sweep`` and ``grid`` (gainakt.pipeline.matrix): their run
names are ``<variant>-<flavour>-<label>-<sweep>-<field><value>-...``, their configs hold the values.

    sr = sweep_runs(load_runs("results"), "phase2")
    point_table(sr, "phase2")          # per flavour and point: E1, E2 AUC and the combined score, mean ± sd
    impacts(sr, "phase1")              # per flavour and field: Pearson r (the seeds' way) and OLS slope ± se
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# The fields each sweep varies, in the seeds' order.
FIELDS: dict[str, tuple[str, ...]] = {
    "phase1": ("beta_skill_init", "m_sat_init", "gamma_student_init", "sigmoid_offset"),
    "phase2": ("bce_loss_weight",),
    "bce": ("bce_loss_weight",),
}

# What the seeds report (single runs, one seed each; the split is not stated: test is compared).
REPORTED: dict[str, dict] = {
    "phase1": dict(
        best_point={"beta_skill_init": 2.5, "m_sat_init": 0.7, "gamma_student_init": 1.1, "sigmoid_offset": 1.5},
        default_point={"beta_skill_init": 2.0, "m_sat_init": 0.8, "gamma_student_init": 1.0, "sigmoid_offset": 2.0},
        best_enc2_auc=0.5443, best_enc1_auc=0.6860, gain_over_default=0.067,
        impacts={"beta_skill_init": 0.72, "sigmoid_offset": -0.54, "gamma_student_init": 0.41, "m_sat_init": -0.10},
        source="seeds/000 'Learning Curve Parameter Calibration'; seeds/003 section 1.1"),
    "phase2": dict(
        points={0.3: (0.6853, 0.5438), 0.4: (0.6849, 0.5433), 0.5: (0.6848, 0.5430),
                0.6: (0.6853, 0.5350), 0.7: (0.6855, 0.5347), 0.8: (0.6856, 0.5343)},
        corr_weight_enc2=-0.91, corr_weight_enc1=0.63, best=0.3, alpha=0.5,
        source="seeds/003 sections 3.2-3.3"),
    "bce": dict(verdict="all uniform", points=(0.0, 0.5, 1.0), source="seeds/000 'V2 BCE sweep'"),
}

METRICS = {"test_enc1_auc": "E1 AUC", "test_enc2_auc": "E2 AUC"}


def combined_score(enc1: float | np.ndarray, enc2: float | np.ndarray, alpha: float = 0.5):
    """The seeds' Phase 2 objective: E1 AUC + alpha x E2 AUC."""
    return enc1 + alpha * enc2


def sweep_runs(runs: pd.DataFrame, sweep: str, label: str = "small", dataset: str = "assist2015") -> pd.DataFrame:
    """The finished runs of one sweep (rows of `analysis.runs.load_runs`), with one column per swept
    field read from each run's config and the combined score."""
    fields = FIELDS[sweep]
    if not len(runs):
        return pd.DataFrame(columns=["flavour", "seed", *fields])
    prefix = f"{label}-{sweep}-"
    sel = runs[(runs.dataset == dataset) & runs.label.astype(str).str.startswith(prefix)].copy()
    for f in fields:
        sel[f] = [cfg.get(f) for cfg in sel.config]
    if {"test_enc1_auc", "test_enc2_auc"} <= set(sel.columns):
        sel["combined"] = combined_score(sel.test_enc1_auc, sel.test_enc2_auc, REPORTED["phase2"]["alpha"])
    return sel.reset_index(drop=True)


def point_table(sr: pd.DataFrame, sweep: str, metrics: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per flavour and point: seeds, and mean and sd over seeds of each metric (sd NaN with
    one seed). For Phase 2 the seeds' single values sit beside ours."""
    metrics = {**(metrics or METRICS), "combined": "E1 + 0.5 E2"}
    fields = list(FIELDS[sweep])
    cols = [m for m in metrics if m in sr.columns]
    if not len(sr) or not cols:
        return pd.DataFrame(columns=["flavour", *fields, "seeds"])
    g = sr.groupby(["flavour", *fields])
    out = g.size().rename("seeds").to_frame()
    for m in cols:
        out[f"{metrics[m]} mean"] = g[m].mean()
        out[f"{metrics[m]} sd"] = g[m].std(ddof=1)
    out = out.reset_index()
    if sweep == "phase2":
        rep = REPORTED["phase2"]["points"]
        out["seeds' E1 AUC"] = [rep.get(round(w, 2), (np.nan, np.nan))[0] for w in out.bce_loss_weight]
        out["seeds' E2 AUC"] = [rep.get(round(w, 2), (np.nan, np.nan))[1] for w in out.bce_loss_weight]
    return out


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients and their standard errors (intercept first)."""
    A = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = len(y) - A.shape[1]
    if dof <= 0:
        return coef, np.full(len(coef), np.nan)
    sigma2 = float(((y - A @ coef) ** 2).sum() / dof)
    cov = sigma2 * np.linalg.pinv(A.T @ A)
    return coef, np.sqrt(np.clip(np.diag(cov), 0, None))


def impacts(sr: pd.DataFrame, sweep: str, metric: str = "test_enc2_auc") -> pd.DataFrame:
    """Per flavour and swept field: Pearson r between the field's value and `metric` over the runs
    (the seeds' "parameter impact", as we read it), the OLS slope of `metric` per unit of the field in
    a joint regression on all swept fields, its standard error and t, the runs used, and the seeds'
    number. Fields that do not vary within a flavour get NaN."""
    fields = list(FIELDS[sweep])
    rows = []
    reported = REPORTED.get(sweep, {}).get("impacts", {})
    for fl, g in sr.groupby("flavour") if len(sr) else []:
        g = g.dropna(subset=[metric])
        varying = [f for f in fields if g[f].nunique() > 1]
        coef, se = (_ols(g[varying].to_numpy(float), g[metric].to_numpy(float)) if varying and len(g) > 2
                    else (np.array([np.nan]), np.array([np.nan])))
        for f in fields:
            r = slope = s = np.nan
            if f in varying:
                r = float(np.corrcoef(g[f].to_numpy(float), g[metric].to_numpy(float))[0, 1])
                i = varying.index(f) + 1
                slope, s = float(coef[i]), float(se[i])
            rows.append({"flavour": fl, "field": f, "runs": len(g), "pearson_r": r, "ols_slope": slope,
                         "ols_se": s, "ols_t": slope / s if s and np.isfinite(s) and s > 0 else np.nan,
                         "seeds' impact": reported.get(f, np.nan)})
    return pd.DataFrame(rows, columns=["flavour", "field", "runs", "pearson_r", "ols_slope", "ols_se", "ols_t",
                                       "seeds' impact"])


def seed_noise(sr: pd.DataFrame, sweep: str, metric: str = "test_enc2_auc") -> pd.DataFrame:
    """Per flavour: the pooled within-point standard deviation of `metric` over seeds (points with at
    least 2 seeds) -- the noise a difference between two single-seed points has to beat -- and the
    range of the point means."""
    fields = list(FIELDS[sweep])
    rows = []
    for fl, g in sr.groupby("flavour") if len(sr) else []:
        pts = g.groupby(fields)[metric]
        var, n = pts.var(ddof=1), pts.size()
        ok = n >= 2
        pooled = float(np.sqrt((var[ok] * (n[ok] - 1)).sum() / (n[ok] - 1).sum())) if ok.any() else np.nan
        means = pts.mean()
        rows.append({"flavour": fl, "points": int(len(means)), "points_with_seeds": int(ok.sum()),
                     "seed_sd": pooled, "range_of_means": float(means.max() - means.min())})
    return pd.DataFrame(rows, columns=["flavour", "points", "points_with_seeds", "seed_sd", "range_of_means"])

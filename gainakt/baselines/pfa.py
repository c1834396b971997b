"""Performance Factors Analysis (Pavlik, Cen & Koedinger 2009): logit P(correct) = beta_k +
gamma_k * successes + rho_k * failures, where the counts are the student's earlier correct and
incorrect answers on skill k over the whole history in the split (not only the current window)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import BoundedLogistic, History, fit_logistic, one_hot_rows, prior_counts


def features(h: History, C: int):
    """Sparse [N, 3C]: per-skill intercept, success count, failure count."""
    succ, fail = prior_counts(h)
    return one_hot_rows(h.skill, [np.ones(len(h.skill)), succ, fail], C)


def fit_per_skill(cfg, ds, hists: dict[str, History], features, names: tuple[str, ...],
                  lower: tuple[float, ...] | None = None):
    """Fit a logistic regression on per-skill features (`features(h, C)`: sparse [N, len(names) x C],
    one block of C columns per name) on the training targets; -> ({split: P(correct) for every
    interaction [N]}, per-skill coefficients named `names`, fit record). `lower`: a lower bound per
    name (-inf: none), for a fit with bounded coefficients (`BoundedLogistic`, same objective)."""
    C = ds.num_skills
    X = {k: features(h, C) for k, h in hists.items()}
    tr = hists["train"]
    if lower is None:
        lr, rec = fit_logistic(X["train"][tr.target], tr.response[tr.target], cfg.baseline_max_iter)
    else:
        lr = BoundedLogistic(np.repeat(np.asarray(lower, np.float64), C), cfg.baseline_max_iter)
        rec = lr.fit(X["train"][tr.target], tr.response[tr.target])
    w = lr.coef_[0]
    params = pd.DataFrame({"skill": np.arange(C), **{n: w[i * C:(i + 1) * C] for i, n in enumerate(names)}})
    return {k: lr.predict_proba(x)[:, 1] for k, x in X.items()}, params, rec


def fit_predict(cfg, ds, hists: dict[str, History]) -> tuple[dict, pd.DataFrame, dict]:
    """-> ({split: P(correct) for every interaction [N]}, per-skill parameters, fit record)."""
    return fit_per_skill(cfg, ds, hists, features, ("pfa_intercept", "pfa_success", "pfa_failure"))

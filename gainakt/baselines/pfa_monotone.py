"""PFA with its success and failure coefficients bounded below by 0: a failure can never lower the
predicted probability of the next correct answer on that skill. That is the restriction of every
GainAKT3Exp read-out whose gains are positive (softplus or sigmoid): practice only adds to mastery,
so Encoder 2's prediction for a skill can only rise within a window. Beside PFA (unbounded: on
assist2015 the failure coefficient is negative for almost every skill) it measures what that
restriction costs a classical model fitted on the same counts.
"""
from __future__ import annotations

import pandas as pd

from .common import History
from .pfa import features, fit_per_skill


def fit_predict(cfg, ds, hists: dict[str, History]) -> tuple[dict, pd.DataFrame, dict]:
    """-> ({split: P(correct) for every interaction [N]}, per-skill parameters, fit record)."""
    return fit_per_skill(cfg, ds, hists, features, ("pfam_intercept", "pfam_success", "pfam_failure"),
                         lower=(-float("inf"), 0.0, 0.0))

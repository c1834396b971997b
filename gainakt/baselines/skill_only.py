"""Skill-only baseline: logistic regression on the skill alone (one intercept per skill), i.e. each
skill's smoothed accuracy on the training targets; no student history at all."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import History, fit_logistic, one_hot_rows


def fit_predict(cfg, ds, hists: dict[str, History]) -> tuple[dict, pd.DataFrame, dict]:
    """-> (probability of a correct answer for every interaction of each split: {split: [N]},
    per-skill parameters, fit record)."""
    C = ds.num_skills
    feats = lambda h: one_hot_rows(h.skill, [np.ones(len(h.skill))], C)  # noqa: E731
    tr = hists["train"]
    lr, rec = fit_logistic(feats(tr)[tr.target], tr.response[tr.target], cfg.baseline_max_iter)
    probs = {k: lr.predict_proba(feats(h))[:, 1] for k, h in hists.items()}
    return probs, pd.DataFrame({"skill": np.arange(C), "skill_only_intercept": lr.coef_[0]}), rec

"""Additive Factors Model (Cen, Koedinger & Junker 2006) without the student term: logit P(correct)
= beta_k + gamma_k * opportunities, where the opportunities are the student's earlier attempts at
skill k over the whole history in the split. gamma_k is the classical per-skill learning rate (how
much one more practice opportunity raises the log-odds of a correct answer). The student
proficiency theta_i of the full AFM is left out: test students are never seen in training.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import History, one_hot_rows, prior_counts
from .pfa import fit_per_skill


def features(h: History, C: int):
    """Sparse [N, 2C]: per-skill intercept, earlier attempts at the skill."""
    succ, fail = prior_counts(h)
    return one_hot_rows(h.skill, [np.ones(len(h.skill)), succ + fail], C)


def fit_predict(cfg, ds, hists: dict[str, History]) -> tuple[dict, pd.DataFrame, dict]:
    """-> ({split: P(correct) for every interaction [N]}, per-skill parameters, fit record)."""
    return fit_per_skill(cfg, ds, hists, features, ("afm_intercept", "afm_learn"))

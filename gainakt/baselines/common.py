"""What every baseline shares: the scored targets, whole-history tables, scoring and the run's files.

Scoring protocol (the same as GainAKT3Exp's Encoder 1): the targets of a split are the next-step
targets of its windows (positions 1..len-1 of every window of at most `seq_len`, see data.py), and
AUC/accuracy come from `gainakt.metrics.auc` / `accuracy`. The deep baselines read those targets
from the library's batches; the classical ones from `history_table`, which lists every real
interaction of a split in each student's order with a flag saying whether it is scored. Classical
models compute their features from the student's *whole* history in the split (PFA counts and
BKT's filtered knowledge carry over window boundaries), while the deep models, like GainAKT3Exp,
start afresh at every window: `protocol_info` reports the share of targets where that differs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_json_atomic, write_text_atomic
from ..metrics import accuracy, auc


@dataclass
class History:
    """All real interactions of one split, ordered by (student, position in the student's sequence).

    Every array is [N] (N = interactions of the split's windows)."""
    student: np.ndarray    # global student index
    pos: np.ndarray        # position in the student's whole sequence
    skill: np.ndarray      # 0-based skill
    response: np.ndarray   # 0/1
    target: np.ndarray     # bool: scored (not the first interaction of its window)
    window_start: np.ndarray  # start of the interaction's window (0: the first window)


def history_table(split) -> History:
    """Flatten a Split's windows into one row per real interaction (student order, then position)."""
    L = split.lengths.numpy()
    W = split.skills.shape[1]
    real = np.arange(W)[None, :] < L[:, None]                              # [Nw, W]
    t = np.broadcast_to(np.arange(W)[None, :], real.shape)[real]
    start = np.broadcast_to(split.starts.numpy()[:, None], real.shape)[real]
    student = np.broadcast_to(split.students.numpy()[:, None], real.shape)[real]
    pos = start + t
    order = np.lexsort((pos, student))
    return History(student[order], pos[order], split.skills.numpy()[real][order],
                   split.responses.numpy()[real][order], (t >= 1)[order], start[order])


def prior_counts(h: History) -> tuple[np.ndarray, np.ndarray]:
    """Successes and failures on the same skill before each interaction, over the whole history. [N] each."""
    order = np.lexsort((h.pos, h.skill, h.student))                      # group (student, skill), in time
    s, k, r = h.student[order], h.skill[order], h.response[order].astype(np.float64)
    new = np.ones(len(order), bool)
    new[1:] = (s[1:] != s[:-1]) | (k[1:] != k[:-1])
    group_start = np.maximum.accumulate(np.where(new, np.arange(len(order)), 0))
    csum = np.cumsum(r) - r                                               # successes before, all groups
    succ = csum - csum[group_start]
    seen = np.arange(len(order)) - group_start
    out_s, out_f = np.empty(len(order)), np.empty(len(order))
    out_s[order], out_f[order] = succ, seen - succ
    return out_s, out_f


def score(prob: np.ndarray, target: np.ndarray) -> dict:
    """The prediction fields of metrics.json, named as Encoder 1's (enc1_*), so tables can join them."""
    prob, target = np.asarray(prob, np.float64), np.asarray(target, np.float64)
    return {"enc1_auc": auc(prob, target), "enc1_acc": accuracy(prob, target),
            "enc1_pred_min": float(prob.min()) if len(prob) else float("nan"),
            "enc1_pred_max": float(prob.max()) if len(prob) else float("nan"),
            "interactions": int(len(target))}


def protocol_info(ds) -> dict:
    """Where classical (whole history) and deep (per window) models see different pasts."""
    out = {}
    for name in ("train", "valid", "test"):
        sp = getattr(ds, name)
        targets = (sp.lengths - 1).clamp_min(0)
        later = int(targets[sp.starts > 0].sum())
        out[f"{name}_targets_after_first_window"] = later
        out[f"{name}_share_after_first_window"] = later / max(int(targets.sum()), 1)
    return out


# Attempt ranges (0-based attempt number on the skill, half-open) of the learning-curve slope.
SLOPE_EARLY, SLOPE_LATE = (0, 2), (5, 15)


def learning_curve_slope(skill: np.ndarray, attempt: np.ndarray, response: np.ndarray, n_skills: int,
                         early=SLOPE_EARLY, late=SLOPE_LATE) -> np.ndarray:
    """Per skill: accuracy on attempts in `late` minus accuracy on attempts in `early` (attempt =
    how many times the student had met the skill before), pooled over students: a model-free
    learning signal of the data, [C] (NaN where a range has no attempt). Inputs are [N] each."""
    acc = []
    for lo, hi in (early, late):
        sel = (attempt >= lo) & (attempt < hi)
        n = np.bincount(skill[sel], minlength=n_skills)
        hits = np.bincount(skill[sel], weights=response[sel].astype(np.float64), minlength=n_skills)
        acc.append(np.where(n > 0, hits / np.maximum(n, 1), np.nan))
    return acc[1] - acc[0]


def skill_table(ds) -> pd.DataFrame:
    """Per skill, over every interaction of the training folds: attempts, accuracy, and the
    learning-curve slope (`learning_curve_slope`: accuracy on attempts 5-14 minus attempts 0-1)."""
    h = history_table(ds.train)
    n = np.bincount(h.skill, minlength=ds.num_skills)
    c = np.bincount(h.skill, weights=h.response, minlength=ds.num_skills)
    succ, fail = prior_counts(h)
    slope = learning_curve_slope(h.skill, (succ + fail).astype(np.int64), h.response, ds.num_skills)
    return pd.DataFrame({"skill": np.arange(ds.num_skills), "train_attempts": n,
                         "train_accuracy": np.where(n > 0, c / np.maximum(n, 1), np.nan),
                         "learning_slope": slope})


def dataset_info(ds) -> dict:
    return {"name": ds.name, "num_skills": ds.num_skills, "num_students": ds.num_students,
            **{f"{s}_interactions": int(getattr(ds, s).lengths.sum()) for s in ("train", "valid", "test")}}


def write_run(out: Path, result: dict, history: list[dict], params: pd.DataFrame | None) -> None:
    """history.csv and skill_params.csv first, metrics.json last (its presence means done)."""
    write_text_atomic(out / "history.csv", pd.DataFrame(history).to_csv(index=False))
    if params is not None:
        write_text_atomic(out / "skill_params.csv", params.to_csv(index=False, float_format="%.6g"))
    write_json_atomic(out / "metrics.json", json.loads(json.dumps(result, default=float)))


def fit_logistic(X, y: np.ndarray, max_iter: int) -> tuple[object, dict]:
    """L2 logistic regression (scikit-learn, lbfgs, C = 1, no global intercept: the features carry
    one intercept per skill). Returns the model and a fit record with `converged`."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    lr = LogisticRegression(C=1.0, fit_intercept=False, max_iter=max_iter, solver="lbfgs")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        lr.fit(X, y)
    bad = [str(w.message).splitlines()[0] for w in caught if issubclass(w.category, ConvergenceWarning)]
    n_iter = int(np.max(lr.n_iter_))
    return lr, {"converged": not bad and n_iter < max_iter, "iterations": n_iter,
                "convergence": bad[0] if bad else f"lbfgs stopped after {n_iter} of {max_iter} iterations"}


class BoundedLogistic:
    """The L2 logistic regression of `fit_logistic` (the same objective: 0.5 ||w||^2 + the summed log
    loss, no global intercept) with lower bounds on coefficients, fitted by scipy's L-BFGS-B.
    `coef_` [1, P] and `predict_proba` as scikit-learn's."""

    def __init__(self, lower: np.ndarray, max_iter: int):
        self.lower, self.max_iter = np.asarray(lower, np.float64), max_iter

    def fit(self, X, y: np.ndarray) -> dict:
        from scipy.optimize import minimize
        from scipy.special import expit, log_expit
        y = np.asarray(y, np.float64)
        sign = 2 * y - 1                                   # log loss of logit z: -log sigmoid(sign * z)

        def objective(w):
            z = X @ w
            grad = X.T @ (expit(z) - y) + w
            return 0.5 * w @ w - log_expit(sign * z).sum(), grad

        bounds = [(lo if np.isfinite(lo) else None, None) for lo in self.lower]
        res = minimize(objective, np.maximum(0.0, self.lower), jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": self.max_iter, "maxfun": 10 * self.max_iter})
        self.coef_ = res.x[None, :]
        return {"converged": bool(res.success), "iterations": int(res.nit),
                "convergence": f"L-BFGS-B: {res.message} after {res.nit} of {self.max_iter} iterations"}

    def predict_proba(self, X) -> np.ndarray:
        from scipy.special import expit
        p = expit(X @ self.coef_[0])
        return np.stack([1 - p, p], axis=1)


def one_hot_rows(skill: np.ndarray, values: list[np.ndarray], C: int):
    """Sparse [N, C * len(values)]: block j holds values[j] in the column of each row's skill."""
    from scipy import sparse
    N = len(skill)
    rows = np.tile(np.arange(N), len(values))
    cols = np.concatenate([skill + j * C for j in range(len(values))])
    return sparse.csr_matrix((np.concatenate(values).astype(np.float64), (rows, cols)), shape=(N, C * len(values)))

"""Bayesian Knowledge Tracing (Corbett & Anderson 1995): per skill a prior P(L0), a learn rate
P(T), guess P(G) and slip P(S), no forgetting; fitted by EM (Baum-Welch) on the training folds.

Vectorised: every (student, skill) sequence of a split is one row of a *packed*, time-major layout
(rows sorted by length, longest first, so the rows still running at step t are ranks 0..n_t-1 and
step t is one contiguous slice). A forward or backward pass is then one Python loop over the
longest sequence's steps, each step one numpy operation over all rows of all skills at once.
pyBKT was not used: it builds C extensions against its own pins; this is ~100 lines of numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .common import History

EPS = 1e-6
INIT = {"prior": 0.4, "learn": 0.1, "guess": 0.2, "slip": 0.1}


@dataclass
class Packed:
    """Sequences of (student, skill) pairs, packed time-major. [N] arrays are in packed order."""
    obs: np.ndarray        # [N] 0/1 responses
    row_skill: np.ndarray  # [R] skill of each row (rank order)
    offsets: np.ndarray    # [T+1] step t is obs[offsets[t]:offsets[t+1]], rows 0..n_t-1
    where: np.ndarray      # [N] packed position of each input interaction (input order)

    @property
    def steps(self) -> int:
        return len(self.offsets) - 1


def pack(student: np.ndarray, skill: np.ndarray, pos: np.ndarray, response: np.ndarray) -> Packed:
    """One row per (student, skill) pair, in time order; inputs [N], any order."""
    order = np.lexsort((pos, skill, student))
    s, k = student[order], skill[order]
    new = np.ones(len(order), bool)
    new[1:] = (s[1:] != s[:-1]) | (k[1:] != k[:-1])
    row = np.cumsum(new) - 1                                        # row of each sorted interaction
    first = np.flatnonzero(new)
    t = np.arange(len(order)) - first[row]                          # step inside its row
    lengths = np.bincount(row)
    rank = np.empty(len(lengths), np.int64)
    rank[np.argsort(-lengths, kind="stable")] = np.arange(len(lengths))
    n_t = np.bincount(t)                                            # rows still running at step t
    offsets = np.concatenate([[0], np.cumsum(n_t)])
    where = np.empty(len(order), np.int64)
    where[order] = offsets[t] + rank[row]
    obs = np.empty(len(order), np.float64)
    obs[where] = response.astype(np.float64)
    row_skill = np.empty(len(lengths), np.int64)
    row_skill[rank] = k[first]
    return Packed(obs, row_skill, offsets, where)


def _emissions(o, guess, slip):
    """P(o | unknown), P(o | known) for responses o and per-row guess/slip."""
    return np.where(o > 0, guess, 1 - guess), np.where(o > 0, 1 - slip, slip)


def forward(p: Packed, prior, learn, guess, slip):
    """Filtering over every row at once; per-row parameters are the skill's ([C] arrays).

    Returns (known_before [N]: P(known) before each answer, known_after [N]: after it, c [N]:
    P(answer | past), the scaling factors), all in packed order."""
    pr, lr, gr, sr = (a[p.row_skill] for a in (prior, learn, guess, slip))
    pk = pr.copy()
    before, after, c = (np.empty(len(p.obs)) for _ in range(3))
    for t in range(p.steps):
        a, b = p.offsets[t], p.offsets[t + 1]
        n = b - a
        k = pk[:n]
        e0, e1 = _emissions(p.obs[a:b], gr[:n], sr[:n])
        a1, a0 = k * e1, (1 - k) * e0
        ct = a0 + a1
        post = a1 / ct
        before[a:b], after[a:b], c[a:b] = k, post, ct
        pk[:n] = post + (1 - post) * lr[:n]
    return before, after, c


def em_step(p: Packed, C: int, prior, learn, guess, slip):
    """One Baum-Welch iteration; returns (new prior, learn, guess, slip, log-likelihood)."""
    _, after, c = forward(p, prior, learn, guess, slip)
    lr, gr, sr = (a[p.row_skill] for a in (learn, guess, slip))
    R = len(p.row_skill)
    b0, b1 = np.ones(R), np.ones(R)                 # scaled backward messages of the running rows
    known = np.empty(len(p.obs))                    # gamma_t(known)
    xi = np.zeros(len(p.obs))                       # P(unknown at t-1, known at t), stored at t
    for t in range(p.steps - 1, -1, -1):
        a, b = p.offsets[t], p.offsets[t + 1]
        n = b - a
        g1 = after[a:b] * b1[:n]
        g0 = (1 - after[a:b]) * b0[:n]
        known[a:b] = g1 / (g0 + g1)
        e0, e1 = _emissions(p.obs[a:b], gr[:n], sr[:n])
        if t > 0:
            prev = after[p.offsets[t - 1]:p.offsets[t - 1] + n]   # the same rows one step earlier
            xi[a:b] = (1 - prev) * lr[:n] * e1 * b1[:n] / c[a:b]
        nb0 = ((1 - lr[:n]) * e0 * b0[:n] + lr[:n] * e1 * b1[:n]) / c[a:b]
        nb1 = e1 * b1[:n] / c[a:b]
        b0[:n], b1[:n] = nb0, nb1
    skill = _packed_skill(p)
    sums = lambda w: np.bincount(skill, weights=w, minlength=C)  # noqa: E731
    first = slice(0, p.offsets[1])
    has_next = np.zeros(len(p.obs), bool)           # positions with a successor in their row
    for t in range(p.steps - 1):
        has_next[p.offsets[t]:p.offsets[t] + (p.offsets[t + 2] - p.offsets[t + 1])] = True
    unknown = 1 - known
    n_rows = np.bincount(skill[first], minlength=C)
    new_prior = _ratio(np.bincount(skill[first], weights=known[first], minlength=C), n_rows, prior)
    new_learn = _ratio(sums(xi), sums(unknown * has_next), learn)
    new_guess = _ratio(sums(unknown * p.obs), sums(unknown), guess)
    new_slip = _ratio(sums(known * (1 - p.obs)), sums(known), slip)
    clip = lambda x: np.clip(x, EPS, 1 - EPS)  # noqa: E731
    return clip(new_prior), clip(new_learn), clip(new_guess), clip(new_slip), float(np.log(c).sum())


def _ratio(num, den, old):
    """num / den per skill; skills without data keep their old value."""
    return np.where(den > 0, num / np.maximum(den, 1e-300), old)


def _packed_skill(p: Packed) -> np.ndarray:
    """[N] skill of each packed position."""
    return np.concatenate([p.row_skill[:p.offsets[t + 1] - p.offsets[t]] for t in range(p.steps)])


def fit(p: Packed, C: int, max_iter: int = 200, tol: float = 1e-6, init: dict | None = None) -> tuple[dict, dict]:
    """EM until the relative log-likelihood gain is below `tol` (or `max_iter` iterations).

    Returns ({prior, learn, guess, slip: [C]}, fit record with converged, iterations, loglik)."""
    init = {**INIT, **(init or {})}
    theta = [np.full(C, init[k], np.float64) for k in ("prior", "learn", "guess", "slip")]
    ll_old, converged, it = -np.inf, False, 0
    for it in range(1, max_iter + 1):
        *theta, ll = em_step(p, C, *theta)
        if np.isfinite(ll_old) and abs(ll - ll_old) <= tol * abs(ll_old):
            converged = True
            break
        ll_old = ll
    rec = {"converged": converged, "iterations": it, "loglik": ll,
           "convergence": f"EM: relative log-likelihood change <= {tol:g} after {it} iterations" if converged
           else f"EM stopped at max_iter={max_iter} before the relative log-likelihood change fell below {tol:g}"}
    return dict(zip(("prior", "learn", "guess", "slip"), theta)), rec


def predict(h: History, params: dict) -> np.ndarray:
    """P(correct) of every interaction of `h` (input order), filtering each student's whole history."""
    p = pack(h.student, h.skill, h.pos, h.response)
    before, _, _ = forward(p, params["prior"], params["learn"], params["guess"], params["slip"])
    g, s = params["guess"][_packed_skill(p)], params["slip"][_packed_skill(p)]
    prob = before * (1 - s) + (1 - before) * g
    return prob[p.where]


def fit_predict(cfg, ds, hists: dict[str, History]) -> tuple[dict, pd.DataFrame, dict]:
    """-> ({split: P(correct) for every interaction [N]}, per-skill parameters, fit record)."""
    tr = hists["train"]
    params, rec = fit(pack(tr.student, tr.skill, tr.pos, tr.response), ds.num_skills, cfg.baseline_max_iter)
    table = pd.DataFrame({"skill": np.arange(ds.num_skills), **{f"bkt_{k}": v for k, v in params.items()}})
    # degenerate (Baker, Corbett & Aleven 2008): a correct answer is likelier unknown than known
    table["bkt_degenerate"] = params["guess"] + params["slip"] >= 1
    rec["degenerate_skills"] = int(table["bkt_degenerate"].sum())
    return {k: predict(h, params) for k, h in hists.items()}, table, rec

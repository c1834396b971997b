"""Ground truth: do learned per-skill gains recover the simulator's true per-skill learning rates?

The runs of experiments.yml tag ``groundtruth`` train on simulated learners (`gainakt.synthetic`)
under three conditions of the true learning-rate spread (label ``gt-<condition>``); guess, slip,
prior and difficulty differ by skill and are the same in every condition. For each run this module
compares the per-skill mean gains (``skill_gains.csv``, best checkpoint, test split) and those of
the untrained model of the same configuration (``skill_gains_untrained.csv``: the noise floor) with
the truth, re-simulated from the run's own ``synthetic`` settings. BKT fitted on the same data
(``results/synthetic/bkt-baseline-gt-<condition>/seed0/skill_params.csv``) is the ceiling.

Only skills with at least `min_n` test interactions enter a statistic (default 20, as
`gainakt.analysis.gains`). A Spearman correlation with a constant (the true rates of condition
``none``) is undefined (NaN): there, the question is instead how much stable per-skill difference
the model shows (cross-seed agreement) and which true quantity it follows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..synthetic import LEARN_RATE_SPREADS, SimConfig, simulate
from .gains import _fmt, cross_seed_agreement, read_skill_tables

CONDITIONS = tuple(LEARN_RATE_SPREADS)             # none, moderate, strong
TAG = "groundtruth"
VARIANTS = ("V2", "V3")
FLAVOURS = ("as_run", "as_intended")
# What a per-skill gain could follow instead of the learning rate: true column -> display name.
TRUTH_COLUMNS = {"learn_rate": "learn rate", "guess": "guess", "slip": "slip", "prior": "prior",
                 "difficulty": "difficulty", "train_accuracy": "accuracy (training folds)"}


def label_of(condition: str) -> str:
    return f"gt-{condition}"


def simconfig_of(condition: str, matrix="experiments.yml") -> dict:
    """The SimConfig overrides experiments.yml gives condition `condition` (one source of truth for
    the data of the GainAKT runs and of BKT); an error if the matrix has none or several."""
    from ..matrix import expand
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; allowed: {', '.join(CONDITIONS)}")
    path = Path(matrix)
    if not path.is_absolute() and not path.exists():
        path = Path(__file__).resolve().parents[2] / path
    found = {repr(sorted(r.params.get("synthetic", {}).items())): r.params.get("synthetic", {})
             for r in expand(path) if TAG in r.tags and r.name.endswith("-" + label_of(condition))}
    if len(found) != 1:
        raise ValueError(f"{path}: expected one 'synthetic' setting for tag {TAG} label "
                         f"{label_of(condition)}, found {len(found)}")
    return next(iter(found.values()))


def truth_table(synthetic: dict) -> pd.DataFrame:
    """Per skill: the true learn_rate, difficulty, prior, guess, slip of SimConfig(**synthetic), and
    the accuracy and number of interactions on the training folds (students with fold >= 0)."""
    students, truth = simulate(SimConfig(**synthetic))
    C = len(truth["learn_rate"])
    train = [s for s in students if s.fold >= 0]
    sk = np.concatenate([s.skills for s in train])
    r = np.concatenate([s.responses for s in train])
    n = np.bincount(sk, minlength=C)
    hits = np.bincount(sk, weights=r, minlength=C)
    return pd.DataFrame({"skill": np.arange(C), **{k: truth[k] for k in ("learn_rate", "difficulty", "prior",
                                                                          "guess", "slip")},
                         "train_n": n, "train_accuracy": np.where(n > 0, hits / np.maximum(n, 1), np.nan)})


def spearman(x, y) -> float:
    """Spearman's rho, NaN when either side is constant or has fewer than 3 values."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return float(stats.spearmanr(x, y).statistic)


def follows(gains: pd.DataFrame, truth: pd.DataFrame, col: str = "gain_own_mean", min_n: int = 20,
            refs: dict[str, str] = TRUTH_COLUMNS) -> dict[str, float]:
    """Spearman of one run's per-skill `col` with each true per-skill quantity (refs' keys), over the
    skills with at least `min_n` interactions in the run's table."""
    m = gains[["skill", "n", col]].merge(truth, on="skill")
    m = m[m.n >= min_n]
    return {c: spearman(m[col], m[c]) for c in refs}

"""Ground truth: do learned per-skill gains recover the simulator's true per-skill learning rates?

The runs of experiments.yml tag ``groundtruth`` train on simulated learners (`gainakt.synthetic`)
under three conditions of the true learning-rate spread (label ``gt-<condition>``, 1,500 students);
guess, slip, prior and difficulty differ by skill and are the same in every condition. Labels
``gt-<condition>-n<students>`` hold the same condition at another number of students (the scale
check of the corrected model V6). For each run this module
compares the per-skill mean gains (``skill_gains.csv``, best checkpoint, test split) and those of
the untrained model of the same configuration (``skill_gains_untrained.csv``: the noise floor) with
the truth, re-simulated from the run's own ``synthetic`` settings. The tables and sentences built
from these are `groundtruth_tables`. BKT, AFM and PFA fitted on the same data
(``results/synthetic/<model>-baseline-gt-<condition>/seed0/skill_params.csv``) are the classical
references: not upper bounds, since none of them is the simulator's generating process (continuous
mastery, a learning speed per student, practice that moves on after three correct in a row).

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

from ..baselines.common import SLOPE_EARLY, SLOPE_LATE
from ..baselines.common import learning_curve_slope as slope_of
from ..synthetic import LEARN_RATE_SPREADS, SimConfig, simulate
from ..variants import BEYOND
from .gains import partial_spearman, read_skill_tables

CONDITIONS = tuple(LEARN_RATE_SPREADS)             # none, moderate, strong
TAG = "groundtruth"
VARIANTS = ("V1", "V2", "V3", "V6")
FLAVOURS = ("as_run", "as_intended")


def groups() -> list[tuple[str, str]]:
    """The (variant, flavour) pairs of the experiment: both flavours of the seeds' variants, only
    as intended for the models beyond them (V6)."""
    return [(v, fl) for v in VARIANTS for fl in FLAVOURS if not (v in BEYOND and fl != "as_intended")]
# What a per-skill gain could follow instead of the learning rate: true column -> display name.
TRUTH_COLUMNS = {"learn_rate": "learn rate", "guess": "guess", "slip": "slip", "prior": "prior",
                 "difficulty": "difficulty", "train_accuracy": "accuracy (training folds)"}


def label_of(condition: str, students: int | None = None) -> str:
    """The runs' label: 'gt-<condition>' for the main runs, 'gt-<condition>-n<students>' for the
    scale check."""
    return f"gt-{condition}" + ("" if students is None else f"-n{students}")


def parse_label(label: str) -> tuple[str, int | None, str] | None:
    """'gt-moderate' -> ('moderate', None, ''): a main run; 'gt-moderate-n375' -> ('moderate', 375,
    ''); 'gt-strong-v6-skill_gain' -> ('strong', None, 'skill_gain'): an ablation row of V6 on the
    simulations; None for a label of another experiment."""
    label = str(label)
    ablation = ""
    if "-v6-" in label:
        label, ablation = label.split("-v6-", 1)
    parts = label.split("-")
    if len(parts) < 2 or parts[0] != "gt" or parts[1] not in CONDITIONS:
        return None
    if len(parts) == 2:
        return parts[1], None, ablation
    if len(parts) == 3 and parts[2][:1] == "n" and parts[2][1:].isdigit():
        return parts[1], int(parts[2][1:]), ablation
    return None


def simconfig_of(condition: str, matrix="experiments.yml", students: int | None = None) -> dict:
    """The SimConfig overrides experiments.yml gives condition `condition` at `students` students
    (default: the main runs'), one source of truth for the data of the GainAKT runs and of BKT; an
    error if the matrix has none or several."""
    from ..pipeline.matrix import expand
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; allowed: {', '.join(CONDITIONS)}")
    path = Path(matrix)
    if not path.is_absolute() and not path.exists():
        path = Path(__file__).resolve().parents[2] / path
    found = {repr(sorted(r.params.get("synthetic", {}).items())): r.params.get("synthetic", {})
             for r in expand(path) if TAG in r.tags and r.name.endswith("-" + label_of(condition, students))}
    if len(found) != 1:
        raise ValueError(f"{path}: expected one 'synthetic' setting for tag {TAG} label "
                         f"{label_of(condition, students)}, found {len(found)}")
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


def partial_given_accuracy(gains: pd.DataFrame, truth: pd.DataFrame, col: str = "gain_own_mean",
                           min_n: int = 20, value: str = "learn_rate") -> float:
    """Partial Spearman of one run's per-skill `col` with the true `value` given per-skill accuracy
    on the training folds; NaN when the truth is constant (condition none)."""
    m = gains[["skill", "n", col]].merge(truth, on="skill")
    m = m[(m.n >= min_n) & m[col].notna() & m.train_accuracy.notna()]
    if len(m) < 4 or np.ptp(m[value]) == 0 or np.ptp(m[col]) == 0:
        return np.nan
    return partial_spearman(m[col], m[value], m.train_accuracy)


def learning_curve_slope(students, n_skills: int, early=SLOPE_EARLY, late=SLOPE_LATE) -> np.ndarray:
    """Per skill: accuracy on a student's attempts `late` minus on attempts `early` (0-based attempt
    number on that skill, half-open ranges), pooled over `students` (`gainakt.baselines.common.
    learning_curve_slope`, the column the classical baselines write on real data), [C]."""
    sk, att, r = [], [], []
    for s in students:
        order = np.argsort(s.skills, kind="stable")
        k = s.skills[order]
        first = np.r_[True, k[1:] != k[:-1]]
        a = np.empty(len(k), np.int64)
        a[order] = np.arange(len(k)) - np.flatnonzero(first)[np.cumsum(first) - 1]
        sk.append(s.skills), att.append(a), r.append(s.responses)
    if not sk:
        return np.full(n_skills, np.nan)
    return slope_of(np.concatenate(sk), np.concatenate(att), np.concatenate(r), n_skills, early, late)


def _key(synthetic: dict) -> str:
    return repr(sorted((synthetic or {}).items()))


def load_groundtruth_runs(results_root="results") -> pd.DataFrame:
    """Finished GainAKT runs of the ground-truth group (results/synthetic/<v>-<flavour>-gt-<c>[-n<s>]/seed<k>),
    one row each as `gainakt.analysis.runs.load_runs`, with columns `condition`, `students` (the
    simulation's, from the run's config) and `main` (a run of the three conditions' comparison, not
    of the scale check: its label has no ``-n<students>``)."""
    from .runs import load_runs
    runs = load_runs(results_root, dataset="synthetic")
    if not len(runs):
        return runs.assign(condition=pd.Series(dtype=str), students=pd.Series(dtype=int),
                           ablation=pd.Series(dtype=str), main=pd.Series(dtype=bool))
    parsed = runs.label.map(parse_label)
    runs = runs[parsed.notna()].reset_index(drop=True)
    parsed = parsed[parsed.notna()].reset_index(drop=True)
    students = [int((c.get("synthetic") or {}).get("n_students", SimConfig().n_students)) for c in runs.config]
    ablation = parsed.str[2]
    return runs.assign(condition=parsed.str[0], students=students, ablation=ablation,
                       main=parsed.str[1].isna() & (ablation == ""))


def main_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of the three conditions' comparison (at 1,500 students), not the scale check's."""
    return runs[runs.main].reset_index(drop=True) if len(runs) else runs


def per_run(runs: pd.DataFrame, col: str = "gain_own_mean", min_n: int = 20) -> pd.DataFrame:
    """One row per run and model (trained: best checkpoint; untrained: the noise floor): condition,
    students, variant, flavour, seed, model, skills, `cv` (coefficient of variation of per-skill `col`
    across skills: how far apart the gains are, whatever they follow), the Spearman of per-skill `col`
    with each true quantity (columns named as TRUTH_COLUMNS' keys) and `partial`: the partial Spearman
    with the true learning rate given per-skill training accuracy (what the gains know about learning
    speed that accuracy does not). The truth is re-simulated from each run's own ``synthetic`` settings."""
    truths: dict[str, pd.DataFrame] = {}
    rows = []
    for _, r in runs.iterrows():
        syn = r.config.get("synthetic") or {}
        truth = truths.setdefault(_key(syn), truth_table(syn))
        for model, untrained in (("trained", False), ("untrained", True)):
            tabs = read_skill_tables([r.dir], untrained=untrained)
            if not tabs:
                continue
            g = tabs[0].loc[tabs[0].n >= min_n, col]
            cv = float(g.std(ddof=0) / abs(g.mean())) if len(g) and g.mean() != 0 else np.nan
            rows.append({"condition": r.condition, "students": r.students, "main": r.main,
                         "ablation": getattr(r, "ablation", ""), "variant": r.variant,
                         "flavour": r.flavour, "seed": r.seed, "model": model, "skills": len(g), "cv": cv,
                         "dir": r.dir, **follows(tabs[0], truth, col, min_n),
                         "partial": partial_given_accuracy(tabs[0], truth, col, min_n)})
    cols = ["condition", "students", "main", "ablation", "variant", "flavour", "seed", "model", "skills", "cv", "dir",
            *TRUTH_COLUMNS, "partial"]
    return pd.DataFrame(rows, columns=cols)


def baseline_params(results_root, condition: str, students: int | None = None, model: str = "bkt") -> pd.DataFrame | None:
    """A classical baseline's (BKT's, or `model`'s) per-skill parameters on condition `condition`'s
    data at `students` students (seed 0), None if not run."""
    from ..report import resolve
    f = (resolve(results_root) / "synthetic" / f"{model}-baseline-{label_of(condition, students)}" / "seed0"
         / "skill_params.csv")
    return pd.read_csv(f) if f.is_file() else None


# The classical per-skill learning parameters compared with the truth: model -> (its column, its name in
# `classical_rates`' keys). PFA's is its success coefficient, the logit credit per correct answer.
CLASSICAL_RATES = {"afm": ("afm_learn", "AFM learn"), "bkt": ("bkt_learn", "BKT learn"),
                   "pfa": ("pfa_success", "PFA success")}


def classical_rates(results_root, condition: str, truth: pd.DataFrame, students: int | None = None,
                    min_n: int = 20) -> dict[str, float]:
    """Spearman with the true learning rates, and its partial given per-skill accuracy, of each
    classical learning parameter (BKT's learn, AFM's per-skill learning rate, PFA's success
    coefficient) fitted on the same data; the models not run are left out."""
    out = {}
    for model, (col, name) in CLASSICAL_RATES.items():
        b = baseline_params(results_root, condition, students, model)
        if b is not None and col in b:
            m = _with_params(truth, b, min_n)
            out[f"{name} ~ rate"] = spearman(m[col], m.learn_rate)
            out[f"{name} ~ rate | accuracy"] = _partial(m[col], m.learn_rate, m.train_accuracy)
    return out


def classical_references(results_root, synthetic_of=simconfig_of, conditions=CONDITIONS,
                         min_n: int = 20) -> pd.DataFrame:
    """Per condition: Spearman with the true learning rates of BKT's learn rate, AFM's per-skill
    learning rate and PFA's success coefficient (what classical models reach on the same data: a
    reference, not an upper bound; with partials given accuracy) and of the model-free learning-curve slope (accuracy
    on attempts 5-14 minus attempts 0-1, training folds), and of BKT's guess, slip and prior with
    the true ones. `synthetic_of(condition)` gives the condition's SimConfig overrides."""
    rows = []
    for c in conditions:
        syn = synthetic_of(c)
        students, truth = simulate(SimConfig(**syn))
        t = truth_table(syn)
        slope = learning_curve_slope([s for s in students if s.fold >= 0], len(t))
        row = {"condition": c, "true rate max/min": float(t.learn_rate.max() / t.learn_rate.min()),
               "learning-curve slope ~ rate": spearman(slope, t.learn_rate)}
        row.update(classical_rates(results_root, c, t, min_n=min_n))
        b = baseline_params(results_root, c)
        if b is not None:
            m = _with_params(t, b, min_n)
            row.update({"BKT guess ~ guess": spearman(m.bkt_guess, m.guess),
                        "BKT slip ~ slip": spearman(m.bkt_slip, m.slip),
                        "BKT prior ~ prior": spearman(m.bkt_prior, m.prior)})
        rows.append(row)
    return pd.DataFrame(rows)


def _with_params(truth: pd.DataFrame, params: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """The truth table joined with a classical baseline's per-skill parameters (BKT's, AFM's), skills
    with `min_n` training attempts."""
    m = truth.merge(params.drop(columns=[c for c in params if c in truth and c != "skill"]), on="skill")
    return m[m.train_attempts >= min_n]


def _partial(x, y, z) -> float:
    return partial_spearman(x, y, z) if np.ptp(np.asarray(y, float)) > 0 else np.nan

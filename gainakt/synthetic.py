"""A learner simulator: the built-in demo data set and a test fixture with known ground truth.

Generative model (every draw from ``numpy.random.default_rng(cfg.seed)``):

    per skill s      learn_rate[s] ~ LogUniform(learn_rate_min, learn_rate_max)
                     difficulty[s] ~ Normal(difficulty_mean, difficulty_sd), clipped to [0.05, 0.95]
                     prior[s]      ~ Uniform(prior_min, prior_max)          (initial mastery)
                     guess[s]      = guess + guess_spread * Uniform(-1, 1)  (per-skill guess and slip;
                     slip[s]       = slip + slip_spread * Uniform(-1, 1)    drawn from a second stream,
                                                                            see below)
    per student u    speed[u]      ~ LogNormal(0, speed_sd)                 (median 1)
                     ability[u]    ~ Normal(0, ability_sd)                  (shifts initial mastery)
                     length[u]     ~ UniformInt[min_len, max_len]
    mastery          m[u, s] = clip(prior[s] + ability[u], 0, 1) at the start, in [0, 1] throughout

    at step t student u answers one item of skill s = s_t:
        P(correct) = guess[s] + (1 - guess[s] - slip[s]) * sigmoid(discrimination * (m[u, s] - difficulty[s]))
        gain       = min(1, speed[u] * learn_rate[s] * w) * (1 - m[u, s]),
                     w = w_correct if the answer is correct else w_incorrect
        m[u, s]   += gain          (only the practised skill moves; mastery never exceeds 1)

    skill choice, practice in runs like ASSISTments skill builders: the first skill is uniform;
    after ``mastery_run`` consecutive correct answers on the current skill the student moves on
    (0 disables the rule), otherwise stays with probability ``persistence``; moving on draws one
    of the other skills uniformly.

Per-skill guess and slip are drawn from ``default_rng([seed, 1])``, a stream of their own, so that a
configuration with ``guess_spread = slip_spread = 0`` (the default) draws exactly the numbers it drew
before they existed. Learning-rate spread conditions (`LEARN_RATE_SPREADS`, `spread_condition`) keep the
geometric mean of the rates and, for one seed, the same uniform draws: only the width of the range
changes, so the skills keep their rank order, difficulty, prior, guess and slip across conditions.

Folds: a random ``test_fraction`` of the students form the test set (fold -1); the others get
folds ``i % n_folds`` in a random order, as pyKT's train_valid.csv.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .formats import Student, write_pykt

INTERACTION_KEYS = ("mastery_before", "mastery_after", "gain", "p_correct")


@dataclass
class SimConfig:
    n_students: int = 400
    n_skills: int = 12
    min_len: int = 20
    max_len: int = 120
    seed: int = 0
    test_fraction: float = 0.2
    n_folds: int = 5
    # per-skill parameters
    learn_rate_min: float = 0.03      # log-uniform range of the per-skill learning rate
    learn_rate_max: float = 0.30
    difficulty_mean: float = 0.45     # on the mastery scale [0, 1]
    difficulty_sd: float = 0.15
    prior_min: float = 0.05           # uniform range of the per-skill initial mastery
    prior_max: float = 0.45
    # per-student parameters
    speed_sd: float = 0.4             # log-normal sd of the learning speed multiplier
    ability_sd: float = 0.1           # sd of the student's shift of initial mastery
    # response model
    guess: float = 0.2
    slip: float = 0.1
    guess_spread: float = 0.0         # per-skill guess ~ Uniform(guess - spread, guess + spread)
    slip_spread: float = 0.0          # per-skill slip  ~ Uniform(slip - spread, slip + spread)
    discrimination: float = 8.0       # slope of the sigmoid in mastery - difficulty
    # learning from an attempt
    w_correct: float = 1.0            # a correct answer teaches w_correct / w_incorrect times more
    w_incorrect: float = 0.3
    # practice pattern
    persistence: float = 0.8          # probability of staying on the current skill
    mastery_run: int = 3              # move on after this many consecutive correct (0: never)

    def __post_init__(self):
        checks = {
            "n_students >= 1": self.n_students >= 1, "n_skills >= 1": self.n_skills >= 1,
            "1 <= min_len <= max_len": 1 <= self.min_len <= self.max_len, "n_folds >= 1": self.n_folds >= 1,
            "0 <= test_fraction < 1": 0 <= self.test_fraction < 1,
            "0 < learn_rate_min <= learn_rate_max": 0 < self.learn_rate_min <= self.learn_rate_max,
            "0 <= prior_min <= prior_max <= 1": 0 <= self.prior_min <= self.prior_max <= 1,
            "guess, slip >= 0 and guess + slip < 1": self.guess >= 0 and self.slip >= 0 and self.guess + self.slip < 1,
            "0 <= guess_spread <= guess, 0 <= slip_spread <= slip, guess + slip + both spreads < 1":
                0 <= self.guess_spread <= self.guess and 0 <= self.slip_spread <= self.slip
                and self.guess + self.slip + self.guess_spread + self.slip_spread < 1,
            "0 <= persistence <= 1": 0 <= self.persistence <= 1, "mastery_run >= 0": self.mastery_run >= 0,
            "w_correct, w_incorrect >= 0": self.w_correct >= 0 and self.w_incorrect >= 0,
        }
        failed = [k for k, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"invalid SimConfig: need {'; '.join(failed)}")

    def to_dict(self) -> dict:
        return asdict(self)


# Learning-rate spread conditions (the ground-truth chapter): ratio of the largest to the smallest
# true per-skill learning rate, around the default range's geometric mean sqrt(0.03 * 0.30).
LEARN_RATE_SPREADS = {"none": 1.0, "moderate": 3.0, "strong": 10.0}
LEARN_RATE_CENTRE = 0.0949


def spread_condition(name: str, centre: float = LEARN_RATE_CENTRE) -> dict:
    """SimConfig overrides ``learn_rate_min``/``learn_rate_max`` of spread condition `name`
    (a key of LEARN_RATE_SPREADS): the range [centre / sqrt(r), centre * sqrt(r)], r its ratio.
    'none' gives every skill the same rate."""
    if name not in LEARN_RATE_SPREADS:
        raise ValueError(f"unknown learning-rate spread {name!r}; allowed: {', '.join(LEARN_RATE_SPREADS)}")
    half = float(np.sqrt(LEARN_RATE_SPREADS[name]))
    return {"learn_rate_min": round(centre / half, 6), "learn_rate_max": round(centre * half, 6)}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate(cfg: SimConfig | None = None) -> tuple[list["Student"], dict]:
    """Simulate ``cfg.n_students`` learners; returns (students, truth).

    truth: config, per skill ``learn_rate``/``difficulty``/``prior``/``guess``/``slip`` [C], per student ``student_ids``,
    ``speed``/``ability``/``fold`` [U], ``initial_mastery``/``final_mastery`` [U, C], per interaction
    ``mastery_before``/``mastery_after``/``gain``/``p_correct`` (lists of [L_u] arrays aligned with
    each student's sequence; mastery of the practised skill), and ``summary``.
    """

    cfg = cfg or SimConfig()
    rng = np.random.default_rng(cfg.seed)
    U, C, T = cfg.n_students, cfg.n_skills, cfg.max_len
    learn_rate = np.exp(rng.uniform(np.log(cfg.learn_rate_min), np.log(cfg.learn_rate_max), C))
    difficulty = np.clip(rng.normal(cfg.difficulty_mean, cfg.difficulty_sd, C), 0.05, 0.95)
    prior = rng.uniform(cfg.prior_min, cfg.prior_max, C)
    # a stream of its own: the defaults (no spread) draw exactly what they drew before guess/slip varied
    rng_gs = np.random.default_rng([cfg.seed, 1])
    guess = cfg.guess + cfg.guess_spread * rng_gs.uniform(-1.0, 1.0, C)
    slip = cfg.slip + cfg.slip_spread * rng_gs.uniform(-1.0, 1.0, C)
    speed = np.exp(rng.normal(0.0, cfg.speed_sd, U))
    ability = rng.normal(0.0, cfg.ability_sd, U)
    length = rng.integers(cfg.min_len, cfg.max_len + 1, U)
    mastery = np.clip(prior[None, :] + ability[:, None], 0.0, 1.0)            # [U, C]
    initial = mastery.copy()
    final = np.empty_like(mastery)
    # All step noise drawn up front, [T, U] each: the loop below only does arithmetic.
    u_answer, u_stay = rng.random((T, U)), rng.random((T, U))
    hop = rng.integers(0, max(C - 1, 1), (T, U)) + 1                          # offset to another skill
    skill = rng.integers(0, C, U)
    streak = np.zeros(U, np.int64)
    rows = np.arange(U)
    rec = {k: np.empty((U, T)) for k in ("skill", "correct") + INTERACTION_KEYS}
    for t in range(T):  # a loop over time is inherent to a simulator; everything inside is over students
        before = mastery[rows, skill]
        g, sl = guess[skill], slip[skill]
        p = g + (1 - g - sl) * _sigmoid(cfg.discrimination * (before - difficulty[skill]))
        correct = u_answer[t] < p
        rate = np.minimum(1.0, speed * learn_rate[skill] * np.where(correct, cfg.w_correct, cfg.w_incorrect))
        gain = rate * (1.0 - before)
        mastery[rows, skill] = before + gain
        for k, v in zip(("skill", "correct") + INTERACTION_KEYS, (skill, correct, before, before + gain, gain, p)):
            rec[k][:, t] = v
        ends = length == t + 1
        final[ends] = mastery[ends]
        streak = np.where(correct, streak + 1, 0)
        move = u_stay[t] >= cfg.persistence
        if cfg.mastery_run:
            move |= streak >= cfg.mastery_run
        skill = np.where(move, (skill + hop[t]) % C, skill)
        streak = np.where(move, 0, streak)

    folds = np.empty(U, np.int64)
    order = rng.permutation(U)
    n_test = int(round(cfg.test_fraction * U))
    folds[order[:n_test]] = -1
    folds[order[n_test:]] = np.arange(U - n_test) % cfg.n_folds
    width = max(4, len(str(U - 1)))
    ids = [f"u{u:0{width}d}" for u in range(U)]
    students = [Student(ids[u], rec["skill"][u, :n].astype(np.int64), rec["correct"][u, :n].astype(np.int64),
                        int(folds[u])) for u, n in enumerate(length)]
    real = np.arange(T)[None, :] < length[:, None]
    correct_all, gain_all = rec["correct"][real].astype(bool), rec["gain"][real]
    truth = dict(
        config=cfg.to_dict(), learn_rate=learn_rate, difficulty=difficulty, prior=prior, guess=guess, slip=slip,
        student_ids=ids, speed=speed, ability=ability, fold=folds, initial_mastery=initial, final_mastery=final,
        **{k: [rec[k][u, :n].copy() for u, n in enumerate(length)] for k in INTERACTION_KEYS},
        summary=dict(
            n_students=U, n_test_students=n_test, n_interactions=int(length.sum()),
            mean_length=float(length.mean()), correct_rate=float(correct_all.mean()),
            mean_gain_correct=float(gain_all[correct_all].mean()) if correct_all.any() else float("nan"),
            mean_gain_incorrect=float(gain_all[~correct_all].mean()) if (~correct_all).any() else float("nan"),
            mean_initial_mastery=float(initial.mean()), mean_final_mastery=float(final.mean())),
    )
    return students, truth


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    return x


def write_dataset(out_dir, cfg: SimConfig | None = None) -> Path:
    """Simulate and write into ``out_dir``: pyKT ``train_valid.csv`` (folds) and ``test.csv`` (cidxs),
    ``ground_truth.json`` (config, per-skill and per-student truth, summary) and
    ``ground_truth_interactions.npz`` (per-interaction arrays, flat, with ``offsets`` [U+1]).
    Every file is written atomically. ``load_dataset("synthetic", data_dir=D)`` reads ``D/synthetic/``.
    """
    from .atomic import write_bytes_atomic, write_text_atomic

    cfg = cfg or SimConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    students, truth = simulate(cfg)
    write_pykt(out / "train_valid.csv", [s for s in students if s.fold >= 0])
    write_pykt(out / "test.csv", [s for s in students if s.fold < 0], cidxs=True)
    summary = {k: v for k, v in truth.items() if k not in INTERACTION_KEYS}
    write_text_atomic(out / "ground_truth.json", json.dumps(_jsonable(summary), indent=1))
    buf = io.BytesIO()
    np.savez_compressed(
        buf, student_ids=np.array(truth["student_ids"]),
        offsets=np.concatenate([[0], np.cumsum([len(s.skills) for s in students])]),
        skills=np.concatenate([s.skills for s in students]), responses=np.concatenate([s.responses for s in students]),
        **{k: np.concatenate(truth[k]) for k in INTERACTION_KEYS})
    write_bytes_atomic(out / "ground_truth_interactions.npz", buf.getvalue())
    return out


def load_ground_truth(folder) -> dict:
    """Read what write_dataset saved back into simulate's ``truth`` layout (arrays as numpy)."""
    folder = Path(folder)
    truth = json.loads((folder / "ground_truth.json").read_text())
    cfg = truth["config"]
    for k in ("guess", "slip"):  # files written before per-skill guess and slip: the global value
        truth.setdefault(k, [cfg[k]] * len(truth["learn_rate"]))
    for k in ("learn_rate", "difficulty", "prior", "guess", "slip", "speed", "ability", "fold", "initial_mastery", "final_mastery"):
        truth[k] = np.asarray(truth[k])
    with np.load(folder / "ground_truth_interactions.npz") as z:
        bounds = z["offsets"]
        for k in INTERACTION_KEYS + ("skills", "responses"):
            truth[k] = np.split(z[k], bounds[1:-1])
    return truth

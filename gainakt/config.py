"""One typed configuration for everything a run does, round-tripping to JSON.

Every field is explicit; `ORIGINAL_DEFAULTS` holds the original `parameter_default.json` values
(version 903328b, the newest with per-skill gains) so that a run can record which of its values
differ from the original defaults. The *switches* at the end each have an "as run" value (what the
original code actually did) and an "as intended" value (what its documents describe); the table of
variants in `variants.py` combines them.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

# The original configs/parameter_default.json (PD5, commit 903328b): only the keys that mean
# something for this model. Unused flags and launcher keys are left out on purpose.
ORIGINAL_DEFAULTS: dict[str, Any] = {
    "seed": 42, "epochs": 20, "batch_size": 64, "learning_rate": 0.000174,
    "weight_decay": 1.7571e-05, "optimizer": "Adam", "gradient_clip": 1.0, "patience": 10,
    "seq_len": 200, "d_model": 256, "n_heads": 4, "num_encoder_blocks": 4, "d_ff": 512,
    "dropout": 0.2, "bce_loss_weight": 0.5, "beta_skill_init": 2.0, "m_sat_init": 0.8,
    "gamma_student_init": 1.0, "sigmoid_offset": 2.0, "mastery_threshold_init": 0.85,
    "threshold_temperature": 1.0, "dataset": "assist2015", "fold": 0,
    "variance_loss_weight": 2.0, "skill_contrastive_loss_weight": 1.0,
    "beta_spread_regularization_weight": 0.5, "gains_projection_bias_std": 0.5,
    "gains_projection_orthogonal": True, "skill_difficulty_path": None,
    "use_student_velocity": False, "max_correlation_students": 3800,
}

# Our field names where they differ from the original key.
_RENAMED = {"num_encoder_blocks": "n_blocks"}

# ---- one source for every field: type (the annotation), default, allowed values, help, group ----
# A field is declared as   name: type = opt(default, GROUP, "help", <allowed>)
# where <allowed> is choices=(...) or lo=/hi= (closed bounds; gt= for an open lower bound).
# validate() checks every field from this metadata; the CLI's --help and flags are built from it.
GROUPS = ("identity", "data", "optimisation", "architecture", "learning curve", "losses",
          "audit switches", "corrected model", "evaluation")
# Names known without importing torch (data.DATASETS and variants.VARIANTS are the full tables;
# tests check that these agree with them).
DATASET_NAMES = ("assist2015", "assist2009", "statics2011", "synthetic")


class ConfigError(ValueError):
    """A configuration value is not allowed; the message is one line: field, value, what is allowed."""

    def __init__(self, field: str, value: Any, allowed: str, what: str = "config field"):
        self.field, self.value, self.allowed, self.what = field, value, allowed, what
        super().__init__(f"{what} {field!r} = {value!r} is not allowed; expected {allowed}")

    def __reduce__(self):  # picklable despite the custom signature (worker processes)
        return self.__class__, (self.field, self.value, self.allowed, self.what)


def opt(default: Any = dataclasses.MISSING, group: str = "", help: str = "", *,
        choices: tuple | None = None, lo: float | None = None, hi: float | None = None,
        gt: float | None = None, factory: Any = dataclasses.MISSING) -> Any:
    """A Config field with its metadata (see the comment above)."""
    meta = {"group": group, "help": help, "choices": choices, "lo": lo, "hi": hi, "gt": gt}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


# Allowed values of the string switches: (as run, as intended) is documented beside each field.
# (Kept as a table for callers; the same tuples are the fields' `choices` metadata below.)
CHOICES: dict[str, tuple[str, ...]] = {
    "flavour": ("as_run", "as_intended", "custom"),
    "dataset": DATASET_NAMES,
    "gain_mode": ("per_skill", "scalar"),
    "accumulate": ("all_skills", "practised"),
    "loss_on": ("probabilities", "logits"),
    "enc1_query": ("current", "next"),
    "im_target": ("next", "current"),
    "mastery_index": ("current", "next"),
    "difficulty_mode": ("none", "scale_after", "input"),
    "difficulty_source": ("original", "train"),
    "velocity_source": ("original_leak", "past"),
    "student_index": ("per_split", "global"),
    "gamma_mode": ("per_student", "mean"),
    "gamma_at_eval": ("mean", "per_student"),
    "unseen_student_gamma": ("own", "trained_mean"),
    "attention": ("sdpa", "plain"),
    "practice_impl": ("auto", "dense"),
    "gains_impl": ("all", "practised"),
    "batching": ("tokens", "windows", "padded", "packed"),
    "device": ("auto", "cpu", "cuda"),
    "model": ("gainakt", "skill_only", "pfa", "pfa_monotone", "afm", "bkt", "dkt", "sakt"),
    "gain_activation": ("sigmoid", "softplus", "tanh"),
    "gain_source": ("encoder", "skill"),
    "curve_form": ("sigmoid", "linear"),
}
_C = CHOICES
ID, DATA, OPT, ARCH, CURVE, LOSS, SWITCH, FIX, EVAL = GROUPS

# Fields that say where or how fast a run executes, not what it computes: a resume may change them
# (and `epochs`: training on reproduces an uninterrupted run with more epochs, see
# tests/test_train.py::test_interrupted_run_resumes_to_the_same_history). Any other difference
# between a folder's run and the requested config is refused (`gainakt.checkpoints.check_resume`).
RUN_ONLY_FIELDS = ("device", "num_threads", "data_dir", "title", "epochs")


@dataclass
class Config:
    # --- identity -----------------------------------------------------------------------
    variant: str = opt("custom", ID, "variant key (python -m gainakt variants), or custom")
    flavour: str = opt("custom", ID, "as_run: the switches as the original code ran; as_intended: as its "
                       "documents describe; custom: neither", choices=_C["flavour"])
    title: str = opt("", ID, "free short title, used in run folder names")
    model: str = opt("gainakt", ID, "gainakt (GainAKT3Exp) or a baseline of gainakt/baselines/: skill_only, "
                     "pfa, pfa_monotone, afm, bkt, dkt, sakt", choices=_C["model"])
    # --- data ---------------------------------------------------------------------------
    dataset: str = opt("assist2015", DATA, "data set", choices=_C["dataset"])
    data_dir: str | None = opt(None, DATA, "folder holding the data sets; none: $GAINAKT_DATA, "
                               "else ../shared/data beside the project")
    fold: int = opt(0, DATA, "validation fold; train on the others", lo=0, hi=4)
    seq_len: int = opt(200, DATA, "windows of at most this many interactions", lo=2)
    synthetic: dict = opt(group=DATA, help="SimConfig overrides (JSON) for dataset synthetic", factory=dict)
    # --- optimisation (original defaults) -----------------------------------------------
    seed: int = opt(42, OPT, "random seed (weights, dropout, batch order)", lo=0)
    epochs: int = opt(20, OPT, "maximum number of training epochs", lo=1)
    batch_size: int = opt(64, OPT, "windows per batch (tokens: sets the token budget)", lo=1)
    learning_rate: float = opt(0.000174, OPT, "Adam learning rate", gt=0)
    weight_decay: float = opt(1.7571e-05, OPT, "coupled L2 inside Adam, as the original (not AdamW)", lo=0)
    gradient_clip: float = opt(1.0, OPT, "global gradient-norm clip; 0: no clipping", lo=0)
    patience: int = opt(10, OPT, "early stopping: epochs without a better validation Encoder-1 AUC", lo=1)
    gains_lr_multiplier: float = opt(3.0, OPT, "V2's layer-wise LR: gains_projection's LR multiplier", gt=0)
    shuffle: bool = opt(False, OPT, "shuffle training batches (the original DataLoader did not)")
    batching: str = opt("tokens", OPT, "tokens / windows / padded (the original's batches) / packed (the "
                        "original's batches packed into dense rows: the same losses and gradients): batches.py",
                        choices=_C["batching"])
    max_tokens: int | None = opt(None, OPT, "tokens batching: targets per step; none: batch_size x mean "
                                 "targets per window", lo=1)
    length_strata: int = opt(4, OPT, "tokens batching: one length bucket from each of this many strata "
                             "per step", lo=1)
    train_eval_fraction: float = opt(1.0, OPT, "share of training windows re-evaluated each epoch for the "
                                     "training metrics", gt=0, hi=1)
    device: str = opt("auto", OPT, "auto: CUDA when present, else CPU", choices=_C["device"])
    num_threads: int = opt(0, OPT, "torch CPU threads; 0 keeps torch's default", lo=0)
    # --- architecture (original defaults) ------------------------------------------------
    d_model: int = opt(256, ARCH, "model width (a multiple of n_heads)", lo=1)
    n_heads: int = opt(4, ARCH, "attention heads", lo=1)
    n_blocks: int = opt(4, ARCH, "encoder blocks per encoder", lo=1)
    d_ff: int = opt(512, ARCH, "feed-forward width", lo=1)
    dropout: float = opt(0.2, ARCH, "dropout probability", lo=0, hi=1)
    attention: str = opt("sdpa", ARCH, "fused scaled_dot_product_attention, or the plain matmul path",
                         choices=_C["attention"])
    practice_impl: str = opt("auto", ARCH, "auto: gather path where the switches allow; dense: [B, L, C] "
                             "always", choices=_C["practice_impl"])
    gains_impl: str = opt("all", ARCH, "all: every skill's gain at every step (the original's [N, C] "
                          "projection), then the practised skill's is read; practised: only the practised "
                          "skill's projection row ([N]: memory and time grow with interactions, not with "
                          "skills x interactions; equal up to float rounding). Used in packed training with "
                          "practised accumulation when no loss reads the other skills' gains",
                          choices=_C["gains_impl"])
    gains_projection_bias_std: float = opt(0.5, ARCH, "V3+ init: gains_projection bias ~ N(0, std); 0: zero "
                                           "bias", lo=0)
    gains_projection_orthogonal: bool = opt(True, ARCH, "V3+ init: with bias_std > 0, orthogonal weight x "
                                            "scale")
    gains_projection_orthogonal_scale: float = opt(0.3, ARCH, "V3+ init: scale of the orthogonal weight",
                                                   gt=0)
    baseline_max_iter: int = opt(200, ARCH, "baselines skill_only/pfa/afm (lbfgs) and bkt (EM): iteration cap; "
                                 "hitting it is reported as not converged", lo=1)
    # --- learning curve -----------------------------------------------------------------
    beta_skill_init: float = opt(2.0, CURVE, "initial per-skill learning-curve steepness beta", gt=0)
    beta_init_std: float = opt(0.5, CURVE, "V3: beta ~ N(beta_init, std) clamped to [0.5, 5]; 0: constant "
                               "(V0-V2)", lo=0)
    m_sat_init: float = opt(0.8, CURVE, "initial saturation mastery", gt=0, hi=1)
    gamma_student_init: float = opt(1.0, CURVE, "initial per-student learning velocity gamma", gt=0)
    sigmoid_offset: float = opt(2.0, CURVE, "offset of the mastery sigmoid")
    mastery_threshold_init: float = opt(0.85, CURVE, "initial mastery threshold theta", lo=0, hi=1)
    threshold_temperature: float = opt(1.0, CURVE, "temperature of the IM logits (fixed, not learnt, as "
                                       "the original)", gt=0)
    # --- losses -------------------------------------------------------------------------
    bce_loss_weight: float = opt(0.5, LOSS, "lambda1: weight of Encoder-1's BCE; the IM loss gets "
                                 "1 - lambda1", lo=0, hi=1)
    variance_loss_weight: float = opt(2.0, LOSS, "weight of the gain-variance loss", lo=0)
    skill_contrastive_loss_weight: float = opt(1.0, LOSS, "weight of the skill-contrastive loss", lo=0)
    beta_spread_regularization_weight: float = opt(0.5, LOSS, "weight of the beta-spread hinge", lo=0)
    beta_spread_target: float = opt(0.3, LOSS, "target standard deviation of beta (hinge)", lo=0)
    # --- audit switches: (as run / as intended) -----------------------------------------
    gain_mode: str = opt("per_skill", SWITCH, "scalar (V0: sigmoid(mean ReLU(v)), practised skill only) / "
                         "per_skill", choices=_C["gain_mode"])
    accumulate: str = opt("practised", SWITCH, "all_skills (as run V1-V5) / practised (as intended)",
                          choices=_C["accumulate"])
    loss_on: str = opt("logits", SWITCH, "probabilities (double sigmoid, as run) / logits",
                       choices=_C["loss_on"])
    enc1_query: str = opt("next", SWITCH, "current (as run V3+) / next (as run V0-V2, as intended)",
                          choices=_C["enc1_query"])
    im_target: str = opt("next", SWITCH, "next r_{t+1} (as run) / current r_t (2ff15f7, leaks r_t)",
                         choices=_C["im_target"])
    mastery_index: str = opt("next", SWITCH, "current q_t (as run, 'Bug 0' fix) / next q_{t+1} (as "
                             "intended)", choices=_C["mastery_index"])
    mask_padding: bool = opt(True, SWITCH, "false: variance/contrastive losses include padding (as run)")
    difficulty_mode: str = opt("none", SWITCH, "none / scale_after (V4: gains / difficulty) / input (V5)",
                               choices=_C["difficulty_mode"])
    difficulty_source: str = opt("train", SWITCH, "original (validation fold, off-by-one) / train "
                                 "(training folds)", choices=_C["difficulty_source"])
    use_student_velocity: bool = opt(False, SWITCH, "multiply gains by a per-student velocity (V4, V5)")
    velocity_source: str = opt("past", SWITCH, "original_leak (own future responses) / past",
                               choices=_C["velocity_source"])
    student_index: str = opt("global", SWITCH, "per_split (as run: gamma looked up by a per-split index) "
                             "/ global", choices=_C["student_index"])
    gamma_mode: str = opt("per_student", SWITCH, "mean (V1: mean gamma for everyone) / per_student",
                          choices=_C["gamma_mode"])
    gamma_at_eval: str = opt("per_student", SWITCH, "mean (as run: the evaluator passed no student ids) "
                             "/ per_student", choices=_C["gamma_at_eval"])
    unseen_student_gamma: str = opt("trained_mean", SWITCH, "own (as run: a student absent from training "
                                    "keeps its own row, moved only by weight decay) / trained_mean (the mean "
                                    "of trained students' gammas, no decay)", choices=_C["unseen_student_gamma"])
    zero_unmasked_inputs: bool = opt(False, SWITCH, "true (as run: the original's c[:-1] * mask turns the "
                                     "input at steps without a target, the last real one included, into "
                                     "token 0); only padded-position terms differ")
    original_factory: bool = opt(False, SWITCH, "true: drop the options the original factory never "
                                 "passed on")
    # --- the corrected model (V6, issue 19): not in the original; defaults = the original ---
    gain_activation: str = opt("sigmoid", FIX, "per-skill gains: sigmoid (bounded in (0, 1), the original) / "
                               "softplus (positive, unbounded) / tanh (signed: mastery can fall after an error)",
                               choices=_C["gain_activation"])
    gain_source: str = opt("encoder", FIX, "where a per-skill gain comes from: encoder (Encoder 2's value stream "
                           "through gains_projection, the original: it depends on the context) / skill (one "
                           "learned number per skill, the same at every interaction: an AFM-like learning rate)",
                           choices=_C["gain_source"])
    shared_curve: bool = opt(False, FIX, "one beta and one M_sat for every skill: the per-skill gains are then "
                             "the only per-skill learning speed (beta x gain and M_sat can no longer carry it)")
    curve_form: str = opt("sigmoid", FIX, "the learning curve: sigmoid (the original: mastery = M_sat x "
                          "sigmoid(beta gamma practice - offset), which saturates) / linear (its tangent at zero "
                          "practice: the same start and first step, no ceiling, so an attempt moves the logit as "
                          "much late as early, the form of AFM's per-skill learning rate, and a fast rate cannot "
                          "pass for an easy skill once the curve is flat)", choices=_C["curve_form"])
    skill_intercept: bool = opt(False, FIX, "a learned per-skill intercept in the IM logits: somewhere for "
                                "skill difficulty to live other than the gains")
    readout_clamps: bool = opt(True, FIX, "the original read-out's clamps: mastery to [0, 1] and theta to "
                               "[0, 1] (their gradient is 0 outside)")
    learn_temperature: bool = opt(False, FIX, "learn the IM temperature (log-parametrised, from "
                                  "threshold_temperature) instead of fixing it")
    curve_lr_multiplier: float = opt(1.0, FIX, "LR multiplier of the learning-curve scalars (beta, M_sat, "
                                     "gamma, theta, offset, intercept, temperature, per-skill gain); 0 freezes them",
                                     lo=0)
    curve_weight_decay: float | None = opt(None, FIX, "weight decay (coupled L2 inside Adam) of the learning-curve "
                                           "scalars; none: weight_decay. With a large curve LR the coupled "
                                           "decay moves them by about one curve-LR step per update", lo=0)
    gamma_positive: bool = opt(False, FIX, "gamma = softplus of its parameter (which starts where gamma = "
                               "gamma_student_init): a student's learning speed cannot turn negative, so while beta "
                               "and M_sat stay positive the curve cannot fall with practice (on statics2011 the "
                               "shared curve's one gamma went to -0.95, and each gain then lowered mastery)")
    # --- evaluation ---------------------------------------------------------------------
    n_trajectory_students: int = opt(10, EVAL, "test students written to trajectories.csv", lo=0)
    trajectory_min_steps: int = opt(10, EVAL, "minimum interactions of a trajectory student", lo=1)
    max_correlation_students: int = opt(3800, EVAL, "students in the gain/performance correlations", lo=1)
    im_grad_batches: int = opt(4, EVAL, "training-split batches (whole buckets) for the IM-gradient "
                               "diagnostic", lo=0)
    min_skill_count: int = opt(20, EVAL, "per-skill statistics (per-skill CV) use skills with at least "
                               "this many interactions", lo=1)

    # ------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        validate(self)

    @property
    def regularisers_see_padding(self) -> bool:
        """The variance/contrastive losses average over padding positions (as run): their value then
        depends on how much padding a batch holds, so only the original's batches (`batching="padded"`
        or "packed") reproduce them."""
        return not self.mask_padding and bool(self.variance_loss_weight or self.skill_contrastive_loss_weight)

    @property
    def eval_gamma_mode(self) -> str | None:
        """gamma_mode for the final test evaluation: "mean" as run (the evaluator passed no
        student ids), None (the training setting) otherwise."""
        return "mean" if self.gamma_at_eval == "mean" else None

    def effective(self) -> "Config":
        """The configuration the model really receives.

        With `original_factory` the options that the original `create_exp_model` never passed
        (V3+ initialisation, V4/V5 difficulty, velocity) fall back to its constructor defaults.
        """
        if not self.original_factory:
            return self
        return dataclasses.replace(
            self, gains_projection_bias_std=0.0, gains_projection_orthogonal=False,
            difficulty_mode="none", use_student_velocity=False, original_factory=False)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))

    def overrides(self, base: "Config | None" = None) -> dict[str, Any]:
        """Fields whose value differs from `base` (default: a plain `Config()`)."""
        base_d = (base or Config()).to_dict()
        return {k: v for k, v in self.to_dict().items() if base_d[k] != v}


_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict}


def optional_fields() -> set[str]:
    """Fields that may be None (typed `X | None`): "none" on the command line means None."""
    return {f.name for f in fields(Config) if str(f.type).endswith("| None")}


@functools.lru_cache(maxsize=None)
def _fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in fields(Config)}


@functools.lru_cache(maxsize=None)
def _types() -> dict[str, type]:
    return {f.name: _TYPES.get(str(f.type).split(" |")[0], str) for f in fields(Config)}


def field_types() -> dict[str, type]:
    """Field name -> Python type, for the CLI's flags and for papermill parameters."""
    return dict(_types())


def variant_names() -> tuple[str, ...]:
    """Allowed values of `variant`: the keys of variants.VARIANTS and "custom" (no torch needed)."""
    from .variants import ALL_VARIANTS  # variants imports this module: import here, not at the top
    return (*ALL_VARIANTS, "custom")


def allowed(name: str) -> str:
    """What field `name` accepts, in words, e.g. "an integer >= 1" or "one of tokens, windows"."""
    f = _fields()[name]
    m, t = f.metadata, _types()[name]
    if name == "variant":
        return "one of " + ", ".join(variant_names())
    if m.get("choices"):
        return "one of " + ", ".join(m["choices"])
    text = {int: "an integer", float: "a number", bool: "true or false", dict: "a JSON object",
            str: "a string"}[t]
    bounds = [f">= {m['lo']:g}" if m.get("lo") is not None else None,
              f"> {m['gt']:g}" if m.get("gt") is not None else None,
              f"<= {m['hi']:g}" if m.get("hi") is not None else None]
    bounds = [b for b in bounds if b]
    if bounds:
        text += " " + " and ".join(bounds)
    if name in optional_fields():
        text += ", or none"
    return text


def check_field(name: str, value: Any) -> None:
    """Raise ConfigError unless `value` has field `name`'s type and lies in its range / choices."""
    f = _fields().get(name)
    if f is None:
        raise ConfigError(name, value, "a known config field (python -m gainakt train --help)")
    m, t = f.metadata, _types()[name]
    if value is None and str(f.type).endswith("| None"):
        return
    ok_type = (isinstance(value, t) and not (t is int and isinstance(value, bool))) or \
              (t is float and isinstance(value, int) and not isinstance(value, bool))
    if not ok_type:
        raise ConfigError(name, value, allowed(name))
    choices = variant_names() if name == "variant" else m.get("choices")
    if choices and value not in choices:
        raise ConfigError(name, value, allowed(name))
    if t in (int, float):
        lo, hi, gt = m.get("lo"), m.get("hi"), m.get("gt")
        if value != value or (lo is not None and value < lo) or (hi is not None and value > hi) or \
                (gt is not None and value <= gt):
            raise ConfigError(name, value, allowed(name))


def validate(cfg: "Config") -> None:
    """Every field's type and range (from the metadata), then the rules between fields."""
    for f in fields(cfg):
        check_field(f.name, getattr(cfg, f.name))
    if cfg.d_model % cfg.n_heads:
        raise ConfigError("d_model", cfg.d_model, f"a multiple of n_heads = {cfg.n_heads}")


def notebook_parameters(namespace: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """The parameters of a papermill notebook, read from its globals (`namespace`) after the parameters
    cell and papermill's injected-parameters cell have run: each must be a Config field or one of `extra`
    (the notebook's own parameters), else ConfigError, so a typo (`-p varient V2`) stops the run
    instead of running the default. Returns {name: value} for the known names."""
    known = {f.name for f in fields(Config)} | set(extra)
    # parameters are plain data; IPython's own globals (In, Out, open, exit, _i1...) and imports are not
    data = (str, int, float, bool, dict, list, tuple, type(None))
    params = {k: v for k, v in namespace.items()
              if not k.startswith("_") and k not in ("In", "Out") and isinstance(v, data)}
    for name, value in params.items():
        if name not in known:
            raise ConfigError(name, value, "a Config field (python -m gainakt train --help) or one of "
                              + ", ".join(extra), what="notebook parameter")
    return params


def with_defaults(recorded: dict[str, Any]) -> dict[str, Any]:
    """A config dict recorded before some fields existed, completed with their defaults: every field
    was added with the behaviour of the code before it, so a missing field means its default."""
    return {**Config().to_dict(), **recorded}


def defaults_md5(defaults: dict[str, Any] = ORIGINAL_DEFAULTS) -> str:
    """md5 of the defaults as the original launcher computed it (sorted-key JSON)."""
    return hashlib.md5(json.dumps(defaults, sort_keys=True).encode()).hexdigest()


def original_values() -> dict[str, Any]:
    """The original defaults expressed in our field names (for 'differs from original' lists)."""
    known = {f.name for f in fields(Config)}
    out = {}
    for k, v in ORIGINAL_DEFAULTS.items():
        name = _RENAMED.get(k, k)
        if name in known:
            out[name] = v
    return out

"""One typed configuration for everything a run does, round-tripping to JSON.

Every field is explicit; `ORIGINAL_DEFAULTS` holds the original `parameter_default.json` values
(version 903328b, the newest with per-skill gains) so that a run can record which of its values
differ from the original defaults. The *switches* at the end each have an "as run" value (what the
original code actually did) and an "as intended" value (what its documents describe); the table of
variants in `variants.py` combines them.
"""
from __future__ import annotations

import dataclasses
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

# Allowed values of the string switches: (as run, as intended) is documented beside each field.
CHOICES: dict[str, tuple[str, ...]] = {
    "flavour": ("as_run", "as_intended", "custom"),
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
    "attention": ("sdpa", "plain"),
    "practice_impl": ("auto", "dense"),
    "batching": ("tokens", "windows", "padded"),
    "device": ("auto", "cpu", "cuda"),
    "model": ("gainakt", "skill_only", "pfa", "bkt", "dkt", "sakt"),
}


@dataclass
class Config:
    # --- identity -----------------------------------------------------------------------
    variant: str = "custom"          # key in variants.VARIANTS, or "custom"
    flavour: str = "custom"          # "as_run" | "as_intended" | "custom"
    title: str = ""                  # free short title, used in run folder names
    model: str = "gainakt"           # gainakt (GainAKT3Exp) | skill_only | pfa | bkt | dkt | sakt (gainakt/baselines/)
    # --- data ---------------------------------------------------------------------------
    dataset: str = "assist2015"      # assist2015 | assist2009 | statics2011 | synthetic
    data_dir: str | None = None      # None: the GAINAKT_DATA environment variable
    fold: int = 0                    # validation fold; train on the others
    seq_len: int = 200               # windows of at most this many interactions
    synthetic: dict = field(default_factory=dict)  # SimConfig overrides for dataset "synthetic"
    # --- optimisation (original defaults) -----------------------------------------------
    seed: int = 42
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 0.000174
    weight_decay: float = 1.7571e-05  # coupled L2 inside Adam, as the original (not AdamW)
    gradient_clip: float = 1.0        # global norm
    patience: int = 10                # early stopping on validation Encoder-1 AUC
    gains_lr_multiplier: float = 3.0  # V2's layer-wise LR: gains_projection gets 3x
    shuffle: bool = False             # the original DataLoader did not shuffle
    batching: str = "tokens"          # tokens / windows / padded (the original): see batches.py
    max_tokens: int | None = None     # tokens: targets per step; None = batch_size x mean targets per window
    length_strata: int = 4            # tokens: each step takes one length bucket from each of this many strata
    train_eval_fraction: float = 1.0  # share of training windows re-evaluated each epoch for train metrics
    device: str = "auto"              # auto: CUDA when present, else CPU
    num_threads: int = 0              # torch CPU threads; 0 keeps torch's default
    # --- architecture (original defaults) ------------------------------------------------
    d_model: int = 256
    n_heads: int = 4
    n_blocks: int = 4
    d_ff: int = 512
    dropout: float = 0.2
    attention: str = "sdpa"           # fused scaled_dot_product_attention, or the plain matmul path
    practice_impl: str = "auto"       # auto: gather path where the switches allow; dense: [B, L, C] always
    baseline_max_iter: int = 200      # baselines skill_only/pfa (lbfgs) and bkt (EM): iteration cap, >= 1; hitting it is reported as not converged
    # --- learning curve -----------------------------------------------------------------
    beta_skill_init: float = 2.0
    beta_init_std: float = 0.5        # V3: N(beta_init, 0.5) clamped to [0.5, 5]; 0 = constant (V0-V2)
    m_sat_init: float = 0.8
    gamma_student_init: float = 1.0
    sigmoid_offset: float = 2.0
    mastery_threshold_init: float = 0.85
    threshold_temperature: float = 1.0  # fixed, not learnt (as the original)
    # --- losses -------------------------------------------------------------------------
    bce_loss_weight: float = 0.5      # lambda1; the IM loss gets 1 - lambda1
    variance_loss_weight: float = 2.0
    skill_contrastive_loss_weight: float = 1.0
    beta_spread_regularization_weight: float = 0.5
    beta_spread_target: float = 0.3
    # --- V3+ initialisation of gains_projection -----------------------------------------
    gains_projection_bias_std: float = 0.5  # > 0: bias ~ N(0, std)
    gains_projection_orthogonal: bool = True  # with bias_std > 0: orthogonal weight x scale
    gains_projection_orthogonal_scale: float = 0.3
    # --- switches: (as run / as intended) -----------------------------------------------
    gain_mode: str = "per_skill"      # scalar (V0: sigmoid(mean ReLU(v)), practised skill only) / per_skill
    accumulate: str = "practised"     # all_skills (as run V1-V5) / practised (as intended)
    loss_on: str = "logits"           # probabilities (double sigmoid, as run) / logits
    enc1_query: str = "next"          # current (as run V3+) / next (as run V0-V2, as intended)
    im_target: str = "next"           # next r_{t+1} (as run) / current r_t (2ff15f7, leaks r_t)
    mastery_index: str = "next"       # current q_t (as run, "Bug 0" fix) / next q_{t+1} (as intended)
    mask_padding: bool = True         # False: variance/contrastive losses include padding (as run)
    difficulty_mode: str = "none"     # none / scale_after (V4: gains / difficulty) / input (V5)
    difficulty_source: str = "train"  # original (validation fold, off-by-one) / train (training folds)
    use_student_velocity: bool = False  # multiply gains by a per-student velocity (V4, V5)
    velocity_source: str = "past"     # original_leak (own future responses) / past
    student_index: str = "global"     # per_split (as run: gamma looked up by a per-split index) / global
    gamma_mode: str = "per_student"   # mean (V1: mean gamma for everyone) / per_student
    gamma_at_eval: str = "per_student"  # mean (as run: the evaluator passed no student ids) / per_student
    original_factory: bool = False    # True: drop the options the original factory never passed on
    # --- evaluation ---------------------------------------------------------------------
    n_trajectory_students: int = 10   # test students written to trajectories.csv
    trajectory_min_steps: int = 10
    max_correlation_students: int = 3800
    im_grad_batches: int = 4          # training-split batches (whole buckets) for the IM-gradient diagnostic

    # ------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"config field {name!r} = {value!r}; expected one of {allowed}")
        if not 0.0 <= self.bce_loss_weight <= 1.0:
            raise ValueError(f"bce_loss_weight = {self.bce_loss_weight}; expected a value in [0, 1]")
        if self.baseline_max_iter < 1:
            raise ValueError(f"baseline_max_iter = {self.baseline_max_iter}; expected an integer >= 1")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model = {self.d_model} is not divisible by n_heads = {self.n_heads}")

    @property
    def regularisers_see_padding(self) -> bool:
        """The variance/contrastive losses average over padding positions (as run): their value then
        depends on how much padding a batch holds, so only `batching="padded"` reproduces them."""
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


def optional_fields() -> set[str]:
    """Fields that may be None (typed `X | None`): "none" on the command line means None."""
    return {f.name for f in fields(Config) if str(f.type).endswith("| None")}


def field_types() -> dict[str, type]:
    """Field name -> Python type, for the CLI's flags and for papermill parameters."""
    out = {}
    for f in fields(Config):
        t = f.type if isinstance(f.type, str) else f.type.__name__
        out[f.name] = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict,
                       "str | None": str, "int | None": int}.get(t, str)
    return out


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

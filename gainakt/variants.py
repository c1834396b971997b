"""The variant table: V0-V5 of the seed documents, each as it was run and as it was meant.

A variant is data: a story, the settings that define it, and the numbers the seeds report for it.
`make_config("V1", "as_run", epochs=2)` builds its `Config`. The two flavours share the variant's own
settings and differ only in the audit switches:

* **as_run** reproduces what the original code did (double sigmoid in both losses, gains added to
  every skill, IM head on the current skill's mastery, padding inside the regularisers, per-split
  student index, mean gamma at evaluation, difficulty from the validation fold with the off-by-one,
  a velocity that reads future responses, and, for V4/V5, the factory that dropped their options);
* **as_intended** does what the documents say the model does.

Sources: seeds/000 (status report), 001 (V0/V1 bug analysis), 002 (V3 validation);
docs/original_implementation.md (the audit) for what each version's code did.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .config import Config

AS_RUN: dict[str, Any] = dict(
    flavour="as_run", loss_on="probabilities", accumulate="all_skills", im_target="next",
    mastery_index="current", mask_padding=False, difficulty_source="original",
    velocity_source="original_leak", student_index="per_split", gamma_at_eval="mean",
)
AS_INTENDED: dict[str, Any] = dict(
    flavour="as_intended", loss_on="logits", accumulate="practised", im_target="next",
    mastery_index="next", mask_padding=True, difficulty_source="train", velocity_source="past",
    student_index="global", gamma_at_eval="per_student", enc1_query="next", original_factory=False,
)
FLAVOURS = {"as_run": AS_RUN, "as_intended": AS_INTENDED}

# Settings every variant before V3 shares: no V3 losses, constant beta, no V3+ init.
_PRE_V3 = dict(variance_loss_weight=0.0, skill_contrastive_loss_weight=0.0,
               beta_spread_regularization_weight=0.0, beta_init_std=0.0,
               gains_projection_bias_std=0.0, gains_projection_orthogonal=False)
_V3 = dict(variance_loss_weight=2.0, skill_contrastive_loss_weight=1.0,
           beta_spread_regularization_weight=0.5, beta_init_std=0.5,
           gains_projection_bias_std=0.0, gains_projection_orthogonal=False, enc1_query="current")
_V3PLUS = dict(_V3, gains_projection_bias_std=0.5, gains_projection_orthogonal=True)


@dataclass(frozen=True)
class Variant:
    key: str
    story: str                               # one line: what was tried and why
    settings: dict[str, Any]                 # the variant's own config values
    as_run_only: dict[str, Any] = field(default_factory=dict)  # extra settings of the as-run flavour
    reported: dict[str, float] = field(default_factory=dict)   # numbers the seeds report
    experiment: str = ""                     # original experiment id
    source: str = ""                         # where the numbers come from

    @property
    def slug(self) -> str:
        """File-system and URL friendly name ('V3+' -> 'V3plus')."""
        return self.key.replace("+", "plus")


VARIANTS: dict[str, Variant] = {v.key: v for v in [
    Variant(
        "V0", "Scalar gain sigmoid(mean ReLU(v)) added to the practised skill only: one number per "
        "interaction, so no skill can learn faster than another.",
        dict(_PRE_V3, gain_mode="scalar", accumulate="practised", bce_loss_weight=0.7,
             gains_lr_multiplier=1.0, gamma_mode="mean", enc1_query="next"),
        as_run_only=dict(accumulate="practised"),
        reported=dict(enc1_val_auc=0.6765, enc2_val_auc=0.4842, mastery_corr=-0.044,
                      gain_std=0.0015, gain_cv=0.0016),
        experiment="999787", source="seeds/000 Phase 0; seeds/001"),
    Variant(
        "V1", "Per-skill gains sigmoid(W v + b) from a Linear(d, C) projection; IM weight 30 %.",
        dict(_PRE_V3, gain_mode="per_skill", bce_loss_weight=0.7, gains_lr_multiplier=1.0,
             gamma_mode="mean", enc1_query="next", epochs=12),
        reported=dict(enc1_val_auc=0.6897, enc2_val_auc=0.5868, enc2_test_auc=0.5835,
                      mastery_corr=0.037, gain_mean=0.5884, gain_std=0.0015, gain_cv=0.0016,
                      response_ratio=1.00, checks_passed=2),
        experiment="995130", source="seeds/000 Phase 1; seeds/001 'Fix Verification Results'"),
    Variant(
        "V2", "IM weight 50 %, variance loss 0.1, 3x learning rate on gains_projection, 20 epochs, "
        "per-student gamma.",
        dict(_PRE_V3, gain_mode="per_skill", bce_loss_weight=0.5, variance_loss_weight=0.1,
             gains_lr_multiplier=3.0, gamma_mode="per_student", enc1_query="next", epochs=20),
        reported=dict(enc1_train_auc=0.7152, enc1_val_auc=0.6893, enc1_test_auc=0.6825,
                      enc2_train_auc=0.5977, enc2_val_auc=0.5969, enc2_test_auc=0.5931,
                      mastery_corr=0.113, mastery_corr_test=0.0379, gain_mean=0.5854,
                      gain_std=0.0017, gain_cv=0.0019, checks_passed=3),
        experiment="820618", source="seeds/000 Phase 2 and 'V2 Results'"),
    Variant(
        "V3", "Explicit differentiation: skill-contrastive loss 1.0, variance loss 2.0, beta spread "
        "initialisation N(2, 0.5) and beta-spread regulariser 0.5; Encoder 1 given qry=None.",
        dict(_V3, gain_mode="per_skill", bce_loss_weight=0.5, gains_lr_multiplier=3.0,
             gamma_mode="per_student", epochs=20),
        reported=dict(enc1_val_auc=0.6648, enc1_test_auc=0.6593, enc2_val_auc=0.5935,
                      enc2_test_auc=0.5904, mastery_corr=0.0389, gain_corr=0.0099,
                      gain_mean=0.588341, gain_std=0.001820, gain_cv=0.003094,
                      per_skill_cv=0.002061, response_ratio=1.00, beta_std=0.448,
                      best_epoch=4, epochs_run=14),
        experiment="970206", source="seeds/002; seeds/000 Phase 3"),
    Variant(
        "V3+", "V3 plus asymmetric gains_projection initialisation: bias N(0, 0.5), orthogonal "
        "weight x 0.3 (2 epochs).",
        dict(_V3PLUS, gain_mode="per_skill", bce_loss_weight=0.5, gains_lr_multiplier=3.0,
             gamma_mode="per_student", epochs=2),
        reported=dict(gain_std=0.001624, gain_mean=0.5929, per_skill_cv=0.001524,
                      init_cv=0.24),
        experiment="173298", source="seeds/000 Phase 4 and Phase 5 table"),
    Variant(
        "V3++bce0.1", "V3+ with BCE weight 0.1 (90 % IM), 5 epochs.",
        dict(_V3PLUS, gain_mode="per_skill", bce_loss_weight=0.1, gains_lr_multiplier=3.0,
             gamma_mode="per_student", epochs=5),
        reported=dict(gain_std=0.001657, per_skill_cv=0.001854),
        experiment="870831", source="seeds/000 Phase 5"),
    Variant(
        "V3++bce0.3", "V3+ with BCE weight 0.3 (70 % IM), 5 epochs.",
        dict(_V3PLUS, gain_mode="per_skill", bce_loss_weight=0.3, gains_lr_multiplier=3.0,
             gamma_mode="per_student", epochs=5),
        reported=dict(gain_std=0.001680, per_skill_cv=0.001844),
        experiment="389068", source="seeds/000 Phase 5"),
    Variant(
        "V4", "Semantic grounding: gains divided by a per-skill difficulty after the projection, "
        "times a per-student velocity.",
        dict(_V3PLUS, gain_mode="per_skill", bce_loss_weight=0.5, gains_lr_multiplier=3.0,
             gamma_mode="per_student", difficulty_mode="scale_after", use_student_velocity=True),
        as_run_only=dict(original_factory=True),
        reported=dict(gain_std=0.0061, gain_cv=0.0122, corr_inv_difficulty=0.57),
        experiment="884821", source="seeds/000 'V4 Results'"),
    Variant(
        "V5", "Difficulty as an input: gains_projection reads [v, difficulty]; velocity scaling kept.",
        dict(_V3PLUS, gain_mode="per_skill", bce_loss_weight=0.5, gains_lr_multiplier=3.0,
             gamma_mode="per_student", difficulty_mode="input", use_student_velocity=True),
        as_run_only=dict(original_factory=True),
        reported=dict(gain_std=0.0061, gain_cv=0.0122, corr_inv_difficulty=0.57),
        experiment="510011", source="seeds/000 'V5 Results'"),
]}


def variant_by_slug(name: str) -> Variant:
    for v in VARIANTS.values():
        if name in (v.key, v.slug):
            return v
    raise KeyError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")


def variant_settings(key: str, flavour: str) -> dict[str, Any]:
    """The config values that define `key` in `flavour` (before any user override)."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}; expected one of {sorted(FLAVOURS)}")
    v = variant_by_slug(key)
    out = {**v.settings}
    if flavour == "as_run":
        out.update(AS_RUN)
        out.update(v.as_run_only)
    else:
        out.update(AS_INTENDED)
        # V0's scalar gain keeps its own definition; the fixes are everything around it.
    out["variant"] = v.key
    return out


def make_config(key: str, flavour: str = "as_run", **overrides: Any) -> Config:
    """Config of a variant in a flavour, with user overrides applied last.

    Where the regularisers average over padding (V2-V5 as run) the batches are the original's padded
    ones, run packed (`batching="packed"`: the padded batch's losses and gradients, Encoder 1 on
    the real positions only), unless `batching` is given: length buckets would change those losses.
    """
    cfg = Config.from_dict({**variant_settings(key, flavour), **overrides})
    if cfg.regularisers_see_padding and "batching" not in overrides:
        cfg = dataclasses.replace(cfg, batching="packed")
    return cfg


def table() -> list[dict[str, Any]]:
    """One row per variant: key, story, experiment id and reported numbers (for printing)."""
    return [dict(variant=v.key, experiment=v.experiment, story=v.story,
                 reported=", ".join(f"{k}={x:g}" for k, x in v.reported.items()))
            for v in VARIANTS.values()]

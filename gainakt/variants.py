"""The variant table: V0-V5 of the seed documents, each as it was run and as it was meant.

A variant is data: a story, the settings that define it, and the numbers the seeds report for it.
`make_config("V1", "as_run", epochs=2)` builds its `Config`. The two flavours share the variant's own
settings and differ only in the audit switches:

* **as_run** reproduces what the original code did (double sigmoid in both losses, gains added to
  every skill, IM head on the current skill's mastery, padding inside the regularisers, per-split
  student index, mean gamma at evaluation, difficulty from the validation fold with the off-by-one,
  a velocity that reads future responses, and, for V4/V5, the factory that dropped their options);
* **as_intended** does what the documents say the model does.

Both flavours use the original's batches (64 windows in file order), run packed, so they differ
only by the audit switches. `NOTES` lists every behaviour, what each
flavour does and which switch controls it; `AS_RUN_ALTERNATIVES` holds the other ways a variant may
have run where the audit cannot tell (V3+/V3++ with the initialisation dropped, V0 before "Bug 0").
`metrics.CHECK_NOTES` says which trajectory checks can fail under which switches.

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
    unseen_student_gamma="own", zero_unmasked_inputs=True,
    # the original's batches: batch_size windows, each padded to seq_len, in file order, no shuffling;
    # run packed (the same losses and gradients as padded, tests/test_packing.py)
    batching="packed", shuffle=False,
)
AS_INTENDED: dict[str, Any] = dict(
    flavour="as_intended", loss_on="logits", accumulate="practised", im_target="next",
    mastery_index="next", mask_padding=True, difficulty_source="train", velocity_source="past",
    student_index="global", gamma_at_eval="per_student", enc1_query="next", original_factory=False,
    unseen_student_gamma="trained_mean", zero_unmasked_inputs=False,
    # the same batches as as run (not a bug switch): the flavours differ only by the switches
    batching="packed", shuffle=False,
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
    run_at: str = ""                         # when the seeds ran it (their experiment id's timestamp)

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
        experiment="999787", run_at="2025-11-17 13:15", source="seeds/000 Phase 0; seeds/001"),
    Variant(
        "V1", "Per-skill gains sigmoid(W v + b) from a Linear(d, C) projection; IM weight 30 %.",
        dict(_PRE_V3, gain_mode="per_skill", bce_loss_weight=0.7, gains_lr_multiplier=1.0,
             gamma_mode="mean", enc1_query="next", epochs=12),
        reported=dict(enc1_val_auc=0.6897, enc2_val_auc=0.5868, enc2_test_auc=0.5835,
                      mastery_corr=0.037, gain_mean=0.5884, gain_std=0.0015, gain_cv=0.0016,
                      response_ratio=1.00, checks_passed=2),
        experiment="995130", run_at="2025-11-17 15:43",
        source="seeds/000 Phase 1; seeds/001 'Fix Verification Results'"),
    Variant(
        "V2", "IM weight 50 %, variance loss 0.1, 3x learning rate on gains_projection, 20 epochs, "
        "per-student gamma.",
        dict(_PRE_V3, gain_mode="per_skill", bce_loss_weight=0.5, variance_loss_weight=0.1,
             gains_lr_multiplier=3.0, gamma_mode="per_student", enc1_query="next", epochs=20),
        reported=dict(enc1_train_auc=0.7152, enc1_val_auc=0.6893, enc1_test_auc=0.6825,
                      enc2_train_auc=0.5977, enc2_val_auc=0.5969, enc2_test_auc=0.5931,
                      mastery_corr=0.113, mastery_corr_test=0.0379, gain_mean=0.5854,
                      gain_std=0.0017, gain_cv=0.0019, checks_passed=3),
        experiment="820618", run_at="2025-11-17 16:23", source="seeds/000 Phase 2 and 'V2 Results'"),
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
        experiment="970206", run_at="2025-11-18 21:11", source="seeds/002; seeds/000 Phase 3"),
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


# Beyond the seeds (issue 19): models the original never had, so only the as-intended flavour
# exists. V6's own settings are the design hypothesis; each is a Config switch, ablated one at a time.
BEYOND: dict[str, Variant] = {v.key: v for v in [
    Variant(
        "V6", "Corrected GainAKT: the as-intended fixes (mastery from practice of that skill only, losses "
        "on logits, Encoder 1 and the read-out on the next skill, no padding or leakage in any loss) with "
        "V2's per-skill gains, IM weight and 3x gains learning rate but no differentiation losses, plus a "
        "per-skill intercept for difficulty, softplus gains not bounded in (0, 1), no read-out clamps, a "
        "learned temperature and a 50x learning rate for the learning-curve scalars (at the base rate "
        "they move by about 1e-4 per step: an intercept could not leave 0).",
        dict(_PRE_V3, gain_mode="per_skill", bce_loss_weight=0.5, gains_lr_multiplier=3.0,
             gamma_mode="per_student", enc1_query="next", epochs=30, gain_activation="softplus",
             skill_intercept=True, readout_clamps=False, learn_temperature=True, curve_lr_multiplier=50.0),
        experiment="(none: new)", source="issue 19"),
]}
ALL_VARIANTS: dict[str, Variant] = {**VARIANTS, **BEYOND}

# Other ways a variant may have run, where the audit cannot tell which one the seeds' run used.
# Each is a set of overrides (with a title for the run folder) on top of the as-run flavour:
# `make_config("V3+", "as_run", **AS_RUN_ALTERNATIVES["V3+"]["init_dropped"])`.
AS_RUN_ALTERNATIVES: dict[str, dict[str, dict[str, Any]]] = {
    **{k: {"init_dropped": dict(original_factory=True, title="init-dropped")}
       for k in ("V3+", "V3++bce0.1", "V3++bce0.3")},
    "V0": {"mastery_before_bug0": dict(mastery_index="next", title="mastery-before-bug0")},
}

# What the as-run flavour does and does not reproduce, one entry per behaviour, for the book
# (`pd.DataFrame(NOTES)`): behaviour, as_run, as_intended, switch (Config field(s), or "not
# switched"), source (section of docs/original_implementation.md, or seeds/).
NOTES: list[dict[str, str]] = [
    dict(behaviour="Batches", as_run="batch_size (64) windows per batch, each padded to seq_len, in file order, "
         "no shuffling (the original DataLoader); run packed into dense rows with the padded batch's losses and "
         "gradients (batching='packed'; 'padded' computes the padding too)",
         as_intended="the same batches: the flavours differ only by the switches. (Earlier book runs used token "
         "buckets in length strata here; benchmarks/ keep that path.)",
         switch="batching, shuffle", source="3.2"),
    dict(behaviour="Input at steps without a target", as_run="c[:-1] * mask: the last real interaction of a "
         "window (and padding) is fed as token 0 (skill 0, response 0); only positions after the last target "
         "see it, so only padded-position terms (variance/contrastive losses as run) change",
         as_intended="the real last interaction", switch="zero_unmasked_inputs", source="5.0"),
    dict(behaviour="Per-split student index", as_run="rank of the uid among the split's own uids sorted "
         "numerically (sorted(df.uid.unique()) on integer uids): valid/test students get other students' gammas",
         as_intended="one global index", switch="student_index", source="5.0, 7-H"),
    dict(behaviour="Gamma in the final evaluation", as_run="mean gamma on train, valid and test (the "
         "evaluator passed no student ids); per-epoch rows keep the trainer's per-student lookup",
         as_intended="per-student gamma", switch="gamma_at_eval", source="2.6, 5.1"),
    dict(behaviour="Students never seen in training", as_run="no such students: the per-split index points "
         "every valid/test student at a trained row (someone else's gamma). With a global index the "
         "original would keep an own row moved only by coupled L2 weight decay",
         as_intended="the mean of trained students' gammas; their rows get no weight decay and are left out "
         "of the learned-parameter statistics", switch="unseen_student_gamma", source="2.6; issue 17"),
    dict(behaviour="Gain read by the trajectory checks and the gain statistics", as_run="the legacy scalar "
         "sigmoid(mean ReLU(v)) (the trajectory tool's expected_gain)", as_intended="the per-skill gain of "
         "the practised skill; both are always reported, labelled (gain_scalar_* / gain_skill_*)",
         switch="not a switch: both computed", source="5.3, 7-A"),
    dict(behaviour="Rows of the gain statistics and checks", as_run="the trajectory CSV: the first 10 test "
         "windows with >= 10 steps (test_trajectory_sample, checks rows=trajectory_sample)",
         as_intended="the whole test split (test.*, checks rows=test_split); both reported",
         switch="n_trajectory_students, trajectory_min_steps", source="5.3"),
    dict(behaviour="Check 2 (Q-matrix)", as_run="skills listed per interaction: 1.0, always passes",
         as_intended="median number of skills with gain > 0.1 per interaction in [1, 3]; both reported",
         switch="not a switch: checks definitions=original / meaningful", source="5.3"),
    dict(behaviour="Response conditioning (check 6, response ratio)", as_run="r_{t+1} (shft_rseqs[t]): "
         "*_response_ratio_next", as_intended="r_t, the response the gain's input token encodes: "
         "*_response_ratio; both reported", switch="not a switch: both computed", source="5.3"),
    dict(behaviour="Per-skill statistics", as_run="every skill seen (the seeds: 'Skills observed: 66/100')",
         as_intended="skills with at least min_skill_count interactions (whole test split)",
         switch="min_skill_count", source="5.3; issue 17"),
    dict(behaviour="V3+/V3++ initialisation options", as_run="kept (default): the seeds describe the "
         "initialisation as run and the audit could not read the 01d0a96 factory; the alternative in "
         "which that factory dropped them like M5's is AS_RUN_ALTERNATIVES[...]['init_dropped'] "
         "(original_factory=True); run both", as_intended="kept", switch="original_factory", source="7-E"),
    dict(behaviour="V0/V1 hyper-parameters", as_run="the 903328b parameter_default.json (d_ff 512, dropout "
         "0.2, weight decay 1.7571e-5, beta 2.0, M_sat 0.8, gamma 1.0, offset 2.0) with the variant's own "
         "settings: the only committed defaults of the audited code; the seeds' 'Active Parameters' (d_ff "
         "256, dropout 0.1, weight decay 1e-4, beta 2.5, M_sat 0.7, offset 1.5) belong to an earlier "
         "baseline known only from the documents", as_intended="the same",
         switch="any Config field (override)", source="6.1"),
    dict(behaviour="V0 mastery index ('Bug 0')", as_run="the current skill q_t (after the 2025-11-17 fix); "
         "whether V0 (exp 999787) ran before the fix is unknown: before it the IM head read the target "
         "skill, AS_RUN_ALTERNATIVES['V0']['mastery_before_bug0'] (mastery_index=next)",
         as_intended="q_{t+1}", switch="mastery_index", source="2.8"),
    dict(behaviour="IM loss 0 between 0d2bb81 and fbd4ce8 (for-else indentation bug)", as_run="not "
         "reproduced: the IM path is always on", as_intended="IM path on", switch="not switched",
         source="2 (M2)"),
    dict(behaviour="Degenerate training accuracy (double sigmoid at evaluation: acc = positive rate)",
         as_run="not reproduced: accuracy thresholds real probabilities", as_intended="the same",
         switch="not switched", source="5.1"),
    dict(behaviour="Validation losses copied from the training losses in metrics_epoch.csv",
         as_run="not reproduced: validation losses are computed", as_intended="the same",
         switch="not switched", source="5.4"),
    dict(behaviour="V3+'s 'init CV 0.24' diagnostic (gains_projection on random N(0,1) input)",
         as_run="not computed", as_intended="not computed", switch="not switched", source="7-A"),
    dict(behaviour="V4/V5 corr_inv_difficulty (0.57)", as_run="not computed: the script is not in the "
         "repository", as_intended="not computed", switch="not switched", source="7-A caveat, 7-F"),
]


def variant_by_slug(name: str) -> Variant:
    for v in ALL_VARIANTS.values():
        if name in (v.key, v.slug):
            return v
    raise KeyError(f"unknown variant {name!r}; known: {', '.join(ALL_VARIANTS)}")


def variant_settings(key: str, flavour: str) -> dict[str, Any]:
    """The config values that define `key` in `flavour` (before any user override)."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}; expected one of {sorted(FLAVOURS)}")
    v = variant_by_slug(key)
    if v.key in BEYOND and flavour != "as_intended":
        raise ValueError(f"variant {v.key} is not one of the original's: it has no {flavour!r} flavour; "
                         "expected 'as_intended'")
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

    Both flavours train on the original's batches (64 windows in file order, no shuffling), run
    packed (`batching="packed"`: the padded batch's losses and gradients; Encoder 1, and Encoder 2
    unless the regularisers read padding, on the real positions only), so the flavours differ only
    by the audit switches. For the custom flavour, where the regularisers average over padding the
    batches are packed unless `batching` is given: length buckets would change those losses.
    """
    cfg = Config.from_dict({**variant_settings(key, flavour), **overrides})
    if cfg.regularisers_see_padding and "batching" not in overrides:
        cfg = dataclasses.replace(cfg, batching="packed")
    return cfg


def table() -> list[dict[str, Any]]:
    """One row per variant (the original's and those beyond it): key, story, experiment id and
    reported numbers (for printing)."""
    return [dict(variant=v.key, experiment=v.experiment, story=v.story,
                 reported=", ".join(f"{k}={x:g}" for k, x in v.reported.items()))
            for v in ALL_VARIANTS.values()]

"""The seeds' claims table: pending without enough seeds, a verdict from the numbers otherwise."""
from pathlib import Path

import pandas as pd

from gainakt.analysis import claims, runs
from gainakt.variants import make_config
from test_analysis import _write_run


def _runs(tmp_path, groups):
    for (v, f), (test, valid_extra, untrained) in groups.items():
        for seed in (42, 43, 44):
            cfg = make_config(v, f, dataset="assist2015", seed=seed)
            _write_run(tmp_path, f"{v}-{f}-small", cfg, test={**test, **valid_extra}, untrained=untrained)
    return runs.load_runs(tmp_path)


def test_pending_names_the_missing_runs(tmp_path):
    t = claims.claims_table(runs.load_runs(tmp_path))
    needs_runs = [bool(need) for _, need, _, _ in claims.CLAIMS]
    assert (t.verdict[needs_runs] == "pending").all()
    assert "V2 as run (0/3 seeds)" in t.evidence.iloc[0]
    # numbered from 1, as the book and the README cite them ("claim 5": the fifth of CLAIMS)
    assert list(t.index) == list(range(1, len(claims.CLAIMS) + 1)) and t.index.name == "claim no."
    assert t.loc[5, "claim"] == claims.CLAIMS[4][0]


def test_verdicts_follow_the_numbers(tmp_path):
    scalar = {"gain_scalar_std": 0.002, "gain_scalar_cv": 0.003}
    df = _runs(tmp_path, {
        ("V2", "as_run"): ({"enc2_auc": 0.59}, scalar, scalar),
        ("V3", "as_run"): ({"enc2_auc": 0.58}, scalar, scalar),
        ("V2", "as_intended"): ({"enc2_auc": 0.55}, {"gain_skill_per_skill_cv": 0.35}, {"gain_skill_per_skill_cv": 0.16}),
        ("V4", "as_run"): ({"enc2_auc": 0.58}, scalar, scalar),
    })
    t = claims.claims_table(df).set_index("where")
    assert t.verdict.iloc[0].startswith("refuted as evidence")
    assert t.verdict.iloc[1].startswith("refuted: without the original's bugs")
    assert t.verdict.iloc[2].startswith("refuted: V4 as run is V3 as run")


def _v3_runs(tmp_path, gains_of_seed):
    import numpy as np
    import pandas as pd
    for f in ("as_run", "as_intended"):
        for seed in (42, 43, 44):
            cfg = make_config("V3", f, dataset="assist2015", seed=seed)
            d = _write_run(tmp_path, f"V3-{f}-small", cfg, test={"enc2_auc": 0.58})
            g = gains_of_seed(np.random.default_rng(seed))
            pd.DataFrame({"skill": range(len(g)), "n": 50, "gain_own_mean": g}).to_csv(d / "skill_gains.csv", index=False)
    return runs.load_runs(tmp_path)


def test_v3_differentiation_claim(tmp_path):
    # each seed sends a random half of the skills to 0 and the rest to 1: saturated and arbitrary
    split = claims.claims_table(_v3_runs(tmp_path / "a", lambda r: (r.permutation(40) < 20).astype(float)))
    row = split.iloc[3]
    assert row.verdict.startswith("refuted as stated") and "ceiling 0.25" in row.evidence
    assert "the side each skill lands on" not in row.evidence      # no untrained tables: not asked
    # the untrained model's gain to each skill already holds the split: decided at initialisation
    r = _v3_runs(tmp_path / "d", lambda r: (r.permutation(40) < 20).astype(float))
    for d in r.dir:
        d = Path(d)
        t = pd.read_csv(d / "skill_gains.csv").assign(accuracy=0.7)
        t.assign(gain_to_skill_mean=0.5 + 0.01 * t.gain_own_mean).to_csv(d / "skill_gains_untrained.csv", index=False)
    row = claims.claims_table(r).iloc[3]
    assert "the side each skill lands on decided before training (mean AUC 1.00)" in row.evidence
    assert row.verdict.endswith("the split records the initialisation, not the skills")
    near_constant = claims.claims_table(_v3_runs(tmp_path / "b", lambda r: 0.5 + 0.001 * r.standard_normal(40)))
    assert near_constant.iloc[3].verdict.startswith("confirmed")
    assert claims.claims_table(runs.load_runs(tmp_path / "c")).iloc[3].verdict == "pending"


def test_v3plus_collapse_claim_compares_the_two_tensors(tmp_path):
    # the per-skill gains start at CV 0.24 and end differentiated; the legacy scalar is flat throughout
    per_skill = ({"enc2_auc": 0.52}, {"gain_skill_per_skill_cv": 0.98, "gain_scalar_per_skill_cv": 0.0015},
                 {"gain_skill_per_skill_cv": 0.24, "gain_scalar_per_skill_cv": 0.001})
    t = claims.claims_table(_runs(tmp_path / "a", {("V3+", "as_run"): per_skill, ("V3+", "as_intended"): per_skill}))
    assert t.iloc[4].verdict.startswith("refuted: the two numbers are of two different tensors")
    assert "0.240 untrained → 0.980 trained" in t.iloc[4].evidence
    # had the per-skill gains themselves collapsed, the claim stands
    collapsed = (per_skill[0], {**per_skill[1], "gain_skill_per_skill_cv": 0.002}, per_skill[2])
    t = claims.claims_table(_runs(tmp_path / "b", {("V3+", "as_run"): collapsed, ("V3+", "as_intended"): collapsed}))
    assert t.iloc[4].verdict.startswith("not refuted")
    assert claims.claims_table(runs.load_runs(tmp_path / "c")).iloc[4].verdict == "pending"


def test_v4_compensation_claim_reads_the_correlation_with_inverse_difficulty(tmp_path):
    df = _runs(tmp_path, {("V4", "as_intended"): ({"enc2_auc": 0.55}, {"gain_skill_per_skill_cv": 0.3},
                                                  {"gain_skill_per_skill_cv": 0.2})})
    kept = df.assign(test_corr_inv_difficulty_skill=[0.66, 0.68, 0.67],
                     untrained_corr_inv_difficulty_skill=[0.70, 0.71, 0.72])
    row = claims.claims_table(kept).iloc[5]
    assert row.verdict.startswith("refuted: where the difficulty does reach the model")
    assert "0.67 trained vs 0.71 untrained" in row.evidence
    cancelled = kept.assign(test_corr_inv_difficulty_skill=[0.05, 0.1, 0.0])
    assert claims.claims_table(cancelled).iloc[5].verdict.startswith("confirmed")
    assert claims.claims_table(runs.load_runs(tmp_path / "none")).iloc[5].verdict == "pending"


def test_v5_difficulty_input_is_a_bias(tmp_path):
    import torch
    state = torch.random.get_rng_state()
    row = claims.claims_table(runs.load_runs(tmp_path)).iloc[6]   # needs no runs: shown on the model
    assert row.verdict.startswith("refuted as an explanation") and "float rounding" in row.evidence
    assert torch.equal(torch.random.get_rng_state(), state)

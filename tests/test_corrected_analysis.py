"""gainakt.analysis.corrected, designs and targets on made-up run folders whose answer is known."""
import numpy as np
import pandas as pd
import pytest

from gainakt.analysis.corrected import design_table
from gainakt.analysis.designs import configurations


def _run(tmp_path, variant, label, seed, gains, untrained, acc=0.7):
    d = tmp_path / f"{variant}-{label}" / f"seed{seed}"
    d.mkdir(parents=True)
    C = len(gains)
    base = {"skill": np.arange(C), "n": np.full(C, 50), "accuracy": np.linspace(0.4, 0.9, C)}
    pd.DataFrame({**base, "gain_own_mean": gains}).to_csv(d / "skill_gains.csv", index=False)
    pd.DataFrame({**base, "gain_own_mean": untrained}).to_csv(d / "skill_gains_untrained.csv", index=False)
    return {"dataset": "assist2015", "variant": variant, "flavour": "as_intended", "label": label, "seed": seed,
            "dir": str(d), "stopping": "early stop", "test_enc1_auc": acc, "test_enc2_auc": acc - 0.1}


def test_design_table_rows_agreement_and_external_validity(tmp_path):
    rng = np.random.default_rng(0)
    C = 12
    learn = np.linspace(0.05, 0.5, C)
    rows = []
    for seed in (42, 43, 44):
        noise = rng.standard_normal(C)
        # V6 tracks the BKT learn rate in every seed; V2's gains are seed noise
        rows.append(_run(tmp_path, "V6", "small", seed, learn + 0.01 * noise, rng.standard_normal(C)))
        rows.append(_run(tmp_path, "V2", "small", seed, noise, rng.standard_normal(C)))
        rows.append(_run(tmp_path, "V6", "small-v6-sigmoid", seed, learn[::-1] + 0.01 * noise, rng.standard_normal(C)))
    runs = pd.DataFrame(rows)
    assert configurations(runs) == [("V2", "as_intended", "small"), ("V6", "as_intended", "small"),
                                    ("V6", "as_intended", "small-v6-sigmoid")]
    ref = pd.DataFrame({"skill": np.arange(C), "bkt_learn": learn, "pfa_success": learn ** 2,
                        "train_accuracy": rng.uniform(0.5, 0.9, C)})
    t = design_table(runs, ref).set_index(["variant", "switch"])
    v6 = t.loc[("V6", "")]
    assert v6.seeds == 3 and v6["E1 test AUC"] == "0.700 ± 0.000"
    assert float(v6["agreement"].split(" ")[0]) > 0.9
    assert float(v6["rho BKT learn rate"].split(" ")[0]) > 0.9
    assert float(t.loc[("V6", "sigmoid"), "rho BKT learn rate"].split(" ")[0]) < -0.9
    assert abs(float(t.loc[("V2", ""), "agreement"].split(" ")[0])) < 0.5
    assert {"partial rho BKT learn | accuracy", "partial rho PFA success | accuracy"} <= set(t.columns)
    assert float(v6["partial rho PFA success | accuracy"].split(" ")[0]) > 0.8   # accuracy is noise here
    # the untrained models' gains are noise: their Spearman with BKT's learn rate is the floor beside it
    assert abs(float(v6["rho BKT learn rate, untrained"].split(" ")[0])) < 0.8
    assert "rho PFA success coefficient, untrained" in t.columns and "rho accuracy (training folds), untrained" not in t
    assert design_table(runs.iloc[:0], ref).empty


def test_design_path_reads_the_ablation_rows_of_the_matrix():
    from gainakt.analysis.corrected import design_path
    t = design_path().set_index("ablation")
    # every ablation row changes one V6 setting, back to the original's value or (tanh, skill_gain,
    # shared_curve, shared_gamma) beyond it; the design steps change two or three at once
    steps = {"shared_gamma_signed": {"gamma_mode", "gain_activation"}, "shared_gamma_curve": {"gamma_mode", "shared_curve"},
             "shared_gamma_curve_linear": {"gamma_mode", "shared_curve", "curve_form"},
             "shared_gamma_curve_signed": {"gamma_mode", "shared_curve", "gain_activation"},
             "shared_gamma_curve_nowd": {"gamma_mode", "shared_curve", "weight_decay"},
             "shared_gamma_curve_curvewd0": {"gamma_mode", "shared_curve", "curve_weight_decay"},
             "shared_gamma_curve_linear_curvewd0": {"gamma_mode", "shared_curve", "curve_form", "curve_weight_decay"},
             # gains_impl (how the gains are computed, for speed) is not a design change
             "shared_gamma_curve_linear_curvewd0_gammapos": {"gamma_mode", "shared_curve", "curve_form",
                                                             "curve_weight_decay", "gamma_positive"}}
    assert set(t.index) == {"sigmoid", "signed", "no_intercept", "clamps", "fixed_temperature", "curve_lr1",
                            "skill_gain", "shared_curve", "shared_gamma", "nowd", *steps}
    for step, fields in steps.items():
        assert set(t.loc[step, "field"]) == fields
    t = t.drop(index=list(steps))
    assert t.index.is_unique
    assert t.loc["curve_lr1", "field"] == "curve_lr_multiplier" and t.loc["curve_lr1", "V6"] == 50.0
    assert t.loc["curve_lr1", "ablation value"] == t.loc["curve_lr1", "original"] == 1.0
    assert t.loc["signed", "ablation value"] == "tanh" and t.loc["signed", "original"] == "sigmoid"
    assert t.loc["skill_gain", "field"] == "gain_source" and t.loc["skill_gain", "V6"] == "encoder"
    assert t.loc["shared_curve", "field"] == "shared_curve" and t.loc["shared_curve", "ablation value"] is True
    assert t.loc["shared_gamma", "field"] == "gamma_mode" and t.loc["shared_gamma", "ablation value"] == "mean"
    assert all(t["what it is"].str.len() > 10)


def test_checks_and_targets(tmp_path):
    from gainakt.analysis.corrected import checks_table
    from gainakt.analysis.targets import targets_table
    rng = np.random.default_rng(1)
    C = 12
    learn = np.linspace(0.05, 0.5, C)
    rows = []
    for seed in (42, 43, 44):
        r = _run(tmp_path, "V6", "small", seed, learn + 0.01 * rng.standard_normal(C), rng.standard_normal(C), acc=0.72)
        r.update({"valid_gain_skill_per_skill_cv": 0.5 + 0.01 * seed, "untrained_gain_skill_per_skill_cv": 0.1})
        rows.append(r)
    for seed in (42, 43):   # V1 as intended: only 2 seeds, so its target is pending
        rows.append(_run(tmp_path, "V1", "small", seed, learn, learn, acc=0.71))
    runs = pd.DataFrame(rows)
    ck = checks_table(runs).set_index("variant")
    assert ck.loc["V6", "per-skill CV of gains (untrained)"].startswith("0.1000 ± 0.0000 (n=3)")
    assert ck.loc["V6", "per-skill CV of gains"].startswith("0.9300")

    base = pd.DataFrame({"dataset": ["assist2015"] * 3, "model": ["pfa", "bkt", "dkt"],
                         "test_auc_mean": [0.68, 0.70, 0.72]})
    gt = pd.DataFrame({"variant": "V6", "flavour": "as_intended", "model": "trained", "condition": "moderate",
                       "main": True, "learn_rate": [0.85, 0.9, 0.95], "partial": [0.5, 0.55, 0.6]})
    t = targets_table(runs, base, gt)
    e2 = t[t.target.str.startswith("Encoder 2")].iloc[0]
    assert "(BKT)" in e2.target and e2.threshold == "0.700" and e2.status == "missed by 0.080"   # 0.62 < 0.70
    e1 = t[t.target.str.startswith("Encoder 1")].iloc[0]
    assert e1.threshold == "pending (V1 as intended: 2/3 seeds)" and e1.status == "pending (no reference)"
    assert t[t.target.str.startswith("cross-seed")].status.iloc[0] == "met"
    sims = t[t.target.str.startswith("simulated")].status.tolist()
    assert sims == ["met", "missed by 0.050"]
    # no ground truth and no baselines yet: pending, not an error
    t0 = targets_table(runs, None, None)
    assert t0.status.str.startswith("pending").sum() == 4
    # no run at all (a fresh clone before the matrix): every target pending, not an error
    assert targets_table(pd.DataFrame(), None, None).status.str.startswith("pending").all()
    # an ablation row's targets: its own simulated runs (at the main runs' size), V1 still the replication's
    gt_ab = pd.concat([gt.assign(ablation="", students=1500),
                       gt.assign(main=False, ablation="shared_curve", students=1500, partial=[0.7, 0.7, 0.7]),
                       gt.assign(main=False, ablation="shared_curve", students=6000, partial=[0.1, 0.1, 0.1])])
    ta = targets_table(runs, base, gt_ab, label="small-v6-shared_curve", ablation="shared_curve")
    sims = ta[ta.target.str.startswith("simulated")]
    assert sims.status.tolist() == ["met", "met", "met", "missed by 0.500"]   # 1,500 students, then 6,000
    assert sims.target.iloc[2].startswith("simulated learners, moderate spread, 6,000 students: Spearman")
    assert sims["where"].tolist() == ["Table 6", "Table 6", "Table 5", "Table 5"]
    # the classical models on the same data: a target they miss too says so; one they meet does not
    ceil = {None: {"AFM learn ~ rate": 0.42, "AFM learn ~ rate | accuracy": 0.54, "BKT learn ~ rate": -0.01},
            6000: {"AFM learn ~ rate": 0.62, "AFM learn ~ rate | accuracy": 0.74}}
    tc = targets_table(runs, base, gt_ab.assign(learn_rate=0.3), label="small-v6-shared_curve",
                       ablation="shared_curve", ceilings=ceil)
    sims = tc[tc.target.str.startswith("simulated")].set_index("target")
    assert sims.classical.iloc[0] == "AFM 0.420, BKT -0.010" and sims.classical.iloc[1] == "AFM 0.540"
    assert sims.status.iloc[0] == "missed by 0.500; AFM misses it too (0.420, 0.120 above this design)"
    tc = targets_table(runs, base, gt_ab.assign(learn_rate=0.45), label="small-v6-shared_curve",
                       ablation="shared_curve", ceilings=ceil)
    assert tc[tc.target.str.startswith("simulated")].status.iloc[0] == (
        "missed by 0.350; reaches the classical models, which miss it too (AFM 0.420)")
    assert sims.status.iloc[3] == "missed by 0.500"   # AFM reaches 0.74 ≥ 0.6 at 6,000 students
    assert tc[tc.target.str.startswith("Encoder")].classical.eq("").all()
    # PFA's success coefficient counts as a classical model too, and can be the better one
    ceil[None]["PFA success ~ rate"] = 0.6
    tc = targets_table(runs, base, gt_ab.assign(learn_rate=0.3), label="small-v6-shared_curve",
                       ablation="shared_curve", ceilings=ceil)
    sims = tc[tc.target.str.startswith("simulated")]
    assert sims.classical.iloc[0] == "AFM 0.420, BKT -0.010, PFA 0.600"
    assert sims.status.iloc[0] == "missed by 0.500; PFA misses it too (0.600, 0.300 above this design)"
    assert ta[ta.target.str.startswith("Encoder 2")].status.iloc[0] == "pending (0/3 seeds)"


def test_difficulty_table_says_where_difficulty_lives(tmp_path):
    from gainakt.analysis.corrected import difficulty_table
    rng = np.random.default_rng(2)
    C = 15
    acc, learn = np.linspace(0.3, 0.9, C), rng.uniform(0.05, 0.5, C)
    rows = []
    for seed in (42, 43, 44):
        r = _run(tmp_path, "V6", "small", seed, learn + 0.001 * rng.standard_normal(C), rng.standard_normal(C))
        t = pd.read_csv(f"{r['dir']}/skill_gains.csv")
        t.assign(intercept=acc * 2 - 1, rate_own_mean=-learn).to_csv(f"{r['dir']}/skill_gains.csv", index=False)
        rows.append(r)
    ref = pd.DataFrame({"skill": np.arange(C), "bkt_learn": learn, "train_accuracy": acc})
    t = difficulty_table(pd.DataFrame(rows), ref).set_index("quantity")
    assert list(t.index) == ["mean gain", "intercept", "beta x gain"]   # no beta column in these tables
    assert (t.seeds == 3).all() and t.loc["intercept", "accuracy"] == "1.000 ± 0.000"
    assert float(t.loc["mean gain", "BKT learn"].split(" ")[0]) > 0.99
    assert t.loc["beta x gain", "BKT learn"] == "-1.000 ± 0.000" and t.loc["mean gain", "attempts"] == ""
    assert difficulty_table(pd.DataFrame(rows), None).empty


def test_gt_ablation_effects_and_statements():
    from gainakt.analysis.corrected import gt_ablation_effects, gt_ablation_statements
    rows = []
    for seed in range(3):
        for ab, partial in (("", 0.0 + 0.01 * seed), ("shared_curve", 0.5 + 0.01 * seed), ("noisy", 0.3 * (seed - 1))):
            for model in ("trained", "untrained"):
                rows.append(dict(condition="moderate", students=1500, main=ab == "", ablation=ab, variant="V6",
                                 flavour="as_intended", seed=seed, model=model, learn_rate=partial / 2,
                                 partial=partial if model == "trained" else -1.0))
    rows.append(dict(rows[0], students=375, main=False, ablation="", partial=9.0))   # the scale check: left out
    eff = gt_ablation_effects(pd.DataFrame(rows)).set_index("switch")
    assert list(eff.index) == ["(V6 itself)", "noisy", "shared_curve"]
    assert eff.loc["shared_curve", "change partial"] == pytest.approx(0.5)
    assert eff.loc["shared_curve", "t partial"] > 2 and abs(eff.loc["noisy", "t partial"]) < 2
    s = gt_ablation_statements(eff.reset_index(), {"moderate": {"AFM learn ~ rate | accuracy": 0.54, "AFM learn ~ rate": 0.42}})
    assert len(s) == 2 and "beyond seed noise" in s[1] and "within seed noise" in s[0] and "AFM on the same data: partial +0.54" in s[1]
    assert "+0.01 → +0.51" in s[1]


def test_claim_verdict():
    from gainakt.analysis.targets import Status, claim_verdict, scorecard, short_target

    def table(agree, sim):
        return pd.DataFrame({"target": ["Encoder 2 test AUC ≥ best of PFA and BKT", "cross-seed agreement ≥ 0.8",
                                        "simulated learners: Spearman ≥ 0.8"],
                             "status": [Status.missed(0.06), agree, sim]})
    met, miss = Status.met(), Status.missed(0.8)
    assert claim_verdict([("V6", table(met, Status.pending("1/3 seeds")))]).startswith("**Pending.**")
    v = claim_verdict([("V6", table(met, miss)), ("step", table(met, Status.pending("0/3 seeds")))])
    assert v.startswith("**Not refuted as a claim about learning rates.**") and "The closest, V6, meets 1 of 2" in v and "Still pending: step." in v
    assert "it misses Spearman ≥ 0.8 (missed by 0.800)" in v
    assert v.endswith("Whether those differences are learning rates is the question above.")
    assert "**On uniformity alone: refuted.** V6, step learn" in v
    v = claim_verdict([("V6", table(met, miss)), ("step", table(met, met))])
    assert v.startswith("**Refuted.** step,")   # the prediction target does not decide the claim
    # every miss one the classical models miss too on the same data: not decided at that scale
    reaches = Status.missed(0.35).beside_classical("AFM", 0.42, 0.45)
    assert reaches == "missed by 0.350; reaches the classical models, which miss it too (AFM 0.420)"
    v = claim_verdict([("V6", table(met, miss)), ("step", table(met, reaches))])
    assert v.startswith("**Not decided at this scale.** step meets") and "(Table 8e)" in v
    short = Status.missed(0.5).beside_classical("AFM", 0.42, 0.30)
    assert short == "missed by 0.500; AFM misses it too (0.420, 0.120 above this design)"
    below = table(met, short)
    v = claim_verdict([("step", below)])
    assert v.startswith("**Not refuted as a claim about learning rates.**")   # below the classical models on the same data: a miss
    # the scorecard: one row per design, one column per deciding target, the count met
    sc = scorecard([("V6", table(met, miss)), ("step", below.assign(value=["0.6", "0.9", "0.30 ± 0.05"])),
                    ("at", table(met, reaches))])
    assert list(sc.columns) == ["design", "agreement ≥ 0.8", "Spearman ≥ 0.8", "met"]
    assert sc.met.tolist() == ["1 of 2", "1 of 2", "1 of 2"]
    assert sc.loc[1, "Spearman ≥ 0.8"] == "0.30 ± 0.05 (missed by 0.500; AFM 0.420)"
    assert sc.loc[2, "Spearman ≥ 0.8"] == "missed by 0.350; = classical"
    # a tie on targets met goes to the smaller summed shortfall
    v = claim_verdict([("V6", table(met, miss)), ("step", below)])
    assert "The closest, step, meets 1 of 2" in v
    assert short_target("simulated learners, moderate spread, 375 students: partial Spearman given accuracy ≥ 0.6") \
        == "moderate spread, 375 students: partial ≥ 0.6"


def test_agreement_of_gains_behind_a_flat_curve_is_void(tmp_path):
    """A design whose learning curve is off in every seed: its cross-seed agreement is not evidence
    (the gains never reach the prediction), whatever its value; the scorecard and the verdict say so."""
    from gainakt.analysis.targets import CURVE_OFF, claim_verdict, scorecard, targets_table
    rows = []
    for seed in (42, 43, 44):
        for label, beta in (("small", 1.0), ("small-v6-shared_gamma_curve", 0.0)):
            r = _run(tmp_path, "V6", label, seed, np.arange(30.0), np.random.default_rng(seed).random(30))
            rows.append({**r, "param_beta_mean": beta, "param_gamma_mean": 0.1, "param_msat_mean": 0.8,
                         "param_offset": 0.0, "param_temperature": 0.5})
    runs = pd.DataFrame(rows)
    agree = lambda tt: tt.set_index("target").loc["cross-seed agreement of per-skill mean gains ≥ 0.8", "status"]
    assert agree(targets_table(runs)) == "met"       # identical per-skill gains in every seed
    flat = targets_table(runs, label="small-v6-shared_gamma_curve")
    assert agree(flat) == CURVE_OFF
    assert scorecard([("flat", flat)]).loc[0, "agreement ≥ 0.8"].endswith("(void: curve off)")
    v = claim_verdict([("flat", flat[~flat.target.str.startswith("simulated")])])   # no simulated runs here
    assert v.startswith("**Not refuted as a claim about learning rates.**") and "agreement ≥ 0.8 (void: its learning curve is off)" in v
    assert v.endswith("no finished design's gains agree across seeds at the target yet.")   # void is not met


def test_dataset_summary_reports_the_closing_notes_rows_on_every_dataset(tmp_path):
    """Table 9b: V2 and V3 in both flavours, V6 and the closest design, one row per dataset with runs,
    grouped by configuration in SUMMARY_CONFIGS' order; configurations outside it are left out."""
    from gainakt.analysis.corrected import SUMMARY_CONFIGS, dataset_summary
    C, rng = 8, np.random.default_rng(3)
    learn = np.linspace(0.05, 0.5, C)
    ref = pd.DataFrame({"skill": np.arange(C), "bkt_learn": learn, "pfa_success": learn,
                        "train_accuracy": rng.permutation(C) / C})
    per = {}
    for ds in ("assist2015", "statics2011"):
        rows = []
        for seed in (42, 43, 44):
            for v, fl, label in (("V6", "as_intended", "small"), ("V2", "as_run", "small"),
                                 ("V6", "as_intended", "small-v6-sigmoid")):
                r = _run(tmp_path / ds, v, label, seed, learn, rng.standard_normal(C))
                rows.append({**r, "dataset": ds, "flavour": fl})
        per[ds] = (pd.DataFrame(rows), ref if ds == "assist2015" else None)
    t = dataset_summary(per)
    assert list(zip(t.variant, t.flavour, t.dataset)) == [("V2", "as_run", "assist2015"), ("V2", "as_run", "statics2011"),
                                                          ("V6", "as_intended", "assist2015"), ("V6", "as_intended", "statics2011")]
    assert ("V6", "as_intended", "small-v6-sigmoid") not in SUMMARY_CONFIGS
    assert t.loc[2, "rho BKT learn rate"] == "1.000 ± 0.000" and pd.isna(t.loc[3, "rho BKT learn rate"])
    assert (t.seeds == 3).all() and t.loc[0, "E2 test AUC"] == "0.600 ± 0.000"
    assert dataset_summary({"assist2015": (per["assist2015"][0].iloc[:0], ref)}).empty


def test_checks_count_falls_and_leave_ratios_of_signed_gains_out(tmp_path):
    """Table 3: monotonicity violations are whole (step, skill) cell counts with their denominator; the
    CV and the correct/incorrect ratio, which divide by a mean gain near 0, are n/a for tanh gains."""
    from gainakt.analysis import corrected as K
    NOT_APPLICABLE, checks_table, monotonicity_cells = K.NOT_APPLICABLE, K.checks_table, K.monotonicity_cells
    rows = []
    for seed in (42, 43, 44):
        for label, act in (("small", "softplus"), ("small-v6-signed", "tanh")):
            r = _run(tmp_path, "V6", label, seed, np.ones(5), np.ones(5))
            rows.append({**r, "config": {"gain_activation": act}, "valid_interactions": 1000,
                         "valid_gain_skill_per_skill_cv": 0.3, "valid_gain_skill_response_ratio": -7.0,
                         "untrained_gain_skill_per_skill_cv": 26.0,
                         "valid_monotonicity_violations": 0.0 if act == "softplus" else 8773.0 + seed})
    runs = pd.DataFrame(rows)
    ck = checks_table(runs).set_index("switch")
    assert ck.loc["", "monotonicity violations (cells)"] == "0 ± 0 (n=3)"
    assert ck.loc["signed", "monotonicity violations (cells)"] == "8816 ± 1 (n=3)"
    assert ck.loc["", "per-skill CV of gains"].startswith("0.3000")
    for col in ("per-skill CV of gains", "per-skill CV of gains (untrained)", "correct/incorrect ratio",
                "correct/incorrect ratio (untrained)"):
        assert ck.loc["signed", col] == NOT_APPLICABLE
    assert monotonicity_cells(runs) == (1000, 5)
    assert monotonicity_cells(runs.drop(columns="valid_interactions")) is None


def test_design_table_training_and_undefined_references(tmp_path):
    """How the runs ended: one entry per way with its count; a reference with no value for any skill
    (statics2011's learning-curve slope) has no column, and `undefined_references` names it."""
    from gainakt.analysis.corrected import undefined_references
    from gainakt.analysis.designs import stopping_summary
    C = 6
    rows = [{**_run(tmp_path, "V6", "small", seed, np.arange(C) + 0.1 * seed, np.ones(C)), "stopping": how}
            for seed, how in ((42, "budget, plateau"), (43, "budget, still improving"), (44, "budget, plateau"))]
    ref = pd.DataFrame({"skill": np.arange(C), "bkt_learn": np.arange(C), "learning_slope": np.nan,
                        "train_accuracy": np.linspace(0.3, 0.9, C)})
    t = design_table(pd.DataFrame(rows), ref).iloc[0]
    assert t.training == "budget, plateau (2 of 3); budget, still improving (1 of 3)"
    assert "rho BKT learn rate" in t and "rho learning-curve slope" not in t
    assert undefined_references(ref) == ["learning-curve slope"] and undefined_references(None) == []
    assert stopping_summary(["early stop"] * 3) == "early stop (3 of 3)" and stopping_summary([]) == ""


def test_difficulty_table_leaves_out_beta_where_it_ranks_nothing(tmp_path):
    """Table 10: β and β x gain say nothing where the curve is off (β γ about 0) or β is one number for
    every skill (the shared curve: β x gain is then the mean gain again); those rows are left out."""
    from gainakt.analysis.corrected import difficulty_table
    C = 8
    ref = pd.DataFrame({"skill": np.arange(C), "bkt_learn": np.arange(C), "train_accuracy": np.linspace(0.3, 0.9, C)})
    rows = []
    for seed in (42, 43, 44):
        for label, beta, gamma in (("small", np.linspace(0.5, 1.5, C), 0.5), ("small-v6-shared_curve", np.full(C, 0.7), 0.5),
                                   ("small-v6-off", np.linspace(0.5, 1.5, C), 0.0)):
            r = _run(tmp_path, "V6", label, seed, np.arange(C) * 0.1, np.ones(C))
            t = pd.read_csv(f"{r['dir']}/skill_gains.csv")
            t.assign(beta=beta, rate_own_mean=beta * t.gain_own_mean).to_csv(f"{r['dir']}/skill_gains.csv", index=False)
            rows.append({**r, "param_beta_mean": beta.mean(), "param_gamma_mean": gamma, "param_msat_mean": 0.8,
                         "param_offset": 0.0, "param_temperature": 0.5})
    t = difficulty_table(pd.DataFrame(rows), ref)
    q = t.groupby("switch").quantity.apply(list).to_dict()
    assert q == {"": ["mean gain", "beta", "beta x gain"], "shared_curve": ["mean gain"], "off": ["mean gain"]}

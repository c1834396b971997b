"""gainakt.analysis.readout: what moves Encoder 2's prediction (Table 2b) and the train - test gap
(Table 2c), on made-up run folders whose answer is known."""
import numpy as np
import pandas as pd

from test_corrected_analysis import _run


def test_readout_table_and_statement(tmp_path):
    """Table 2b: the classical rows from a baseline table and skill_params.csv, V6's rows from runs,
    'a failure can lower it' from the gain activation; the sentence says signed gains have no run, or
    are pending below 3 seeds, and then compares them with V6."""
    from gainakt.analysis.readout import readout_statement, readout_table
    base = pd.DataFrame({"dataset": "assist2015", "model": ["pfa", "pfa_monotone", "afm", "bkt"],
                         "seeds": 1, "test_auc_mean": [0.68, 0.65, 0.645, 0.70]})
    d = tmp_path / "assist2015" / "pfa-baseline" / "seed0"
    d.mkdir(parents=True)
    pd.DataFrame({"skill": range(4), "pfa_failure": [-0.2, -0.1, 0.05, -0.3]}).to_csv(d / "skill_params.csv", index=False)
    rows = []
    for seed, e2 in zip((42, 43, 44), (0.63, 0.64, 0.635)):
        r = _run(tmp_path, "V6", "small", seed, np.ones(3), np.ones(3))
        rows.append({**r, "test_enc2_auc": e2, "valid_enc2_auc": 0.65, "config": {"gain_activation": "softplus"},
                     "valid_monotonicity_violations": 0.0})
    runs = pd.DataFrame(rows)
    t = readout_table(runs, base, tmp_path).set_index("model")
    assert t.loc["pfa", "failures"] == "75% of skills negative" and t.loc["pfa", "a failure can lower it"] == "yes"
    assert t.loc["V6 (softplus gains)", "a failure can lower it"] == "no"
    assert t.loc["V6 (softplus gains)", "failures"] == "mastery fell in 0 ± 0 (step, skill) cells"
    assert t.loc["V6 (softplus gains)", "test AUC"] == "0.6350 ± 0.0050" and t.loc["V6 (softplus gains)", "seeds"] == 3
    s = readout_statement(runs, base)
    assert "costs it 0.030" in s and "0.635 ± 0.005" in s and "Signed gains have no run on assist2015." in s
    one = {**rows[0], "label": "small-v6-signed", "config": {"gain_activation": "tanh"}}
    assert "Signed gains: 1 of 3 seeds, pending." in readout_statement(pd.concat([runs, pd.DataFrame([one])]), base)
    signed = [{**r, "label": "small-v6-signed", "test_enc2_auc": r["test_enc2_auc"] + 0.03, "valid_enc2_auc": 0.67,
               "config": {"gain_activation": "tanh"}} for r in rows]
    runs = pd.concat([runs, pd.DataFrame(signed)], ignore_index=True)
    assert readout_table(runs, base, tmp_path).set_index("model").loc["V6, signed gains (tanh)", "a failure can lower it"] == "yes"
    s = readout_statement(runs, base)
    assert "With signed gains it reaches 0.665 ± 0.005" in s
    assert ("best V6 configuration on Encoder 2 with 3 seeds or more, chosen by validation AUC: V6, signed gains "
            "(tanh), test 0.665 ± 0.005 (BKT 0.700: missed by 0.035)") in s
    # β is not bounded: where a skill's β is negative, practice lowers mastery under positive gains
    for r in rows:
        t = pd.read_csv(f"{r['dir']}/skill_gains.csv")
        t.assign(beta=[0.5, -0.1, 0.3]).to_csv(f"{r['dir']}/skill_gains.csv", index=False)
    t = readout_table(runs, base, tmp_path).set_index("model")
    assert t.loc["V6 (softplus gains)", "a failure can lower it"] == (
        "no; practice lowers it where a learned β or M_sat is negative (1 ± 0 skills)")
    # no fall was counted in these runs: the sentence says so instead of naming the negative β
    assert ("whose mastery a failure cannot lower (it fell in no (step, skill) cell of the validation split), "
            "reaches 0.635") in readout_statement(runs, base)
    falls = runs.assign(valid_monotonicity_violations=12.0)
    assert ("whose mastery a failure cannot lower, but which still fell in 12 ± 0 (step, skill) cells of the "
            "validation split, where the 1 ± 0 skills of 3 with a negative learned β or M_sat lower it with "
            "practice, reaches 0.635") in readout_statement(falls, base)
    # a curve switched off (β γ about 0) moves nothing, whatever the sign of its β
    off = runs.assign(param_beta_mean=-1e-9, param_gamma_mean=0.0, param_msat_mean=0.8, param_offset=0.0,
                      param_temperature=0.5)
    assert readout_table(off, base, tmp_path).set_index("model").loc[
        "V6 (softplus gains)", "a failure can lower it"] == "no; the learning curve is off (Table 2d)"
    # on another dataset the curves are in another table; measured falls under a flat curve are named
    fell = off.assign(valid_monotonicity_violations=100.0)
    assert readout_table(fell, base, tmp_path, curve_table="Table 9").set_index("model").loc[
        "V6 (softplus gains)", "a failure can lower it"] == (
        "no; the learning curve is off (Table 9), but mastery still falls slightly where a learned β or M_sat "
        "is negative (1 ± 0 skills)")
    falling = off.assign(param_beta_mean=2.0, param_gamma_mean=-0.9)     # γ is not bounded either
    assert readout_table(falling, base, tmp_path).set_index("model").loc["V6 (softplus gains)", "a failure can lower it"] == (
        "yes, and so does a success: the learned curve falls with practice (β γ < 0)")


def test_gap_table_and_statement(tmp_path):
    """Table 2c: each encoder's train - test gap per configuration; the sentence names V6's gap and
    its gammas, and compares the shared_gamma row once it has 3 seeds."""
    from gainakt.analysis.readout import gap_statement, gap_table
    rows = []
    for seed in (42, 43, 44):
        for label, e2_train in (("small", 0.72), ("small-v6-shared_gamma", 0.68)):
            r = _run(tmp_path, "V6", label, seed, np.ones(3), np.ones(3))
            rows.append({**r, "train_enc1_auc": 0.74, "test_enc1_auc": 0.72, "train_enc2_auc": e2_train,
                         "test_enc2_auc": 0.63 + (0.03 if label != "small" else 0) + 0.001 * (seed - 43),
                         "valid_enc2_auc": 0.64, "param_gamma_mean": 0.09, "param_gamma_std": 0.15,
                         "param_gamma_min": -0.5})
    runs = pd.DataFrame(rows)
    t = gap_table(runs).set_index("switch")
    assert t.loc["", "E2 train - test"] == "0.090 ± 0.001" and t.loc["", "E1 train - test"] == "0.020 ± 0.000"
    assert t.loc["shared_gamma", "E2 train - test"] == "0.020 ± 0.001"
    s = gap_statement(runs)
    assert "0.090 AUC higher" in s and "(Encoder 1: 0.020)" in s and "lowest -0.50" in s
    assert "the gap is 0.020 and Encoder 2's test AUC 0.660 ± 0.001 (V6 0.630" in s
    assert "pending" in gap_statement(runs[runs.label == "small"])


def test_mastery_clause_and_bound_cost_follow_the_measurements(tmp_path):
    """The generated words never say 'cannot fall' beside a count of falls, and name a gain from the
    bound as a gain, not a negative cost."""
    from gainakt.analysis import readout as R
    bound_cost_sentence, mastery_clause, negative_curve = R.bound_cost_sentence, R.mastery_clause, R.negative_curve
    rows = []
    for seed in (42, 43, 44):
        r = _run(tmp_path, "V6", "small", seed, np.ones(4), np.ones(4))
        t = pd.read_csv(f"{r['dir']}/skill_gains.csv")
        t.assign(beta=[0.5, 0.5, -0.1, 0.5], m_sat=[0.8, -0.2, 0.8, 0.8]).to_csv(f"{r['dir']}/skill_gains.csv", index=False)
        rows.append({**r, "valid_monotonicity_violations": 0.0})
    g = pd.DataFrame(rows)
    assert negative_curve(g) == ([2, 2, 2], 4)
    assert mastery_clause(g) == ("whose mastery a failure cannot lower (it fell in no (step, skill) cell of the "
                                 "validation split)")
    s = mastery_clause(g.assign(valid_monotonicity_violations=[10.0, 12.0, 14.0]))
    assert s.startswith("whose mastery a failure cannot lower, but which still fell in 12 ± 2 (step, skill) cells")
    assert "the 2 ± 0 skills of 4 with a negative learned β or M_sat" in s and "cannot fall" not in s
    assert bound_cost_sentence({"pfa": 0.683, "pfa_monotone": 0.652, "afm": 0.648}) == (
        "Bounding PFA's coefficients at 0 costs it 0.031 test AUC (0.683 → 0.652, next to AFM's 0.648).")
    s = bound_cost_sentence({"pfa": 0.792, "pfa_monotone": 0.794})
    assert s == "Bounding PFA's coefficients at 0 does not cost it test AUC: 0.792 → 0.794 (+0.002)." and "-0.0" not in s

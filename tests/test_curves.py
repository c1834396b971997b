"""gainakt.analysis.curves: the learned learning curve (Table 2d), the decay rows, what a design's gains
are and what bounding γ changes, on made-up run folders whose answer is known."""
import numpy as np
import pandas as pd
import pytest

from test_corrected_analysis import _run


def test_curve_table_finds_a_learning_curve_that_is_off(tmp_path):
    """Table 2d: the IM logit's slope in practice at practice 0 from the learned means; a
    configuration whose β γ M_sat product is 0 in every seed is named as flat, with its E2 AUC."""
    from gainakt.analysis.curves import curve_statement, curve_table
    rows = []
    for seed in (42, 43, 44):
        for label, beta, gamma in (("small", 1.0, 0.1), ("small-v6-shared_gamma_curve", -0.0, 1e-5)):
            r = _run(tmp_path, "V6", label, seed, np.ones(3), np.ones(3))
            rows.append({**r, "param_beta_mean": beta, "param_gamma_mean": gamma, "param_msat_mean": 0.8,
                         "param_offset": 0.0, "param_temperature": 0.5})
    runs = pd.DataFrame(rows)
    t = curve_table(runs).set_index("switch")
    # 0.8 * 0.25 * 1.0 * 0.1 / 0.5 = 0.04 logit per unit of practice
    assert t.loc["", "start slope (logit / practice)"] == "0.0400 ± 0.0000" and t.loc["", "flat in"] == "0 of 3"
    assert t.loc["shared_gamma_curve", "flat in"] == "3 of 3"
    s = curve_statement(runs)
    assert "off in every seed of 1 configuration(s): V6 as intended with `shared_gamma_curve`" in s
    assert "Encoder 2 test AUC 0.600" in s and "The other 1 configurations' curves rise" in s
    assert curve_statement(runs[runs.label == "small"]).startswith("Every configuration's learning curve rises")
    # γ is not bounded: a curve that falls in every seed is named apart, as neither off nor rising
    down = runs[runs.label == "small"].assign(label="small-v6-shared_gamma_curve_linear", param_gamma_mean=-0.9)
    s = curve_statement(pd.concat([runs, down], ignore_index=True))
    assert "falls with practice in every seed of 1 configuration(s): V6 as intended with `shared_gamma_curve_linear`" in s
    assert "γ -0.900" in s and "The other 1 configurations' curves rise" in s
    ref = pd.DataFrame({"afm_learn": [-0.1, 0.0, 0.02, 0.5]})
    assert curve_statement(runs, reference=ref).endswith("a median learning rate of 0.010 logit per attempt over 4 "
                                                         "skills (1 of them negative).")


def test_curve_paths_draws_one_line_per_seed(tmp_path):
    """Figure 2b: the start slope and Encoder 2's validation AUC per epoch, from each run's history."""
    import matplotlib
    matplotlib.use("Agg")
    from gainakt.analysis.figures import curve_paths
    from gainakt.analysis.curves import start_slope
    rows = []
    for seed in (42, 43):
        r = _run(tmp_path, "V6", "small", seed, np.ones(3), np.ones(3))
        pd.DataFrame({"epoch": [0, 1, 2], "msat_mean": 0.8, "offset": 0.0, "beta_mean": [2.0, 1.0, 0.0],
                      "gamma_mean": 0.1, "temperature": 0.5, "valid_enc2_auc": [0.5, 0.6, 0.62]}
                     ).to_csv(f"{r['dir']}/history.csv", index=False)
        rows.append(r)
    fig = curve_paths([("V6", pd.DataFrame(rows)), ("empty", pd.DataFrame())])
    left, right = fig.axes[:2]
    assert len(left.lines) == 2 + 1 and len(right.lines) == 2   # + the zero line
    assert np.allclose(left.lines[0].get_ydata(), [0.08, 0.04, 0.0])
    assert start_slope(0.8, 0.0, 1.0, 0.1, 0.5) == pytest.approx(0.04)


def test_decay_statement_names_where_the_curve_is_off(tmp_path):
    """The decay rows of the shared curve with one gamma: the curve off in every seed with decay, on
    without; Encoder 2 compared between the last two rows by Welch's t; pending below 3 seeds."""
    from gainakt.analysis.curves import decay_statement
    rows = []
    for seed in (42, 43, 44):
        for label, beta, gamma, e2 in (("small-v6-shared_gamma_curve", 0.0, 0.0, 0.64),
                                       ("small-v6-shared_gamma_curve_curvewd0", 2.0, 1.3, 0.678),
                                       ("small-v6-shared_gamma_curve_nowd", 2.0, 1.1, 0.679)):
            r = _run(tmp_path, "V6", label, seed, np.ones(3), np.ones(3))
            rows.append({**r, "param_beta_mean": beta, "param_gamma_mean": gamma, "param_msat_mean": 0.8,
                         "param_offset": 0.0, "param_temperature": 0.5, "test_enc2_auc": e2 + 0.001 * (seed - 43)})
    runs = pd.DataFrame(rows)
    s = decay_statement(runs)
    assert "with decay: curve off in 3 of 3 seeds, γ 0.00 ± 0.00, Encoder 2 0.640 ± 0.001" in s
    assert "no decay on the curve scalars: curve off in 0 of 3 seeds, γ 1.30 ± 0.00" in s
    assert "Welch t -1.2, p 0.29 (within seed noise)" in s
    assert "no decay at all: 0 of 3 seeds, pending" in decay_statement(runs[~runs.label.str.endswith("nowd")])


def test_success_statement_splits_gains_by_answer_and_reads_pfa(tmp_path):
    """Gains given to correct answers only, ranked as PFA's success coefficient while accuracy is
    unrelated: the sentence gives both mean gains and a Spearman (and partials) of 1 with PFA's
    success coefficient, -1 with a failure coefficient that runs against it; pending below 3 seeds."""
    from gainakt.analysis.curves import LEAD, success_statement
    C, rng = 10, np.random.default_rng(1)
    success = np.linspace(0.1, 1.0, C)
    rows = []
    for seed in (42, 43, 44):
        r = _run(tmp_path, "V6", LEAD, seed, 0.5 * success, np.ones(C))
        t = pd.read_csv(f"{r['dir']}/skill_gains.csv")
        t.assign(gain_own_correct=success, gain_own_incorrect=0.0).to_csv(f"{r['dir']}/skill_gains.csv", index=False)
        rows.append(r)
    runs = pd.DataFrame(rows)
    ref = pd.DataFrame({"skill": np.arange(C), "pfa_success": success ** 2, "pfa_failure": -success,
                        "train_accuracy": rng.permutation(C) / C, "attempts": 100 + rng.permutation(C)})
    s = success_statement(runs, ref)
    assert "3 seeds" in s and "a correct answer gives its skill a mean gain of 0.550 ± 0.000" in s
    assert "an incorrect one 0.000 ± 0.000" in s
    assert "success coefficient at 1.00 ± 0.00 (partial given accuracy 1.00 ± 0.00, given attempts 1.00 ± 0.00)" in s
    assert "failure coefficient at -1.00 ± 0.00" in s
    assert success_statement(runs.iloc[:2], ref).endswith("2 of 3 seeds, pending.")
    assert success_statement(runs, None).endswith("no PFA baseline on this dataset.")


def test_bound_statement_compares_the_free_and_the_positive_gamma(tmp_path):
    """The same gains read through a falling curve (γ < 0) and a rising one (γ > 0): the sentence names
    the falling curve, both rows' agreement beside the untrained model's, the Spearman with BKT's learn
    rate (1 here: the gains are the learn rate), and Encoder 2's Welch t; pending below 3 seeds."""
    from gainakt.analysis.curves import BOUNDED, LEAD, bound_statement
    C, rng = 10, np.random.default_rng(2)
    learn = np.linspace(0.05, 0.5, C)
    rows = []
    for seed in (42, 43, 44):
        for label, gamma, e2 in ((LEAD, -0.9, 0.795), (BOUNDED, 0.45, 0.794)):
            r = _run(tmp_path, "V6", label, seed, learn, rng.standard_normal(C))
            rows.append({**r, "dataset": "statics2011", "param_beta_mean": 2.0, "param_gamma_mean": gamma,
                         "param_msat_mean": 2.0, "param_offset": 0.5, "param_temperature": 1.25,
                         "test_enc2_auc": e2 + 0.001 * (seed - 43)})
    runs = pd.DataFrame(rows)
    ref = pd.DataFrame({"skill": np.arange(C), "bkt_learn": learn, "train_accuracy": rng.permutation(C) / C})
    s = bound_statement(runs, ref, "statics2011")
    assert "γ free (3 seeds): γ -0.90 ± 0.00, curve falls in 3 of 3, Encoder 2 0.795 ± 0.001, agreement 1.00 ± 0.00" in s
    assert "γ > 0 (3 seeds): γ 0.45 ± 0.00, curve falls in 0 of 3" in s
    assert "Spearman with BKT's learn rate 1.00 ± 0.00 (partial given accuracy 1.00 ± 0.00)" in s
    assert "Welch t -1.2, p 0.29 (within seed noise)" in s
    assert "γ > 0: 2 of 3 seeds, pending." in bound_statement(runs.iloc[:-1], ref, "statics2011")
    assert "Spearman" not in bound_statement(runs, None, "statics2011")

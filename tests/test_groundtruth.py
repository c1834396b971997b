"""Ground truth: per-skill guess/slip and spread conditions of the simulator, and the analysis that
compares learned per-skill gains with the true learning rates (small simulated data, fake runs)."""
import json

import numpy as np
import pandas as pd
import pytest

from gainakt.analysis import groundtruth as G, groundtruth_figures as GF, groundtruth_tables as GT
from gainakt.synthetic import SimConfig, load_ground_truth, simulate, spread_condition, write_dataset
from gainakt.variants import make_config
from test_analysis import _write_run

SMALL = dict(n_students=200, n_skills=8, min_len=10, max_len=40, guess_spread=0.1, slip_spread=0.05)


def test_guess_and_slip_differ_by_skill_only_when_asked():
    _, flat = simulate(SimConfig(n_students=20, n_skills=6))
    assert (flat["guess"] == 0.2).all() and (flat["slip"] == 0.1).all()
    _, t = simulate(SimConfig(**SMALL))
    assert np.ptp(t["guess"]) > 0.02 and ((t["guess"] >= 0.1) & (t["guess"] <= 0.3)).all()
    assert ((t["slip"] >= 0.05) & (t["slip"] <= 0.15)).all()
    # the other per-skill truths and the practice pattern do not move when guess and slip spread
    st0, t0 = simulate(SimConfig(**{**SMALL, "guess_spread": 0.0, "slip_spread": 0.0}))
    st1, _ = simulate(SimConfig(**SMALL))
    for k in ("learn_rate", "difficulty", "prior"):
        np.testing.assert_array_equal(t[k], t0[k])
    assert [len(s.skills) for s in st0] == [len(s.skills) for s in st1]
    with pytest.raises(ValueError, match="guess_spread"):
        SimConfig(guess=0.1, guess_spread=0.2)


def test_spread_conditions_keep_skill_order():
    truths = {c: simulate(SimConfig(**SMALL, **spread_condition(c)))[1] for c in G.CONDITIONS}
    assert np.ptp(truths["none"]["learn_rate"]) == 0
    r = {c: truths[c]["learn_rate"] for c in ("moderate", "strong")}
    assert r["moderate"].max() / r["moderate"].min() < r["strong"].max() / r["strong"].min() <= 10.0001
    np.testing.assert_array_equal(np.argsort(r["moderate"]), np.argsort(r["strong"]))
    for k in ("difficulty", "prior", "guess", "slip"):
        np.testing.assert_array_equal(truths["none"][k], truths["strong"][k])
    with pytest.raises(ValueError, match="allowed: none, moderate, strong"):
        spread_condition("huge")


def test_ground_truth_saved_per_skill(tmp_path):
    cfg = SimConfig(**SMALL)
    folder = write_dataset(tmp_path / "synthetic", cfg)
    saved, truth = load_ground_truth(folder), simulate(cfg)[1]
    np.testing.assert_allclose(saved["guess"], truth["guess"])
    np.testing.assert_allclose(saved["slip"], truth["slip"])
    # a file written before guess and slip were per skill reads back with the global values
    js = json.loads((folder / "ground_truth.json").read_text())
    del js["guess"], js["slip"]
    (folder / "ground_truth.json").write_text(json.dumps(js))
    old = load_ground_truth(folder)
    assert old["guess"].tolist() == [cfg.guess] * cfg.n_skills


def test_truth_table_and_spearman():
    t = G.truth_table(SMALL)
    assert list(t.skill) == list(range(8)) and set(G.TRUTH_COLUMNS) <= set(t.columns)
    assert t.train_n.sum() > 0 and t.train_accuracy.between(0, 1).all()
    assert np.isnan(G.spearman([1, 1, 1, 1], [1, 2, 3, 4])) and np.isnan(G.spearman([1, 2], [2, 1]))
    assert G.spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    gains = pd.DataFrame({"skill": t.skill, "n": 50, "gain_own_mean": -t.guess})
    f = G.follows(gains, t)
    assert f["guess"] == pytest.approx(-1.0)
    gains.loc[0, "n"] = 1          # a rare skill leaves the comparison
    assert G.follows(gains, t.assign(guess=t.guess.where(t.skill > 0, 99)))["guess"] == pytest.approx(-1.0)


def test_learning_curve_slope_orders_skills_by_rate():
    cfg = SimConfig(n_students=1500, n_skills=6, seed=0, **spread_condition("strong"))
    st, truth = simulate(cfg)
    slope = G.learning_curve_slope(st, 6)
    assert G.spearman(slope, truth["learn_rate"]) > 0.6


def _fake_runs(root, condition, syn, gain_of, seeds=(0, 1, 2)):
    """GainAKT run folders whose trained per-skill gains are gain_of(truth, seed), untrained noise."""
    t = G.truth_table(syn)
    rng = np.random.default_rng(7)
    for v in ("V2",):
        for seed in seeds:
            cfg = make_config(v, "as_intended", dataset="synthetic", seed=seed, synthetic=syn)
            d = _write_run(root, f"{v}-as_intended-{G.label_of(condition)}", cfg, test={"enc1_auc": 0.7})
            base = pd.DataFrame({"skill": t.skill, "n": 50})
            base.assign(gain_own_mean=gain_of(t, seed)).to_csv(d / "skill_gains.csv", index=False)
            base.assign(gain_own_mean=rng.normal(size=len(t))).to_csv(d / "skill_gains_untrained.csv", index=False)
    return t


def test_tables_from_runs(tmp_path):
    strong, none = {**SMALL, **spread_condition("strong")}, {**SMALL, **spread_condition("none")}
    t_strong = _fake_runs(tmp_path, "strong", strong, lambda t, s: t.learn_rate + 1e-6 * s)  # recovers the rate
    _fake_runs(tmp_path, "none", none, lambda t, s: t.prior * (1 + 0.01 * s))        # follows the prior
    runs = G.load_groundtruth_runs(tmp_path)
    assert sorted(runs.condition.unique()) == ["none", "strong"] and len(runs) == 6
    pr = G.per_run(runs)
    assert len(pr) == 12 and set(pr.model) == {"trained", "untrained"}
    tr = pr[pr.model == "trained"].set_index("condition")
    assert (tr.loc["strong", "learn_rate"] == 1.0).all() and tr.loc["none", "learn_rate"].isna().all()
    assert (tr.loc["none", "prior"] == 1.0).all()

    rec = GT.recovery_table(pr).set_index("condition")
    assert rec.loc["strong", "Spearman with true rate"].startswith("1.0000 ± 0.0000 (n=3)")
    assert rec.loc["strong", "cross-seed agreement"].startswith("1.000") and rec.loc["none", "seeds"] == 3
    assert rec.loc["none", "Spearman with true rate"] == ""
    cv = pr[(pr.model == "trained") & (pr.condition == "strong")].cv
    assert cv.iloc[0] == pytest.approx(t_strong.learn_rate.std(ddof=0) / t_strong.learn_rate.mean(), rel=1e-4)
    fol = GT.follows_table(pr, "none").set_index("model")
    assert "learn rate" not in fol and fol.loc["trained", "prior"].startswith("1.0000")
    assert GT.strongest(pr, "none", "V2", "as_intended") == ("prior", 1.0)
    assert GT.strongest(pr, "moderate", "V2", "as_intended")[0] == ""

    # BKT's per-skill parameters: a perfect learn rate on 'strong', none on 'none'
    t = G.truth_table(strong)
    b = tmp_path / "synthetic" / "bkt-baseline-gt-strong" / "seed0"
    b.mkdir(parents=True)
    pd.DataFrame({"skill": t.skill, "train_attempts": 100, "train_accuracy": 0.5, "bkt_learn": t.learn_rate, "bkt_guess": t.guess,
                  "bkt_slip": -t.slip, "bkt_prior": t.prior}).to_csv(b / "skill_params.csv", index=False)
    a = tmp_path / "synthetic" / "afm-baseline-gt-strong" / "seed0"      # AFM's rates: reversed
    a.mkdir(parents=True)
    pd.DataFrame({"skill": t.skill, "train_attempts": 100, "train_accuracy": 0.5,
                  "afm_learn": -t.learn_rate}).to_csv(a / "skill_params.csv", index=False)
    f = tmp_path / "synthetic" / "pfa-baseline-gt-strong" / "seed0"      # PFA's success coefficient: squared
    f.mkdir(parents=True)
    pd.DataFrame({"skill": t.skill, "train_attempts": 100, "train_accuracy": 0.5,
                  "pfa_success": t.learn_rate ** 2}).to_csv(f / "skill_params.csv", index=False)
    ceil = G.classical_references(tmp_path, {"strong": strong, "none": none}.get, conditions=("none", "strong"))
    ceil = ceil.set_index("condition")
    assert ceil.loc["strong", "PFA success ~ rate"] == pytest.approx(1.0) and "PFA success ~ rate | accuracy" in ceil
    assert ceil.loc["strong", "AFM learn ~ rate"] == pytest.approx(-1.0) and "AFM learn ~ rate | accuracy" in ceil
    assert ceil.loc["strong", "BKT learn ~ rate"] == pytest.approx(1.0)
    assert ceil.loc["strong", "BKT slip ~ slip"] == pytest.approx(-1.0)
    assert np.isnan(ceil.loc["none", "BKT learn ~ rate"]) and np.isnan(ceil.loc["none", "learning-curve slope ~ rate"])
    lines = GT.statements(pr, ceil.reset_index())
    assert any(s.startswith("strong spread, V2 as intended (3 seeds): Spearman with the true learning rate +1.00")
               and "BKT +1.00" in s for s in lines)
    assert any(s.startswith("no spread, ") and "follow prior most (+1.00" in s for s in lines)
    assert not any("_" in s.split(":")[0] for s in lines)
    weak = GT.statements(pr.assign(**{c: pr[c] * 0.2 for c in G.TRUTH_COLUMNS}), ceil.reset_index())
    assert any(s.startswith("no spread, ") and "no true quantity clearly (largest: prior (+0.20" in s for s in weak)

    import matplotlib
    matplotlib.use("Agg")
    assert GT.most_followed(pr, "none") == "prior" and GT.most_followed(pr, "moderate") == ""
    fig = GF.condition_figure(runs, pr, "strong", t, G.baseline_params(tmp_path, "strong"))
    titles = [ax.get_title() for ax in fig.axes][:8]   # V1-V3 x 2 flavours, V6 as intended, then BKT
    untrained = pr[(pr.condition == 'strong') & (pr.model == 'untrained')].learn_rate.mean()
    assert titles[3] == "V2 as intended\nρ +1.00 (untr. " + f"{untrained:+.2f})"
    assert titles[2].endswith("not run yet") and titles[6] == "V6 as intended\nnot run yet"
    assert titles[7] == "BKT learn\nρ +1.00"
    assert "not run yet" in GF.condition_figure(runs, pr, "none", t, None).axes[7].get_title()
    # BKT's table has its own train_accuracy: the truth's is the x axis
    fig = GF.condition_figure(runs, pr, "strong", t, G.baseline_params(tmp_path, "strong"), x="train_accuracy")
    assert fig.axes[7].get_title() == f"BKT learn\nρ {G.spearman(t.learn_rate, t.train_accuracy):+.2f}"


def test_labels_sizes_and_partial_given_accuracy(tmp_path):
    assert G.parse_label("gt-moderate") == ("moderate", None, "") and G.label_of("moderate") == "gt-moderate"
    assert G.parse_label("gt-moderate-n375") == ("moderate", 375, "") and G.label_of("moderate", 375) == "gt-moderate-n375"
    assert G.parse_label("gt-strong-v6-skill_gain") == ("strong", None, "skill_gain")
    assert G.parse_label("small") is None and G.parse_label("gt-wide") is None and G.parse_label("gt-none-x") is None
    assert ("V6", "as_run") not in G.groups() and ("V6", "as_intended") in G.groups()
    # gains that are per-skill accuracy carry nothing beyond it; gains that are the rate do
    t = G.truth_table({**SMALL, "n_skills": 12, **spread_condition("strong")})
    acc = pd.DataFrame({"skill": t.skill, "n": 50, "gain_own_mean": t.train_accuracy})
    rate = acc.assign(gain_own_mean=t.learn_rate)
    assert np.isnan(G.partial_given_accuracy(acc, t))     # accuracy explains them entirely
    assert G.partial_given_accuracy(rate, t) > 0.5
    assert np.isnan(G.partial_given_accuracy(rate, t.assign(learn_rate=0.1)))
    # runs at another number of students are kept apart from the main comparison
    syn = {**SMALL, **spread_condition("moderate")}
    _fake_runs(tmp_path, "moderate", syn, lambda t, s: t.learn_rate)
    small = {**syn, "n_students": 100}
    tt = G.truth_table(small)
    for seed in (0, 1):
        cfg = make_config("V6", "as_intended", dataset="synthetic", seed=seed, synthetic=small)
        from test_analysis import _write_run as write
        d = write(tmp_path, f"V6-as_intended-{G.label_of('moderate', 100)}", cfg, test={"enc1_auc": 0.7})
        base = pd.DataFrame({"skill": tt.skill, "n": 50})
        base.assign(gain_own_mean=tt.learn_rate).to_csv(d / "skill_gains.csv", index=False)
        base.assign(gain_own_mean=tt.prior).to_csv(d / "skill_gains_untrained.csv", index=False)
    runs = G.load_groundtruth_runs(tmp_path)
    assert sorted(set(runs.students)) == [100, SMALL["n_students"]] and len(runs) == 5
    assert len(G.main_runs(runs)) == 3 and set(G.main_runs(runs).variant) == {"V2"}
    for seed in (0, 1):   # an ablation row of V6 on the main data: kept out of the main comparison
        cfg = make_config("V6", "as_intended", dataset="synthetic", seed=seed, synthetic=syn, gain_source="skill")
        d = write(tmp_path, "V6-as_intended-gt-moderate-v6-skill_gain", cfg, test={"enc1_auc": 0.7})
        base = pd.DataFrame({"skill": tt.skill, "n": 50})
        t_syn = G.truth_table(syn)
        base.assign(gain_own_mean=-t_syn.learn_rate).to_csv(d / "skill_gains.csv", index=False)
        base.assign(gain_own_mean=t_syn.prior).to_csv(d / "skill_gains_untrained.csv", index=False)
    runs = G.load_groundtruth_runs(tmp_path)
    assert len(runs) == 7 and set(runs[runs.ablation != ""].ablation) == {"skill_gain"}
    assert len(G.main_runs(runs)) == 3
    abt = GT.ablation_table(G.per_run(runs)).set_index("switch")
    assert abt.loc["skill_gain", "Spearman with true rate"].startswith("-1.0000") and abt.loc["skill_gain", "seeds"] == 2
    sc = GT.scale_table(G.per_run(runs), tmp_path,
                       synthetic_of=lambda c, students=None: small if students == 100 else syn)
    row = sc.set_index("students").loc[100]
    assert row.variant == "V6" and row.seeds == 2 and row["Spearman with true rate"].startswith("1.0000")
    # the ablation row has its own line at its scale, named by its switch
    ab = sc[sc.switch == "skill_gain"].iloc[0]
    assert ab.students == SMALL["n_students"] and ab["Spearman with true rate"].startswith("-1.0000")
    assert set(sc[sc.switch == ""].variant) == {"V2", "V6"}


def test_simconfig_of_reads_the_matrix(tmp_path):
    m = tmp_path / "m.yml"
    m.write_text("defaults: {dataset: synthetic, flavour: [as_run, as_intended], seeds: [0]}\nruns:\n"
                 "  - {variant: V2, tags: [groundtruth], label: gt-none, synthetic: {n_skills: 5}}\n"
                 "  - {variant: V3, tags: [groundtruth], label: gt-none, synthetic: {n_skills: 5}}\n"
                 "  - {variant: V2, tags: [groundtruth], label: gt-strong, synthetic: {n_skills: 5}}\n"
                 "  - {variant: V3, tags: [groundtruth], label: gt-strong, synthetic: {n_skills: 6}}\n")
    assert G.simconfig_of("none", m) == {"n_skills": 5}
    with pytest.raises(ValueError, match="found 2"):
        G.simconfig_of("strong", m)
    with pytest.raises(ValueError, match="found 0"):
        G.simconfig_of("moderate", m)
    with pytest.raises(ValueError, match="unknown condition"):
        G.simconfig_of("wide", m)
    # the project's own matrix: one setting per condition, differing only in the learning rates
    syn = {c: G.simconfig_of(c) for c in G.CONDITIONS}
    assert all({k: v for k, v in s.items() if not k.startswith("learn_rate")} ==
               {k: v for k, v in syn["none"].items() if not k.startswith("learn_rate")} for s in syn.values())
    assert all({k: s[k] for k in ("learn_rate_min", "learn_rate_max")} == spread_condition(c) for c, s in syn.items())


def test_parameter_table_says_which_quantity_carries_the_rate(tmp_path):
    strong = {**SMALL, **spread_condition("strong")}
    _fake_runs(tmp_path, "strong", strong, lambda t, s: t.learn_rate + 1e-6 * s)
    runs = G.load_groundtruth_runs(tmp_path)
    t = GT.parameter_table(runs, "V2", cols={"gain_own_mean": "mean gain"})
    assert list(t.quantity) == ["mean gain"] and t["~ true rate"].iloc[0].startswith("1.0000 ± 0.0000 (n=3)")
    assert GT.parameter_table(runs, "V6").empty          # no V6 run: nothing to say


def test_follows_table_gives_each_ablation_row_its_line():
    rows = [dict(condition="none", variant="V6", flavour="as_intended", ablation=ab, model=m, seed=s,
                 learn_rate=np.nan, prior=p, guess=0.0, slip=0.0, difficulty=0.0, train_accuracy=0.5)
            for ab, p in (("", 0.9), ("shared_curve", 0.1)) for m in ("trained", "untrained") for s in (0, 1)]
    t = GT.follows_table(pd.DataFrame(rows))
    assert list(t.switch.unique()) == ["", "shared_curve"] and "learn rate" not in t
    assert t[(t.switch == "shared_curve") & (t.model == "trained")].prior.iloc[0].startswith("0.1000")
    assert "switch" not in GT.follows_table(pd.DataFrame(rows).assign(ablation=""))


def test_gain_readout_table_reads_the_gain_after_a_correct_answer(tmp_path):
    """A design whose mean gain is noise but whose gain after a correct answer is the true rate: the
    table shows both read-outs per condition, with PFA's success coefficient fitted on the same data."""
    strong = {**SMALL, **spread_condition("strong")}
    t, rng = G.truth_table(strong), np.random.default_rng(3)
    for seed in (0, 1, 2):
        cfg = make_config("V6", "as_intended", dataset="synthetic", seed=seed, synthetic=strong)
        d = _write_run(tmp_path, "V6-as_intended-gt-strong-v6-shared_curve", cfg, test={"enc1_auc": 0.7})
        base = pd.DataFrame({"skill": t.skill, "n": 50})
        base.assign(gain_own_mean=rng.permutation(len(t)), gain_own_correct=t.learn_rate).to_csv(
            d / "skill_gains.csv", index=False)
        base.assign(gain_own_mean=0.0, gain_own_correct=0.0).to_csv(d / "skill_gains_untrained.csv", index=False)
    f = tmp_path / "synthetic" / "pfa-baseline-gt-strong" / "seed0"
    f.mkdir(parents=True)
    pd.DataFrame({"skill": t.skill, "train_attempts": 100, "train_accuracy": 0.5,
                  "pfa_success": -t.learn_rate}).to_csv(f / "skill_params.csv", index=False)
    runs = G.load_groundtruth_runs(tmp_path)
    r = GT.gain_readout_table(runs, "shared_curve", results_root=tmp_path).set_index("condition").loc["strong"]
    assert r.seeds == 3 and r["gain after a correct answer ~ true rate"].startswith("1.0000 ± 0.0000")
    assert abs(float(r["mean gain ~ true rate"].split(" ")[0])) < 0.9
    assert r["PFA success ~ rate"] == "-1.000"
    assert GT.gain_readout_table(runs, "no_such_switch").empty

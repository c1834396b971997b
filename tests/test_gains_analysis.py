"""Cross-seed agreement and external validity of per-skill gains (small synthetic tables)."""
import numpy as np
import pandas as pd
import pytest

from gainakt.analysis import gains


def _table(values, n=50):
    return pd.DataFrame({"skill": np.arange(len(values)), "n": n, "gain_own_mean": values})


def test_cross_seed_agreement_identical_and_reversed():
    v = np.linspace(0.1, 0.9, 10)
    same = gains.cross_seed_agreement([_table(v), _table(v), _table(v)])
    assert same["mean"] == pytest.approx(1.0) and same["pairs"] == 3
    rev = gains.cross_seed_agreement([_table(v), _table(v[::-1])])
    assert rev["mean"] == pytest.approx(-1.0)


def test_cross_seed_agreement_ignores_rare_skills():
    v = np.linspace(0.1, 0.9, 10)
    a, b = _table(v), _table(v.copy())
    b.loc[:4, "gain_own_mean"] = b.loc[:4, "gain_own_mean"].to_numpy()[::-1]  # disagree on skills 0-4
    b.loc[:4, "n"] = 5                                                         # ...which are rare
    assert gains.cross_seed_agreement([a, b])["mean"] == pytest.approx(1.0)


def test_partial_spearman_removes_a_common_cause():
    rng = np.random.default_rng(0)
    z = rng.normal(size=400)
    x, y = z + 0.1 * rng.normal(size=400), z + 0.1 * rng.normal(size=400)
    assert abs(gains.partial_spearman(x, y, z)) < 0.2
    assert gains.partial_spearman(x, x + 0.01 * rng.normal(size=400), z) > 0.5


def test_external_validity_table():
    k = np.arange(30)
    g = _table(k / 30.0)
    ref = pd.DataFrame({"skill": k, "attempts": 100, "accuracy": np.sin(k), "learn": k ** 2})
    t = gains.external_validity(g, ref, {"learn": "BKT learn", "accuracy": "accuracy"})
    assert t.set_index("reference").loc["BKT learn", "spearman"] == pytest.approx(1.0)
    assert np.isnan(t.set_index("reference").loc["accuracy", "partial (given accuracy)"])


def test_agreement_table_trained_vs_untrained(tmp_path):
    from gainakt.analysis import runs
    from gainakt.variants import make_config
    from test_analysis import _write_run
    rng = np.random.default_rng(1)
    truth = np.linspace(0, 1, 12)
    for seed in (42, 43, 44):
        cfg = make_config("V2", "as_intended", dataset="assist2015", seed=seed)
        d = _write_run(tmp_path, "V2-as_intended-small", cfg, test={"enc1_auc": 0.7},
                       untrained={"gain_skill_std": 0.1})
        _table(truth + 0.01 * rng.normal(size=12)).to_csv(d / "skill_gains.csv", index=False)
        _table(rng.normal(size=12)).to_csv(d / "skill_gains_untrained.csv", index=False)
    t = gains.agreement_table(runs.load_runs(tmp_path)).iloc[0]
    assert t.seeds == 3 and t.trained.startswith("1.000") and "(3 pairs)" in t.trained
    assert float(t.untrained.split()[0]) < 0.9


def test_external_table_per_seed_and_untrained(tmp_path):
    from gainakt.analysis import runs
    from gainakt.variants import make_config
    from test_analysis import _write_run
    k = np.arange(15)
    ref = pd.DataFrame({"skill": k, "attempts": 100, "train_accuracy": np.cos(k), "bkt_learn": k * 1.0})
    for seed in (42, 43):
        d = _write_run(tmp_path, "V3-as_run-small", make_config("V3", "as_run", dataset="assist2015", seed=seed),
                       test={"enc1_auc": 0.7})
        _table(k / 15.0).to_csv(d / "skill_gains.csv", index=False)
        _table(-k / 15.0).to_csv(d / "skill_gains_untrained.csv", index=False)
    t = gains.external_table(runs.load_runs(tmp_path), ref)
    tr = t[(t.model == "trained") & (t.reference == "BKT learn rate")].iloc[0]
    un = t[(t.model == "untrained") & (t.reference == "BKT learn rate")].iloc[0]
    assert tr.spearman.startswith("1.0000 ± 0.0000 (n=2)") and un.spearman.startswith("-1.0000")
    assert set(t.reference) == {"BKT learn rate", "accuracy (training folds)", "attempts (training folds)"}
    att = t[(t.model == "trained") & (t.reference == "attempts (training folds)")].iloc[0]
    assert att.spearman == ""      # constant attempts: no correlation to compute
    # the same numbers as a grid: one row per configuration and model, one column per reference
    w = gains.external_wide(t)
    assert list(w.index) == [("V3", "as_run", "trained"), ("V3", "as_run", "untrained")]
    # attempts are constant here: no Spearman in any row, so no column
    assert list(w.columns) == ["BKT learn rate", "accuracy (training folds)"]
    assert w.loc[("V3", "as_run", "trained"), "BKT learn rate"] == tr.spearman
    assert gains.external_wide(t, "partial (given accuracy)").loc[("V3", "as_run", "untrained"), "BKT learn rate"] \
        == un["partial (given accuracy)"]
    assert gains.external_wide(t.iloc[:0]).empty


def test_saturation_table_counts_skills_at_the_bounds(tmp_path):
    from gainakt.analysis import runs
    from gainakt.variants import make_config
    from test_analysis import _write_run
    for seed in (42, 43):
        cfg = make_config("V3", "as_intended", dataset="assist2015", seed=seed)
        d = _write_run(tmp_path, "V3-as_intended-small", cfg, test={"enc1_auc": 0.7})
        _table([0.01] * 5 + [0.99] * 5).to_csv(d / "skill_gains.csv", index=False)       # the variance optimum
        _table(np.full(10, 0.5) + 0.01 * np.arange(10), n=[50] * 9 + [5]).to_csv(     # one rare skill
            d / "skill_gains_untrained.csv", index=False)
    t = gains.saturation_table(runs.load_runs(tmp_path)).set_index("model")
    assert t.loc["trained", "share < 0.05"].startswith("0.5000 ± 0.0000")
    assert t.loc["trained", "share in [0.05, 0.95]"].startswith("0.000000")
    assert t.loc["trained", gains.VARIANCE_COLUMN].startswith("0.2401")
    # an even split at the bounds: CV 0.98/0.5 = 0.98, and the split alone implies sqrt(0.5/0.5) = 1
    assert t.loc["trained", "per-skill CV"].startswith("0.9800 ± 0.0000")
    assert t.loc["trained", gains.SPLIT_CV_COLUMN].startswith("1.0000 ± 0.0000")
    assert t.loc["untrained", gains.SPLIT_CV_COLUMN] == ""          # no skill above 0.95: no split
    assert t.loc["untrained", "share in [0.05, 0.95]"].startswith("1.0000") and t.loc["trained", "seeds"] == 2


def test_skills_moved_table_and_external_scatter(tmp_path):
    from gainakt.analysis import figures, runs
    from gainakt.variants import make_config
    from test_analysis import _write_run
    for seed, moved in ((42, [1, 1, 3]), (43, [2, 2, 2])):
        cfg = make_config("V2", "as_intended", dataset="assist2015", seed=seed)
        d = _write_run(tmp_path, "V2-as_intended-small", cfg, test={"enc1_auc": 0.7})
        pd.DataFrame({"skills_gain_gt_0.1": moved}).to_csv(d / "trajectories.csv", index=False)
        _table(np.linspace(0.1, 0.9, 8)).to_csv(d / "skill_gains.csv", index=False)
        _table(np.full(8, 0.5)).to_csv(d / "skill_gains_untrained.csv", index=False)
    df = runs.load_runs(tmp_path)
    t = gains.skills_moved_table(df).iloc[0]
    assert t.seeds == 2 and t.skills == 8 and t["median skills with gain > 0.1"].startswith("1.5000 ± 0.7071")
    ref = pd.DataFrame({"skill": np.arange(8), "bkt_learn": np.linspace(0, 1, 8), "train_accuracy": 0.7})
    fig = figures.external_scatter(df, ref, gains.REFERENCES)
    assert len(fig.axes) == 2          # one row (V2 as intended) x the two references present
    assert len(fig.axes[0].collections) == 2   # untrained and trained points


def test_reference_agreement_is_a_spearman_matrix_of_the_references():
    from gainakt.analysis.gains import REFERENCES, reference_agreement
    n = 30
    ref = pd.DataFrame({"skill": range(n), "attempts": [100] * (n - 1) + [5], "bkt_learn": np.arange(n),
                        "learning_slope": np.arange(n) ** 2, "train_accuracy": -np.arange(n)})
    ref.loc[n - 1, "learning_slope"] = -1e9     # a rare skill (5 attempts) is left out
    m = reference_agreement(ref)
    names = [REFERENCES[c] for c in ("bkt_learn", "learning_slope", "train_accuracy", "attempts")]
    assert list(m.index) == names and list(m.columns) == names
    assert m.loc[REFERENCES["bkt_learn"], REFERENCES["learning_slope"]] == 1.0
    assert m.loc[REFERENCES["bkt_learn"], REFERENCES["train_accuracy"]] == -1.0

"""The split analysis (gainakt.analysis.split) on hand-made skill tables whose answer is known."""
import numpy as np
import pandas as pd

from gainakt.analysis import split


def _table(values, n=50):
    return pd.DataFrame({"skill": np.arange(len(values)), "n": n, "gain_own_mean": values})


def test_auc_counts_ties_half_and_needs_both_classes():
    assert split._auc(np.array([1.0, 2.0, 3.0, 4.0]), np.array([False, False, True, True])) == 1.0
    assert split._auc(np.array([1.0, 1.0]), np.array([False, True])) == 0.5
    assert np.isnan(split._auc(np.array([1.0, 2.0]), np.array([True, True])))
    assert np.isnan(split._auc(np.array([np.nan, 2.0]), np.array([False, True])))


def _write(tmp_path, variant, seed, trained, untrained, label="small"):
    from gainakt.variants import make_config
    from test_analysis import _write_run
    cfg = make_config(variant, "as_intended", dataset="assist2015", seed=seed)
    d = _write_run(tmp_path, f"{variant}-as_intended-{label}", cfg, test={"enc1_auc": 0.7})
    trained.to_csv(d / "skill_gains.csv", index=False)
    untrained.to_csv(d / "skill_gains_untrained.csv", index=False)


def test_split_origin_finds_the_predictor_that_decided_the_side(tmp_path):
    from gainakt.analysis import runs
    rng = np.random.default_rng(0)
    for seed in (42, 43, 44):
        init = rng.normal(0.5, 0.01, 20)                    # the untrained gain to each skill
        acc = rng.uniform(0.4, 0.9, 20)                      # unrelated to the side
        _write(tmp_path, "V3", seed, _table(np.where(init > np.median(init), 0.999, 0.001)).assign(accuracy=acc),
               _table(1 - init).assign(gain_to_skill_mean=init, accuracy=acc))   # own gain: reversed
        # V4: the side follows accuracy, and the untrained gains are constant (tell nothing)
        _write(tmp_path, "V4", seed, _table(np.where(acc > np.median(acc), 0.999, 0.001)).assign(accuracy=acc),
               _table(np.full(20, 0.5)).assign(gain_to_skill_mean=0.5, accuracy=acc))
    # V2: no split (every skill on one side), left out; V1: gains in between, not at the bounds, left out
    _write(tmp_path, "V1", 42, _table(np.linspace(0.2, 0.8, 20)).assign(accuracy=0.7),
           _table(np.full(20, 0.5)).assign(accuracy=0.7, gain_to_skill_mean=0.5))
    _write(tmp_path, "V2", 42, _table(np.full(20, 0.9)).assign(accuracy=0.7),
           _table(np.full(20, 0.5)).assign(accuracy=0.7, gain_to_skill_mean=0.5))
    sides = split.split_sides(runs.load_runs(tmp_path))
    assert sorted(set(sides.variant)) == ["V3", "V4"] and len(sides) == 6
    t = split.split_origin_table(sides).set_index("variant")
    assert t.loc["V3", "seeds"] == 3 and t.loc["V3", "of those, share at the upper"].startswith("0.5000 ± 0.0000")
    assert t.loc["V3", "share at the bounds"].startswith("1.0000 ± 0.0000")
    assert t.loc["V3", "AUC, untrained gain to the skill"].startswith("1.0000 ± 0.0000")
    assert t.loc["V3", "AUC, untrained own gain"].startswith("0.000000 ± 0.000000")
    assert t.loc["V4", "AUC, skill accuracy"].startswith("1.0000 ± 0.0000")
    assert t.loc["V4", "AUC, untrained own gain"].startswith("0.5000 ± 0.0000")
    text = split.split_origin_text(sides)
    assert "Decided before training, by the untrained model's gains (mean AUC 1.00): V3 as intended." in text
    assert "Following the skill's accuracy (mean AUC 1.00): V4 as intended." in text
    assert "neither" not in text
    assert split.split_origin_text(sides.iloc[:0]) == "No run splits its skills at the bounds."
    assert list(t["the side is"]) == ["decided before training", "following accuracy"]
    assert "label" not in t.columns                                    # one configuration label: no column


def test_split_switch_text_names_the_switch_that_changes_the_kind(tmp_path):
    from gainakt.analysis import runs
    rng = np.random.default_rng(1)
    for seed in (42, 43, 44):
        init, acc = rng.normal(0.5, 0.01, 20), rng.uniform(0.4, 0.9, 20)
        untrained = _table(init).assign(gain_to_skill_mean=init, accuracy=acc)
        _write(tmp_path, "V3", seed, _table(np.where(init > np.median(init), 0.999, 0.001)).assign(accuracy=acc),
               untrained)
        _write(tmp_path, "V3", seed, _table(np.where(acc > np.median(acc), 0.999, 0.001)).assign(accuracy=acc),
               untrained, label="small-audit-x")                 # the switch: the side follows accuracy
        _write(tmp_path, "V3", seed, _table(np.where(init > np.median(init), 0.999, 0.001)).assign(accuracy=acc),
               untrained, label="small-audit-y")                 # no change
    r = runs.load_runs(tmp_path)
    sides = split.split_sides(r, labels=["small", "small-audit-x", "small-audit-y"])
    t = split.split_origin_table(sides)
    assert list(t.label) == ["small", "small-audit-x", "small-audit-y"]
    text = split.split_switch_text(sides)
    assert text.startswith("What decides the split changes in 1 of 2 configurations")
    assert "V3 as intended with `audit-x` (decided before training → following accuracy, mean AUC 1.00)" in text
    only_same = sides[sides.label != "small-audit-x"]
    assert split.split_switch_text(only_same) == \
        "No switch changes what decides the split (1 compared with their base)."


def test_kind_phrase_reads_none_as_a_distance_from_chance():
    assert split.kind_phrase("init", 0.987) == "decided before training (mean AUC 0.99)"
    assert split.kind_phrase("none", 0.12) == "predicted by neither (every mean AUC within 0.12 of 0.5)"

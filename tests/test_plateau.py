"""gainakt.analysis.plateau on fake run folders: the faithful runs beside the same configurations
trained to their plateau, and what the plateau shifts beyond seed noise."""
import pytest

from gainakt.analysis import plateau, runs
from gainakt.variants import make_config
from test_analysis import _write_run


def test_converged_comparison_puts_the_plateau_beside_the_faithful_runs(tmp_path):
    for label, epochs, auc in (("small", 3, 0.68), ("small-converged", 3, 0.70)):
        for seed in (42, 43):
            cfg = make_config("V2", "as_run", dataset="assist2015", seed=seed, epochs=epochs)
            _write_run(tmp_path, f"V2-as_run-{label}", cfg, test={"enc1_auc": auc + seed * 1e-4})
    t = plateau.converged_comparison(runs.load_runs(tmp_path), {"test_enc1_auc": "E1 test AUC"})
    assert list(t.configuration) == ["faithful", "to the plateau"] and list(t.seeds) == ["42, 43"] * 2
    assert t["E1 test AUC"].iloc[1].startswith("0.7042 ± 0.0001 (n=2)")
    assert t["how it ended"].iloc[0] == "budget, plateau"
    assert plateau.converged_comparison(runs.load_runs(tmp_path / "none"), {"test_enc1_auc": "x"}).empty


def test_converged_comparison_keeps_the_floor_and_plateau_shift_tests_each_metric(tmp_path):
    for label, base in (("small", 0.68), ("small-converged", 0.70)):
        for seed in (42, 43, 44):
            cfg = make_config("V2", "as_run", dataset="assist2015", seed=seed, epochs=3)
            e = (seed - 43) * 1e-3
            _write_run(tmp_path, f"V2-as_run-{label}", cfg,
                       test={"enc1_auc": base + e, "enc2_auc": 0.56 - e, "gain_scalar_std": 0.004 + e / 10},
                       untrained={"gain_scalar_std": 0.003 + e / 100})
    df = runs.load_runs(tmp_path)
    m = {"test_enc1_auc": "E1", "test_enc2_auc": "E2", "valid_gain_scalar_std": "std"}
    t = plateau.converged_comparison(df, m)
    assert list(t.columns[-4:]) == ["E1", "E2", "std", "std, untrained"]   # AUCs have no floor
    assert t["std, untrained"].iloc[0].startswith("0.003000 ± 0.000010")
    s = plateau.plateau_shift(df, m).set_index("metric")
    assert s.loc["E1", "shift"] == pytest.approx(0.02) and s.loc["E1", "beyond seed noise"]
    assert s.loc["E2", "shift"] == pytest.approx(0.0) and not s.loc["E2", "beyond seed noise"]
    text = plateau.plateau_text(plateau.plateau_shift(df, m))
    assert text.startswith("V2 as run (3 against 3 seeds): beyond seed noise, E1 0.6800 → 0.7000 (Welch t +")
    assert "within it, E2 (p 1), std (p 1)." in text
    assert plateau.plateau_text(plateau.plateau_shift(df[df.label == "small"], m)) == ""


def test_verdict_kind_reads_the_verdict_word_and_the_untrained_flag():
    assert plateau.verdict_kind("reproduced (within 2 sd)") == "reproduced"
    assert plateau.verdict_kind("close: ours higher by 0.01 (3 sd; under 0.02); = untrained") == "close (= untrained)"
    assert plateau.verdict_kind("differs: ours lower by 0.1 (9 sd)") == "differs"
    assert plateau.verdict_kind("not run yet") == "not run yet"


def test_verdict_changes_compares_both_labels_against_the_seeds(tmp_path):
    # the seeds report V2's Encoder-1 test AUC 0.6825: faithful runs at it, plateau runs well above it
    for label, auc in (("small", 0.6825), ("small-converged", 0.70)):
        for seed in (42, 43, 44):
            cfg = make_config("V2", "as_run", dataset="assist2015", seed=seed, epochs=3)
            _write_run(tmp_path, f"V2-as_run-{label}", cfg, test={"enc1_auc": auc + (seed - 43) * 1e-4})
    c = plateau.verdict_changes(runs.load_runs(tmp_path)).set_index("quantity")
    assert c.loc["enc1_test_auc", "changed"]
    assert c.loc["enc1_test_auc", "verdict, faithful"].startswith("reproduced")
    assert c.loc["enc1_test_auc", "verdict, to the plateau"].startswith("differs")
    text = plateau.verdict_changes_text(plateau.verdict_changes(runs.load_runs(tmp_path)))
    assert "V2 as run, enc1_test_auc (seeds 0.6825): reproduced → differs" in text
    assert plateau.verdict_changes_text(plateau.verdict_changes(runs.load_runs(tmp_path / "none"))) == ""

"""The chapter analyses over run folders: run table, verdicts, ablation switches (fake folders)."""
import json

import numpy as np
import pandas as pd
import pytest

from gainakt.analysis import audit, replication, runs
from gainakt.variants import make_config


def _write_run(root, name, cfg, test, untrained=None, epochs_run=3, best=2):
    d = root / cfg.dataset / name / f"seed{cfg.seed}"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"config": cfg.to_dict(), "git_commit": "x"}))
    (d / "metrics.json").write_text(json.dumps({
        "best_epoch": best, "epochs_run": epochs_run, "test": test, "valid": test,
        "untrained_valid": untrained or {}, "params": {"beta_std": 0.0}, "checks_passed": 2}))
    h = pd.DataFrame({"epoch": range(epochs_run + 1), "epoch_seconds": 1.0,
                      "valid_enc1_auc": [0.5, 0.6, 0.7, 0.65][: epochs_run + 1],
                      "valid_enc2_auc": 0.55, "train_enc1_auc": 0.8})
    h.to_csv(d / "history.csv", index=False)
    return d


def test_stopping_classifies_runs():
    h = pd.DataFrame({"epoch": [0, 1, 2, 3], "valid_enc1_auc": [0.5, 0.6, 0.7, 0.65]})
    assert runs.stopping(h, epochs=3, patience=10) == "budget, plateau"
    assert runs.stopping(h, epochs=5, patience=1) == "early stop"
    h2 = pd.DataFrame({"epoch": [0, 1, 2], "valid_enc1_auc": [0.5, 0.6, 0.7]})
    assert runs.stopping(h2, epochs=2, patience=10) == "budget, still improving"


def test_training_seconds_counts_a_paused_epoch_as_the_median():
    h = pd.DataFrame({"epoch": [0, 1, 2, 3, 4], "epoch_seconds": [0.0, 100.0, 110.0, 1800.0, 120.0]})
    assert runs.training_seconds(h) == pytest.approx(100 + 110 + 115 + 120)   # 1800 s: a pause
    h.loc[3, "epoch_seconds"] = 400.0   # under 5x the median: a slower epoch, kept
    assert runs.training_seconds(h) == pytest.approx(730.0)
    assert np.isnan(runs.training_seconds(h.drop(columns="epoch_seconds")))


def test_replication_verdicts_and_noise_floor(tmp_path):
    for seed, auc in zip((42, 43, 44), (0.680, 0.684, 0.682)):
        cfg = make_config("V2", "as_run", dataset="assist2015", seed=seed)
        _write_run(tmp_path, "V2-as_run-small", cfg,
                   test={"enc1_auc": auc, "gain_scalar_std": 0.0030 + (seed - 43) * 1e-5},
                   untrained={"gain_scalar_std": 0.0030})
    df = runs.load_runs(tmp_path)
    assert len(df) == 3 and set(df.label) == {"small"}
    assert set(df.cpu) == {""}   # these records name no CPU: older runs did not
    assert df.train_enc1_auc.iloc[0] == 0.8  # train metrics of the best epoch
    t = replication.replication_table(df).set_index(["variant", "quantity"])
    # 0.6825 lies within 2 sd of 0.682 +- 0.002: reproduced
    assert t.loc[("V2", "enc1_test_auc"), "verdict (as_run)"].startswith("reproduced")
    # 0.0017 vs ~0.0030: differs, and the trained value equals the untrained one within noise
    v = t.loc[("V2", "gain_std"), "verdict (as_run)"]
    assert v.startswith("differs") and v.endswith("= untrained")
    assert t.loc[("V3", "enc1_test_auc"), "verdict (as_run)"] == "not run yet"


def test_verdict_calls_a_gap_under_the_practical_tolerance_close_and_says_when_both_are_at_chance():
    vals = np.array([0.5440, 0.5441, 0.5442])          # sd 0.0001: 0.0012 is 12 sd but under 0.005 AUC
    assert replication.verdict(0.5428, vals, key="enc2_test_auc").startswith("close: ours higher by 0.0013")
    assert replication.verdict(0.5428, vals).startswith("differs")          # no key: no tolerance
    assert replication.verdict(0.5300, vals, key="enc2_test_auc").startswith("differs")
    assert "> 100 sd" in replication.verdict(0.60, vals, key="enc2_test_auc")
    assert "our sd 0" in replication.verdict(4, np.array([20.0, 20.0, 20.0]), key="best_epoch")
    assert replication.verdict(0.4842, np.array([0.5032, 0.5032, 0.5033]), key="enc2_val_auc").endswith(
        "both at chance")
    # gain statistics: 5 % of the seeds' value
    assert replication.verdict(0.0370, np.array([0.0374, 0.0375, 0.0376]), key="mastery_corr").startswith("close")


def test_load_runs_reads_the_trajectory_checks_of_runs_with_a_final_training_evaluation(tmp_path):
    cfg = make_config("V2", "as_intended", seed=42, epochs=3)
    d = _write_run(tmp_path, "V2-as_intended-small", cfg, {"enc1_auc": 0.7, "enc2_auc": 0.6})
    m = json.loads((d / "metrics.json").read_text())
    m["train"] = {"enc1_auc": 0.75}
    (d / "metrics.json").write_text(json.dumps(m))
    table = runs.load_runs(tmp_path)
    assert table.checks_passed.iloc[0] == 2 and table.train_enc1_auc.iloc[0] == 0.75


def test_verdict_marks_too_few_seeds():
    assert replication.verdict(0.5, np.array([0.51, 0.52])).startswith("preliminary (n=2)")
    assert replication.verdict(0.5, np.array([0.6])).startswith("one run")


def test_ablation_switch_comes_from_the_configs(tmp_path):
    for seed in (42, 43):
        base = make_config("V2", "as_run", dataset="assist2015", seed=seed)
        _write_run(tmp_path, "V2-as_run-small", base, test={"enc2_auc": 0.59 + seed * 1e-4})
        # the label says one thing; the config says loss_on=logits: the table must say the latter
        flipped = make_config("V2", "as_run", dataset="assist2015", seed=seed, loss_on="logits")
        _write_run(tmp_path, "V2-as_run-small-audit-misnamed", flipped, test={"enc2_auc": 0.62 + seed * 1e-4})
    t = audit.ablation_table(runs.load_runs(tmp_path), "V2", "as_run")
    assert list(t.switch) == ["base (V2 as_run)", "loss_on=logits"]
    assert t.seeds.tolist() == [2, 2]
    assert t["Δ Enc-2 AUC (t, p)"].iloc[1].startswith("+0.0300")
    # with the untrained model on record, a last row gives the noise floor of the base's runs
    for seed in (42, 43):
        _write_run(tmp_path / "u", "V2-as_run-small", make_config("V2", "as_run", dataset="assist2015", seed=seed),
                   test={"enc2_auc": 0.59}, untrained={"enc2_auc": 0.5 + seed * 1e-4})
    t = audit.ablation_table(runs.load_runs(tmp_path / "u"), "V2", "as_run")
    assert t.switch.iloc[-1] == "untrained V2 as_run (epoch 0, validation split)"
    assert t["Enc-2 AUC"].iloc[-1] == "0.5042 ± 0.0001"


def test_welch_t_and_mean_sd():
    assert runs.welch_t([1, 2], [1]) != runs.welch_t([1, 2], [1])  # NaN with one value
    assert runs.welch_t([2, 2.1, 1.9], [1, 1.1, 0.9]) == pytest.approx(12.247, rel=1e-3)
    assert runs.mean_sd([1.0, 2.0, 3.0], 1) == "2.0 ± 1.0 (n=3)"
    assert runs.mean_sd([0.5, float("nan"), None]) == "0.5000 (n=1)" and runs.mean_sd([]) == ""
    # digits None: 6 decimals when every value is near 0 (the gain statistics), else 4
    assert runs.mean_sd([0.0015, 0.0017], None, n=False) == "0.001600 ± 0.000141"
    assert runs.mean_sd([0.2, 0.3], None, n=False) == "0.2500 ± 0.0707"
    assert runs.mean_sd([0.1, 0.2], 3, n=False, sign=True) == "+0.150 ± 0.071"


def test_training_diagnostics_draws_the_drift_of_every_curve_scalar(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from gainakt.analysis.figures import training_diagnostics
    cfg = make_config("V2", "as_run", dataset="assist2015", seed=42)
    d = _write_run(tmp_path, "V2-as_run-small", cfg, test={"enc1_auc": 0.7})
    h = pd.read_csv(d / "history.csv")
    for col, v in {"grad_gains_im": 1e-3, "grad_gains_variance": 1e-1, "grad_gains_contrastive": 0.0,
                   "valid_saturation_fraction_readout": 0.9, "theta": 0.5, "offset": 2.0, "msat_mean": 0.8,
                   "beta_mean": 2.0, "gamma_mean": 1.0, "beta_std": 0.1, "gamma_std": 0.01}.items():
        h[col] = v + 0.01 * h.epoch if v else 0.0
    h.to_csv(d / "history.csv", index=False)
    fig = training_diagnostics(runs.load_runs(tmp_path), variants=("V2",))
    axes = fig.axes[:5]
    assert [a.get_title() for a in axes] == ["grad at gains (log)", "flat read-out share", "theta, offset, M_sat",
                                            "mean beta, gamma", "sd of beta, gamma"]
    assert [len(a.lines) for a in axes] == [2, 1, 3, 2, 2]   # no contrastive line: its gradient is 0
    assert list(axes[2].lines[2].get_ydata()) == list(h.msat_mean)
    assert axes[0].get_yscale() == "log"


def test_audit_answers_name_the_switches_that_move_each_metric(tmp_path):
    assert audit.answers(runs.load_runs(tmp_path))[0].startswith("Pending")
    for seed in (42, 43, 44):
        e = (seed - 43) * 1e-3
        base = dict(enc1_auc=0.68 + e, enc2_auc=0.57 + e, gain_scalar_std=0.0017 + e / 100)
        _write_run(tmp_path, "V2-as_run-small", make_config("V2", "as_run", dataset="assist2015", seed=seed), test=base)
        # logits raise Encoder 2's AUC well beyond seed noise; practised accumulation moves nothing
        _write_run(tmp_path, "V2-as_run-small-audit-logits",
                   make_config("V2", "as_run", dataset="assist2015", seed=seed, loss_on="logits"),
                   test={**base, "enc2_auc": 0.65 + e})
        _write_run(tmp_path, "V2-as_run-small-audit-practised",
                   make_config("V2", "as_run", dataset="assist2015", seed=seed, accumulate="practised"),
                   test={k: v + e / 10 for k, v in base.items()})
    a = audit.answers(runs.load_runs(tmp_path))
    assert a[0].endswith("(or, put back, lowers it).")               # nothing moves the legacy scalar std
    assert "The bases: V2 as run 0.001700 ± 0.000010 (test split; the seeds: 0.0017). None" in a[0]
    assert "`loss_on=logits` (removed: +0.08" in a[1] and "practised" not in a[1]
    assert "`accumulate=practised` (removed)" in a[2] and "logits" not in a[2]
    # a behaviour whose removal LOWERS Encoder 2's AUC does not explain a low AUC: said apart
    for seed in (42, 43, 44):
        e = (seed - 43) * 1e-3
        _write_run(tmp_path, "V2-as_run-small-audit-mask_padding",
                   make_config("V2", "as_run", dataset="assist2015", seed=seed, mask_padding=True),
                   test=dict(enc1_auc=0.68 + e, enc2_auc=0.55 + e, gain_scalar_std=0.0017 + e / 100))
    a = audit.answers(runs.load_runs(tmp_path))
    explains, other = a[1].split("Moving it the other way")
    assert "logits" in explains and "mask_padding" not in explains and "`mask_padding=True` (removed: -0.02" in other
    # the Encoder-2 answer ends with the best Encoder 2 of any row beside a yardstick model
    a = audit.answers(runs.load_runs(tmp_path), yardstick=("skill-only model", 0.642))
    assert "The best Encoder 2 of every base and finished row is 0.6500 (V2 as run, the row `logits`)" \
        in a[1] and "above the skill-only model (0.6420" in a[1]
    a = audit.answers(runs.load_runs(tmp_path), yardstick=("skill-only model", 0.70))
    assert "Whatever is switched, Encoder 2 stays weak: the best" in a[1] and "below the skill-only" in a[1]
    # one paragraph per switch, with the field's help text, what moved, and pending rows said so
    for seed in (42, 43, 44):
        _write_run(tmp_path, "V2-as_intended-small", make_config("V2", "as_intended", dataset="assist2015", seed=seed),
                   test={"enc1_auc": 0.7})
    _write_run(tmp_path, "V2-as_intended-small-audit-probabilities",
               make_config("V2", "as_intended", dataset="assist2015", seed=42, loss_on="probabilities"),
               test={"enc1_auc": 0.7})
    notes = {n.split("**")[1]: n for n in audit.switch_notes(runs.load_runs(tmp_path))}
    assert set(notes) == {"`loss_on`", "`accumulate`", "`mask_padding`"}
    assert "double sigmoid" in notes["`loss_on`"] and "Enc-2 AUC +0.08" in notes["`loss_on`"]
    assert "Put back into V2 as intended (loss_on=probabilities): pending (1 of 3 seeds)." in notes["`loss_on`"]
    assert notes["`accumulate`"].endswith("(accumulate=practised): no metric beyond seed noise.")


def test_audit_says_when_a_switch_never_reached_a_metric(tmp_path):
    """Equal to six significant digits in every seed is not 'within seed noise': the paragraph says
    the switch never reached the metric; float rounding (8th digit) still counts as equal."""
    for seed in (42, 43, 44):
        e = (seed - 43) * 1e-3
        base = dict(enc1_auc=0.70 + e, enc2_auc=0.56 + e, gain_scalar_std=0.0066 + e / 100)
        _write_run(tmp_path, "V2-as_intended-small", make_config("V2", "as_intended", dataset="assist2015", seed=seed),
                   test=base)
        # the other encoder's option: Encoder 1 falls, Encoder 2 and the gains equal the base seed for seed
        _write_run(tmp_path, "V2-as_intended-small-audit-enc1_current",
                   make_config("V2", "as_intended", dataset="assist2015", seed=seed, enc1_query="current"),
                   test={**base, "enc1_auc": 0.66 + e, "enc2_auc": base["enc2_auc"] * (1 + 1e-8)})
        # an evaluation option that reaches nothing: every metric equal
        _write_run(tmp_path, "V2-as_intended-small-audit-gamma_mean_eval",
                   make_config("V2", "as_intended", dataset="assist2015", seed=seed, gamma_at_eval="mean"),
                   test=dict(base))
    notes = {n.split("**")[1]: n for n in audit.switch_notes(runs.load_runs(tmp_path))}
    assert "Enc-1 AUC -0.04" in notes["`enc1_query`"]
    assert "(the switch never reached them): Enc-2 AUC, legacy scalar std" in notes["`enc1_query`"]
    assert "every metric equal to the base's to six significant digits" in notes["`gamma_at_eval`"]
    a = audit.answers(runs.load_runs(tmp_path), variant="V2")
    assert "`gamma_at_eval=mean` (put back; equal to the base in every seed)" in a[2]
    # another base's rows (V4 as run, its factory fixed) count too, named with their base
    for seed in (42, 43, 44):
        e = (seed - 43) * 1e-3
        for label, kw in (("small", {}), ("small-audit-factory_fixed", {"original_factory": False})):
            _write_run(tmp_path, f"V4-as_run-{label}", make_config("V4", "as_run", dataset="assist2015", seed=seed, **kw),
                       test=dict(enc1_auc=0.66 + e, enc2_auc=0.53 + e + (1e-4 if kw else 0), gain_scalar_std=0.004))
    a = audit.answers(runs.load_runs(tmp_path), variant="V2")
    assert "`original_factory=False` (removed, V4 as run)" in a[2] and "gamma_at_eval=mean" in a[2]
    assert "original_factory" not in a[1]
    g = pd.DataFrame({"seed": [42, 43], "x": [1.0, 2.0]})
    # the same values under swapped seeds are not equal seed for seed
    assert audit.identical_metrics(g, g.assign(seed=[43, 42]), {"x": "x"}) == []
    assert audit.identical_metrics(g, g.assign(x=[1.0, 2.0 + 1e-4]), {"x": "x"}) == []
    assert audit.identical_metrics(g, g, {"x": "x"}) == ["x"]


def test_identical_training_compares_every_number_and_says_which_runs_were_copied(tmp_path):
    for variant, auc in (("V3", 0.66), ("V4", 0.66), ("V5", 0.66)):
        cfg = make_config(variant, "as_run", dataset="assist2015", seed=42)
        d = _write_run(tmp_path, f"{variant}-as_run-small", cfg, test={"enc1_auc": auc, "enc2_auc": 0.53})
        if variant == "V5":
            rec = json.loads((d / "config.json").read_text())
            rec["derived_from"] = {"results_dir": "results/assist2015/V3-as_run-small/seed42"}
            (d / "config.json").write_text(json.dumps(rec))
    # V4 "trained" with a different Encoder-2 AUC: the table must show it
    m = tmp_path / "assist2015/V4-as_run-small/seed42/metrics.json"
    rec = json.loads(m.read_text())
    rec["test"]["enc2_auc"] = 0.54
    m.write_text(json.dumps(rec))
    df = runs.load_runs(tmp_path)
    assert df.set_index("variant").loc["V5", "train_seconds"] == 0.0   # a copy trained nothing
    t = replication.identical_training(df).set_index("run")
    assert t.loc["V5 as run", "how"] == "copied from V3" and t.loc["V4 as run", "how"] == "trained"
    assert t.loc["V5 as run", "max |diff| metrics"] == 0.0
    assert t.loc["V4 as run", "max |diff| metrics"] == pytest.approx(0.01)
    assert t.loc["V4 as run", "max |diff| history"] == 0.0


def test_inv_difficulty_corr_reads_the_difficulty_the_run_names(tmp_path):
    from gainakt import data as kt_data, features

    ds = kt_data.load_dataset("synthetic")
    C = ds.num_skills
    inv = {"train": 1 / features.train_skill_difficulty(ds.train, C),
           "original": 1 / features.original_skill_difficulty(ds.valid, C)}
    for flavour in ("as_run", "as_intended"):
        cfg = make_config("V4", flavour, dataset="synthetic", seed=42)
        d = _write_run(tmp_path, f"V4-{flavour}-small", cfg, test={"enc1_auc": 0.7})
        src = cfg.difficulty_source
        n = np.r_[np.full(C - 1, 50), 5]            # the last skill is too rare to count
        gains = pd.DataFrame({"skill": range(C), "n": n, "gain_scalar_mean": inv[src],
                              "gain_own_mean": -inv[src] + np.r_[np.zeros(C - 1), 100.0]})
        gains.to_csv(d / "skill_gains.csv", index=False)
        gains.assign(gain_scalar_mean=1.0).to_csv(d / "skill_gains_untrained.csv", index=False)
    df = replication.add_inv_difficulty_corr(runs.load_runs(tmp_path), variants=("V4",), dataset="synthetic")
    assert df.test_corr_inv_difficulty.tolist() == pytest.approx([1.0, 1.0])
    assert df.test_corr_inv_difficulty_skill.tolist() == pytest.approx([-1.0, -1.0])   # the rare skill left out
    assert df.untrained_corr_inv_difficulty.isna().all()                              # constant gains: undefined
    t = replication.inv_difficulty_table(df).set_index("flavour")
    assert t.loc["as_run", "difficulty from"] == "original" and t.loc["as_intended", "difficulty from"] == "train"


def test_config_diff_takes_a_missing_field_as_its_default():
    old = {k: v for k, v in make_config("V2", "as_run").to_dict().items() if k not in ("shared_curve", "gains_impl")}
    new = make_config("V2", "as_run", mask_padding=True).to_dict()
    assert runs.config_diff(old, new) == {"mask_padding": True}   # not the fields added since


def test_audit_reach_lists_a_switch_only_when_it_moves_the_number_to_the_seeds(tmp_path):
    """V2 as run misses the seeds' Encoder 2 (0.5931); a row that moves it there beyond seed noise is
    listed, a row that only reaches it by its own spread is not, nor is a number the base reproduces."""
    for seed in (42, 43, 44):
        e = (seed - 43) * 1e-3
        _write_run(tmp_path, "V2-as_run-small", make_config("V2", "as_run", dataset="assist2015", seed=seed),
                   test={"enc1_auc": 0.6825 + e, "enc2_auc": 0.564 + e})
        _write_run(tmp_path, "V2-as_run-small-audit-mastery_next",
                   make_config("V2", "as_run", dataset="assist2015", seed=seed, mastery_index="next"),
                   test={"enc1_auc": 0.6825 + e, "enc2_auc": 0.594 + e})
        _write_run(tmp_path, "V2-as_run-small-audit-logits",     # wide: reaches 0.5931 by spread alone
                   make_config("V2", "as_run", dataset="assist2015", seed=seed, loss_on="logits"),
                   test={"enc1_auc": 0.6825 + e, "enc2_auc": 0.566 + 30 * e})
    t = replication.audit_reach(runs.load_runs(tmp_path))
    assert set(t.quantity) == {"enc2_test_auc"}   # enc1: the base reproduces it; valid 0.594 misses 0.5969
    assert set(t.switch) == {"mastery_index=next"}
    row = t[t.quantity == "enc2_test_auc"].iloc[0]
    assert row["base"].startswith("0.5640 ± 0.0010") and row["with the switch"].startswith("0.5940")
    assert row["Welch t"] > 2


def test_switch_notes_say_set_in_for_another_variants_value():
    """V3's Encoder-1 query tried on V2 is neither removed from V2 as run nor put back into V2 as
    intended: both V2 flavours ran the next skill."""
    assert audit._verb("V2", "as_run", "enc1_query=current") == "set in"
    assert audit._verb("V2", "as_intended", "enc1_query=current") == "set in"
    assert audit._verb("V2", "as_run", "mastery_index=next") == "removed from"
    assert audit._verb("V2", "as_intended", "loss_on=probabilities") == "put back into"


def test_switch_by_date_puts_each_variant_beside_its_switched_row_in_run_order(tmp_path):
    """V1 and V2 ran before the seeds' dated change, V3 after: the table keeps the seeds' order and
    times, reads each switched row against its own base, and says 'not run yet' for a missing row."""
    for seed in (42, 43, 44):
        e = (seed - 43) * 1e-3
        for v, base_e2, next_e2 in (("V1", 0.569, 0.584), ("V2", 0.564, 0.594), ("V3", 0.534, None)):
            _write_run(tmp_path, f"{v}-as_run-small", make_config(v, "as_run", dataset="assist2015", seed=seed),
                       test={"enc1_auc": 0.68, "enc2_auc": base_e2 + e})
            if next_e2 is not None:
                _write_run(tmp_path, f"{v}-as_run-small-audit-mastery_next",
                           make_config(v, "as_run", dataset="assist2015", seed=seed, mastery_index="next"),
                           test={"enc1_auc": 0.68, "enc2_auc": next_e2 + e})
    t = replication.switch_by_date(runs.load_runs(tmp_path))
    test = t[t.quantity == "enc2_test_auc"].set_index("variant")
    assert list(test.index) == ["V1", "V2", "V3"]
    assert test.loc["V1", "seeds ran it"] < test.loc["V2", "seeds ran it"] < test.loc["V3", "seeds ran it"]
    assert test.loc["V2", "switch"] == "mastery_index=next"
    assert test.loc["V2", "switched"].startswith("0.5940") and test.loc["V2", "verdict (switched)"].startswith("reproduced")
    assert test.loc["V2", "verdict (base)"].startswith("differs") and test.loc["V2", "Welch t"] > 2
    assert test.loc["V1", "verdict (switched)"].startswith("reproduced")   # 0.584 ± 0.001 against 0.5835
    assert test.loc["V3", "verdict (switched)"] == "not run yet" and np.isnan(test.loc["V3", "Welch t"])
    # the fake runs' validation AUC is their test AUC, which misses the seeds' validation numbers
    assert replication.switch_by_date_sentence(t) == ("With the switch, V1: reproduced only enc2_test_auc; "
                                                      "V2: reproduced only enc2_test_auc; V3: not run yet.")
    # V2 alone reproduced, V1 overshooting and V3 short: the sentence says the switch dates nothing
    one = pd.DataFrame({"variant": ["V1", "V2", "V3"], "quantity": "enc2_test_auc",
                        "verdict (switched)": ["differs: ours higher by 0.02 (20 sd)", "reproduced (within 2 sd)",
                                               "differs: ours lower by 0.04 (3 sd)"]})
    s = replication.switch_by_date_sentence(one)
    assert s.startswith("With the switch, V1: missed (overshoots: ours higher); V2: reproduced; "
                        "V3: missed (falls short: ours lower).") and "reproduces V2 alone" in s


def test_beyond_noise_uses_the_welch_degrees_of_freedom_not_t_2():
    """|t| = 2.3 with 3 seeds a side is not beyond seed noise (p about 0.08); a clear effect over 30
    seeds is; bit-identical runs are p 1 and a shift without spread is p 0."""
    from gainakt.analysis.runs import beyond_noise, welch_p, welch_t

    a, b = np.array([1.0, 2.0, 3.0]), np.array([-0.9, 0.1, 1.1])   # t = 1.9 / sqrt(2/3) = 2.33, 4 df
    assert 2.3 < welch_t(a, b) < 2.4 and 0.05 < welch_p(a, b) < 0.1 and not beyond_noise(welch_p(a, b))
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 30)
    assert beyond_noise(welch_p(x + 1.0, x))
    assert welch_p([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]) == 1.0 and welch_p([1, 1, 1], [0, 0, 0]) == 0.0
    assert not beyond_noise(float("nan"))


def test_version_drift_reports_what_a_code_version_alone_moves(tmp_path):
    for seed in (42, 43, 44):
        cfg = make_config("V2", "as_run", dataset="assist2015", seed=seed)
        _write_run(tmp_path, "V2-as_run-small", cfg, test={"enc1_auc": 0.68 + seed / 1e3})
        d = _write_run(tmp_path, "V2-as_run-small-audit-gamma_eval",
                       make_config("V2", "as_run", dataset="assist2015", seed=seed, gamma_at_eval="per_student"),
                       test={"enc1_auc": 0.68 + seed / 1e3 + 3e-5})
    table = runs.load_runs(tmp_path)
    assert audit.version_drift(table) == ""                  # same commit: nothing to say
    for f in (d.parent).glob("seed*/config.json"):   # the rows ran on another commit
        f.write_text(json.dumps({**json.loads(f.read_text()), "git_commit": "abcdef0123"}))
    s = audit.version_drift(runs.load_runs(tmp_path))
    assert "later code commit (abcdef0)" in s and "up to 3.0e-05" in s


def test_inv_difficulty_sentence_says_when_the_untrained_model_already_has_the_correlation():
    t = pd.DataFrame({"variant": "V4", "flavour": "as_intended", "label": "small", "seed": [42, 43, 44],
                      "test_corr_inv_difficulty": 0.2,
                      "test_corr_inv_difficulty_skill": [0.55, 0.58, 0.60],
                      "untrained_corr_inv_difficulty_skill": [0.56, 0.60, 0.59]})
    s = replication.inv_difficulty_sentence(t)
    assert "V4 as intended 0.5767 ± 0.0252 against the seeds' 0.57 (reproduced)" in s
    assert "training does not move it beyond seed noise" in s
    t["untrained_corr_inv_difficulty_skill"] = [0.01, 0.02, 0.03]
    assert "training moves it beyond seed noise" in replication.inv_difficulty_sentence(t)

"""The as-run flavour does what the original code did (docs/original_implementation.md), and the
fixed metric definitions (issue 24; issue 17 item 0)."""
import dataclasses
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
import torch

from gainakt import report
from gainakt.batches import iter_steps
from gainakt.config import Config
from gainakt.data import Student, build_dataset, per_split_student_index
from gainakt.metrics import CHECK_NOTES, CHECKS, trajectory_checks, trajectory_gain_stats
from gainakt.repro import TIMING_COLUMNS
from gainakt.train import Experiment, run
from gainakt.variants import AS_RUN_ALTERNATIVES, NOTES, VARIANTS, make_config

from test_train import TINY, tiny_data  # noqa: F401  (the same tiny data set and sizes; tiny_data is a fixture)


# --- flavour settings ------------------------------------------------------------------------

@pytest.mark.parametrize("key", list(VARIANTS))
def test_as_run_flavour_is_the_original_and_as_intended_the_fixes(key):
    run_cfg, fixed = make_config(key, "as_run"), make_config(key, "as_intended")
    # audit 3.2: batch_size windows, padded (run packed: the same losses and gradients), file order,
    # no shuffling; 5.0: c[:-1] * mask
    assert (run_cfg.batching, run_cfg.shuffle, run_cfg.batch_size) == ("packed", False, 64)
    assert run_cfg.zero_unmasked_inputs and run_cfg.gamma_at_eval == "mean"
    assert run_cfg.student_index == "per_split" and run_cfg.unseen_student_gamma == "own"
    assert (fixed.batching, fixed.shuffle) == ("packed", False) and not fixed.zero_unmasked_inputs
    assert fixed.unseen_student_gamma == "trained_mean" and fixed.student_index == "global"


def test_padded_batches_are_the_originals_file_order(tiny_data):
    split = tiny_data.train
    steps = list(iter_steps(split, 16, batching="padded", shuffle=False, seed=5))
    assert all(len(s) == 1 for s in steps)
    got = torch.cat([s[0].index for s in steps])
    assert got.tolist() == list(range(len(split.lengths)))          # file order, every window once
    assert {s[0].q.shape[1] for s in steps} == {split.skills.shape[1] - 1}   # padded to seq_len
    assert [len(s[0].index) for s in steps[:-1]] == [16] * (len(steps) - 1)


# --- per-split student index (audit 5.0) ------------------------------------------------------

def _students(uids, fold=0):
    return [Student(u, np.array([0, 1, 0]), np.array([1, 0, 1]), fold) for u in uids]


def test_per_split_index_sorts_integer_uids_numerically():
    ds = build_dataset("x", 2, _students(["10", "2", "9"]) + _students(["7"], fold=1), _students(["30"], -1))
    idx = per_split_student_index(ds.valid, ds.student_ids)
    raw = [ds.student_ids[i] for i in ds.valid.students.tolist()]
    # sorted(df.uid.unique()) on integers: 2 -> 0, 9 -> 1, 10 -> 2 (as strings "10" would come first)
    assert dict(zip(raw, idx.tolist())) == {"2": 0, "9": 1, "10": 2}
    ds2 = build_dataset("x", 2, _students(["b", "a10", "a9"]) + _students(["c"], fold=1), _students(["d"], -1))
    raw2 = [ds2.student_ids[i] for i in ds2.valid.students.tolist()]
    assert dict(zip(raw2, per_split_student_index(ds2.valid, ds2.student_ids).tolist())) == \
        {"a10": 0, "a9": 1, "b": 2}


# --- the input at steps without a target (audit 5.0) ----------------------------------------

def test_zero_unmasked_inputs_feeds_token_0_after_the_last_target_and_changes_only_padding(tiny_data):
    cfg = make_config("V3", "as_run", **TINY, dropout=0.0)
    exp = Experiment(cfg, tiny_data)
    exp.model.eval()
    batch = next(b for b in exp.batches(exp.splits["valid"], shuffle=False)
                 if (b.mask.sum(1) < b.mask.shape[1]).any())
    seen = {}
    orig = exp.model.forward

    def spy(q, r, *a, **k):
        seen["q"], seen["r"] = q, r
        return orig(q, r, *a, **k)
    exp.model.forward = spy
    outs = {}
    with torch.no_grad():
        for flag in (True, False):
            exp.cfg = dataclasses.replace(cfg, zero_unmasked_inputs=flag)
            outs[flag] = (exp.forward(batch, training=False, states=True), seen["q"].clone(), seen["r"].clone())
    (on, q_on, r_on), (off, q_off, _) = outs[True], outs[False]
    b = int(torch.nonzero(batch.mask.sum(1) < batch.mask.shape[1])[0])
    n_targets = int(batch.mask[b].sum())     # t = n_targets is the last real interaction (n - 1)
    assert q_on[b, n_targets] == 0 and r_on[b, n_targets] == 0
    assert q_off[b, n_targets] == batch.q[b, n_targets]
    m = batch.mask
    for k in ("p_enc1", "p_im", "gain_q", "mastery_q"):        # every valid position: identical
        torch.testing.assert_close(on[k][m], off[k][m])
    assert not torch.allclose(on["skill_gains"][b, n_targets], off["skill_gains"][b, n_targets])


# --- gamma in the final evaluation (audit 2.6, 5.1) ------------------------------------------

@pytest.mark.parametrize("flavour, expected", [("as_run", "mean"), ("as_intended", None)])
def test_final_evaluation_gamma(flavour, expected, tiny_data, tmp_path, monkeypatch):
    calls = []
    real = Experiment.evaluate

    def spy(self, split, gamma_mode=None):
        calls.append((split.name, gamma_mode))
        return real(self, split, gamma_mode)
    monkeypatch.setattr(Experiment, "evaluate", spy)
    res = run(make_config("V2", flavour, **TINY), tmp_path, dataset=tiny_data, log=lambda *_: None)
    assert calls[-3:] == [("train", expected), ("valid", expected), ("test", expected)]
    assert {"train", "valid", "test"} <= set(res)


# --- students never seen in training (issue 17 item 0) ---------------------------------------

def test_unseen_students_get_the_trained_mean_and_no_decay(tiny_data):
    base = make_config("V2", "as_intended", **TINY, dropout=0.0)
    exps = {}
    for mode in ("trained_mean", "own"):
        exp = Experiment(dataclasses.replace(base, unseen_student_gamma=mode), tiny_data)
        for epoch in (1, 2):
            exp.train_epoch(epoch)
        exps[mode] = exp
    trained = exps["own"].model.gamma_trained.cpu()
    assert trained.any() and not trained.all()          # valid/test students are not in training
    g_fix = exps["trained_mean"].model.gamma_student.detach().cpu()
    g_own = exps["own"].model.gamma_student.detach().cpu()
    init = base.gamma_student_init
    assert torch.all(g_fix[~trained] == init)            # no decay: never moved
    assert torch.all(g_own[~trained] < init)             # as run: coupled L2 inside Adam moves them
    assert not torch.all(g_fix[trained] == init)
    torch.testing.assert_close(g_fix[trained], g_own[trained])   # trained students: the same decay
    model = exps["trained_mean"].model
    unseen = torch.nonzero(~trained).flatten()[:3]
    seen = torch.nonzero(trained).flatten()[:2]
    got = model.gamma(torch.cat([unseen, seen]), "per_student").detach()
    assert torch.allclose(got[:3], g_fix[trained].mean().expand(3))
    assert torch.allclose(got[3:], g_fix[seen])


def test_parameter_stats_describe_trained_students_only(tiny_data):
    from gainakt.metrics import parameter_stats
    exp = Experiment(make_config("V2", "as_intended", **TINY), tiny_data)
    with torch.no_grad():
        exp.model.gamma_student[~exp.model.gamma_trained] = 9.0
    assert parameter_stats(exp.model)["gamma_max"] == pytest.approx(TINY.get("gamma_student_init", 1.0))


# --- metric definitions ----------------------------------------------------------------------

def _traj(gain_scalar, gain_skill, response, response_next, skills, active=12.0):
    T = len(skills)
    return pd.DataFrame({"window": 0, "student": 0, "step": np.arange(T), "skill": skills,
                         "response": response, "response_next": response_next,
                         "mastery_current": np.linspace(0.1, 0.5, T), "mastery_q": np.linspace(0.1, 0.5, T),
                         "gain_scalar": gain_scalar, "gain_skill": gain_skill, "skills_gain_gt_0.1": active})


def test_original_check_definitions_read_the_scalar_count_listed_skills_and_condition_on_r_next():
    r = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    rn = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    traj = _traj(0.5 + 0.2 * rn, 0.3 + 0.3 * r, r, rn, skills=np.array([0, 1] * 4))
    orig = trajectory_checks(traj).set_index("check")           # defaults: scalar gain, original
    assert orig.loc["2 Q-matrix sparsity", "value"] == 1.0 and orig.loc["2 Q-matrix sparsity", "passed"]
    assert orig.loc["6 response-conditional gain", "value"] == pytest.approx(0.7 / 0.5)   # r_{t+1}
    assert (orig.gain == "gain_scalar").all()
    mean = trajectory_checks(traj, "gain_skill", "meaningful").set_index("check")
    assert mean.loc["2 Q-matrix sparsity", "value"] == 12.0 and not mean.loc["2 Q-matrix sparsity", "passed"]
    assert mean.loc["6 response-conditional gain", "value"] == pytest.approx(0.6 / 0.3)  # r_t
    with pytest.raises(ValueError, match="definitions"):
        trajectory_checks(traj, definitions="other")


def test_per_skill_statistics_use_skills_with_the_minimum_count():
    skills = np.array([0] * 5 + [1] * 5 + [2])
    g = np.array([0.2] * 5 + [0.4] * 5 + [5.0])
    traj = _traj(g, g, np.ones(11), np.ones(11), skills)
    with_rare = trajectory_checks(traj, min_skill_count=1).set_index("check").loc["5 skill difficulty", "value"]
    without = trajectory_checks(traj, min_skill_count=5).set_index("check").loc["5 skill difficulty", "value"]
    means = np.array([0.2, 0.4])
    assert without == pytest.approx(means.std() / means.mean())
    assert with_rare > without
    stats = trajectory_gain_stats(traj, "gain_skill", min_skill_count=5)
    assert stats["gain_skill_skills_counted"] == 2
    assert stats["gain_skill_per_skill_cv"] == pytest.approx(means.std() / means.mean())
    assert stats["gain_skill_mean"] == pytest.approx(g.mean()) and stats["rows"] == 11


def test_epoch_metrics_min_skill_count_readout_saturation_and_r_next_ratio():
    from gainakt.batches import Batch
    from gainakt.metrics import EpochMetrics
    q = torch.tensor([[0, 0, 0, 1], [0, 0, 2, 0]])
    r = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0]])
    rn = torch.tensor([[0, 1, 1, 0], [1, 1, 0, 0]]).float()
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    batch = Batch(q, r, q, rn, mask, torch.tensor([0, 1]), torch.tensor([0, 1]))
    g = torch.tensor([[0.2, 0.3, 0.4, 0.9], [0.5, 0.6, 0.7, 9.0]])
    out = {"p_enc1": torch.rand(2, 4), "p_im": torch.rand(2, 4), "scalar_gains": g, "gain_q": g,
           "mastery": torch.zeros(2, 4, 3), "slope": torch.ones(2, 4, 3),
           "slope_q": torch.tensor([[0.5, 0.001, 0.001, 0.5], [0.5, 0.5, 0.001, 0.001]])}
    acc = EpochMetrics(3, min_skill_count=2)
    acc.add(batch, out, {})
    res = acc.result()
    assert res["gain_skill_skills_counted"] == 1 and res["gain_skill_skills_seen"] == 3
    assert np.isclose(res["gain_skill_per_skill_cv"], 0.0)       # one skill counted
    assert res["saturation_fraction_readout"] == pytest.approx(3 / 7)   # valid steps only
    assert res["saturation_fraction"] == 0.0
    gv, rv, rnv = g[mask].numpy(), r[mask].numpy(), rn[mask].numpy()
    assert res["gain_skill_response_ratio"] == pytest.approx(gv[rv == 1].mean() / gv[rv == 0].mean())
    assert res["gain_skill_response_ratio_next"] == pytest.approx(gv[rnv == 1].mean() / gv[rnv == 0].mean())


def test_a_run_reports_both_ways(tiny_data, tmp_path):
    res = run(make_config("V1", "as_run", **TINY), tmp_path, dataset=tiny_data, log=lambda *_: None)
    sample = res["test_trajectory_sample"]
    assert sample["windows"] == TINY["n_trajectory_students"]
    traj = pd.read_csv(tmp_path / "trajectories.csv")
    assert sample["gain_scalar_std"] == pytest.approx(traj.gain_scalar.std(ddof=0), rel=1e-5)
    checks = pd.read_csv(tmp_path / "checks.csv")
    whole = checks[checks.rows == "test_split"]
    assert len(whole) == 12 and set(whole.definitions) == {"original", "meaningful"}
    assert 0 <= res["test"]["saturation_fraction_readout"] <= 1
    table = report.reported_vs_measured("V1", res).set_index("quantity")
    assert table.loc["gain_std", "measured_seeds_rows"] == sample["gain_scalar_std"]
    assert table.loc["gain_std", "measured"] == res["test"]["gain_scalar_std"]
    assert table.loc["response_ratio", "measured_from"] == "test.gain_scalar_response_ratio_next"
    assert table.loc["checks_passed", "measured_seeds_rows"] == res["checks_passed"]
    assert table.loc["enc2_val_auc", "measured"] == res["valid"]["enc2_auc"]


# --- what the book prints -------------------------------------------------------------------

def test_notes_name_real_switches_and_every_check_has_a_note():
    names = {f.name for f in fields(Config)}
    for note in NOTES:
        assert set(note) == {"behaviour", "as_run", "as_intended", "switch", "source"}
        if not note["switch"].startswith("not ") and "override" not in note["switch"]:
            for s in note["switch"].split(","):
                assert s.strip() in names, s
    noted = " ".join(n["check"] for n in CHECK_NOTES)
    assert all(c in noted for c in CHECKS)


def test_as_run_alternatives():
    for key in ("V3+", "V3++bce0.1", "V3++bce0.3"):
        kept = make_config(key, "as_run").effective()
        dropped = make_config(key, "as_run", **AS_RUN_ALTERNATIVES[key]["init_dropped"]).effective()
        assert kept.gains_projection_bias_std == 0.5 and kept.gains_projection_orthogonal
        assert dropped.gains_projection_bias_std == 0.0 and not dropped.gains_projection_orthogonal
    v0 = make_config("V0", "as_run", **AS_RUN_ALTERNATIVES["V0"]["mastery_before_bug0"])
    assert v0.mastery_index == "next" and make_config("V0", "as_run").mastery_index == "current"


def test_v4_and_v5_as_run_are_v3_as_run_by_construction(tiny_data):
    """The original factory dropped V4's difficulty and V5's velocity: as run, what the model receives
    is V3's configuration, so a run of either trains exactly as V3 as run on the same seed (the
    committed V4 as-run runs match V3's to the last digit; the audit's factory_fixed row restores them)."""
    v3 = make_config("V3", "as_run", **TINY).effective().to_dict()
    for key in ("V4", "V5"):
        eff = make_config(key, "as_run", **TINY).effective().to_dict()
        assert {k: v for k, v in eff.items() if v != v3[k]} == {"variant": key}
        assert make_config(key, "as_intended").effective() != make_config("V3", "as_intended").effective()
    # and a training epoch agrees bitwise
    stats = [Experiment(make_config(key, "as_run", **TINY), tiny_data).train_epoch(1) for key in ("V3", "V5")]
    for k in stats[0]:
        if k not in TIMING_COLUMNS:
            assert stats[0][k] == stats[1][k], k

"""Training: every variant trains, seeds reproduce, every config field has an effect, repro/compare."""
import dataclasses
import json
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
import torch

from gainakt import data as kt_data
from gainakt.batches import iter_batches
from gainakt.cli import main
from gainakt.config import CHOICES, Config
from gainakt.repro import TIMING_COLUMNS
from gainakt.train import Experiment, run
from gainakt.variants import VARIANTS, make_config

TINY = dict(dataset="synthetic", synthetic={"n_students": 60, "max_len": 30, "n_skills": 6},
            d_model=16, n_heads=2, n_blocks=1, d_ff=32, batch_size=16, seq_len=40, epochs=1,
            n_trajectory_students=3, trajectory_min_steps=5, im_grad_batches=1)


@pytest.fixture(scope="module")
def tiny_data():
    return kt_data.load_dataset("synthetic", seq_len=40, synthetic=TINY["synthetic"])


@pytest.mark.parametrize("key", list(VARIANTS))
@pytest.mark.parametrize("flavour", ["as_run", "as_intended"])
def test_every_variant_trains(key, flavour, tiny_data):
    exp = Experiment(make_config(key, flavour, **TINY), tiny_data)
    before = [p.detach().clone() for p in exp.model.parameters()]
    stats = exp.train_epoch(1)
    assert np.isfinite(stats["running_loss_total"])
    assert any(not torch.equal(a, b) for a, b in zip(before, exp.model.parameters()))
    res = exp.evaluate(exp.splits["valid"])
    assert 0 <= res["enc1_auc"] <= 1 and 0 <= res["enc2_auc"] <= 1


def test_same_seed_same_metrics(tmp_path, tiny_data):
    cfg = make_config("V2", "as_run", **TINY)
    a = run(cfg, tmp_path / "a", dataset=tiny_data, log=lambda *_: None)
    b = run(cfg, tmp_path / "b", dataset=tiny_data, log=lambda *_: None)
    ha, hb = (pd.read_csv(tmp_path / d / "history.csv").drop(columns=list(TIMING_COLUMNS), errors="ignore") for d in "ab")
    pd.testing.assert_frame_equal(ha, hb)
    assert a["test"] == b["test"]


def test_run_writes_files_and_resumes(tmp_path, tiny_data):
    cfg = make_config("V1", "as_intended", **{**TINY, "epochs": 2})
    run(cfg, tmp_path, dataset=tiny_data, log=lambda *_: None)
    for f in ("history.csv", "metrics.json", "trajectories.csv", "checks.csv", "checkpoints/best.pt"):
        assert (tmp_path / f).exists(), f
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert len(m["checks"]) == 24 and "untrained_valid" in m   # 6 checks x 2 row sets x 2 definitions
    assert set(m["checks_passed_by"]) == {f"{r}/{d}" for r in ("trajectory_sample", "test_split")
                                          for d in ("original", "meaningful")}
    assert m["checks_passed"] == m["checks_passed_by"]["trajectory_sample/original"]
    assert {"train", "valid", "test", "test_trajectory_sample"} <= set(m)
    # run again in the same folder: it resumes from the last checkpoint and has nothing left to do
    full = pd.read_csv(tmp_path / "history.csv")
    assert (full.epoch_cpu_seconds[full.epoch > 0] > 0).all()   # the cost that wall time hides when runs share cores
    st = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)   # tensors and plain data only
    assert st["epoch"] == 2
    logs = []
    res = run(cfg, tmp_path, dataset=tiny_data, log=logs.append)
    assert any("resumed from epoch 2" in s for s in logs)
    assert res["epochs_run"] == 2 and len(pd.read_csv(tmp_path / "history.csv")) == len(full)


def test_interrupted_run_resumes_to_the_same_history(tmp_path, tiny_data):
    """One epoch, then the same folder with two epochs: the same history as two epochs at once."""
    cfg = make_config("V4", "as_run", **TINY)   # velocity state, padded batches, all losses
    quiet = dict(dataset=tiny_data, log=lambda *_: None)
    run(dataclasses.replace(cfg, epochs=1), tmp_path / "resumed", **quiet)
    run(dataclasses.replace(cfg, epochs=2), tmp_path / "resumed", **quiet)
    run(dataclasses.replace(cfg, epochs=2), tmp_path / "straight", **quiet)
    a, b = (pd.read_csv(tmp_path / d / "history.csv").drop(columns=list(TIMING_COLUMNS), errors="ignore")
            for d in ("resumed", "straight"))
    assert len(a) == 3
    pd.testing.assert_frame_equal(a, b)


# Fields that do not change the model or its training by design, with the reason.
NOT_MODEL = {
    "variant": "label", "flavour": "label", "title": "label", "data_dir": "where files are",
    "device": "CPU only here", "num_threads": "speed only", "max_tokens": "batching only (tested in data)",
    "n_trajectory_students": "evaluation",
    "trajectory_min_steps": "evaluation", "max_correlation_students": "evaluation",
    "im_grad_batches": "diagnostic", "train_eval_fraction": "evaluation", "gamma_at_eval": "final evaluation only",
    "min_skill_count": "statistics only (test_fidelity)",
    "original_factory": "tested in test_model", "epochs": "length of training", "patience": "early stopping",
    "attention": "equal outputs by design (test_model)", "practice_impl": "equal outputs by design (test_model)",
    "gains_impl": "equal outputs by design (test_packing)",
    "threshold_temperature": "checked below", "model": "selects a baseline (test_baselines)",
    "baseline_max_iter": "baselines only (test_baselines)", "dataset": "checked by data tests", "fold": "checked by data tests",
}
ALTERNATIVE = {"seq_len": 50, "synthetic": {"n_students": 61, "max_len": 30, "n_skills": 6},
               "gains_projection_orthogonal_scale": 0.9, "dropout": 0.5, "beta_spread_target": 3.0,
               "gradient_clip": 1e-3, "curve_weight_decay": 0.5}


def _alternative(cfg: Config, name: str):
    if name in ALTERNATIVE:
        return ALTERNATIVE[name]
    v = getattr(cfg, name)
    if name in CHOICES:
        return next(c for c in CHOICES[name] if c != v)
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v * 2 if name not in ("n_heads",) else 4
    if isinstance(v, float):
        return v * 0.5 + 0.1 if v else 0.3
    raise AssertionError(f"no alternative value for {name}")


def _fingerprint(cfg: Config) -> np.ndarray:
    exp = Experiment(cfg)
    exp.train_epoch(1)
    params = np.array([p.detach().double().sum().item() for p in exp.model.parameters()])
    res = exp.evaluate(exp.splits["valid"])
    return np.concatenate([params, [res["loss_total"], res["enc2_auc"], res["gain_skill_mean"]]])


def test_every_config_field_reaches_the_model():
    # a base where every option is live: V4-like difficulty, velocity, V3+ init, all losses
    # smaller than TINY (30 learners of at most 20 steps, windows of 12): ~3x faster, every field still live
    base = make_config("V4", "as_intended", **{**TINY, "d_model": 16, "n_heads": 2, "batch_size": 8, "seq_len": 12,
                                                "synthetic": {"n_students": 30, "max_len": 20, "n_skills": 6}})
    base = dataclasses.replace(base, dataset="synthetic", shuffle=False, velocity_source="past", batching="tokens",
                               accumulate="all_skills", mask_padding=False,
                               beta_spread_target=2.0)  # hinge active
    ref = _fingerprint(base)
    untouched = []
    for f in fields(Config):
        if f.name in NOT_MODEL:
            continue
        alt = dataclasses.replace(base, **{f.name: _alternative(base, f.name)})
        if f.name == "difficulty_mode":
            alt = dataclasses.replace(alt, difficulty_mode="input")
        if f.name == "readout_clamps":
            # the clamps act only where theta or mastery leaves [0, 1]: start both on the boundary 1
            # (mastery = M_sat * sigmoid(... + 10) = 1), where training pushes one of them out
            edge = dict(mastery_threshold_init=1.0, m_sat_init=1.0, sigmoid_offset=-10.0)
            if np.allclose(_fingerprint(dataclasses.replace(alt, **edge)),
                           _fingerprint(dataclasses.replace(base, **edge)), rtol=0, atol=1e-9):
                untouched.append(f.name)
            continue
        fp = _fingerprint(alt)
        if fp.shape == ref.shape and np.allclose(fp, ref, rtol=0, atol=1e-9):
            untouched.append(f.name)
    assert not untouched, f"fields with no effect on the trained model: {untouched}"


def test_threshold_temperature_scales_im_logits(tiny_data):
    batch = next(iter_batches(tiny_data.valid, 8))
    outs = []
    for temp in (1.0, 2.0):
        exp = Experiment(make_config("V1", "as_intended", **TINY, threshold_temperature=temp), tiny_data)
        exp.model.eval()
        outs.append(exp.forward(batch, training=False)["logits_im"])
    assert torch.allclose(outs[0], 2 * outs[1], atol=1e-6)


def _tiny_train_args(exps: str, variant: str, epochs: str, *extra: str) -> list[str]:
    """`python -m gainakt` arguments that train a tiny as-run model on simulated learners."""
    return ["--experiments-dir", exps, "train", "--variant", variant, "--flavour", "as_run", "--dataset", "synthetic",
            "--synthetic", json.dumps(TINY["synthetic"]), "--d-model", "16", "--n-heads", "2", "--n-blocks", "1",
            "--d-ff", "32", "--batch-size", "16", "--seq-len", "40", "--epochs", epochs, *extra]


def test_cli_repro_and_compare_round_trip(tmp_path, capsys):
    exps = str(tmp_path / "exps")
    assert main(_tiny_train_args(exps, "V3", "2", "--title", "roundtrip")) == 0
    run_dir = next((tmp_path / "exps").iterdir())
    assert "_V3_roundtrip_" in run_dir.name
    record = json.loads((run_dir / "config.json").read_text())
    for key in ("config", "defaults", "original_defaults", "original_defaults_md5", "overrides", "commands",
                "git_commit", "versions", "device"):
        assert key in record, key
    # the CPU is part of the record: machines of one kind differ several-fold in speed
    assert record["versions"]["cpu"] and int(record["versions"]["cpu_count"]) >= 1
    rid = record["id"]
    assert main(["--experiments-dir", exps, "repro", rid]) == 0
    assert main(["--experiments-dir", exps, "compare", rid]) == 0
    assert main(["--experiments-dir", exps, "eval", rid]) == 0
    assert (run_dir / "eval.json").exists()
    assert main(["--experiments-dir", exps, "trajectories", rid, "--n", "2"]) == 0
    assert (run_dir / "trajectories_2.csv").exists()
    # a run that differs must make compare fail
    repro_dir = next(p for p in (tmp_path / "exps").iterdir() if p.name.endswith("_repro"))
    h = pd.read_csv(repro_dir / "history.csv")
    h.loc[1, "valid_enc1_auc"] += 0.01
    h.to_csv(repro_dir / "history.csv", index=False)
    assert main(["--experiments-dir", exps, "compare", rid]) == 1
    assert "outside" in capsys.readouterr().out


def test_a_run_folder_outside_the_experiments_dir_re_runs_from_its_recorded_command(tmp_path, capsys):
    """Book and benchmark runs live in results/<dataset>/<name>/seed<k>: their config.json must
    name a repro/compare command that finds them, and the re-run must match."""
    exps, out = str(tmp_path / "exps"), tmp_path / "results" / "synthetic" / "V1-as_run-small" / "seed0"
    assert main(_tiny_train_args(exps, "V1", "1", "--out", str(out))) == 0
    commands = json.loads((out / "config.json").read_text())["commands"]
    assert commands["repro"] == f"python -m gainakt repro {out}"
    assert main(["--experiments-dir", exps, *commands["repro"].split()[3:]]) == 0
    assert main(["--experiments-dir", exps, *commands["compare"].split()[3:]]) == 0
    assert "SUCCESS" in capsys.readouterr().out
    (repro_dir,) = (tmp_path / "exps").iterdir()
    assert repro_dir.name.endswith("results-synthetic-V1-as-run-small-seed0_repro")


def test_cli_variants_lists_every_variant(capsys):
    assert main(["variants"]) == 0
    text = capsys.readouterr().out
    assert all(k in text for k in VARIANTS)


def test_unknown_and_invalid_config_values():
    with pytest.raises(ValueError, match="accumulate"):
        Config(accumulate="everywhere")
    with pytest.raises(ValueError, match="unknown config field"):
        Config.from_dict({"learning_rte": 0.1})
    cfg = make_config("V5", "as_run")
    assert Config.from_json(cfg.to_json()) == cfg


def test_as_run_variants_with_padding_in_their_regularisers_use_padded_batches(tiny_data):
    for key in VARIANTS:
        run_cfg, fixed = make_config(key, "as_run"), make_config(key, "as_intended")
        # every variant, both flavours: the original's batches (file order, no shuffling), packed
        assert run_cfg.batching == "packed" and not run_cfg.shuffle
        assert fixed.batching == "packed" and not fixed.regularisers_see_padding
    assert make_config("V1", "as_run", batching="tokens").batching == "tokens"  # an explicit choice wins
    assert make_config("V3", "as_run", batching="tokens").batching == "tokens"  # an explicit choice wins
    # why: with padding inside the average, the variance loss of the same windows depends on the padding
    cfg = make_config("V3", "as_run", **{**TINY, "d_model": 16, "n_heads": 2, "batch_size": 8})
    exp = Experiment(cfg, dataset=tiny_data)
    torch.manual_seed(0)
    values = {}
    for batching in ("padded", "tokens"):
        exp.cfg = dataclasses.replace(cfg, batching=batching)
        values[batching] = exp.evaluate(exp.splits["valid"])["loss_variance"]
    assert values["padded"] != pytest.approx(values["tokens"], rel=1e-3)


def test_a_step_of_several_buckets_has_the_gradient_of_one_padded_batch(tiny_data):
    """length_strata > 1: the accumulated gradient equals that of one batch holding all the windows."""
    from gainakt.batches import _batch
    cfg = make_config("V1", "as_intended", **{**TINY, "d_model": 16, "n_heads": 2, "batch_size": 8}, dropout=0.0,
                      length_strata=3, batching="tokens")
    exp = Experiment(cfg, dataset=tiny_data)
    split = exp.splits["train"]
    step = next(s for s in exp.steps(split, shuffle=False) if len(s) == 3)
    assert len({b.q.shape[1] for b in step}) > 1  # buckets of different lengths

    def grads(batches):
        exp.model.zero_grad(set_to_none=True)
        exp.backward(batches)
        return [p.grad.clone() for p in exp.model.parameters() if p.grad is not None]

    union = _batch(split, torch.cat([b.index for b in step]).numpy(), padded=True)
    for a, b in zip(grads(step), grads([union]), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("key, flavour", [("V1", "as_run"), ("V3", "as_intended"), ("V0", "as_intended")])
def test_evaluation_does_not_depend_on_the_batching(key, flavour, tiny_data):
    """Padded batches in file order, token buckets in seeded order, 3-4 batches each: the same
    statistics (the correlations read the first windows in file order, whatever order the batches
    come in and wherever the cut falls)."""
    res = {}
    for batching in ("padded", "tokens", "windows", "packed"):
        cfg = make_config(key, flavour, **{**TINY, "batch_size": 3, "max_correlation_students": 7},
                          batching=batching)
        exp = Experiment(cfg, tiny_data)
        exp._eval_batching = batching   # the batching itself, not the cheaper one evaluation picks
        assert len(list(exp.batches(exp.splits["valid"], shuffle=False))) >= 3
        res[batching] = exp.evaluate(exp.splits["valid"])
    assert res["padded"]["corr_windows"] > 0
    for k, v in res["padded"].items():
        if k.startswith("loss_"):
            continue   # losses: regularisers of some variants average over padding
        for batching in ("tokens", "windows", "packed"):
            got = res[batching][k]
            if isinstance(v, int):
                assert got == v, (batching, k)
            elif np.isnan(v):
                assert np.isnan(got), (batching, k)
            else:
                assert got == pytest.approx(v, rel=1e-4, abs=1e-6), (batching, k)


def test_a_run_without_trajectory_students_writes_no_trajectories(tmp_path, tiny_data):
    """n_trajectory_students = 0 is allowed: no trajectories.csv, the checks on the whole test split."""
    res = run(make_config("V1", "as_intended", **{**TINY, "n_trajectory_students": 0}), tmp_path, dataset=tiny_data,
              log=lambda *a: None)
    assert not (tmp_path / "trajectories.csv").exists() and "test_trajectory_sample" not in res
    assert {c["rows"] for c in res["checks"]} == {"test_split"}

"""Derived runs: a missing run that trains exactly what a finished run trained is copied, not trained.

The equality the copy rests on is tested by training (V3 and V5 as run on simulated learners give the
same numbers); the driver's part (find the source, copy, say so, never with --force) on a throw-away
root with a source written the way the training notebook writes it.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from gainakt.pipeline.derive import find_source, run_config, signature
from gainakt.pipeline.driver import drive
from gainakt.pipeline.matrix import expand
from gainakt.pipeline.selection import status
from gainakt.repro import TIMING_COLUMNS, write_config
from gainakt.train import run
from gainakt.variants import make_config

TINY = dict(dataset="synthetic", synthetic={"n_students": 40, "max_len": 24, "n_skills": 5},
            d_model=16, n_heads=2, n_blocks=1, d_ff=32, batch_size=16, seq_len=24, epochs=1,
            n_trajectory_students=2, trajectory_min_steps=4, im_grad_batches=1)


@pytest.mark.slow   # trains two tiny models
def test_v5_as_run_trains_exactly_v3_as_run(tmp_path):
    """The factory dropped V5's options: same history (but the clock), same metrics, same gains."""
    out = {v: run(make_config(v, "as_run", **TINY), tmp_path / v, log=lambda *_: None)
           for v in ("V3", "V5")}
    assert out["V3"]["test"] == out["V5"]["test"]
    h3, h5 = (pd.read_csv(tmp_path / v / "history.csv").drop(columns=list(TIMING_COLUMNS), errors="ignore") for v in ("V3", "V5"))
    pd.testing.assert_frame_equal(h3, h5)
    for name in ("skill_gains.csv", "trajectories.csv"):
        assert (tmp_path / "V3" / name).read_bytes() == (tmp_path / "V5" / name).read_bytes()
    # ... and V5 as intended does not
    assert signature(make_config("V5", "as_intended").effective().to_dict()) != \
        signature(make_config("V3", "as_run").effective().to_dict())


def _matrix(tmp_path):
    return expand({"defaults": {"dataset": "synthetic", "epochs": 1, "seeds": [0, 1]},
                   "runs": [{"variant": v, "flavour": ["as_run", "as_intended"], "label": "t"}
                            for v in ("V3", "V5")]})


def _finish(root, r):
    """A finished run folder as the training notebook leaves it (no training needed here)."""
    d = r.path(root)
    d.mkdir(parents=True)
    write_config(d, run_config(r), device="cpu")
    (d / "history.csv").write_text("epoch,valid_enc1_auc\n0,0.5\n1,0.6\n")
    (d / "metrics.json").write_text(json.dumps({"test": {"enc1_auc": 0.61}, "seed": r.seed}))


def test_driver_copies_a_run_whose_training_is_identical(tmp_path):
    runs = {r.key: r for r in _matrix(tmp_path)}
    root = tmp_path / "root"
    for seed in (0, 1):
        _finish(root, runs[f"synthetic/V3-as_run-t/seed{seed}"])
    v5 = runs["synthetic/V5-as_run-t/seed0"]
    assert find_source(v5, root) == runs["synthetic/V3-as_run-t/seed0"].path(root)   # same seed only
    assert find_source(runs["synthetic/V5-as_intended-t/seed0"], root) is None
    assert find_source(runs["synthetic/V3-as_intended-t/seed0"], root) is None

    lines = []
    drive([v5], repo_root=root, dry_run=True, echo=lines.append, progress=False)
    assert lines[0].startswith("copy") and "same training as V3-as_run-t" in lines[0]
    assert "0 to run, 1 to copy" in lines[-1]

    report = drive([v5], repo_root=root, progress=False)
    assert report.exit_code == 0 and report.results[0].status == "done"
    assert "copied from V3-as_run-t" in report.results[0].reason
    d = v5.path(root)
    record = json.loads((d / "config.json").read_text())
    assert record["config"]["variant"] == "V5" and record["config"]["flavour"] == "as_run"
    assert record["derived_from"]["results_dir"] == "results/synthetic/V3-as_run-t/seed0"
    assert (d / "metrics.json").read_bytes() == \
        runs["synthetic/V3-as_run-t/seed0"].metrics_path(root).read_bytes()
    page = v5.path(root, "notebook_out").read_text()
    assert "not trained again" in page and "V3-as_run-t-seed0.ipynb" in page
    assert status([v5], root)[v5.key] == "done"
    # a derived run is never a source: V5's own seed-0 folder does not stand for anything else
    assert find_source(runs["synthetic/V5-as_run-t/seed1"], root) == runs["synthetic/V3-as_run-t/seed1"].path(root)


def test_force_and_no_derive_train_instead(tmp_path):
    runs = {r.key: r for r in _matrix(tmp_path)}
    root = tmp_path / "root"
    _finish(root, runs["synthetic/V3-as_run-t/seed0"])
    v5 = runs["synthetic/V5-as_run-t/seed0"]
    for kw in ({"force": True}, {"derive": False}):
        lines = []
        drive([v5], repo_root=root, dry_run=True, echo=lines.append, progress=False, **kw)
        assert lines[0].startswith("run"), (kw, lines)

"""Faults and hostile input: checkpoints that would run code, resumes that would mix
configurations, stale temporary files, compare that must see metrics.json (issue 15)."""
import dataclasses
import json
import os

import pandas as pd
import pytest
import torch

from gainakt import data as kt_data
from gainakt.atomic import write_text_atomic
from gainakt.repro import compare_metrics, write_config
from gainakt.train import CheckpointError, ResumeConflictError, load_checkpoint, run
from gainakt.variants import make_config
from fault_fixtures import QUIET, TINY, hostile_checkpoint



@pytest.fixture(scope="module")
def tiny_data():
    return kt_data.load_dataset("synthetic", seq_len=40, synthetic=TINY["synthetic"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_data):
    out = tmp_path_factory.mktemp("trained")
    cfg = make_config("V2", "as_run", **TINY)
    write_config(out, cfg)
    run(cfg, out, dataset=tiny_data, **QUIET)
    return out, cfg



def test_checkpoints_hold_only_tensors_and_plain_data(trained):
    out, _ = trained
    for name in ("last.pt", "best.pt"):
        st = torch.load(out / "checkpoints" / name, weights_only=True)   # raises on anything else
        assert st["epoch"] == 1 and "model" in st


def test_malicious_checkpoint_is_refused_with_a_clear_message(tmp_path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "best.pt"
    hostile_checkpoint(ckpt, marker)
    with pytest.raises(CheckpointError, match=r"best\.pt: refused to load.*not a plain tensor checkpoint"):
        load_checkpoint(ckpt)
    assert not marker.exists()


def test_eval_and_resume_refuse_a_malicious_checkpoint(trained, tmp_path, tiny_data):
    import shutil

    from gainakt.cli import main
    out = tmp_path / "run"
    shutil.copytree(trained[0], out)
    marker = tmp_path / "pwned"
    for name in ("best.pt", "last.pt"):
        hostile_checkpoint(out / "checkpoints" / name, marker)
    with pytest.raises(CheckpointError, match="refused to load"):
        main(["eval", str(out)])
    with pytest.raises(CheckpointError, match="refused to load"):
        run(trained[1], out, dataset=tiny_data, **QUIET)
    assert not marker.exists()


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    ckpt = tmp_path / "last.pt"
    ckpt.write_bytes(b"PK\x03\x04 not a whole file")
    with pytest.raises(CheckpointError, match=r"last\.pt: cannot read the checkpoint"):
        load_checkpoint(ckpt)


def test_resume_with_another_config_is_refused_and_nothing_is_written(trained, tmp_path, tiny_data):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(trained[0], out)
    before = {p.name: p.read_bytes() for p in (out / "config.json", out / "history.csv",
                                                out / "checkpoints" / "last.pt")}
    other = dataclasses.replace(trained[1], learning_rate=0.01, seed=7, dropout=0.5)
    with pytest.raises(ResumeConflictError) as e:
        run(other, out, dataset=tiny_data, **QUIET)
    for name in ("learning_rate", "seed", "dropout"):
        assert name in str(e.value)
    assert "epochs" not in str(e.value)
    with pytest.raises(ResumeConflictError, match="learning_rate"):
        write_config(out, other)       # what the CLI and the training notebook do first
    after = {p.name: p.read_bytes() for p in (out / "config.json", out / "history.csv",
                                               out / "checkpoints" / "last.pt")}
    assert after == before


def test_new_run_in_an_old_folder_replaces_it_and_its_record(trained, tmp_path, tiny_data):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(trained[0], out)
    other = dataclasses.replace(trained[1], seed=7)
    logs = []
    run(other, out, dataset=tiny_data, resume=False, log=logs.append)
    assert not any("resumed" in s for s in logs)
    assert json.loads((out / "config.json").read_text())["config"]["seed"] == 7
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["config"]["seed"] == 7


def test_resume_with_more_epochs_updates_config_json(trained, tmp_path, tiny_data):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(trained[0], out)
    longer = dataclasses.replace(trained[1], epochs=2)
    res = run(longer, out, dataset=tiny_data, **QUIET)
    assert res["epochs_run"] == 2
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2


def test_stale_tmp_files_are_removed_at_the_next_write(tmp_path):
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()                                   # a writer that is gone
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        target = tmp_path / "history.csv"
        stale = [tmp_path / f".history.csv.p{dead.pid}-abc123.tmp", tmp_path / ".history.csv.old.tmp"]
        for p in stale:
            p.write_text("half")
        os.utime(stale[1], (1, 1))                # no pid in the name: stale by age
        in_flight = [tmp_path / f".history.csv.p{live.pid}-xyz.tmp", tmp_path / ".history.csv.new.tmp",
                     tmp_path / f".metrics.json.p{dead.pid}-x.tmp"]
        for p in in_flight:
            p.write_text("half")
        write_text_atomic(target, "epoch\n0\n")
        assert target.read_text() == "epoch\n0\n"
        assert not any(p.exists() for p in stale)
        # a live writer's file, a recent one, another file's: not this writer's business
        assert all(p.exists() for p in in_flight)
    finally:
        live.kill()
        live.wait()


def test_compare_sees_metrics_json_and_the_epoch_column(trained, tmp_path):
    import shutil

    from gainakt.repro import compare_histories
    out = tmp_path / "b"
    shutil.copytree(trained[0], out)
    a = json.loads((trained[0] / "metrics.json").read_text())
    table = compare_metrics(a, json.loads((out / "metrics.json").read_text()))
    assert (table["status"] == "exact").all() and len(table) > 20
    b = json.loads((out / "metrics.json").read_text())
    b["test"]["enc1_auc"] = 0.5
    table = compare_metrics(a, b, tolerance=1e-4)
    bad = table[table["status"] != "exact"]
    assert list(bad["field"]) == ["test.enc1_auc"] and bad["status"].iloc[0] == "outside"
    del b["test"]["enc2_auc"]
    assert "test.enc2_auc" in set(compare_metrics(a, b)["field"][compare_metrics(a, b)["status"] == "missing"])
    h = pd.read_csv(trained[0] / "history.csv")
    h2 = h.copy()
    h2["epoch"] = h2["epoch"] + 1
    table = compare_histories(h, h2)
    assert table.set_index("column").loc["epoch", "status"] == "outside"
    # a run that records its CPU time compares with one from before it did: the clocks are never compared
    h3 = h.assign(epoch_cpu_seconds=1.0).drop(columns="epoch_seconds", errors="ignore")
    table = compare_histories(h3, h.drop(columns="epoch_cpu_seconds", errors="ignore"))
    assert (table.status == "exact").all() and not set(table.column) & {"epoch_seconds", "epoch_cpu_seconds"}


def test_cli_compare_fails_on_a_metrics_difference(trained, tmp_path, capsys):
    import shutil

    from gainakt.cli import main
    out = tmp_path / "b"
    shutil.copytree(trained[0], out)
    m = json.loads((out / "metrics.json").read_text())
    m["test"]["enc1_auc"] = 0.5
    (out / "metrics.json").write_text(json.dumps(m))
    assert main(["compare", str(trained[0]), "--other", str(out)]) != 0
    assert "test.enc1_auc" in capsys.readouterr().out
    shutil.copy(trained[0] / "metrics.json", out / "metrics.json")
    assert main(["compare", str(trained[0]), "--other", str(out)]) == 0

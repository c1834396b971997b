"""The driver's direct mode: runs trained without a notebook kernel, for a machine without Jupyter.

The lent GPU machine has torch, pandas and PyYAML but no papermill or nbformat. Here both are made
unimportable (a folder on PYTHONPATH whose modules raise ImportError, so the spawned workers see it
too), and a tiny run must still finish with the training notebook's Config, result files and a
valid book page.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from gainakt import PACKAGE_ROOT
from gainakt.pipeline.derive import run_config
from gainakt.pipeline.direct import markdown_table
from gainakt.pipeline.matrix import expand

MATRIX = {"defaults": {"dataset": "synthetic", "epochs": 1, "seeds": [0], "d_model": 16, "n_heads": 2,
                       "n_blocks": 1, "d_ff": 32, "batch_size": 16,
                       "synthetic": {"n_students": 40, "max_len": 24, "n_skills": 5},
                       "overrides": {"seq_len": 24, "n_trajectory_students": 2, "trajectory_min_steps": 4,
                                     "im_grad_batches": 1}},
          "runs": [{"variant": "V2", "flavour": "as_intended", "label": "t"}]}


def _cli(root, *args, block=True):
    env = dict(os.environ)
    if block:   # papermill and nbformat absent, as on the GPU machine
        stub = root / "no_jupyter"
        stub.mkdir(exist_ok=True)
        for name in ("papermill", "nbformat"):
            (stub / f"{name}.py").write_text(f"raise ImportError('{name} is not installed here')\n")
        env["PYTHONPATH"] = os.pathsep.join([str(stub), str(PACKAGE_ROOT)])
    return subprocess.run([sys.executable, "-m", "gainakt.book", "run", "--repo-root", str(root),
                           "--matrix", str(root / "experiments.yml"), "--quiet", *args],
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow   # trains one tiny model in a worker process
def test_direct_run_without_jupyter(tmp_path):
    import yaml

    (tmp_path / "experiments.yml").write_text(yaml.safe_dump(MATRIX))
    p = _cli(tmp_path, "--direct", "--workers", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    (run,) = expand(MATRIX)
    rdir = run.path(tmp_path)
    metrics = json.loads((rdir / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["enc1_auc"] <= 1.0
    for name in ("history.csv", "skill_gains.csv", "skill_gains_untrained.csv", "trajectories.csv"):
        assert (rdir / name).is_file(), name
    # the notebook's Config, recorded as the notebook records it
    record = json.loads((rdir / "config.json").read_text())
    want = run_config(run).to_dict()
    assert {k: record["config"][k] for k in want if k not in ("data_dir", "num_threads")} == \
        {k: v for k, v in want.items() if k not in ("data_dir", "num_threads")}
    # the page: valid nbformat 4, titled like a notebook page, with the summary table
    import nbformat

    nb = nbformat.read(str(run.path(tmp_path, "notebook_out")), as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].source.startswith("# V2 as intended · synthetic · seed 0")
    assert "| enc1_auc |" in nb.cells[1].source
    summary = json.loads(sorted((tmp_path / "results" / "_driver").glob("summary-*.json"))[-1].read_text())
    assert summary["direct"] is True and summary["counts"]["done"] == 1
    # done means done: a second call skips it
    again = _cli(tmp_path, "--direct")
    assert again.returncode == 0 and "0 done, 0 failed, 1 skipped" in again.stdout


def test_direct_needs_the_local_executor(tmp_path):
    import yaml

    (tmp_path / "experiments.yml").write_text(yaml.safe_dump(MATRIX))
    p = _cli(tmp_path, "--direct", "--executor", "dask", block=False)
    assert p.returncode == 2
    assert p.stderr.strip() == "error: --direct runs with --executor local only, not dask"
    assert not (tmp_path / "results").exists()


def test_markdown_table():
    df = pd.DataFrame({"valid": [0.712345, float("nan")], "note": ["a|b", "x"]},
                      index=pd.Index(["enc1_auc", "gain"], name="metric"))
    assert markdown_table(df, digits=3).splitlines() == [
        "| metric | valid | note |", "| --- | --- | --- |",
        "| enc1_auc | 0.712 | a\\|b |", "| gain |  | x |"]

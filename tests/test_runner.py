"""One run in this process (gainakt.pipeline.runner) and its lock file (gainakt.pipeline.locks)."""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from gainakt.pipeline import runner
from gainakt.pipeline.locks import LOCK_STALE_AFTER_S, acquire_lock, break_lock, lock_is_live, read_lock
from gainakt.pipeline.matrix import Run, expand
from gainakt.pipeline.selection import status
from gainakt.pipeline.runner import execute_run
from run_fixtures import FAILING, TINY, new_root, small_matrix


def test_lock_is_exclusive_and_a_stale_one_is_taken_over(tmp_path):
    path = tmp_path / "runs" / ".seed0.lock"
    held = acquire_lock(path, key="k", worker="me")
    assert held is not None and lock_is_live(read_lock(path)) and read_lock(path)["worker"] == "me"
    assert acquire_lock(path, key="k", worker="other") is None       # live: hands off
    old = time.time() - LOCK_STALE_AFTER_S - 1
    os.utime(path, (old, old))                                       # heartbeat stopped long ago
    other = acquire_lock(path, key="k", worker="other")
    assert other is not None and read_lock(path)["worker"] == "other"
    held.release()                                                   # not its lock any more
    assert read_lock(path)["worker"] == "other"
    other.release()
    assert read_lock(path) is None
    break_lock(path)                                                 # nothing there: no error


def test_execute_run_in_process_and_lock(tmp_path_factory):
    root = new_root(tmp_path_factory, "inproc")
    (run,) = expand(small_matrix(TINY, {"seeds": [3]}))[:1]
    lock = run.lock_path(root)
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                "worker": "someone"}))
    res = execute_run(run, repo_root=root, log_dir="logs")
    assert res.status == "skipped" and "someone" in res.reason       # live lock: hands off
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": 2 ** 22 + 7}))
    res = execute_run(run, repo_root=root, log_dir="logs")           # stale lock: reclaimed
    assert res.status == "done", res.error
    assert Path(res.log_path).parent == root / "logs"
    assert not lock.exists()


def test_failure_after_metrics_json_is_not_done(tmp_path_factory):
    root = new_root(tmp_path_factory, "after_metrics")
    m = {"validate": False, "defaults": {"notebook": str(FAILING), "dataset": "synthetic",
                                         "seeds": [0], "overrides": {"after_metrics": True}},
         "runs": [{"variant": "V2", "flavour": "as_run"}]}
    (run,) = expand(m)
    res = execute_run(run, repo_root=root, log_dir="logs")
    assert res.status == "failed" and "deliberate failure" in res.error
    assert not run.metrics_path(root).exists()
    assert (run.path(root) / "metrics.json.incomplete").exists()
    assert status([run], root)[run.key] == "missing"


def test_notebook_params_paths_and_lifting(tmp_path):
    (run,) = expand(small_matrix(TINY, {"seeds": [0], "data_dir": "data/x"}))[:1]
    # in the project itself: results_dir stays relative (portable executed notebooks)
    p = runner.notebook_params(run, runner.PACKAGE_ROOT)
    assert p["results_dir"] == "results/synthetic/V1-as_run-t/seed0"
    assert p["data_dir"] == str(runner.PACKAGE_ROOT / "data/x")
    # elsewhere: absolute, since the notebooks resolve relative paths from the project root
    p = runner.notebook_params(run, tmp_path)
    assert p["results_dir"] == str(tmp_path / "results/synthetic/V1-as_run-t/seed0")
    # override keys that are parameters of the notebook are passed as parameters
    odd = Run(**{**run.__dict__, "params": {**run.params, "overrides": {"d_model": 8, "lr": 1}}})
    p = runner.notebook_params(odd, tmp_path, TINY)
    assert p["d_model"] == 8 and p["overrides"] == {"lr": 1}
    assert runner.notebook_parameter_names(TINY) >= {"variant", "seed", "results_dir",
                                                        "overrides", "num_threads"}

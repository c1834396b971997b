"""Two real driver processes on one matrix, a zombie lock owner, a killed driver (issue 15).

Each test starts `python -m gainakt.book run` as separate processes on the fixture notebook
(tests/fixtures/tiny_run.ipynb: a fake run that sleeps `sleep_s` and writes metrics.json)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gainakt.pipeline.locks import acquire_lock, lock_is_live, process_alive, read_lock
from gainakt.pipeline.matrix import expand
from gainakt.pipeline.selection import run_state
from run_fixtures import REPO, TINY, new_root

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")


def one_run_matrix(root: Path, sleep_s: float) -> list:
    m = {"validate": False, "defaults": {"notebook": str(TINY), "dataset": "synthetic", "epochs": 2, "seeds": [0],
                      "overrides": {"sleep_s": sleep_s}},
         "runs": [{"variant": "V1", "flavour": "as_run", "label": "t"}]}
    (root / "experiments.yml").write_text(json.dumps(m))
    return expand(m)


def driver(root: Path, *extra, env_extra: dict | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               **(env_extra or {}))
    log = open(root / f"driver-{time.monotonic_ns()}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "gainakt.book", "run", "--repo-root", str(root),
                             "--workers", "1", "--quiet", *extra], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def kernels_in(root: Path) -> list[int]:
    """Live processes working in this test's folders (a run's kernel has cwd <root>/notebooks)."""
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "cwd").startswith(str(root)) and process_alive(int(p.name)):
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


def wait_for(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def summaries(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "results/_driver").glob("summary-*.json"))]


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait(10)


def test_second_driver_does_not_rerun_what_the_first_finished(tmp_path_factory):
    """B plans (the run is missing), A then executes and finishes it, then B goes on: B must see
    under the lock that the run is done, skip it, and leave A's metrics.json as it is."""
    root = new_root(tmp_path_factory, "race")
    (run,) = one_run_matrix(root, 0.2)
    gate = root / "gate"
    gate.touch()
    b = driver(root, env_extra={"GAINAKT_FAULT_PAUSE_AFTER_PLAN": str(gate)})
    try:
        wait_for(lambda: Path(str(gate) + ".planned").exists(), 60, "driver B's plan")
        a = driver(root)
        assert a.wait(120) == 0
        metrics = run.metrics_path(root)
        before = (metrics.stat().st_ino, metrics.read_bytes())
        seen_missing = []
        stop_watch = threading.Event()

        def watch():   # the finished result must never disappear, not even for an instant
            while not stop_watch.is_set():
                if not metrics.exists():
                    seen_missing.append(time.monotonic())
                time.sleep(0.01)

        t = threading.Thread(target=watch)
        t.start()
        gate.unlink()                                  # let B go on
        rc = b.wait(120)
        stop_watch.set()
        t.join()
    finally:
        stop(b)
    assert rc == 0
    assert not seen_missing
    assert (metrics.stat().st_ino, metrics.read_bytes()) == before
    b_sum, a_sum = ({r["key"]: r for r in s["runs"]}[run.key] for s in summaries(root))  # B started first
    assert a_sum["status"] == "done"
    assert b_sum["status"] == "skipped" and "finished by another driver" in b_sum["reason"]
    log = Path(a_sum["log_path"]).read_text()
    assert log.count("attempt 1 done") == 1                       # executed exactly once


def test_zombie_lock_owner_is_not_live_and_the_run_is_executed(tmp_path_factory):
    """A lock whose owner died but was not reaped (a zombie: `kill 0` still succeeds)."""
    root = new_root(tmp_path_factory, "zombie")
    (run,) = one_run_matrix(root, 0.2)
    lock = run.lock_path(root)
    code = ("import os, signal, sys; from pathlib import Path; from gainakt.pipeline.locks import acquire_lock;"
            f"acquire_lock(Path({str(lock)!r}), key='x', worker='zombie', attempt=1);"
            "os.kill(os.getpid(), signal.SIGKILL)")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    owner = subprocess.Popen([sys.executable, "-c", code], env=env)   # never reaped until the end
    try:
        wait_for(lambda: Path(f"/proc/{owner.pid}/stat").read_text().split(") ")[1][0] == "Z",
                 30, "the lock owner to become a zombie")
        info = read_lock(lock)
        assert info["pid"] == owner.pid and info["age_s"] < 60       # a fresh heartbeat
        os.kill(owner.pid, 0)                                          # what used to count as live
        assert not lock_is_live(info) and run_state(run, root) == "stale-lock"
        d = driver(root)
        assert d.wait(120) == 0
        assert run_state(run, root) == "done"
        (s,) = summaries(root)
        assert s["runs"][0]["status"] == "done"
    finally:
        owner.wait(10)


def test_reused_pid_is_not_the_lock_owner(tmp_path):
    lock = tmp_path / ".seed0.lock"
    held = acquire_lock(lock, key="k")
    try:
        info = read_lock(lock)
        assert lock_is_live(info)
        assert not lock_is_live({**info, "pid_start": info["pid_start"] + 1})   # same pid, other process
    finally:
        held.release()


def test_killed_driver_leaves_no_worker_and_a_restart_runs_the_run(tmp_path_factory):
    root = new_root(tmp_path_factory, "killed")
    (run,) = one_run_matrix(root, 60.0)
    d = driver(root)
    try:
        lock = run.lock_path(root)
        wait_for(lambda: (read_lock(lock) or {}).get("pid") is not None, 90, "the run's lock")
        worker = read_lock(lock)["pid"]
        assert worker != d.pid and process_alive(worker)
        os.kill(d.pid, signal.SIGKILL)                 # the driver only, not its process group
        d.wait(10)
        wait_for(lambda: not process_alive(worker), 15, "the orphaned pool worker to end")
        wait_for(lambda: not kernels_in(root), 15, "its notebook kernel to end")
        wait_for(lambda: not lock_is_live(read_lock(lock)), 5, "the lock to go stale")
        (again,) = one_run_matrix(root, 0.2)          # the same run, quicker this time
        assert again.key == run.key
        r = driver(root)
        assert r.wait(180) == 0
        assert run_state(run, root) == "done"
    finally:
        stop(d)

"""The driver end to end with a fixture notebook: local pool and Dask, retries, skips, failures.

Every test uses a throw-away repository root (``tmp``) with a ``notebooks/`` folder (the
notebooks' working directory); the input notebook is given by absolute path.

``NOTEBOOKS`` lists the notebooks the executor-equality test runs (the fixture and the real
training notebook on tiny simulated data): (notebook, defaults merged into the matrix, metrics
keys ignored when comparing).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gainakt.pipeline import driver
from gainakt.book import main as book_main
from gainakt.pipeline.driver import drive
from gainakt.pipeline.matrix import expand
from gainakt.pipeline.selection import status
from run_fixtures import FAILING, REPO, TINY, new_root, small_matrix

NOTEBOOKS = [
    pytest.param(TINY, {}, set(), id="fixture"),
    # the real training notebook on simulated learners, tiny: one seed (2 runs, not 4) and small data,
    # the slowest unit test otherwise
    pytest.param(REPO / "notebooks/train_variant.ipynb",
                 {"dataset": "synthetic", "epochs": 1, "d_model": 16, "n_blocks": 1, "d_ff": 32, "seeds": [0],
                  "overrides": {"synthetic": {"n_students": 30, "max_len": 20}, "seq_len": 20,
                                "n_trajectory_students": 2, "trajectory_min_steps": 3, "im_grad_batches": 1}},
                 set(), id="train_variant", marks=pytest.mark.slow),
]


def metrics_of(root: Path, runs, ignore=()) -> dict:
    out = {}
    for r in runs:
        m = json.loads(r.metrics_path(root).read_text())
        out[r.key] = {k: v for k, v in m.items() if k not in ignore}
    return out


def kernels_in(root: Path) -> list[int]:
    """Kernel processes still working in this test's notebooks/ folder (orphans)."""
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "cwd").startswith(str(root)):
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


def assert_no_orphans(root: Path, wait: float = 5.0) -> None:
    deadline = time.monotonic() + wait
    while kernels_in(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernels_in(root), "kernel processes outlived their worker"


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The small matrix of the fixture notebook, executed once with the local pool."""
    root = new_root(tmp_path_factory, "local")
    runs = expand(small_matrix(TINY))
    t = time.monotonic()
    report = drive(runs, repo_root=root, executor="local", workers=2, progress=False)
    return root, runs, report, time.monotonic() - t


# ---------------------------------------------------------------------------------------------
def test_local_executor_runs_everything(local_run):
    root, runs, report, _ = local_run
    assert report.exit_code == 0, [r.error for r in report.results]
    assert [r.status for r in report.results] == ["done"] * 4
    assert set(status(runs, root).values()) == {"done"}
    for r in runs:
        assert r.path(root, "notebook_out").is_file()          # executed notebook in place
        d = r.path(root)
        assert sorted(p.name for p in d.iterdir()) == ["config.json", "history.csv",
                                                       "metrics.json"]
        assert not r.lock_path(root).exists()
        cfg = json.loads((d / "config.json").read_text())
        assert cfg["env"]["OMP_NUM_THREADS"] == "1"             # threads_per_run reached it
        assert cfg["config"]["seed"] == r.seed and cfg["config"]["num_threads"] == 1
        nb = json.loads(r.path(root, "notebook_out").read_text())
        assert nb["metadata"]["papermill"]["parameters"]["overrides"] == {}
    assert len({r.worker for r in report.results}) == 2         # two worker processes
    summary = json.loads(Path(report.summary_path).read_text())
    assert summary["counts"] == {"done": 4, "failed": 0, "skipped": 0}
    assert Path(report.summary_path).parent == root / "results" / "_driver"
    leftovers = [p for p in (root / "book").rglob("*") if ".tmp" in p.name]
    assert not leftovers


@pytest.mark.parametrize("notebook, extra, ignore", NOTEBOOKS)
def test_local_and_dask_give_identical_metrics(local_run, tmp_path_factory, notebook, extra,
                                               ignore):
    runs = expand(small_matrix(notebook, extra))
    if notebook == TINY and not extra:
        root_a, ref_runs, _, _ = local_run
    else:
        root_a = new_root(tmp_path_factory, "local_nb")
        rep = drive(runs, repo_root=root_a, executor="local", workers=2, progress=False)
        assert rep.exit_code == 0, [r.error for r in rep.results]
    root_b = new_root(tmp_path_factory, "dask")
    rep = drive(runs, repo_root=root_b, executor="dask", workers=2, progress=False)
    assert rep.exit_code == 0, [r.error for r in rep.results]
    assert all("[dask" in r.worker for r in rep.results)
    if notebook == TINY:   # the nanny's MALLOC_TRIM_THRESHOLD_ (slows numpy) is not inherited
        for r in runs:
            cfg = json.loads((r.path(root_b) / "config.json").read_text())
            assert cfg["env"]["MALLOC_TRIM_THRESHOLD_"] is None
    a, b = metrics_of(root_a, runs, ignore), metrics_of(root_b, runs, ignore)
    assert a == b
    if not ignore:
        for r in runs:   # byte-identical files
            assert r.metrics_path(root_a).read_bytes() == r.metrics_path(root_b).read_bytes()
    assert len({json.dumps(v, sort_keys=True) for v in a.values()}) == len(runs) > 1   # seeds/flavours differ


def test_second_invocation_skips_finished_runs(local_run, monkeypatch):
    root, runs, _, _ = local_run
    before = {r.key: r.metrics_path(root).stat().st_mtime_ns for r in runs}

    def forbidden(*a, **k):
        raise AssertionError("nothing should be executed")

    import papermill
    monkeypatch.setattr(papermill, "execute_notebook", forbidden)
    monkeypatch.setattr(driver, "run_local", forbidden)
    monkeypatch.setattr(driver, "run_dask", forbidden)
    for ex in ("local", "dask"):
        rep = drive(runs, repo_root=root, executor=ex, progress=False)
        assert rep.exit_code == 0
        assert [(r.status, r.reason, r.attempt) for r in rep.results] == [("skipped", "done", 0)] * 4
    assert {r.key: r.metrics_path(root).stat().st_mtime_ns for r in runs} == before
    lines = []
    rep = drive(runs, repo_root=root, dry_run=True, force=True, echo=lines.append)
    assert len(rep.planned) == 4 and all("forced" in x for x in lines[:4])


def test_rerun_executes_only_what_is_missing(local_run, tmp_path_factory):
    src_root, runs, _, _ = local_run
    root = new_root(tmp_path_factory, "partial")
    for sub in ("results", "book"):
        shutil.copytree(src_root / sub, root / sub)
    gone = runs[2]
    gone.metrics_path(root).unlink()          # as if the driver was interrupted in this run
    (gone.path(root) / ".metrics.json.1234abcd.tmp").write_text("{")   # stale temp file
    rep = drive(runs, repo_root=root, executor="local", progress=False)
    assert rep.exit_code == 0
    assert [r.status for r in rep.results] == ["skipped", "skipped", "done", "skipped"]
    assert [r.key for r in rep.planned] == [gone.key]
    assert gone.metrics_path(root).read_bytes() == gone.metrics_path(src_root).read_bytes()
    assert not list(gone.path(root).glob("*.tmp"))
    # --force starts from an empty results folder (no resuming from old checkpoints)
    old = runs[0].path(root) / "checkpoints" / "last.pt"
    old.parent.mkdir()
    old.write_text("stale")
    rep = drive(runs[:1], repo_root=root, executor="local", force=True, progress=False)
    assert [r.status for r in rep.results] == ["done"] and not old.parent.exists()


def test_failing_run_is_reported_and_others_finish(tmp_path_factory, capsys):
    root = new_root(tmp_path_factory, "failing")
    m = small_matrix(TINY)
    m["defaults"]["seeds"] = [0]
    m["runs"].append({"variant": "V2", "flavour": "as_run", "notebook": str(FAILING)})
    (root / "experiments.yml").write_text(json.dumps(m))       # JSON is YAML
    rc = book_main(["run", "--repo-root", str(root), "--workers", "2", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 1
    runs = expand(root / "experiments.yml")
    st = status(runs, root)
    bad = "synthetic/V2-as_run/seed0"
    assert st == {"synthetic/V1-as_run-t/seed0": "done",
                  "synthetic/V1-as_intended-t/seed0": "done", bad: "missing"}
    summary = json.loads(sorted((root / "results/_driver").glob("summary-*.json"))[-1]
                         .read_text())
    res = {r["key"]: r for r in summary["runs"]}
    assert res[bad]["status"] == "failed" and res[bad]["attempt"] == 1   # no retry of a bug
    assert "RuntimeError: deliberate failure in V2-as_run seed 0" in res[bad]["error"]
    assert "about to fail on purpose" in res[bad]["error"]                 # the log tail
    assert "FAILED" in err and "deliberate failure" in err
    assert "synthetic/V2-as_run/seed0" in out and "failed" in out           # summary table
    failed = next(r for r in runs if r.key == bad)
    assert not failed.path(root, "notebook_out").exists()                  # no notebook in book/
    assert (root / "results/_driver/logs/synthetic__V2-as_run__seed0.failed.ipynb").is_file()
    assert not failed.metrics_path(root).exists()                          # half-written != done


@pytest.mark.parametrize("executor, cell", [
    ("local", "-2"),   # killed at the start of the metrics cell: metrics.json never written
    pytest.param("dask", "-1", marks=pytest.mark.slow),  # killed after metrics.json: must not look done
])
def test_worker_killed_mid_run_is_retried(tmp_path_factory, monkeypatch, local_run, executor,
                                          cell):
    ref_root, ref_runs, _, _ = local_run
    root = new_root(tmp_path_factory, f"kill_{executor}")
    runs = expand(small_matrix(TINY))
    victim = runs[1]
    kill_file = root / "kill-me"
    kill_file.write_text(victim.key + "\n")
    monkeypatch.setenv("GAINAKT_FAULT_KILL", str(kill_file))
    monkeypatch.setenv("GAINAKT_FAULT_KILL_CELL", cell)
    rep = drive(runs, repo_root=root, executor=executor, workers=2, progress=False)
    assert rep.exit_code == 0, [r.error for r in rep.results]
    assert not kill_file.exists()                                   # exactly one kill
    by_key = {r.key: r for r in rep.results}
    v = by_key[victim.key]
    assert v.status == "done" and v.attempt == 2
    assert v.history[0]["status"] == "lost" and v.history[0]["attempt"] == 1
    log = Path(v.log_path).read_text()
    assert "FAULT INJECTION" in log and "attempt 2" in log
    first = log[log.index("FAULT INJECTION"):log.index("===== " + victim.key + " attempt 2")]
    assert "fake epochs" in first                                   # it was mid-run
    assert ("metrics.json written" in first) == (cell == "-1")
    assert all(r.status == "done" for r in rep.results)
    # only the victim paid an attempt: the other runs went on (local: their own worker slots;
    # dask: a task merely queued on the dying worker is requeued without charge)
    assert [r.attempt for r in rep.results if r.key != victim.key] == [1, 1, 1]
    assert metrics_of(root, runs) == metrics_of(ref_root, ref_runs)  # complete and identical
    assert not any(r.lock_path(root).exists() for r in runs)
    assert_no_orphans(root)


def test_retries_exhausted_is_a_failure(tmp_path_factory, monkeypatch):
    root = new_root(tmp_path_factory, "exhausted")
    runs = expand(small_matrix(TINY))[:1]
    kill_file = root / "kill-me"
    kill_file.write_text(runs[0].key)
    monkeypatch.setenv("GAINAKT_FAULT_KILL", str(kill_file))
    rep = drive(runs, repo_root=root, executor="local", workers=1, retries=0, progress=False)
    assert rep.exit_code == 1
    (r,) = rep.results
    assert r.status == "failed" and r.attempt == 1 and r.retryable
    assert "worker process died" in r.error and "FAULT INJECTION" in r.error
    # killed in the cell after metrics.json: the driver moved that file aside, so the run is
    # not done and the next invocation runs it again
    assert not runs[0].metrics_path(root).exists()
    assert (runs[0].path(root) / "metrics.json.incomplete").exists()
    assert status(runs, root)[r.key] == "missing"
    assert not runs[0].path(root, "notebook_out").exists()
    rep = drive(runs, repo_root=root, executor="local", workers=1, progress=False)
    assert rep.exit_code == 0 and rep.results[0].status == "done"
    assert status(runs, root)[r.key] == "done"


def _start(cmd, env, log):
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.mark.slow
def test_dask_scheduler_address(tmp_path_factory):
    """`--scheduler ADDRESS` against a `dask scheduler` and two `dask worker` processes, one of
    them started with `--resources GPU=1`: runs marked `gpu: true` must all go to that one."""
    root = new_root(tmp_path_factory, "address")
    dask_bin = Path(sys.executable).with_name("dask")
    if not dask_bin.exists():
        pytest.skip("no dask CLI")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    sched_file = root / "scheduler.json"
    log = open(root / "cluster.log", "w")
    procs = [_start([str(dask_bin), "scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", str(sched_file)], env, log)]
    try:
        deadline = time.monotonic() + 30
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for i in range(2):
            gpu = ["--resources", "GPU=1"] if i == 0 else []
            procs.append(_start([str(dask_bin), "worker", address, "--nthreads", "1",
                                 "--name", f"w{i}", "--no-dashboard", *gpu], env, log))
        from distributed import Client
        with Client(address) as c:
            c.wait_for_workers(2, timeout=30)
        m = small_matrix(TINY)
        m["runs"].append({"variant": "V2", "flavour": "as_run", "gpu": True, "seeds": [0, 1, 2]})
        (root / "experiments.yml").write_text(json.dumps(m))
        runs = expand(m)
        rc = book_main(["run", "--repo-root", str(root), "--executor", "dask",
                        "--scheduler", address, "--quiet"])
        assert rc == 0, (root / "cluster.log").read_text()[-3000:]
        assert set(status(runs, root).values()) == {"done"}
        summary = json.loads(next((root / "results/_driver").glob("summary-*.json")).read_text())
        where = {r["key"]: r["worker"].split("[dask ")[1].rstrip("]") for r in summary["runs"]}
        assert set(where.values()) <= {"w0", "w1"}
        assert {where[r.key] for r in runs if r.gpu} == {"w0"}
    finally:
        for p in procs[::-1]:
            with_timeout_kill(p)
        log.close()


def with_timeout_kill(p: subprocess.Popen) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


def test_cli_status_dry_run_and_build(local_run, capsys, monkeypatch):
    root, runs, _, _ = local_run
    yml = root / "cli.yml"
    yml.write_text(json.dumps(small_matrix(TINY)))
    assert book_main(["status", "--repo-root", str(root), "--matrix", str(yml)]) == 0
    out = capsys.readouterr().out
    assert "4 runs: 4 done" in out and "synthetic/V1-as_run-t/seed0" in out
    assert book_main(["run", "--repo-root", str(root), "--matrix", str(yml), "--dry-run",
                      "--flavour", "as_run", "--force"]) == 0
    out = capsys.readouterr().out
    assert "2 to run, 0 skipped" in out and "as_intended" not in out
    assert book_main(["run", "--repo-root", str(root), "--matrix", str(yml), "--variant",
                      "V7", "--dry-run"]) == 2
    assert "--variant 'V7' matches no run" in capsys.readouterr().err
    calls = []
    monkeypatch.setattr("gainakt.book.subprocess.call",
                        lambda cmd, cwd: calls.append((cmd, cwd)) or 3)
    assert book_main(["build", "--repo-root", str(root)]) == 3          # exit code passed on
    (cmd, cwd), = calls
    assert cmd[0].endswith("jupyter-book") and cmd[1:] == ["build", ".", "-W", "-n",
                                                           "--keep-going"]
    assert Path(cwd) == root

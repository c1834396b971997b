"""The matrix on a real single-node Slurm: ``python -m gainakt.book run --executor dask
--cluster slurm`` submits its Dask workers with ``sbatch`` (dask-jobqueue's ``SLURMCluster``).

Slurm is started by ``scripts/slurm_local.sh start --install`` (Debian's slurm-wlm and munge,
installed with apt-get when missing) and stopped again if this test started it. Where Slurm
cannot be installed or started the test is skipped with the script's message, unless
``GAINAKT_REQUIRE_SLURM=1`` (then it fails).

The Slurm test (marked ``slurm``): four tiny runs of the real training notebook on simulated
learners (d_model 16, one block, one epoch), checked against the local executor: every run
done with identical ``metrics.json``; the Slurm job of a worker is cancelled with ``scancel``
while it executes a run, and that run is retried (attempt 2) and the set completes; a second
invocation submits no job (``sbatch`` is replaced by a stub that records any call). Two fast
tests need dask-jobqueue but no Slurm: the job script, and the CLI's option checks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gainakt.book import main as book_main
from gainakt.pipeline.driver import drive
from gainakt.pipeline.matrix import expand
from gainakt.pipeline.selection import status
from run_fixtures import REPO, new_root, small_matrix

SCRIPT = REPO / "scripts" / "slurm_local.sh"
STATE = Path(os.environ.get("GAINAKT_SLURM_DIR", "/tmp/gainakt-slurm"))
TINY_TRAIN = {"dataset": "synthetic", "epochs": 1, "d_model": 16, "n_blocks": 1, "d_ff": 32,
              "overrides": {"synthetic": {"n_students": 60, "max_len": 30}}}


def _sh(*args, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, GAINAKT_SLURM_DIR=str(STATE), **(env or {})))


@pytest.fixture(scope="module")
def slurm():
    """A running single-node Slurm; yields the environment for its clients."""
    already = _sh("status").returncode == 0
    if not already:
        started = _sh("start", "--install")
        if started.returncode != 0:
            why = (started.stderr or started.stdout).strip().splitlines()[-1:]
            msg = f"Slurm could not be installed/started: {' '.join(why)}"
            if os.environ.get("GAINAKT_REQUIRE_SLURM") == "1":
                pytest.fail(msg)
            print(msg, file=sys.stderr)
            pytest.skip(msg)
    env = dict(os.environ, SLURM_CONF=str(STATE / "slurm.conf"))
    yield env
    if not already:
        _sh("stop")


def _squeue(env) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, env=env,
                         check=True).stdout
    return out.split()


def _slurm_job_of(pid: int) -> str | None:
    """The Slurm job id a process runs in (its SLURM_JOB_ID)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for kv in env:
        if kv.startswith(b"SLURM_JOB_ID="):
            return kv.split(b"=", 1)[1].decode()
    return None


def _cancel_mid_run(root: Path, runs, proc: subprocess.Popen, env, timeout=300.0):
    """Wait for a run whose notebook is executing, scancel its worker's job; (run, job id)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for r in runs:
            lock = r.lock_path(root)
            log = root / "results/_driver/logs" / f"{r.safe_key}.log"
            try:
                info = json.loads(lock.read_text())
                text = log.read_text()
            except (OSError, ValueError):
                continue
            # the kernel runs the notebook and the run is not finished
            if "Executing notebook with kernel" in text and "attempt 1 done" not in text:
                job = _slurm_job_of(int(info["pid"]))
                if job:
                    subprocess.run(["scancel", job], env=env, check=True)
                    return r, job
        time.sleep(0.2)
    raise AssertionError("no run was seen executing inside a Slurm job")


def test_job_script_books_threads_and_gpus():
    """No Slurm needed: the batch script the driver's SLURMCluster would submit."""
    from gainakt.pipeline.slurm import SlurmOptions, slurm_cluster

    c = slurm_cluster(SlurmOptions(queue="gpu", account="proj", walltime="02:00:00",
                                   memory="8GB", gpus=1, extra=["--qos=short"]),
                      threads_per_run=4)
    try:
        script = c.job_script()
    finally:
        c.close()
    for line in ("#SBATCH -p gpu", "#SBATCH -A proj", "#SBATCH --cpus-per-task=4",
                 "#SBATCH -t 02:00:00", "#SBATCH --gres=gpu:1", "#SBATCH --qos=short",
                 f'export PYTHONPATH="{REPO}'):
        assert line in script, (line, script)
    worker = script.strip().splitlines()[-1]
    assert "--nthreads 1" in worker and "--resources GPU=1" in worker


def test_cluster_slurm_needs_dask_without_scheduler(tmp_path, capsys):
    (tmp_path / "experiments.yml").write_text(json.dumps(small_matrix(REPO / "x.ipynb")))
    for extra in (["--executor", "local"], ["--executor", "dask", "--scheduler", "tcp://h:1"]):
        assert book_main(["run", "--repo-root", str(tmp_path), "--cluster", "slurm",
                          *extra]) == 2
        assert "--cluster slurm needs --executor dask" in capsys.readouterr().err


@pytest.mark.slurm
@pytest.mark.slow
def test_matrix_on_slurm(slurm, tmp_path_factory, tmp_path):
    env = dict(slurm, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    m = small_matrix(REPO / "notebooks/train_variant.ipynb", TINY_TRAIN)

    # reference: the local executor
    ref_root = new_root(tmp_path_factory, "slurm_ref")
    runs = expand(m)
    rep = drive(runs, repo_root=ref_root, executor="local", workers=2, progress=False)
    assert rep.exit_code == 0, [r.error for r in rep.results]

    # the same matrix through Slurm, with the CLI
    root = new_root(tmp_path_factory, "slurm")
    (root / "experiments.yml").write_text(json.dumps(m))
    before = set(_squeue(env))
    cmd = [sys.executable, "-m", "gainakt.book", "run", "--repo-root", str(root),
           "--executor", "dask", "--cluster", "slurm", "--jobs", "2", "--queue", "debug",
           "--job-mem", "2GB", "--walltime", "00:20:00", "--retries", "2"]
    out = open(tmp_path / "driver.log", "w+")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        victim, job = _cancel_mid_run(root, runs, proc, env)
        rc = proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.seek(0)
    log = out.read()
    print(log)
    assert rc == 0, log[-4000:]
    assert f"retry   {victim.key}: attempt 1 lost" in log

    # every run done, metrics byte-identical to the local executor's
    assert set(status(runs, root).values()) == {"done"}
    for r in runs:
        assert r.metrics_path(root).read_bytes() == r.metrics_path(ref_root).read_bytes(), r.key
    summary = json.loads(next((root / "results/_driver").glob("summary-*.json")).read_text())
    assert summary["cluster"] == "slurm" and summary["exit_code"] == 0
    by_key = {r["key"]: r for r in summary["runs"]}
    assert all(r["status"] == "done" and "[dask SLURMCluster-" in r["worker"]
               for r in by_key.values())
    v = by_key[victim.key]
    assert v["attempt"] == 2 and [h["status"] for h in v["history"]] == ["lost"]
    assert "KilledWorker" in v["history"][0]["error"]
    assert [r["attempt"] for k, r in by_key.items() if k != victim.key] == [1, 1, 1]
    run_log = (root / "results/_driver/logs" / f"{victim.safe_key}.log").read_text()
    first = run_log[:run_log.index(f"===== {victim.key} attempt 2")]
    assert "attempt 1 done" not in first                 # it was cut off mid-run
    # the jobs ran through Slurm and are gone; the cancelled one was replaced
    jobs = sorted(int(p.stem.split("-")[1]) for p in (root / "results/_driver/slurm").glob("*.err"))
    print(f"Slurm jobs: {jobs}; cancelled {job} while it ran {victim.key}")
    assert int(job) in jobs and len(jobs) >= 2
    # scancel is asynchronous: a job leaves the queue when its workers have exited, which took over
    # 30 s on a 2-core machine busy with three training runs
    deadline = time.monotonic() + 180
    while set(_squeue(env)) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not set(_squeue(env)) - before, "the driver left Slurm jobs behind"

    # a second invocation submits nothing: sbatch is a stub that records any call
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "sbatch").write_text(f"#!/bin/sh\necho called >> {tmp_path}/sbatch-called\nexit 1\n")
    (stub / "sbatch").chmod(0o755)
    env2 = dict(env, PATH=f"{stub}{os.pathsep}{env['PATH']}")
    again = subprocess.run(cmd, env=env2, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 done, 0 failed, 4 skipped" in again.stdout
    assert not (tmp_path / "sbatch-called").exists()

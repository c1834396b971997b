"""Spread the runs of the experiment matrix over workers: a local process pool or Dask.

* :func:`run_local` spreads runs over ``workers`` worker processes (single-process spawn-context
  ``ProcessPoolExecutor`` slots); a worker process that dies (``BrokenProcessPool``) costs its
  run one attempt, its pool is recreated and the run retried while the others go on.
* :func:`run_dask` submits one task per run to a Dask cluster (a ``LocalCluster``, Slurm jobs
  through :mod:`gainakt.pipeline.slurm`, or the scheduler at ``--scheduler ADDRESS``); ``KilledWorker``,
  cancelled futures, lost connections and task exceptions are retried by the driver's own loop.
* :func:`gainakt.pipeline.driver.drive` does the bookkeeping around either (what to run, summary, exit code).

Each run is executed by :func:`gainakt.pipeline.runner.execute_run`, the same function everywhere.
Retries: a failure caused by the infrastructure (the worker or kernel died, a lost connection,
an exception outside the notebook) is retried up to ``retries`` times. A notebook that raises
(``PapermillExecutionError``) or times out is reported as failed straight away: running the
same code again on the same data would fail the same way.
"""
from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import multiprocessing as mp
import os
import secrets
import sys
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from pathlib import Path
from typing import Sequence

from .locks import break_lock, read_lock
from .matrix import Run
from .runner import RunResult, demote_metrics, execute_run, first_line, log_tail


__all__ = ["run_local", "run_dask", "Progress"]

# ---------------------------------------------------------------------------------------------
def _terminal_width(stream) -> int:
    """Columns of the terminal behind ``stream``; 0 if it is not a (sized) terminal."""
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else 0
    except (AttributeError, OSError, ValueError):
        return 0


class Progress:
    """A tqdm bar with done/failed counts on a terminal; one plain line per event otherwise."""

    def __init__(self, total: int, *, desc: str = "runs", enabled: bool = True, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.n, self.counts = total, 0, {"done": 0, "failed": 0, "skipped": 0}
        self.enabled = enabled
        self.bar = None
        if enabled and total and _terminal_width(self.stream) > 0:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, file=self.stream, unit="run",
                            dynamic_ncols=True)

    def event(self, msg: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(msg, file=self.stream)
        else:
            print(msg, file=self.stream, flush=True)

    def finished(self, res: RunResult) -> None:
        self.n += 1
        self.counts[res.status] = self.counts.get(res.status, 0) + 1
        line = (f"[{self.n}/{self.total}] {res.status:<7} {res.key}  {res.seconds:.1f} s, "
                f"attempt {res.attempt}, {res.worker}")
        if res.status == "failed" and res.error:
            line += "\n    " + res.error.replace("\n", "\n    ")
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(done=self.counts["done"], failed=self.counts["failed"])
            if res.status != "done":
                self.event(line)
        else:
            self.event(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Retrier:
    """Shared bookkeeping of both executors: final results, attempts, retries."""

    def __init__(self, runs, repo_root, log_dir, retries, progress):
        self.runs = list(runs)
        self.repo_root, self.log_dir = Path(repo_root), Path(log_dir)
        self.retries, self.progress = retries, progress
        self.results: dict[str, RunResult] = {}
        self.history: dict[str, list] = {r.key: [] for r in self.runs}
        self.unstarted: dict[str, int] = {}

    def ordered(self) -> list[RunResult]:
        return [self.results[r.key] for r in self.runs if r.key in self.results]

    def _final(self, res: RunResult) -> None:
        res.history = self.history[res.key]
        self.results[res.key] = res
        self.progress.finished(res)

    def on_result(self, run: Run, attempt: int, res: RunResult) -> int | None:
        """Record a returned result; the attempt number to submit next, or None."""
        if res.status == "failed" and res.retryable and attempt <= self.retries:
            self.history[run.key].append({"attempt": attempt, "status": "failed",
                                          "seconds": res.seconds, "worker": res.worker,
                                          "error": (res.error or "").splitlines()[0][:300]})
            self.progress.event(f"retry   {run.key}: attempt {attempt} failed "
                                f"({(res.error or '').splitlines()[0][:200]})")
            return attempt + 1
        self._final(res)
        return None

    def on_exception(self, run: Run, attempt: int, exc: BaseException, seconds: float,
                     what: str) -> int | None:
        """Record a worker death / task exception; the attempt number to submit next, or None.

        An attempt counts only if it had started (its lock file names it): a task that was
        merely queued on a worker that died is resubmitted under the same attempt number.
        """
        log_path = self.log_dir / f"{run.safe_key}.log"
        text = f"{what}: {type(exc).__name__}: {first_line(exc)}"
        info = read_lock(run.lock_path(self.repo_root)) or {}
        break_lock(run.lock_path(self.repo_root))     # its holder is dead
        if info.get("attempt") != attempt and self.unstarted.get(run.key, 0) < 5:
            self.unstarted[run.key] = self.unstarted.get(run.key, 0) + 1
            self.progress.event(f"requeue {run.key}: lost before it started ({text[:160]})")
            return attempt
        # The attempt started and died: whatever it wrote is not a finished run.
        with suppress(OSError):
            demote_metrics(run.path(self.repo_root))
        self.history[run.key].append({"attempt": attempt, "status": "lost", "seconds":
                                      round(seconds, 3), "worker": info.get("worker", "?"),
                                      "error": text[:300]})
        if attempt <= self.retries:
            self.progress.event(f"retry   {run.key}: attempt {attempt} lost ({text[:200]})")
            return attempt + 1
        self._final(RunResult(
            key=run.key, status="failed", seconds=round(seconds, 3), attempt=attempt,
            log_path=str(log_path), worker=info.get("worker", "?"), retryable=True,
            notebook_out=run.notebook_out,
            error=f"{text}\n{log_tail(log_path, f'===== {run.key} attempt {attempt} ')}"))
        return None


def _default_workers(threads_per_run: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, threads_per_run))


PARENT_POLL_S = 0.5


def _die_with_parent(parent: int) -> None:
    """Pool-worker initializer: a thread that ends this worker when its driver is gone (killed:
    the worker is re-parented). Its notebook kernel follows (ipykernel polls its parent too), so
    no orphan keeps running a run (and keeps its lock live) after ``kill -9`` of the driver."""
    import signal
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def run_local(runs: Sequence[Run], *, repo_root, log_dir, workers: int | None = None,
              threads_per_run: int = 1, retries: int = 2, timeout: float | None = None,
              progress: Progress | None = None, force: bool = False,
              direct: bool = False) -> list[RunResult]:
    """Execute runs in ``workers`` worker processes (spawn context), one run at a time each.

    Each worker slot is its own single-process ``ProcessPoolExecutor``: when a worker process
    dies (``BrokenProcessPool``) only its slot's pool is recreated, its run is retried (the
    attempt counts), and the runs in the other slots go on undisturbed. (One shared pool would
    terminate every worker when one dies.) A worker ends when the driver dies (`_die_with_parent`).
    ``force``: the first attempt of each run empties its results folder (under the run's lock).
    ``direct``: workers train without a notebook kernel (`gainakt.pipeline.direct`).
    """
    runs = list(runs)
    if not runs:
        return []
    progress = progress or Progress(len(runs), enabled=False)
    n = min(workers or _default_workers(threads_per_run), len(runs))
    book = _Retrier(runs, repo_root, log_dir, retries, progress)
    kw = dict(repo_root=str(repo_root), log_dir=str(log_dir), timeout=timeout, direct=direct)
    ctx = mp.get_context("spawn")
    queue = deque((r, 1) for r in runs)
    slots: list[cf.ProcessPoolExecutor | None] = [None] * n
    busy: dict[cf.Future, tuple[int, Run, int, float]] = {}

    def drop(i: int) -> None:
        if slots[i] is not None:
            slots[i].shutdown(wait=True, cancel_futures=True)
            slots[i] = None

    try:
        while queue or busy:
            used = {v[0] for v in busy.values()}
            for i in range(n):
                if not queue or i in used:
                    continue
                run, attempt = queue.popleft()
                if slots[i] is None:
                    slots[i] = cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx,
                                                      initializer=_die_with_parent,
                                                      initargs=(os.getpid(),))
                try:
                    fut = slots[i].submit(execute_run, run, attempt=attempt,
                                          force=force and attempt == 1, **kw)
                except BrokenProcessPool:
                    queue.appendleft((run, attempt))
                    drop(i)
                    continue
                busy[fut] = (i, run, attempt, time.monotonic())
            if not busy:
                continue
            done, _ = cf.wait(list(busy), return_when=cf.FIRST_COMPLETED)
            for fut in done:
                i, run, attempt, t = busy.pop(fut)
                exc = fut.exception()
                if exc is None:
                    nxt = book.on_result(run, attempt, fut.result())
                else:
                    dead = isinstance(exc, BrokenProcessPool)
                    if dead:
                        drop(i)
                    nxt = book.on_exception(run, attempt, exc, time.monotonic() - t,
                                            "worker process died" if dead else "task raised")
                if nxt is not None:
                    queue.appendleft((run, nxt))
    finally:
        for i in range(n):
            drop(i)
    return book.ordered()


def run_dask(runs: Sequence[Run], *, repo_root, log_dir, scheduler: str | None = None,
             workers: int | None = None, threads_per_run: int = 1, retries: int = 2,
             timeout: float | None = None, progress: Progress | None = None,
             client=None, slurm=None, force: bool = False) -> list[RunResult]:
    """Execute runs as Dask tasks, one task per run.

    ``scheduler``: address of a running scheduler (``tcp://host:8786``, or a scheduler file
    path ending in ``.json``). Without it (and without ``client``) a ``LocalCluster`` of
    ``workers`` single-threaded worker processes is started and closed again. For the
    LocalCluster, ``distributed.scheduler.allowed-failures`` is 0 and ``worker-saturation`` 1.0:
    a worker's death fails its one task with ``KilledWorker`` at once and this function's loop
    does the retrying (so every attempt is counted and reported). An external scheduler keeps
    its own settings (by default it silently re-runs a task up to 3 times before
    ``KilledWorker``; set ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0`` there to let
    the driver count every attempt).

    ``slurm`` (a :class:`gainakt.pipeline.slurm.SlurmOptions`): instead of the LocalCluster, submit
    ``slurm.jobs`` (default ``workers``) Slurm jobs of one worker each through dask-jobqueue,
    with the scheduler in this process (same settings as the LocalCluster); lost jobs are
    re-submitted, all are cancelled at the end.
    """
    runs = list(runs)
    if not runs:
        return []
    import dask
    from distributed import Client, LocalCluster, as_completed

    progress = progress or Progress(len(runs), enabled=False)
    book = _Retrier(runs, repo_root, log_dir, retries, progress)
    kw = dict(repo_root=str(repo_root), log_dir=str(log_dir), timeout=timeout)
    cluster = own_client = keeper = None
    config = {"distributed.scheduler.allowed-failures": 0,
              "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(config):
        try:
            if client is None:
                if scheduler:
                    client = own_client = Client(
                        scheduler_file=scheduler if scheduler.endswith(".json") else None,
                        address=None if scheduler.endswith(".json") else scheduler)
                elif slurm is not None:
                    from .slurm import KeepJobs, slurm_cluster
                    n = min(slurm.jobs or workers or _default_workers(threads_per_run),
                            len(runs))
                    cluster = slurm_cluster(slurm, threads_per_run=threads_per_run,
                                            log_dir=Path(log_dir).parent / "slurm")
                    keeper = KeepJobs(cluster, n).__enter__()
                    client = own_client = Client(cluster)
                    progress.event(f"dask: {n} Slurm jobs submitted (sbatch), logs in "
                                   f"{Path(log_dir).parent / 'slurm'}")
                else:
                    n = min(workers or _default_workers(threads_per_run), len(runs))
                    cluster = LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True,
                        dashboard_address=None, silence_logs=logging.CRITICAL,
                        # no dashboard; its HTTP server on a free port, not 8787
                        scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})
                    client = own_client = Client(cluster)
            # a LocalCluster declares no GPU resources; Slurm jobs do with --gpus-per-job
            use_gpu = cluster is None or bool(slurm is not None and slurm.gpus)
            info = client.scheduler_info()
            nw = len(info.get("workers", {}))
            progress.event(f"dask: scheduler {info.get('address', scheduler)}, {nw} workers")
            if use_gpu and any(r.gpu for r in runs) and not any(
                    w.get("resources", {}).get("GPU") for w in info.get("workers", {}).values()):
                progress.event("dask: GPU runs wait for a worker started with "
                               "'--resources GPU=1' (none is connected yet)")
            token, serial = secrets.token_hex(3), itertools.count()
            meta: dict[str, tuple[Run, int, float]] = {}

            def submit(run: Run, attempt: int):
                fut = client.submit(
                    execute_run, run, attempt=attempt, force=force and attempt == 1, **kw,
                    key=f"gainakt-run-{run.safe_key}-a{attempt}-{token}-{next(serial)}",
                    pure=False,
                    retries=0, resources={"GPU": 1} if (run.gpu and use_gpu) else None)
                meta[fut.key] = (run, attempt, time.monotonic())
                return fut

            ac = as_completed([submit(r, 1) for r in runs])
            for fut in ac:
                run, attempt, t = meta.pop(fut.key)
                try:
                    res, exc = fut.result(), None
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as e:  # KilledWorker, CancelledError, CommError, ...
                    res, exc = None, e
                fut.release()
                if exc is None:
                    nxt = book.on_result(run, attempt, res)
                else:
                    what = ("worker died" if type(exc).__name__ in
                            ("KilledWorker", "CancelledError", "FutureCancelledError",
                             "CommError") else "task raised")
                    nxt = book.on_exception(run, attempt, exc, time.monotonic() - t, what)
                if nxt is not None:
                    try:
                        ac.add(submit(run, nxt))
                    except Exception as e:  # noqa: BLE001 - e.g. the scheduler is gone
                        book.retries, book.unstarted[run.key] = -1, 99
                        book.on_exception(run, nxt, e, 0.0, "could not resubmit")
        finally:
            if own_client is not None:
                with suppress(Exception):
                    own_client.close()
            if keeper is not None:
                keeper.__exit__(None, None, None)
            if cluster is not None:
                with suppress(Exception):
                    cluster.close()
    return book.ordered()

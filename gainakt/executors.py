"""Spread the runs of the experiment matrix over workers: a local process pool or Dask.

* :func:`run_local` spreads runs over ``workers`` worker processes (single-process spawn-context
  ``ProcessPoolExecutor`` slots); a worker process that dies (``BrokenProcessPool``) costs its
  run one attempt, its pool is recreated and the run retried while the others go on.
* :func:`run_dask` submits one task per run to a Dask cluster (a ``LocalCluster`` or the
  scheduler at ``--scheduler ADDRESS``); ``KilledWorker``, cancelled futures, lost connections
  and task exceptions are retried by the driver's own loop.
* :func:`drive` does the bookkeeping around either: skip finished runs (unless ``force``),
  progress, summary table, ``results/_driver/summary-<timestamp>.json``, exit code.

Each run is executed by :func:`gainakt.runner.execute_run`, the same function everywhere.
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
import shutil
import socket
import sys
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .atomic import write_json_atomic
from .matrix import Run, read_lock, run_state
from .runner import RunResult, break_lock, execute_run, first_line, log_tail


__all__ = ["run_local", "run_dask", "drive", "DriveReport", "format_table", "Progress"]

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
        break_lock(run, self.repo_root)     # its holder is dead
        if info.get("attempt") != attempt and self.unstarted.get(run.key, 0) < 5:
            self.unstarted[run.key] = self.unstarted.get(run.key, 0) + 1
            self.progress.event(f"requeue {run.key}: lost before it started ({text[:160]})")
            return attempt
        # The attempt started and died: whatever it wrote is not a finished run.
        metrics = run.metrics_path(self.repo_root)
        if metrics.is_file():
            with suppress(OSError):
                os.replace(metrics, metrics.with_name("metrics.json.incomplete"))
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


def run_local(runs: Sequence[Run], *, repo_root, log_dir, workers: int | None = None,
              threads_per_run: int = 1, retries: int = 2, timeout: float | None = None,
              progress: Progress | None = None) -> list[RunResult]:
    """Execute runs in ``workers`` worker processes (spawn context), one run at a time each.

    Each worker slot is its own single-process ``ProcessPoolExecutor``: when a worker process
    dies (``BrokenProcessPool``) only its slot's pool is recreated, its run is retried (the
    attempt counts), and the runs in the other slots go on undisturbed. (One shared pool would
    terminate every worker when one dies.)
    """
    runs = list(runs)
    if not runs:
        return []
    progress = progress or Progress(len(runs), enabled=False)
    n = min(workers or _default_workers(threads_per_run), len(runs))
    book = _Retrier(runs, repo_root, log_dir, retries, progress)
    kw = dict(repo_root=str(repo_root), log_dir=str(log_dir), timeout=timeout)
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
                    slots[i] = cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx)
                try:
                    fut = slots[i].submit(execute_run, run, attempt=attempt, **kw)
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
             client=None) -> list[RunResult]:
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
    """
    runs = list(runs)
    if not runs:
        return []
    import dask
    from distributed import Client, LocalCluster, as_completed

    progress = progress or Progress(len(runs), enabled=False)
    book = _Retrier(runs, repo_root, log_dir, retries, progress)
    kw = dict(repo_root=str(repo_root), log_dir=str(log_dir), timeout=timeout)
    cluster = own_client = None
    config = {"distributed.scheduler.allowed-failures": 0,
              "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(config):
        try:
            if client is None:
                if scheduler:
                    client = own_client = Client(
                        scheduler_file=scheduler if scheduler.endswith(".json") else None,
                        address=None if scheduler.endswith(".json") else scheduler)
                else:
                    n = min(workers or _default_workers(threads_per_run), len(runs))
                    cluster = LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True,
                        dashboard_address=None, silence_logs=logging.CRITICAL,
                        # no dashboard; its HTTP server on a free port, not 8787
                        scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})
                    client = own_client = Client(cluster)
            use_gpu = cluster is None     # a LocalCluster declares no GPU resources
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
                    execute_run, run, attempt=attempt, **kw,
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
            if cluster is not None:
                with suppress(Exception):
                    cluster.close()
    return book.ordered()


# ---------------------------------------------------------------------------------------------
@dataclass
class DriveReport:
    results: list                 # RunResult for every selected run, in matrix order
    summary_path: str | None      # results/_driver/summary-<timestamp>.json (None: dry run)
    wall_s: float
    exit_code: int                # 0 only if nothing failed
    planned: list = field(default_factory=list)   # the runs that were (or would be) executed

    @property
    def counts(self) -> dict:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out


def format_table(results: Iterable[RunResult]) -> str:
    rows = [("run", "status", "attempts", "seconds", "worker")]
    for r in results:
        st = r.status + (f" ({r.reason})" if r.reason else "")
        rows.append((r.key, st, str(r.attempt), f"{r.seconds:.1f}", r.worker or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i != 3 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths))).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def drive(runs: Sequence[Run], *, repo_root=".", executor: str = "local", force: bool = False,
          dry_run: bool = False, workers: int | None = None, threads_per_run: int | None = None,
          retries: int = 2, timeout: float | None = None, scheduler: str | None = None,
          results_root: str = "results", log_dir=None, progress: bool = True,
          echo: Callable[[str], None] = print, client=None) -> DriveReport:
    """Run what is missing (everything with ``force``) and write the summary.

    Returns a :class:`DriveReport`; prints progress to stderr and (through ``echo``) the plan
    for a dry run. No pool or cluster is started when nothing needs to run. Without ``force``
    a missing run keeps what an interrupted attempt left in its results folder (the training
    notebook resumes from its checkpoints); with ``force`` the folder is deleted first.
    """
    t0 = time.monotonic()
    started = datetime.now()
    repo_root = Path(os.path.abspath(repo_root))
    driver_dir = Path(results_root)
    driver_dir = (driver_dir if driver_dir.is_absolute() else repo_root / driver_dir) / "_driver"
    log_dir = Path(log_dir) if log_dir else driver_dir / "logs"
    log_dir = log_dir if log_dir.is_absolute() else repo_root / log_dir
    runs = list(runs)
    if threads_per_run is not None:
        runs = [replace(r, params={**r.params, "num_threads": int(threads_per_run)})
                for r in runs]
    threads = threads_per_run or max([int(r.params.get("num_threads") or 1) for r in runs] or [1])

    skipped: dict[str, RunResult] = {}
    todo: list[Run] = []
    for r in runs:
        state = run_state(r, repo_root)
        if state == "running":
            info = read_lock(r.lock_path(repo_root)) or {}
            skipped[r.key] = RunResult(r.key, "skipped", reason=f"running: {info.get('worker')}",
                                       notebook_out=r.notebook_out)
        elif state == "done" and not force:
            skipped[r.key] = RunResult(r.key, "skipped", reason="done",
                                       notebook_out=r.notebook_out)
        else:
            todo.append(r)

    if dry_run:
        for r in runs:
            why = skipped[r.key].reason if r.key in skipped else (
                "forced" if run_state(r, repo_root) == "done" else "missing")
            verb = "skip" if r.key in skipped else "run "
            echo(f"{verb}  {r.key:<48} {why:<10} -> {r.notebook_out}")
        echo(f"{len(todo)} to run, {len(skipped)} skipped ({executor} executor)")
        return DriveReport(list(skipped.values()), None, time.monotonic() - t0, 0, todo)

    if force:
        # A forced run starts from an empty results folder: the training notebook resumes from
        # <results_dir>/checkpoints, which would turn a re-run into a re-evaluation.
        for r in todo:
            if r.path(repo_root).is_dir():
                shutil.rmtree(r.path(repo_root))

    bar = Progress(len(todo), enabled=progress)
    interrupted = False
    done_results: list[RunResult] = []
    try:
        if todo:
            bar.event(f"{len(todo)} runs to execute, {len(skipped)} skipped "
                      f"({executor} executor)")
            kw = dict(repo_root=repo_root, log_dir=log_dir, workers=workers,
                      threads_per_run=threads, retries=retries, timeout=timeout, progress=bar)
            if executor == "local":
                done_results = run_local(todo, **kw)
            elif executor == "dask":
                done_results = run_dask(todo, scheduler=scheduler, client=client, **kw)
            else:
                raise ValueError(f"unknown executor {executor!r} (local or dask)")
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    by_key = {r.key: r for r in done_results}
    results = []
    for r in runs:
        if r.key in skipped:
            results.append(skipped[r.key])
        elif r.key in by_key:
            results.append(by_key[r.key])
        else:   # interrupted before it finished
            results.append(RunResult(r.key, "failed", error="interrupted", reason="interrupted",
                                     notebook_out=r.notebook_out))
    failed = sum(r.status == "failed" for r in results)
    exit_code = 130 if interrupted else (1 if failed else 0)
    wall = time.monotonic() - t0
    summary = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now().isoformat(timespec="seconds"),
        "wall_s": round(wall, 3), "argv": sys.argv, "host": socket.gethostname(),
        "repo_root": str(repo_root), "executor": executor, "scheduler": scheduler,
        "workers": workers, "threads_per_run": threads, "retries": retries, "force": force,
        "interrupted": interrupted, "exit_code": exit_code,
        "counts": {s: sum(r.status == s for r in results) for s in ("done", "failed", "skipped")},
        "runs": [r.to_dict() for r in results],
    }
    stamp = started.strftime("%Y%m%dT%H%M%S") + f"-{started.microsecond:06d}"
    path = write_json_atomic(driver_dir / f"summary-{stamp}.json", summary)
    return DriveReport(results, str(path), wall, exit_code, todo)

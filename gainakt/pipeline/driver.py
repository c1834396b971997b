"""The driver: which runs of the matrix to execute, on which executor, and what happened.

:func:`drive` skips finished runs (unless ``force``, which empties their results folders first),
and each worker checks again under the run's lock (another driver may have finished it since the
plan was made: then it is reported as skipped, and its result is left as it is),
hands the rest to :func:`gainakt.pipeline.executors.run_local` or :func:`gainakt.pipeline.executors.run_dask`, and
writes the summary table and ``results/_driver/summary-<timestamp>.json``; its exit code is 0 only
if nothing failed.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..atomic import write_json_atomic
from .executors import Progress, run_dask, run_local
from .derive import derive_run, find_source
from .faults import pause_after_plan
from .locks import acquire_lock, read_lock
from .matrix import Run
from .selection import run_state
from .runner import RunResult

__all__ = ["drive", "DriveReport", "format_table"]


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
          echo: Callable[[str], None] = print, client=None, slurm=None,
          derive: bool = True, direct: bool = False) -> DriveReport:
    """Run what is missing (everything with ``force``) and write the summary.

    Returns a :class:`DriveReport`; prints progress to stderr and (through ``echo``) the plan
    for a dry run. No pool or cluster is started (no Slurm job submitted) when nothing needs
    to run. ``slurm``: :class:`gainakt.pipeline.slurm.SlurmOptions` for the dask executor. Without
    ``force`` a missing run keeps what an interrupted attempt left in its results folder (the
    training notebook resumes from its checkpoints); with ``force`` the folder is deleted first.
    """
    if direct and executor != "local":
        raise ValueError(f"direct mode runs with the local executor only, not {executor!r}")
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
    # a missing run that would train exactly what a finished run trained is copied, not trained
    # (gainakt.pipeline.derive); never with force, which asks for training
    seen: dict = {}
    sources = {} if (force or not derive) else {
        r.key: src for r in todo if (src := find_source(r, repo_root, seen)) is not None}

    if dry_run:
        for r in runs:
            why = skipped[r.key].reason if r.key in skipped else (
                "forced" if run_state(r, repo_root) == "done" else "missing")
            verb = "skip" if r.key in skipped else "copy" if r.key in sources else "run "
            if r.key in sources:
                why = f"same training as {Path(sources[r.key]).parent.name}"
            echo(f"{verb}  {r.key:<48} {why:<10} -> {r.notebook_out}")
        copies = f"{len(sources)} to copy from an identical run, " if sources else ""
        echo(f"{len(todo) - len(sources)} to run, {copies}{len(skipped)} skipped ({executor} executor)")
        return DriveReport(list(skipped.values()), None, time.monotonic() - t0, 0, todo)

    derived: dict[str, RunResult] = {}
    for r in [r for r in todo if r.key in sources]:
        derived[r.key] = _derive_locked(r, sources[r.key], repo_root)
    todo = [r for r in todo if r.key not in derived]

    # A forced run starts from an empty results folder (the training notebook resumes from
    # <results_dir>/checkpoints, which would turn a re-run into a re-evaluation): the worker empties
    # it under the run's lock (gainakt.pipeline.runner.execute_run), never while another driver runs it.
    if todo:
        pause_after_plan()      # fault injection for the race tests; a no-op otherwise

    bar = Progress(len(todo), enabled=progress)
    interrupted = False
    done_results: list[RunResult] = []
    try:
        if todo:
            bar.event(f"{len(todo)} runs to execute, {len(skipped)} skipped "
                      f"({executor} executor)")
            kw = dict(repo_root=repo_root, log_dir=log_dir, workers=workers,
                      threads_per_run=threads, retries=retries, timeout=timeout, progress=bar,
                      force=force)
            if executor == "local":
                done_results = run_local(todo, direct=direct, **kw)
            elif executor == "dask":
                done_results = run_dask(todo, scheduler=scheduler, client=client, slurm=slurm,
                                        **kw)
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
        elif r.key in derived:
            results.append(derived[r.key])
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
        "cluster": "slurm" if slurm is not None else None,
        "workers": workers, "threads_per_run": threads, "retries": retries, "force": force, "direct": direct,
        "interrupted": interrupted, "exit_code": exit_code,
        "counts": {s: sum(r.status == s for r in results) for s in ("done", "failed", "skipped")},
        "runs": [r.to_dict() for r in results],
    }
    stamp = started.strftime("%Y%m%dT%H%M%S") + f"-{started.microsecond:06d}"
    path = write_json_atomic(driver_dir / f"summary-{stamp}.json", summary)
    return DriveReport(results, str(path), wall, exit_code, todo)


def _derive_locked(run: Run, source, repo_root) -> RunResult:
    """Derive one run under its lock (a driver that started it meanwhile keeps it)."""
    t0 = time.monotonic()
    lock = acquire_lock(run.lock_path(repo_root), key=run.key, worker="derive", attempt=0)
    if lock is None:
        return RunResult(run.key, "skipped", reason="locked", notebook_out=run.notebook_out)
    try:
        if run.is_done(repo_root):
            return RunResult(run.key, "skipped", reason="done", notebook_out=run.notebook_out)
        derive_run(run, Path(source), repo_root)
    finally:
        lock.release()
    return RunResult(run.key, "done", reason=f"copied from {Path(source).parent.name}",
                     seconds=round(time.monotonic() - t0, 3), notebook_out=run.notebook_out)

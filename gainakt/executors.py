"""Execute the runs of the experiment matrix: one run = one papermill execution of a notebook.

* :func:`execute_run` executes one :class:`~gainakt.matrix.Run` in the current process. Every
  executor calls exactly this function, so a run behaves the same everywhere.
* :func:`run_local` spreads runs over ``workers`` worker processes (single-process spawn-context
  ``ProcessPoolExecutor`` slots); a worker process that dies (``BrokenProcessPool``) costs its
  run one attempt, its pool is recreated and the run retried while the others go on.
* :func:`run_dask` submits one task per run to a Dask cluster (a ``LocalCluster`` or the
  scheduler at ``--scheduler ADDRESS``); ``KilledWorker``, cancelled futures, lost connections
  and task exceptions are retried by the driver's own loop.
* :func:`drive` does the bookkeeping around either: skip finished runs (unless ``force``),
  progress, summary table, ``results/_driver/summary-<timestamp>.json``, exit code.

What makes a run *done*: ``<results_dir>/metrics.json`` exists. The notebook writes it last and
atomically. Before a run starts the executor deletes an old ``metrics.json`` and any stale
``metrics.json`` temporary file, so a failed or killed run never looks done. The executed
notebook is written to a temporary file beside ``notebook_out`` and renamed into place only on
success. A failed run's notebook is kept in the log folder as ``<key>.failed.ipynb``.

Retries: a failure caused by the infrastructure (the worker or kernel died, a lost connection,
an exception outside the notebook) is retried up to ``retries`` times. A notebook that raises
(``PapermillExecutionError``) or times out is reported as failed straight away: running the
same code again on the same data would fail the same way.

Fault injection (tests): if the environment variable ``GAINAKT_FAULT_KILL`` names a file that
exists and contains a run key, :func:`execute_run` for that run deletes the file and SIGKILLs
its own process at the start of the notebook's last code cell (the kernel has started and the
earlier cells have run: the run is half-done from the driver's point of view).
``GAINAKT_FAULT_KILL_CELL=k`` picks the k-th code cell instead (negative: from the end).
"""
from __future__ import annotations

import concurrent.futures as cf
import copy
import itertools
import json
import logging
import multiprocessing as mp
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .atomic import clean_stale_tmp, write_json_atomic
from .matrix import LOCK_HEARTBEAT_S, Run, lock_is_live, read_lock, run_state

__all__ = ["RunResult", "execute_run", "run_local", "run_dask", "drive", "DriveReport",
           "format_table", "notebook_params", "Progress", "KERNEL_NAME"]

KERNEL_NAME = "python3"
FAULT_ENV = "GAINAKT_FAULT_KILL"
FAULT_CELL_ENV = "GAINAKT_FAULT_KILL_CELL"
_FAULT_ENGINE = "gainakt-fault-kill"
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
# papermill chdir()s the whole process and we set os.environ for the kernel: one run at a time
# per process (a Dask worker with several threads would otherwise mix them up).
_PROCESS_LOCK = threading.Lock()
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TAIL_LINES = 40


@dataclass
class RunResult:
    """The outcome of one run (of its last attempt, with the earlier ones in ``history``)."""
    key: str
    status: str                      # "done" | "failed" | "skipped"
    seconds: float = 0.0             # wall time of the last attempt
    attempt: int = 0                 # attempts made (0: skipped without running)
    log_path: str | None = None
    error: str | None = None         # for failures: what happened and the tail of the log
    worker: str = ""                 # "host:pid" (plus the Dask worker name)
    retryable: bool = False          # the failure came from the infrastructure, not the notebook
    notebook_out: str | None = None
    reason: str = ""                 # for skipped runs: "done", "locked by ..."
    history: list = field(default_factory=list)  # earlier attempts: {attempt, status, seconds, error}

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# helpers for execute_run
def _worker_name() -> str:
    name = f"{socket.gethostname()}:{os.getpid()}"
    if "distributed" in sys.modules:  # only inside a Dask worker can get_worker() succeed
        try:
            from distributed import get_worker
            w = get_worker()
            return f"{name} [dask {w.name}]"
        except Exception:
            pass
    return name


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def notebook_parameter_names(notebook) -> set[str] | None:
    """Names assigned in the notebook's ``parameters`` cell (None if it cannot be read)."""
    try:
        import papermill
        return set(papermill.inspect_notebook(str(notebook)))
    except Exception:
        return None


def notebook_params(run: Run, repo_root, notebook=None) -> dict:
    """The parameters papermill injects for ``run``.

    * ``results_dir``: the notebooks resolve a relative path against the *project root* (the
      folder with pyproject.toml above the imported ``gainakt``; ``gainakt.report.resolve``).
      So it stays relative (portable executed notebooks) when ``repo_root`` is that project
      root, and is made absolute otherwise (e.g. a temporary root in tests).
    * a relative ``data_dir`` is made absolute (against ``repo_root``).
    * keys of ``overrides`` that are parameters of ``notebook`` are lifted to the top level.
    """
    repo_root = Path(os.path.abspath(repo_root))
    params = copy.deepcopy(run.params)
    rel = Path(run.results_dir)
    if rel.is_absolute() or not _same_dir(repo_root, PACKAGE_ROOT):
        params["results_dir"] = str(run.path(repo_root))
    dd = params.get("data_dir")
    if isinstance(dd, str) and dd:
        dd = Path(os.path.expanduser(dd))
        params["data_dir"] = str(dd if dd.is_absolute() else repo_root / dd)
    names = notebook_parameter_names(notebook) if notebook else None
    ov = params.get("overrides")
    if names and isinstance(ov, dict):
        for k in [k for k in ov if k in names and k != "overrides"]:
            params[k] = ov.pop(k)
    return params


@contextmanager
def _patched_environ(updates: dict):
    """Set (value None: unset) environment variables for the duration; the kernel papermill
    starts inherits them."""
    old = {k: os.environ.get(k) for k in updates}
    for k, v in updates.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _in_dask_worker() -> bool:
    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import get_worker
        get_worker()
        return True
    except Exception:
        return False


def _run_environ(run: Run, repo_root: Path) -> dict:
    n = str(max(1, int(run.params.get("num_threads") or 1)))
    env: dict[str, str | None] = {v: n for v in THREAD_ENV_VARS}
    if _in_dask_worker():
        # The Dask nanny sets MALLOC_TRIM_THRESHOLD_=65536 for its workers' memory accounting;
        # inherited by the kernel it made numpy work ~60 % slower (measured). Not for kernels.
        env["MALLOC_TRIM_THRESHOLD_"] = os.environ.get("GAINAKT_KERNEL_MALLOC_TRIM_THRESHOLD_")
    path = []
    if (PACKAGE_ROOT / "pyproject.toml").exists():   # a source checkout: let the kernel import it
        path.append(str(PACKAGE_ROOT))
    if repo_root != PACKAGE_ROOT:
        path.append(str(repo_root))
    if os.environ.get("PYTHONPATH"):
        path.append(os.environ["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["GAINAKT_RUN_KEY"] = run.key
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"    # silence ipykernel's debugger warning
    return env


@contextmanager
def _papermill_logging_to(stream):
    """Send papermill's progress messages to the run log (cell output reaches the log once,
    through stdout_file/stderr_file, so its logger copy is filtered out)."""
    logger = logging.getLogger("papermill")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(levelname)s %(message)s",
                                           "%H:%M:%S"))
    handler.addFilter(lambda rec: rec.funcName != "log_output_message")
    old = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]


class _Lock:
    """``<results_dir>/../.seed<k>.lock``: who runs this now; touched every 30 s (heartbeat)."""

    def __init__(self, path: Path, info: dict):
        self.path, self.info = path, info
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self):
        while not self._stop.wait(LOCK_HEARTBEAT_S):
            with suppress(OSError):
                os.utime(self.path)

    def release(self):
        self._stop.set()
        cur = read_lock(self.path)
        if cur and cur.get("token") == self.info["token"]:
            with suppress(FileNotFoundError):
                self.path.unlink()


def _acquire_lock(run: Run, repo_root: Path, attempt: int, worker: str) -> _Lock | None:
    path = run.lock_path(repo_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"key": run.key, "host": socket.gethostname(), "pid": os.getpid(), "worker": worker,
            "attempt": attempt, "started": datetime.now().isoformat(timespec="seconds"),
            "token": secrets.token_hex(8)}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if lock_is_live(read_lock(path)):
                return None
            with suppress(FileNotFoundError):   # stale: left by a killed process
                path.unlink()
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        return _Lock(path, info)
    return None


def break_lock(run: Run, repo_root) -> None:
    """Remove a run's lock (the driver does this after the worker that held it died)."""
    with suppress(FileNotFoundError):
        run.lock_path(Path(repo_root)).unlink()


def _kernel_manager_class(stream):
    """A kernel manager whose kernel process writes its own stdout/stderr (start-up warnings,
    crashes below Python) into the run log instead of the worker's terminal."""
    from jupyter_client import AsyncKernelManager

    class RunLogKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            cmd, kw = await super()._async_pre_start_kernel(**kw)
            kw.setdefault("stdout", stream)
            kw.setdefault("stderr", stream)
            return cmd, kw

    return RunLogKernelManager


def _register_fault_engine() -> None:
    from papermill.engines import NBClientEngine, papermill_engines

    class FaultKillEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            code = [i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code"]
            kill_at = code[int(os.environ.get(FAULT_CELL_ENV, "-1"))]
            original = nb_man.cell_start

            def cell_start(cell, cell_index=None, **kw):
                original(cell, cell_index, **kw)
                if cell_index == kill_at:
                    for h in logging.getLogger("papermill").handlers:
                        with suppress(Exception):
                            h.flush()
                    os.kill(os.getpid(), signal.SIGKILL)

            nb_man.cell_start = cell_start
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(_FAULT_ENGINE, FaultKillEngine)


def _fault_injection(run: Run, log) -> str | None:
    """The papermill engine name to use: the killing one if this run is the chosen victim."""
    path = os.environ.get(FAULT_ENV)
    if not path:
        return None
    try:
        if Path(path).read_text().strip() != run.key:
            return None
        os.remove(path)              # claim it: exactly one attempt gets killed
    except FileNotFoundError:
        return None
    log.write(f"FAULT INJECTION: process {os.getpid()} will SIGKILL itself mid-run\n")
    log.flush()
    _register_fault_engine()
    return _FAULT_ENGINE


def _log_tail(log_path, since: str | None = None, n: int = TAIL_LINES) -> str:
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    if since and since in text:
        text = text[text.rindex(since):]
    lines = _ANSI.sub("", text).rstrip().splitlines()
    return "\n".join(lines[-n:])


def _retryable(exc: BaseException) -> bool:
    try:
        from papermill.exceptions import PapermillException, PapermillExecutionError
    except ImportError:  # pragma: no cover
        return True
    try:
        from nbclient.exceptions import CellTimeoutError
    except ImportError:  # pragma: no cover
        CellTimeoutError = ()
    if isinstance(exc, (PapermillExecutionError, CellTimeoutError, FileNotFoundError)):
        return False
    if isinstance(exc, PapermillException):   # e.g. missing parameters, bad notebook
        return False
    return True   # DeadKernelError, kernel start timeouts, OSError, ...


# ---------------------------------------------------------------------------------------------
def execute_run(run: Run, *, repo_root, log_dir, timeout: float | None = None,
                attempt: int = 1) -> RunResult:
    """Execute one run with papermill in this process and report what happened.

    ``repo_root``: the repository root (paths of ``run`` are relative to it; the notebook runs
    with ``cwd=<repo_root>/notebooks``). ``log_dir``: where ``<key>.log`` is appended to
    (relative paths are relative to ``repo_root``). ``timeout``: seconds per cell (papermill's
    ``execution_timeout``; None: no limit). ``attempt``: recorded in the result and the log.
    Never raises for a failing notebook: returns ``status="failed"`` with the log tail.
    """
    t0 = time.monotonic()
    repo_root = Path(os.path.abspath(repo_root))
    log_dir = Path(log_dir)
    log_dir = log_dir if log_dir.is_absolute() else repo_root / log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{run.safe_key}.log"
    worker = _worker_name()
    res = RunResult(key=run.key, status="failed", attempt=attempt, log_path=str(log_path),
                    worker=worker, notebook_out=run.notebook_out)
    with _PROCESS_LOCK:
        lock = _acquire_lock(run, repo_root, attempt, worker)
        if lock is None:
            info = read_lock(run.lock_path(repo_root)) or {}
            res.status, res.reason = "skipped", f"locked by {info.get('worker', '?')}"
            res.seconds = time.monotonic() - t0
            return res
        try:
            _execute_locked(run, repo_root, log_dir, log_path, timeout, attempt, res)
        finally:
            lock.release()
    res.seconds = round(time.monotonic() - t0, 3)
    return res


def _retitle(nb_path: Path, run) -> None:
    """Replace the first markdown heading with the run's name (the book's page title)."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    p = run.params
    title = (f"# {p.get('variant', '?')} {str(p.get('flavour', '')).replace('_', ' ')} · "
             f"{p.get('dataset', '?')} · seed {p.get('seed', '?')}")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.split("\n")
            if lines and lines[0].startswith("# "):
                lines[0] = title
            else:
                lines.insert(0, title + "\n")
            cell.source = "\n".join(lines)
            break
    nbformat.write(nb, str(nb_path))


def _execute_locked(run, repo_root, log_dir, log_path, timeout, attempt, res) -> None:
    rdir = run.path(repo_root)
    in_nb = run.path(repo_root, "notebook")
    out_nb = run.path(repo_root, "notebook_out")
    cwd = repo_root / "notebooks"
    if not cwd.is_dir():
        cwd = in_nb.parent
    params = notebook_params(run, repo_root, in_nb)

    # Whatever an earlier (failed, killed or forced) run left must not look done.
    rdir.mkdir(parents=True, exist_ok=True)
    metrics = rdir / "metrics.json"
    with suppress(FileNotFoundError):
        metrics.unlink()
    clean_stale_tmp(rdir, "metrics.json")
    for stale in ("metrics.json.incomplete", "metrics.json.invalid"):
        with suppress(FileNotFoundError):
            (rdir / stale).unlink()
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    tmp_nb = out_nb.with_name(f".{out_nb.stem}.{secrets.token_hex(4)}.tmp.ipynb")
    failed_nb = log_dir / f"{run.safe_key}.failed.ipynb"

    header = (f"===== {run.key} attempt {attempt} on {res.worker} at "
              f"{datetime.now().isoformat(timespec='seconds')} =====")
    with open(log_path, "a", buffering=1, encoding="utf-8") as log, \
            _patched_environ(_run_environ(run, repo_root)), _papermill_logging_to(log):
        log.write(f"\n{header}\nnotebook {in_nb} -> {out_nb}\ncwd {cwd}\nparameters "
                  f"{json.dumps(params, default=str)}\n")
        try:
            engine = _fault_injection(run, log)
            import papermill

            papermill.execute_notebook(
                str(in_nb), str(tmp_nb), parameters=params, kernel_name=KERNEL_NAME,
                cwd=str(cwd), progress_bar=False, log_output=True, stdout_file=log,
                stderr_file=log, execution_timeout=timeout, engine_name=engine,
                kernel_manager_class=_kernel_manager_class(log))
            if not metrics.is_file():
                raise RuntimeError(f"the notebook finished but wrote no {metrics}")
            try:
                json.loads(metrics.read_text())
            except ValueError as e:
                os.replace(metrics, metrics.with_name("metrics.json.invalid"))
                raise RuntimeError(f"{metrics} is not valid JSON ({e}); moved aside") from e
            _retitle(tmp_nb, run)            # every book page needs its own first heading
            os.replace(tmp_nb, out_nb)       # the executed notebook appears only on success
        except Exception as e:  # noqa: BLE001 - every failure is reported, never raised
            res.retryable = _retryable(e)
            log.write(f"----- attempt {attempt} FAILED: {type(e).__name__}\n"
                      f"{_ANSI.sub('', str(e)).strip()}\n")
            if metrics.is_file():   # written before a later cell failed: not done after all
                os.replace(metrics, metrics.with_name("metrics.json.incomplete"))
                log.write("metrics.json moved to metrics.json.incomplete (the notebook failed "
                          "after writing it)\n")
            log.flush()
            if tmp_nb.exists():
                os.replace(tmp_nb, failed_nb)
                log.write(f"executed notebook kept as {failed_nb}\n")
            res.error = f"{type(e).__name__}: {_first_line(e)}\n{_log_tail(log_path, header)}"
            return
        finally:
            with suppress(FileNotFoundError):
                tmp_nb.unlink()
        log.write(f"----- attempt {attempt} done: {metrics}\n")
    with suppress(FileNotFoundError):
        failed_nb.unlink()
    res.status = "done"


def _first_line(e: BaseException) -> str:
    if getattr(e, "ename", None):                # PapermillExecutionError
        return f"{e.ename}: {_ANSI.sub('', str(e.evalue))}".splitlines()[0][:300]
    text = _ANSI.sub("", str(e)).strip()
    return (text.splitlines() or [repr(e)])[0][:300]


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
        text = f"{what}: {type(exc).__name__}: {_first_line(exc)}"
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
            error=f"{text}\n{_log_tail(log_path, f'===== {run.key} attempt {attempt} ')}"))
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

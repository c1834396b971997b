"""One run of the experiment matrix: one papermill execution of a notebook, in this process.

:func:`execute_run` is what every executor calls, so a run behaves the same everywhere.

What makes a run *done*: ``<results_dir>/metrics.json`` exists. The notebook writes it last and
atomically. Before a run starts its old ``metrics.json`` and any stale temporary file are
deleted, so a failed or killed run never looks done. The executed notebook is written to a
temporary file beside ``notebook_out`` and renamed into place only on success. A failed run's
notebook is kept in the log folder as ``<key>.failed.ipynb``. A lock file with a heartbeat says
that an attempt is in flight.

Fault injection for tests: :mod:`gainakt.pipeline.faults`; lock files: :mod:`gainakt.pipeline.locks`.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import re
import secrets
import shutil
import socket
import sys
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from .. import PACKAGE_ROOT
from ..atomic import clean_stale_tmp
from .faults import fault_engine
from .locks import acquire_lock, read_lock
from .matrix import Run


__all__ = ["RunResult", "execute_run", "notebook_params", "notebook_parameter_names", "KERNEL_NAME"]

KERNEL_NAME = "python3"
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
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
def _dask_worker():
    """The Dask worker this process is, or None."""
    if "distributed" not in sys.modules:  # only inside a Dask worker can get_worker() succeed
        return None
    try:
        from distributed import get_worker
        return get_worker()
    except Exception:
        return None


def _worker_name() -> str:
    name, w = f"{socket.gethostname()}:{os.getpid()}", _dask_worker()
    return f"{name} [dask {w.name}]" if w is not None else name


def demote_metrics(rdir: Path) -> bool:
    """A metrics.json of a run that then failed or died is not a finished run: rename it to
    metrics.json.incomplete. True if there was one."""
    metrics = rdir / "metrics.json"
    if not metrics.is_file():
        return False
    os.replace(metrics, metrics.with_name("metrics.json.incomplete"))
    return True


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
    return _dask_worker() is not None


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
    if not _same_dir(repo_root, PACKAGE_ROOT):
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


def log_tail(log_path, since: str | None = None, n: int = TAIL_LINES) -> str:
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
                attempt: int = 1, force: bool = False, direct: bool = False) -> RunResult:
    """Execute one run with papermill in this process and report what happened.

    ``repo_root``: the repository root (paths of ``run`` are relative to it; the notebook runs
    with ``cwd=<repo_root>/notebooks``). ``log_dir``: where ``<key>.log`` is appended to
    (relative paths are relative to ``repo_root``). ``timeout``: seconds per cell (papermill's
    ``execution_timeout``; None: no limit). ``attempt``: recorded in the result and the log.
    Never raises for a failing notebook: returns ``status="failed"`` with the log tail.
    Under the run's lock, a run that is done by now (another driver finished it after this one
    made its plan) is skipped and its result left untouched; ``force`` instead empties the
    results folder first (a forced re-run starts from nothing, not from old checkpoints).
    ``direct``: train in this process without a notebook kernel (`gainakt.pipeline.direct`).
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
        lock = acquire_lock(run.lock_path(repo_root), key=run.key, worker=worker, attempt=attempt)
        if lock is None:
            info = read_lock(run.lock_path(repo_root)) or {}
            res.status, res.reason = "skipped", f"locked by {info.get('worker', '?')}"
            res.seconds = time.monotonic() - t0
            return res
        try:
            if run.is_done(repo_root) and not force:
                res.status, res.attempt = "skipped", 0
                res.reason = "done (finished by another driver)"
                res.seconds = round(time.monotonic() - t0, 3)
                return res
            if force and run.path(repo_root).is_dir():
                shutil.rmtree(run.path(repo_root))
            _execute_locked(run, repo_root, log_dir, log_path, timeout, attempt, res, direct)
        finally:
            lock.release()
    res.seconds = round(time.monotonic() - t0, 3)
    return res


def page_title(run) -> str:
    """The first heading of a run's book page: variant, flavour, dataset and seed."""
    p = run.params
    return (f"# {p.get('variant', '?')} {str(p.get('flavour', '')).replace('_', ' ')} · "
            f"{p.get('dataset', '?')} · seed {p.get('seed', '?')}")


def _retitle(nb_path: Path, run) -> None:
    """Replace the first markdown heading with the run's name (the book's page title)."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    title = page_title(run)
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


def _execute_locked(run, repo_root, log_dir, log_path, timeout, attempt, res, direct=False) -> None:
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
    for stale in ("metrics.json", "metrics.json.incomplete", "metrics.json.invalid"):
        (rdir / stale).unlink(missing_ok=True)
    clean_stale_tmp(rdir, "metrics.json")
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
            if direct:     # no kernel: the notebook's training, in this process (pipeline.direct)
                from .direct import train_direct
                train_direct(run, repo_root, log, tmp_nb)
            else:
                engine = fault_engine(run.key, log)
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
            if not direct:                   # a direct page is written with its title
                _retitle(tmp_nb, run)        # every book page needs its own first heading
            os.replace(tmp_nb, out_nb)       # the executed notebook appears only on success
        except Exception as e:  # noqa: BLE001 - every failure is reported, never raised
            res.retryable = _retryable(e)
            log.write(f"----- attempt {attempt} FAILED: {type(e).__name__}\n"
                      f"{_ANSI.sub('', str(e)).strip()}\n")
            if demote_metrics(rdir):   # written before a later cell failed: not done after all
                log.write("metrics.json moved to metrics.json.incomplete (the notebook failed "
                          "after writing it)\n")
            log.flush()
            if tmp_nb.exists():
                os.replace(tmp_nb, failed_nb)
                log.write(f"executed notebook kept as {failed_nb}\n")
            res.error = f"{type(e).__name__}: {first_line(e)}\n{log_tail(log_path, header)}"
            return
        finally:
            with suppress(FileNotFoundError):
                tmp_nb.unlink()
        log.write(f"----- attempt {attempt} done: {metrics}\n")
    with suppress(FileNotFoundError):
        failed_nb.unlink()
    res.status = "done"


def first_line(e: BaseException) -> str:
    if getattr(e, "ename", None):                # PapermillExecutionError
        return f"{e.ename}: {_ANSI.sub('', str(e.evalue))}".splitlines()[0][:300]
    text = _ANSI.sub("", str(e)).strip()
    return (text.splitlines() or [repr(e)])[0][:300]

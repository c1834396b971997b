"""A Dask cluster of Slurm batch jobs for the driver (``--executor dask --cluster slurm``).

:func:`slurm_cluster` builds a ``dask_jobqueue.SLURMCluster`` with the driver's conventions:
one single-threaded Dask worker per Slurm job (papermill changes the process's working
directory, so one run per process at a time), ``--cpus-per-task`` = threads per run, GPUs as a
``--gres=gpu:K`` request advertised to Dask as the worker resource ``GPU=K`` (runs with
``gpu: true`` need ``GPU=1``). Workers import the same ``gainakt`` as the driver
(``PYTHONPATH`` is set to its checkout in the job script), so the checkout, the data and
``results/`` must be on a filesystem every node sees under the same path.

:class:`KeepJobs` keeps the cluster at its size: a job that was cancelled (``scancel``), hit its
walltime or lost its node is replaced by a new ``sbatch`` submission. The run it held is
retried by the driver (``KilledWorker``, one attempt counted).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from .. import PACKAGE_ROOT

__all__ = ["SlurmOptions", "slurm_cluster", "KeepJobs"]


@dataclass
class SlurmOptions:
    """What the driver asks of Slurm; ``None`` leaves the site's default."""
    jobs: int | None = None               # Slurm jobs = Dask workers (default: parallel runs)
    queue: str | None = None              # --partition
    account: str | None = None            # --account
    walltime: str = "01:00:00"            # --time; a run must fit in one job's walltime
    memory: str = "4GB"                   # --mem per job (also the worker's memory limit)
    gpus: int = 0                         # --gres=gpu:K per job, advertised as resource GPU=K
    extra: list = field(default_factory=list)   # more #SBATCH directives, e.g. "--qos=short"
    python: str | None = None             # the workers' interpreter (default: the driver's)
    interface: str | None = None          # network interface the scheduler listens on and
                                          # workers use, e.g. "ib0" (default: the host's)


def job_script_prologue(env: dict | None = None) -> list[str]:
    """Shell lines run before the worker starts: import this checkout's ``gainakt``."""
    lines = [f'export PYTHONPATH="{PACKAGE_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}"']
    lines += [f'export {k}="{v}"' for k, v in (env or {}).items()]
    return lines


def slurm_cluster(opts: SlurmOptions, *, threads_per_run: int = 1, log_dir=None,
                  env: dict | None = None):
    """A ``SLURMCluster`` (not yet scaled) whose jobs each hold one single-threaded worker."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as e:
        raise RuntimeError("--cluster slurm needs dask-jobqueue "
                           "(pip install dask-jobqueue, or the project's [test] extra)") from e
    threads = max(1, int(threads_per_run))
    extra = list(opts.extra)
    worker_args = []
    if opts.gpus:
        extra.append(f"--gres=gpu:{int(opts.gpus)}")
        worker_args += ["--resources", f"GPU={int(opts.gpus)}"]
    kw = dict(
        queue=opts.queue, account=opts.account, walltime=opts.walltime,
        cores=1, processes=1,            # one worker thread: one run per job at a time
        job_cpu=threads,                 # but book the run's threads (OMP_NUM_THREADS)
        memory=opts.memory,
        job_extra_directives=extra, worker_extra_args=worker_args,
        job_script_prologue=job_script_prologue(env),
        job_name="gainakt",
        scheduler_options={"dashboard": False, "dashboard_address": ":0",
                           **({"interface": opts.interface} if opts.interface else {})},
    )
    if opts.interface:
        kw["interface"] = opts.interface
    if opts.python:
        kw["python"] = opts.python
    if log_dir is not None:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        kw["log_directory"] = str(log_dir)
    return SLURMCluster(**kw)


class KeepJobs:
    """Re-submit lost jobs: call ``cluster.scale(jobs=n)`` every ``every`` seconds.

    ``SpecCluster.scale`` starts the jobs its spec names but that are no longer running; a job
    that vanished is dropped from ``cluster.workers`` after
    ``distributed.deploy.lost-worker-timeout`` (15 s by default), and the next call replaces it.
    """

    def __init__(self, cluster, jobs: int, every: float = 5.0):
        self.cluster, self.jobs, self.every = cluster, jobs, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gainakt-keep-jobs", daemon=True)

    def __enter__(self):
        self.cluster.scale(jobs=self.jobs)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.cluster.scale(jobs=self.jobs)
            except Exception:  # noqa: BLE001 - the cluster is closing
                return

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 1)

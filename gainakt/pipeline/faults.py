"""Fault injection for the driver's tests: a run that SIGKILLs its own process half-way.

If the environment variable ``GAINAKT_FAULT_KILL`` names a file that exists and contains a run
key, the run with that key deletes the file (exactly one attempt is killed) and SIGKILLs its own
process at the start of the notebook's last code cell: the kernel has started and the earlier
cells have run, so the run is half-done from the driver's point of view.
``GAINAKT_FAULT_KILL_CELL=k`` picks the k-th code cell instead (negative: from the end).

``GAINAKT_FAULT_PAUSE_AFTER_PLAN=FILE`` makes a driver stop between its plan and the execution:
it creates ``FILE.planned`` and waits (at most 120 s) until ``FILE`` is removed. The race tests
use it to let another driver finish a run that this one planned (a real interleaving, made
deterministic).
"""
from __future__ import annotations

import logging
import os
import signal
from contextlib import suppress
from pathlib import Path

FAULT_ENV = "GAINAKT_FAULT_KILL"
FAULT_CELL_ENV = "GAINAKT_FAULT_KILL_CELL"
PAUSE_ENV = "GAINAKT_FAULT_PAUSE_AFTER_PLAN"
_ENGINE = "gainakt-fault-kill"


def _register_engine() -> None:
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

    papermill_engines.register(_ENGINE, FaultKillEngine)


def fault_engine(run_key: str, log) -> str | None:
    """The papermill engine to use: the killing one if this run is the chosen victim, else None."""
    path = os.environ.get(FAULT_ENV)
    if not path:
        return None
    try:
        if Path(path).read_text().strip() != run_key:
            return None
        os.remove(path)              # claim it: exactly one attempt gets killed
    except FileNotFoundError:
        return None
    log.write(f"FAULT INJECTION: process {os.getpid()} will SIGKILL itself mid-run\n")
    log.flush()
    _register_engine()
    return _ENGINE


def pause_after_plan() -> None:
    """Wait while the file named by ``GAINAKT_FAULT_PAUSE_AFTER_PLAN`` exists (see the module doc)."""
    path = os.environ.get(PAUSE_ENV)
    if not path:
        return
    import time
    Path(path + ".planned").touch()
    deadline = time.monotonic() + 120
    while Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.05)

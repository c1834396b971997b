"""Which runs of the matrix to act on, and where each one stands (done, running, a stale lock, missing).

`gainakt.pipeline.matrix` says what the runs are; this module selects among them (the driver's --variant,
--dataset, --tag, --flavour, --key) and reads their state from the run folders and their locks.
"""
from __future__ import annotations

import fnmatch
from typing import Iterable

from .locks import lock_is_live, read_lock
from .matrix import MatrixError, Run

__all__ = ["select", "run_state", "status"]


def select(runs: Iterable[Run], *, variants=None, datasets=None, tags=None, flavours=None,
           keys=None, strict: bool = True) -> list[Run]:
    """Keep runs matching every given selector; values within one selector are OR-ed.

    Values are shell-style patterns (``V3*``, ``synthetic/V1-*``), matched case-sensitively.
    With ``strict`` a value that matches no run at all raises :class:`MatrixError` (a typo in
    ``--variant`` must not quietly select nothing).
    """
    runs = list(runs)
    selectors = [("--variant", variants, lambda r: [r.variant]),
                 ("--dataset", datasets, lambda r: [r.dataset]),
                 ("--tag", tags, lambda r: list(r.tags)),
                 ("--flavour", flavours, lambda r: [r.flavour]),
                 ("--key", keys, lambda r: [r.key])]
    if strict:
        for flag, values, get in selectors:
            for v in values or ():
                if not any(fnmatch.fnmatchcase(x, v) for r in runs for x in get(r)):
                    raise MatrixError(f"{flag} {v!r} matches no run in the matrix")
    out = []
    for r in runs:
        if all(not values or any(fnmatch.fnmatchcase(x, v) for v in values for x in get(r))
               for _, values, get in selectors):
            out.append(r)
    return out


def run_state(run: Run, repo_root=".") -> str:
    """'running' (a live lock), 'stale-lock' (a lock left by a killed process: not done, even
    if metrics.json exists), 'done' (metrics.json exists) or 'missing'."""
    info = read_lock(run.lock_path(repo_root))
    if info is not None:
        return "running" if lock_is_live(info) else "stale-lock"
    return "done" if run.is_done(repo_root) else "missing"


def status(runs: Iterable[Run], repo_root=".") -> dict[str, str]:
    """Run key -> 'done' | 'running' | 'stale-lock' | 'missing'."""
    return {r.key: run_state(r, repo_root) for r in runs}

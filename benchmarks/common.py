"""What the benchmarks share: the model sizes, the paths they compare, their common flags.

The book size is read from experiments.yml's defaults and the full size from `Config()`'s
defaults (the original's), so that the benchmarks measure what the book and the original run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
# This checkout's gainakt, not whichever one is installed (an editable install of another worktree
# would otherwise be measured). The scripts import `common` before gainakt for this reason.
if sys.path[:1] != [str(REPO)]:
    sys.path.insert(0, str(REPO))

from gainakt.floor import model_size  # noqa: E402

# the book's size (experiments.yml's defaults) and the seeds' (the Config defaults): gainakt.floor's
BOOK_SIZE, FULL_SIZE = model_size("small", REPO / "experiments.yml"), model_size("full")
SIZES = {"book": BOOK_SIZE, "full": FULL_SIZE}

# Config settings of each path; every one is explicit, none left to a default.
PATHS = {
    # fused attention, gather practice, steps of one token bucket from each of 4 length strata (the default)
    "fast": dict(attention="sdpa", practice_impl="auto", batching="tokens", length_strata=4),
    # 2, 3 and 8 length strata: the more strata, the closer a step's mix of lengths to a padded batch's
    "strata2": dict(attention="sdpa", practice_impl="auto", batching="tokens", length_strata=2),
    "strata3": dict(attention="sdpa", practice_impl="auto", batching="tokens", length_strata=3),
    "strata8": dict(attention="sdpa", practice_impl="auto", batching="tokens", length_strata=8),
    # one bucket per step: a step holds only short or only long windows
    "tokens1": dict(attention="sdpa", practice_impl="auto", batching="tokens", length_strata=1),
    # length buckets of batch_size windows: the fast path before the token budget
    "windows": dict(attention="sdpa", practice_impl="auto", batching="windows", length_strata=1),
    # the fast operators on the original's padded batches (what V2-V5 as run pay)
    "padded": dict(attention="sdpa", practice_impl="auto", batching="padded", length_strata=1),
    # the original's padded batches packed into dense rows (the padded batch's loss and gradient)
    "packed": dict(attention="sdpa", practice_impl="auto", batching="packed", length_strata=1),
    # packed, and only the practised skill's gain computed (no [N, C] gains: V6 on statics2011)
    "packed_practised": dict(attention="sdpa", practice_impl="auto", batching="packed", length_strata=1,
                             gains_impl="practised"),
    # the original: matmul attention, dense [B, L, C] practice, padded batches
    "plain": dict(attention="plain", practice_impl="dense", batching="padded", length_strata=1),
}


def add_common_args(p: argparse.ArgumentParser, paths: list[str]) -> None:
    p.add_argument("--data-dir", default=os.environ.get("GAINAKT_DATA"))
    p.add_argument("--variant", default="V1")
    p.add_argument("--flavour", default="as_run")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads per run (0: torch's default)")
    p.add_argument("--paths", nargs="+", default=paths, choices=list(PATHS))


def add_size_args(p: argparse.ArgumentParser) -> None:
    """--size and --device, for the benchmarks that time one model on one device."""
    p.add_argument("--size", default="book", choices=list(SIZES), help="book (d64, 2 blocks) or full (d256, 4 blocks)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])


def machine_line() -> str:
    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
            f"{torch.__version__}, {torch.get_num_threads()} threads, device "
            f"{'cuda' if torch.cuda.is_available() else 'cpu'}")


# Each measurement runs in a child process (`--single`) so that its peak memory and compilation
# caches are its own; the child prints one JSON line last.
def child_result(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def run_child(cmd: list[str]) -> dict:
    return child_result(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def serve_child(args, single) -> bool:
    """In a child: print `single(args)` as JSON and return True. In the parent: print the machine."""
    if args.single:
        print(json.dumps(single(args)))
        return True
    print(machine_line())
    return False

"""Shared by tests/test_faults.py and scripts/fault_probe.py: the tiny training configuration the
fault cases train, and a checkpoint whose unpickling would run a command (what a hostile best.pt does)."""
from __future__ import annotations

import os

import torch

TINY = dict(dataset="synthetic", synthetic={"n_students": 60, "max_len": 30, "n_skills": 6},
            d_model=16, n_heads=2, n_blocks=1, d_ff=32, batch_size=16, seq_len=40, epochs=1,
            n_trajectory_students=3, trajectory_min_steps=5, im_grad_batches=1)
QUIET = dict(log=lambda *_: None)


class Payload:
    """Unpickling this calls os.system: touching `marker` proves that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def hostile_checkpoint(path, marker) -> None:
    """A checkpoint file at `path` whose loading with pickle would create `marker`."""
    torch.save({"model": Payload(marker), "epoch": 1}, path)

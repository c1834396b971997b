"""Shared by the driver's tests: the fixture notebooks and a small experiment matrix."""
from __future__ import annotations

import copy
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
TINY = FIXTURES / "tiny_run.ipynb"
FAILING = FIXTURES / "failing_run.ipynb"


def small_matrix(notebook, extra: dict | None = None) -> dict:
    """Four runs: V1 in both flavours, seeds 0 and 1."""
    defaults = {"notebook": str(notebook), "dataset": "synthetic", "epochs": 2, "seeds": [0, 1]}
    defaults.update(copy.deepcopy(extra or {}))
    return {"defaults": defaults,
            "runs": [{"variant": "V1", "flavour": ["as_run", "as_intended"], "label": "t",
                      "tags": ["test"]}]}


def new_root(tmp_path_factory, name: str) -> Path:
    root = tmp_path_factory.mktemp(name)
    (root / "notebooks").mkdir()
    return root

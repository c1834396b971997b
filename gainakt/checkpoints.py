"""Checkpoints: written atomically, loaded safely (tensors and plain data only), and the check that a
run folder holds the configuration being resumed."""
from __future__ import annotations

import io
import json
import pickle
import re
from pathlib import Path

import torch

from .atomic import write_bytes_atomic
from .config import RUN_ONLY_FIELDS, Config


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded safely (not tensors and plain data, or unreadable)."""


class ResumeConflictError(ValueError):
    """A run folder holds a run of another configuration than the one asked for."""


def load_checkpoint(path, map_location=None) -> dict:
    """Load a checkpoint with ``weights_only=True``: tensors and plain Python data only. A file whose
    pickle asks for anything else (a function to call, a class to build) is refused, not executed."""
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL (\S+)", str(e))
        if not found:   # not a pickle of anything: damaged or foreign bytes
            raise CheckpointError(f"{path}: cannot read the checkpoint (not a torch checkpoint: "
                                  f"{type(e).__name__}); it is damaged or not a checkpoint: delete it and "
                                  "re-train") from None
        what = f"it asks for {found.group(1)}"
        raise CheckpointError(
            f"{path}: refused to load: the file is not a plain tensor checkpoint ({what}); a checkpoint "
            "from an untrusted source can run code: delete it and re-train (or re-run the run)") from None
    except Exception as e:  # noqa: BLE001 - truncated, empty or foreign bytes raise many types
        first = (str(e).strip().splitlines() or [""])[0][:160]
        raise CheckpointError(f"{path}: cannot read the checkpoint ({type(e).__name__}: {first}); it is "
                              "damaged or not a checkpoint: delete it and re-train") from None


def config_differences(stored: dict, cfg: Config) -> dict:
    """Fields that change results (all but `RUN_ONLY_FIELDS`) whose value differs: name -> (stored, asked)."""
    asked = cfg.to_dict()
    stored = {**Config().to_dict(), **stored}
    return {k: (stored[k], v) for k, v in asked.items()
            if k not in RUN_ONLY_FIELDS and stored.get(k) != v}


def check_resume(cfg: Config, out_dir) -> None:
    """Raise `ResumeConflictError` if `out_dir` holds a run (its config.json or last checkpoint)
    whose result-changing fields differ from `cfg`; names the fields. Nothing is written."""
    out = Path(out_dir)
    stored = []
    rec = out / "config.json"
    if rec.is_file():
        try:
            stored.append((rec, json.loads(rec.read_text())["config"]))
        except (ValueError, KeyError, TypeError) as e:
            raise ResumeConflictError(f"{rec}: unreadable run record ({e}); cannot tell which run this "
                                      "folder holds: use a new folder or delete it") from None
    last = out / "checkpoints" / "last.pt"
    if last.is_file():
        stored.append((last, load_checkpoint(last, "cpu").get("config", {})))
    for where, conf in stored:
        diff = config_differences(conf, cfg)
        if diff:
            shown = ", ".join(f"{k} (stored {a!r}, asked {b!r})" for k, (a, b) in diff.items())
            raise ResumeConflictError(
                f"{out} holds a run with another configuration ({where.name}): {shown}. Resuming would mix "
                "two configurations: train into a new folder, or ask for a new run (resume=False) "
                "to start this folder over")


def save_atomic(obj, path: Path) -> None:
    """torch.save into a temporary file renamed over `path`: a reader never sees half a checkpoint."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes_atomic(path, buf.getvalue())

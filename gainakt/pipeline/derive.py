"""Runs that need no training: a run whose effective configuration equals a finished run's.

The original factory dropped V4's and V5's options (`Config.effective`, audit 7-E), so V4 and V5
as run train exactly what V3 as run trains: the same effective configuration, seed and data, and
nothing in training reads the variant's name. Training such a run again costs CPU-hours (an as-run
V3 run is among the slowest of the matrix) and cannot change a number: the committed V4 as-run
seeds are bit-identical to V3 as run's (replication chapter), and `tests/test_derive.py` trains V3
and V5 as run on simulated learners and compares every number. So the driver *derives* such a run:
its folder gets its own config.json (its variant, its commands: `python -m gainakt repro` re-trains
it from that file) with ``derived_from`` naming the source run, a copy of the source's result
files, and a book page that says where the numbers come from. `--no-derive` trains it instead.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..analysis.runs import IDENTITY_FIELDS
from ..atomic import write_json_atomic
from ..config import Config, with_defaults
from .matrix import DEFAULT_NOTEBOOK, Run

__all__ = ["config_from_params", "run_config", "signature", "find_source", "derive_run", "RESULT_FILES"]

# what a training run leaves in its folder besides config.json (metrics.json is copied last:
# its presence is what makes a run "done")
RESULT_FILES = ("history.csv", "checks.csv", "skill_gains.csv", "skill_gains_untrained.csv",
                "trajectories.csv", "metrics.json")
_NOT_CONFIG = ("variant", "flavour", "results_dir", "overrides")


def config_from_params(p: dict) -> Config:
    """The Config the training notebook (notebooks/train_variant) builds from its parameters `p`."""
    from ..variants import make_config

    given = {k: v for k, v in p.items() if k not in _NOT_CONFIG}
    return make_config(p["variant"], p["flavour"], **{**given, **(p.get("overrides") or {})})


def run_config(run: Run) -> Config:
    """The Config the training notebook builds from the run's parameters."""
    return config_from_params(run.params)


def signature(effective: dict) -> str:
    """What training depends on: the effective configuration without the fields that only name
    a run or say where and how fast it ran (`gainakt.analysis.runs.IDENTITY_FIELDS`), seed kept.
    A field that a record written before it existed lacks takes its default, as when the record is
    loaded (`gainakt.config.with_defaults`)."""
    full = with_defaults(effective)
    keep = {k: v for k, v in full.items() if k not in IDENTITY_FIELDS or k == "seed"}
    return json.dumps(keep, sort_keys=True, default=str)


def _derivable(run: Run) -> bool:
    return run.model == "gainakt" and run.notebook == DEFAULT_NOTEBOOK and "variant" in run.params


def _trained(dataset_dir: Path, seed) -> list[tuple[Path, str]]:
    """(folder, signature) of every finished, trained (not derived) run folder of one seed."""
    out = []
    for cfg_path in sorted(dataset_dir.glob(f"*/seed{seed}/config.json")):
        folder = cfg_path.parent
        if not (folder / "metrics.json").is_file():
            continue
        try:
            record = json.loads(cfg_path.read_text())
            if "derived_from" in record or "effective_config" not in record:
                continue
            out.append((folder, signature(record["effective_config"])))
        except (OSError, TypeError, ValueError):   # unreadable, or a field this code no longer knows
            continue
    return out


def find_source(run: Run, repo_root, cache: dict | None = None) -> Path | None:
    """A finished, trained (not itself derived) run folder of the same dataset whose recorded
    effective configuration has the run's signature; None when there is none. `cache`: a dict kept
    across calls of one plan, so each folder's config.json is read once."""
    if not _derivable(run):
        return None
    want = signature(run_config(run).effective().to_dict())
    mine = run.path(repo_root).resolve()
    key = (str(run.path(repo_root).parent.parent), run.seed)
    cache = {} if cache is None else cache
    if key not in cache:
        cache[key] = _trained(Path(key[0]), run.seed)
    for folder, sig in cache[key]:
        if sig == want and folder.resolve() != mine:
            return folder
    return None


def _page(run: Run, source: Path, repo_root) -> dict:
    import nbformat

    from .runner import page_title

    src_rel = os.path.relpath(source, Path(repo_root))
    src_name, src_seed = source.parent.name, source.name
    page = f"{src_name}-{src_seed}.ipynb"
    text = (f"{page_title(run)}\n\n"
            f"This run was **not trained again**: its effective configuration (what the model "
            f"receives after the original factory dropped the options it never passed) is the one "
            f"of `{src_name}` with the same seed and data, so its result files are copies of "
            f"`{src_rel}` ([that run's page]({page})). `config.json` in `{run.results_dir}` is this "
            f"run's own and names the source under `derived_from`; "
            f"`python -m gainakt repro {run.results_dir}` trains it from scratch and "
            f"`python -m gainakt compare` checks that the numbers agree.")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    return nb


def derive_run(run: Run, source: Path, repo_root) -> Path:
    """Write the run's folder from `source` (see the module docstring) and its book page; the
    copy of metrics.json comes last, so an interrupted derivation never looks done."""
    import nbformat

    from ..repro import write_config

    repo_root = Path(os.path.abspath(repo_root))
    rdir = run.path(repo_root)
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "metrics.json").unlink(missing_ok=True)
    src_record = json.loads((source / "config.json").read_text())
    record = write_config(rdir, run_config(run), device=src_record.get("device"))
    record["derived_from"] = {
        "results_dir": os.path.relpath(source, repo_root), "git_commit": src_record.get("git_commit"),
        "why": "same effective configuration, seed and data (gainakt.pipeline.derive)"}
    write_json_atomic(rdir / "config.json", record)
    for name in RESULT_FILES:
        if (source / name).is_file():
            tmp = rdir / f".{name}.derive.tmp"
            shutil.copyfile(source / name, tmp)
            os.replace(tmp, rdir / name)
    out_nb = run.path(repo_root, "notebook_out")
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(_page(run, source, repo_root), str(out_nb))
    return rdir

"""The book's experiment matrix as data: ``experiments.yml`` -> a list of :class:`Run`.

File format::

    validate: true            # optional: check variants/flavours/datasets/override keys
                              #   against gainakt.variants / gainakt.config (default true)
    defaults:                 # applied to every entry; an entry's own value wins
      notebook: notebooks/train_variant.ipynb
      dataset: synthetic
      epochs: 20
      ...
    runs:
      - variant: V1
        flavour: [as_run, as_intended]   # a value or a list
        dataset: synthetic               # a value or a list
        seeds: [0, 1, 2]
        tags: [synthetic]
        label: small                     # optional; becomes part of the run name
        gpu: false
        overrides: {epochs: 3, learning_rate: 0.001}

Each entry expands to the product flavour x dataset x seed. The notebook receives these papermill
parameters (Python values, never strings): ``variant, flavour, dataset, data_dir, seed,
device, num_threads, results_dir, overrides`` always; ``epochs, d_model, n_blocks, n_heads, d_ff,
batch_size, synthetic`` when the matrix sets them (else the notebook's defaults apply). Keys of
``overrides`` that are themselves notebook parameters (those just listed) are lifted to the top
level; the other override keys stay in the ``overrides`` dict, which the notebook applies to its
Config. (At execution time any other parameter of the notebook's ``parameters`` cell is lifted
out of ``overrides`` too.)

Baselines (gainakt/baselines/): an entry with ``model: <name>`` (one of BASELINE_MODELS)
instead of ``variant`` runs ``notebooks/train_baseline.ipynb`` (unless the entry names another
notebook) once per dataset and seed, named ``<model>-baseline[-<label>]``; ``flavour`` does not
apply. The architecture parameters of ``defaults`` describe GainAKT's small configuration and are
not passed to baselines: a baseline entry states its own (else the Config defaults apply). Its
notebook receives ``model, dataset, data_dir, seed, device, num_threads, results_dir, overrides``
and the parameters the entry sets.

Sweeps: an entry with ``sweep: <name>`` and ``grid: {field: [values], ...}`` (Config fields) expands to
every point of the grid's product (each point's values are overrides). A sweep's points are named by
the values of all the fields that any entry of that sweep varies, so entries that slice one grid
(one factor at a time through a point) name a shared point alike, and it runs once:
``<variant>-<flavour>[-<label>]-<sweep>-<field><value>-...`` (e.g. ``-phase2-bce_loss_weight0.3``). Two entries may produce the same run key
only when they ask for the same run (their tags are merged).

Names: ``<variant>-<flavour>[-<label>]``; key ``<dataset>/<name>/seed<k>``;
results in ``<results_root>/<dataset>/<name>/seed<k>/`` and the executed notebook at
``<book_root>/runs/<dataset>/<name>-seed<k>.ipynb`` (both relative to the repository root).

A run is done iff ``<results_dir>/metrics.json`` exists (the notebook writes it atomically)
and no lock is left: while a driver executes a run it holds ``<results_dir>/../.seed<k>.lock``
and removes it only after the executed notebook is in place, so a run killed after its
metrics.json but before the end of the notebook shows as ``stale-lock`` and is run again.

Errors (:class:`MatrixError`) name the offending entry (index and YAML line): unknown keys,
two entries producing the same run key, duplicate keys inside one YAML mapping, bad values.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import CHOICES
from .grid import grid_points, point_name, sweep_fields
from .matrix_file import (
    MatrixError,
    check_name,
    describe_entry,
    load_matrix,
    unknown_key_error,
)

__all__ = ["Run", "MatrixError", "expand", "load_matrix",
           "PARAM_ORDER", "LIFTED_PARAMS", "DEFAULT_NOTEBOOK", "BASELINE_NOTEBOOK", "BASELINE_MODELS"]

DEFAULT_NOTEBOOK = "notebooks/train_variant.ipynb"
BASELINE_NOTEBOOK = "notebooks/train_baseline.ipynb"

# Notebook parameters, in the order they are passed (and shown in the injected cell).
PARAM_ORDER = ("variant", "flavour", "model", "dataset", "data_dir", "seed", "epochs", "d_model",
               "n_blocks", "n_heads", "d_ff", "batch_size", "device", "num_threads", "synthetic",
               "results_dir", "overrides")
# Top-level notebook parameters that may also be given in `defaults`, in an entry, or in
# `overrides` (from where they are lifted to the top level).
LIFTED_PARAMS = ("epochs", "d_model", "n_blocks", "n_heads", "d_ff", "batch_size", "device",
                 "data_dir", "num_threads", "synthetic")
BUILTIN_DEFAULTS: dict[str, Any] = {"data_dir": None, "device": "auto", "num_threads": 1}

TOP_KEYS = {"defaults", "runs", "validate", "description"}
ENTRY_KEYS = {"variant", "model", "flavour", "dataset", "seeds", "tags", "label", "gpu", "overrides", "sweep", "grid",
              "notebook", *LIFTED_PARAMS}
DEFAULT_KEYS = ENTRY_KEYS - {"variant", "model", "sweep", "grid"}
BASELINE_MODELS = tuple(m for m in CHOICES["model"] if m != "gainakt")
_GAINAKT_ONLY_DEFAULTS = {"epochs", "d_model", "n_blocks", "n_heads", "d_ff", "batch_size", "notebook",
                          "flavour"}

FLAVOURS = ("as_run", "as_intended")
DATASETS = ("assist2015", "assist2009", "statics2011", "synthetic")



# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One execution of the training notebook: what to pass and where its outputs go.

    Paths are strings relative to the repository root (unless given absolute); ``params`` is the
    complete papermill parameter dict (``results_dir`` relative as well; the executor resolves
    it for the notebook's working directory).
    """
    key: str                                  # "<dataset>/<variant>-<flavour>[-<label>]/seed<k>"
    params: dict = field(hash=False)          # papermill parameters (Python values)
    results_dir: str                          # "results/<dataset>/<name>/seed<k>"
    notebook_out: str                         # "book/runs/<dataset>/<name>-seed<k>.ipynb"
    notebook: str = DEFAULT_NOTEBOOK          # input notebook
    gpu: bool = False
    tags: tuple = ()
    source: str = ""                          # "experiments.yml runs[3] (line 27)"

    # convenience accessors ---------------------------------------------------------------
    # a baseline run has no variant or flavour: its model name stands for the variant
    variant = property(lambda self: self.params.get("variant") or self.params["model"])
    flavour = property(lambda self: self.params.get("flavour", "baseline"))
    model = property(lambda self: self.params.get("model", "gainakt"))
    dataset = property(lambda self: self.params["dataset"])
    seed = property(lambda self: self.params["seed"])

    @property
    def name(self) -> str:
        return self.key.split("/")[1]

    @property
    def safe_key(self) -> str:
        """The key as one file name component ('/' -> '__')."""
        return self.key.replace("/", "__")

    def path(self, repo_root, which: str = "results_dir") -> Path:
        p = Path(getattr(self, which))
        return p if p.is_absolute() else Path(repo_root) / p

    def metrics_path(self, repo_root) -> Path:
        return self.path(repo_root) / "metrics.json"

    def lock_path(self, repo_root) -> Path:
        """Sibling of results_dir, so the notebook may do anything inside results_dir."""
        d = self.path(repo_root)
        return d.parent / f".{d.name}.lock"

    def is_done(self, repo_root) -> bool:
        return self.metrics_path(repo_root).is_file()

    def to_dict(self) -> dict:
        return {"key": self.key, "params": self.params, "results_dir": self.results_dir,
                "notebook_out": self.notebook_out, "notebook": self.notebook, "gpu": self.gpu,
                "tags": list(self.tags), "source": self.source}


# ---------------------------------------------------------------------------------------------
def _as_list(value, what: str, where: str, kind=str) -> list:
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise MatrixError(f"{where}: {what} is an empty list")
    for x in items:
        if kind is int and (isinstance(x, bool) or not isinstance(x, int)):
            raise MatrixError(f"{where}: {what} must be integers, got {x!r}")
        if kind is str and not isinstance(x, str):
            raise MatrixError(f"{where}: {what} must be strings, got {x!r}")
    if len(set(items)) != len(items):
        raise MatrixError(f"{where}: {what} lists a value twice: {items}")
    return list(items)


def _validators() -> dict:
    """Known variants and Config fields, from the package (skipped if it cannot be imported)."""
    out: dict[str, Any] = {}
    try:
        from ..variants import ALL_VARIANTS
        out["variants"] = set(ALL_VARIANTS)
    except Exception:  # pragma: no cover - the model package is written in parallel
        pass
    try:
        from dataclasses import fields as dc_fields

        from ..config import Config
        out["fields"] = {f.name for f in dc_fields(Config)}
    except Exception:  # pragma: no cover
        pass
    return out


def expand(path_or_dict, *, results_root: str = "results", book_root: str = "book",
           notebook: str | None = None, num_threads: int | None = None) -> list[Run]:
    """Expand a matrix (a YAML path or an already-loaded dict) into runs, in file order.

    ``notebook`` (CLI ``--notebook``) replaces every entry's notebook; ``num_threads``
    (CLI ``--threads-per-run``) replaces every entry's ``num_threads`` parameter.
    """
    if isinstance(path_or_dict, Mapping):
        data, file = path_or_dict, "<matrix>"
    else:
        data, file = load_matrix(path_or_dict), str(path_or_dict)
    for k in data:
        if k not in TOP_KEYS:
            raise unknown_key_error(f"{file}: top level", k, TOP_KEYS)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise MatrixError(f"{file}: 'defaults' must be a mapping")
    for k in defaults:
        if k not in DEFAULT_KEYS:
            raise unknown_key_error(f"{file} defaults", k, DEFAULT_KEYS)
    entries = data.get("runs")
    if not isinstance(entries, list) or not entries:
        raise MatrixError(f"{file}: 'runs' must be a non-empty list")
    validate = data.get("validate", True)
    known = _validators() if validate else {}

    fields_of = sweep_fields(entries, file)
    runs: list[Run] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(entries):
        where = describe_entry(i, entry, file)
        if not isinstance(entry, Mapping):
            raise MatrixError(f"{where}: expected a mapping, got {entry!r}")
        for k in entry:
            if k not in ENTRY_KEYS:
                raise unknown_key_error(where, k, ENTRY_KEYS)
        model = entry.get("model")
        base = dict(defaults)
        if model is not None:
            if "variant" in entry:
                raise MatrixError(f"{where}: give 'variant' (a GainAKT3Exp variant) or 'model' "
                                  "(a baseline), not both")
            if model not in BASELINE_MODELS:
                raise MatrixError(f"{where}: model {model!r} is not a baseline; expected one of "
                                  f"{', '.join(BASELINE_MODELS)}")
            if "flavour" in entry:
                raise MatrixError(f"{where}: 'flavour' does not apply to a baseline (model={model!r})")
            # the defaults' sizes and notebook are GainAKT's; a baseline states its own
            base = {k: v for k, v in base.items() if k not in _GAINAKT_ONLY_DEFAULTS}
        elif "variant" not in entry:
            raise MatrixError(f"{where}: 'variant' (a GainAKT3Exp variant) or 'model' (a baseline: "
                              f"{', '.join(BASELINE_MODELS)}) is required")
        merged = {**copy.deepcopy(base), **copy.deepcopy(dict(entry))}
        overrides = {**(defaults.get("overrides") or {}), **(entry.get("overrides") or {})}
        if not isinstance(overrides, Mapping):
            raise MatrixError(f"{where}: 'overrides' must be a mapping")
        overrides = copy.deepcopy(dict(overrides))

        variant = merged.get("variant")
        if model is None:
            if not isinstance(variant, str):
                raise MatrixError(f"{where}: variant must be a string, got {variant!r}")
            check_name(variant, "variant", where)
            if "variants" in known and variant not in known["variants"]:
                raise MatrixError(f"{where}: unknown variant {variant!r}; known: "
                                  f"{sorted(known['variants'])} (set 'validate: false' to allow)")
        for req in ("dataset", "seeds") if model else ("flavour", "dataset", "seeds"):
            if req not in merged:
                raise MatrixError(f"{where}: '{req}' is required (in the entry or in defaults)")
        flavours = [None] if model else _as_list(merged["flavour"], "flavour", where)
        datasets = _as_list(merged["dataset"], "dataset", where)
        seeds = _as_list(merged["seeds"], "seeds", where, kind=int)
        tags = tuple(_as_list(merged["tags"], "tags", where)) if merged.get("tags") else ()
        label = merged.get("label")
        if label is not None:
            if not isinstance(label, str):
                raise MatrixError(f"{where}: label must be a string, got {label!r}")
            check_name(label, "label", where)
        gpu = merged.get("gpu", False)
        if not isinstance(gpu, bool):
            raise MatrixError(f"{where}: gpu must be true or false, got {gpu!r}")
        nb = notebook or merged.get("notebook") or (BASELINE_NOTEBOOK if model else DEFAULT_NOTEBOOK)
        for fl in flavours:
            if fl is None:
                continue
            check_name(fl, "flavour", where)
            if validate and fl not in FLAVOURS:
                raise MatrixError(f"{where}: flavour {fl!r} is not one of {FLAVOURS}")
        for ds in datasets:
            check_name(ds, "dataset", where)
            if validate and ds not in DATASETS:
                raise MatrixError(f"{where}: dataset {ds!r} is not one of {DATASETS}")

        top = dict(BUILTIN_DEFAULTS)
        top.update({k: merged[k] for k in LIFTED_PARAMS if k in merged})
        for k in LIFTED_PARAMS:           # overrides that are notebook parameters: lift them
            if k in overrides:
                top[k] = overrides.pop(k)
        for k in ("variant", "flavour", "model", "dataset", "seed", "results_dir", "overrides"):
            if k in overrides:
                raise MatrixError(f"{where}: overrides may not set {k!r} (the matrix sets it)")
        if "fields" in known:
            for k in overrides:
                if k not in known["fields"]:
                    raise unknown_key_error(f"{where} overrides", k, known["fields"])
        if num_threads is not None:
            top["num_threads"] = int(num_threads)
        sweep = merged.get("sweep")
        points = grid_points(merged, where, known)

        base_top, base_overrides = top, overrides
        for ds, fl, point in ((d, f, p) for d in datasets for f in flavours for p in points):
            top, overrides = dict(base_top), {**base_overrides, **point}
            for k in LIFTED_PARAMS:       # a grid may vary a notebook parameter (epochs, d_model...)
                if k in overrides:
                    top[k] = overrides.pop(k)
            name = (f"{model}-baseline" if model else f"{variant}-{fl}") + (f"-{label}" if label else "")
            if sweep is not None:
                name += f"-{sweep}-" + point_name(fields_of[sweep], {**top, **overrides}, variant, fl)
            for seed in seeds:
                key = f"{ds}/{name}/seed{seed}"
                results_dir = f"{results_root}/{ds}/{name}/seed{seed}"
                who = {"model": model} if model else {"variant": variant, "flavour": fl}
                params = {**who, "dataset": ds, "data_dir": top["data_dir"], "seed": seed}
                for k in ("epochs", "d_model", "n_blocks", "n_heads", "d_ff", "batch_size"):
                    if k in top:
                        params[k] = top[k]
                params.update(device=top["device"], num_threads=top["num_threads"])
                if "synthetic" in top:
                    params["synthetic"] = copy.deepcopy(top["synthetic"])
                params.update(results_dir=results_dir, overrides=copy.deepcopy(overrides))
                run = Run(key=key, params=params, results_dir=results_dir,
                          notebook_out=f"{book_root}/runs/{ds}/{name}-seed{seed}.ipynb",
                          notebook=nb, gpu=gpu, tags=tags, source=where)
                if key in seen:
                    j, first = seen[key]
                    if sweep is None or (first.params, first.notebook, first.gpu) != (params, nb, gpu):
                        raise MatrixError(f"duplicate run key {key!r}: produced by {first.source} "
                                          f"and by {where}")
                    # the same point of a sweep reached by two slices: one run, both tags
                    runs[j] = dataclasses.replace(first, tags=tuple(dict.fromkeys(first.tags + tags)))
                    continue
                seen[key] = (len(runs), run)
                runs.append(run)
    return runs

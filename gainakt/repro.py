"""Run folders, their config.json, re-running a run and comparing two runs epoch by epoch.

Folders are named ``YYYYMMDD_HHMMSS_<variant>_<title>_<id>`` (a re-run appends ``_repro``) and are
never overwritten. config.json records the resolved config, our defaults, the original defaults
and their md5, the overrides, the commands that re-run the run, the git commit, library versions
and the device.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from . import PACKAGE_ROOT
from .atomic import write_json_atomic
from .config import ORIGINAL_DEFAULTS, Config, defaults_md5, original_values

# columns that measure the machine, not the model: never compared
TIMING_COLUMNS = ("epoch_seconds", "epoch_cpu_seconds", "seconds")  # seconds: a baseline run's wall time


def _git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PACKAGE_ROOT, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PACKAGE_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "") if sha else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model() -> str:
    """The CPU's model name ('model name' in /proc/cpuinfo on Linux, else what `platform` knows):
    machines of the same kind differ several-fold in speed, so a run's clock means little without it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def versions() -> dict[str, str]:
    import sklearn
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "sklearn": sklearn.__version__, "platform": platform.platform(),
            "cuda": torch.version.cuda or "none", "cpu": cpu_model(), "cpu_count": str(os.cpu_count())}


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else ("plus" if c == "+" else "-") for c in text).strip("-")


def new_run_dir(root: str | Path, cfg: Config, suffix: str = "", run_id: str | None = None) -> Path:
    """Create a fresh folder; the random 6-digit id is retried until the name is unused."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        rid = run_id or f"{random.SystemRandom().randrange(10 ** 6):06d}"
        stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
        name = "_".join(p for p in (stamp, slug(cfg.variant), slug(cfg.title or cfg.flavour), rid) if p) + suffix
        path = root / name
        try:
            path.mkdir()
            return path
        except FileExistsError:
            if run_id:
                raise
    raise RuntimeError(f"could not create a unique run folder under {root}")


_STAMPED = re.compile(r"^\d{8}_\d{6}_")   # folders named by new_run_dir


def project_path(path: str | Path) -> str:
    """`path` relative to the project root when inside it (commands that work in any clone), else absolute."""
    full = Path(path).resolve()
    return str(full.relative_to(PACKAGE_ROOT)) if full.is_relative_to(PACKAGE_ROOT) else str(full)


def run_ref(run_dir: str | Path) -> str:
    """What `repro` and `compare` take to find a run: the id of a folder named by `new_run_dir`,
    otherwise its path (`project_path`: the book's runs are results/<dataset>/<name>/seed<k>)."""
    run_dir = Path(run_dir)
    if _STAMPED.match(run_dir.name):
        return run_dir.name.removesuffix("_repro").rsplit("_", 1)[-1]
    return project_path(run_dir)


def run_key(run_dir: str | Path) -> str:
    """The id that names a run's re-run folders: its id, or for any other folder its path as a slug
    (results/synthetic/V1-as_run-small/seed0 -> results-synthetic-V1-as-run-small-seed0)."""
    return slug(run_ref(run_dir).replace("/", "-"))


def train_command(cfg: Config, out_dir: str | Path | None = None) -> str:
    """`python -m gainakt train` with every field that differs from the plain defaults explicit."""
    parts = ["python", "-m", "gainakt", "train"]
    for k, v in sorted(cfg.overrides().items()):
        parts += [f"--{k.replace('_', '-')}", json.dumps(v) if isinstance(v, (dict, list)) else str(v)]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    return shlex.join(parts)


def write_config(run_dir: Path, cfg: Config, argv: list[str] | None = None, device: str | None = None,
                 new_run: bool = False) -> dict:
    """Write run_dir/config.json; `device` None: the device cfg.device resolves to on this machine.

    Unless `new_run`, a folder that already holds a run of another configuration (config.json or
    last checkpoint) is refused (`gainakt.checkpoints.ResumeConflictError`) and config.json left as it is."""
    from .train import check_resume
    if not new_run:
        check_resume(cfg, run_dir)
    if device is None:
        from .train import resolve_device
        device = str(resolve_device(cfg.device))
    rid, ref = run_key(run_dir), run_ref(run_dir)
    orig = original_values()
    record = {
        "id": rid, "created": dt.datetime.now().isoformat(timespec="seconds"),
        "config": cfg.to_dict(), "effective_config": cfg.effective().to_dict(),
        "defaults": Config().to_dict(), "defaults_md5": defaults_md5(Config().to_dict()),
        "original_defaults": ORIGINAL_DEFAULTS, "original_defaults_md5": defaults_md5(),
        "overrides": cfg.overrides(),
        "differs_from_original": {k: {"original": v, "here": getattr(cfg, k)}
                                  for k, v in orig.items() if getattr(cfg, k) != v},
        "commands": {"train_explicit": train_command(cfg, project_path(run_dir)),
                     "repro": f"python -m gainakt repro {shlex.quote(ref)}",
                     "compare": f"python -m gainakt compare {shlex.quote(ref)}",
                     "argv": shlex.join(argv) if argv else ""},
        "git_commit": _git_commit(), "versions": versions(), "device": device,
    }
    write_json_atomic(run_dir / "config.json", record)
    return record


def find_run(run_id: str, root: str | Path, repro: bool = False) -> Path:
    """The folder of run `run_id` (the newest `_repro` one with repro=True)."""
    root = Path(root)
    end = f"_{run_id}_repro" if repro else f"_{run_id}"
    hits = sorted(p for p in root.glob(f"*{end}") if p.is_dir())
    if not hits:
        raise FileNotFoundError(f"no run folder ending in '{end}' under {root}")
    return hits[-1]


def load_config(run_dir: Path) -> Config:
    record = json.loads((run_dir / "config.json").read_text())
    if record.get("defaults_md5") != defaults_md5(Config().to_dict()):
        print(f"note: the library's defaults changed since run {record['id']}; the saved config is "
              "complete, so the re-run uses the saved values")
    return Config.from_dict(record["config"])


def compare_histories(a: pd.DataFrame, b: pd.DataFrame, tolerance: float = 1e-4) -> pd.DataFrame:
    """Per numeric column (the epoch column included): max and mean |difference| and a status:
    exact, within, outside.

    Raises ValueError when the two runs do not have the same epochs or columns. The clocks
    (TIMING_COLUMNS) are not compared, nor required in both: a run that records CPU time compares
    with one from before it did.
    """
    a, b = (h.drop(columns=[c for c in TIMING_COLUMNS if c in h]) for h in (a, b))
    if len(a) != len(b):
        raise ValueError(f"different number of epochs: {len(a)} vs {len(b)}")
    if set(a.columns) != set(b.columns):
        raise ValueError(f"different columns: only in first {sorted(set(a) - set(b))}, "
                         f"only in second {sorted(set(b) - set(a))}")
    rows = []
    for col in a.columns:
        if not np.issubdtype(a[col].dtype, np.number):
            continue
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        both_nan = np.isnan(x) & np.isnan(y)
        d = np.where(both_nan, 0.0, np.abs(x - y))
        d = np.where(np.isnan(d), np.inf, d)
        # the epoch column counts: two histories of other epochs are never "within tolerance"
        status = "exact" if d.max() == 0 else ("within" if d.max() <= tolerance and col != "epoch"
                                              else "outside")
        rows.append({"column": col, "max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()),
                     "status": status, "worst_epoch": int(a["epoch"].iloc[int(d.argmax())])})
    return pd.DataFrame(rows)


def _numeric_leaves(obj, prefix: str = "") -> dict[str, float]:
    """Every number in a JSON tree, keyed by its dotted path (list items by index; bools as 0/1)."""
    out: dict[str, float] = {}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        key = f"{prefix}{k}"
        if isinstance(v, (dict, list)):
            out.update(_numeric_leaves(v, key + "."))
        elif isinstance(v, (bool, int, float)) and v is not None:
            if k not in TIMING_COLUMNS:
                out[key] = float(v)
    return out


def compare_metrics(a: dict, b: dict, tolerance: float = 1e-4) -> pd.DataFrame:
    """Every numeric field of two metrics.json records: |difference| and a status (exact, within,
    outside; missing when only one run has it)."""
    fa, fb = _numeric_leaves(a), _numeric_leaves(b)
    rows = []
    for key in list(fa) + [k for k in fb if k not in fa]:
        if key not in fa or key not in fb:
            rows.append({"field": key, "first": fa.get(key), "second": fb.get(key),
                         "abs_diff": float("inf"), "status": "missing"})
            continue
        x, y = fa[key], fb[key]
        d = 0.0 if (np.isnan(x) and np.isnan(y)) or x == y else abs(x - y)
        d = float("inf") if np.isnan(d) else d
        rows.append({"field": key, "first": x, "second": y, "abs_diff": d,
                     "status": "exact" if d == 0 else ("within" if d <= tolerance else "outside")})
    return pd.DataFrame(rows, columns=["field", "first", "second", "abs_diff", "status"])


def compare_runs(a: Path, b: Path, tolerance: float = 1e-4) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """history.csv (every numeric column, epoch included) and metrics.json (every numeric field) of two
    run folders: (history table, metrics table, ok). ok: nothing outside the tolerance or missing.
    A run without metrics.json (unfinished) never matches a finished one."""
    hist = compare_histories(pd.read_csv(Path(a) / "history.csv"), pd.read_csv(Path(b) / "history.csv"),
                             tolerance)
    ma, mb = (Path(d) / "metrics.json" for d in (a, b))
    if ma.is_file() != mb.is_file():
        raise ValueError(f"only one run is finished: {ma if ma.is_file() else mb} exists, "
                         f"{mb if ma.is_file() else ma} does not")
    met = (compare_metrics(json.loads(ma.read_text()), json.loads(mb.read_text()), tolerance)
           if ma.is_file() else compare_metrics({}, {}))
    ok = not (hist.status == "outside").any() and not met.status.isin(["outside", "missing"]).any()
    return hist, met, ok

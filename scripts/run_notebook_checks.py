"""Notebook checks for `make test` (steps 2 and 3 of the CI plan).

1. Smoke run: every notebooks/*.ipynb with a cell tagged `parameters` is
   prepared with papermill (--prepare-only, no execution) with the tiny
   parameters of notebooks/ci_params/<name>.yml when that file exists, written
   to _build/nbcheck/, and run with `pytest --nbval-lax --nbval-current-env`
   (every cell runs; outputs are compared only in cells marked
   nbval-check-output). A first cell `os.chdir(<notebooks/>)` is added to each
   prepared copy so relative paths resolve as in the original.
2. Strict run: notebooks/analysis_*.ipynb are run in place with
   `pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg`
   (stored outputs must match; keep them cheap and deterministic).

pytest's exit code 5 (nothing collected) counts as success.
Usage: python scripts/run_notebook_checks.py [--smoke-only | --strict-only] [-k EXPR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
PARAMS_DIR = NB_DIR / "ci_params"
WORK = ROOT / "_build" / "nbcheck"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
NO_TESTS = 5  # pytest: no tests collected


def has_parameters_cell(path: Path) -> bool:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.get("cells", []))


def load_params(name: str) -> dict:
    f = PARAMS_DIR / f"{name}.yml"
    if not f.exists():
        return {}
    import yaml

    params = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    if not isinstance(params, dict):
        raise SystemExit(f"{f}: expected a mapping of parameter names to values")
    return params


def prepare(src: Path, dst: Path, params: dict) -> None:
    """papermill --prepare-only, then pin the kernel's working directory."""
    import nbformat
    import papermill

    papermill.execute_notebook(str(src), str(dst), parameters=params, prepare_only=True,
                               kernel_name="python3", progress_bar=False, log_output=False)
    nb = nbformat.read(dst, as_version=4)
    chdir = nbformat.v4.new_code_cell(f"import os\nos.chdir({str(src.parent)!r})")
    chdir.metadata["tags"] = ["nbcheck-chdir"]
    nb.cells.insert(0, chdir)
    nbformat.write(nb, dst)


def pytest(args: list[str], label: str) -> int:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    print(f"--- {label}: {' '.join(cmd[1:])}", flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc == NO_TESTS:
        print(f"--- {label}: no tests collected (pytest exit 5), counted as success", flush=True)
        return 0
    return rc


def smoke(extra: list[str]) -> int:
    notebooks = sorted(NB_DIR.glob("*.ipynb"))
    # analysis_* notebooks run in the strict step (with their stored outputs): not twice
    param_nbs = [p for p in notebooks if has_parameters_cell(p) and not p.name.startswith("analysis_")]
    unchecked = [p.name for p in notebooks if p not in param_nbs and not p.name.startswith("analysis_")]
    if unchecked:
        print(f"note: not smoke-run (no `parameters` cell): {', '.join(unchecked)}")
    if not param_nbs:
        print("smoke: no notebooks/*.ipynb with a `parameters` cell; nothing to run")
        return 0
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    prepared = []
    for src in param_nbs:
        params = load_params(src.stem)
        dst = WORK / src.name
        prepare(src, dst, params)
        print(f"prepared {src.relative_to(ROOT)} -> {dst.relative_to(ROOT)} with {params or 'defaults'}")
        prepared.append(str(dst.relative_to(ROOT)))
    return pytest(["--nbval-lax", "--nbval-current-env", *extra, *prepared], "smoke (nbval-lax)")


def strict(extra: list[str]) -> int:
    analysis = sorted(str(p.relative_to(ROOT)) for p in NB_DIR.glob("analysis_*.ipynb"))
    if not analysis:
        print("strict: no notebooks/analysis_*.ipynb; nothing to run")
        return 0
    return pytest(["--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE.relative_to(ROOT)),
                   *extra, *analysis], "strict (nbval)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--smoke-only", action="store_true")
    group.add_argument("--strict-only", action="store_true")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args()
    rc = 0
    for name, step in (("smoke", smoke), ("strict", strict)):
        if (name == "smoke" and args.strict_only) or (name == "strict" and args.smoke_only):
            continue
        t0 = time.monotonic()
        step_rc = step(args.pytest_args)
        print(f"=== notebooks/{name}: exit {step_rc} in {time.monotonic() - t0:.0f}s", flush=True)
        rc = rc or step_rc
    return rc


if __name__ == "__main__":
    sys.exit(main())

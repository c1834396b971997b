"""Experiment driver of the book: ``python -m gainakt.book {run,status,build}``.

    python -m gainakt.book run                         # everything missing, local process pool
    python -m gainakt.book run --tag synthetic --dry-run
    python -m gainakt.book run --variant V1 --dataset assist2015 --executor dask --workers 2
    python -m gainakt.book run --executor dask --scheduler tcp://10.0.0.5:8786
    python -m gainakt.book run --executor dask --cluster slurm --jobs 8 --queue cpu
    python -m gainakt.book status --missing
    python -m gainakt.book build                       # jupyter-book build . -W -n --keep-going

Selection flags (``--variant``, ``--dataset``, ``--tag``, ``--flavour``, ``--key``) are
repeatable and take shell patterns (``--variant 'V3*'``); values of one flag are OR-ed, different
flags AND-ed. See :mod:`gainakt.pipeline.matrix` for the matrix file, and :mod:`gainakt.pipeline.driver`,
:mod:`gainakt.pipeline.executors` and :mod:`gainakt.pipeline.runner` for what a run does. Exit status of ``run``: 0 if nothing failed, 1 if a run failed, 2 for a bad
matrix or selection, 130 if interrupted.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from . import PACKAGE_ROOT
from .pipeline.matrix import MatrixError, expand
from .pipeline.selection import select, status



def _default_repo_root() -> Path:
    if (PACKAGE_ROOT / "pyproject.toml").exists() and (PACKAGE_ROOT / "gainakt").is_dir():
        return PACKAGE_ROOT          # running from the source checkout
    return Path.cwd()


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo-root", type=Path, default=None,
                   help="repository root (default: the checkout this package lives in)")
    p.add_argument("--matrix", type=Path, default=None,
                   help="experiment matrix (default: <repo-root>/experiments.yml)")
    g = p.add_argument_group("selection (repeatable, shell patterns)")
    g.add_argument("--variant", action="append", metavar="V")
    g.add_argument("--dataset", action="append", metavar="D")
    g.add_argument("--tag", action="append", metavar="T")
    g.add_argument("--flavour", action="append", metavar="F")
    g.add_argument("--key", action="append", metavar="K", help="run key, e.g. 'synthetic/V1-*'")
    p.add_argument("--results-root", default="results",
                   help="results root, relative to the repo root (default: results)")
    p.add_argument("--book-root", default="book",
                   help="executed notebooks go to <book-root>/runs (default: book)")
    p.add_argument("--notebook", default=None,
                   help="input notebook for every run (default: each entry's 'notebook:')")


def _runs(args):
    repo_root = (args.repo_root or _default_repo_root()).resolve()
    matrix = args.matrix or repo_root / "experiments.yml"
    runs = expand(matrix, results_root=args.results_root, book_root=args.book_root,
                  notebook=args.notebook,
                  num_threads=getattr(args, "threads_per_run", None))
    runs = select(runs, variants=args.variant, datasets=args.dataset, tags=args.tag,
                  flavours=args.flavour, keys=args.key)
    return repo_root, runs


def cmd_run(args) -> int:
    from .pipeline.driver import drive, format_table

    repo_root, runs = _runs(args)
    if not runs:
        print("no runs selected", file=sys.stderr)
        return 2
    if args.direct and args.executor != "local":
        print(f"error: --direct runs with --executor local only, not {args.executor}", file=sys.stderr)
        return 2
    slurm = None
    if args.cluster == "slurm":
        if args.executor != "dask" or args.scheduler:
            print("error: --cluster slurm needs --executor dask and no --scheduler",
                  file=sys.stderr)
            return 2
        from .pipeline.slurm import SlurmOptions
        slurm = SlurmOptions(jobs=args.jobs, queue=args.queue, account=args.account,
                             walltime=args.walltime, memory=args.job_mem,
                             gpus=args.gpus_per_job, extra=args.sbatch or [],
                             interface=args.interface)
    report = drive(runs, repo_root=repo_root, executor=args.executor, force=args.force,
                   dry_run=args.dry_run, workers=args.workers,
                   threads_per_run=args.threads_per_run, retries=args.retries,
                   timeout=args.timeout, scheduler=args.scheduler,
                   results_root=args.results_root, progress=not args.quiet, slurm=slurm,
                   derive=not args.no_derive, direct=args.direct)
    if args.dry_run:
        return report.exit_code
    print(format_table(report.results))
    c = report.counts
    print(f"\n{c.get('done', 0)} done, {c.get('failed', 0)} failed, {c.get('skipped', 0)} "
          f"skipped in {report.wall_s:.1f} s; summary: {report.summary_path}")
    for r in report.results:
        if r.status == "failed":
            print(f"\nFAILED {r.key} (attempt {r.attempt}, log {r.log_path}):\n  "
                  + (r.error or "").replace("\n", "\n  "), file=sys.stderr)
    return report.exit_code


def cmd_status(args) -> int:
    repo_root, runs = _runs(args)
    states = status(runs, repo_root)
    if args.json:
        print(json.dumps({r.key: {"state": states[r.key], "results_dir": r.results_dir,
                                  "notebook_out": r.notebook_out} for r in runs}, indent=2))
        return 0
    shown = [r for r in runs if not args.missing or states[r.key] != "done"]
    width = max([len(r.key) for r in shown] + [3])
    for r in shown:
        print(f"{r.key:<{width}}  {states[r.key]:<10}  {r.results_dir}")
    counts: dict[str, int] = {}
    for s in states.values():
        counts[s] = counts.get(s, 0) + 1
    print(f"\n{len(runs)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 0


# Analysis notebooks (read results/ only) and the book page each becomes: notebooks/analysis_<x>.ipynb
# -> book/analysis/<x>.ipynb. The page is committed without outputs and executed at every build, so it
# always shows what results/ holds now; the build itself never writes into the source tree.
ANALYSIS_SOURCES = "notebooks/analysis_*.ipynb"
# Cell tag that folds a chapter's code behind a toggle (run pages under book/runs keep their code shown).
HIDE_TAG = "hide-input"


# Other notebooks made into pages the same way (source -> page), e.g. the explorer (issue 21).
EXTRA_PAGES = {"notebooks/explore.ipynb": "book/exploration/explore.ipynb"}
# Cell tag: the cell needs a kernel (Python callbacks), so it is left out of the book page.
LIVE_TAG = "live-only"


def analysis_pages(repo_root: Path) -> dict[str, str]:
    """{analysis notebook: its book page}, both relative to `repo_root` (with `EXTRA_PAGES`)."""
    pages = {str(p.relative_to(repo_root)): f"book/analysis/{p.stem.removeprefix('analysis_')}.ipynb"
             for p in sorted(repo_root.glob(ANALYSIS_SOURCES))}
    pages.update({s: d for s, d in EXTRA_PAGES.items() if (repo_root / s).is_file()})
    return pages


def analysis_page_text(src: Path) -> str:
    """The book page of analysis notebook `src`: no outputs, no execution records (so the text depends
    on the source only and a build leaves `git status` clean), code folded, cells tagged `LIVE_TAG`
    dropped, marked for execution."""
    import nbformat

    nb = nbformat.read(str(src), as_version=4)
    nb.cells = [c for c in nb.cells if LIVE_TAG not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            tags = cell.metadata.setdefault("tags", [])
            if HIDE_TAG not in tags and "remove-input" not in tags and "remove-cell" not in tags:
                tags.append(HIDE_TAG)
    nb.metadata["mystnb"] = {"execution_mode": "force"}
    return nbformat.writes(nb) + "\n"


def sync_analysis_pages(repo_root: Path) -> list[Path]:
    """Write each analysis notebook's book page where it differs; returns the pages written."""
    from .atomic import write_text_atomic

    written = []
    for src, dst in analysis_pages(repo_root).items():
        text, page = analysis_page_text(repo_root / src), repo_root / dst
        if not page.is_file() or page.read_text(encoding="utf-8") != text:
            write_text_atomic(page, text)
            written.append(page)
    return written


def cmd_build(args) -> int:
    repo_root = (args.repo_root or _default_repo_root()).resolve()
    for page in sync_analysis_pages(repo_root):  # only after an analysis notebook changed: commit it
        print(f"updated {page.relative_to(repo_root)} from its analysis notebook (commit it)", file=sys.stderr)
    exe = Path(sys.executable).with_name("jupyter-book")
    exe = str(exe) if exe.exists() else shutil.which("jupyter-book")
    if not exe:
        print("jupyter-book not found (pip install 'jupyter-book>=1.0.4.post1,<2')",
              file=sys.stderr)
        return 127
    cmd = [exe, "build", args.path, "-W", "-n", "--keep-going", *(["--all"] if args.all else []),
           *args.extra]
    print("+", " ".join(cmd), f"(in {repo_root})", file=sys.stderr)
    return subprocess.call(cmd, cwd=repo_root)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gainakt.book", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute the missing runs of the matrix")
    _add_selection(r)
    r.add_argument("--executor", choices=("local", "dask"), default="local")
    r.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:8786) or scheduler file (*.json); "
                        "default: a LocalCluster")
    sl = r.add_argument_group("Slurm (--executor dask --cluster slurm; needs dask-jobqueue)")
    sl.add_argument("--cluster", choices=("local", "slurm"), default="local",
                    help="where the dask executor starts its workers without --scheduler: "
                         "a LocalCluster (default) or Slurm jobs submitted with sbatch")
    sl.add_argument("--jobs", type=int, default=None,
                    help="Slurm jobs of one worker each (default: --workers, else "
                         "cpu_count // threads-per-run)")
    sl.add_argument("--queue", default=None, help="Slurm partition (default: the site's)")
    sl.add_argument("--account", default=None, help="Slurm account (default: the user's)")
    sl.add_argument("--walltime", default="01:00:00",
                    help="per job; a run must finish within it (default 01:00:00)")
    sl.add_argument("--job-mem", default="4GB", help="memory per job (default 4GB)")
    sl.add_argument("--gpus-per-job", type=int, default=0,
                    help="--gres=gpu:K per job, advertised as the Dask resource GPU=K that "
                         "runs with 'gpu: true' need (default 0)")
    sl.add_argument("--interface", default=None,
                    help="network interface for the scheduler and workers, e.g. ib0 "
                         "(default: the address of this host's name)")
    sl.add_argument("--sbatch", action="append", metavar="DIRECTIVE",
                    help="extra #SBATCH directive, repeatable, e.g. --sbatch=--qos=short")
    r.add_argument("--workers", type=int, default=None,
                   help="parallel runs (default: cpu_count // threads-per-run)")
    r.add_argument("--threads-per-run", type=int, default=None,
                   help="CPU threads per run: OMP_NUM_THREADS etc. and the notebook's "
                        "num_threads (default: the matrix value, else 1)")
    r.add_argument("--retries", type=int, default=2,
                   help="retries after a worker/kernel death or a task exception (default 2)")
    r.add_argument("--timeout", type=float, default=None,
                   help="per-cell execution timeout in seconds (default: none)")
    r.add_argument("--force", action="store_true", help="re-run finished runs too")
    r.add_argument("--dry-run", action="store_true", help="list what would run and stop")
    r.add_argument("--no-derive", action="store_true",
                   help="train a run even when a finished run trained exactly the same (same "
                        "effective configuration, seed and data; by default its results are "
                        "copied, see gainakt.pipeline.derive)")
    r.add_argument("--direct", action="store_true",
                   help="train without a notebook kernel, for a machine without Jupyter (the GPU "
                        "machine): the same Config and training, a book page with the run's tables "
                        "but no figures (gainakt.pipeline.direct); local executor only")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("status", help="which runs are done, running or missing")
    _add_selection(s)
    s.add_argument("--missing", action="store_true", help="list only runs that are not done")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    b = sub.add_parser("build", help="jupyter-book build . -W -n --keep-going")
    b.add_argument("--repo-root", type=Path, default=None)
    b.add_argument("--path", default=".", help="book path (default: .)")
    b.add_argument("--all", action="store_true", help="rebuild every page (jupyter-book --all)")
    b.add_argument("extra", nargs=argparse.REMAINDER, help="more jupyter-book arguments")
    b.set_defaults(func=cmd_build)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MatrixError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Runs without a notebook kernel: the driver's direct mode (``python -m gainakt.book run --direct``).

The training notebook (``notebooks/train_variant.ipynb``) builds a `Config` from its parameters,
writes ``config.json`` (`gainakt.repro.write_config`), calls `gainakt.train.run` and then draws
figures from the files that wrote. A machine without Jupyter cannot execute it: the lent GPU
machine has torch, pandas and PyYAML but no papermill, nbformat or ipykernel. There the driver's
worker calls the same two functions itself: the same Config, the same training, the same result
files, the same locks, resume and "done" rule (``metrics.json``, written last). Only the book page
differs: a short notebook, written as plain nbformat-4 JSON, that says how the run was made and
holds its summary tables, without figures (``--force`` without ``--direct`` re-trains the run
through the notebook where Jupyter is). Several direct workers on one GPU share it
(``--workers N``), which is how the sweeps' small runs fill a large GPU.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd

from .matrix import DEFAULT_NOTEBOOK, Run

__all__ = ["train_direct", "markdown_table", "page"]


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A pipe table of `df` (index as the first column), numbers to `digits` significant digits."""
    def cell(v) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.{digits}g}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    head = [str(df.index.name or "")] + [str(c) for c in df.columns]
    rows = [[cell(i)] + [cell(v) for v in row] for i, row in zip(df.index, df.itertuples(index=False))]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def page(run: Run, metrics: dict, device: str) -> dict:
    """The run's book page as an nbformat-4 notebook (a dict): title, how it was made, its summary."""
    from ..report import reported_vs_measured, run_summary
    from .runner import page_title

    p = run.params
    intro = (f"{page_title(run)}\n\nTrained by the driver's **direct mode** on `{device}` (no notebook kernel: "
             f"`python -m gainakt.book run --direct`), so this page has the run's tables but no figures. "
             f"The result files in `{run.results_dir}` are those the training notebook writes: the same "
             f"`Config` and `gainakt.train.run`. `python -m gainakt repro {run.results_dir}` re-trains it "
             f"from its `config.json`.")
    cells = [intro, "**Summary** (valid, test, and the untrained model: the noise floor of each gain "
             "statistic)\n\n" + markdown_table(run_summary(metrics))]
    seeds = reported_vs_measured(p["variant"], metrics) if p.get("variant") else pd.DataFrame()
    if len(seeds):
        cells.append("**The seeds' numbers beside this run's**\n\n" + markdown_table(seeds.set_index("quantity")))
    return {"cells": [{"cell_type": "markdown", "id": f"direct{i}", "metadata": {}, "source": s}
                      for i, s in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def train_direct(run: Run, repo_root, log, page_path: Path) -> None:
    """Train `run` in this process as its notebook would and write its page to `page_path`.

    `log`: a text stream for the training log. Raises ValueError (one line) for a run whose
    notebook is not the training notebook: only that notebook's work is known here."""
    from ..repro import write_config
    from ..train import resolve_device, run as train_run
    from .derive import config_from_params
    from .runner import notebook_params

    if run.notebook != DEFAULT_NOTEBOOK:
        raise ValueError(f"{run.key}: --direct runs only the training notebook ({DEFAULT_NOTEBOOK}), "
                         f"not {run.notebook}")
    repo_root = Path(os.path.abspath(repo_root))
    # through JSON, as papermill passes them: plain dicts and lists (the matrix file's carry their
    # line numbers, which would otherwise reach the Config and its checkpoints)
    cfg = config_from_params(json.loads(json.dumps(notebook_params(run, repo_root))))
    rdir = run.path(repo_root)
    device = str(resolve_device(cfg.device))
    write_config(rdir, cfg, device=device)
    metrics = train_run(cfg, rdir, log=lambda m: print(m, file=log, flush=True))
    page_path.write_text(json.dumps(page(run, metrics, device), indent=1, ensure_ascii=False) + "\n")

"""The ground-truth chapter's figure: learned per-skill values against the simulated learners' true
ones, one panel per variant and flavour, and BKT's learn rate beside them.

    condition_figure(runs, per_run(runs), "moderate", truth_table(simconfig_of("moderate")),
                     baseline_params("results", "moderate"))
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import FLAVOUR_COLOURS
from .gains import read_skill_tables
from .groundtruth import TRUTH_COLUMNS, _with_params, groups, spearman
from .runs import flavour_words


def _z(v) -> np.ndarray:
    v = np.asarray(v, float)
    sd = np.nanstd(v)
    return (v - np.nanmean(v)) / sd if sd > 0 else v * 0.0


def condition_figure(runs: pd.DataFrame, pr: pd.DataFrame, condition: str, truth: pd.DataFrame,
                     bkt: pd.DataFrame | None, x: str = "learn_rate", col: str = "gain_own_mean", min_n: int = 20):
    """One panel per variant and flavour, and BKT: per-skill mean gain (z-scored within each run, so
    seeds share a scale) against the true per-skill `x`; trained seeds in colour, the untrained
    models in grey; BKT's learn rate (z-scored) in the last panel. Titles give the mean Spearman."""
    import matplotlib.pyplot as plt

    groups_ = groups()
    ncols = 4   # panels of about 1.8 in: variant x flavour, then BKT, on rows of four
    nrows = -(-(len(groups_) + 1) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(7.2, 2.2 * nrows), sharey=True, sharex=True, squeeze=False)
    axes = list(grid.flat)[: len(groups_) + 1]
    for ax in list(grid.flat)[len(groups_) + 1:]:
        ax.axis("off")
    sel = runs[runs.condition == condition] if len(runs) else runs
    for ax, (v, fl) in zip(axes, groups_):
        g = sel[(sel.variant == v) & (sel.flavour == fl)] if len(sel) else sel
        for untrained, colour, size in ((True, "0.7", 6), (False, FLAVOUR_COLOURS[fl], 8)):
            for t in read_skill_tables(g.dir if len(g) else [], untrained=untrained):
                m = t[t.n >= min_n].merge(truth, on="skill")
                ax.scatter(m[x], _z(m[col]), s=size, color=colour, alpha=0.6, lw=0)
        p = pr[(pr.condition == condition) & (pr.variant == v) & (pr.flavour == fl)]
        rho = {m: p[p.model == m][x].mean() for m in ("trained", "untrained")}
        ax.set_title(f"{v} {flavour_words(fl)}\nρ {rho['trained']:+.2f} (untr. {rho['untrained']:+.2f})"
                     if len(p) else f"{v} {flavour_words(fl)}\nnot run yet", fontsize=7)
    ax = axes[-1]
    if bkt is not None:
        m = _with_params(truth, bkt, min_n)
        ax.scatter(m[x], _z(m.bkt_learn), s=8, color="k")
        ax.set_title(f"BKT learn\nρ {spearman(m.bkt_learn, m[x]):+.2f}", fontsize=7)
    else:
        ax.set_title("BKT\nnot run yet", fontsize=7)
    for row in grid:
        row[0].set_ylabel("per-skill value (z)", fontsize=7)
    for ax in axes:
        ax.tick_params(labelsize=6)
        ax.set_xlabel("accuracy (train)" if x == "train_accuracy" else f"true {TRUTH_COLUMNS[x]}", fontsize=7)
    fig.tight_layout()
    return fig

"""Figures of the sweeps chapter (matplotlib Figures sized for the book column): the Phase 2 loss-weight
sweep against the seeds' single values, and the Phase 1 learning-curve grid as small multiples."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .sweeps import FIELDS, GRID_LEVELS, METRICS, REPORTED, combined_score


def weight_figure(sr: pd.DataFrame, sweep: str = "phase2"):
    """E1 and E2 test AUC and the combined score against the BCE weight: mean ± sd over seeds per
    flavour (colour), the seeds' single values as black crosses (Phase 2)."""
    import matplotlib.pyplot as plt

    from .figures import FLAVOUR_COLOURS
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.4))
    rep = REPORTED["phase2"]["points"] if sweep == "phase2" else {}
    for ax, (m, name) in zip(axes, [*METRICS.items(), ("combined", "E1 + 0.5 E2")]):
        for fl, g in sr.groupby("flavour") if len(sr) else []:
            s = g.groupby("bce_loss_weight")[m].agg(["mean", "std"])
            ax.errorbar(s.index, s["mean"], yerr=s["std"].fillna(0), color=FLAVOUR_COLOURS.get(fl, "grey"),
                        marker="o", ms=3, lw=1, capsize=2, label=fl)
        if rep:
            w = np.array(sorted(rep))
            vals = {"test_enc1_auc": [rep[x][0] for x in w], "test_enc2_auc": [rep[x][1] for x in w]}
            vals["combined"] = [combined_score(a, b) for a, b in zip(vals["test_enc1_auc"], vals["test_enc2_auc"])]
            ax.plot(w, vals[m], "kx", ms=5, label="seeds")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("BCE weight", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def grid_figure(sr: pd.DataFrame, flavour: str = "as_run", metric: str = "test_enc2_auc"):
    """Phase 1 as small multiples: one panel per (beta, M_sat), rows beta and columns M_sat, each a
    3 x 3 map of `metric` (mean over seeds) over gamma (rows) and the offset (columns), one colour
    scale for all panels; the seeds' best point framed in black."""
    import matplotlib.pyplot as plt
    beta, msat, gamma, off = FIELDS["phase1"]
    levels = dict(zip(FIELDS["phase1"], GRID_LEVELS))
    g = sr[sr.flavour == flavour] if len(sr) else sr
    fig, axes = plt.subplots(3, 3, figsize=(6.4, 6.0), sharex=True, sharey=True)
    means = g.groupby(list(FIELDS["phase1"]))[metric].mean() if len(g) else pd.Series(dtype=float)
    lo, hi = (means.min(), means.max()) if len(means) else (0, 1)
    best = REPORTED["phase1"]["best_point"]
    im = None
    for i, b in enumerate(levels[beta]):
        for j, m in enumerate(levels[msat]):
            ax = axes[i, j]
            z = np.full((3, 3), np.nan)
            for a, gm in enumerate(levels[gamma]):
                for c, o in enumerate(levels[off]):
                    z[a, c] = means.get((b, m, gm, o), np.nan)
            im = ax.imshow(z, vmin=lo, vmax=hi, cmap="viridis", origin="lower")
            if (b, m) == (best[beta], best[msat]):
                a, c = levels[gamma].index(best[gamma]), levels[off].index(best[off])
                ax.add_patch(plt.Rectangle((c - 0.5, a - 0.5), 1, 1, fill=False, ec="k", lw=2))
            ax.set_title(f"beta {b:g}, M_sat {m:g}", fontsize=8)
            ax.set_xticks(range(3), [f"{o:g}" for o in levels[off]], fontsize=7)
            ax.set_yticks(range(3), [f"{x:g}" for x in levels[gamma]], fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("offset", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("gamma", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.8, label=METRICS.get(metric, metric))
    return fig


SLICE_NAMES = {"beta_skill_init": "beta", "m_sat_init": "M_sat", "gamma_student_init": "gamma",
               "sigmoid_offset": "offset"}


def slice_figure(sr: pd.DataFrame, flavour: str = "as_intended", metric: str = "test_enc2_auc"):
    """Phase 1 as one-factor-at-a-time slices (what experiments.yml runs as intended): one panel per
    field, `metric` against the field's value with the other three held at the seeds' best point
    (black) or at the default point (grey); mean ± sd over the seeds each point has (the two anchor
    points have 3, the rest 1). One shared y scale, so the panels compare the fields' reach."""
    import matplotlib.pyplot as plt
    fields = list(FIELDS["phase1"])
    g = sr[sr.flavour == flavour] if len(sr) else sr
    fig, axes = plt.subplots(1, 4, figsize=(7.2, 2.3), sharey=True)
    anchors = (("seeds' best point", REPORTED["phase1"]["best_point"], "k"),
               ("default point", REPORTED["phase1"]["default_point"], "0.55"))
    for ax, f in zip(axes, fields):
        for name, anchor, colour in anchors:
            if not len(g):
                continue
            others = [o for o in fields if o != f]
            on = np.logical_and.reduce([np.isclose(g[o].astype(float), anchor[o]) for o in others])
            s = g[on].groupby(f)[metric].agg(["mean", "std"])
            if len(s):
                ax.errorbar(s.index, s["mean"], yerr=s["std"].fillna(0), color=colour, marker="o", ms=3, lw=1,
                            capsize=2, label=name)
                ax.plot([anchor[f]], [s["mean"].get(anchor[f], np.nan)], marker="s", ms=6, mfc="none",
                        color=colour)
        lv = GRID_LEVELS[fields.index(f)]
        ax.set_xticks(lv, [f"{x:g}" for x in lv])
        ax.set_xlim(lv[0] - 0.15 * (lv[-1] - lv[0]), lv[-1] + 0.15 * (lv[-1] - lv[0]))
        ax.set_title(SLICE_NAMES[f], fontsize=9)
        ax.set_xlabel("initial value", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(METRICS.get(metric, metric), fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig

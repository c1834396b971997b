"""Figures of the chapters, sized for the book's ~700 px text column (7 in wide at 100 dpi)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..variants import VARIANTS
from .runs import flavour_words

FLAVOUR_COLOURS = {"as_run": "#c0392b", "as_intended": "#2471a3"}


def _select(runs: pd.DataFrame, variants, label: str, dataset: str):
    """The runs of (dataset, label), and those of `variants` that have at least one of them."""
    sel = runs[(runs.dataset == dataset) & (runs.label == label)] if len(runs) else runs
    return sel, [v for v in variants if len(sel) and (sel.variant == v).any()]


def _no_runs():
    fig, ax = plt.subplots(figsize=(7, 1.5))
    ax.text(0.5, 0.5, "no finished runs yet", ha="center", va="center")
    ax.axis("off")
    return fig


def learning_curves(runs: pd.DataFrame, label: str = "small", dataset: str = "assist2015", ncols: int = 3,
                    variants=tuple(VARIANTS)):
    """Validation AUC per epoch of both encoders (Encoder 1 solid, Encoder 2 dashed), one panel
    per variant, one line per seed, colour by flavour; epoch 0 is the untrained model and a dot
    marks each run's best epoch (the checkpoint that is tested)."""
    sel, variants = _select(runs, variants, label, dataset)
    if not variants:
        return _no_runs()
    nrows = int(np.ceil(len(variants) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.2, 2.3 * nrows), sharey=True, squeeze=False)
    for ax, v in zip(axes.flat, variants):
        for _, r in sel[sel.variant == v].iterrows():
            h = pd.read_csv(f"{r.dir}/history.csv")
            c = FLAVOUR_COLOURS.get(r.flavour, "grey")
            ax.plot(h.epoch, h.valid_enc1_auc, color=c, lw=1.2)
            ax.plot(h.epoch, h.valid_enc2_auc, color=c, lw=1.2, ls="--")
            b = h[h.epoch == r.best_epoch]
            ax.plot(b.epoch, b.valid_enc1_auc, "o", color=c, ms=3)
        ax.set_title(v, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(variants):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("valid AUC", fontsize=8)
    for ax in axes[-1, :]:
        ax.set_xlabel("epoch", fontsize=8)
    handles = [plt.Line2D([], [], color=c, label=f) for f, c in FLAVOUR_COLOURS.items()]
    handles += [plt.Line2D([], [], color="k", label="Encoder 1"),
                plt.Line2D([], [], color="k", ls="--", label="Encoder 2")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def ablation_dots(table_runs: pd.DataFrame, groups: list[tuple[str, pd.DataFrame]], metric: str, name: str):
    """One row per switch, one dot per seed and the mean as a bar: the spread is visible."""
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(groups) + 1))
    for i, (lab, g) in enumerate(groups):
        vals = g[metric].to_numpy(float)
        ax.plot(vals, np.full(len(vals), i), "o", color="#555", ms=4, alpha=0.8)
        if len(vals):
            ax.plot([np.nanmean(vals)] * 2, [i - 0.3, i + 0.3], color="k", lw=2)
    ax.set_yticks(range(len(groups)), [lab for lab, _ in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(name, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def training_diagnostics(runs: pd.DataFrame, variants=("V1", "V2", "V3"), label: str = "small",
                         dataset: str = "assist2015"):
    """Per variant (rows), over epochs: (a) the gradient norm each loss term sends to the gains
    projection (IM solid, variance dashed, contrastive dotted; log scale), (b) the share of steps
    whose read-out skill sits on a flat part of its learning curve, (c) the learned threshold theta
    (solid), sigmoid offset (dashed) and mean M_sat (dotted), (d) the mean of beta (solid) and gamma
    (dashed), (e) their spread across skills / students. One line per seed, colour by flavour."""
    sel, variants = _select(runs, variants, label, dataset)
    if not variants:
        return _no_runs()
    fig, axes = plt.subplots(len(variants), 5, figsize=(7.2, 1.9 * len(variants) + 0.4), squeeze=False)
    titles = ["grad at gains (log)", "flat read-out share", "theta, offset, M_sat", "mean beta, gamma",
              "sd of beta, gamma"]
    for i, v in enumerate(variants):
        for _, r in sel[sel.variant == v].iterrows():
            h = pd.read_csv(f"{r.dir}/history.csv")
            c = FLAVOUR_COLOURS.get(r.flavour, "grey")
            for col, ls in (("grad_gains_im", "-"), ("grad_gains_variance", "--"), ("grad_gains_contrastive", ":")):
                if col in h and (h[col] > 0).any():
                    axes[i, 0].plot(h.epoch, h[col].where(h[col] > 0), color=c, ls=ls, lw=1)
            if "valid_saturation_fraction_readout" in h:
                axes[i, 1].plot(h.epoch, h.valid_saturation_fraction_readout, color=c, lw=1)
            for col, ls in (("theta", "-"), ("offset", "--"), ("msat_mean", ":")):
                if col in h:
                    axes[i, 2].plot(h.epoch, h[col], color=c, lw=1, ls=ls)
            for j, what in ((3, "mean"), (4, "std")):
                axes[i, j].plot(h.epoch, h[f"beta_{what}"], color=c, lw=1)
                axes[i, j].plot(h.epoch, h[f"gamma_{what}"], color=c, lw=1, ls="--")
        axes[i, 0].set_ylabel(v, fontsize=9)
        if axes[i, 0].lines:
            axes[i, 0].set_yscale("log")
        axes[i, 1].set_ylim(-0.02, 1.02)
    for j, t in enumerate(titles):
        axes[0, j].set_title(t, fontsize=8)
    for ax in axes.flat:
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[-1, :]:
        ax.set_xlabel("epoch", fontsize=8)
    handles = [plt.Line2D([], [], color=c, label=f) for f, c in FLAVOUR_COLOURS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def external_scatter(runs: pd.DataFrame, reference: pd.DataFrame, refs: dict[str, str], label: str = "small",
                     dataset: str = "assist2015", col: str = "gain_own_mean", min_n: int = 20):
    """Per-skill mean gain (mean over seeds, skills seen at least `min_n` times in every seed) against
    each classical per-skill quantity: one row per variant and flavour, one column per reference;
    grey crosses: the untrained model of the same configuration."""
    from .gains import _groups, read_skill_tables
    groups = list(_groups(runs, label, dataset))
    refs = {c: n for c, n in refs.items() if c in reference}
    if not groups or not refs:
        return _no_runs()
    fig, axes = plt.subplots(len(groups), len(refs), figsize=(7.2, 2.1 * len(groups)), squeeze=False)
    for i, (v, fl, g) in enumerate(groups):
        for untrained, style in ((True, dict(marker="x", color="0.6", s=10)),
                                 (False, dict(marker="o", color=FLAVOUR_COLOURS.get(fl, "k"), s=10, alpha=0.8))):
            tabs = read_skill_tables(g.dir, untrained=untrained)
            if not tabs:
                continue
            m = pd.concat(tabs).groupby("skill").agg(n=("n", "min"), gain=(col, "mean")).reset_index()
            m = m[m.n >= min_n].merge(reference, on="skill")
            for j, (c, name) in enumerate(refs.items()):
                ax = axes[i, j]
                ax.scatter(m[c], m.gain, **style, label="untrained" if untrained else "trained")
                if i == len(groups) - 1:
                    ax.set_xlabel(name.replace(" (", "\n("), fontsize=8)   # two lines: five columns share 7 in
                if j == 0:
                    ax.set_ylabel(f"{v} {flavour_words(fl)}\nmean gain", fontsize=8)
                ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def curve_paths(groups: list[tuple[str, pd.DataFrame]]):
    """Per configuration ((name, its runs), one colour each), one line per seed over epochs: the IM
    logit's slope in practice at practice 0 (`curves.start_slope` from the history's parameter
    means) and Encoder 2's validation AUC. Shows when a learning curve switches off, and what it
    costs the prediction."""
    from .curves import start_slope
    groups = [(n, g) for n, g in groups if len(g)]
    if not groups:
        return _no_runs()
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.9))
    colours = plt.get_cmap("tab10")
    for i, (name, g) in enumerate(groups):
        for j, (_, r) in enumerate(g.iterrows()):
            h = pd.read_csv(f"{r.dir}/history.csv")
            if "temperature" not in h:
                continue
            slope = start_slope(h.msat_mean, h.offset, h.beta_mean, h.gamma_mean, h.temperature)
            kw = dict(color=colours(i % 10), lw=1, alpha=0.8, label=name if j == 0 else None)
            axes[0].plot(h.epoch, slope, **kw)
            axes[1].plot(h.epoch[h.epoch > 0], h.valid_enc2_auc[h.epoch > 0], **kw)
    axes[0].set_ylabel("start slope (logit / practice)", fontsize=8)
    axes[1].set_ylabel("Encoder 2 valid AUC", fontsize=8)
    for ax in axes:
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].axhline(0, color="black", lw=0.6)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig

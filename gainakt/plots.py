"""Figures for the book (seaborn/matplotlib); each function returns a matplotlib Figure.

Sized for the book's text column (about 700 px): at most WIDTH inches wide at DPI dots per inch, so
a figure is shown at its natural size, not shrunk, and its 9-10 pt labels stay readable. Panels that
would not fit side by side go on a grid instead.
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .variants import VARIANTS

WIDTH, DPI = 7.0, 100       # 700 px: the page column of the book's theme at 1280 px
sns.set_theme(style="whitegrid", context="paper", font_scale=1.15,
              rc={"figure.dpi": DPI, "savefig.dpi": DPI, "legend.fontsize": 8, "legend.title_fontsize": 8})


def _figure(nrows: int, ncols: int, height: float, **kw):
    return plt.subplots(nrows, ncols, figsize=(WIDTH, height), dpi=DPI, squeeze=False, **kw)


def _legend_small(ax) -> None:
    if ax.get_legend() is not None:
        sns.move_legend(ax, "best", fontsize=8, title_fontsize=8, framealpha=0.8)


def _long(history: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    rows = []
    for split in ("train", "valid"):
        for col, label in metrics.items():
            c = f"{split}_{col}"
            if c in history:
                rows.append(pd.DataFrame({"epoch": history.epoch, "value": history[c],
                                          "split": split, "metric": label}))
    return pd.concat(rows, ignore_index=True)


def training_curves(history: pd.DataFrame):
    """AUC of both encoders and the loss terms per epoch, train and valid (epoch 0 = untrained)."""
    fig, grid = _figure(2, 2, 5.6)
    axes = grid.flat
    auc = _long(history, {"enc1_auc": "Encoder 1", "enc2_auc": "Encoder 2"})
    sns.lineplot(auc, x="epoch", y="value", hue="metric", style="split", marker="o", ax=axes[0])
    axes[0].set(title="AUC", ylabel="AUC")
    loss = _long(history, {"loss_bce": "BCE", "loss_im": "IM"})
    sns.lineplot(loss, x="epoch", y="value", hue="metric", style="split", marker="o", ax=axes[1])
    axes[1].set(title="Prediction losses", ylabel="loss")
    reg = _long(history, {"loss_variance": "variance", "loss_contrastive": "contrastive",
                          "loss_beta_spread": "beta spread"})
    sns.lineplot(reg[reg.split == "valid"], x="epoch", y="value", hue="metric", marker="o", ax=axes[2])
    axes[2].set(title="Regularisers (valid)", ylabel="loss")
    grid[1, 1].axis("off")
    for ax in grid.flat[:3]:
        _legend_small(ax)
    fig.tight_layout()
    return fig


def baseline_curve(history: pd.DataFrame, title: str = ""):
    """AUC of a baseline per epoch (a classical fit has one row), train and valid where measured."""
    fig, grid = _figure(1, 1, 3.0)
    ax = grid[0, 0]
    auc = _long(history, {"enc1_auc": "AUC"}).dropna(subset=["value"])
    sns.lineplot(auc, x="epoch", y="value", style="split", hue="split", marker="o", ax=ax)
    ax.set(title=title or "AUC", ylabel="AUC")
    _legend_small(ax)
    fig.tight_layout()
    return fig


def diagnostics(history: pd.DataFrame):
    """Gain spread of both tensors, learning-curve saturation, IM gradient to the gains."""
    fig, grid = _figure(2, 2, 5.8)
    axes = grid.flat
    g = _long(history, {"gain_scalar_std": "legacy scalar", "gain_skill_std": "per-skill"})
    sns.lineplot(g[g.split == "valid"], x="epoch", y="value", hue="metric", marker="o", ax=axes[0])
    axes[0].set(title="Std of the practised skill's gain\n(valid)", yscale="log", ylabel="std")
    c = _long(history, {"gain_scalar_per_skill_cv": "legacy scalar", "gain_skill_per_skill_cv": "per-skill"})
    sns.lineplot(c[c.split == "valid"], x="epoch", y="value", hue="metric", marker="o", ax=axes[1])
    axes[1].set(title="CV of per-skill mean gains\n(valid)", ylabel="CV")
    for col, label in (("valid_saturation_fraction_readout", "read-out skill"),
                       ("valid_saturation_fraction", "all (step, skill) cells")):
        if col in history:
            axes[2].plot(history.epoch, history[col], marker="o", label=label)
    if axes[2].lines:
        _legend_small(axes[2])
    axes[2].set(title="Share flat\n(slope < 0.01)", xlabel="epoch", ylim=(0, 1.02))
    axes[3].plot(history.epoch, history.im_grad_norm, marker="o")
    axes[3].set(title="IM-loss gradient norm\nat gains_projection", xlabel="epoch", yscale="log")
    for ax in grid.flat[:2]:
        _legend_small(ax)
    fig.tight_layout()
    return fig


def gain_distributions(traj: pd.DataFrame):
    """Histograms of both gain tensors for the practised skill, over the test trajectories."""
    fig, grid = _figure(1, 2, 3.2)
    axes = grid.flat
    for ax, col, title in ((axes[0], "gain_scalar", "legacy scalar\n(what the original analysed)"),
                           (axes[1], "gain_skill", "per-skill gain\nof the practised skill")):
        sns.histplot(traj, x=col, hue=traj["response"].map({0: "incorrect r_t", 1: "correct r_t"}),
                     bins=40, ax=ax, element="step", stat="density", common_norm=False)
        ax.set(title=title, xlabel="gain")
        _legend_small(ax)
    fig.tight_layout()
    return fig


def mastery_trajectory(traj: pd.DataFrame, student: int | None = None):
    """Mastery of the practised skill, step by step, for one test student, with responses."""
    s = traj.student.iloc[0] if student is None else student
    d = traj[traj.student == s]
    fig, grid = _figure(1, 1, 3.2)
    ax = grid[0, 0]
    sns.lineplot(d, x="step", y="mastery_current", hue="skill", palette="tab10", marker="o", ax=ax, legend="brief")
    ax.scatter(d.step, d.response * 0.02 + 1.0, c=d.response, cmap="RdYlGn", marker="|", s=80)
    ax.set(title=f"Test student {s}: mastery of the practised skill (ticks: responses)", ylabel="mastery")
    sns.move_legend(ax, "center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title_fontsize=8)
    fig.tight_layout()
    return fig


def _run_bars(runs: pd.DataFrame, value_vars: dict[str, str], var_name: str, value_name: str, hue: str,
              col: str, log: bool = False):
    """Bars of test metrics per variant (mean and sd over seeds), one row of panels per dataset."""
    rank = {k: i for i, k in enumerate(VARIANTS)}   # bars in the variant table's order
    runs = runs.sort_values(["dataset", "variant"], key=lambda c: c.map(rank) if c.name == "variant" else c)
    long = runs.melt(id_vars=["dataset", "variant", "flavour"], value_vars=list(value_vars),
                     var_name=var_name, value_name=value_name)
    long[var_name] = long[var_name].map(value_vars)
    ncols = long[col].nunique()
    g = sns.catplot(long, x="variant", y=value_name, hue=hue, col=col, row="dataset", kind="bar",
                    height=2.5, aspect=(WIDTH - 0.4) / ncols / 2.5, errorbar="sd", sharex=False, sharey=False)
    g.set_titles("{row_name}: {col_name}", size=9)
    for ax in g.axes.flat:  # variant labels (V3++bce0.1...) would overlap flat
        plt.setp(ax.get_xticklabels(), rotation=40, ha="right", rotation_mode="anchor", fontsize=8)
        ax.set_xlabel("")
        if ax.get_ylabel():
            ax.set_ylabel(textwrap.fill(value_name, 20))
    if log:  # per panel: a panel without bars yet (a flavour not run on a data set) stays linear
        for ax in g.axes.flat:
            if any(p.get_height() > 0 for p in ax.patches):
                ax.set_yscale("log")
    sns.move_legend(g, "lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, title=None)
    g.figure.set_dpi(DPI)
    g.tight_layout()
    return g.figure


def auc_bars(runs: pd.DataFrame):
    """Test AUC of both encoders per variant and flavour (`report.collect` rows)."""
    return _run_bars(runs, {"test_enc1_auc": "Encoder 1", "test_enc2_auc": "Encoder 2"},
                     "encoder", "test AUC", hue="flavour", col="encoder")


def gain_spread(runs: pd.DataFrame):
    """Std of the practised skill's gain: legacy scalar, per-skill, and per-skill untrained (the
    noise floor), per variant and flavour, on a log scale (`report.collect` rows)."""
    return _run_bars(runs, {"test_gain_scalar_std": "legacy scalar", "test_gain_skill_std": "per-skill",
                            "untrained_gain_skill_std": "per-skill, untrained"},
                     "tensor", "std of the practised skill's gain", hue="tensor", col="flavour", log=True)

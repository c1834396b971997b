"""Figures for the book (seaborn/matplotlib); each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .variants import VARIANTS

sns.set_theme(style="whitegrid", context="notebook")


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
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
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
    fig.tight_layout()
    return fig


def diagnostics(history: pd.DataFrame):
    """Gain spread of both tensors, learning-curve saturation, IM gradient to the gains."""
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    g = _long(history, {"gain_scalar_std": "legacy scalar", "gain_skill_std": "per-skill"})
    sns.lineplot(g[g.split == "valid"], x="epoch", y="value", hue="metric", marker="o", ax=axes[0])
    axes[0].set(title="Std of the practised skill's gain (valid)", yscale="log", ylabel="std")
    c = _long(history, {"gain_scalar_per_skill_cv": "legacy scalar", "gain_skill_per_skill_cv": "per-skill"})
    sns.lineplot(c[c.split == "valid"], x="epoch", y="value", hue="metric", marker="o", ax=axes[1])
    axes[1].set(title="CV of per-skill mean gains (valid)", ylabel="CV")
    for col, label in (("valid_saturation_fraction_readout", "read-out skill (valid steps)"),
                       ("valid_saturation_fraction", "all (step, skill) cells")):
        if col in history:
            axes[2].plot(history.epoch, history[col], marker="o", label=label)
    if axes[2].lines:
        axes[2].legend()
    axes[2].set(title="Share flat (slope < 0.01)", xlabel="epoch", ylim=(0, 1.02))
    axes[3].plot(history.epoch, history.im_grad_norm, marker="o")
    axes[3].set(title="IM-loss gradient norm at gains_projection", xlabel="epoch", yscale="log")
    fig.tight_layout()
    return fig


def gain_distributions(traj: pd.DataFrame):
    """Histograms of both gain tensors for the practised skill, over the test trajectories."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, col, title in ((axes[0], "gain_scalar", "legacy scalar (what the original analysed)"),
                           (axes[1], "gain_skill", "per-skill gain of the practised skill")):
        sns.histplot(traj, x=col, hue=traj["response"].map({0: "incorrect r_t", 1: "correct r_t"}),
                     bins=40, ax=ax, element="step", stat="density", common_norm=False)
        ax.set(title=title, xlabel="gain")
    fig.tight_layout()
    return fig


def mastery_trajectory(traj: pd.DataFrame, student: int | None = None):
    """Mastery of the practised skill, step by step, for one test student, with responses."""
    s = traj.student.iloc[0] if student is None else student
    d = traj[traj.student == s]
    fig, ax = plt.subplots(figsize=(10, 3.5))
    sns.lineplot(d, x="step", y="mastery_current", hue="skill", palette="tab10", marker="o", ax=ax, legend="brief")
    ax.scatter(d.step, d.response * 0.02 + 1.0, c=d.response, cmap="RdYlGn", marker="|", s=80)
    ax.set(title=f"Test student {s}: mastery of the practised skill (ticks: responses)", ylabel="mastery")
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
    g = sns.catplot(long, x="variant", y=value_name, hue=hue, col=col, row="dataset", kind="bar",
                    height=3.2, aspect=1.8, errorbar="sd", sharex=False, sharey=False)
    g.set_titles("{row_name}: {col_name}")
    for ax in g.axes.flat:
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    if log:
        g.set(yscale="log")
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

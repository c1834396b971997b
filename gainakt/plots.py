"""Figures for the book (seaborn/matplotlib); each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

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
    if "valid_saturation_fraction" in history:
        axes[2].plot(history.epoch, history.valid_saturation_fraction, marker="o")
    axes[2].set(title="Share of flat learning-curve cells (slope < 0.01)", xlabel="epoch", ylim=(0, 1.02))
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

"""Metrics, in one place: prediction quality, gain statistics, mastery diagnostics, trajectory checks.

Gain statistics are computed for both tensors the model has:

* ``scalar`` -- the legacy ``sigmoid(mean_d ReLU(v))`` the original analysis read (audit 7-A);
* ``skill``  -- the real per-skill gains (for V0, whose gain *is* the scalar, the two coincide).

For each: mean, std and CV of the practised skill's gain over interactions; CV of per-skill mean
gains; mean std across skills per interaction; mean gain after a correct over after an incorrect
response r_t (the response of the interaction that produced the gain).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from torch import Tensor

SATURATION_SLOPE = 0.01  # d mastery / d practice below this: the learning curve is flat


def auc(pred: np.ndarray, target: np.ndarray) -> float:
    """ROC AUC, NaN when only one class is present."""
    if len(np.unique(target)) < 2:
        return float("nan")
    return float(roc_auc_score(target, pred))


def accuracy(prob: np.ndarray, target: np.ndarray) -> float:
    """Accuracy of real probabilities thresholded at 0.5."""
    return float(np.mean((prob >= 0.5) == (target >= 0.5))) if len(target) else float("nan")


def masked_corr(x: Tensor, y: Tensor, mask: Tensor, min_n: int = 3) -> Tensor:
    """Pearson correlation along T for each row; x, y, mask: [B, T] -> [B] (NaN if undefined)."""
    m = mask.to(x.dtype)
    n = m.sum(1)
    mx, my = (x * m).sum(1) / n.clamp(min=1), (y * m).sum(1) / n.clamp(min=1)
    dx, dy = (x - mx[:, None]) * m, (y - my[:, None]) * m
    cov, vx, vy = (dx * dy).sum(1), (dx * dx).sum(1), (dy * dy).sum(1)
    r = cov / (vx * vy).sqrt()
    r[(n < min_n) | (vx <= 1e-12) | (vy <= 1e-12)] = float("nan")
    return r


@dataclass
class _GainAcc:
    """Running sums for the gain statistics of one tensor."""
    C: int
    n: float = 0.0
    s: float = 0.0
    ss: float = 0.0
    across_std: float = 0.0
    s_correct: float = 0.0
    n_correct: float = 0.0
    s_wrong: float = 0.0
    n_wrong: float = 0.0
    per_skill_sum: np.ndarray = field(default=None)
    per_skill_n: np.ndarray = field(default=None)

    def __post_init__(self):
        self.per_skill_sum, self.per_skill_n = np.zeros(self.C), np.zeros(self.C)

    def add(self, g: Tensor, q: Tensor, r: Tensor, across_std: Tensor | None) -> None:
        """g: gain of the practised skill, q: skill, r: response r_t; all 1-D over valid steps."""
        g64 = g.double()
        self.n += g.numel()
        self.s += g64.sum().item()
        self.ss += (g64 * g64).sum().item()
        if across_std is not None:
            self.across_std += across_std.double().sum().item()
        c = r == 1
        self.s_correct += g64[c].sum().item(); self.n_correct += c.sum().item()
        self.s_wrong += g64[~c].sum().item(); self.n_wrong += (~c).sum().item()
        self.per_skill_sum += torch.bincount(q, weights=g64, minlength=self.C).cpu().numpy()
        self.per_skill_n += torch.bincount(q, minlength=self.C).cpu().numpy()

    def result(self, prefix: str) -> dict[str, float]:
        mean = self.s / max(self.n, 1)
        std = float(np.sqrt(max(self.ss / max(self.n, 1) - mean ** 2, 0.0)))
        seen = self.per_skill_n > 0
        skill_means = self.per_skill_sum[seen] / self.per_skill_n[seen]
        return {
            f"{prefix}_mean": mean, f"{prefix}_std": std, f"{prefix}_cv": std / mean if mean else float("nan"),
            f"{prefix}_per_skill_cv": float(skill_means.std() / skill_means.mean()) if seen.any() else float("nan"),
            f"{prefix}_across_skill_std": self.across_std / max(self.n, 1),
            f"{prefix}_response_ratio": (self.s_correct / max(self.n_correct, 1)) / (self.s_wrong / self.n_wrong)
            if self.n_wrong and self.s_wrong else float("nan"),
            f"{prefix}_skills_seen": int(seen.sum()),
        }


class EpochMetrics:
    """Accumulates one pass over a split (in eval mode, with model states) into a flat dict."""

    def __init__(self, num_skills: int, max_corr_windows: int = 3800):
        self.C, self.max_corr = num_skills, max_corr_windows
        self.loss_sums: dict[str, float] = {}
        self.n_batches_weight = 0.0
        self.p1, self.pim, self.y = [], [], []
        self.scalar, self.skill = _GainAcc(num_skills), _GainAcc(num_skills)
        self.corr = {"mastery_corr_original": [], "gain_corr_original": [], "mastery_corr_target": []}
        self.pooled = [[], []]  # target-skill mastery and r_{t+1}, for a pooled correlation
        self.violations = 0.0
        self.cells = 0.0
        self.saturated = 0.0
        self.n_corr_windows = 0

    def add(self, batch, out: dict[str, Tensor], losses: dict[str, Tensor]) -> None:
        m = batch.mask
        n = m.sum().item()
        for k, v in losses.items():
            self.loss_sums[k] = self.loss_sums.get(k, 0.0) + float(v) * n
        self.n_batches_weight += n
        self.p1.append(out["p_enc1"][m].float().cpu()); self.pim.append(out["p_im"][m].float().cpu())
        self.y.append(batch.r_next[m].float().cpu())
        q, r = batch.q[m], batch.r[m]
        self.scalar.add(out["scalar_gains"][m], q, r, torch.zeros(int(n), device=q.device))
        sg = out.get("skill_gains")
        self.skill.add(out["gain_q"][m], q, r, sg.std(-1)[m] if sg is not None else None)
        mastery = out.get("mastery")
        if mastery is not None:
            # monotonicity and saturation over every (valid step, skill) cell
            both = m[:, 1:] & m[:, :-1]
            drops = (mastery[:, 1:] < mastery[:, :-1] - 1e-6) & both.unsqueeze(-1)
            self.violations += drops.sum().item()
            self.cells += n * self.C
            self.saturated += ((out["slope"] < SATURATION_SLOPE) & m.unsqueeze(-1)).sum().item()
            if self.n_corr_windows < self.max_corr:
                take = slice(0, self.max_corr - self.n_corr_windows)
                mm, yy = m[take], batch.r_next[take]
                m_target = mastery[take].gather(2, batch.q_next[take].unsqueeze(2)).squeeze(2)
                self.corr["mastery_corr_original"].append(masked_corr(mastery[take].mean(-1), yy, mm).cpu())
                self.corr["gain_corr_original"].append(masked_corr(out["scalar_gains"][take], yy, mm).cpu())
                self.corr["mastery_corr_target"].append(masked_corr(m_target, yy, mm).cpu())
                self.pooled[0].append(m_target[mm].cpu()); self.pooled[1].append(yy[mm].cpu())
                self.n_corr_windows += mm.shape[0]

    def result(self) -> dict[str, float]:
        res = {f"loss_{k}": v / max(self.n_batches_weight, 1) for k, v in self.loss_sums.items()}
        y = torch.cat(self.y).numpy() if self.y else np.zeros(0)
        for name, chunks in (("enc1", self.p1), ("enc2", self.pim)):
            p = torch.cat(chunks).numpy() if chunks else np.zeros(0)
            res[f"{name}_auc"], res[f"{name}_acc"] = auc(p, y), accuracy(p, y)
            res[f"{name}_pred_min"] = float(p.min()) if len(p) else float("nan")
            res[f"{name}_pred_max"] = float(p.max()) if len(p) else float("nan")
        res["interactions"] = int(len(y))
        res.update(self.scalar.result("gain_scalar"))
        res.update(self.skill.result("gain_skill"))
        for k, chunks in self.corr.items():
            vals = torch.cat(chunks).numpy() if chunks else np.zeros(0)
            vals = vals[~np.isnan(vals)]
            res[k] = float(vals.mean()) if len(vals) else float("nan")
            if k == "mastery_corr_original":
                res["corr_windows"] = int(len(vals))
        if self.pooled[0]:
            a, b = torch.cat(self.pooled[0]).numpy(), torch.cat(self.pooled[1]).numpy()
            res["mastery_corr_target_pooled"] = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 else float("nan")
        if self.cells:
            res["monotonicity_violations"] = int(self.violations)
            res["saturation_fraction"] = self.saturated / self.cells
        return res


def parameter_stats(model) -> dict[str, float]:
    """Learned learning-curve parameters: beta, gamma, M_sat (mean/std/min/max), theta, offset."""
    out = {}
    for name, p in (("beta", model.beta_skill), ("gamma", model.gamma_student), ("msat", model.M_sat)):
        x = p.detach().float()
        out.update({f"{name}_mean": x.mean().item(), f"{name}_std": x.std().item() if x.numel() > 1 else 0.0,
                    f"{name}_min": x.min().item(), f"{name}_max": x.max().item()})
    out["theta"] = model.theta_global.item()
    out["offset"] = model.offset.item()
    return out


# ----------------------------------------------------------------------------------------
# The six trajectory checks of the seeds (seeds/001 'Trajectory Analysis', seeds/000 V1).
CHECKS = [
    # name, column/definition, threshold text
    ("1 skill differentiation", "CV of the practised skill's gain over interactions", "> 0.2"),
    ("2 Q-matrix sparsity", "median number of skills with gain > 0.1 per interaction", "in [1, 3]"),
    ("3 monotonicity", "decreases of a student's mastery of a skill between its attempts in a window", "== 0"),
    ("4 mastery correlation", "mean per-window Pearson r(mastery read by the IM head, r_{t+1})", "> 0.3"),
    ("5 skill difficulty", "CV of per-skill mean gains", "> 0.2"),
    ("6 response-conditional gain", "mean gain after correct r_t / after incorrect r_t", "> 1.2"),
]


def trajectory_checks(traj: pd.DataFrame, gain_col: str = "gain_skill") -> pd.DataFrame:
    """Evaluate the six checks on a trajectories table (see `train.trajectories`)."""
    g = traj[gain_col]
    cv = g.std(ddof=0) / g.mean()
    active = traj["skills_gain_gt_0.1"].median()
    # Per window, not per student: a student's long sequence is cut into windows, and the model's
    # practice (hence mastery) starts again at each one; across windows nothing is accumulated.
    viol = int((traj.groupby(["window", "skill"], sort=False)["mastery_current"].diff() < -1e-6).sum())
    corrs = []
    for _, grp in traj.groupby("window", sort=False):
        if len(grp) >= 3 and grp["mastery_q"].std() > 0 and grp["response_next"].std() > 0:
            corrs.append(np.corrcoef(grp["mastery_q"], grp["response_next"])[0, 1])
    mcorr = float(np.mean(corrs)) if corrs else float("nan")
    skill_means = traj.groupby("skill")[gain_col].mean()
    skill_cv = skill_means.std(ddof=0) / skill_means.mean()
    right, wrong = g[traj["response"] == 1].mean(), g[traj["response"] == 0].mean()
    ratio = right / wrong if wrong else float("nan")
    values = [cv, active, viol, mcorr, skill_cv, ratio]
    passed = [cv > 0.2, 1 <= active <= 3, viol == 0, mcorr > 0.3, skill_cv > 0.2, ratio > 1.2]
    return pd.DataFrame([dict(check=c[0], definition=c[1], target=c[2], value=float(v), passed=bool(p))
                         for c, v, p in zip(CHECKS, values, passed)])

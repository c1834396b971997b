"""Metrics, in one place: prediction quality, gain statistics, mastery diagnostics, trajectory checks.

Gain statistics are computed for both tensors the model has:

* ``scalar`` -- the legacy ``sigmoid(mean_d ReLU(v))`` the original analysis read (audit 7-A);
* ``skill``  -- the real per-skill gains (for V0, whose gain *is* the scalar, the two coincide).

For each: mean, std and CV of the practised skill's gain over interactions; CV of per-skill mean
gains; mean std across skills per interaction; mean gain after a correct over after an incorrect
response r_t (the response of the interaction that produced the gain).
"""
from __future__ import annotations


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
    undefined = (n < min_n) | (vx <= 1e-12) | (vy <= 1e-12)
    return torch.where(undefined, torch.full_like(cov, float("nan")), cov / (vx * vy).sqrt())


class _Sums:
    """Named float64 running sums kept on the device: adding never waits for the device, so the
    metrics of an evaluation pass make no per-batch `.item()` calls (they read the sums once, in
    `values()`); the losses and batch transfers still wait on the device per batch."""

    def __init__(self):
        self._t: dict[str, Tensor] = {}

    def add(self, name: str, value: Tensor) -> None:
        v = value.detach().double()
        self._t[name] = self._t[name] + v if name in self._t else v

    def values(self) -> dict[str, np.ndarray | float]:
        out = {}
        for k, v in self._t.items():
            a = v.cpu().numpy()
            out[k] = float(a) if a.ndim == 0 else a
        return out


class _GainAcc:
    """Running sums for the gain statistics of one tensor."""

    def __init__(self, C: int):
        self.C, self.sums = C, _Sums()

    def add(self, g: Tensor, q: Tensor, r: Tensor, m: Tensor, across_std: Tensor | None) -> None:
        """g: gain of the practised skill, q: skill, r: response r_t, m: valid steps; all [B, T]."""
        w = m.double()
        gw = torch.where(m, g, 0).double()        # where, not g * w: padding may hold non-finite values
        c = (r == 1).double() * w
        add = self.sums.add
        add("n", w.sum()); add("s", gw.sum()); add("ss", (gw * gw).sum())
        if across_std is not None:
            add("across_std", torch.where(m, across_std, 0).double().sum())
        add("s_correct", (gw * c).sum()); add("n_correct", c.sum())
        add("s_wrong", (gw * (w - c)).sum()); add("n_wrong", (w - c).sum())
        zeros = torch.zeros(self.C, dtype=torch.float64, device=g.device)
        add("per_skill_sum", zeros.index_add(0, q.reshape(-1), gw.reshape(-1)))
        add("per_skill_n", zeros.index_add(0, q.reshape(-1), w.reshape(-1)))

    def result(self, prefix: str) -> dict[str, float]:
        v = self.sums.values()
        n, n_wrong, s_wrong = v.get("n", 0.0), v.get("n_wrong", 0.0), v.get("s_wrong", 0.0)
        mean = v.get("s", 0.0) / max(n, 1)
        std = float(np.sqrt(max(v.get("ss", 0.0) / max(n, 1) - mean ** 2, 0.0)))
        per_n = v.get("per_skill_n", np.zeros(self.C))
        seen = per_n > 0
        skill_means = v.get("per_skill_sum", np.zeros(self.C))[seen] / per_n[seen]
        return {
            f"{prefix}_mean": mean, f"{prefix}_std": std, f"{prefix}_cv": std / mean if mean else float("nan"),
            f"{prefix}_per_skill_cv": float(skill_means.std() / skill_means.mean()) if seen.any() else float("nan"),
            f"{prefix}_across_skill_std": v.get("across_std", 0.0) / max(n, 1),
            f"{prefix}_response_ratio": (v.get("s_correct", 0.0) / max(v.get("n_correct", 0.0), 1))
            / (s_wrong / n_wrong) if n_wrong and s_wrong else float("nan"),
            f"{prefix}_skills_seen": int(seen.sum()),
        }


class EpochMetrics:
    """Accumulates one pass over a split (in eval mode, with model states) into a flat dict.

    Everything stays on the model's device until `result()`: predictions as flat padded tensors
    with their masks, statistics as running sums (`_Sums`). Statistics do not depend on the order
    or make-up of the batches; the losses of regularisers that average over padding (variance,
    contrastive with `mask_padding=False`) do."""

    def __init__(self, num_skills: int, max_corr_windows: int = 3800):
        self.C, self.max_corr = num_skills, max_corr_windows
        self.sums = _Sums()
        self.preds: list[tuple[Tensor, Tensor, Tensor, Tensor]] = []   # p_enc1, p_im, r_next, mask: [B*T]
        self.scalar, self.skill = _GainAcc(num_skills), _GainAcc(num_skills)
        # per-window correlations [B] and which windows count; target-skill mastery, r_{t+1}, mask [B*T]
        self.corr: dict[str, list[tuple[Tensor, Tensor]]] = {"mastery_corr_original": [], "gain_corr_original": [],
                                                             "mastery_corr_target": []}
        self.pooled: list[tuple[Tensor, Tensor, Tensor]] = []
        self.has_mastery = False

    def add(self, batch, out: dict[str, Tensor], losses: dict[str, Tensor]) -> None:
        m = batch.mask
        n = m.sum()
        for k, v in losses.items():
            self.sums.add(f"loss_{k}", v.detach().double() * n)
        self.sums.add("n", n)
        flat = lambda t: t.detach().float().reshape(-1)
        self.preds.append((flat(out["p_enc1"]), flat(out["p_im"]), flat(batch.r_next), m.reshape(-1)))
        q, r = batch.q, batch.r
        self.scalar.add(out["scalar_gains"], q, r, m, None)
        sg = out.get("skill_gains")
        self.skill.add(out["gain_q"], q, r, m, sg.std(-1) if sg is not None else None)
        mastery = out.get("mastery")
        if mastery is None:
            return
        self.has_mastery = True
        # monotonicity and saturation over every (valid step, skill) cell
        both = m[:, 1:] & m[:, :-1]
        self.sums.add("violations", ((mastery[:, 1:] < mastery[:, :-1] - 1e-6) & both.unsqueeze(-1)).sum())
        self.sums.add("cells", n * self.C)
        self.sums.add("saturated", ((out["slope"] < SATURATION_SLOPE) & m.unsqueeze(-1)).sum())
        # correlations over the first max_corr windows in file order (the original's loader order),
        # whatever order the batches come in
        keep = batch.index.to(m.device) < self.max_corr                       # [B]
        mm, yy = m & keep[:, None], batch.r_next
        m_target = mastery.gather(2, batch.q_next.unsqueeze(2)).squeeze(2)
        for k, x in (("mastery_corr_original", mastery.mean(-1)), ("gain_corr_original", out["scalar_gains"]),
                     ("mastery_corr_target", m_target)):
            self.corr[k].append((masked_corr(x, yy, mm), keep))
        self.pooled.append((flat(m_target), flat(yy), mm.reshape(-1)))

    @staticmethod
    def _masked(chunks: list[tuple[Tensor, ...]], n_values: int) -> list[np.ndarray]:
        """Concatenate each column of (values..., mask) chunks and keep the valid entries."""
        if not chunks:
            return [np.zeros(0)] * n_values
        cols = [torch.cat(c) for c in zip(*chunks)]
        return [c[cols[-1]].cpu().numpy() for c in cols[:-1]]

    def result(self) -> dict[str, float]:
        sums = self.sums.values()
        total = max(sums.get("n", 0.0), 1)
        res = {k: v / total for k, v in sums.items() if k.startswith("loss_")}
        p1, pim, y = self._masked(self.preds, 3)
        for name, p in (("enc1", p1), ("enc2", pim)):
            res[f"{name}_auc"], res[f"{name}_acc"] = auc(p, y), accuracy(p, y)
            res[f"{name}_pred_min"] = float(p.min()) if len(p) else float("nan")
            res[f"{name}_pred_max"] = float(p.max()) if len(p) else float("nan")
        res["interactions"] = int(len(y))
        res.update(self.scalar.result("gain_scalar"))
        res.update(self.skill.result("gain_skill"))
        for k, chunks in self.corr.items():
            (vals,) = self._masked(chunks, 1)
            vals = vals[~np.isnan(vals)]
            res[k] = float(vals.mean()) if len(vals) else float("nan")
            if k == "mastery_corr_original":
                res["corr_windows"] = int(len(vals))
        if self.pooled:
            a, b = self._masked(self.pooled, 2)
            res["mastery_corr_target_pooled"] = (float(np.corrcoef(a, b)[0, 1]) if len(a) > 1 and a.std() > 0
                                                 else float("nan"))
        if self.has_mastery and sums["cells"]:
            res["monotonicity_violations"] = int(sums["violations"])
            res["saturation_fraction"] = sums["saturated"] / sums["cells"]
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

"""Metrics, in one place: prediction quality, gain statistics, mastery diagnostics, trajectory checks.

Gain statistics are computed for both tensors the model has:

* ``scalar`` -- the legacy ``sigmoid(mean_d ReLU(v))`` the original analysis read (audit 7-A);
* ``skill``  -- the real per-skill gains (for V0, whose gain *is* the scalar, the two coincide).

For each: mean, std and CV of the practised skill's gain over interactions; CV of per-skill mean
gains (``per_skill_cv``, over skills with at least ``min_skill_count`` interactions:
``skills_counted``); mean std across skills per interaction; mean gain after a correct over after
an incorrect response, conditioned on r_t (``response_ratio``: the response of the interaction that
produced the gain, which its input token encodes -- the meaningful one) and on r_{t+1}
(``response_ratio_next``: the original's, whose trajectory tool wrote ``shft_rseqs[t]`` beside the
gain, audit 5.3).

Saturation (d mastery / d practice < SATURATION_SLOPE): ``saturation_fraction_readout`` over valid
steps for the skill whose mastery feeds p_im (the one that matters); ``saturation_fraction`` over
every (step, skill) cell, which under practised-skill accumulation counts unpractised skills sitting
at practice 0 (never flat) and so is not comparable across accumulations.
"""
from __future__ import annotations

import operator

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

    def __init__(self, C: int, min_skill_count: int = 1):
        self.C, self.min_count, self.sums = C, min_skill_count, _Sums()

    def add(self, g: Tensor, q: Tensor, r: Tensor, m: Tensor, across_std: Tensor | None,
            r_next: Tensor | None = None) -> None:
        """g: gain of the practised skill, q: skill, r: response r_t, r_next: response r_{t+1},
        m: valid steps; all [B, T]."""
        w = m.double()
        gw = torch.where(m, g, 0).double()        # where, not g * w: padding may hold non-finite values
        add = self.sums.add
        add("n", w.sum()); add("s", gw.sum()); add("ss", (gw * gw).sum())
        if across_std is not None:
            add("across_std", torch.where(m, across_std, 0).double().sum())
        for tag, resp in (("", r), ("_next", r_next)):
            if resp is None:
                continue
            c = (resp == 1).double() * w
            add(f"s_correct{tag}", (gw * c).sum()); add(f"n_correct{tag}", c.sum())
            add(f"s_wrong{tag}", (gw * (w - c)).sum()); add(f"n_wrong{tag}", (w - c).sum())
        zeros = torch.zeros(self.C, dtype=torch.float64, device=g.device)
        add("per_skill_sum", zeros.index_add(0, q.reshape(-1), gw.reshape(-1)))
        add("per_skill_n", zeros.index_add(0, q.reshape(-1), w.reshape(-1)))

    def result(self, prefix: str) -> dict[str, float]:
        v = self.sums.values()
        n = v.get("n", 0.0)
        mean = v.get("s", 0.0) / max(n, 1)
        std = float(np.sqrt(max(v.get("ss", 0.0) / max(n, 1) - mean ** 2, 0.0)))
        per_n = v.get("per_skill_n", np.zeros(self.C))
        seen = per_n > 0
        counted = per_n >= self.min_count
        skill_means = v.get("per_skill_sum", np.zeros(self.C))[counted] / per_n[counted]

        def ratio(tag):
            nc, nw, sw = v.get(f"n_correct{tag}", 0.0), v.get(f"n_wrong{tag}", 0.0), v.get(f"s_wrong{tag}", 0.0)
            return (v.get(f"s_correct{tag}", 0.0) / max(nc, 1)) / (sw / nw) if nw and sw else float("nan")
        out = {
            f"{prefix}_mean": mean, f"{prefix}_std": std, f"{prefix}_cv": std / mean if mean else float("nan"),
            f"{prefix}_per_skill_cv": float(skill_means.std() / skill_means.mean()) if counted.any() else float("nan"),
            f"{prefix}_across_skill_std": v.get("across_std", 0.0) / max(n, 1),
            f"{prefix}_response_ratio": ratio(""),
            f"{prefix}_skills_seen": int(seen.sum()),
            f"{prefix}_skills_counted": int(counted.sum()),
        }
        if "n_correct_next" in v:
            out[f"{prefix}_response_ratio_next"] = ratio("_next")
        return out


class EpochMetrics:
    """Accumulates one pass over a split (in eval mode, with model states) into a flat dict.

    Everything stays on the model's device until `result()`: predictions as flat padded tensors
    with their masks, statistics as running sums (`_Sums`). Statistics do not depend on the order
    or make-up of the batches; the losses of regularisers that average over padding (variance,
    contrastive with `mask_padding=False`) do."""

    def __init__(self, num_skills: int, max_corr_windows: int = 3800, min_skill_count: int = 1):
        self.C, self.max_corr = num_skills, max_corr_windows
        self.sums = _Sums()
        self.preds: list[tuple[Tensor, Tensor, Tensor, Tensor]] = []   # p_enc1, p_im, r_next, mask: [B*T]
        self.scalar, self.skill = _GainAcc(num_skills, min_skill_count), _GainAcc(num_skills, min_skill_count)
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
        self.scalar.add(out["scalar_gains"], q, r, m, None, batch.r_next)
        sg = out.get("skill_gains")
        self.skill.add(out["gain_q"], q, r, m, sg.std(-1) if sg is not None else None, batch.r_next)
        if "slope_q" in out:
            self.sums.add("saturated_readout", ((out["slope_q"] < SATURATION_SLOPE) & m).sum())
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
        if "saturated_readout" in sums and sums.get("n", 0.0):
            res["saturation_fraction_readout"] = sums["saturated_readout"] / sums["n"]
        return res


def parameter_stats(model) -> dict[str, float]:
    """Learned learning-curve parameters: beta, gamma (over students seen in training), M_sat
    (mean/std/min/max), theta, offset."""
    out = {}
    trained = getattr(model, "gamma_trained", None)
    gamma = model.student_gammas()
    gamma = gamma if trained is None else gamma[trained]  # trained students only
    beta, msat = model.curve()
    for name, p in (("beta", beta), ("gamma", gamma), ("msat", msat)):
        x = p.detach().float()
        out.update({f"{name}_mean": x.mean().item(), f"{name}_std": x.std().item() if x.numel() > 1 else 0.0,
                    f"{name}_min": x.min().item(), f"{name}_max": x.max().item()})
    out["theta"] = model.theta_global.item()
    out["offset"] = model.offset.item()
    if hasattr(model, "log_temperature"):  # V6's learned IM temperature
        out["temperature"] = model.log_temperature.exp().item()
    if hasattr(model, "skill_bias"):       # V6's per-skill intercept
        out["intercept_std"] = model.skill_bias.detach().float().std().item()
    return out


# ----------------------------------------------------------------------------------------
# The six trajectory checks of the seeds (seeds/001 'Trajectory Analysis', seeds/000 V1; audit 5.3).
# Two definitions, both computed on a trajectories table (one row per valid step, see
# `trajectory_table.trajectories`):
#   "original":   what the original's numbers mean. Read with the legacy scalar gain (the tool wrote
#                 `expected_gain` from `projected_gains`); check 2 counts skills listed per
#                 interaction (always 1.0, always passes); check 6 conditions on r_{t+1}.
#   "meaningful": check 2 counts skills with gain > 0.1 per interaction; check 6 conditions on r_t,
#                 the response of the interaction whose token produced the gain. Read with the
#                 per-skill gain.
CHECKS = {
    # name: (original definition, meaningful definition, target)
    "1 skill differentiation": ("CV of the gain over interactions", "CV of the gain over interactions", "> 0.2"),
    "2 Q-matrix sparsity": ("skills listed per interaction (1 by construction)",
                            "median number of skills with gain > 0.1 per interaction", "in [1, 3]"),
    "3 monotonicity": ("decreases of the mastery of a skill between its attempts in a window",
                       "decreases of the mastery of a skill between its attempts in a window", "== 0"),
    "4 mastery correlation": ("mean per-window Pearson r(mastery read by the IM head, r_{t+1})",
                              "mean per-window Pearson r(mastery read by the IM head, r_{t+1})", "> 0.3"),
    "5 skill difficulty": ("CV of per-skill mean gains", "CV of per-skill mean gains", "> 0.2"),
    "6 response-conditional gain": ("mean gain when r_{t+1} correct / when incorrect",
                                    "mean gain when r_t correct / when incorrect", "> 1.2"),
}
DEFINITIONS = ("original", "meaningful")


def meets(value: float, target: str) -> bool:
    """Whether `value` meets a check's target string ("> 0.2", "== 0", "in [1, 3]")."""
    if not np.isfinite(value):
        return False
    t = target.strip()
    if t.startswith("in ["):
        lo, hi = (float(x) for x in t[4:-1].split(","))
        return lo <= value <= hi
    op, x = t.split()
    return _COMPARE[op](value, float(x))


_COMPARE = {">": operator.gt, "<": operator.lt, "==": operator.eq, ">=": operator.ge, "<=": operator.le}

# Which checks can fail, under which switches: for the book (print as a table).
CHECK_NOTES: list[dict[str, str]] = [
    dict(check="1 skill differentiation", can_fail="yes",
         note="Read with the legacy scalar (as the original) it measures a skill-independent tensor whose CV "
              "is ~0.003 after LayerNorm (audit 7-A): it fails whatever the switches. With per-skill gains it "
              "can pass."),
    dict(check="2 Q-matrix sparsity (original)", can_fail="no",
         note="The trajectory table lists one skill per interaction, so the value is 1.0 and it passes under "
              "every switch."),
    dict(check="2 Q-matrix sparsity (meaningful)", can_fail="only with accumulate=all_skills",
         note="Under accumulate=practised only the practised skill's gain is ever used, so sparsity holds by "
              "construction and the count of the projection's other outputs with gain > 0.1 (typically all C "
              "skills) means nothing. Under all_skills (as run) every skill receives its gain, so the count "
              "is the real number of skills moved; sigmoid gains near 0.5 make it ~C and the check fails. "
              "gain_mode=scalar: 0 or 1."),
    dict(check="3 monotonicity", can_fail="no, while gains, beta, gamma and M_sat stay positive",
         note="Gains are sigmoid outputs (> 0; velocity and difficulty factors are positive too), so practice "
              "never decreases inside a window, and mastery is increasing in practice while beta * gamma > 0 "
              "and M_sat > 0. It can only fail if a learned beta, gamma or M_sat turns negative."),
    dict(check="4 mastery correlation", can_fail="yes",
         note="Depends on mastery_index and accumulate: with all_skills accumulation mastery is a function of "
              "elapsed steps and saturates within a few steps, so the per-window correlation with r_{t+1} "
              "stays small."),
    dict(check="5 skill difficulty", can_fail="yes",
         note="With the legacy scalar the per-skill means of a skill-independent tensor differ only by noise "
              "(fails). Per-skill statistics use skills with at least min_skill_count interactions in the "
              "whole-split checks (the seeds' 10-window sample: every skill seen, as the original)."),
    dict(check="6 response-conditional gain (original, r_{t+1})", can_fail="yes",
         note="The gain of step t is computed before r_{t+1} is seen, so it can depend on r_{t+1} only through "
              "the student's ability: a ratio near 1 is expected under every switch."),
    dict(check="6 response-conditional gain (meaningful, r_t)", can_fail="yes",
         note="The input token of step t encodes r_t, so a model whose gains respond to correctness can pass."),
]


def trajectory_checks(traj: pd.DataFrame, gain_col: str = "gain_scalar", definitions: str = "original",
                      min_skill_count: int = 1) -> pd.DataFrame:
    """The six checks on a trajectories table (see `trajectory_table.trajectories`).

    gain_col: the gain read ("gain_scalar" as the original, or "gain_skill"); definitions: "original"
    or "meaningful" (checks 2 and 6, see CHECKS); min_skill_count: check 5 uses skills with at least
    this many rows. Returns one row per check: check, definition, target, value, passed, gain,
    definitions."""
    if definitions not in DEFINITIONS:
        raise ValueError(f"definitions = {definitions!r}; expected one of {DEFINITIONS}")
    original = definitions == "original"
    g = traj[gain_col]
    cv = g.std(ddof=0) / g.mean()
    if original:   # rows listed per interaction (window, step): 1 by construction
        active = float(traj.groupby(["window", "step"], sort=False).size().mean())
    else:
        active = float(traj["skills_gain_gt_0.1"].median())
    # Per window, not per student: a student's long sequence is cut into windows, and the model's
    # practice (hence mastery) starts again at each one; across windows nothing is accumulated.
    viol = int((traj.groupby(["window", "skill"], sort=False)["mastery_current"].diff() < -1e-6).sum())
    corrs = []
    for _, grp in traj.groupby("window", sort=False):
        if len(grp) >= 3 and grp["mastery_q"].std() > 0 and grp["response_next"].std() > 0:
            corrs.append(np.corrcoef(grp["mastery_q"], grp["response_next"])[0, 1])
    mcorr = float(np.mean(corrs)) if corrs else float("nan")
    by_skill = traj.groupby("skill")[gain_col].agg(["mean", "size"])
    skill_means = by_skill.loc[by_skill["size"] >= min_skill_count, "mean"]
    skill_cv = skill_means.std(ddof=0) / skill_means.mean() if len(skill_means) else float("nan")
    resp = traj["response_next" if original else "response"]
    right, wrong = g[resp == 1].mean(), g[resp == 0].mean()
    ratio = right / wrong if wrong else float("nan")
    values = [cv, active, viol, mcorr, skill_cv, ratio]
    passed = [meets(v, defs[2]) for v, defs in zip(values, CHECKS.values())]   # the rule is the target string
    return pd.DataFrame([dict(check=name, definition=defs[0 if original else 1], target=defs[2], value=float(v),
                              passed=bool(p), gain=gain_col, definitions=definitions)
                         for (name, defs), v, p in zip(CHECKS.items(), values, passed)])


def trajectory_gain_stats(traj: pd.DataFrame, gain_col: str, min_skill_count: int = 1) -> dict[str, float]:
    """Gain statistics over the rows of a trajectories table, as the seeds computed them from the
    original trajectory CSV (audit 5.3): mean, std, CV over rows; CV of per-skill means (skills with
    at least `min_skill_count` rows; the original: every skill seen); mean gain when correct / when
    incorrect for r_{t+1} (``response_ratio_next``, the original's) and r_t (``response_ratio``).
    Keys are prefixed with `gain_col` as in `EpochMetrics` ("gain_scalar_mean", ...)."""
    g = traj[gain_col].astype(float)
    mean, std = float(g.mean()), float(g.std(ddof=0))
    by_skill = traj.groupby("skill")[gain_col].agg(["mean", "size"])
    means = by_skill.loc[by_skill["size"] >= min_skill_count, "mean"]

    def ratio(col):
        right, wrong = g[traj[col] == 1].mean(), g[traj[col] == 0].mean()
        return float(right / wrong) if wrong else float("nan")
    p = gain_col
    return {f"{p}_mean": mean, f"{p}_std": std, f"{p}_cv": std / mean if mean else float("nan"),
            f"{p}_per_skill_cv": float(means.std(ddof=0) / means.mean()) if len(means) else float("nan"),
            f"{p}_response_ratio": ratio("response"), f"{p}_response_ratio_next": ratio("response_next"),
            f"{p}_skills_counted": int(len(means)), "rows": int(len(traj)),
            "windows": int(traj["window"].nunique()) if len(traj) else 0}

"""The per-step table of test windows (trajectories.csv) and the seeds' six checks on it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .data import subset
from .metrics import DEFINITIONS, trajectory_checks


def trajectories(exp, n_students: int | None, min_steps: int, gamma_mode: str | None) -> pd.DataFrame:
    """One row per valid step of test windows, sorted by (window, step): the first `n_students`
    windows with >= `min_steps` steps (the original trajectory tool's sample), or with n_students
    None every test window."""
    split = exp.splits["test"]
    if n_students is None:
        idx = torch.arange(len(split.lengths))
    else:
        idx = torch.nonzero(split.lengths - 1 >= min_steps).flatten()[:n_students]
    if not len(idx):  # n_trajectory_students = 0, or no window that long: an empty table
        return pd.DataFrame()
    parts: dict[str, list[np.ndarray]] = {}
    exp.model.eval()
    with torch.no_grad():
        for batch in exp.batches(subset(split, idx), shuffle=False):
            out = exp.forward(batch, training=False, states=True, gamma_mode=gamma_mode)
            mast = out["mastery"]
            sg = out.get("skill_gains")
            m = batch.mask
            B, T = m.shape
            cols = {
                "skill": batch.q, "response": batch.r, "next_skill": batch.q_next, "response_next": batch.r_next,
                "p_enc1": out["p_enc1"], "p_im": out["p_im"], "mastery_q": out["mastery_q"],
                "mastery_current": mast.gather(2, batch.q.unsqueeze(2)).squeeze(2),
                "mastery_next": mast.gather(2, batch.q_next.unsqueeze(2)).squeeze(2),
                "mastery_mean_all": mast.mean(-1), "gain_scalar": out["scalar_gains"], "gain_skill": out["gain_q"],
                "gain_std_across_skills": sg.std(-1) if sg is not None else torch.zeros_like(out["gain_q"]),
                "skills_gain_gt_0.1": (sg > 0.1).sum(-1).float() if sg is not None
                else (out["gain_q"] > 0.1).float(),
                "student": batch.students[:, None].expand(B, T),
                "window": idx.to(m.device)[batch.index][:, None].expand(B, T),
                "step": torch.arange(T, device=m.device)[None, :].expand(B, T),
            }
            for k, v in cols.items():
                parts.setdefault(k, []).append(v[m].cpu().numpy())
    if not parts:
        return pd.DataFrame()
    df = pd.DataFrame({k: np.concatenate(v) for k, v in parts.items()})
    for c in ("skill", "response", "next_skill", "response_next", "student", "window", "step"):
        df[c] = df[c].astype(int)
    for c in df.columns:
        if df[c].dtype == np.float64 or df[c].dtype == np.float32:
            df[c] = df[c].astype(np.float32)
    order = ["student", "window", "step"] + [c for c in cols if c not in ("student", "window", "step")]
    return df[order].sort_values(["window", "step"], kind="stable").reset_index(drop=True)


def all_checks(sample: pd.DataFrame, whole: pd.DataFrame, min_skill_count: int) -> pd.DataFrame:
    """The six checks on the seeds' sample ("trajectory_sample": `n_trajectory_students` windows with
    >= `trajectory_min_steps` steps, every skill counted, as the original) and on the whole test split
    ("test_split", skills with >= `min_skill_count` rows), each under both definitions: "original"
    read with the legacy scalar gain, "meaningful" with the per-skill gain (metrics.CHECKS)."""
    tables = []
    for rows, traj, min_count in (("trajectory_sample", sample, 1), ("test_split", whole, min_skill_count)):
        if not len(traj):
            continue
        for defs in DEFINITIONS:
            gain = "gain_scalar" if defs == "original" else "gain_skill"
            tables.append(trajectory_checks(traj, gain, defs, min_count).assign(rows=rows))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()

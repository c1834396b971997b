"""Per-skill tables of a model on one split: what each skill's gains are, for the chapters that
compare learned gains across seeds, with the untrained model, and with classical learning rates.

`skill_table(exp, split)` returns one row per skill (written as ``skill_gains.csv`` for the best
checkpoint on the test split and ``skill_gains_untrained.csv`` for the untrained model, same split):

    skill, n                 interactions (inputs q_t) of that skill in the split
    accuracy                 share of those answered correctly (r_t = 1)
    gain_own_mean            mean gain that an interaction of skill s gives to s itself (gain_q):
                             the per-skill tensor in per_skill mode, the scalar in scalar mode
    gain_own_correct/_incorrect  the same after a correct / an incorrect r_t
    gain_scalar_mean         mean of the legacy scalar tensor over the interactions of skill s
    gain_to_skill_mean       mean over *all* interactions of the gain given to s (per-skill mode;
                             what "gains to every skill" accumulates)
    beta, m_sat              the learned learning-curve parameters of s
    rate_own_mean            beta x gain_own_mean: practice enters the curve as beta * gamma * practice,
                             so this is the skill's rate of learning where beta differs by skill
    intercept                V6 (skill_intercept): the skill's learned intercept in the IM logits
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch


@torch.no_grad()
def skill_table(exp, split, gamma_mode: str | None = None) -> pd.DataFrame:
    model, C = exp.model, exp.data.num_skills
    model.eval()
    dev = exp.device
    z = lambda: torch.zeros(C, dtype=torch.float64, device=dev)  # noqa: E731
    n, correct, own, own_c, n_c, scalar, to_skill = z(), z(), z(), z(), z(), z(), z()
    n_all = 0
    for batch in exp.batches(split, shuffle=False):
        out = exp.forward(batch, training=False, gamma_mode=gamma_mode)
        m = batch.mask
        q, r = batch.q[m], batch.r[m].double()
        g, s = out["gain_q"][m].double(), out["scalar_gains"][m].double()
        ones = torch.ones_like(g)
        n.index_add_(0, q, ones); correct.index_add_(0, q, r)
        own.index_add_(0, q, g); own_c.index_add_(0, q, g * r); n_c.index_add_(0, q, r)
        scalar.index_add_(0, q, s)
        if "skill_gains" in out:
            to_skill += out["skill_gains"][m].double().sum(0)
            n_all += int(m.sum())
    n, correct, own, own_c, n_c, scalar = (t.cpu().numpy() for t in (n, correct, own, own_c, n_c, scalar))
    beta, msat = model.curve()
    with np.errstate(invalid="ignore", divide="ignore"):
        df = pd.DataFrame({
            "skill": np.arange(C), "n": n.astype(int), "accuracy": correct / n,
            "gain_own_mean": own / n, "gain_own_correct": own_c / n_c,
            "gain_own_incorrect": (own - own_c) / (n - n_c), "gain_scalar_mean": scalar / n,
            "gain_to_skill_mean": (to_skill.cpu().numpy() / n_all) if n_all else np.nan,
            "beta": beta.detach().cpu().numpy(), "m_sat": msat.detach().cpu().numpy()})
    # practice enters the curve as beta * gamma * practice: beta x gain is the skill's rate of learning
    df["rate_own_mean"] = df.beta * df.gain_own_mean
    if hasattr(model, "skill_bias"):  # V6: the per-skill intercept of the IM logits
        df["intercept"] = model.skill_bias.detach().cpu().numpy()
    return df

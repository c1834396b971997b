"""Where each loss term pushes the gains: per-term gradient norms at `gains_projection`.

The failure-analysis chapter asks which part of the objective reaches the per-skill gains. BCE
trains Encoder 1 only and the beta-spread term acts on beta only, so neither reaches the gains; the
IM, variance and contrastive terms do. `gains_grad_norms` returns, for each of these, the norm of the
gradient of its *weighted* contribution to the total loss ((1 - lambda1) IM, w_var L_var,
w_con L_con) with respect to gains_projection's weight and bias, averaged over the first
`cfg.im_grad_batches` training batches (whole buckets, eval mode: no dropout noise).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .losses import total_loss

TERMS = ("im", "variance", "contrastive")


def _weights(cfg) -> dict[str, float]:
    return {"im": 1.0 - cfg.bce_loss_weight, "variance": cfg.variance_loss_weight,
            "contrastive": cfg.skill_contrastive_loss_weight}


def gains_grad_norms(exp) -> dict[str, float]:
    """{'grad_gains_im': ..., 'grad_gains_variance': ..., 'grad_gains_contrastive': ...}."""
    params = exp.model.gain_parameters()
    keys = [f"grad_gains_{t}" for t in TERMS]
    if not params:
        return dict.fromkeys(keys, math.nan)
    w = _weights(exp.cfg)
    norms: dict[str, list[float]] = {t: [] for t in TERMS}
    exp.model.eval()
    for i, batch in enumerate(exp.batches(exp.splits["train"], shuffle=False)):
        if i >= exp.cfg.im_grad_batches:
            break
        losses = total_loss(exp.forward(batch, training=False), batch, exp.model, exp.cfg)
        for t in TERMS:
            if not w[t] or not losses[t].requires_grad:
                norms[t].append(0.0)
                continue
            grads = torch.autograd.grad(w[t] * losses[t], params, retain_graph=True, allow_unused=True)
            norms[t].append(float(torch.sqrt(sum((g ** 2).sum() for g in grads if g is not None))))
    return {f"grad_gains_{t}": float(np.mean(v)) if v else math.nan for t, v in norms.items()}

"""The five loss terms of GainAKT3Exp and their weighted sum.

With `loss_on="probabilities"` the BCE-with-logits losses receive probabilities, as the original
trainer did: the model is then trained on sigmoid(sigmoid(z)), whose values lie in (0.5, 0.731).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import Config


def bce_loss(logits: Tensor, target: Tensor, mask: Tensor, on: str) -> Tensor:
    """BCE over real positions (Encoder 1, and the IM head of Encoder 2); logits, target, mask: [B, T]."""
    x = logits if on == "logits" else torch.sigmoid(logits)
    return F.binary_cross_entropy_with_logits(x[mask], target[mask])


def variance_loss(skill_gains: Tensor, mask: Tensor | None) -> Tensor:
    """-mean over positions of the unbiased variance of gains across skills; [B, T, C].

    mask None: every position, padding included (as the original).
    """
    var = skill_gains.var(dim=-1)  # [B, T]
    return -(var[mask].mean() if mask is not None else var.mean())


def skill_contrastive_loss(skill_gains: Tensor, mask: Tensor | None) -> Tensor:
    """The original 'contrastive' loss: minus the mean absolute gap between per-skill mean gains.

    gbar_s = mean over (B, T) of gains[..., s]; loss = -1/(C(C-1)) sum_{s != s'} |gbar_s - gbar_s'|.
    A batch-level spread of per-skill means, not an InfoNCE loss.
    """
    g = skill_gains[mask] if mask is not None else skill_gains.reshape(-1, skill_gains.shape[-1])
    gbar = g.mean(0)  # [C]
    C = gbar.shape[0]
    return -(gbar[:, None] - gbar[None, :]).abs().sum() / (C * (C - 1))


def beta_spread_loss(beta: Tensor, target: float) -> Tensor:
    """(max(0, target - std(beta)))^2: keeps the learning-curve slopes apart."""
    std = (beta.var() + 1e-12).sqrt()  # eps: a constant beta (std 0) must not give NaN gradients
    return F.relu(target - std) ** 2


def total_loss(out: dict[str, Tensor], batch, model, cfg: Config) -> dict[str, Tensor]:
    """All terms and their weighted sum ('total'). `batch` holds r, r_next, mask [B, T]."""
    mask = batch.mask
    target_im = batch.r_next if cfg.im_target == "next" else batch.r.to(batch.r_next.dtype)
    terms = {
        "bce": bce_loss(out["logits_enc1"], batch.r_next, mask, cfg.loss_on),
        "im": bce_loss(out["logits_im"], target_im, mask, cfg.loss_on),
    }
    zero = out["logits_enc1"].new_zeros(())
    g = out.get("skill_gains")
    reg_mask = mask if cfg.mask_padding else None
    terms["variance"] = variance_loss(g, reg_mask) if g is not None and cfg.variance_loss_weight else zero
    terms["contrastive"] = (skill_contrastive_loss(g, reg_mask)
                            if g is not None and cfg.skill_contrastive_loss_weight else zero)
    terms["beta_spread"] = (beta_spread_loss(model.beta_skill, cfg.beta_spread_target)
                            if cfg.beta_spread_regularization_weight else zero)
    lam = cfg.bce_loss_weight
    terms["total"] = (lam * terms["bce"] + (1 - lam) * terms["im"]
                      + cfg.variance_loss_weight * terms["variance"]
                      + cfg.skill_contrastive_loss_weight * terms["contrastive"]
                      + cfg.beta_spread_regularization_weight * terms["beta_spread"])
    return terms

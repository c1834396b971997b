"""The building blocks of GainAKT3Exp's encoders, and the practice sums.

A dropout that is faster on the CPU than nn.Dropout (same distribution), the two-stream encoder block
(Q, K from context, V from value) and the encoder, and two ways to sum gains into effective practice:
`practice_gather` (the practised skill only, vectorised) and `practice_loop` (the original's per-step
loop, kept as the reference). `gainakt.model` assembles them into the model. Shapes: B batch, T steps,
C skills, D d_model.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import Config
from .packing import Packing

__all__ = ["Dropout", "EncoderBlock", "Encoder", "practice_gather", "practice_loop"]


class _ScaledMask(torch.autograd.Function):
    """x * keep / (1 - p) with keep a 0/1 float mask [...], as one autograd node: forward and
    backward each make one new tensor and work in place on it (the three-node product of a bool
    mask converted the mask, multiplied and divided, a pass and a tensor each). Bitwise the same
    values: x * 1.0 or x * 0.0, then the same division; the gradient grad / (1 - p) * keep."""

    @staticmethod
    def forward(ctx, x: Tensor, keep: Tensor, p: float) -> Tensor:
        ctx.save_for_backward(keep)
        ctx.p = p
        return (x * keep).div_(1.0 - p)

    @staticmethod
    def backward(ctx, grad: Tensor):
        keep, = ctx.saved_tensors
        return grad.div(1.0 - ctx.p).mul_(keep), None, None


class Dropout(nn.Module):
    """Inverted dropout from a uniform mask: the same distribution as nn.Dropout, but about twice
    as fast on the CPU, where `bernoulli_` was a fifth of a training step (benchmarks/). The mask
    is compared in place into the uniform draws (no bool tensor to convert) and applied by
    `_ScaledMask`; the random numbers drawn are those of `uniform_` over x's shape, as before."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x).uniform_().ge_(self.p)   # [...] 1.0 where kept, else 0.0
        return _ScaledMask.apply(x, keep, self.p)


class EncoderBlock(nn.Module):
    """Post-LayerNorm block with two streams: Q, K from context, V from value.

    The same attention output is added to both streams; only the context stream has a
    feed-forward sub-layer (as the original `EncoderBlock`).
    """

    def __init__(self, d: int, n_heads: int, d_ff: int, dropout: float, attention: str):
        super().__init__()
        self.n_heads, self.attention = n_heads, attention
        self.q_proj, self.k_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.v_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.drop = Dropout(dropout)
        self.ln_ctx1, self.ln_val1, self.ln_ctx2 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, d_ff), nn.ReLU(), Dropout(dropout), nn.Linear(d_ff, d))

    def _heads(self, x: Tensor) -> Tensor:  # [B, T, D] -> [B, H, T, D/H]
        B, T, D = x.shape
        return x.view(B, T, self.n_heads, D // self.n_heads).transpose(1, 2)

    def forward(self, ctx: Tensor, val: Tensor, attn_mask: Tensor | None = None,
                need_ctx: bool = True) -> tuple[Tensor | None, Tensor]:
        """ctx, val: [B, T, D] -> new (ctx, val), both [B, T, D].

        attn_mask: [B, 1, T, T] bool (True: may attend), e.g. a packed batch's block-diagonal causal
        mask; None: causal. need_ctx=False skips the context stream's feed-forward (returns None):
        an encoder's last block whose context output nobody reads."""
        B, T, D = ctx.shape
        q, k, v = self._heads(self.q_proj(ctx)), self._heads(self.k_proj(ctx)), self._heads(self.v_proj(val))
        if self.attention == "sdpa":
            # is_causal masks j > i, so position t sees 0..t including itself (the original's mask).
            att = (F.scaled_dot_product_attention(q, k, v, is_causal=True) if attn_mask is None
                   else F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask))
        else:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # [B, H, T, T]
            hidden = (torch.triu(torch.ones(T, T, dtype=torch.bool, device=ctx.device), diagonal=1)
                      if attn_mask is None else ~attn_mask)
            att = scores.masked_fill(hidden, float("-inf")).softmax(-1) @ v
        out = self.drop(self.out_proj(att.transpose(1, 2).reshape(B, T, D)))
        new_val = self.ln_val1(val + out)
        if not need_ctx:
            return None, new_val
        x = self.ln_ctx1(ctx + out)
        return self.ln_ctx2(x + self.drop(self.ffn(x))), new_val


class Encoder(nn.Module):
    """Token embeddings (context and value) + learned positions + blocks."""

    def __init__(self, num_skills: int, cfg: Config):
        super().__init__()
        d = cfg.d_model
        self.ctx_emb, self.val_emb = nn.Embedding(2 * num_skills, d), nn.Embedding(2 * num_skills, d)
        self.pos_emb = nn.Embedding(cfg.seq_len, d)
        self.blocks = nn.ModuleList(EncoderBlock(d, cfg.n_heads, cfg.d_ff, cfg.dropout, cfg.attention)
                                    for _ in range(cfg.n_blocks))

    def forward(self, tokens: Tensor, packing: Packing | None = None,
                need_ctx: bool = True) -> tuple[Tensor | None, Tensor]:
        """tokens: [B, T] in [0, 2C) -> (context, value), each [B, T, D]; with `packing`, each
        [R, S, D] over its packed rows. need_ctx=False: context None, the last block's
        feed-forward skipped."""
        if packing is None:
            pos, mask = self.pos_emb(torch.arange(tokens.shape[1], device=tokens.device)), None
        else:
            tokens, pos, mask = packing.pack(tokens), self.pos_emb(packing.positions), packing.attn_mask
        ctx, val = self.ctx_emb(tokens) + pos, self.val_emb(tokens) + pos
        for i, blk in enumerate(self.blocks):
            ctx, val = blk(ctx, val, mask, need_ctx or i < len(self.blocks) - 1)
        return ctx, val


def practice_gather(gains_at_q: Tensor, q: Tensor, query: Tensor) -> Tensor:
    """Effective practice of the query skill when gains go to the practised skill only.

    gains_at_q: [B, T] gain of interaction t for its own skill q_t; q, query: [B, T].
    Returns [B, T]: sum_{t' <= t, q_t' = query_t} gains_at_q[t'] -- a masked cumulative sum
    computed as one [B, T, T] product, so the cost does not grow with the number of skills.
    """
    T = q.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    same = (query.unsqueeze(2) == q.unsqueeze(1)) & causal  # [B, T(query), T(source)]
    return torch.bmm(same.to(gains_at_q.dtype), gains_at_q.unsqueeze(2)).squeeze(2)


def practice_loop(gains: Tensor) -> Tensor:
    """Reference per-step loop of the original (EP[t] = EP[t-1] + gains[t]); [B, T, C] -> same."""
    out = torch.zeros_like(gains)
    acc = torch.zeros_like(gains[:, 0])
    for t in range(gains.shape[1]):
        acc = acc + gains[:, t]
        out[:, t] = acc
    return out

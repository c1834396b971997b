"""SAKT (Pandey & Karypis 2019): the next skill attends, causally, to the embeddings of the past
interactions (with learned positions); one or more attention + feed-forward blocks."""
from __future__ import annotations

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d: int, heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, d_ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d_ff, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, query, kv, mask):
        a, _ = self.attn(query, kv, kv, attn_mask=mask, need_weights=False)
        h = self.ln1(query + self.drop(a))
        return self.ln2(h + self.drop(self.ff(h)))


class SAKT(nn.Module):
    def __init__(self, num_skills: int, d: int, heads: int, n_blocks: int, d_ff: int, dropout: float,
                 max_len: int):
        super().__init__()
        self.C = num_skills
        self.interaction = nn.Embedding(2 * num_skills, d)    # q + C * r
        self.exercise = nn.Embedding(num_skills, d)
        self.position = nn.Embedding(max_len, d)
        self.blocks = nn.ModuleList(Block(d, heads, d_ff, dropout) for _ in range(n_blocks))
        self.out = nn.Linear(d, 1)

    def forward(self, q, r, q_next):
        """q, r, q_next: [B, T] -> logits [B, T]. The query at t (skill q_{t+1}) sees interactions
        0..t only (a True in the mask forbids), so padding at the right is never attended."""
        T = q.shape[1]
        kv = self.interaction(q + self.C * r) + self.position(torch.arange(T, device=q.device))[None]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=q.device), 1)
        h = self.exercise(q_next)
        for block in self.blocks:
            h = block(h, kv, mask)
        return self.out(h).squeeze(2)

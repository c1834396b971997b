"""Packing of a padded batch: its windows' real positions in dense rows (`Config.batching="packed"`).

A padded batch [B, T] (the original's: `batch_size` windows padded to seq_len - 1 steps) holds
mostly padding. Packing puts the real positions (mask True: a target follows) of its windows into
R rows of S slots (S = the longest window of the batch, first-fit decreasing), with
  - a block-diagonal causal mask: slot i attends to slot j of the same window with j <= i,
  - per-window positions: the learned positions restart at 0 for each window,
so the encoders compute at every real position exactly what they compute in the padded batch
(causal attention never sees the padding after a real position), on about a sixth of the slots.
Everything after the encoders runs on `scatter`-ed [B, T, ...] tensors that are 0 at padding, so
the per-window cumulative sums and the losses (means over the batch's real targets) are the padded
batch's. Empty slots at the end of a row form one more segment, attending among themselves only.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Packing:
    """Where each real position of a padded batch [B, T] sits in R packed rows of S slots."""
    B: int
    T: int
    R: int
    S: int
    padded_index: Tensor  # [N] b * T + t of each real position, row-major (window by window)
    packed_index: Tensor  # [N] row * S + slot of the same positions
    positions: Tensor     # [R, S] long, step of each slot within its window (0 in empty slots)
    attn_mask: Tensor     # [R, 1, S, S] bool, True where slot i may attend to slot j
    window_start: Tensor  # [N] index (in the N real positions) of the first position of each one's window

    @classmethod
    def from_mask(cls, mask: Tensor) -> "Packing":
        """mask: [B, T] bool with a prefix of True per window (the batches of `batches.py`)."""
        B, T = mask.shape
        lengths = mask.sum(1).tolist()
        S = max(max(lengths), 1)
        # first-fit decreasing: long windows first, each into the first row with room
        free: list[int] = []
        row, offset = [0] * B, [0] * B
        for b in sorted(range(B), key=lambda i: -lengths[i]):
            n = lengths[b]
            if n == 0:
                continue
            for i, f in enumerate(free):
                if f >= n:
                    break
            else:
                i = len(free)
                free.append(S)
            row[b], offset[b] = i, S - free[i]
            free[i] -= n
        R = max(len(free), 1)
        dev = mask.device
        b_idx, t_idx = mask.nonzero(as_tuple=True)
        row_t = torch.tensor(row, device=dev)
        off_t = torch.tensor(offset, device=dev)
        packed = row_t[b_idx] * S + off_t[b_idx] + t_idx
        positions = torch.zeros(R * S, dtype=torch.long, device=dev).index_copy(0, packed, t_idx)
        # segment of each slot: its window, or B + row for the empty tail of a row
        seg = (B + torch.arange(R, device=dev)).repeat_interleave(S).index_copy(0, packed, b_idx).view(R, S)
        causal = torch.ones(S, S, dtype=torch.bool, device=dev).tril()
        attn = (seg.unsqueeze(2) == seg.unsqueeze(1)) & causal
        n = torch.tensor(lengths, device=dev)
        start = (torch.cumsum(n, 0) - n)[b_idx]
        return cls(B, T, R, S, b_idx * T + t_idx, packed, positions.view(R, S), attn.unsqueeze(1), start)

    def pack(self, x: Tensor) -> Tensor:
        """[B, T, ...] -> [R, S, ...]: real positions in their slots, 0 in empty slots."""
        flat = x.reshape(self.B * self.T, *x.shape[2:])[self.padded_index]
        out = flat.new_zeros(self.R * self.S, *x.shape[2:]).index_copy(0, self.packed_index, flat)
        return out.view(self.R, self.S, *x.shape[2:])

    def gather(self, y: Tensor) -> Tensor:
        """[R, S, ...] -> [N, ...], the real positions in row-major padded order."""
        return y.reshape(self.R * self.S, *y.shape[2:]).index_select(0, self.packed_index)

    def real(self, x: Tensor) -> Tensor:
        """[B, T, ...] -> [N, ...], the real positions of a padded tensor."""
        return x.reshape(self.B * self.T, *x.shape[2:]).index_select(0, self.padded_index)

    def segment_cumsum(self, x: Tensor) -> Tensor:
        """[N, ...] -> [N, ...]: cumulative sum over each window's positions. One running sum over
        the batch minus its value before the window, in float64 so that the difference keeps
        float32 precision."""
        cs = x.double().cumsum(0)
        before = cs.index_select(0, self.window_start) - x.double().index_select(0, self.window_start)
        return (cs - before).to(x.dtype)

    def scatter(self, y: Tensor) -> Tensor:
        """[N, ...] -> [B, T, ...], 0 at padding."""
        out = y.new_zeros(self.B * self.T, *y.shape[1:]).index_copy(0, self.padded_index, y)
        return out.view(self.B, self.T, *y.shape[1:])

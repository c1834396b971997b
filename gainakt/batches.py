"""Batches of windows for training and evaluation: how windows are grouped, padded and ordered.

Three batchings (`Config.batching`): "tokens" (length buckets holding about the same number of
targets, the default), "windows" (length buckets of `batch_size` windows) and "padded" (the
original: `batch_size` windows each padded to seq_len).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterator

import numpy as np
import torch

from .data import Split


@dataclass
class Batch:
    """Next-step prediction batch; T = longest window in the batch - 1 (bucketed) or seq_len - 1 (padded)."""
    q: torch.Tensor          # [B, T] skill at step t (input)
    r: torch.Tensor          # [B, T] response at step t (input)
    q_next: torch.Tensor     # [B, T] skill at step t+1 (target skill)
    r_next: torch.Tensor     # [B, T] response at step t+1 (target), float32
    mask: torch.Tensor       # [B, T] bool, True where t+1 is a real interaction
    students: torch.Tensor   # [B] global student index
    index: torch.Tensor      # [B] window index in the split

    def to(self, device, non_blocking: bool = False) -> "Batch":
        return Batch(**{f.name: getattr(self, f.name).to(device, non_blocking=non_blocking) for f in fields(self)})


BATCHINGS = ("tokens", "windows", "padded")


def token_budget(split: Split, batch_size: int) -> int:
    """Target slots per batch for `batching="tokens"`: batch_size x mean targets per window.

    With this budget an epoch has about as many updates as the padded path (n_windows / batch_size)
    and every update sees about as many real targets, so each target keeps the weight it had there.
    """
    return max(1, int(round(batch_size * float((split.lengths - 1).clamp_min(0).float().mean()))))


def _groups(split: Split, batch_size: int, batching: str, max_tokens: int | None, rng) -> list[np.ndarray]:
    """Window indices of each batch, in the order they are served.

    tokens:  windows sorted by length, cut so that count x (longest - 1) stays within `max_tokens`
             (None: `token_budget`): short windows share big batches, long ones small batches.
    windows: sorted by length, `batch_size` windows per batch. The short batches then hold few
             targets, each weighing far more in the mean loss; kept for the benchmark.
    padded:  `batch_size` windows per batch in `rng` order, each padded to seq_len (the original).
    Bucketed batches are served in `rng` order; the number and shapes of batches never depend on it.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if batching not in BATCHINGS:
        raise ValueError(f"batching = {batching!r}; expected one of {BATCHINGS}")
    lengths, n = split.lengths.numpy(), len(split.lengths)
    if batching == "padded":
        order = rng.permutation(n)
        return [order[a:a + batch_size] for a in range(0, n, batch_size)]
    # Random tie-breaking among equal lengths reshuffles who shares a bucket while the sorted length
    # profile (hence the number and shapes of batches) stays the same.
    tie = rng.permutation(n)
    order = tie[np.argsort(lengths[tie], kind="stable")]
    if batching == "windows":
        cuts = list(range(0, n, batch_size)) + [n]
    else:
        budget = token_budget(split, batch_size) if max_tokens is None else int(max_tokens)
        targets = np.maximum(lengths[order] - 1, 1)
        cuts, i = [0], 0
        while i < n:  # sorted targets: cost = count x targets of the last window is nondecreasing
            seg = targets[i:i + budget]
            cost = np.arange(1, len(seg) + 1) * seg
            i = min(n, i + max(1, int(np.searchsorted(cost, budget, side="right"))))
            cuts.append(i)
    groups = [order[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    return [groups[k] for k in rng.permutation(len(groups))]


class _FileOrder:
    """Stands in for a generator when nothing is shuffled: permutation(n) = arange(n)."""
    @staticmethod
    def permutation(n: int) -> np.ndarray:
        return np.arange(n)


def _order_rng(shuffle: bool, seed: int, epoch: int, batching: str):
    """shuffle: a new order each epoch. Otherwise padded batches keep file order (the original's
    DataLoader) and bucketed ones a fixed order drawn from the seed: sorted order would train on the
    shortest windows first and the longest last, in every epoch."""
    if shuffle:
        return np.random.default_rng([seed, epoch])
    return _FileOrder() if batching == "padded" else np.random.default_rng([seed])


def iter_batches(split: Split, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                 batching: str = "tokens", epoch: int = 0, max_tokens: int | None = None) -> Iterator[Batch]:
    """Batches of windows (the three batchings: `_groups`). Bucketed batches have T = longest
    window - 1, padded ones T = seq_len - 1. The order is deterministic from (seed, epoch)."""
    lengths = split.lengths.numpy()
    for g in _groups(split, batch_size, batching, max_tokens, _order_rng(shuffle, seed, epoch, batching)):
        width = split.skills.shape[1] if batching == "padded" else int(lengths[g].max())
        idx = torch.from_numpy(g)
        s, r = split.skills[idx, :width], split.responses[idx, :width]   # padding is already 0
        mask = torch.arange(width - 1)[None, :] < (split.lengths[idx] - 1)[:, None]
        yield Batch(s[:, :-1], r[:, :-1], s[:, 1:], r[:, 1:].float(), mask, split.students[idx], idx)


def num_batches(split: Split, batch_size: int, *, batching: str = "tokens", max_tokens: int | None = None) -> int:
    """Number of batches iter_batches yields (the same for every seed and epoch)."""
    return len(_groups(split, batch_size, batching, max_tokens, _FileOrder()))

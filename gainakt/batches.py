"""Batches of windows for training and evaluation: how windows are grouped, padded and ordered.

Four batchings (`Config.batching`): "tokens" (length buckets holding about the same number of
targets, the default), "windows" (length buckets of `batch_size` windows), "padded" (the
original: `batch_size` windows each padded to seq_len) and "packed" (the same batches as "padded";
the model packs their windows into dense rows, `model.Packing`, with the same loss and gradient). One optimiser *step* takes one batch, or
with "tokens" and `length_strata` m > 1 one bucket from each of m length strata, whose gradients
are accumulated with weights that make the loss the mean over all their targets.
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


BATCHINGS = ("tokens", "windows", "padded", "packed")
PADDED = ("padded", "packed")  # batchings served as the original's padded batches


def token_budget(split: Split, batch_size: int) -> int:
    """Targets per step for `batching="tokens"`: batch_size x mean targets per window.

    With this budget an epoch has about as many steps as the padded path (n_windows / batch_size)
    and every step sees about as many real targets, so each target keeps the weight it had there.
    """
    return max(1, int(round(batch_size * float((split.lengths - 1).clamp_min(0).float().mean()))))


def _buckets(order: np.ndarray, lengths: np.ndarray, budget: int) -> list[np.ndarray]:
    """Cut windows sorted by length into buckets of count x (longest - 1) <= budget targets."""
    targets = np.maximum(lengths[order] - 1, 1)
    cuts, i, n = [0], 0, len(order)
    while i < n:  # sorted targets: cost = count x targets of the last window is nondecreasing
        seg = targets[i:i + budget]
        cost = np.arange(1, len(seg) + 1) * seg
        i = min(n, i + max(1, int(np.searchsorted(cost, budget, side="right"))))
        cuts.append(i)
    return [order[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


def _steps(split: Split, batch_size: int, batching: str, max_tokens: int | None, strata: int,
           rng) -> list[list[np.ndarray]]:
    """Window indices of each step's batches, in the order the steps are served.

    tokens:  windows sorted by length and cut into buckets of budget / strata targets (budget:
             `max_tokens`, None = `token_budget`); the buckets, in length order, form `strata` strata
             and a step takes one random bucket of each. Strata = 1 gives steps of one bucket: then a
             step holds only short or only long windows, whose gradients differ systematically, and
             the plain path's Encoder-2 AUC is not reached. More strata come closer to it (2: 0.001
             AUC short, 4: 0.0003, 8: none) at more, smaller buckets per epoch
             (benchmarks/bench_metrics.py, bench_epoch.py).
    windows: sorted by length, `batch_size` windows per batch, one batch per step. The short batches
             hold few targets, each weighing far more in the mean loss; kept for the benchmark.
    padded:  `batch_size` windows per batch in `rng` order, each padded to seq_len (the original).
    Bucketed steps are served in `rng` order; the number and shapes of batches never depend on it.
    """
    if batch_size < 1 or strata < 1:
        raise ValueError(f"batch_size and length_strata must be >= 1, got {batch_size} and {strata}")
    if batching not in BATCHINGS:
        raise ValueError(f"batching = {batching!r}; expected one of {BATCHINGS}")
    lengths, n = split.lengths.numpy(), len(split.lengths)
    if batching in PADDED:
        order = rng.permutation(n)
        return [[order[a:a + batch_size]] for a in range(0, n, batch_size)]
    # Random tie-breaking among equal lengths reshuffles who shares a bucket while the sorted length
    # profile (hence the number and shapes of batches) stays the same.
    tie = rng.permutation(n)
    order = tie[np.argsort(lengths[tie], kind="stable")]
    if batching == "windows":
        steps = [[order[a:a + batch_size]] for a in range(0, n, batch_size)]
    else:
        budget = token_budget(split, batch_size) if max_tokens is None else int(max_tokens)
        buckets = _buckets(order, lengths, max(1, budget // strata))
        layers = [[buckets[i] for i in rng.permutation(ix)]
                  for ix in np.array_split(np.arange(len(buckets)), min(strata, len(buckets)))]
        k = min(len(layer) for layer in layers)
        steps = [[layer[i] for layer in layers] for i in range(k)]
        steps += [[b] for layer in layers for b in layer[k:]]  # strata differ by at most one bucket
    return [steps[i] for i in rng.permutation(len(steps))]


class _FileOrder:
    """Stands in for a generator when nothing is shuffled: permutation(n) = arange(n)."""
    @staticmethod
    def permutation(n) -> np.ndarray:
        return np.arange(n) if np.ndim(n) == 0 else np.asarray(n)


def _order_rng(shuffle: bool, seed: int, epoch: int, batching: str):
    """shuffle: a new order each epoch. Otherwise padded batches keep file order (the original's
    DataLoader) and bucketed ones a fixed order drawn from the seed: sorted order would train on the
    shortest windows first and the longest last, in every epoch."""
    if shuffle:
        return np.random.default_rng([seed, epoch])
    return _FileOrder() if batching in PADDED else np.random.default_rng([seed])


def _batch(split: Split, g: np.ndarray, padded: bool) -> Batch:
    idx = torch.from_numpy(g)
    width = split.skills.shape[1] if padded else int(split.lengths[idx].max())
    s, r = split.skills[idx, :width], split.responses[idx, :width]   # padding is already 0
    mask = torch.arange(width - 1)[None, :] < (split.lengths[idx] - 1)[:, None]
    return Batch(s[:, :-1], r[:, :-1], s[:, 1:], r[:, 1:].float(), mask, split.students[idx], idx)


def iter_steps(split: Split, batch_size: int, *, shuffle: bool = False, seed: int = 0, batching: str = "tokens",
               epoch: int = 0, max_tokens: int | None = None, length_strata: int = 1) -> Iterator[list[Batch]]:
    """The batches of each optimiser step (see `_steps`). Bucketed batches have T = longest window
    - 1, padded ones T = seq_len - 1. The order is deterministic from (seed, epoch)."""
    rng = _order_rng(shuffle, seed, epoch, batching)
    for step in _steps(split, batch_size, batching, max_tokens, length_strata, rng):
        yield [_batch(split, g, batching in PADDED) for g in step]


def iter_batches(split: Split, batch_size: int, **kw) -> Iterator[Batch]:
    """Every batch of `iter_steps`, one after the other (for evaluation, where steps do not matter)."""
    for step in iter_steps(split, batch_size, **kw):
        yield from step


def num_steps(split: Split, batch_size: int, *, batching: str = "tokens", max_tokens: int | None = None,
              length_strata: int = 1) -> int:
    """Number of steps iter_steps yields (the same for every seed and epoch)."""
    return len(_steps(split, batch_size, batching, max_tokens, length_strata, _FileOrder()))


def num_batches(split: Split, batch_size: int, *, batching: str = "tokens", max_tokens: int | None = None,
                length_strata: int = 1) -> int:
    """Number of batches iter_batches yields (the same for every seed and epoch)."""
    return sum(len(st) for st in _steps(split, batch_size, batching, max_tokens, length_strata, _FileOrder()))

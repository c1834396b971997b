"""Per-skill difficulty (V4/V5) and per-student velocity, each the original way and a corrected way.

Difficulty: attempts until three consecutive correct answers, normalised by the mean over skills;
the original computed it on the validation fold with an off-by-one skill index. Velocity: a
student's correct rate relative to the global rate; the original read the window's own future
responses.
"""
from __future__ import annotations

import numpy as np
import torch

from .batches import Batch
from .data import Split


def _attempts_to_mastery(split: Split, num_skills: int, run_length: int, skip_zero: bool = False) -> np.ndarray:
    """[C] mean over (window, skill) pairs of the attempts made until ``run_length`` consecutive correct
    answers on that skill (all attempts when never reached); NaN for skills without data."""
    W = split.skills.shape[1]
    win, pos = np.nonzero(np.arange(W)[None, :] < split.lengths.numpy()[:, None])
    s, r = split.skills.numpy()[win, pos], split.responses.numpy()[win, pos]
    if skip_zero:  # the original treated skill_id <= 0 as padding
        keep = s > 0
        win, pos, s, r = win[keep], pos[keep], s[keep], r[keep]
    o = np.lexsort((pos, s, win))                                  # by window, skill, time
    win, s, r = win[o], s[o], r[o]
    i = np.arange(len(s))
    new = np.ones(len(s), bool)
    new[1:] = (win[1:] != win[:-1]) | (s[1:] != s[:-1])           # first attempt of a (window, skill)
    run = i - np.maximum.accumulate(np.where(r == 0, i, np.where(new, i - 1, -1)))  # correct streak
    reached = (run >= run_length).astype(np.int64)
    before = np.cumsum(reached) - reached                          # runs completed strictly before i
    counted = (before - before[new][np.cumsum(new) - 1]) == 0      # ... within this (window, skill)
    attempts = np.bincount(s, weights=counted, minlength=num_skills)
    pairs = np.bincount(s[new], minlength=num_skills)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, attempts / pairs, np.nan)


def _normalise(raw: np.ndarray) -> np.ndarray:
    """Skills without data get the mean; then divide by the mean so the average difficulty is 1."""
    if np.isnan(raw).all():
        return np.ones(len(raw))
    filled = np.where(np.isnan(raw), np.nanmean(raw), raw)
    return filled / filled.mean()


def train_skill_difficulty(split: Split, num_skills: int, run_length: int = 3) -> np.ndarray:
    """[C] attempts-to-mastery difficulty from the TRAINING split, mean 1 over skills."""
    return _normalise(_attempts_to_mastery(split, num_skills, run_length))


def original_skill_difficulty(valid_split: Split, num_skills: int, run_length: int = 3) -> np.ndarray:
    """[C] the original's difficulty, bugs kept: computed on the VALIDATION fold, skill 0 skipped as if it
    were padding, and off by one: index k holds skill k+1's difficulty, the last index 1.0."""
    d = _normalise(_attempts_to_mastery(valid_split, num_skills, run_length, skip_zero=True)[1:])
    return np.append(d, 1.0)


def student_velocity(batch: Batch, mode: str, prior: float = 0.5, state=None) -> torch.Tensor:
    """[B, T] per-student learning-velocity multiplier in [0.5, 2] (1 where mask is False).

    "past": at step t the correct rate of r[0..t] (inputs only, never r_next), with one pseudo-answer
        at the global rate g, divided by g; ``state`` = g (the training correct rate), None -> ``prior``.
    "original_leak": the original: the window's mean r_next over its mask (its FUTURE answers) divided
        by a running global rate, the same for every step ([B] broadcast to [B, T]). ``state`` is a dict
        of floats {"correct", "count"} updated in place after each batch (rate = ``prior`` while count is 0);
        None: rate = prior.
    """
    B, T = batch.mask.shape
    if mode == "past":
        g = prior if state is None else float(state)
        steps = torch.arange(1, T + 1, device=batch.r.device, dtype=torch.float32)
        v = (batch.r.float().cumsum(1) + g) / (steps + 1) / g
    elif mode == "original_leak":
        m = batch.mask.float()
        g = state["correct"] / state["count"] if state and state.get("count", 0) > 0 else prior
        v = ((batch.r_next * m).sum(1) / m.sum(1).clamp_min(1) / g)[:, None].expand(B, T)
        if state is not None:  # plain floats (one sync per batch), so the state can go into a checkpoint
            correct, count = torch.stack([(batch.r_next * m).sum(), m.sum()]).tolist()
            state["correct"] = state.get("correct", 0.0) + correct
            state["count"] = state.get("count", 0.0) + count
    else:
        raise ValueError(f"unknown velocity mode '{mode}' (expected 'past' or 'original_leak')")
    return torch.where(batch.mask, v.clamp(0.5, 2.0), torch.ones_like(v))

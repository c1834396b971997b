"""Training and evaluation: Adam with a gains-projection LR multiplier, clipping, early stopping on
validation Encoder-1 AUC, best/last checkpoints, resume, per-epoch metrics on train and valid.

`run(cfg, out_dir)` is the one entry point the CLI, the notebooks and the tests use.
Files written into `out_dir` (each atomically): history.csv (one row per epoch; epoch 0 is the
untrained model, the noise floor), metrics.json (written last: its presence means "done"),
trajectories.csv and checks.csv (test students), skill_gains.csv and skill_gains_untrained.csv
(per-skill gains on the test split, best checkpoint and untrained model: `skillstats`),
checkpoints/{best,last}.pt. Each history row also holds the gradient each loss term sends to the
gains projection (`diagnostics`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import data as kt_data
from . import features
from .atomic import write_json_atomic, write_text_atomic
from .batches import iter_batches, iter_steps, num_steps
# re-exported: callers import the checkpoint helpers and `subset` from here
from .checkpoints import (CheckpointError, ResumeConflictError, check_resume, config_differences,  # noqa: F401
                          load_checkpoint, save_atomic)
from .config import Config
from .data import subset  # noqa: F401
from .diagnostics import gains_grad_norms
from .losses import total_loss
from .metrics import EpochMetrics, parameter_stats, trajectory_gain_stats
from .model import CURVE_PARAMETERS, GainAKT3Exp
from .skillstats import skill_table
from .trajectory_table import all_checks, trajectories


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def set_seed(seed: int) -> None:
    random.seed(seed); np.random.seed(seed); torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _progress(iterable, total: int, desc: str):
    """A live bar in a terminal, a line every 30 s in logs, nothing inside a notebook kernel
    (notebooks print one line per epoch instead of storing bar output)."""
    tty = sys.stderr.isatty()
    in_kernel = "ipykernel" in sys.modules
    return tqdm(iterable, total=total, desc=desc, leave=False, disable=in_kernel,
                mininterval=0.5 if tty else 30.0, file=sys.stderr, dynamic_ncols=tty)


class Experiment:
    """Data, model and optimiser of one configuration (nothing written to disk here)."""

    def __init__(self, cfg: Config, dataset=None):
        self.cfg = cfg
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.device = resolve_device(cfg.device)
        set_seed(cfg.seed)
        self.data = dataset or kt_data.load_dataset(cfg.dataset, cfg.data_dir, fold=cfg.fold,
                                                     seq_len=cfg.seq_len, synthetic=cfg.synthetic or None)
        ds, C = self.data, self.data.num_skills
        # Student index: global (same student, same gamma everywhere) or the original per-split rank.
        self.splits = {s.name: self._index_students(s) for s in (ds.train, ds.valid, ds.test)}
        n_students = (len(torch.unique(ds.train.students)) if cfg.student_index == "per_split"
                      else ds.num_students)
        self.eff = eff = cfg.effective()   # what the model receives (original_factory applied)
        difficulty = None
        if eff.difficulty_mode != "none":
            difficulty = (features.train_skill_difficulty(ds.train, C) if cfg.difficulty_source == "train"
                          else features.original_skill_difficulty(ds.valid, C))
        self.model = GainAKT3Exp(cfg, C, n_students, None if difficulty is None
                                 else torch.as_tensor(difficulty, dtype=torch.float32)).to(self.device)
        # Which gamma rows belong to students seen in training (per-split index: all of them).
        trained = torch.zeros(self.model.gamma_student.shape[0], dtype=torch.bool)
        trained[torch.unique(self.splits["train"].students)] = True
        self.model.gamma_trained.copy_(trained.to(self.device))
        # the learning-curve scalars get their own group only when their LR or decay differs (V6's
        # switches), so other runs keep the original's parameter groups (and their checkpoints'
        # optimiser state)
        curve_lr = cfg.learning_rate * cfg.curve_lr_multiplier
        curve_wd = cfg.weight_decay if cfg.curve_weight_decay is None else cfg.curve_weight_decay
        curve = (set(CURVE_PARAMETERS) if cfg.curve_lr_multiplier != 1.0 or curve_wd != cfg.weight_decay
                 else set())
        self.gamma_decay = curve_wd if "gamma_student" in curve else cfg.weight_decay
        # unseen_student_gamma "trained_mean": the rows of students never seen in training get no
        # weight decay either (coupled L2 inside Adam would move them by about lr per step, with no
        # data to hold them): their group has weight_decay 0 and `train_step` adds the decay of the
        # trained rows by hand, which is what Adam's coupled L2 adds for them.
        self.gamma_decay_mask = None
        if cfg.unseen_student_gamma == "trained_mean" and not bool(trained.all()) and self.gamma_decay:
            self.gamma_decay_mask = trained.to(self.device, torch.float32)
        gp = [p for n, p in self.model.named_parameters() if n.startswith("gains_projection")]
        cp = [p for n, p in self.model.named_parameters() if n in curve
              and not (self.gamma_decay_mask is not None and n == "gamma_student")]
        rest = [p for n, p in self.model.named_parameters() if not n.startswith("gains_projection")
                and n not in curve and not (self.gamma_decay_mask is not None and n == "gamma_student")]
        groups = [{"params": rest, "lr": cfg.learning_rate}]
        if gp:
            groups.append({"params": gp, "lr": cfg.learning_rate * cfg.gains_lr_multiplier})
        if cp:
            groups.append({"params": cp, "lr": curve_lr, "weight_decay": curve_wd})
        if self.gamma_decay_mask is not None:
            groups.append({"params": [self.model.gamma_student], "weight_decay": 0.0,
                           "lr": curve_lr if curve else cfg.learning_rate})
        self.opt = torch.optim.Adam(groups, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        tr = ds.train
        self.base_rate = float((tr.responses.sum() / tr.lengths.sum()).item())
        self.velocity_state: dict = {}  # running global rate of the original velocity

    def _index_students(self, split):
        if self.cfg.student_index == "global":
            return split
        # original: index = rank of the uid among the split's own uids, sorted numerically
        return dataclasses.replace(split, students=kt_data.per_split_student_index(split, self.data.student_ids))

    # --------------------------------------------------------------------------------
    def velocity(self, batch, training: bool):
        cfg = self.eff
        if not cfg.use_student_velocity:
            return None
        if cfg.velocity_source == "original_leak":
            if not training:
                return None  # the original passed velocities in training only
            return features.student_velocity(batch, "original_leak", state=self.velocity_state)
        return features.student_velocity(batch, "past", state=self.base_rate)

    def forward(self, batch, training: bool, states: bool = False, gamma_mode: str | None = None):
        q, r = batch.q, batch.r
        if self.cfg.zero_unmasked_inputs:
            # the original's c[:-1] * mask: steps without a target (the last real interaction of a
            # window, and padding) are fed token 0; only positions after the last target see it
            q, r = q * batch.mask, r * batch.mask
        return self.model(q, r, batch.q_next, batch.students,
                          velocity=self.velocity(batch, training), gamma_mode=gamma_mode, states=states,
                          mask=batch.mask)

    @property
    def eval_batching(self) -> str:
        """Batching of passes without optimiser steps. Statistics at real positions do not depend on
        how windows are grouped (tests/test_train.py::test_evaluation_does_not_depend_on_the_batching),
        so unless the regularisers read padding the original's batches are evaluated as whole length
        buckets, far cheaper than padded ones. A test may set `_eval_batching` to force one."""
        if getattr(self, "_eval_batching", None):
            return self._eval_batching
        b = self.cfg.batching
        return "tokens" if b in ("packed", "padded") and not self.cfg.regularisers_see_padding else b

    def _batching(self) -> dict:
        cfg = self.cfg
        return dict(batching=cfg.batching, max_tokens=cfg.max_tokens, length_strata=cfg.length_strata)

    def batches(self, split, shuffle: bool, epoch: int = 0):
        """Batches for passes without optimiser steps (evaluation, the IM-gradient probe), on the
        device. Strata only shape what one step's gradient averages over, so here every bucket is
        whole (`length_strata=1`): fewer, larger batches, the same for every `length_strata` (the
        probe's norm is of a mean loss over a whole bucket, four times a training bucket's targets
        at the default). The original's batches (padded/packed) are evaluated as length buckets
        where that changes nothing (see below)."""
        kw = {**self._batching(), "length_strata": 1, "batching": self.eval_batching}
        for b in iter_batches(split, self.cfg.batch_size, shuffle=shuffle, seed=self.cfg.seed, epoch=epoch, **kw):
            yield b.to(self.device)

    def steps(self, split, shuffle: bool, epoch: int = 0):
        """The batches of each optimiser step, on the device."""
        for step in iter_steps(split, self.cfg.batch_size, shuffle=shuffle, seed=self.cfg.seed, epoch=epoch,
                               **self._batching()):
            yield [b.to(self.device) for b in step]

    def backward(self, step) -> list[tuple[int, dict]]:
        """Accumulate the gradient of one step's loss: the mean over all targets of its batches
        (each batch's loss weighted by its share of targets). Returns (targets, losses) per batch."""
        counts = [int(b.mask.sum()) for b in step]
        out_losses = []
        for batch, n in zip(step, counts):
            losses = total_loss(self.forward(batch, training=True), batch, self.model, self.cfg)
            (losses["total"] * (n / max(sum(counts), 1)) if len(step) > 1 else losses["total"]).backward()
            out_losses.append((n, losses))
        return out_losses

    def train_step(self, step) -> list[tuple[int, dict]]:
        """One optimiser update over a step's batches: gradient (`backward`), clipping, Adam."""
        self.opt.zero_grad(set_to_none=True)
        parts = self.backward(step)
        if self.cfg.gradient_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.gradient_clip)
        g = self.model.gamma_student
        if self.gamma_decay_mask is not None and g.grad is not None:
            g.grad.add_(g.detach() * self.gamma_decay_mask, alpha=self.gamma_decay)
        self.opt.step()
        return parts

    def train_epoch(self, epoch: int) -> dict[str, float]:
        cfg, model = self.cfg, self.model
        model.train()
        split = self.splits["train"]
        sums, n_int, t0, c0 = {}, 0, time.perf_counter(), time.process_time()
        n_steps = num_steps(split, cfg.batch_size, **self._batching())
        for step in _progress(self.steps(split, cfg.shuffle, epoch), n_steps, f"epoch {epoch}"):
            for n, losses in self.train_step(step):
                for k, v in losses.items():  # summed on the device in float64: one sync per epoch
                    sums[k] = sums.get(k, 0.0) + v.detach().double() * n
                n_int += n
        return {**{f"running_loss_{k}": float(v) / max(n_int, 1) for k, v in sums.items()},
                # wall time, and this process's CPU time: runs share the cores, so only the latter is the cost
                "epoch_seconds": time.perf_counter() - t0, "epoch_cpu_seconds": time.process_time() - c0,
                "train_interactions": n_int}

    @torch.no_grad()
    def evaluate(self, split, gamma_mode: str | None = None) -> dict[str, float]:
        """Full metrics of one split in eval mode (losses, AUC/acc, gain stats, diagnostics)."""
        self.model.eval()
        acc = EpochMetrics(self.data.num_skills, self.cfg.max_correlation_students, self.cfg.min_skill_count)
        for batch in self.batches(split, shuffle=False):
            out = self.forward(batch, training=False, states=True, gamma_mode=gamma_mode)
            acc.add(batch, out, total_loss(out, batch, self.model, self.cfg))
        return acc.result()

    def im_grad_norm(self) -> float:
        """Norm of the IM loss gradient reaching the gains' parameters (mean over a few batches)."""
        params = self.model.gain_parameters()
        if not params:
            return float("nan")
        self.model.eval()
        norms = []
        for i, batch in enumerate(self.batches(self.splits["train"], shuffle=False)):
            if i >= self.cfg.im_grad_batches:
                break
            out = self.forward(batch, training=False)
            im = total_loss(out, batch, self.model, self.cfg)["im"]
            grads = torch.autograd.grad(im, params, allow_unused=True)
            norms.append(float(torch.sqrt(sum((g ** 2).sum() for g in grads if g is not None))))
        return float(np.mean(norms)) if norms else float("nan")

    def train_eval_split(self):
        split, frac = self.splits["train"], self.cfg.train_eval_fraction
        if frac >= 1.0:
            return split
        step = max(1, int(round(1 / frac)))
        return subset(split, torch.arange(0, len(split.lengths), step))

    def epoch_row(self, epoch: int, extra: dict | None = None) -> dict:
        row = {"epoch": epoch, **(extra or {})}
        for name, split in (("train", self.train_eval_split()), ("valid", self.splits["valid"])):
            row.update({f"{name}_{k}": v for k, v in self.evaluate(split).items()})
        row.update(parameter_stats(self.model))
        row["im_grad_norm"] = self.im_grad_norm()
        row.update(gains_grad_norms(self))
        return row

    # --------------------------------------------------------------------------------
    def state(self, epoch, history, best_auc, bad_epochs) -> dict:
        """Everything a resume needs, as tensors and plain Python data only (so that
        `load_checkpoint` can read it with ``weights_only=True``: no pickled code)."""
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "epoch": int(epoch),
                "history": _plain(history), "best_auc": float(best_auc), "bad_epochs": int(bad_epochs),
                "velocity_state": _plain(self.velocity_state), "config": self.cfg.to_dict(),
                "rng": {"torch": torch.get_rng_state(),
                        "numpy": [str(kind), torch.from_numpy(keys.astype(np.int64)), int(pos),
                                  int(has_gauss), float(gauss)],
                        "python": random.getstate()}}

    def load_state(self, st: dict) -> None:
        self.model.load_state_dict(st["model"]); self.opt.load_state_dict(st["optimizer"])
        self.velocity_state = st["velocity_state"]
        torch.set_rng_state(st["rng"]["torch"])
        kind, keys, pos, has_gauss, gauss = st["rng"]["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        version, internal, gauss_next = st["rng"]["python"]
        random.setstate((version, tuple(internal), gauss_next))


def _plain(obj):
    """Numpy scalars -> Python numbers (recursively through dicts and lists), NaN kept."""
    return json.loads(json.dumps(obj, default=float))


def _update_record(out: Path, cfg: Config) -> None:
    """If config.json describes another configuration than the run about to happen (a resume with
    more epochs or another device, or a new run in an old folder), rewrite it (keeping its argv)."""
    rec = out / "config.json"
    if not rec.is_file():
        return
    try:
        old = json.loads(rec.read_text())
    except ValueError:
        old = {}
    if old.get("config") == cfg.to_dict():
        return
    import shlex

    from .repro import write_config
    argv = (old.get("commands") or {}).get("argv") or ""
    write_config(out, cfg, shlex.split(argv) if argv else None, new_run=True)


def run(cfg: Config, out_dir: str | os.PathLike, dataset=None, resume: bool = True,
        log=print) -> dict:
    """Train `cfg`, evaluate the best checkpoint on valid and test, write the run's files.

    ``resume`` (default): continue from ``checkpoints/last.pt`` if there is one; a folder holding a
    run of another configuration (a difference in any field outside `RUN_ONLY_FIELDS`) raises
    `ResumeConflictError` before anything is written. ``resume=False``: a new run that replaces
    whatever the folder held."""
    if cfg.model != "gainakt":  # a baseline (gainakt/baselines/): same splits, targets and metrics
        from .baselines import run as run_baseline
        return run_baseline(cfg, out_dir, dataset=dataset, resume=resume, log=log)
    out = Path(out_dir)
    if resume:
        check_resume(cfg, out)      # before anything is written
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    exp = Experiment(cfg, dataset)
    last, best_path = out / "checkpoints" / "last.pt", out / "checkpoints" / "best.pt"
    history, best_auc, bad, start = [], -1.0, 0, 1
    if resume and last.exists():
        st = load_checkpoint(last, exp.device)
        exp.load_state(st)
        history, best_auc, bad, start = st["history"], st["best_auc"], st["bad_epochs"], st["epoch"] + 1
        log(f"resumed from epoch {st['epoch']} (best valid Encoder-1 AUC {best_auc:.4f})")
    elif last.exists() or best_path.exists():   # a new run in this folder: nothing of the old one stays
        for p in (last, best_path, out / "metrics.json", out / "history.csv"):
            p.unlink(missing_ok=True)
    _update_record(out, cfg)
    if not history:
        # the untrained model: its statistics are the noise floor of every trained one
        write_text_atomic(out / "skill_gains_untrained.csv", skill_table(
            exp, exp.splits["test"], cfg.eval_gamma_mode).to_csv(index=False))
        history.append(exp.epoch_row(0, {"epoch_seconds": 0.0, "epoch_cpu_seconds": 0.0}))
        write_text_atomic(out / "history.csv", pd.DataFrame(history).to_csv(index=False))
    for epoch in range(start, cfg.epochs + 1):
        if bad >= cfg.patience:
            break
        row = exp.epoch_row(epoch, exp.train_epoch(epoch))
        history.append(row)
        auc_v = row["valid_enc1_auc"]
        improved = auc_v > best_auc
        if improved:
            best_auc, bad = auc_v, 0
        else:
            bad += 1
        log(f"epoch {epoch:3d}  train enc1 {row['train_enc1_auc']:.4f} enc2 {row['train_enc2_auc']:.4f} | "
            f"valid enc1 {auc_v:.4f} enc2 {row['valid_enc2_auc']:.4f} | "
            f"gain std skill {row['valid_gain_skill_std']:.4f} scalar {row['valid_gain_scalar_std']:.4f} | "
            f"{row['epoch_seconds']:.1f}s{' *' if improved else ''}")
        st = exp.state(epoch, history, best_auc, bad)
        if improved:
            save_atomic(st, best_path)
        save_atomic(st, last)
        write_text_atomic(out / "history.csv", pd.DataFrame(history).to_csv(index=False))
    if best_path.exists():
        exp.model.load_state_dict(load_checkpoint(best_path, exp.device)["model"])
    best_epoch = int(max(history[1:], key=lambda r: r["valid_enc1_auc"])["epoch"]) if len(history) > 1 else 0
    eval_gamma = cfg.eval_gamma_mode
    # The final evaluation (the original's evaluator): as run, mean gamma on every split (it passed
    # no student ids); the train row is the whole training split (or train_eval_fraction of it).
    result = {
        "best_epoch": best_epoch, "epochs_run": len(history) - 1,
        "train": exp.evaluate(exp.train_eval_split(), gamma_mode=eval_gamma),
        "valid": exp.evaluate(exp.splits["valid"], gamma_mode=eval_gamma),
        "test": exp.evaluate(exp.splits["test"], gamma_mode=eval_gamma),
        "untrained_valid": {k[len("valid_"):]: v for k, v in history[0].items() if k.startswith("valid_")},
        "params": parameter_stats(exp.model), "device": str(exp.device),
        "dataset": {"name": exp.data.name, "num_skills": exp.data.num_skills,
                    "num_students": exp.data.num_students,
                    **{f"{s}_interactions": int(sp.lengths.sum()) for s, sp in exp.splits.items()}},
    }
    write_text_atomic(out / "skill_gains.csv", skill_table(exp, exp.splits["test"], eval_gamma).to_csv(index=False))
    traj = trajectories(exp, cfg.n_trajectory_students, cfg.trajectory_min_steps, eval_gamma)
    if len(traj):
        write_text_atomic(out / "trajectories.csv", traj.to_csv(index=False))
        # the seeds' gain statistics came from these rows (audit 5.3)
        result["test_trajectory_sample"] = {**trajectory_gain_stats(traj, "gain_scalar"),
                                            **trajectory_gain_stats(traj, "gain_skill")}
    whole = trajectories(exp, None, 0, eval_gamma)
    checks = all_checks(traj, whole, cfg.min_skill_count)
    if len(checks):
        write_text_atomic(out / "checks.csv", checks.to_csv(index=False))
        result["checks"] = checks.to_dict(orient="records")
        passed = checks.groupby(["rows", "definitions"])["passed"].sum()
        result["checks_passed_by"] = {f"{r}/{d}": int(n) for (r, d), n in passed.items()}
        # the seeds' count: their sample, the original definitions (legacy scalar, r_{t+1})
        key = ("trajectory_sample", "original") if ("trajectory_sample", "original") in passed else passed.index[0]
        result["checks_passed"] = int(passed[key])
    write_json_atomic(out / "metrics.json", json.loads(json.dumps(result, default=float)))
    return result

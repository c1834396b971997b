"""Training and evaluation: Adam with a gains-projection LR multiplier, clipping, early stopping on
validation Encoder-1 AUC, best/last checkpoints, resume, per-epoch metrics on train and valid.

`run(cfg, out_dir)` is the one entry point the CLI, the notebooks and the tests use.
Files written into `out_dir` (each atomically): history.csv (one row per epoch; epoch 0 is the
untrained model, the noise floor), metrics.json (written last: its presence means "done"),
trajectories.csv and checks.csv (test students), checkpoints/{best,last}.pt.
"""
from __future__ import annotations

import dataclasses
import io
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
from .atomic import write_bytes_atomic, write_json_atomic, write_text_atomic
from .batches import iter_batches, iter_steps, num_steps
from .config import Config
from .losses import total_loss
from .metrics import EpochMetrics, parameter_stats, trajectory_checks
from .model import GainAKT3Exp


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def set_seed(seed: int) -> None:
    random.seed(seed); np.random.seed(seed); torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def subset(split, idx: torch.Tensor):
    """A Split restricted to windows `idx` (all tensor fields indexed the same way)."""
    return dataclasses.replace(split, **{f.name: getattr(split, f.name)[idx]
                                         for f in dataclasses.fields(split)
                                         if isinstance(getattr(split, f.name), torch.Tensor)})


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
        gp = [p for n, p in self.model.named_parameters() if n.startswith("gains_projection")]
        rest = [p for n, p in self.model.named_parameters() if not n.startswith("gains_projection")]
        groups = [{"params": rest, "lr": cfg.learning_rate}]
        if gp:
            groups.append({"params": gp, "lr": cfg.learning_rate * cfg.gains_lr_multiplier})
        self.opt = torch.optim.Adam(groups, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        tr = ds.train
        self.base_rate = float((tr.responses.sum() / tr.lengths.sum()).item())
        self.velocity_state: dict = {}  # running global rate of the original velocity

    def _index_students(self, split):
        if self.cfg.student_index == "global":
            return split
        # original: index = rank of the uid among the split's own sorted unique uids
        _, inverse = torch.unique(split.students, sorted=True, return_inverse=True)
        return dataclasses.replace(split, students=inverse)

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
        return self.model(batch.q, batch.r, batch.q_next, batch.students,
                          velocity=self.velocity(batch, training), gamma_mode=gamma_mode, states=states)

    def _batching(self) -> dict:
        cfg = self.cfg
        return dict(batching=cfg.batching, max_tokens=cfg.max_tokens, length_strata=cfg.length_strata)

    def batches(self, split, shuffle: bool, epoch: int = 0):
        """Batches for passes without optimiser steps (evaluation, the IM-gradient probe), on the
        device. Strata only shape what one step's gradient averages over, so here every bucket is
        whole (`length_strata=1`): fewer, larger batches, the same for every `length_strata` (the
        probe's norm is of a mean loss over a whole bucket, four times a training bucket's targets
        at the default)."""
        for b in iter_batches(split, self.cfg.batch_size, shuffle=shuffle, seed=self.cfg.seed, epoch=epoch,
                              **{**self._batching(), "length_strata": 1}):
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
        self.opt.step()
        return parts

    def train_epoch(self, epoch: int) -> dict[str, float]:
        cfg, model = self.cfg, self.model
        model.train()
        split = self.splits["train"]
        sums, n_int, t0 = {}, 0, time.perf_counter()
        n_steps = num_steps(split, cfg.batch_size, **self._batching())
        for step in _progress(self.steps(split, cfg.shuffle, epoch), n_steps, f"epoch {epoch}"):
            for n, losses in self.train_step(step):
                for k, v in losses.items():  # summed on the device in float64: one sync per epoch
                    sums[k] = sums.get(k, 0.0) + v.detach().double() * n
                n_int += n
        return {**{f"running_loss_{k}": float(v) / max(n_int, 1) for k, v in sums.items()},
                "epoch_seconds": time.perf_counter() - t0, "train_interactions": n_int}

    @torch.no_grad()
    def evaluate(self, split, gamma_mode: str | None = None) -> dict[str, float]:
        """Full metrics of one split in eval mode (losses, AUC/acc, gain stats, diagnostics)."""
        self.model.eval()
        acc = EpochMetrics(self.data.num_skills, self.cfg.max_correlation_students)
        for batch in self.batches(split, shuffle=False):
            out = self.forward(batch, training=False, states=True, gamma_mode=gamma_mode)
            acc.add(batch, out, total_loss(out, batch, self.model, self.cfg))
        return acc.result()

    def im_grad_norm(self) -> float:
        """Norm of the IM loss gradient reaching gains_projection (mean over a few batches)."""
        gp = self.model.gains_projection
        if gp is None:
            return float("nan")
        self.model.eval()
        norms = []
        for i, batch in enumerate(self.batches(self.splits["train"], shuffle=False)):
            if i >= self.cfg.im_grad_batches:
                break
            out = self.forward(batch, training=False)
            im = total_loss(out, batch, self.model, self.cfg)["im"]
            grads = torch.autograd.grad(im, list(gp.parameters()), allow_unused=True)
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
        return row

    # --------------------------------------------------------------------------------
    def state(self, epoch, history, best_auc, bad_epochs) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "epoch": epoch,
                "history": history, "best_auc": best_auc, "bad_epochs": bad_epochs,
                "velocity_state": self.velocity_state, "config": self.cfg.to_dict(),
                "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                        "python": random.getstate()}}

    def load_state(self, st: dict) -> None:
        self.model.load_state_dict(st["model"]); self.opt.load_state_dict(st["optimizer"])
        self.velocity_state = st["velocity_state"]
        torch.set_rng_state(st["rng"]["torch"]); np.random.set_state(st["rng"]["numpy"])
        random.setstate(st["rng"]["python"])


def _save_atomic(obj, path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes_atomic(path, buf.getvalue())


def trajectories(exp: Experiment, n_students: int, min_steps: int, gamma_mode: str | None) -> pd.DataFrame:
    """One row per step for the first `n_students` test windows with >= `min_steps` steps."""
    split = exp.splits["test"]
    idx = torch.nonzero(split.lengths - 1 >= min_steps).flatten()[:n_students]
    rows = []
    exp.model.eval()
    with torch.no_grad():
        for batch in exp.batches(subset(split, idx), shuffle=False):
            out = exp.forward(batch, training=False, states=True, gamma_mode=gamma_mode)
            mast = out["mastery"]
            sg = out.get("skill_gains")
            cols = {
                "skill": batch.q, "response": batch.r, "next_skill": batch.q_next, "response_next": batch.r_next,
                "p_enc1": out["p_enc1"], "p_im": out["p_im"], "mastery_q": out["mastery_q"],
                "mastery_current": mast.gather(2, batch.q.unsqueeze(2)).squeeze(2),
                "mastery_next": mast.gather(2, batch.q_next.unsqueeze(2)).squeeze(2),
                "mastery_mean_all": mast.mean(-1), "gain_scalar": out["scalar_gains"], "gain_skill": out["gain_q"],
                "gain_std_across_skills": sg.std(-1) if sg is not None else torch.zeros_like(out["gain_q"]),
                "skills_gain_gt_0.1": (sg > 0.1).sum(-1).float() if sg is not None
                else (out["gain_q"] > 0.1).float(),
            }
            m = batch.mask
            for b in range(m.shape[0]):
                T = int(m[b].sum())
                frame = {k: v[b, :T].float().cpu().numpy() for k, v in cols.items()}
                frame["student"] = np.full(T, int(batch.students[b]))
                frame["window"] = np.full(T, int(idx[batch.index[b]]))
                frame["step"] = np.arange(T)
                rows.append(pd.DataFrame(frame))
    df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    for c in ("skill", "response", "next_skill", "response_next"):
        if c in df:
            df[c] = df[c].astype(int)
    return df


def run(cfg: Config, out_dir: str | os.PathLike, dataset=None, resume: bool = True,
        log=print) -> dict:
    """Train `cfg`, evaluate the best checkpoint on valid and test, write the run's files."""
    if cfg.model != "gainakt":  # a baseline (gainakt/baselines/): same splits, targets and metrics
        from .baselines import run as run_baseline
        return run_baseline(cfg, out_dir, dataset=dataset, resume=resume, log=log)
    out = Path(out_dir)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    exp = Experiment(cfg, dataset)
    last, best_path = out / "checkpoints" / "last.pt", out / "checkpoints" / "best.pt"
    history, best_auc, bad, start = [], -1.0, 0, 1
    if resume and last.exists():
        st = torch.load(last, map_location=exp.device, weights_only=False)
        exp.load_state(st)
        history, best_auc, bad, start = st["history"], st["best_auc"], st["bad_epochs"], st["epoch"] + 1
        log(f"resumed from epoch {st['epoch']} (best valid Encoder-1 AUC {best_auc:.4f})")
    if not history:
        history.append(exp.epoch_row(0, {"epoch_seconds": 0.0}))  # the untrained model
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
            _save_atomic(st, best_path)
        _save_atomic(st, last)
        write_text_atomic(out / "history.csv", pd.DataFrame(history).to_csv(index=False))
    if best_path.exists():
        exp.model.load_state_dict(torch.load(best_path, map_location=exp.device, weights_only=False)["model"])
    best_epoch = int(max(history[1:], key=lambda r: r["valid_enc1_auc"])["epoch"]) if len(history) > 1 else 0
    eval_gamma = cfg.eval_gamma_mode
    result = {
        "best_epoch": best_epoch, "epochs_run": len(history) - 1,
        "valid": exp.evaluate(exp.splits["valid"]),
        "test": exp.evaluate(exp.splits["test"], gamma_mode=eval_gamma),
        "untrained_valid": {k[len("valid_"):]: v for k, v in history[0].items() if k.startswith("valid_")},
        "params": parameter_stats(exp.model), "device": str(exp.device),
        "dataset": {"name": exp.data.name, "num_skills": exp.data.num_skills,
                    "num_students": exp.data.num_students,
                    **{f"{s}_interactions": int(sp.lengths.sum()) for s, sp in exp.splits.items()}},
    }
    traj = trajectories(exp, cfg.n_trajectory_students, cfg.trajectory_min_steps, eval_gamma)
    if len(traj):
        write_text_atomic(out / "trajectories.csv", traj.to_csv(index=False))
        checks = trajectory_checks(traj)
        write_text_atomic(out / "checks.csv", checks.to_csv(index=False))
        result["checks"] = checks.to_dict(orient="records")
        result["checks_passed"] = int(checks["passed"].sum())
    write_json_atomic(out / "metrics.json", json.loads(json.dumps(result, default=float)))
    return result

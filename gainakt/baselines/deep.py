"""Training loop of the deep baselines (DKT, SAKT): the library's batches (`batches.iter_steps`,
`Config.batching`), Adam with coupled weight decay, global-norm clipping, early stopping on the
validation AUC with `patience`, the best epoch's weights kept in memory (no checkpoint files, so
no resume), and the shared scoring (`common.score`) on the windows' next-step targets."""
from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F

from ..batches import iter_batches, iter_steps
from .common import score
from .dkt import DKT
from .sakt import SAKT


def build(cfg, num_skills: int) -> torch.nn.Module:
    """DKT: LSTM of width d_model. SAKT: d_model, n_heads, n_blocks, d_ff, positions up to seq_len."""
    if cfg.model == "dkt":
        return DKT(num_skills, cfg.d_model, cfg.dropout)
    return SAKT(num_skills, cfg.d_model, cfg.n_heads, cfg.n_blocks, cfg.d_ff, cfg.dropout, cfg.seq_len)


def _batching(cfg) -> dict:
    return dict(batching=cfg.batching, max_tokens=cfg.max_tokens)


@torch.no_grad()
def predict(net, split, cfg, device) -> tuple[np.ndarray, np.ndarray]:
    """(P(correct), r_next) of every scored target of `split`, [n_targets] each (batch order)."""
    net.eval()
    ps, ys = [], []
    for b in iter_batches(split, cfg.batch_size, shuffle=False, seed=cfg.seed, **_batching(cfg)):
        b = b.to(device)
        p = torch.sigmoid(net(b.q, b.r, b.q_next))
        ps.append(p[b.mask].double().cpu())
        ys.append(b.r_next[b.mask].double().cpu())
    return torch.cat(ps).numpy(), torch.cat(ys).numpy()


def train_epoch(net, opt, split, cfg, device, epoch: int) -> dict:
    """One pass; a step's loss is the mean BCE over all targets of its batches."""
    net.train()
    t0, loss_sum, n_sum, ps, ys = time.perf_counter(), 0.0, 0, [], []
    for step in iter_steps(split, cfg.batch_size, shuffle=cfg.shuffle, seed=cfg.seed, epoch=epoch,
                           length_strata=cfg.length_strata, **_batching(cfg)):
        step = [b.to(device) for b in step]
        total = sum(int(b.mask.sum()) for b in step)
        opt.zero_grad(set_to_none=True)
        for b in step:
            logit = net(b.q, b.r, b.q_next)[b.mask]
            loss = F.binary_cross_entropy_with_logits(logit, b.r_next[b.mask], reduction="sum")
            (loss / max(total, 1)).backward()
            loss_sum += float(loss.detach())
            ps.append(torch.sigmoid(logit.detach()).double().cpu())
            ys.append(b.r_next[b.mask].double().cpu())
        n_sum += total
        if cfg.gradient_clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.gradient_clip)
        opt.step()
    running = score(torch.cat(ps).numpy(), torch.cat(ys).numpy())
    return {"train_loss": loss_sum / max(n_sum, 1), "train_enc1_auc": running["enc1_auc"],
            "train_enc1_acc": running["enc1_acc"], "epoch_seconds": time.perf_counter() - t0}


def fit(cfg, ds, device, log=print) -> tuple[dict, list[dict], dict]:
    """Train with early stopping; -> ({split: score of the best epoch}, history rows, fit record)."""
    net = build(cfg, ds.num_skills).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    v = score(*predict(net, ds.valid, cfg, device))
    history = [{"epoch": 0, "train_loss": float("nan"), "train_enc1_auc": float("nan"),
                "train_enc1_acc": float("nan"), "valid_enc1_auc": v["enc1_auc"], "valid_enc1_acc": v["enc1_acc"],
                "epoch_seconds": 0.0}]
    best_auc, best_state, best_epoch, bad = -1.0, copy.deepcopy(net.state_dict()), 0, 0
    for epoch in range(1, cfg.epochs + 1):
        if bad >= cfg.patience:
            break
        row = {"epoch": epoch, **train_epoch(net, opt, ds.train, cfg, device, epoch)}
        if not np.isfinite(row["train_loss"]):
            log(f"epoch {epoch}: loss is not finite; stopping")
            history.append(row)
            break
        v = score(*predict(net, ds.valid, cfg, device))
        row.update(valid_enc1_auc=v["enc1_auc"], valid_enc1_acc=v["enc1_acc"])
        history.append(row)
        improved = v["enc1_auc"] > best_auc
        if improved:
            best_auc, best_state, best_epoch, bad = v["enc1_auc"], copy.deepcopy(net.state_dict()), epoch, 0
        else:
            bad += 1
        log(f"epoch {epoch:3d}  train auc {row['train_enc1_auc']:.4f} loss {row['train_loss']:.4f} | "
            f"valid auc {v['enc1_auc']:.4f} acc {v['enc1_acc']:.4f} | {row['epoch_seconds']:.1f}s"
            f"{' *' if improved else ''}")
    net.load_state_dict(best_state)
    stopped = bad >= cfg.patience
    finite = all(np.isfinite(r["train_loss"]) for r in history[1:])
    rec = {"converged": bool(stopped and finite), "iterations": len(history) - 1, "best_epoch": best_epoch,
           "convergence": ("early stopping: no validation AUC gain for patience epochs" if stopped and finite
                           else "training loss not finite" if not finite
                           else f"epoch cap reached ({cfg.epochs}) while validation AUC still improved within "
                                f"the last {cfg.patience} epochs"),
           "n_parameters": int(sum(p.numel() for p in net.parameters()))}
    scores = {name: score(*predict(net, getattr(ds, name), cfg, device)) for name in ("train", "valid", "test")}
    return scores, history, rec

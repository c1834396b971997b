"""Baselines in the same harness as GainAKT3Exp: same splits, same scored targets, same metrics.

    python -m gainakt train --model pfa --dataset assist2015 --out results/assist2015/pfa-baseline/seed0

`Config.model` selects one (`train.run` hands every model but "gainakt" to `run` here):

* skill_only -- logistic regression on the skill alone (skill_only.py)
* pfa        -- Performance Factors Analysis, scikit-learn logistic regression (pfa.py)
* pfa_monotone -- PFA with success and failure coefficients >= 0 (a failure never lowers the
                  prediction, as in a read-out of positive gains), scipy L-BFGS-B (pfa_monotone.py)
* afm        -- Additive Factors Model without the student term: a per-skill learning rate (afm.py)
* bkt        -- Bayesian Knowledge Tracing, vectorised EM in numpy (bkt.py)
* dkt        -- LSTM Deep Knowledge Tracing, torch (dkt.py, trained by deep.py)
* sakt       -- self-attentive knowledge tracing, torch (sakt.py, trained by deep.py)

Each run writes config.json (by the CLI), history.csv, skill_params.csv (per skill: attempts and
accuracy on the training folds, and the model's own per-skill parameters) and metrics.json last,
with Encoder 1's field names (valid/test enc1_auc, enc1_acc) so tables join them with the main
model's runs; `converged` / `convergence` say whether the fit converged.
"""
from __future__ import annotations

import time
from pathlib import Path

from .. import data as kt_data
from . import afm, bkt, pfa, pfa_monotone, skill_only
from .common import dataset_info, history_table, protocol_info, score, skill_table, write_run

CLASSICAL = {"skill_only": skill_only, "pfa": pfa, "pfa_monotone": pfa_monotone, "afm": afm, "bkt": bkt}
DEEP = ("dkt", "sakt")
MODELS = (*CLASSICAL, *DEEP)


def baseline_config(model: str, overrides: dict | None = None, **params):
    """The Config of a baseline run from notebook / matrix parameters (notebooks/train_baseline.ipynb):
    parameters that are None take the Config default; the title is "<model>-baseline" unless set."""
    from ..config import Config
    given = {k: v for k, v in params.items() if v is not None and k != "results_dir"}
    return Config(**{"title": f"{model}-baseline", **given, **(overrides or {}), "model": model})


def run(cfg, out_dir, dataset=None, resume: bool = True, log=print) -> dict:
    """Fit baseline `cfg.model`, score it on valid and test, write the run's files into `out_dir`.

    `resume` is accepted for train.run's signature; baselines keep no checkpoints and start over."""
    from ..train import resolve_device, set_seed
    if cfg.model not in MODELS:
        raise ValueError(f"config field 'model' = {cfg.model!r} is not a baseline; expected one of {MODELS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.num_threads:
        import torch
        torch.set_num_threads(cfg.num_threads)
    t0 = time.perf_counter()
    set_seed(cfg.seed)
    ds = dataset or kt_data.load_dataset(cfg.dataset, cfg.data_dir, fold=cfg.fold, seq_len=cfg.seq_len,
                                         synthetic=cfg.synthetic or None)
    table = skill_table(ds)
    device = "cpu"
    if cfg.model in CLASSICAL:
        hists = {k: history_table(getattr(ds, k)) for k in ("train", "valid", "test")}
        probs, params, rec = CLASSICAL[cfg.model].fit_predict(cfg, ds, hists)
        scores = {k: score(probs[k][h.target], h.response[h.target]) for k, h in hists.items()}
        history = [{"epoch": 1, **{f"{k}_enc1_{m}": scores[k][f"enc1_{m}"] for k in ("train", "valid")
                                   for m in ("auc", "acc")},
                    "iterations": rec["iterations"], "epoch_seconds": time.perf_counter() - t0}]
        table = table.merge(params, on="skill", how="left")
        best_epoch = 1
    else:
        from . import deep
        dev = resolve_device(cfg.device)
        device = str(dev)
        scores, history, rec = deep.fit(cfg, ds, dev, log)
        best_epoch = rec["best_epoch"]
    seconds = time.perf_counter() - t0
    result = {"model": cfg.model, "best_epoch": best_epoch, "epochs_run": len([r for r in history if r["epoch"]]),
              "converged": rec["converged"], "convergence": rec["convergence"],
              "fit": {k: v for k, v in rec.items() if k not in ("converged", "convergence")},
              "train": scores["train"], "valid": scores["valid"], "test": scores["test"],
              "seconds": seconds, "device": device, "num_threads": cfg.num_threads,
              "history_scope": "whole student history in the split" if cfg.model in CLASSICAL
              else "each window of at most seq_len on its own",
              "protocol": protocol_info(ds), "dataset": dataset_info(ds)}
    if not rec["converged"]:
        log(f"warning: {cfg.model} did not converge: {rec['convergence']}")
    write_run(out, result, history, table)
    log(f"{cfg.model} on {ds.name}: test AUC {scores['test']['enc1_auc']:.4f} acc {scores['test']['enc1_acc']:.4f} "
        f"| valid AUC {scores['valid']['enc1_auc']:.4f} | {seconds:.1f}s")
    return result


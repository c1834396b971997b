"""Does torch.compile or bf16 autocast pay? Time per training step of the fast path, four ways.

    python benchmarks/bench_step.py [--data-dir DIR] [--size book|full] [--device auto|cpu|cuda]
                                    [--steps 120] [--warmup 20] [--modes eager bf16 compile compile+bf16]

Each mode runs in a fresh process on the same steps (assist2015 training folds, first `--steps`
steps of epoch 1, the real update: `Experiment.train_step`) and prints the time of its first step
(compilation included), the median and total time of the steps after `--warmup`, and the mean
training loss over the timed steps beside eager's (bf16 changes the arithmetic, so the loss moves a
little; compile should not move it). Compilation uses `dynamic=True`: token buckets change the
batch shape at every step, and static shapes would recompile for each new one.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import time

import numpy as np
import torch

# common first: it puts this checkout's gainakt on sys.path
from common import PATHS, SIZES, add_common_args, add_size_args, run_child, serve_child
from gainakt.train import Experiment
from gainakt.variants import make_config


MODES = ("eager", "bf16", "compile", "compile+bf16")


def single(args) -> dict:
    cfg = make_config(args.variant, args.flavour, **SIZES[args.size], **PATHS["fast"], epochs=1, dataset="assist2015",
                      data_dir=args.data_dir, device=args.device, num_threads=args.threads, seed=0)
    exp = Experiment(cfg)
    if "compile" in args.mode:
        exp.model = torch.compile(exp.model, dynamic=True)
    autocast = (torch.autocast(exp.device.type, dtype=torch.bfloat16) if "bf16" in args.mode
                else contextlib.nullcontext())
    exp.model.train()
    sync = torch.cuda.synchronize if exp.device.type == "cuda" else (lambda: None)
    times, losses = [], []
    for step in itertools.islice(exp.steps(exp.splits["train"], shuffle=False, epoch=1), args.steps):
        t0 = time.perf_counter()
        with autocast:
            parts = exp.train_step(step)
        sync()
        times.append(time.perf_counter() - t0)
        losses.append(sum(float(l["total"]) * n for n, l in parts) / max(sum(n for n, _ in parts), 1))
    timed = times[args.warmup:]
    return {"mode": args.mode, "device": str(exp.device), "first_step_s": times[0],
            "median_ms": 1000 * float(np.median(timed)), "timed_s": float(np.sum(timed)), "timed_steps": len(timed),
            "loss": float(np.mean(losses[args.warmup:]))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, ["fast"])
    add_size_args(p)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--mode", default="eager", help=argparse.SUPPRESS)
    p.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if serve_child(args, single):
        return
    print(f"configuration: {args.variant} {args.flavour}, {args.size} size, fast path, assist2015, "
          f"steps {args.warmup + 1}-{args.steps} of epoch 1 timed\n")
    print(f"{'mode':14} {'device':7} {'first step s':>12} {'median ms':>10} {'timed s':>8} {'vs eager':>9} "
          f"{'mean loss':>10}")
    base = None
    for mode in args.modes:
        cmd = [sys.executable, __file__, "--single", "--mode", mode, "--size", args.size, "--device", args.device,
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads),
               "--variant", args.variant, "--flavour", args.flavour]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        r = run_child(cmd)
        base = base or r["timed_s"]
        print(f"{mode:14} {r['device']:7} {r['first_step_s']:12.1f} {r['median_ms']:10.1f} {r['timed_s']:8.2f} "
              f"{base / r['timed_s']:8.2f}x {r['loss']:10.5f}", flush=True)


if __name__ == "__main__":
    main()

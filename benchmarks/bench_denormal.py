"""Do subnormal floats slow the late epochs of a run? Time training steps from its checkpoints.

    python benchmarks/bench_denormal.py RUN_DIR [--checkpoints best last] [--steps 30]

RUN_DIR is a finished or running run folder with `config.json` and `checkpoints/*.pt` (checkpoints are
not committed: train the run first). For each checkpoint the script restores the model and Adam's
state, then times the first `--steps` training steps of an epoch (CPU seconds, one thread) three
ways in this one process: as trained (subnormals kept), with `torch.set_flush_denormal(True)`
(subnormals read and written as 0), and as trained again (the repeat shows the timing noise). Beside
each it counts the subnormal values (0 < |x| < the float's smallest normal, 1.2e-38 for float32) in
the parameters, the last step's gradients and Adam's moments. Flushing changes the arithmetic (values
below 1.2e-38 become 0), so it is a diagnosis here, not a setting of the runs.
"""
from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch

from common import machine_line  # first: it puts this checkout's gainakt on sys.path
from gainakt.repro import load_config
from gainakt.train import Experiment, load_checkpoint


def subnormals(tensors) -> tuple[int, int]:
    """(subnormal values, all values) over the floating-point tensors among `tensors`."""
    sub = total = 0
    for t in tensors:
        if t is None or not torch.is_tensor(t) or not t.is_floating_point():
            continue
        a = t.detach().abs()
        total += a.numel()
        sub += int(((a > 0) & (a < torch.finfo(t.dtype).tiny)).sum())
    return sub, total


def time_steps(cfg, ckpt: Path, steps: int, flush: bool) -> dict:
    exp = Experiment(cfg)
    exp.load_state(load_checkpoint(ckpt, "cpu"))
    torch.set_flush_denormal(flush)
    try:
        exp.model.train()
        t0 = time.process_time()
        for step in itertools.islice(exp.steps(exp.splits["train"], shuffle=False, epoch=1), steps):
            exp.train_step(step)
        cpu = time.process_time() - t0
    finally:
        torch.set_flush_denormal(False)
    params = list(exp.model.parameters())
    moments = [v for st in exp.opt.state.values() for v in st.values()]
    (sp, np_), (sg, _), (so, no) = subnormals(params), subnormals(p.grad for p in params), subnormals(moments)
    return {"cpu_s": cpu, "params": f"{sp}/{np_}", "grads": sg, "adam": f"{so}/{no}"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--checkpoints", nargs="+", default=["best", "last"])
    p.add_argument("--steps", type=int, default=30)
    a = p.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(a.run_dir)
    print(machine_line())
    print(f"{'checkpoint':10s} {'subnormals':18s} {'CPU-s':>7s}  {'subnormal params':>18s} {'grads':>6s} "
          f"{'Adam moments':>14s}")
    for name in a.checkpoints:
        ckpt = a.run_dir / "checkpoints" / f"{name}.pt"
        if not ckpt.exists():
            print(f"{name:10s} no checkpoint at {ckpt}")
            continue
        epoch = int(load_checkpoint(ckpt, "cpu")["epoch"])
        for label, flush in (("kept", False), ("flushed to 0", True), ("kept (again)", False)):
            r = time_steps(cfg, ckpt, a.steps, flush)
            print(f"{name + f' (ep {epoch})':10s} {label:18s} {r['cpu_s']:7.2f}  {r['params']:>18s} {r['grads']:>6d} "
                  f"{r['adam']:>14s}", flush=True)


if __name__ == "__main__":
    main()

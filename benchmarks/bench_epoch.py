"""Speed of one training epoch, fast path beside the plain path.

    python benchmarks/bench_epoch.py [--data-dir DIR] [--size book|full] [--scaling] [--share K]

Prints, in one run: interactions per second, epoch time, valid+test evaluation time and peak
memory (resident; on a GPU also allocated device memory) for
  fast     fused attention, gather practice, length buckets of about equal targets, one from each
           of 4 length strata per step (the default),
  strata2, strata8  the same with 2 or 8 strata (faster / closer to the plain path's metrics),
  windows  the same with buckets of 64 windows (the fast path before the token budget),
  packed   the original's padded batches packed into dense rows (what V2-V5 as run use: the
           padded batch's losses and gradients; Encoder 2 stays padded where they read padding),
  padded   the fast operators on the original's padded batches,
  plain    matmul attention, dense [B, L, C] practice, 64 windows padded to 200 (the original);
the cumulative sum against the per-step loop; the batch slots of each batching; the top lines of a
torch.profiler profile; with --scaling, epoch time against interactions and skills; with --share K,
the summed throughput of K book-size runs training at once (on a GPU: sharing it; on the CPU:
splitting the cores). --size full is the original model (d_model 256, 4 blocks, d_ff 512).
Each configuration runs in its own process so that its peak memory is its own. Whether the paths
learn the same model is benchmarks/bench_metrics.py's question (over seeds).
"""
from __future__ import annotations

import argparse
import itertools
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

# common first: it puts this checkout's gainakt on sys.path
from common import PATHS, SIZES, add_common_args, add_size_args, child_result, run_child, serve_child
from gainakt import data as kt_data
from gainakt.batches import iter_batches
from gainakt.layers import practice_loop
from gainakt.train import Experiment, subset
from gainakt.variants import make_config



def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def single(args) -> dict:
    """One measurement in this process; printed as JSON for the parent."""
    over = {**SIZES[args.size], "epochs": 1, **PATHS[args.path], "dataset": args.dataset, "data_dir": args.data_dir,
            "train_eval_fraction": 0.01, "device": args.device, "num_threads": args.threads}
    cfg = make_config(args.variant, args.flavour, **over)
    exp = Experiment(cfg)
    if args.fraction < 1.0:
        n = len(exp.splits["train"].lengths)
        exp.splits["train"] = subset(exp.splits["train"], torch.arange(int(n * args.fraction)))
    cuda = exp.device.type == "cuda"
    t0 = time.perf_counter()
    stats = exp.train_epoch(1)
    if cuda:
        torch.cuda.synchronize()
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    auc1 = auc2 = float("nan")
    if not args.no_eval:
        valid = exp.evaluate(exp.splits["valid"]); exp.evaluate(exp.splits["test"])
        auc1, auc2 = valid["enc1_auc"], valid["enc2_auc"]
    t_eval = time.perf_counter() - t0
    return {"path": args.path, "dataset": args.dataset, "skills": exp.data.num_skills,
            "interactions": stats["train_interactions"], "epoch_s": t_train,
            "interactions_per_s": stats["train_interactions"] / t_train, "eval_s": t_eval,
            "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads(), "device": str(exp.device),
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else float("nan"),
            "valid_enc1_auc": auc1, "valid_enc2_auc": auc2}


def _command(args, **kw) -> list[str]:
    cmd = [sys.executable, __file__, "--single", "--variant", args.variant, "--flavour", args.flavour,
           "--device", args.device, "--size", args.size, "--threads", str(args.threads)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}"] + ([] if v is True else [str(v)])
    return cmd


def spawn(args, **kw) -> dict:
    return run_child(_command(args, **kw))


def share(args, k: int) -> tuple[float, list[dict]]:
    """k book-size fast runs at once; returns the wall time of the slowest and their results."""
    threads = max(1, (os.cpu_count() or 1) // k) if args.device != "cuda" and not args.threads else args.threads
    sub = argparse.Namespace(**{**vars(args), "size": "book", "threads": threads})
    t0 = time.perf_counter()
    procs = [subprocess.Popen(_command(sub, path="fast", no_eval=True), stdout=subprocess.PIPE, text=True)
             for _ in range(k)]
    outs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - t0
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a shared run failed: exit codes {[p.returncode for p in procs]}")
    return wall, [child_result(o) for o in outs]


def cumsum_vs_loop(B=64, T=199, C=100, reps=5) -> tuple[float, float]:
    g = torch.rand(B, T, C)
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.cumsum(g, 1)
    t_sum = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for _ in range(reps):
        practice_loop(g)
    return t_sum, (time.perf_counter() - t0) / reps


def profile_top(args, n_steps=20, rows=12) -> str:
    cfg = make_config(args.variant, args.flavour, **{**SIZES[args.size], "dataset": "assist2015",
                                                     "data_dir": args.data_dir, "device": args.device})
    exp = Experiment(cfg)
    exp.model.train()
    steps = list(itertools.islice(exp.steps(exp.splits["train"], shuffle=True), n_steps))
    acts = [torch.profiler.ProfilerActivity.CPU]
    if exp.device.type == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=acts) as prof:
        for step in steps:
            exp.train_step(step)   # the same update as a training epoch (clipping, strata)
    key = "self_cuda_time_total" if exp.device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, ["fast", "strata2", "strata8", "windows", "packed", "padded", "plain"])
    p.add_argument("--scaling", action="store_true", help="also time epochs against interactions and skills")
    p.add_argument("--no-profile", action="store_true")
    add_size_args(p)
    p.add_argument("--share", type=int, nargs="*", default=[], metavar="K",
                   help="also run K book-size runs at once, for each K given")
    # internal: one measurement in a child process
    p.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--path", default="fast", help=argparse.SUPPRESS)
    p.add_argument("--dataset", default="assist2015", help=argparse.SUPPRESS)
    p.add_argument("--fraction", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--no-eval", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if serve_child(args, single):
        return
    print(f"configuration: {args.variant} {args.flavour}, {args.size} size {SIZES[args.size]}, "
          f"assist2015 train folds 1-4\n")
    rows = [spawn(args, path=name) for name in args.paths]
    print(f"{'path':8} {'device':6} {'interactions':>12} {'epoch s':>8} {'inter/s':>9} {'valid+test s':>12} "
          f"{'peak RSS MB':>11} {'peak GPU MB':>11} {'valid AUC enc1/enc2, 1 epoch, 1 seed':>37}")
    for r in rows:
        print(f"{r['path']:8} {r['device']:6} {r['interactions']:12d} {r['epoch_s']:8.1f} {r['interactions_per_s']:9.0f} "
              f"{r['eval_s']:12.1f} {r['peak_rss_mb']:11.0f} {r['peak_gpu_mb']:11.0f} "
              f"{r['valid_enc1_auc']:20.4f} / {r['valid_enc2_auc']:.4f}")
    by = {r["path"]: r for r in rows}
    if "plain" in by and "fast" in by:
        print(f"speed-up of the fast path over the plain path: {by['plain']['epoch_s'] / by['fast']['epoch_s']:.2f}x")
    print()
    for k in args.share:
        wall, res = share(args, k)
        total = sum(r["interactions"] for r in res)
        print(f"{k} book-size runs at once ({res[0]['device']}, {res[0]['threads']} threads each): "
              f"{wall:.1f} s wall for {k} epochs, {total / wall:,.0f} interactions/s in all "
              f"(each epoch {min(r['epoch_s'] for r in res):.1f}-{max(r['epoch_s'] for r in res):.1f} s)")

    t_sum, t_loop = cumsum_vs_loop()
    print(f"practice over [64, 199, 100]: cumsum {t_sum * 1e3:.2f} ms, per-step loop {t_loop * 1e3:.2f} ms "
          f"({t_loop / t_sum:.0f}x)")
    ds = kt_data.load_dataset("assist2015", args.data_dir)
    tr = ds.train
    print(f"{'batching':8} {'batches':>7} {'slots':>9} {'targets':>9} {'targets per batch: min':>23} {'median':>7} "
          f"{'max':>6} {'windows max':>11}")
    strata = PATHS["fast"]["length_strata"]
    # tokens/4: the fast path's training batches; tokens/1: its evaluation batches (whole buckets)
    for name, batching, k in ((f"tokens/{strata}", "tokens", strata), ("tokens/1", "tokens", 1),
                              ("windows", "windows", 1), ("padded", "padded", 1)):
        bs = list(iter_batches(tr, 64, batching=batching, length_strata=k))
        n = np.array([int(b.mask.sum()) for b in bs])
        print(f"{name:8} {len(bs):7d} {sum(b.mask.numel() for b in bs):9d} {int(n.sum()):9d} {n.min():23d} "
              f"{int(np.median(n)):7d} {n.max():6d} {max(b.q.shape[0] for b in bs):11d}")
    if not args.no_profile:
        print("\ntorch.profiler, 20 training steps of the fast path, top operators by self CPU time:")
        print(profile_top(args))
    if args.scaling:
        print("\nscaling (fast path, training epoch only):")
        print(f"{'dataset':12} {'skills':>6} {'interactions':>12} {'epoch s':>8} {'inter/s':>9}")
        for ds_name, frac in (("assist2015", 0.25), ("assist2015", 0.5), ("assist2015", 1.0),
                              ("assist2009", 1.0), ("statics2011", 1.0)):
            r = spawn(args, path="fast", dataset=ds_name, fraction=frac, no_eval=True)
            print(f"{ds_name:12} {r['skills']:6d} {r['interactions']:12d} {r['epoch_s']:8.1f} "
                  f"{r['interactions_per_s']:9.0f}")


if __name__ == "__main__":
    main()

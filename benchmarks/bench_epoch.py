"""Speed of one training epoch of the book configuration, fast path beside the plain path.

    python benchmarks/bench_epoch.py [--data-dir DIR] [--variant V1 --flavour as_run] [--scaling]

Prints, in one run: interactions per second, epoch time, valid+test evaluation time and peak
resident memory for the fast path (fused attention, length-bucketed batches, gather practice)
and the plain path (matmul attention, every window padded to 200, dense [B, L, C] practice);
the cumulative sum against the per-step loop; bucketed against padded batch slots; the top lines
of a torch.profiler profile; with --scaling, epoch time against interactions and skills.
Each configuration runs in its own process so that its peak memory is its own.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import torch

from gainakt import data as kt_data
from gainakt.model import practice_loop
from gainakt.train import Experiment, subset
from gainakt.variants import make_config

BOOK = dict(d_model=64, n_blocks=2, n_heads=4, d_ff=128, batch_size=64, epochs=1)
PATHS = {"fast": dict(attention="sdpa", bucket=True, practice_impl="auto"),
         "plain": dict(attention="plain", bucket=False, practice_impl="dense")}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def single(args) -> dict:
    """One measurement in this process; printed as JSON for the parent."""
    over = {**BOOK, **PATHS[args.path], "dataset": args.dataset, "data_dir": args.data_dir,
            "train_eval_fraction": 0.0}
    cfg = make_config(args.variant, args.flavour, **over)
    exp = Experiment(cfg)
    if args.fraction < 1.0:
        n = len(exp.splits["train"].lengths)
        exp.splits["train"] = subset(exp.splits["train"], torch.arange(int(n * args.fraction)))
    t0 = time.perf_counter()
    stats = exp.train_epoch(1)
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
            "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads(),
            "valid_enc1_auc": auc1, "valid_enc2_auc": auc2}


def spawn(args, **kw) -> dict:
    cmd = [sys.executable, __file__, "--single", "--variant", args.variant, "--flavour", args.flavour]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}"] + ([] if v is True else [str(v)])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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


def profile_top(args, steps=20, rows=12) -> str:
    cfg = make_config(args.variant, args.flavour, **{**BOOK, "dataset": "assist2015", "data_dir": args.data_dir})
    exp = Experiment(cfg)
    from gainakt.losses import total_loss
    batches = []
    for i, b in enumerate(exp.batches(exp.splits["train"], shuffle=True)):
        batches.append(b)
        if i + 1 >= steps:
            break
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for b in batches:
            out = exp.forward(b, training=True)
            loss = total_loss(out, b, exp.model, cfg)["total"]
            exp.opt.zero_grad(); loss.backward(); exp.opt.step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("GAINAKT_DATA"))
    p.add_argument("--variant", default="V1")
    p.add_argument("--flavour", default="as_run")
    p.add_argument("--scaling", action="store_true", help="also time epochs against interactions and skills")
    p.add_argument("--no-profile", action="store_true")
    # internal: one measurement in a child process
    p.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--path", default="fast", help=argparse.SUPPRESS)
    p.add_argument("--dataset", default="assist2015", help=argparse.SUPPRESS)
    p.add_argument("--fraction", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--no-eval", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.single:
        print(json.dumps(single(args)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, device "
          f"{'cuda' if torch.cuda.is_available() else 'cpu'}")
    print(f"configuration: {args.variant} {args.flavour}, {BOOK}, assist2015 train folds 1-4\n")
    rows = [spawn(args, path=name) for name in ("fast", "plain")]
    print(f"{'path':6} {'interactions':>12} {'epoch s':>8} {'inter/s':>9} {'valid+test s':>12} {'peak RSS MB':>11} "
          f"{'valid AUC enc1/enc2 after 1 epoch':>34}")
    for r in rows:
        print(f"{r['path']:6} {r['interactions']:12d} {r['epoch_s']:8.1f} {r['interactions_per_s']:9.0f} "
              f"{r['eval_s']:12.1f} {r['peak_rss_mb']:11.0f} {r['valid_enc1_auc']:17.4f} / {r['valid_enc2_auc']:.4f}")
    print(f"speed-up of the fast path: {rows[1]['epoch_s'] / rows[0]['epoch_s']:.2f}x\n")

    t_sum, t_loop = cumsum_vs_loop()
    print(f"practice over [64, 199, 100]: cumsum {t_sum * 1e3:.2f} ms, per-step loop {t_loop * 1e3:.2f} ms "
          f"({t_loop / t_sum:.0f}x)")
    ds = kt_data.load_dataset("assist2015", args.data_dir)
    tr = ds.train
    for bucket in (True, False):
        slots = sum(b.mask.numel() for b in kt_data.iter_batches(tr, 64, bucket=bucket))
        print(f"{'bucketed' if bucket else 'padded  '} batches: {kt_data.num_batches(tr, 64, bucket=bucket):4d}, "
              f"slots {slots:9d} for {int(tr.lengths.sum() - len(tr.lengths)):9d} targets")
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

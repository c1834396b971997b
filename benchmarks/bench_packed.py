"""Per-step time of the packed original batches beside the padded ones and the fast path, interleaved.

    python benchmarks/bench_packed.py [--data-dir DIR] [--threads 1] [--steps 20]
                                      [--configs V1/as_run V1/as_intended V2/as_run]
                                      [--dataset assist2015] [--paths fast packed padded]

For each variant/flavour, the paths (default: fast = length buckets with 4 strata, packed, padded)
train the same model size on the first `--steps` steps of epoch 1 (after 2 untimed ones), one step
of each path in turn, so that a machine shared with other work slows them alike; prints the median
step and each path's ratio to the first. Steps of these paths hold about the same number of targets
(an epoch has about as many of each), so per-step ratios are epoch ratios. E.g. V6 on statics2011's
1,223 exercise ids with and without the [N, C] gains:
`--dataset statics2011 --configs V6/as_intended --paths packed packed_practised`.
"""
from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

# common first: it puts this checkout's gainakt on sys.path
from common import PATHS, SIZES, machine_line
from gainakt.train import Experiment
from gainakt.variants import make_config



def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--configs", nargs="+", default=["V1/as_run", "V1/as_intended", "V2/as_run"])
    p.add_argument("--dataset", default="assist2015")
    p.add_argument("--paths", nargs="+", default=["fast", "packed", "padded"], choices=list(PATHS))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(machine_line(), f"dataset {args.dataset}")
    paths, first = args.paths, args.paths[0]
    print(f"{'config':16} " + " ".join(f"{p + ' ms':>18}" for p in paths)
          + " ".join(f"{p + '/' + first:>24}" for p in paths[1:]))
    for spec in args.configs:
        variant, flavour = spec.split("/")
        exps, steps = {}, {}
        for path in paths:
            cfg = make_config(variant, flavour, **SIZES["book"], **PATHS[path], dataset=args.dataset,
                              data_dir=args.data_dir, epochs=1, num_threads=args.threads, device="cpu")
            exps[path] = exp = Experiment(cfg)
            exp.model.train()
            steps[path] = list(itertools.islice(exp.steps(exp.splits["train"], shuffle=False, epoch=1),
                                                args.steps + 2))
        times = {p: [] for p in paths}
        for i in range(args.steps + 2):
            for path in paths:
                t0 = time.perf_counter()
                exps[path].train_step(steps[path][i % len(steps[path])])   # a small split: round again
                if i >= 2:
                    times[path].append(time.perf_counter() - t0)
        med = {p: float(np.median(v)) * 1e3 for p, v in times.items()}
        print(f"{spec:16} " + " ".join(f"{med[p]:18.1f}" for p in paths)
              + " ".join(f"{med[p] / med[first]:24.2f}" for p in paths[1:]), flush=True)


if __name__ == "__main__":
    main()

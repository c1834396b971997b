"""Per-step time of the packed original batches beside the padded ones and the fast path, interleaved.

    python benchmarks/bench_packed.py [--data-dir DIR] [--threads 1] [--steps 20]
                                      [--configs V1/as_run V1/as_intended V2/as_run]

For each variant/flavour, the paths fast (length buckets, 4 strata), packed and padded train the
same model size on the first `--steps` steps of epoch 1 (after 2 untimed ones), one step of each
path in turn, so that a machine shared with other work slows them alike; prints the median step
and the ratios. Steps of the three paths hold about the same number of targets (an epoch has about
as many of each), so per-step ratios are epoch ratios.
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
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(machine_line())
    paths = ("fast", "packed", "padded")
    print(f"{'config':16} " + " ".join(f"{p + ' ms':>10}" for p in paths) + f" {'padded/packed':>13} {'packed/fast':>11}")
    for spec in args.configs:
        variant, flavour = spec.split("/")
        exps, steps = {}, {}
        for path in paths:
            cfg = make_config(variant, flavour, **SIZES["book"], **PATHS[path], dataset="assist2015",
                              data_dir=args.data_dir, epochs=1, num_threads=args.threads, device="cpu")
            exps[path] = exp = Experiment(cfg)
            exp.model.train()
            steps[path] = list(itertools.islice(exp.steps(exp.splits["train"], shuffle=False, epoch=1),
                                                args.steps + 2))
        times = {p: [] for p in paths}
        for i in range(args.steps + 2):
            for path in paths:
                t0 = time.perf_counter()
                exps[path].train_step(steps[path][i])
                if i >= 2:
                    times[path].append(time.perf_counter() - t0)
        med = {p: float(np.median(v)) * 1e3 for p, v in times.items()}
        print(f"{spec:16} " + " ".join(f"{med[p]:10.1f}" for p in paths)
              + f" {med['padded'] / med['packed']:13.2f} {med['packed'] / med['fast']:11.2f}", flush=True)


if __name__ == "__main__":
    main()

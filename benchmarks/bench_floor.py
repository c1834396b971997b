"""The machine's own floor, then each path's epoch as a ratio to it and to the other paths (issue 22).

    python benchmarks/bench_floor.py [--threads N] [--fraction F] [--variants V1 V2] [--paths ...]
                                     [--json FILE]

1. Floor: achieved GFLOP/s of the model's matmuls at their real shapes (the linear layers over a
   batch's positions, the attention products over its rows), the FLOP count of one training epoch
   (forward + backward = 3 x forward; both encoders, Encoder 1's head, the gains projection) over
   the real targets, hence a floor in seconds; the same for evaluating valid + test (forward only).
   V2-V5 as run have a larger exact floor: their regularisers read Encoder 2 at every padded
   position (64 x 199 per batch), so that is printed too ("floor, padding exact").
2. Epoch times (book size, assist2015 training folds, one process per measurement) of
   fast (length buckets, 4 strata), packed (the padded batches packed), padded and plain, for
   V1 as run and V2 as run, as ratios to the floor, to the fast path and to the padded path.
   --fraction F times the first F of the training windows and reports time / F.
The printed ratios are the targets: V1 as run at most 3x the floor, evaluation at most 1x, V2 as
run at most 2x the fast path (exact losses: tests/test_packing.py). --json writes the epoch times
for benchmarks/cost_table.py.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

# common first: it puts this checkout's gainakt on sys.path
from common import SIZES, machine_line, run_child
from gainakt import data as kt_data


HERE = Path(__file__).resolve().parent


def _rate(fn, flops: float, min_s: float = 0.3) -> float:
    """GFLOP/s of fn (best of repeated timings)."""
    fn()
    best, spent = float("inf"), 0.0
    while spent < min_s:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return flops / best / 1e9


def matmul_rates(size: dict, C: int, rows: int, seq_rows: int, S: int) -> dict[str, float]:
    """GFLOP/s of each matmul kind: linear layers over `rows` positions; attention over `seq_rows`
    rows of S slots (scores and values products, one head at a time: [rows x H, S, dh])."""
    d, f, H = size["d_model"], size["d_ff"], size["n_heads"]
    out = {}
    for name, (i, o) in {"proj": (d, d), "ffn_in": (d, f), "ffn_out": (f, d), "head": (3 * d, f),
                         "gains": (d, C)}.items():
        x, w = torch.randn(rows, i), torch.randn(o, i)
        out[name] = _rate(lambda: torch.nn.functional.linear(x, w), 2.0 * rows * i * o)
    q, k = torch.randn(seq_rows * H, S, d // H), torch.randn(seq_rows * H, d // H, S)
    out["attention"] = _rate(lambda: torch.bmm(q, k), 2.0 * seq_rows * H * S * S * (d // H))
    return out


def forward_flops(size: dict, C: int, n: float, pairs: float, encoder: int) -> dict[str, float]:
    """Forward FLOPs by matmul kind of one encoder (1: with its prediction head; 2: with the gains
    projection, no feed-forward in its last block: nothing reads its context stream) over n
    positions holding `pairs` causal (query, key) pairs."""
    d, f, L = size["d_model"], size["d_ff"], size["n_blocks"]
    ffn_blocks = L if encoder == 1 else L - 1
    out = {"proj": 2 * d * d * 4 * L * n, "ffn_in": 2 * d * f * ffn_blocks * n, "ffn_out": 2 * f * d * ffn_blocks * n,
           "attention": 2 * 2 * d * L * pairs}
    out.update({"head": 2 * 3 * d * f * n} if encoder == 1 else {"gains": 2 * d * C * n})
    return out


def floor_seconds(flops: dict[str, float], rates: dict[str, float], backward: bool = True) -> float:
    return sum(v / (rates[k] * 1e9) for k, v in flops.items()) * (3.0 if backward else 1.0)


def batch_stats(split, batch_size: int) -> dict[str, float]:
    """Targets, causal pairs, padded slots of the original's batches (file order) of a split."""
    n = (split.lengths - 1).clamp_min(0).numpy().astype(np.float64)
    T = split.skills.shape[1] - 1
    n_batches = int(np.ceil(len(n) / batch_size))
    return {"targets": n.sum(), "pairs": (n * (n + 1) / 2).sum(), "padded": len(n) * T,
            "padded_pairs": len(n) * T * (T + 1) / 2, "batches": n_batches, "T": T}


def epoch_time(args, variant: str, path: str, evaluate: bool) -> dict:
    cmd = [sys.executable, str(HERE / "bench_epoch.py"), "--single", "--variant", variant, "--flavour", "as_run",
           "--size", "book", "--device", "cpu", "--threads", str(args.threads), "--path", path,
           "--fraction", str(args.fraction)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    if not evaluate:
        cmd += ["--no-eval"]
    r = run_child(cmd)
    r["epoch_full_s"] = r["epoch_s"] / args.fraction
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--fraction", type=float, default=1.0, help="share of the training windows timed")
    p.add_argument("--variants", nargs="+", default=["V1", "V2"])
    p.add_argument("--paths", nargs="+", default=["fast", "padded", "packed", "plain"])
    p.add_argument("--eval-paths", nargs="*", default=["fast", "padded", "packed"],
                   help="paths whose valid+test evaluation is timed (first variant only)")
    p.add_argument("--json", default=None, help="write the epoch times here (for cost_table.py)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(machine_line())
    size = SIZES["book"]
    ds = kt_data.load_dataset("assist2015", args.data_dir)
    C, B = ds.num_skills, size["batch_size"]
    tr, ev = batch_stats(ds.train, B), [batch_stats(s, B) for s in (ds.valid, ds.test)]
    rows = int(round(tr["targets"] / tr["batches"]))           # real positions per batch
    rates = matmul_rates(size, C, rows, max(1, int(np.ceil(rows / tr["T"]))), tr["T"])
    # padded batches: linear layers over B x T positions; attention rows as packed ones (the same
    # [S, S] products per row, and flash attention never holds B x H score matrices at once)
    rates_pad = {**matmul_rates(size, C, B * tr["T"], 1, tr["T"]), "attention": rates["attention"]}
    enc1, enc2 = (forward_flops(size, C, tr["targets"], tr["pairs"], e) for e in (1, 2))
    enc2_pad = forward_flops(size, C, tr["padded"], tr["padded_pairs"], 2)
    floor = floor_seconds(enc1, rates) + floor_seconds(enc2, rates)
    floor_pad = floor_seconds(enc1, rates) + floor_seconds(enc2_pad, rates_pad)
    total = lambda *ds: 3 * sum(sum(d.values()) for d in ds)
    ev_fl = [forward_flops(size, C, s["targets"], s["pairs"], e) for s in ev for e in (1, 2)]
    floor_eval = sum(floor_seconds(f, rates, backward=False) for f in ev_fl)
    print(f"book size {size}, assist2015 train folds: {int(tr['targets']):,} targets in {tr['batches']} batches "
          f"of {B} windows ({int(tr['padded']):,} padded slots)")
    print("achieved GFLOP/s at the model's shapes, " + f"{args.threads} thread(s): "
          + ", ".join(f"{k} {v:.1f}" for k, v in rates.items())
          + f" (real positions per batch: {rows}); padded batch: "
          + ", ".join(f"{k} {v:.1f}" for k, v in rates_pad.items()))
    print(f"epoch FLOPs (forward + backward, both encoders): {total(enc1, enc2) / 1e12:.3f} TFLOP -> floor "
          f"{floor:.2f} s; padding exact (V2-V5 as run: Encoder 2 over every padded slot): "
          f"{total(enc1, enc2_pad) / 1e12:.3f} TFLOP -> floor {floor_pad:.2f} s; valid + test evaluation "
          f"(forward): {total(*ev_fl) / 3e12:.3f} TFLOP -> floor {floor_eval:.2f} s")
    results = {"machine": machine_line(), "threads": args.threads, "fraction": args.fraction,
               "floor_s": floor, "floor_padding_exact_s": floor_pad, "floor_eval_s": floor_eval, "epochs": {}}
    print(f"\nepoch times (book size, as run; {args.fraction:g} of the training windows timed, "
          f"scaled to the epoch); ratios measured in this run")
    print(f"{'variant':7} {'path':7} {'epoch s':>8} {'/ floor':>8} {'/ exact floor':>13} {'/ fast':>7} "
          f"{'/ padded':>8} {'valid+test s':>12} {'/ eval floor':>12}")
    for v in args.variants:
        got = {}
        for path in args.paths:  # each row as soon as it is measured
            got[path] = r = epoch_time(args, v, path, evaluate=(v == args.variants[0] and path in args.eval_paths))
            results["epochs"][f"{v}/{path}"] = {"epoch_s": r["epoch_full_s"], "eval_s": r["eval_s"]}
            e = r["epoch_full_s"]
            exact = floor_pad if v != "V1" else floor
            rel = lambda other: f"{e / got[other]['epoch_full_s']:.2f}" if other in got else "-"
            timed = v == args.variants[0] and path in args.eval_paths
            if not timed:
                r["eval_s"] = results["epochs"][f"{v}/{path}"]["eval_s"] = float("nan")
            ev = f"{r['eval_s']:12.1f} {r['eval_s'] / floor_eval:12.2f}" if timed else f"{'-':>12} {'-':>12}"
            print(f"{v:7} {path:7} {e:8.1f} {e / floor:8.2f} {e / exact:13.2f} {rel('fast'):>7} {rel('padded'):>8} "
                  + ev, flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

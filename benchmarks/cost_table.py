"""CPU-hours of the experiment matrix from measured epoch times (bench_floor.py --json).

    python benchmarks/cost_table.py [--times FILE] [--matrix experiments.yml] [--runs]

Each run of the matrix costs epochs x (training epoch + its per-epoch evaluation: the train
fraction and valid) + two more evaluations (the untrained model; valid + test of the best one).
The training epoch is the measured one of the path the run's configuration takes (fast: length
buckets; packed / padded: the original's batches, V2-V5 as run on their own line since Encoder 2
then runs over the padding), scaled by the run's training interactions over assist2015's and by
its model size's FLOPs per position over the book size's (d_model^2 x blocks: rough for other
sizes). Evaluation time scales with the interactions evaluated. `matrix_cost(runs, times)` is the
function to call from elsewhere; it returns one row per run.
"""
from __future__ import annotations

import argparse
import json
from functools import lru_cache
from pathlib import Path

import common  # noqa: F401  (first: it puts this checkout's gainakt on sys.path)
from gainakt import data as kt_data
from gainakt.pipeline.matrix import expand
from gainakt.variants import make_config

REPO = Path(__file__).resolve().parents[1]
_NOTEBOOK_FIELDS = ("dataset", "data_dir", "seed", "epochs", "d_model", "n_blocks", "n_heads", "d_ff",
                    "batch_size", "device", "num_threads", "synthetic")


def run_config(params: dict):
    """The Config the training notebook builds from a run's papermill parameters."""
    kw = {k: params[k] for k in _NOTEBOOK_FIELDS if k in params}
    return make_config(params["variant"], params["flavour"], **kw, **params.get("overrides", {}))


def time_key(cfg) -> str:
    """Which measured epoch (bench_floor.py: '<variant>/<path>') stands for this configuration."""
    path = {"tokens": "fast", "windows": "fast"}.get(cfg.batching, cfg.batching)
    return f"{'V2' if cfg.regularisers_see_padding else 'V1'}/{path}"


@lru_cache(maxsize=None)
def _interactions(dataset: str, data_dir: str | None, synthetic_json: str, seq_len: int) -> tuple[int, int, int]:
    ds = kt_data.load_dataset(dataset, data_dir, seq_len=seq_len, synthetic=json.loads(synthetic_json) or None)
    return tuple(int((s.lengths - 1).clamp_min(0).sum()) for s in (ds.train, ds.valid, ds.test))


def interactions(cfg) -> tuple[int, int, int]:
    """Targets of the training, validation and test splits of a configuration's dataset."""
    return _interactions(cfg.dataset, cfg.data_dir, json.dumps(cfg.synthetic, sort_keys=True), cfg.seq_len)


def matrix_cost(runs, times: dict, data_dir: str | None = None, batching: dict | None = None) -> list[dict]:
    """One row per run: key, tags, epochs, the measurement used, seconds. `times` is the JSON of
    bench_floor.py (epoch and valid+test evaluation seconds per '<variant>/<path>', assist2015,
    book size). batching: {flavour: batching} replaces the runs' batching (what-if scenarios)."""
    ref = make_config("V1", "as_run", dataset="assist2015", data_dir=data_dir)
    ref_train, ref_valid, ref_test = interactions(ref)
    rows = []
    for run in runs:
        params = {**run.params, "data_dir": run.params.get("data_dir") or data_dir}
        if batching and run.flavour in batching:
            params["overrides"] = {**params.get("overrides", {}), "batching": batching[run.flavour]}
        cfg = run_config(params)
        key = time_key(cfg)
        m = times["epochs"].get(key) or times["epochs"].get(f"V1/{key.split('/')[1]}")
        eval_ref = next((times["epochs"][k]["eval_s"] for k in (f"V1/{key.split('/')[1]}", "V1/fast")
                         if k in times["epochs"] and times["epochs"][k]["eval_s"] == times["epochs"][k]["eval_s"]),
                        float("nan"))
        train, valid, test = interactions(cfg)
        size = (cfg.d_model ** 2 * cfg.n_blocks) / (64 ** 2 * 2)
        per_eval = eval_ref / (ref_valid + ref_test) * size
        epoch = m["epoch_s"] * train / ref_train * size + per_eval * (cfg.train_eval_fraction * train + valid)
        seconds = cfg.epochs * epoch + per_eval * (cfg.train_eval_fraction * train + 2 * valid + test)
        rows.append({"key": run.key, "tags": list(run.tags), "epochs": cfg.epochs, "time_of": key,
                     "size_factor": size, "seconds": seconds})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--times", default=str(REPO / "benchmarks/results/bench_floor_cpu_2cores.json"))
    p.add_argument("--matrix", default=str(REPO / "experiments.yml"))
    p.add_argument("--data-dir", default=None)
    p.add_argument("--runs", action="store_true", help="also print every run")
    args = p.parse_args()
    times = json.loads(Path(args.times).read_text())
    runs = expand(args.matrix)
    scenarios = {"as configured": None,
                 "as run padded": {"as_run": "padded"},
                 "as run packed": {"as_run": "packed"},
                 "both packed": {"as_run": "packed", "as_intended": "packed"}}
    tables = {name: matrix_cost(runs, times, args.data_dir, b) for name, b in scenarios.items()}
    rows = tables["as configured"]
    print(f"epoch times from {args.times} ({times['machine']}, {times['threads']} thread(s) per run)")
    if args.runs:
        for r in rows:
            print(f"  {r['key']:55} {r['epochs']:3d} epochs  {r['time_of']:10} {r['seconds'] / 3600:7.2f} h")
    print("CPU hours per tag; columns: the matrix as configured, and with the as-run runs on padded or packed "
          "batches, and both flavours packed")
    print(f"{'tag':24} {'runs':>5} " + " ".join(f"{n:>14}" for n in scenarios))
    tags = sorted({t for r in rows for t in (r["tags"] or ["(untagged)"])}) + ["all runs"]
    for t in tags:
        sel = lambda rs: [r for r in rs if t == "all runs" or t in (r["tags"] or ["(untagged)"])]
        print(f"{t:24} {len(sel(rows)):5d} "
              + " ".join(f"{sum(r['seconds'] for r in sel(tab)) / 3600:14.2f}" for tab in tables.values()))


if __name__ == "__main__":
    main()

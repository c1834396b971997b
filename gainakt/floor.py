"""The untrained model's gain statistics at a given model size: the noise floor of a trained run's.

Every gain statistic in the book is shown beside the untrained model of the same configuration (the
run's epoch-0 evaluation). The book trains the small configuration (d_model 64, 2 blocks); the seeds
trained d_model 256 with 4 blocks. The legacy scalar the seeds' "uniform gains" statistic reads is
sigmoid(mean over d_model of relu(v)) of Encoder 2's output v [B, T, D]: an average over d_model
values, whose spread across interactions shrinks as d_model grows. So the floor that matters for the
seeds' numbers is the untrained model at *their* size, which needs no training and no GPU: one
forward pass over a split.

    rows = floor_rows(["V2"], ["as_run"], ["small", "full"], [42, 43, 44], data_dir)
    compute_floor(rows, "results/_untrained/floor.csv")     # resumable: finished rows are kept
    summarise_floor(pd.read_csv("results/_untrained/floor.csv"))
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

SIZE_FIELDS = ("d_model", "n_blocks", "n_heads", "d_ff", "batch_size")
SIZES = ("small", "full")
STATS = ("gain_scalar_std", "gain_scalar_cv", "gain_skill_per_skill_cv", "enc1_auc", "enc2_auc")
KEY = ("dataset", "split", "variant", "flavour", "size", "seed")


def model_size(name: str, matrix=None) -> dict:
    """The model-size fields of "small" (the book's CPU configuration: experiments.yml's defaults)
    or "full" (the seeds' size: the Config defaults)."""
    from .config import Config
    if name == "full":
        return {k: getattr(Config(), k) for k in SIZE_FIELDS}
    if name == "small":
        from .pipeline.matrix_file import load_matrix
        path = Path(matrix) if matrix else Path(__file__).resolve().parents[1] / "experiments.yml"
        defaults = load_matrix(path)["defaults"]
        return {k: defaults[k] for k in SIZE_FIELDS}
    raise ValueError(f"size {name!r}: allowed {', '.join(SIZES)}")


def floor_rows(variants, flavours, sizes, seeds, dataset: str = "assist2015", split: str = "test") -> list[dict]:
    """The rows to compute, one per (variant, flavour, size, seed); ValueError naming the first bad
    variant, flavour, size or split (before anything runs)."""
    from .variants import FLAVOURS, VARIANTS
    for what, values, allowed in (("variant", variants, list(VARIANTS)), ("flavour", flavours, list(FLAVOURS)),
                                  ("size", sizes, list(SIZES)), ("split", [split], ["train", "valid", "test"])):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(f"{what} {bad[0]!r}: allowed {', '.join(map(str, allowed))}")
    return [dict(dataset=dataset, split=split, variant=v, flavour=f, size=s, seed=int(k))
            for v in variants for f in flavours for s in sizes for k in seeds]


def untrained_stats(row: dict, data_dir=None, threads: int = 1, device: str = "cpu", overrides=None) -> dict:
    """Evaluate the untrained model of `row`'s configuration on its split: the gain statistics and
    both encoders' AUC (`EpochMetrics` names), the size's fields and the seconds it took. `overrides`:
    further Config fields (e.g. the simulated learners' settings), applied before the size."""
    from .train import Experiment
    from .variants import make_config
    size = model_size(row["size"])
    cfg = make_config(row["variant"], row["flavour"], dataset=row["dataset"], data_dir=data_dir, seed=row["seed"],
                      num_threads=threads, device=device, **{**(overrides or {}), **size})
    t0 = time.perf_counter()
    exp = Experiment(cfg)
    res = exp.evaluate(exp.splits[row["split"]])
    return {**row, **{k: size[k] for k in ("d_model", "n_blocks")}, **{k: float(res[k]) for k in STATS},
            "interactions": int(res["interactions"]), "seconds": round(time.perf_counter() - t0, 1)}


def compute_floor(rows: list[dict], out, data_dir=None, threads: int = 1, device: str = "cpu",
                  progress: bool = True, overrides=None) -> pd.DataFrame:
    """Compute the rows not yet in `out` (a CSV), rewriting it atomically after each one, so that an
    interrupted call loses at most the row in progress; returns the whole table."""
    from tqdm.auto import tqdm

    from .atomic import write_text_atomic
    out = Path(out)
    done = pd.read_csv(out) if out.is_file() else pd.DataFrame(columns=[*KEY])
    have = set(map(tuple, done[list(KEY)].astype(str).to_numpy()))
    todo = [r for r in rows if tuple(str(r[k]) for k in KEY) not in have]
    for r in tqdm(todo, desc="untrained floor", disable=not progress):
        new = pd.DataFrame([untrained_stats(r, data_dir, threads, device, overrides)])
        done = new if done.empty else pd.concat([done, new], ignore_index=True)
        write_text_atomic(out, done.to_csv(index=False))
    return done


def summarise_floor(table: pd.DataFrame, stats=("gain_scalar_std", "gain_skill_per_skill_cv")) -> pd.DataFrame:
    """Mean and sd over seeds of each statistic, per (dataset, split, variant, flavour, size)."""
    keys = ["dataset", "split", "variant", "flavour", "size", "d_model", "n_blocks"]
    g = table.groupby(keys, sort=False)
    out = g.size().rename("seeds").to_frame()
    for s in stats:
        out[f"{s} mean"], out[f"{s} sd"] = g[s].mean(), g[s].std(ddof=1)
    return out.reset_index()

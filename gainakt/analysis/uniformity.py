"""Is the seeds' "uniform gains" number the untrained model's, at the seeds' size?

The seeds read "gains are nearly constant" from the legacy scalar's std (0.0015-0.0018 for V0-V3+).
The failure chapter's claim 1 shows that the untrained model's legacy scalar already passes their
"uniform" threshold at the book's size. This module puts the seeds' numbers beside the untrained
model at both sizes (`gainakt.floor`, results/_untrained/floor.csv) and the trained runs at the
book's size: the seeds trained d_model 256 with 4 blocks, and the legacy scalar's spread shrinks
with the width it averages over.

    floor = load_floor("results"); uniformity_table(runs, floor); uniformity_statement(runs, floor)
"""
from __future__ import annotations

import pandas as pd

from .designs import design_runs
from .runs import flavour_words, mean_sd, t_text

STAT = "gain_scalar_std"


def load_floor(results_root="results") -> pd.DataFrame | None:
    """results/_untrained/floor.csv (written by `python -m gainakt floor`), or None before it exists."""
    from .runs import resolve
    path = resolve(results_root) / "_untrained" / "floor.csv"
    return pd.read_csv(path) if path.is_file() else None


def _floor(floor: pd.DataFrame, variant: str, flavour: str, size: str) -> pd.Series:
    if floor is None or not len(floor):
        return pd.Series(dtype=float)
    sel = floor[(floor.variant == variant) & (floor.flavour == flavour) & (floor["size"] == size)
                & (floor.dataset == "assist2015") & (floor.split == "test")]
    return sel[STAT].astype(float)


def _trained(runs: pd.DataFrame, variant: str, flavour: str) -> pd.Series:
    """The trained book-size runs' legacy std (label small, assist2015, test split), one per seed."""
    g = design_runs(runs, "assist2015", variant, flavour, "small") if len(runs) else runs
    return g[f"test_{STAT}"].astype(float) if f"test_{STAT}" in g else pd.Series(dtype=float)


def uniformity_table(runs: pd.DataFrame, floor: pd.DataFrame | None, flavour: str = "as_run") -> pd.DataFrame:
    """One row per variant with a reported legacy std: the seeds' number, the untrained model's
    legacy std at the book's size and at the seeds' (test split, mean ± sd over seeds), the trained
    book-size runs' (label small), and the seeds' number as a multiple of the untrained full-size mean."""
    from ..variants import VARIANTS
    rows = []
    for key, v in VARIANTS.items():
        reported = v.reported.get("gain_std")
        small0, full0 = _floor(floor, key, flavour, "small"), _floor(floor, key, flavour, "full")
        if reported is None or not (len(small0) or len(full0)):
            continue
        trained = _trained(runs, key, flavour)
        rows.append({"variant": key, "flavour": flavour, "the seeds (trained, d 256)": reported,
                     "untrained, d 64 x 2 blocks": mean_sd(small0, digits=5),
                     "trained, d 64 x 2 blocks": mean_sd(trained, digits=5),
                     "untrained, d 256 x 4 blocks": mean_sd(full0, digits=5),
                     "the seeds / untrained d 256": round(reported / full0.mean(), 2) if len(full0) else None})
    return pd.DataFrame(rows)


def uniformity_statement(runs: pd.DataFrame, floor: pd.DataFrame | None, variant: str = "V2",
                         flavour: str = "as_run", min_seeds: int = 3) -> str:
    """One generated sentence: the untrained model's legacy std at both sizes for `variant`, their
    ratio beside the width ratio's square root, and where the seeds' trained number falls."""
    from ..variants import VARIANTS
    small0, full0 = _floor(floor, variant, flavour, "small"), _floor(floor, variant, flavour, "full")
    if min(len(small0), len(full0)) < min_seeds:
        return (f"{variant} {flavour_words(flavour)}: {len(small0)} and {len(full0)} of {min_seeds} untrained "
                f"seeds at the book's and the seeds' size; pending.")
    reported = VARIANTS[variant].reported["gain_std"]
    t = _trained(runs, variant, flavour)
    trained = (f"; at the book's size training takes it from {small0.mean():.5f} to "
               f"{mean_sd(t, digits=5, n=False)} ({len(t)} seeds)") if len(t) >= min_seeds else ""
    ratio = full0.mean() / small0.mean()
    seeds_ratio = reported / full0.mean()
    return (f"Before any training, {variant} {flavour_words(flavour)}'s legacy scalar has a std of "
            f"{mean_sd(full0, digits=5, n=False)} at the seeds' size (d_model 256, 4 blocks; {len(full0)} seeds, "
            f"test split) and {mean_sd(small0, digits=5, n=False)} at the book's (d_model 64, 2 blocks): "
            f"{ratio:.2f} times, where averaging over 4 times the width alone predicts 0.50 ("
            f"{t_text(full0, small0)}). The seeds' trained {reported} is {seeds_ratio:.2f} times the untrained "
            f"value of their size: by this statistic their trained model is "
            f"{'as' if abs(seeds_ratio - 1) < 0.25 else 'not as'} \"nearly constant\" as one that has not been "
            f"trained, so the number cannot show what training did. What training does to it at their size is not measured here (no GPU)" + trained + ".")


def size_note(floor: pd.DataFrame | None, variant: str = "V2", flavour: str = "as_run", min_seeds: int = 3) -> str:
    """For the audit's answer on the seeds' std: the untrained model of `variant` at the seeds' size
    beside the seeds' number, in one sentence ('' before the floor has `min_seeds` full-size seeds)."""
    from ..variants import VARIANTS
    full0 = _floor(floor, variant, flavour, "full")
    reported = VARIANTS[variant].reported.get("gain_std") if variant in VARIANTS else None
    if len(full0) < min_seeds or reported is None:
        return ""
    return (f" At the seeds' size (d_model 256, 4 blocks) the *untrained* {variant} "
            f"{flavour_words(flavour)} already gives {mean_sd(full0, digits=5, n=False)} ({len(full0)} seeds; "
            f"the seeds' {reported} is {reported / full0.mean():.2f} times it; Failure analyses, Table 3). So the "
            f"seeds' number is what a model of their size gives before any training: it cannot show that training, "
            f"or any behaviour of the code, made the gains uniform. What training does to it at their size is not "
            f"measured here (no GPU).")

"""The configurations of the corrected chapter (issue 19): which (variant, flavour, label) rows it
shows, in which order, and their runs. Shared by the design tables (`corrected`), the read-out
tables (`readout`, `curves`) and the targets (`targets`).

    for v, fl, label in configurations(runs):      # V2, V3 as intended, V6, then V6's ablation rows
        g = design_runs(runs, "assist2015", v, fl, label)
"""
from __future__ import annotations

from functools import partial

import pandas as pd

from .runs import mean_sd

# mean ± sd over seeds, as every table of the chapter writes it
fmt = partial(mean_sd, digits=3, n=False)

# (variant, flavour, label) rows of the design table, in order; V6's ablations are found by label.
COMPARISON = (("V2", "as_intended", "small"), ("V3", "as_intended", "small"), ("V6", "as_intended", "small"))
ABLATION_PREFIX = "small-v6-"


def configurations(runs: pd.DataFrame, dataset: str = "assist2015") -> list[tuple[str, str, str]]:
    """The (variant, flavour, label) rows that have finished runs: the comparison first, then V6's
    ablation rows sorted by label."""
    if not len(runs):
        return []
    sel = runs[runs.dataset == dataset]
    have = set(zip(sel.variant, sel.flavour, sel.label))
    rows = [c for c in COMPARISON if c in have]
    rows += sorted(c for c in have if c[0] == "V6" and str(c[2]).startswith(ABLATION_PREFIX))
    return rows


def design_runs(runs: pd.DataFrame, dataset: str, variant: str, flavour: str, label: str) -> pd.DataFrame:
    """The runs (one row per seed) of one configuration."""
    return runs[(runs.dataset == dataset) & (runs.variant == variant) & (runs.flavour == flavour)
                & (runs.label == label)]


def switch_name(label: str) -> str:
    """'small-v6-shared_curve' -> 'shared_curve'; '' for a variant's own row ('small')."""
    return label.removeprefix(ABLATION_PREFIX) if label != "small" else ""


def stopping_summary(stopping) -> str:
    """How a configuration's runs ended, one entry per way with its number of runs: ['budget, plateau',
    'budget, plateau', 'budget, still improving'] -> 'budget, plateau (2 of 3); budget, still improving
    (1 of 3)' (a run's own stopping text has commas, so entries are separated by semicolons); '' for
    none."""
    s = pd.Series([str(x) for x in stopping if isinstance(x, str) and x], dtype=object)
    if not len(s):
        return ""
    counts = s.value_counts(sort=False)
    return "; ".join(f"{way} ({k} of {len(s)})" for way, k in sorted(counts.items()))

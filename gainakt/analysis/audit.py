"""The audit's ablation table: one suspected behaviour of the original code switched alone.

A base group (e.g. V2 as run, label "small") and audit groups (label "small-audit-...") are runs of
the same variant and flavour whose configurations differ only in the switch under test. The switch
is not taken from the label: it is the set of config fields that differ from the base's config
(`runs.config_diff`), so a mislabelled row cannot report the wrong switch.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .runs import config_diff, mean_sd, welch_t

# mean ± sd over seeds, as every table of this chapter writes it
fmt = partial(mean_sd, digits=None, n=False)

# run-table column -> display name (test split of the best checkpoint)
ABLATION_METRICS = {
    "test_enc1_auc": "Enc-1 AUC",
    "test_enc2_auc": "Enc-2 AUC",
    "test_gain_skill_per_skill_cv": "per-skill gain CV",
    "test_gain_scalar_std": "legacy scalar std",
    "test_gain_skill_response_ratio": "correct/incorrect gain ratio",
    "test_saturation_fraction_readout": "saturated fraction (read-out skill)",
}


def ablation_table(runs: pd.DataFrame, variant: str, flavour: str, base_label: str = "small",
                   dataset: str = "assist2015", audit_prefix: str = "small-audit",
                   metrics: dict[str, str] = ABLATION_METRICS, extra_bases: dict | None = None) -> pd.DataFrame:
    """Rows: the base and each audit group of (variant, flavour); columns: the switch (fields that
    differ from the base), seeds, each metric as mean ± sd, and Welch t of the AUC changes."""
    sel = runs[(runs.dataset == dataset) & (runs.variant == variant) & (runs.flavour == flavour)] \
        if len(runs) else runs
    base = sel[sel.label == base_label]
    rows = []
    if base.empty:
        return pd.DataFrame(columns=["switch", "seeds", *metrics.values()])
    base_cfg = {k: v for k, v in base.iloc[0].config.items() if k != "seed"}
    groups = [(base_label, base)] + [(lab, g) for lab, g in sel.groupby("label") if lab.startswith(audit_prefix)]
    for lab, g in groups:
        diff = config_diff(base_cfg, g.iloc[0].config) if lab != base_label else {}
        row = {"switch": ", ".join(f"{k}={v}" for k, v in diff.items()) or f"base ({variant} {flavour})",
               "seeds": len(g)}
        for col, name in metrics.items():
            vals = g[col].to_numpy(float) if col in g else np.array([])
            row[name] = fmt(vals)
            if lab != base_label and col in ("test_enc1_auc", "test_enc2_auc") and col in g:
                d = np.nanmean(vals) - np.nanmean(base[col].to_numpy(float))
                row[f"Δ {name} (t)"] = f"{d:+.4f} ({welch_t(vals, base[col].to_numpy(float)):+.1f})"
        rows.append(row)
    return pd.DataFrame(rows)

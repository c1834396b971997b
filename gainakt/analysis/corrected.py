"""The corrected model (V6, issue 19) beside the seeds' variants: one row per configuration with the
evidence the issue asks for, each statistic beside its noise floor (the untrained model of the same
configuration) and its seed spread.

    design_table(load_runs("results", "assist2015"), load_reference("results", "assist2015"))

Rows: V2 and V3 as intended (the comparison), V6, and each of V6's one-switch ablation rows
(experiments.yml labels ``small-v6-<switch>``). Columns: seeds, how training ended, Encoder 1 and 2
test AUC, cross-seed agreement of per-skill mean gains (trained / untrained), and the Spearman of
per-skill mean gains with BKT learn rates, PFA success coefficients and training accuracy, with the
partial Spearman given accuracy for BKT learn.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .gains import REFERENCES, cross_seed_agreement, external_validity, read_skill_tables

# (variant, flavour, label) rows of the design table, in order; V6's ablations are found by label.
COMPARISON = (("V2", "as_intended", "small"), ("V3", "as_intended", "small"), ("V6", "as_intended", "small"))
ABLATION_PREFIX = "small-v6-"

# The targets (issue 19, "Evidence on assist2015").
TARGETS = {"agreement": 0.8, "ground_truth_spearman": 0.8, "ground_truth_partial": 0.6}


def _ms(values) -> str:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if not v.size:
        return ""
    return f"{v.mean():.3f}" + (f" ± {v.std(ddof=1):.3f}" if v.size > 1 else "")


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


def design_table(runs: pd.DataFrame, reference: pd.DataFrame | None, dataset: str = "assist2015",
                 col: str = "gain_own_mean", min_n: int = 20) -> pd.DataFrame:
    """One row per configuration (see module doc); empty when none has finished."""
    out = []
    for v, fl, label in configurations(runs, dataset):
        g = runs[(runs.dataset == dataset) & (runs.variant == v) & (runs.flavour == fl) & (runs.label == label)]
        row = {"variant": v, "flavour": fl, "switch": label.removeprefix(ABLATION_PREFIX) if label != "small" else "",
               "seeds": len(g), "training": ", ".join(sorted(set(g.stopping))),
               "E1 test AUC": _ms(g.get("test_enc1_auc", [])), "E2 test AUC": _ms(g.get("test_enc2_auc", []))}
        for name, untrained in (("agreement", False), ("agreement (untrained)", True)):
            a = cross_seed_agreement(read_skill_tables(g.dir, untrained=untrained), col, min_n)
            row[name] = "" if not np.isfinite(a["mean"]) else f"{a['mean']:.3f}" + (
                f" ± {a['sd']:.3f}" if np.isfinite(a["sd"]) else "")
        if reference is not None:
            refs = {c: n for c, n in REFERENCES.items() if c in reference}
            per_seed = [external_validity(t, reference, refs, col, "train_accuracy", min_n)
                        for t in read_skill_tables(g.dir)]
            if per_seed:
                both = pd.concat(per_seed)
                for ref_name, grp in both.groupby("reference", sort=False):
                    row[f"rho {ref_name}"] = _ms(grp.spearman)
                bkt = both[both.reference == REFERENCES.get("bkt_learn")]
                if len(bkt):
                    row["partial rho BKT learn | accuracy"] = _ms(bkt["partial (given accuracy)"])
        out.append(row)
    return pd.DataFrame(out)

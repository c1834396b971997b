"""Where a split of the skills comes from. A loss that rewards the variance of per-skill gains in
(0, 1) drives them to its optimum, half the skills at 0 and half at 1 (`gains.saturation_table`).
This module asks which skills land on which side, and what decided it: the untrained model of the
same run (its gains before any training) or the data (the skill's accuracy).

`split_sides(runs)` has one row per run (the AUC of each predictor for the side a skill lands on),
`split_origin_table` their mean ± sd per variant and flavour, `split_origin_text` the sentence the
failure chapter prints under the table.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import auc
from .gains import _groups, fmt

PREDICTORS = {   # column of the skill tables -> what the table calls it
    "gain_to_skill_mean": "untrained gain to the skill",
    "gain_own_mean": "untrained own gain",
    "accuracy": "skill accuracy",
}
# An AUC this far from 0.5 (either way) counts as "decided by" the predictor in the generated text
DECIDED, FOLLOWS = 0.9, 0.7


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """`metrics.auc` of `score` for `label` over the finite scores (ties count half); NaN where a
    class is missing."""
    ok = np.isfinite(score)
    return auc(score[ok], label[ok])


def split_sides(runs: pd.DataFrame, labels=("small",), dataset: str = "assist2015",
                col: str = "gain_own_mean", low: float = 0.05, high: float = 0.95, min_n: int = 20,
                min_side: int = 5) -> pd.DataFrame:
    """One row per run (configurations `labels`, in that order) whose trained per-skill mean gains
    (`col`, skills seen at least `min_n` times) sit at both bounds, at least `min_side` skills below
    `low` and as many above `high` (the bounds of `gains.saturation_table`): label, variant, flavour,
    seed, the share of skills at the bounds, the share of those at the upper one, and one AUC per
    `PREDICTORS` entry for "upper" among the skills at the bounds (the gains from the untrained model
    of the same run, accuracy from the data). AUC 1 (or 0): that predictor decided the side; 0.5: it
    tells nothing."""
    rows = []
    for label in ([labels] if isinstance(labels, str) else labels):
        for v, fl, g in _groups(runs, label, dataset):
            for _, r in g.iterrows():
                row = _sides(Path(r.dir), col, low, high, min_n, min_side)
                if row:
                    rows.append({"label": label, "variant": v, "flavour": fl, "seed": r.seed, **row})
    return pd.DataFrame(rows, columns=["label", "variant", "flavour", "seed", "at the bounds", "upper",
                                       *PREDICTORS.values()])


def _sides(d: Path, col, low, high, min_n, min_side) -> dict | None:
    tr, un = d / "skill_gains.csv", d / "skill_gains_untrained.csv"
    if not (tr.exists() and un.exists()):
        return None
    u = pd.read_csv(un).add_suffix("_untrained").rename(columns={"skill_untrained": "skill"})
    m = pd.read_csv(tr).merge(u, on="skill")
    m = m[(m.n >= min_n) & m[col].notna()]
    at = (m[col] < low) | (m[col] > high)
    on = (m.loc[at, col] > high).to_numpy()
    if min(on.sum(), (~on).sum()) < min_side:
        return None
    row, m = {"at the bounds": at.mean(), "upper": on.mean()}, m[at]
    for c, name in PREDICTORS.items():
        src = c if c == "accuracy" else f"{c}_untrained"   # accuracy: the data's, in either table
        row[name] = _auc(m[src].to_numpy(float), on) if src in m else np.nan
    return row


KEYS = ["label", "variant", "flavour"]


def _per_config(sides: pd.DataFrame):
    return sides.groupby(KEYS, sort=False)


def split_origin_table(sides: pd.DataFrame) -> pd.DataFrame:
    """`split_sides` as mean ± sd over seeds, one row per configuration (the label column only where
    there is more than one) and the kind of split (`split_kind`)."""
    rows = [{"label": lab, "variant": v, "flavour": fl, "seeds": len(g),
             "share at the bounds": fmt(g["at the bounds"]), "of those, share at the upper": fmt(g["upper"]),
             **{f"AUC, {name}": fmt(g[name]) for name in PREDICTORS.values()},
             "the side is": KIND_TEXT[split_kind(g)[0]]}
            for (lab, v, fl), g in _per_config(sides)]
    t = pd.DataFrame(rows)
    return t.drop(columns="label") if len(t) and t.label.nunique() == 1 else t


KIND_TEXT = {"init": "decided before training", "acc": "following accuracy", "none": "predicted by neither"}


def split_kind(g: pd.DataFrame) -> tuple[str, float]:
    """What decided the split of one configuration's runs (rows of `split_sides`): 'init' where an
    untrained gain's mean AUC is at least `DECIDED` (or at most 1 - DECIDED), else 'acc' where the
    accuracy's is at least `FOLLOWS` (or at most 1 - FOLLOWS), else 'none'; with the mean AUC that
    decided it ('none': the largest distance of any mean AUC from 0.5)."""
    init_cols = [n for c, n in PREDICTORS.items() if c != "accuracy"]
    acc = PREDICTORS["accuracy"]
    means = g[init_cols + [acc]].mean()
    dev = (means - 0.5).abs().fillna(0.0)
    best = dev[init_cols].idxmax()
    if dev[best] >= DECIDED - 0.5:
        return "init", float(means[best])
    if dev[acc] >= FOLLOWS - 0.5:
        return "acc", float(means[acc])
    return "none", float(dev.max())


def kind_phrase(kind: str, value: float) -> str:
    """`split_kind`'s answer in words: 'decided before training (mean AUC 0.99)', or for 'none'
    'predicted by neither (every mean AUC within 0.12 of 0.5)'."""
    if kind == "none":
        return f"{KIND_TEXT[kind]} (every mean AUC within {value:.2f} of 0.5)"
    return f"{KIND_TEXT[kind]} (mean AUC {value:.2f})"


def _name(v: str, fl: str) -> str:
    return f"{v} {fl.replace('_', ' ')}"


def split_origin_text(sides: pd.DataFrame) -> str:
    """One sentence per kind of split (`split_kind`), naming the configurations and their AUCs."""
    if not len(sides):
        return "No run splits its skills at the bounds."
    kinds = {"init": [], "acc": [], "none": []}
    for (_, v, fl), g in _per_config(sides):
        k, a = split_kind(g)
        kinds[k].append((_name(v, fl), a))

    def listed(items):
        return ", ".join(n for n, _ in items)

    def span(items):
        lo, hi = min(a for _, a in items), max(a for _, a in items)
        return f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f} to {hi:.2f}"

    out = []
    if kinds["init"]:
        out.append(f"Decided before training, by the untrained model's gains (mean AUC {span(kinds['init'])}): "
                   f"{listed(kinds['init'])}.")
    if kinds["acc"]:
        out.append(f"Following the skill's accuracy (mean AUC {span(kinds['acc'])}): {listed(kinds['acc'])}.")
    if kinds["none"]:
        out.append(f"Predicted by neither (every mean AUC within {max(d for _, d in kinds['none']):.2f} of 0.5): "
                   f"{listed(kinds['none'])}.")
    return " ".join(out)


def split_switch_text(sides: pd.DataFrame, base: str = "small") -> str:
    """For every configuration whose kind of split (`split_kind`) differs from its base's (label
    `base`, same variant and flavour), one clause: the configuration, and the kind before and after.
    The rows whose kind is the base's are counted, not listed."""
    kinds = {key: split_kind(g) for key, g in _per_config(sides)}
    changed, same = [], 0
    for (lab, v, fl), (k, a) in kinds.items():
        ref = kinds.get((base, v, fl))
        if lab == base or ref is None:
            continue
        if k == ref[0]:
            same += 1
            continue
        changed.append(f"{_name(v, fl)} with `{lab.removeprefix(base + '-')}` ({KIND_TEXT[ref[0]]} "
                       f"→ {KIND_TEXT[k]}, mean AUC {a:.2f})")
    if not changed:
        return f"No switch changes what decides the split ({same} compared with their base)."
    return (f"What decides the split changes in {len(changed)} of {len(changed) + same} configurations "
            f"compared with their base: " + "; ".join(changed) + ".")

"""Did each run train to its plateau? How every run of a configuration ended (early stop, a plateau
within the budget, or still improving when the budget ran out), and the faithful runs (the seeds'
epoch budget, label ``small``) beside the same configurations trained to their plateau (label
``small-converged``): the two side by side, each gain statistic with its untrained model, and what
training to the plateau shifts beyond seed noise (Welch's test over seeds).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..variants import VARIANTS
from .replication import headline, replication_table
from .runs import beyond_noise, flavour_words, welch_p, welch_t


def training_status(runs: pd.DataFrame, label: str = "small", dataset: str = "assist2015") -> pd.DataFrame:
    """Per variant and flavour: seeds done, epochs asked, epochs run and best epoch per seed, and
    how each run ended (early stop / budget, plateau / budget, still improving)."""
    sel = runs[(runs.dataset == dataset) & (runs.label == label)] if len(runs) else runs
    if sel.empty:
        return pd.DataFrame(columns=["variant", "flavour", "seeds", "epochs asked", "epochs run",
                                     "best epoch", "how it ended"])
    order = {k: i for i, k in enumerate(VARIANTS)}
    out = (sel.sort_values("seed").groupby(["variant", "flavour"])
           .agg(seeds=("seed", lambda s: ", ".join(map(str, s))), epochs_asked=("epochs", "first"),
                epochs_run=("epochs_run", lambda s: ", ".join(map(str, s))),
                best_epoch=("best_epoch", lambda s: ", ".join(map(str, s))),
                ended=("stopping", lambda s: "; ".join(sorted(set(s)))))
           .reset_index())
    out = out.sort_values(["variant", "flavour"], key=lambda c: c.map(order) if c.name == "variant" else c)
    return out.rename(columns={"epochs_asked": "epochs asked", "epochs_run": "epochs run",
                               "best_epoch": "best epoch", "ended": "how it ended"}).reset_index(drop=True)


CONVERGED_LABEL = "small-converged"


def converged_comparison(runs: pd.DataFrame, metrics: dict[str, str], variants=("V2", "V3"),
                         dataset: str = "assist2015") -> pd.DataFrame:
    """The faithful runs (label ``small``: the seeds' epoch budget) beside the same configurations
    trained to their plateau (label ``small-converged``: up to 60 epochs, the original's early
    stopping): per variant, flavour and configuration, seeds, how the runs ended and each metric's
    mean ± sd over seeds, each gain statistic followed by its untrained model ('<name>, untrained',
    as in `headline`: the noise floor of the same seeds and configuration). Empty where neither has
    finished."""
    rows = []
    for label, name in (("small", "faithful"), (CONVERGED_LABEL, "to the plateau")):
        t = headline(runs, metrics, label, dataset)
        s = training_status(runs, label, dataset)
        if t.empty:
            continue
        t = t.merge(s[["variant", "flavour", "seeds", "best epoch", "how it ended"]], on=["variant", "flavour"])
        rows.append(t[t.variant.isin(variants)].assign(configuration=name))
    if not rows:
        return pd.DataFrame()
    out = pd.concat(rows, ignore_index=True)
    order = {v: i for i, v in enumerate(variants)}
    out = out.sort_values(["variant", "flavour", "configuration"], key=lambda c: c.map(order) if c.name == "variant" else c)
    named = [c for name in metrics.values() for c in (name, f"{name}, untrained") if c in out]
    cols = ["variant", "flavour", "configuration", "seeds", "best epoch", "how it ended", *named]
    return out[cols].reset_index(drop=True)


def plateau_shift(runs: pd.DataFrame, metrics: dict[str, str], variants=("V2", "V3"),
                  dataset: str = "assist2015") -> pd.DataFrame:
    """What training to the plateau changes: per variant, flavour and metric (column -> display
    name) with runs in both configurations, the faithful mean, the plateau mean, their difference,
    Welch's t and p over seeds and whether the shift is beyond seed noise (`beyond_noise`)."""
    sel = runs[runs.dataset == dataset] if len(runs) else runs
    rows = []
    for v in variants:
        for fl in ("as_run", "as_intended"):
            g = sel[(sel.variant == v) & (sel.flavour == fl)] if len(sel) else sel
            a = g[g.label == "small"] if len(g) else g
            b = g[g.label == CONVERGED_LABEL] if len(g) else g
            if a.empty or b.empty:
                continue
            for c, name in metrics.items():
                if c not in g:
                    continue
                x, y = a[c].to_numpy(float), b[c].to_numpy(float)
                t, p = welch_t(y, x), welch_p(y, x)
                rows.append({"variant": v, "flavour": fl, "metric": name, "faithful": np.nanmean(x),
                             "to the plateau": np.nanmean(y), "shift": np.nanmean(y) - np.nanmean(x),
                             "n faithful": int(np.isfinite(x).sum()), "n plateau": int(np.isfinite(y).sum()),
                             "Welch t": t, "p": p, "beyond seed noise": beyond_noise(p)})
    return pd.DataFrame(rows)


def plateau_text(shift: pd.DataFrame) -> str:
    """One sentence per variant and flavour of `plateau_shift`: which metrics moved beyond seed
    noise (with the shift and Welch's test) and which stayed within it. '' for an empty table."""
    out = []
    for (v, fl), g in (shift.groupby(["variant", "flavour"], sort=False) if len(shift) else ()):
        moved = [f"{r.metric} {r.faithful:.4f} → {r['to the plateau']:.4f} (Welch t {r['Welch t']:+.1f}, "
                 f"p {r.p:.2g})" for _, r in g[g["beyond seed noise"]].iterrows()]
        still = [f"{r.metric} (p {r.p:.2g})" for _, r in g[~g["beyond seed noise"]].iterrows()]
        n = f"{int(g['n plateau'].min())} against {int(g['n faithful'].min())} seeds"
        head = f"{v} {flavour_words(fl)} ({n}): "
        if moved:
            head += "beyond seed noise, " + "; ".join(moved)
            head += (f"; within it, {', '.join(still)}." if still else ".")
        else:
            head += f"no metric moves beyond seed noise ({', '.join(still)})."
        out.append(head)
    return " ".join(out)


VERDICT_WORDS = ("reproduced", "close", "differs")


def verdict_kind(text: str) -> str:
    """The kind of a `replication.verdict` text: 'reproduced', 'close' or 'differs' (with
    ' (= untrained)' where our value is the untrained model's), or the text itself for the rest
    ('not run yet', 'not measured', one or preliminary runs)."""
    word = next((w for w in VERDICT_WORDS if w in text.split(":")[0].split(" (")[0].split()), None)
    if word is None:
        return text
    return word + (" (= untrained)" if "= untrained" in text else "")


def verdict_changes(runs: pd.DataFrame, variants=("V2", "V3"), dataset: str = "assist2015") -> pd.DataFrame:
    """Every number the seeds report for `variants`, judged on the faithful runs and on the runs to
    the plateau (`replication.replication_table` of each label): one row per variant, flavour and
    quantity with both runs, the seeds' number, both verdicts, and `changed` where their kinds
    (`verdict_kind`) differ."""
    tables = {lab: replication_table(runs, label=lab, dataset=dataset) for lab in ("small", CONVERGED_LABEL)}
    a, b = (t.set_index(["variant", "quantity"]) for t in tables.values())
    rows = []
    for fl in ("as_run", "as_intended"):
        for (v, q), ra in a.iterrows():
            if v not in variants or (v, q) not in b.index:
                continue
            va, vb = ra.get(f"verdict ({fl})", "not run yet"), b.loc[(v, q)].get(f"verdict ({fl})", "not run yet")
            if "not run yet" in (va, vb):
                continue
            rows.append({"variant": v, "flavour": fl, "quantity": q, "seeds report": ra["seeds report"],
                         "faithful": ra[fl], "to the plateau": b.loc[(v, q), fl],
                         "verdict, faithful": va, "verdict, to the plateau": vb,
                         "changed": verdict_kind(va) != verdict_kind(vb)})
    return pd.DataFrame(rows)


def verdict_changes_text(changes: pd.DataFrame) -> str:
    """'Of N verdicts ..., M change ...: <each change>.' ('' for an empty table)."""
    if not len(changes):
        return ""
    ch = changes[changes.changed]
    head = (f"Of the {len(changes)} verdicts on the seeds' numbers for "
            f"{', '.join(f'{v} {flavour_words(f)}' for v, f in dict.fromkeys(zip(changes.variant, changes.flavour)))}, "
            f"{len(ch)} change{'s' if len(ch) == 1 else ''} with training to the plateau")
    if not len(ch):
        return head + "."
    return head + ": " + "; ".join(
        f"{r.variant} {flavour_words(r.flavour)}, {r.quantity} (seeds {r['seeds report']:.4g}): "
        f"{verdict_kind(r['verdict, faithful'])} → {verdict_kind(r['verdict, to the plateau'])}"
        for _, r in ch.iterrows()) + "."

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

from .runs import NOISE_ALPHA, beyond_noise, flavour_words, mean_sd, switch_text, welch_p, welch_t

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
    differ from the base), seeds, each metric as mean ± sd, and the AUC changes with Welch's t and p."""
    sel = runs[(runs.dataset == dataset) & (runs.variant == variant) & (runs.flavour == flavour)] \
        if len(runs) else runs
    base = sel[sel.label == base_label]
    rows = []
    if base.empty:
        return pd.DataFrame(columns=["switch", "seeds", *metrics.values()])
    groups = [(base_label, base)] + [(lab, g) for lab, g in sel.groupby("label") if lab.startswith(audit_prefix)]
    for lab, g in groups:
        row = {"switch": (switch_text(base, g) if lab != base_label else "") or f"base ({variant} {flavour})",
               "seeds": len(g)}
        for col, name in metrics.items():
            vals = g[col].to_numpy(float) if col in g else np.array([])
            row[name] = fmt(vals)
            if lab != base_label and col in ("test_enc1_auc", "test_enc2_auc") and col in g:
                d = np.nanmean(vals) - np.nanmean(base[col].to_numpy(float))
                b = base[col].to_numpy(float)
                row[f"Δ {name} (t, p)"] = f"{d:+.4f} ({welch_t(vals, b):+.1f}, {welch_p(vals, b):.2g})"
        rows.append(row)
    # the noise floor: the base's runs before training (epoch 0, read on the validation split)
    floor = {"switch": f"untrained {variant} {flavour} (epoch 0, validation split)", "seeds": len(base)}
    for col, name in metrics.items():
        u = "untrained_" + col.split("_", 1)[1]
        floor[name] = fmt(base[u].to_numpy(float)) if u in base else ""
    if any(floor[name] for name in metrics.values()):
        rows.append(floor)
    return pd.DataFrame(rows)


def effects(runs: pd.DataFrame, variant: str, flavour: str, base_label: str = "small",
            dataset: str = "assist2015", audit_prefix: str = "small-audit",
            metrics: dict[str, str] = ABLATION_METRICS) -> pd.DataFrame:
    """Numeric companion of `ablation_table`: one row per audit group with the switch, seeds, and per
    metric (display name) the change of the mean from the base, Welch's t and its two-sided p over seeds."""
    sel = runs[(runs.dataset == dataset) & (runs.variant == variant) & (runs.flavour == flavour)] \
        if len(runs) else runs
    base = sel[sel.label == base_label] if len(sel) else sel
    rows = []
    if base.empty:
        return pd.DataFrame(rows)
    for lab, g in sel.groupby("label"):
        if not lab.startswith(audit_prefix):
            continue
        row = {"switch": switch_text(base, g), "seeds": len(g), "base seeds": len(base),
               "identical": identical_metrics(g, base, metrics)}
        for col, name in metrics.items():
            if col in g and col in base:
                a, b = g[col].to_numpy(float), base[col].to_numpy(float)
                row[f"Δ {name}"], row[f"t {name}"] = float(np.nanmean(a) - np.nanmean(b)), welch_t(a, b)
                row[f"p {name}"] = welch_p(a, b)
        rows.append(row)
    return pd.DataFrame(rows)


def identical_metrics(group: pd.DataFrame, base: pd.DataFrame, metrics: dict[str, str] = ABLATION_METRICS,
                      rtol: float = 1e-6) -> list[str]:
    """Display names of the metrics on which `group` equals `base` seed for seed (every seed of the
    group has a base run of the same seed, and every value agrees to a relative `rtol`, NaN with NaN).

    Equality to six significant digits in every seed is not "within seed noise": it says the switch
    never reached that computation in this configuration (e.g. an option of the other encoder), which
    the paragraph must say instead of a Welch t. The tolerance admits float rounding only: runs of
    the same seed on different code versions differ around the 8th digit when nothing changed."""
    if "seed" not in group or "seed" not in base or group.empty:
        return []
    b = base.drop_duplicates("seed").set_index("seed")
    if not set(group.seed) <= set(b.index):
        return []
    same = []
    for col, name in metrics.items():
        if col not in group or col not in b:
            continue
        x = group[col].to_numpy(float)
        y = b.loc[group.seed, col].to_numpy(float)
        if np.all((np.abs(x - y) <= rtol * np.abs(y)) | (np.isnan(x) & np.isnan(y))) and not np.all(np.isnan(x)):
            same.append(name)
    return same


def _std_context(runs: pd.DataFrame, variant: str, col: str = "test_gain_scalar_std") -> str:
    """Where the bases stand against the seeds' number, so that 'explains' reads as a direction: e.g.
    'V2 as run 0.0063 ± 0.0011 and as intended 0.0066 ± 0.0004 (test split; the seeds: 0.0017). '"""
    from ..variants import VARIANTS
    parts, means = [], []
    for fl in ("as_run", "as_intended"):
        b = runs[(runs.variant == variant) & (runs.flavour == fl) & (runs.label == "small")] if len(runs) else runs
        if len(b) and col in b:
            parts.append(f"{flavour_words(fl)} {fmt(b[col].to_numpy(float))}")
            means.append(float(np.nanmean(b[col].to_numpy(float))))
    seeds = VARIANTS[variant].reported.get("gain_std") if variant in VARIANTS else None
    if not parts:
        return ""
    far = seeds and all(m > 2 * seeds for m in means)   # both bases at least twice the seeds' number
    return (f"The bases: {variant} " + " and ".join(parts) + f" (test split{f'; the seeds: {seeds}' if seeds else ''})"
            + (": neither is that uniform, so a behaviour explains the number only as far as it moves the std"
               " toward it. " if far else ". "))


# The audit's three questions (issue 17): the metric each is read from.
QUESTIONS = {"std": "legacy scalar std", "enc2": "Enc-2 AUC"}


def answers(runs: pd.DataFrame, variant: str = "V2", min_seeds: int = 3, alpha: float = NOISE_ALPHA,
            metrics: dict[str, str] = ABLATION_METRICS, floor: pd.DataFrame | None = None,
            also: tuple[str, ...] = ("V4",), yardstick: tuple[str, float] | None = None) -> list[str]:
    """Plain answers, from both directions of the audit (from `variant` as run each behaviour removed,
    from `variant` as intended each put back): which behaviours move the legacy scalar std (the seeds'
    'about 0.0017'), which move Encoder 2's test AUC, and which change no metric, each judged by
    a two-sided Welch test over seeds at level `alpha`. Rows with fewer than `min_seeds` seeds on either side are
    counted as pending, never as 'changes nothing'. `floor` (`uniformity.load_floor`): the untrained
    models, whose std at the seeds' size the std answer ends with. `also`: further bases whose rows
    (V4's factory, difficulty and velocity) count too, each named with its base. `yardstick` (name,
    test AUC), e.g. the skill-only logistic regression: the Encoder-2 answer ends with the best
    Encoder 2 of any base or finished row beside it, since a switch that explains a gap to the seeds'
    number need not explain why Encoder 2 is weak."""
    eff = {(v, fl): effects(runs, v, fl, metrics=metrics) for v in (variant, *also) for fl in ("as_run", "as_intended")}
    done = {key: e[(e.seeds >= min_seeds) & (e["base seeds"] >= min_seeds)] if len(e) else e for key, e in eff.items()}
    pending = sum(len(e) - len(done[key]) for key, e in eff.items())
    if not any(len(d) for d in done.values()):
        return [f"Pending: no audit row of {variant} has {min_seeds} seeds on both sides yet."]
    out = []

    def verb(v, fl):
        return ("removed" if fl == "as_run" else "put back") + ("" if v == variant else f", {v} {flavour_words(fl)}")

    def moving(name):
        """Rows that move `name` beyond seed noise: (explaining, the other way). A behaviour explains a
        low number when removing it raises the number or putting it back lowers it."""
        hits, other = [], []
        for (v, fl), d in done.items():
            for _, r in d.iterrows():
                t, p = r.get(f"t {name}", np.nan), r.get(f"p {name}", np.nan)
                if beyond_noise(p, alpha):
                    text = f"`{r.switch}` ({verb(v, fl)}: {r[f'Δ {name}']:+.4g}, t {t:+.1f}, p {p:.2g})"
                    (hits if (t > 0) == (fl == "as_run") else other).append(text)
        return hits, other

    for key, q in (("std", "Which behaviours explain the legacy scalar std of about 0.0017?"),
                   ("enc2", "Which behaviours explain the low Encoder-2 AUC?")):
        hits, other = moving(QUESTIONS[key])
        text = ("; ".join(hits) + "." if hits else
                f"None of the finished rows: no behaviour, removed, raises the {QUESTIONS[key]} beyond seed noise"
                f" (or, put back, lowers it).")
        if key == "std":
            from .uniformity import size_note
            text = _std_context(runs, variant) + text + size_note(floor, variant, "as_run", min_seeds)
        if other:
            text += " Moving it the other way (the behaviour kept it higher): " + "; ".join(other) + "."
        if key == "enc2" and yardstick is not None:
            text += _enc2_ceiling(runs, done, variant, also, yardstick)
        out.append(f"**{q}** " + text)
    still = []
    for (v, fl), d in done.items():
        for _, r in d.iterrows():
            ps = [r.get(f"p {n}", np.nan) for n in metrics.values()]
            if not any(beyond_noise(p, alpha) for p in ps):
                same = len(r.get("identical") or []) == sum(f"t {n}" in r for n in metrics.values())
                still.append(f"`{r.switch}` ({verb(v, fl)}"
                             f"{'; equal to the base in every seed' if same else ''})")
    out.append("**Which change nothing?** " + ("; ".join(still) + " (no metric beyond seed noise)." if still
                                              else "Every finished row changes at least one metric."))
    if pending:
        out.append(f"({pending} audit rows have fewer than {min_seeds} seeds and are not counted yet.)")
    return out


def _enc2_ceiling(runs: pd.DataFrame, done: dict, variant: str, also: tuple[str, ...],
                  yardstick: tuple[str, float], col: str = "test_enc2_auc") -> str:
    """' No base or row reaches ...': the best mean Encoder-2 test AUC over the bases and the finished
    audit rows, against the yardstick model's test AUC."""
    sel = runs[runs.variant.isin((variant, *also)) & (runs.dataset == "assist2015")] if len(runs) else runs
    means = sel[sel.label.eq("small") | sel.label.str.startswith("small-audit")].groupby(
        ["variant", "flavour", "label"])[col].mean() if len(sel) else pd.Series(dtype=float)
    if not len(means) or not any(len(d) for d in done.values()):
        return ""
    (v, fl, lab), best = means.idxmax(), means.max()
    name, auc = yardstick
    where = "its base" if lab == "small" else f"the row `{lab.removeprefix('small-audit-')}`"
    lead = ("Whatever is switched, Encoder 2 stays weak: the best of every base and finished row is" if best < auc
            else "The best Encoder 2 of every base and finished row is")
    return (f" {lead} {best:.4f} ({v} {flavour_words(fl)}, {where}), "
            f"{'below' if best < auc else 'above'} the {name} ({auc:.4f}, Replication, Table 3).")


def version_drift(runs: pd.DataFrame, variant: str = "V2", flavour: str = "as_run", col: str = "test_enc1_auc",
                  name: str = "Encoder 1's test AUC",
                  rows=("small-audit-gamma_eval", "small-audit-global_index"), dataset: str = "assist2015") -> str:
    """How far rows whose switch cannot reach `col` (evaluation-only switches for Encoder 1) sit from
    their base, seed for seed, where the rows ran on another code commit than the base: the drift of
    the code version alone, beside the base's seed sd. '' where every row shares the base's commit or
    nothing is comparable."""
    sel = runs[(runs.dataset == dataset) & (runs.variant == variant) & (runs.flavour == flavour)] if len(runs) else runs
    base = sel[sel.label == "small"].drop_duplicates("seed").set_index("seed") if len(sel) else sel
    diffs, commits = [], set()
    for lab in rows:
        g = sel[sel.label == lab]
        for _, r in g.iterrows():
            if r.seed in base.index and col in r:
                diffs.append(abs(r[col] - base.loc[r.seed, col]))
                commits |= {str(r.get("git_commit", ""))[:7]}
    if not diffs or len(base) < 2:
        return ""
    bc = {str(c)[:7] for c in base.get("git_commit", pd.Series(dtype=str))}
    if commits <= bc:
        return ""
    return (f"{variant} {flavour_words(flavour)}'s rows ran on a later code commit ({', '.join(sorted(commits))}) than "
            f"their base ({', '.join(sorted(bc))}). Where the switch cannot reach {name} (an "
            f"evaluation-only switch), the row still differs from the base by up to {max(diffs):.1e} seed for seed: "
            f"what the change of code version alone does to that metric, against a seed sd of "
            f"{base[col].std(ddof=1):.4f}. For that metric 'equal to six digits' cannot be read off; only a change "
            f"beyond seed noise counts.")


def _verb(variant: str, flavour: str, switch: str) -> str:
    """How a row relates to its base: 'removed from' (as run, the field set to the intended value),
    'put back into' (as intended, the field set to what the variant ran with), else 'set in' (a value
    of another variant, e.g. V3's Encoder-1 query tried on V2)."""
    from ..variants import make_config

    other = make_config(variant, "as_intended" if flavour == "as_run" else "as_run")
    pairs = [p.split("=", 1) for p in switch.split(", ") if "=" in p]
    if pairs and all(str(getattr(other, k, None)) == v for k, v in pairs):
        return "removed from" if flavour == "as_run" else "put back into"
    return "set in"


def switch_notes(runs: pd.DataFrame, variants=("V2", "V4"), min_seeds: int = 3, alpha: float = NOISE_ALPHA,
                 metrics: dict[str, str] = ABLATION_METRICS) -> list[str]:
    """One short paragraph per audited switch (Config field): what it is (the field's help text) and,
    for each direction that has runs, what switching it alone did: every metric whose change from the
    base is beyond seed noise (two-sided Welch p < `alpha`), or 'no metric beyond seed noise', or
    'pending' while either side has fewer than `min_seeds` seeds."""
    from ..config import _fields

    found: dict[str, list[str]] = {}
    for variant in variants:
        for fl in ("as_run", "as_intended"):
            eff = effects(runs, variant, fl, metrics=metrics)
            for _, r in eff.iterrows():
                names = [s.split("=")[0] for s in r.switch.split(", ") if s]
                key = ", ".join(names) or "?"
                where = f"{_verb(variant, fl, r.switch)} {variant} {flavour_words(fl)} ({r.switch})"
                if min(r.seeds, r["base seeds"]) < min_seeds:
                    found.setdefault(key, []).append(f"{where}: pending ({r.seeds} of {min_seeds} seeds)")
                    continue
                moved = [f"{name} {r[f'Δ {name}']:+.4g} (t {r[f't {name}']:+.1f}, p {r[f'p {name}']:.2g})"
                         for name in metrics.values() if beyond_noise(r.get(f"p {name}", np.nan), alpha)]
                same = list(r.get("identical") or [])
                text = "; ".join(moved) if moved else "no metric beyond seed noise"
                if same and len(same) == sum(f"t {n}" in r for n in metrics.values()):
                    text = ("every metric equal to the base's to six significant digits, seed for seed: the"
                            " switch did not reach the trained model or its test metrics in this configuration")
                elif same:
                    text += (f"; equal to the base's to six significant digits, seed for seed (the switch"
                             f" never reached them): {', '.join(same)}")
                found.setdefault(key, []).append(f"{where}: {text}")
    fields = _fields()
    out = []
    for key, parts in found.items():
        helps = [fields[n].metadata.get("help", "") for n in key.split(", ") if n in fields]
        what = f" ({'; '.join(h for h in helps if h)})" if any(helps) else ""
        out.append(f"**`{key}`**{what}. " + " ".join(p[0].upper() + p[1:] + "." for p in parts))
    return out

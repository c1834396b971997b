"""The replication table: every number the seeds report beside ours (mean and sd over seeds),
the untrained model of the same configuration as the noise floor, and a verdict per number.

Gain statistics are computed twice: over the whole test split (``test_*``) and, as the seeds did,
over the rows of the trajectory file (the first 10 test windows with at least 10 steps,
``sample_*``); the verdict on a gain statistic uses the seeds' rows.

Verdict rule (stated in the chapter): with n >= 3 seeds a reported number is *reproduced* when it
lies within two standard deviations of our mean, else it *differs* (by how many sd); with fewer
seeds the verdict is marked preliminary. A gain statistic whose trained value lies within two sd of
the untrained model's is additionally marked "= untrained": training did not move it.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..report import REPORTED_MAP
from ..repro import compare_histories
from ..variants import VARIANTS
from .runs import beyond_noise, flavour_words, mean_sd, switch_text, t_text, welch_p, welch_t

# mean ± sd over seeds, as every table of this chapter writes it
fmt = partial(mean_sd, digits=None)

# quantities whose noise floor (the untrained model) is meaningful
FLOOR_PREFIXES = ("gain_", "mastery_corr", "saturation", "per_skill")


def reported_column(key: str) -> str:
    """Column of the run table (analysis.runs) holding our value of a reported quantity."""
    split, metric = REPORTED_MAP.get(key, (None, key))
    if split is None:
        return metric
    if split == "params":
        return f"param_{metric}"
    return f"{split}_{metric}"


# A difference smaller than this is "close", not "differs", however small our seed spread: the seeds'
# numbers are single runs of a model 4 times wider (d_model 256, 4 blocks), so a gap this small is
# within what their own seed and size could move; an AUC gap under 0.005 changes no ranking of the book.
CLOSE_AUC = 0.005
CLOSE_RELATIVE = 0.05   # of the seeds' value, for every other quantity


def close_tolerance(key: str, reported: float) -> float:
    """The practical tolerance of `verdict` for a reported quantity (`CLOSE_AUC`, `CLOSE_RELATIVE`)."""
    return CLOSE_AUC if "auc" in key else CLOSE_RELATIVE * abs(reported)


def _sds(diff: float, sd: float) -> str:
    """How many of our seed sds a difference is, readable: 'sd 0', '> 100 sd' or 'N sd'."""
    if sd == 0:
        return "our sd 0"
    k = diff / sd
    return "> 100 sd" if k > 100 else f"{k:.1f} sd" if k < 10 else f"{k:.0f} sd"


def verdict(reported: float, values: np.ndarray, floor: np.ndarray | None = None, min_seeds: int = 3,
            key: str = "") -> str:
    """Our values (one per seed) against the seeds' single number: 'reproduced (within 2 sd)';
    'close' where the gap is beyond 2 sd but under the practical tolerance of `key`
    (`close_tolerance`); else 'differs', with the gap and its size in our seed sds. '; = untrained'
    where our mean is within 2 sd of the untrained model (`floor`): a match that training did not
    make; '; both at chance' for an AUC that is 0.5 on both sides."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return "not measured"
    mean = v.mean()
    sd = v.std(ddof=1) if v.size > 1 else np.nan
    diff = abs(mean - reported)
    way = "higher" if mean > reported else "lower"
    if v.size == 1 or not np.isfinite(sd):
        text = f"one run: {way} by {diff:.3g}"
    elif diff <= 2 * sd:
        text = "reproduced (within 2 sd)"
    elif key and diff <= close_tolerance(key, reported):
        text = f"close: ours {way} by {diff:.3g} ({_sds(diff, sd)}; under {close_tolerance(key, reported):.2g})"
    else:
        text = f"differs: ours {way} by {diff:.3g} ({_sds(diff, sd)})"
    if floor is not None:
        f = floor[np.isfinite(floor)]
        if f.size and np.isfinite(sd) and abs(mean - f.mean()) <= 2 * max(sd, f.std(ddof=1) if f.size > 1 else 0):
            text += "; = untrained"
    if "auc" in key and abs(mean - 0.5) < 0.01 and abs(reported - 0.5) < 0.02:
        text += "; both at chance"
    if 1 < v.size < min_seeds:
        text = f"preliminary (n={v.size}): " + text
    return text


def _our_values(g: pd.DataFrame, col: str) -> np.ndarray:
    """Our values of a reported quantity, one per seed: a test-split gain statistic is read on the
    seeds' own rows (10 test windows, audit 5.3; column `sample_*`) where the runs have them."""
    vals = g[col].to_numpy(float) if col in g else np.array([])
    scol = "sample_" + col.split("_", 1)[1] if col.startswith("test_gain") else None
    if scol and scol in g:
        svals = g[scol].to_numpy(float)
        return svals if np.isfinite(svals).any() else vals
    return vals


def replication_table(runs: pd.DataFrame, label: str = "small", dataset: str = "assist2015",
                      flavours=("as_run", "as_intended")) -> pd.DataFrame:
    """One row per (variant, reported quantity): the seeds' number, ours per flavour as
    'mean ± sd (n)', the untrained value, and the verdict of each flavour."""
    sel = runs[(runs.dataset == dataset) & (runs.label == label)] if len(runs) else runs
    rows = []
    for v in VARIANTS.values():
        for key, rep in v.reported.items():
            col = reported_column(key)
            row = {"variant": v.key, "quantity": key, "seeds report": rep}
            for fl in flavours:
                g = sel[(sel.variant == v.key) & (sel.flavour == fl)] if len(sel) else sel
                vals = g[col].to_numpy(float) if col in g else np.array([])
                floor = None
                ucol = "untrained_" + col.split("_", 1)[1] if col.startswith(("test_", "valid_")) else None
                if ucol and key.startswith(("gain", "mastery", "per_skill", "response", "corr_inv")) and ucol in g:
                    floor = g[ucol].to_numpy(float)
                    row[f"untrained ({fl})"] = fmt(floor)
                row[fl] = fmt(vals)
                scol = "sample_" + col.split("_", 1)[1] if col.startswith("test_gain") else None
                if scol and scol in g:   # the seeds' own rows: 10 test windows (audit 5.3)
                    row[f"{fl} (seeds' rows)"] = fmt(g[scol].to_numpy(float))
                vals = _our_values(g, col)
                row[f"verdict ({fl})"] = verdict(rep, vals, floor, key=key) if len(vals) else "not run yet"
            rows.append(row)
    return pd.DataFrame(rows)


def headline(runs: pd.DataFrame, metrics: dict[str, str], label: str = "small",
             dataset: str = "assist2015", floor: bool = True) -> pd.DataFrame:
    """Variant x flavour rows, one 'mean ± sd (n)' column per metric (column -> display name); with
    `floor`, each gain statistic (`FLOOR_PREFIXES`) is followed by the untrained model of the same
    runs ('<name>, untrained': epoch 0, read on the validation split, the only split evaluated before
    training)."""
    sel = runs[(runs.dataset == dataset) & (runs.label == label)] if len(runs) else runs
    rows = []
    for v in VARIANTS:
        for fl in ("as_run", "as_intended"):
            g = sel[(sel.variant == v) & (sel.flavour == fl)] if len(sel) else sel
            if g.empty:
                continue
            row = {"variant": v, "flavour": fl}
            for c, name in metrics.items():
                row[name] = fmt(g[c].to_numpy(float)) if c in g else ""
                u = "untrained_" + c.split("_", 1)[1]
                if floor and c.split("_", 1)[1].startswith(FLOOR_PREFIXES) and u in g:
                    row[f"{name}, untrained"] = fmt(g[u].to_numpy(float))
            rows.append(row)
    return pd.DataFrame(rows)


def identical_training(runs: pd.DataFrame, pairs=(("V4", "V3"), ("V5", "V3")), flavour: str = "as_run",
                       label: str = "small", dataset: str = "assist2015") -> pd.DataFrame:
    """Runs whose effective configuration equals another variant's (the original factory dropped
    V4's and V5's options): per pair and seed, whether each was trained or copied
    (`gainakt.pipeline.derive`) and the largest |difference| over every test and validation metric
    and every history column but the clock. A trained pair at 0 is the evidence a copy rests on."""
    sel = runs[(runs.dataset == dataset) & (runs.label == label) & (runs.flavour == flavour)]
    rows = []
    for a, b in pairs:
        for seed in sorted(set(sel[sel.variant == a].seed) & set(sel[sel.variant == b].seed)):
            ra = sel[(sel.variant == a) & (sel.seed == seed)].iloc[0]
            rb = sel[(sel.variant == b) & (sel.seed == seed)].iloc[0]
            cols = [c for c in sel.columns if c.startswith(("test_", "valid_"))
                    and pd.api.types.is_number(ra[c]) and pd.api.types.is_number(rb[c])]
            metric_diff = max((abs(float(ra[c]) - float(rb[c])) for c in cols
                               if not (pd.isna(ra[c]) and pd.isna(rb[c]))), default=np.nan)
            try:   # the `compare` command's history check (clocks ignored)
                hist_diff = float(compare_histories(*(pd.read_csv(f"{r.dir}/history.csv") for r in (ra, rb)))
                                  .max_abs_diff.max())
            except ValueError:   # other epochs or columns
                hist_diff = np.nan
            rows.append({"run": f"{a} {flavour_words(flavour)}", "same training as": f"{b} {flavour_words(flavour)}",
                         "seed": int(seed), "how": f"copied from {b}" if ra.derived_from else "trained",
                         "metrics compared": len(cols), "max |diff| metrics": metric_diff,
                         "max |diff| history": hist_diff})
    return pd.DataFrame(rows)


def add_inv_difficulty_corr(runs: pd.DataFrame, data_dir=None, variants=("V4", "V5"), min_count: int = 20,
                            dataset: str = "assist2015") -> pd.DataFrame:
    """The seeds' "correlation with 1/difficulty" (0.57 for V4 and V5) for our runs of `variants`.

    The seeds' script is not in the repository, so this is the closest reading of their words: the
    Pearson correlation over skills between the per-skill mean gain on the test split (skills with at
    least `min_count` interactions; `skill_gains.csv`) and 1/difficulty, with the difficulty the run's
    configuration names (`difficulty_source`: the original's validation-fold, off-by-one values for
    the as-run flavour, the training folds' for as intended; `gainakt.features`). Adds, per run,
    ``test_corr_inv_difficulty`` (the legacy scalar, what the seeds' statistics read) and
    ``test_corr_inv_difficulty_skill`` (the per-skill gains), and the same two of the untrained model
    (``untrained_...``) from `skill_gains_untrained.csv`."""
    from .. import data as kt_data, features

    out = runs.copy()
    sel = out[(out.dataset == dataset) & out.variant.isin(variants)] if len(out) else out
    if sel.empty:
        return out
    ds = kt_data.load_dataset(dataset, data_dir=data_dir)
    C = ds.num_skills
    inv = {"train": 1.0 / features.train_skill_difficulty(ds.train, C),
           "original": 1.0 / features.original_skill_difficulty(ds.valid, C)}
    for i, r in sel.iterrows():
        d = inv[r.config.get("difficulty_source", "train")]
        for prefix, name in (("test", "skill_gains.csv"), ("untrained", "skill_gains_untrained.csv")):
            path = Path(r.dir) / name
            if not path.is_file():
                continue
            g = pd.read_csv(path)
            g = g[g.n >= min_count]
            for suffix, col in (("", "gain_scalar_mean"), ("_skill", "gain_own_mean")):
                x, y = g[col].to_numpy(float), d[g.skill.to_numpy(int)]
                ok = np.isfinite(x) & np.isfinite(y)
                out.loc[i, f"{prefix}_corr_inv_difficulty{suffix}"] = (
                    float(np.corrcoef(x[ok], y[ok])[0, 1]) if ok.sum() > 2 and np.std(x[ok]) > 0 else np.nan)
    return out


def inv_difficulty_table(runs: pd.DataFrame, variants=("V4", "V5"), label: str = "small") -> pd.DataFrame:
    """Mean ± sd over seeds of the four columns `add_inv_difficulty_corr` adds, per variant and flavour."""
    cols = {"test_corr_inv_difficulty": "legacy scalar", "untrained_corr_inv_difficulty": "legacy scalar, untrained",
            "test_corr_inv_difficulty_skill": "per-skill gains", "untrained_corr_inv_difficulty_skill": "per-skill gains, untrained"}
    if "test_corr_inv_difficulty" not in runs:
        return pd.DataFrame(columns=["variant", "flavour", "seeds", *cols.values()])
    sel = runs[runs.variant.isin(variants) & (runs.label == label)]
    rows = []
    for (v, fl), g in sel.groupby(["variant", "flavour"], sort=True):
        rows.append({"variant": v, "flavour": fl, "seeds": len(g), "difficulty from": g.config.iloc[0]["difficulty_source"],
                     **{name: fmt(g[c].to_numpy(float)) for c, name in cols.items()}})
    return pd.DataFrame(rows)


def inv_difficulty_sentence(runs: pd.DataFrame, variants=("V4", "V5"), label: str = "small",
                            min_seeds: int = 3) -> str:
    """How Table 2e reads: for each variant and flavour, the per-skill gains' correlation with
    1/difficulty against the seeds' number (`verdict`) and against the untrained model of the same
    runs (Welch test): a match that the untrained model makes too is the initialisation's, not
    training's."""
    if "test_corr_inv_difficulty_skill" not in runs:
        return ""
    sel = runs[runs.variant.isin(variants) & (runs.label == label)]
    parts = []
    for (v, fl), g in sel.groupby(["variant", "flavour"], sort=True):
        rep = VARIANTS[v].reported.get("corr_inv_difficulty")
        a, u = g.test_corr_inv_difficulty_skill.to_numpy(float), g.untrained_corr_inv_difficulty_skill.to_numpy(float)
        if rep is None or np.isfinite(a).sum() < min_seeds:
            continue
        word = verdict(rep, a, key="corr_inv_difficulty").split(":")[0].split(" (")[0]
        parts.append(f"{v} {flavour_words(fl)} {mean_sd(a, n=False)} against the seeds' {rep} ({word}), "
                     f"untrained {mean_sd(u, n=False)} "
                     f"({t_text(a, u)}: training {'moves it' if beyond_noise(welch_p(a, u)) else 'does not move it'} "
                     f"beyond seed noise)")
    return ("Per-skill gains against 1/difficulty: " + "; ".join(parts) + ". Where training does not move it, the "
            "correlation is what the model's construction puts there at initialisation (as intended, V4 divides "
            "each gain by its skill's difficulty), not something the network learned or cancelled."
            if parts else "")


def audit_reach(runs: pd.DataFrame, dataset: str = "assist2015", label: str = "small",
                audit_prefix: str = "small-audit", min_seeds: int = 3) -> pd.DataFrame:
    """Reported numbers that a base (variant, flavour, `label`) misses but one audit row of the same
    base reaches: one row per (number, audit row) where the base's verdict is 'differs' and the audit
    row's (its switch: the fields that differ from the base's config) is 'reproduced', both with at
    least `min_seeds` seeds. Such a row names a behaviour that may have been different when the seeds
    ran, or a coincidence; the replication table's base verdict stands either way."""
    sel = runs[runs.dataset == dataset] if len(runs) else runs
    rows = []
    for (variant, flavour), g in (sel.groupby(["variant", "flavour"]) if len(sel) else []):
        base = g[g.label == label]
        v = VARIANTS.get(variant)
        if v is None or len(base) < min_seeds:
            continue
        audits = [(lab, a) for lab, a in g.groupby("label") if lab.startswith(audit_prefix) and len(a) >= min_seeds]
        for key, rep in v.reported.items():
            col = reported_column(key)
            b = _our_values(base, col)
            if col not in g or not verdict(rep, b, key=key).startswith("differs"):
                continue
            for lab, a in audits:
                vals = _our_values(a, col)
                t = welch_t(vals, b)
                closer = abs(np.nanmean(vals) - rep) < abs(np.nanmean(b) - rep)
                p = welch_p(vals, b)
                if closer and beyond_noise(p) and verdict(rep, vals, key=key).startswith("reproduced"):
                    rows.append({"variant": variant, "flavour": flavour, "quantity": key, "seeds report": rep,
                                 "base": fmt(b), "Welch t": round(float(t), 1), "p": float(f"{p:.2g}"),
                                 "switch": switch_text(base, a),
                                 "with the switch": fmt(vals)})
    return pd.DataFrame(rows, columns=["variant", "flavour", "quantity", "seeds report", "base", "switch",
                                       "with the switch", "Welch t", "p"])


def switch_by_date(runs: pd.DataFrame, row_label: str = "small-audit-mastery_next", variants=("V1", "V2", "V3"),
                   flavour: str = "as_run", keys=("enc2_val_auc", "enc2_test_auc"), label: str = "small",
                   dataset: str = "assist2015") -> pd.DataFrame:
    """One audit switch tried on several variants, in the order the seeds ran them: per variant and
    reported number, the seeds' run time (`Variant.run_at`) and number, the base (`label`) and the
    switched row (`row_label`) with their verdicts, and the row's Welch t against the base. Where a
    change in the seeds' code is dated (e.g. "Bug 0", 2025-11-17), a switch that reproduces only the
    runs made before it dates the change; one that reproduces every run does not."""
    sel = runs[(runs.dataset == dataset) & (runs.flavour == flavour)] if len(runs) else runs
    rows = []
    for v in variants:
        g = sel[sel.variant == v] if len(sel) else sel
        base = g[g.label == label] if len(g) else g
        alt = g[g.label == row_label] if len(g) else g
        switch = switch_text(base, alt) if len(base) and len(alt) else ""
        for key in keys:
            rep = VARIANTS[v].reported.get(key)
            if rep is None:
                continue
            col = reported_column(key)
            b, a = _our_values(base, col), _our_values(alt, col)
            rows.append({"variant": v, "seeds ran it": VARIANTS[v].run_at or "?", "quantity": key,
                         "seeds report": rep, "base": fmt(b) if b.size else "not run yet",
                         "verdict (base)": verdict(rep, b, key=key), "switch": switch or row_label,
                         "switched": fmt(a) if a.size else "not run yet",
                         "verdict (switched)": verdict(rep, a, key=key) if a.size else "not run yet",
                         "Welch t": round(float(welch_t(a, b)), 1) if a.size > 1 and b.size > 1 else np.nan,
                         "p": float(f"{welch_p(a, b):.2g}") if a.size > 1 and b.size > 1 else np.nan})
    return pd.DataFrame(rows)


def switch_by_date_sentence(table: pd.DataFrame) -> str:
    """One line from `switch_by_date`: per variant (in the seeds' order), whether the switched row
    reproduces every reported number of the table, some, none, or has not run (or has too few seeds)."""
    if table.empty:
        return "No variant to compare."
    parts = []
    for v, g in table.groupby("variant", sort=False):
        vs = g["verdict (switched)"]
        if (vs == "not run yet").all():
            parts.append(f"{v}: not run yet")
        elif vs.str.startswith("preliminary").any() or vs.str.startswith("one run").any():
            parts.append(f"{v}: fewer than 3 seeds")
        else:
            ok = vs.str.startswith("reproduced")
            way = ("" if ok.any() else " (overshoots: ours higher)" if vs.str.contains("ours higher").all() else
                   " (falls short: ours lower)" if vs.str.contains("ours lower").all() else "")
            parts.append(f"{v}: " + ("reproduced" if ok.all() else "missed" + way if not ok.any() else
                                     "reproduced only " + ", ".join(g.quantity[ok])))
    out = "With the switch, " + "; ".join(parts) + "."
    hits = [p.split(":")[0] for p in parts if p.endswith(": reproduced")]
    if len(hits) == 1 and len(parts) > 1 and all(": missed" in p for p in parts if not p.endswith(": reproduced")):
        out += (f" The switch reproduces {hits[0]} alone: it explains neither of the other numbers and dates no change"
                f" of the seeds' code; the match for {hits[0]} may be a coincidence.")
    return out

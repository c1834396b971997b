"""The corrected model (V6, issue 19) beside the seeds' variants: one row per configuration with the
evidence the issue asks for, each statistic beside its noise floor (the untrained model of the same
configuration) and its seed spread.

    design_table(load_runs("results", "assist2015"), load_reference("results", "assist2015"))

Rows: V2 and V3 as intended (the comparison), V6, and each of V6's one-switch ablation rows
(experiments.yml labels ``small-v6-<switch>``). Columns: seeds, how training ended, Encoder 1 and 2
test AUC, cross-seed agreement of per-skill mean gains (trained / untrained), and the Spearman of
per-skill mean gains with BKT learn rates, PFA success coefficients and training accuracy, with the
partial Spearman given accuracy for BKT learn and PFA success.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .designs import ABLATION_PREFIX, configurations, design_runs, fmt, stopping_summary, switch_name
from .gains import REFERENCES, cross_seed_agreement, external_validity, read_skill_tables
from .runs import mean_sd

PARTIALS = {"bkt_learn": "BKT learn", "pfa_success": "PFA success"}   # design_table's partial columns
FLOOR_REFS = ("BKT learn rate", "PFA success coefficient")   # design_table gives their untrained Spearman too


def design_table(runs: pd.DataFrame, reference: pd.DataFrame | None, dataset: str = "assist2015",
                 col: str = "gain_own_mean", min_n: int = 20, configs=None) -> pd.DataFrame:
    """One row per configuration (see module doc; `configs`: these (variant, flavour, label) rows
    instead, those with runs); empty when none has finished."""
    out = []
    if configs is not None:
        configs = [c for c in configs if len(runs) and len(design_runs(runs, dataset, *c))]
    for v, fl, label in configurations(runs, dataset) if configs is None else configs:
        g = design_runs(runs, dataset, v, fl, label)
        row = {"variant": v, "flavour": fl, "switch": switch_name(label),
               "seeds": len(g), "training": stopping_summary(g.get("stopping", [])),
               "E1 test AUC": fmt(g.get("test_enc1_auc", [])), "E2 test AUC": fmt(g.get("test_enc2_auc", []))}
        for name, untrained in (("agreement", False), ("agreement (untrained)", True)):
            a = cross_seed_agreement(read_skill_tables(g.dir, untrained=untrained), col, min_n)
            row[name] = "" if not np.isfinite(a["mean"]) else f"{a['mean']:.3f}" + (
                f" ± {a['sd']:.3f}" if np.isfinite(a["sd"]) else "")
        if reference is not None:
            # a reference with no value for any skill (statics2011's learning-curve slope) has no column
            refs = {c: n for c, n in REFERENCES.items() if c in reference and reference[c].notna().any()}
            per_seed = [external_validity(t, reference, refs, col, "train_accuracy", min_n)
                        for t in read_skill_tables(g.dir)]
            # the noise floor of the two learning parameters the chapter cites: the untrained models
            floor = [external_validity(t, reference, {k: n for k, n in refs.items() if n in FLOOR_REFS}, col,
                                       "train_accuracy", min_n) for t in read_skill_tables(g.dir, untrained=True)]
            floor = pd.concat(floor) if floor else pd.DataFrame(columns=["reference", "spearman"])
            if per_seed:
                both = pd.concat(per_seed)
                for ref_name, grp in both.groupby("reference", sort=False):
                    row[f"rho {ref_name}"] = fmt(grp.spearman)
                    if ref_name in FLOOR_REFS:
                        row[f"rho {ref_name}, untrained"] = fmt(floor[floor.reference == ref_name].spearman)
                # the partials of the two learning parameters the gains are meant to be (BKT's learn
                # rate) and most resemble (PFA's per-success increment), beyond what accuracy explains
                for key, short in PARTIALS.items():
                    p = both[both.reference == REFERENCES.get(key)]
                    if len(p):
                        row[f"partial rho {short} | accuracy"] = fmt(p["partial (given accuracy)"])
        out.append(row)
    return pd.DataFrame(out)


def undefined_references(reference: pd.DataFrame | None) -> list[str]:
    """The display names of the classical references (REFERENCES) that `reference` has as a column
    but with no value for any skill; `design_table` leaves their columns out. The learning-curve slope
    (accuracy on a skill's attempts 5-14 minus 0-1) is undefined for every skill where no student in
    the training folds meets any skill more than five times (statics2011's exercise ids)."""
    if reference is None:
        return []
    return [n for c, n in REFERENCES.items() if c in reference and not reference[c].notna().any()]


# The configurations the closing note reports on every dataset: V2 and V3 in both flavours, V6,
# and the closest design with its gamma free and bounded positive.
SUMMARY_CONFIGS = (("V2", "as_intended", "small"), ("V2", "as_run", "small"), ("V3", "as_intended", "small"),
                   ("V3", "as_run", "small"), ("V6", "as_intended", "small"),
                   ("V6", "as_intended", ABLATION_PREFIX + "shared_gamma_curve_linear_curvewd0"),
                   ("V6", "as_intended", ABLATION_PREFIX + "shared_gamma_curve_linear_curvewd0_gammapos"))
SUMMARY_COLUMNS = ("seeds", "training", "E1 test AUC", "E2 test AUC", "agreement", "agreement (untrained)",
                   "rho BKT learn rate", "rho BKT learn rate, untrained", "rho PFA success coefficient",
                   "rho PFA success coefficient, untrained", "rho accuracy (training folds)",
                   "partial rho BKT learn | accuracy")


def dataset_summary(per_dataset: dict[str, tuple[pd.DataFrame, pd.DataFrame | None]],
                    configs=SUMMARY_CONFIGS) -> pd.DataFrame:
    """`design_table`'s evidence for `configs` on several datasets, one row per (configuration,
    dataset) with runs, grouped by configuration. per_dataset: dataset -> (its runs, its classical
    reference or None)."""
    parts = []
    for ds, (runs, ref) in per_dataset.items():
        t = design_table(runs, ref, ds, configs=configs)
        if len(t):
            parts.append(t.assign(dataset=ds))
    if not parts:
        return pd.DataFrame()
    t = pd.concat(parts, ignore_index=True)
    order = {(v, fl, switch_name(lab)): i for i, (v, fl, lab) in enumerate(configs)}
    t["_order"] = [order[(v, fl, sw)] for v, fl, sw in zip(t.variant, t.flavour, t.switch)]
    t = t.sort_values(["_order"], kind="stable")
    cols = ["variant", "flavour", "switch", "dataset", *(c for c in SUMMARY_COLUMNS if c in t)]
    return t[cols].reset_index(drop=True)


# --- the design path: V6's switches, each ablated alone ---------------------------------------------

# Fields that choose how a value is computed, not what (equal up to float rounding, tests/test_packing.py):
# a row that sets one for speed (statics2011's 1,223 exercise ids) makes no design change by it.
IMPLEMENTATION_FIELDS = ("gains_impl", "practice_impl")


def design_path(matrix="experiments.yml", dataset: str = "assist2015") -> pd.DataFrame:
    """One row per ablation entry of experiments.yml (variant V6, label ``small-v6-<switch>``): the
    Config field it changes against V6's own entry (label ``small``), V6's value, the ablation's
    value, the original's (the Config default, which V0-V5 use) and the field's help text. Fields of
    IMPLEMENTATION_FIELDS are left out."""
    import dataclasses
    from pathlib import Path

    from ..config import Config
    from ..pipeline.matrix import expand
    from ..report import resolve
    from ..variants import make_config

    helps = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(Config)}
    runs = [(r.name.removeprefix(f"{r.variant}-{r.flavour}-"), r) for r in expand(resolve(Path(matrix)))
            if r.variant == "V6" and r.dataset == dataset]
    own = next((r.params.get("overrides", {}) for lab, r in runs if lab == "small"), {})
    v6 = {**dataclasses.asdict(make_config("V6", "as_intended")), **own}
    rows, seen = [], set()
    for label, r in runs:
        if not label.startswith(ABLATION_PREFIX) or label in seen:
            continue
        seen.add(label)
        over = r.params.get("overrides", {})
        for k in (k for k in over if over[k] != v6.get(k) and k not in IMPLEMENTATION_FIELDS):
            rows.append({"ablation": label.removeprefix(ABLATION_PREFIX), "field": k, "V6": v6.get(k),
                         "ablation value": over[k], "original": getattr(Config(), k), "what it is": helps.get(k, "")})
    return pd.DataFrame(rows, columns=["ablation", "field", "V6", "ablation value", "original", "what it is"])


# --- the seeds' own checks, each beside the untrained model ------------------------------------------

CHECKS = {"gain_skill_per_skill_cv": "per-skill CV of gains", "gain_skill_response_ratio": "correct/incorrect ratio",
          "mastery_corr_original": "mastery-response r (original)", "mastery_corr_target": "mastery-response r (read-out skill)",
          "monotonicity_violations": "monotonicity violations (cells)"}
# Checks that count (step, skill) cells: written as whole numbers.
COUNT_CHECKS = ("monotonicity_violations",)
# Checks that divide by a mean gain: meaningless for signed (tanh) gains, whose per-skill means sit near 0.
RATIO_CHECKS = ("gain_skill_per_skill_cv", "gain_skill_response_ratio")
NOT_APPLICABLE = "n/a"


def signed_gains(g: pd.DataFrame) -> bool:
    """True when every run of `g` has signed (tanh) gains (its config's gain_activation)."""
    acts = {(c or {}).get("gain_activation", "softplus") for c in g.get("config", pd.Series(dtype=object))
            if isinstance(c, dict)}
    return acts == {"tanh"}


def checks_table(runs: pd.DataFrame, dataset: str = "assist2015", checks: dict[str, str] = CHECKS) -> pd.DataFrame:
    """Per configuration (as `design_table`): each of the seeds' checks on the validation split,
    trained (best checkpoint) and untrained, mean ± sd over seeds. Monotonicity violations are a count
    of (step, skill) cells (`monotonicity_cells` gives the denominator); the per-skill CV and the
    correct/incorrect ratio, which divide by a mean gain, are NOT_APPLICABLE for signed (tanh) gains."""
    from .gains import fmt as gain_fmt   # with the number of seeds
    rows = []
    for v, fl, label in configurations(runs, dataset):
        g = design_runs(runs, dataset, v, fl, label)
        signed = signed_gains(g)
        row = {"variant": v, "flavour": fl, "switch": switch_name(label), "seeds": len(g)}
        for m, name in checks.items():
            f = partial(mean_sd, digits=0) if m in COUNT_CHECKS else gain_fmt
            for col, key in ((name, f"valid_{m}"), (f"{name} (untrained)", f"untrained_{m}")):
                row[col] = NOT_APPLICABLE if signed and m in RATIO_CHECKS else f(g.get(key, pd.Series(dtype=float)))
        rows.append(row)
    return pd.DataFrame(rows)


def monotonicity_cells(runs: pd.DataFrame, dataset: str = "assist2015") -> tuple[int, int] | None:
    """The denominator of the monotonicity check on `dataset`'s validation split: (validation
    interactions, skills) of the chapter's configurations; the check compares each skill's mastery
    at every valid step with the step before, so a run has at most their product of cells. None
    without runs that record both."""
    n, C = [], []
    for v, fl, label in configurations(runs, dataset):
        g = design_runs(runs, dataset, v, fl, label)
        n += [int(x) for x in g.get("valid_interactions", pd.Series(dtype=float)) if np.isfinite(x)]
        C += [len(t) for t in read_skill_tables(g.dir)]
    return (max(n), max(C)) if n and C else None


# --- where skill difficulty went ----------------------------------------------------------------------

DIFFICULTY_COLUMNS = {"gain_own_mean": "mean gain", "intercept": "intercept", "beta": "beta",
                      "rate_own_mean": "beta x gain"}
# What a per-skill quantity may follow: difficulty (accuracy), learning (BKT, the learning-curve
# slope), or only how much the skill is practised (training attempts: how many updates reach it).
DIFFICULTY_REFERENCES = {"train_accuracy": "accuracy", "bkt_learn": "BKT learn", "learning_slope": "learning slope",
                         "attempts": "attempts"}


# The per-skill quantities that read the learning curve's β: nothing to rank where the curve is off or β
# is one number for every skill (then beta x gain ranks the skills as the mean gain does, or reversed).
CURVE_QUANTITIES = ("beta", "rate_own_mean")


def curve_quantities_apply(g: pd.DataFrame, tables: list[pd.DataFrame]) -> bool:
    """False when the per-skill β quantities (CURVE_QUANTITIES) say nothing for a configuration: its
    learning curve is off in every seed (`curves.curve_is_off`: β γ about 0, so β x gain moves no
    prediction) or its β is the same for every skill in every seed (the shared curve)."""
    from .curves import curve_is_off
    if curve_is_off(g):
        return False
    betas = [t.beta.dropna() for t in tables if "beta" in t]
    return not (betas and all(len(b) and np.ptp(b.to_numpy(float)) == 0 for b in betas))


def difficulty_table(runs: pd.DataFrame, reference: pd.DataFrame | None, dataset: str = "assist2015",
                     min_n: int = 20) -> pd.DataFrame:
    """Per configuration (as `design_table`): Spearman of each per-skill quantity of
    ``skill_gains.csv`` (the mean gain, the learned intercept where there is one, beta and beta x
    gain, the rate at which practice moves the curve) with each of DIFFICULTY_REFERENCES, mean ± sd
    over seeds. Where the intercept follows accuracy and the gains do not, the intercept holds the
    skills' difficulty; a quantity that follows only the number of attempts measures exposure. The
    beta and beta x gain rows are left out where `curve_quantities_apply` is False (curve off, or one
    β for every skill)."""
    from .groundtruth import spearman
    rows = []
    if reference is None:
        return pd.DataFrame(rows)
    for v, fl, label in configurations(runs, dataset):
        g = design_runs(runs, dataset, v, fl, label)
        skill_tables = read_skill_tables(g.dir)
        tables = [t[t.n >= min_n].merge(reference, on="skill") for t in skill_tables]
        curve = curve_quantities_apply(g, skill_tables)
        for col, name in DIFFICULTY_COLUMNS.items():
            if not any(col in t for t in tables) or (col in CURVE_QUANTITIES and not curve):
                continue
            row = {"variant": v, "flavour": fl, "switch": switch_name(label), "seeds": len(g), "quantity": name}
            for ref, ref_name in DIFFICULTY_REFERENCES.items():
                row[ref_name] = fmt([spearman(t[col], t[ref]) for t in tables if col in t and ref in t])
            rows.append(row)
    return pd.DataFrame(rows)


# --- what each design switch changes on the simulated learners -------------------------------------------

def gt_ablation_effects(pr: pd.DataFrame, variant: str = "V6", conditions=("moderate", "strong")) -> pd.DataFrame:
    """Per spread condition and ablation row of `variant` on the simulated learners (`pr`:
    `groundtruth.per_run`, main-size runs): the trained gains' Spearman with the true rates and its
    partial given accuracy (means over seeds), each as a change from `variant` itself with Welch's t
    over seeds. Numeric: `gt_ablation_statements` reads it."""
    from .runs import welch_p, welch_t
    rows = []
    if not len(pr):
        return pd.DataFrame(rows)
    tr = pr[(pr.variant == variant) & (pr.model == "trained") & pr.condition.isin(conditions)]
    tr = tr[tr.main | (tr.ablation != "")]
    tr = tr[tr.students == tr[tr.main].students.max()] if tr.main.any() else tr
    for c, g in tr.groupby("condition", sort=False):
        base = g[g.ablation == ""]
        for ab, a in g.groupby("ablation", sort=True):
            row = {"condition": c, "switch": ab or f"({variant} itself)", "seeds": len(a)}
            for col, name in (("learn_rate", "rho"), ("partial", "partial")):
                row[name] = float(a[col].mean())
                row[f"sd {name}"] = float(a[col].std(ddof=1)) if len(a) > 1 else np.nan
                row[f"change {name}"] = float(a[col].mean() - base[col].mean()) if ab and len(base) else np.nan
                row[f"t {name}"] = welch_t(a[col], base[col]) if ab else np.nan
                row[f"p {name}"] = welch_p(a[col], base[col]) if ab else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def gt_ablation_statements(eff: pd.DataFrame, ceilings: dict[str, dict[str, float]] | None = None,
                           min_seeds: int = 3) -> list[str]:
    """One sentence per ablation row with `min_seeds` seeds: how far it moves the partial Spearman
    given accuracy (the target's measure) from V6 itself, whether that is beyond seed noise (two-sided
    Welch p < `runs.NOISE_ALPHA`), and the classical reference on the same data (`ceilings[condition]`:
    `groundtruth.classical_rates`)."""
    from .runs import beyond_noise
    out = []
    if not len(eff):
        return out
    for _, r in eff[eff["change partial"].notna()].iterrows():
        if r.seeds < min_seeds:
            out.append(f"{r.condition} spread, `{r.switch}`: {int(r.seeds)} of {min_seeds} seeds, pending.")
            continue
        base = r.partial - r["change partial"]
        moved = beyond_noise(r["p partial"])
        s = (f"{r.condition} spread, `{r.switch}`: partial Spearman given accuracy {base:+.2f} → {r.partial:+.2f} "
             f"(Welch t {r['t partial']:+.1f}, p {r['p partial']:.2g}: {'beyond' if moved else 'within'} seed noise); "
             f"Spearman {r.rho - r['change rho']:+.2f} → {r.rho:+.2f}")
        ceil = (ceilings or {}).get(r.condition, {})
        if "AFM learn ~ rate | accuracy" in ceil:
            s += (f"; AFM on the same data: partial {ceil['AFM learn ~ rate | accuracy']:+.2f}, "
                  f"Spearman {ceil['AFM learn ~ rate']:+.2f}")
        out.append(s + ".")
    return out

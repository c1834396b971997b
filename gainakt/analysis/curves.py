"""The learning curve the corrected designs learned, and what their gains are on it.

Encoder 2 predicts through one learning curve per student and skill; whether its per-skill gains can
mean learning depends first on that curve: flat (the gains never reach the prediction), falling
(γ or β negative: a larger gain means a faster loss) or rising. This module reads the learned curve
from a run's final parameters (Table 2d), the decay rows that switch it off, and two sentences on the
closest design: what its gains are (a success increment, beside PFA) and what bounding γ > 0 changes.

    curve_table(runs, "statics2011"); bound_statement(runs, load_reference("results", ds), ds)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .designs import configurations, design_runs, switch_name
from .gains import read_skill_tables
from .runs import flavour_words, mean_sd, noise_word, t_text, welch_t

FLAT_SLOPE = 1e-3   # logit per unit of practice at the start of the curve: below it the curve is off


def _start_slopes(g: pd.DataFrame) -> pd.Series:
    """Per run: the IM logit's slope in practice at practice 0, M_sat σ(-offset)(1 - σ(-offset)) β γ / T,
    from the learned means (exact with `shared_curve`, whose β and M_sat are one value each; the
    linear curve is this tangent everywhere)."""
    need = ("param_msat_mean", "param_beta_mean", "param_gamma_mean", "param_offset", "param_temperature")
    if not len(g) or any(c not in g for c in need):
        return pd.Series(dtype=float)
    slope = start_slope(g.param_msat_mean, g.param_offset, g.param_beta_mean, g.param_gamma_mean, g.param_temperature)
    return slope.dropna()   # runs that recorded no learned temperature (V2, V3) have none


def start_slope(msat, offset, beta, gamma, temperature):
    """The IM logit's slope in practice at practice 0: M_sat σ(-offset)(1 - σ(-offset)) β γ / T
    (scalars or aligned Series: a run's final parameters, or its history per epoch)."""
    s0 = 1 / (1 + np.exp(offset))
    return msat * s0 * (1 - s0) * beta * gamma / temperature


def _flat(slope: pd.Series) -> pd.Series:
    return slope.abs() < FLAT_SLOPE


def _every_run(g: pd.DataFrame, test) -> bool:
    """True when every run of `g` has a start slope and `test(slopes)` holds for all of them."""
    slope = _start_slopes(g)
    return bool(len(slope)) and len(slope) == len(g) and bool(test(slope).all())


def curve_is_off(g: pd.DataFrame) -> bool:
    """True when every run of `g` learned a flat learning curve (`curve_table`'s "flat in": n of n),
    so that its per-skill gains do not move any prediction."""
    return _every_run(g, _flat)


def curve_falls(g: pd.DataFrame) -> bool:
    """True when every run of `g` learned a curve whose slope at practice 0 is negative beyond
    FLAT_SLOPE (β γ < 0 on average): practice then lowers mastery, and positive gains measure loss."""
    return _every_run(g, lambda slope: slope < -FLAT_SLOPE)


def curve_table(runs: pd.DataFrame, dataset: str = "assist2015") -> pd.DataFrame:
    """The learned learning curve of each configuration of the corrected chapter (mean ± sd over
    seeds): β and M_sat (means over skills), γ (mean over students), offset, temperature T, the
    logit's slope in practice at practice 0 (`_start_slopes`), and in how many seeds that slope is
    below `FLAT_SLOPE`, i.e. the curve is off and Encoder 2's gains do not reach the prediction."""
    rows = []
    for v, fl, label in configurations(runs, dataset):
        g = design_runs(runs, dataset, v, fl, label)
        slope = _start_slopes(g)
        row = {"variant": v, "flavour": fl, "switch": switch_name(label), "seeds": len(g)}
        for name, col in (("β (mean)", "param_beta_mean"), ("M_sat (mean)", "param_msat_mean"),
                          ("γ (mean)", "param_gamma_mean"), ("offset", "param_offset"), ("T", "param_temperature")):
            row[name] = mean_sd(g.get(col, []), digits=3, n=False)
        row["start slope (logit / practice)"] = mean_sd(slope, digits=4, n=False)
        row["flat in"] = f"{int(_flat(slope).sum())} of {len(slope)}" if len(slope) else "-"
        rows.append(row)
    return pd.DataFrame(rows)


def curve_statement(runs: pd.DataFrame, dataset: str = "assist2015", reference: pd.DataFrame | None = None) -> str:
    """One generated sentence from `curve_table`: the configurations whose curve is flat in every seed
    (and their Encoder 2 test AUC), those whose curve falls with practice in every seed, or that every
    curve rises; with `reference` (`gains.load_reference`), how much AFM finds an attempt teaches on
    the same training folds."""
    flat, falling, rising = [], [], 0
    f3 = lambda x: f"{x:.3f}".replace("-0.000", "0.000")  # noqa: E731
    for v, fl, label in configurations(runs, dataset):
        g = design_runs(runs, dataset, v, fl, label)
        if not len(_start_slopes(g)):
            continue
        name = f"{v} {flavour_words(fl)}" + (f" with `{switch_name(label)}`" if switch_name(label) else "")
        what = (f"{name} (β {f3(g.param_beta_mean.mean())}, γ {f3(g.param_gamma_mean.mean())}, "
                f"M_sat {g.param_msat_mean.mean():.3f}; Encoder 2 test AUC {g.test_enc2_auc.mean():.3f}, {len(g)} seeds)")
        if curve_is_off(g):
            flat.append(what)
        elif curve_falls(g):
            falling.append(what)
        else:
            rising += 1
    afm = ""
    if reference is not None and "afm_learn" in reference and len(reference):
        r = reference.afm_learn.dropna()
        afm = (f" For scale: AFM fitted on the same training folds finds a median learning rate of "
               f"{r.median():.3f} logit per attempt over {len(r)} skills ({int((r < 0).sum())} of them negative).")
    parts = []
    if flat:
        parts.append(f"The learning curve is off in every seed of {len(flat)} configuration(s): " + "; ".join(flat)
                     + f". There mastery does not move with practice: Encoder 2 predicts from its per-skill "
                       f"intercepts and the threshold alone, and its per-skill gains never reach the prediction, so "
                       f"their agreement across seeds says nothing about learning on {dataset}.")
    if falling:
        parts.append(f"The learning curve falls with practice in every seed of {len(falling)} configuration(s): "
                     + "; ".join(falling) + ". There γ (or β) turned negative, practice lowers mastery, and a "
                     "larger per-skill gain means a faster loss: its correlations with learning rates change sign.")
    if not parts:
        return f"Every configuration's learning curve rises with practice ({rising} configurations)." + afm
    rest = f" The other {rising} configurations' curves rise." if rising else " No configuration's curve rises."
    return " ".join(parts) + rest + afm


# The decay rows of the shared curve with one gamma (experiments.yml): the design step with the original's
# coupled decay, without decay on its curve scalars only, and without any decay.
DECAY_ROWS = (("with decay", "small-v6-shared_gamma_curve"), ("no decay on the curve scalars", "small-v6-shared_gamma_curve_curvewd0"),
              ("no decay at all", "small-v6-shared_gamma_curve_nowd"))


def decay_statement(runs: pd.DataFrame, dataset: str = "assist2015", rows=DECAY_ROWS, min_seeds: int = 3) -> str:
    """One generated sentence: per decay row of the shared curve with one gamma, in how many seeds the
    curve is off, γ and Encoder 2's test AUC (mean ± sd), and Welch's t of Encoder 2 between the last
    two rows (the curve's decay alone against all of it): where the curve is on and that t is small,
    the decay that switches the curve off is the curve scalars' own."""
    parts, e2 = [], {}
    for name, label in rows:
        g = design_runs(runs, dataset, "V6", "as_intended", label) if len(runs) else runs
        if len(g) < min_seeds:
            parts.append(f"{name}: {len(g)} of {min_seeds} seeds, pending")
            continue
        slope = _start_slopes(g)
        e2[name] = g.test_enc2_auc.to_numpy(float)
        parts.append(f"{name}: curve off in {int(_flat(slope).sum())} of {len(slope)} seeds, γ "
                     f"{mean_sd(g.param_gamma_mean, digits=2, n=False)}, Encoder 2 {mean_sd(e2[name], digits=3, n=False)}")
    s = "The shared curve with one gamma on " + dataset + " (Tables 2, 2d): " + "; ".join(parts) + "."
    (a, _), (b, _) = rows[-2], rows[-1]
    if a in e2 and b in e2:
        s += f" Encoder 2 {a} against {b}: {t_text(e2[a], e2[b])} ({noise_word(e2[a], e2[b])} seed noise)."
    return s


LEAD = "small-v6-shared_gamma_curve_linear_curvewd0"   # the closest design (Table 8e), on a linear curve


def success_statement(runs: pd.DataFrame, reference: pd.DataFrame | None, dataset: str = "assist2015",
                      label: str = LEAD, min_n: int = 20, min_seeds: int = 3) -> str:
    """One generated sentence on what a design's per-skill gains are: the mean gain a correct and an
    incorrect answer give their skill (per seed, the mean over skills seen at least `min_n` times),
    and the Spearman of per-skill mean gains with PFA's success and failure coefficients, with the
    success coefficient's partial given training accuracy and given attempts (mean ± sd over seeds).
    Gains given to successes only, ranked as PFA's per-success increments beyond what accuracy and
    practice explain, are PFA's success increments learned end to end."""
    from .gains import external_validity
    g = design_runs(runs, dataset, "V6", "as_intended", label) if len(runs) else runs
    sw = switch_name(label)
    name = (f"V6 with `{sw}`" if sw else "V6") + f" on {dataset}"
    if len(g) < min_seeds:
        return f"{name}: {len(g)} of {min_seeds} seeds, pending."
    tables = [t[t.n >= min_n] for t in read_skill_tables(g.dir)]
    correct = [t.gain_own_correct.mean() for t in tables]
    incorrect = [t.gain_own_incorrect.mean() for t in tables]
    s = (f"{name} ({len(g)} seeds, skills seen at least {min_n} times): a correct answer gives its skill a "
         f"mean gain of {mean_sd(correct, digits=3, n=False)}, an incorrect one {mean_sd(incorrect, digits=3, n=False)}")
    cols = {"pfa_success": "success", "pfa_failure": "failure"}
    if reference is None or not set(cols) <= set(reference):
        return s + "; no PFA baseline on this dataset."
    ev = {c: [external_validity(t, reference, cols, control=c, min_n=min_n) for t in tables]
          for c in ("train_accuracy", "attempts")}
    pick = lambda c, ref, what: [e.set_index("reference").loc[ref, what] for e in ev[c]]  # noqa: E731
    s += (f". Its per-skill mean gains follow PFA's success coefficient at "
          f"{mean_sd(pick('train_accuracy', 'success', 'spearman'), digits=2, n=False)} (partial given accuracy "
          f"{mean_sd(pick('train_accuracy', 'success', 'partial (given accuracy)'), digits=2, n=False)}, given "
          f"attempts {mean_sd(pick('attempts', 'success', 'partial (given accuracy)'), digits=2, n=False)}) and its "
          f"failure coefficient at {mean_sd(pick('train_accuracy', 'failure', 'spearman'), digits=2, n=False)}.")
    return s


BOUNDED = LEAD + "_gammapos"   # the closest design with γ = softplus(parameter) > 0


def bound_statement(runs: pd.DataFrame, reference: pd.DataFrame | None, dataset: str,
                    free: str = LEAD, bounded: str = BOUNDED, min_n: int = 20, min_seeds: int = 3) -> str:
    """One generated sentence comparing a design with its γ free and bounded positive (`gamma_positive`):
    per row (mean ± sd over seeds) γ, in how many seeds the curve falls, Encoder 2's test AUC (Welch's t
    of bounded - free), cross-seed agreement, and the Spearman of per-skill mean gains with BKT's learn
    rate (partial given training accuracy). Where the free γ turned negative and the bounded curve rises,
    the sign of the gains' correlations is the curve's sign, not something the gains learned."""
    from .gains import cross_seed_agreement, external_validity
    rows, e2 = [], {}
    for name, label in (("γ free", free), ("γ > 0", bounded)):
        g = design_runs(runs, dataset, "V6", "as_intended", label) if len(runs) else runs
        if len(g) < min_seeds:
            rows.append(f"{name}: {len(g)} of {min_seeds} seeds, pending")
            continue
        e2[name] = g.test_enc2_auc.to_numpy(float)
        slope = _start_slopes(g)
        tables = read_skill_tables(g.dir)
        agree = [cross_seed_agreement(t, "gain_own_mean", min_n)
                 for t in (tables, read_skill_tables(g.dir, untrained=True))]
        s = (f"{name} ({len(g)} seeds): γ {mean_sd(g.param_gamma_mean, digits=2, n=False)}, curve falls in "
             f"{int((slope < -FLAT_SLOPE).sum())} of {len(slope)}, Encoder 2 {mean_sd(e2[name], digits=3, n=False)}, "
             f"agreement {agree[0]['mean']:.2f} ± {agree[0]['sd']:.2f} (untrained {agree[1]['mean']:.2f} ± "
             f"{agree[1]['sd']:.2f})")
        if reference is not None and "bkt_learn" in reference:
            ev = [external_validity(t, reference, {"bkt_learn": "BKT"}, min_n=min_n,
                                    control="train_accuracy").iloc[0] for t in tables]
            s += (f", Spearman with BKT's learn rate {mean_sd([e.spearman for e in ev], digits=2, n=False)} "
                  f"(partial given accuracy {mean_sd([e['partial (given accuracy)'] for e in ev], digits=2, n=False)})")
        rows.append(s)
    out = f"The closest design on {dataset}, with γ free and bounded positive (softplus, Table 9): " + "; ".join(rows) + "."
    if len(e2) == 2 and np.isfinite(welch_t(e2["γ > 0"], e2["γ free"])):
        a, b = e2["γ > 0"], e2["γ free"]
        out += f" Encoder 2, bounded against free: {t_text(a, b)} ({noise_word(a, b)} seed noise)."
    return out

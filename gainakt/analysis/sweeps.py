"""The seeds' sweeps re-run (issue 20): tables over a sweep's points, the seeds' "parameter impact"
numbers computed their way and with a regression that reports its uncertainty, and the seed spread
that every difference between points has to beat.

Sweep runs are experiments.yml entries with ``sweep`` and ``grid`` (gainakt.pipeline.matrix): their run
names are ``<variant>-<flavour>-<label>-<sweep>-<field><value>-...``, their configs hold the values.

    sr = sweep_runs(load_runs("results"), "phase2")
    point_table(sr, "phase2")          # per flavour and point: E1, E2 AUC and the combined score, mean ± sd
    impacts(sr, "phase1")              # per flavour and field: Pearson r (the seeds' way) and OLS slope ± se
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .replication import verdict as reported_verdict
from .runs import beyond_noise, flavour_words, mean_sd, t_text, welch_p

# mean ± sd over seeds, as every table of this chapter writes it
fmt = partial(mean_sd, digits=3, n=False, sign=True)

# The fields each sweep varies, in the seeds' order.
FIELDS: dict[str, tuple[str, ...]] = {
    "phase1": ("beta_skill_init", "m_sat_init", "gamma_student_init", "sigmoid_offset"),
    "phase2": ("bce_loss_weight",),
    "bce": ("bce_loss_weight",),
}

# The Phase 1 grid's values of each field (FIELDS order), as experiments.yml runs it.
GRID_LEVELS = ([1.5, 2.0, 2.5], [0.7, 0.8, 0.9], [0.9, 1.0, 1.1], [1.5, 2.0, 2.5])

# What the seeds report (single runs, one seed each; the split is not stated: test is compared).
REPORTED: dict[str, dict] = {
    "phase1": dict(
        best_point={"beta_skill_init": 2.5, "m_sat_init": 0.7, "gamma_student_init": 1.1, "sigmoid_offset": 1.5},
        default_point={"beta_skill_init": 2.0, "m_sat_init": 0.8, "gamma_student_init": 1.0, "sigmoid_offset": 2.0},
        best_enc2_auc=0.5443, best_enc1_auc=0.6860, gain_over_default=0.067,
        impacts={"beta_skill_init": 0.72, "sigmoid_offset": -0.54, "gamma_student_init": 0.41, "m_sat_init": -0.10},
        source="seeds/000 'Learning Curve Parameter Calibration'; seeds/003 section 1.1"),
    "phase2": dict(
        points={0.3: (0.6853, 0.5438), 0.4: (0.6849, 0.5433), 0.5: (0.6848, 0.5430),
                0.6: (0.6853, 0.5350), 0.7: (0.6855, 0.5347), 0.8: (0.6856, 0.5343)},
        corr_weight_enc2=-0.91, corr_weight_enc1=0.63, best=0.3, alpha=0.5,
        source="seeds/003 sections 3.2-3.3"),
    "bce": dict(verdict="all uniform", points=(0.0, 0.5, 1.0), source="seeds/000 'V2 BCE sweep'"),
}

METRICS = {"test_enc1_auc": "E1 AUC", "test_enc2_auc": "E2 AUC"}


def combined_score(enc1: float | np.ndarray, enc2: float | np.ndarray, alpha: float = 0.5):
    """The seeds' Phase 2 objective: E1 AUC + alpha x E2 AUC."""
    return enc1 + alpha * enc2


def sweep_runs(runs: pd.DataFrame, sweep: str, label: str = "small", dataset: str = "assist2015") -> pd.DataFrame:
    """The finished runs of one sweep (rows of `analysis.runs.load_runs`), with one column per swept
    field read from each run's config and the combined score."""
    fields = FIELDS[sweep]
    if not len(runs):
        return pd.DataFrame(columns=["flavour", "seed", *fields])
    prefix = f"{label}-{sweep}-"
    sel = runs[(runs.dataset == dataset) & runs.label.astype(str).str.startswith(prefix)].copy()
    for f in fields:
        sel[f] = [cfg.get(f) for cfg in sel.config]
    if {"test_enc1_auc", "test_enc2_auc"} <= set(sel.columns):
        sel["combined"] = combined_score(sel.test_enc1_auc, sel.test_enc2_auc, REPORTED["phase2"]["alpha"])
    return sel.reset_index(drop=True)


def point_table(sr: pd.DataFrame, sweep: str, metrics: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per flavour and point: seeds, and mean and sd over seeds of each metric (sd NaN with
    one seed). For Phase 2 the seeds' single values sit beside ours."""
    metrics = {**(metrics or METRICS), "combined": "E1 + 0.5 E2"}
    fields = list(FIELDS[sweep])
    cols = [m for m in metrics if m in sr.columns]
    if not len(sr) or not cols:
        return pd.DataFrame(columns=["flavour", *fields, "seeds"])
    g = sr.groupby(["flavour", *fields])
    out = g.size().rename("seeds").to_frame()
    for m in cols:
        out[f"{metrics[m]} mean"] = g[m].mean()
        out[f"{metrics[m]} sd"] = g[m].std(ddof=1)
    out = out.reset_index()
    if sweep == "phase2":
        rep = REPORTED["phase2"]["points"]
        out["seeds' E1 AUC"] = [rep.get(round(w, 2), (np.nan, np.nan))[0] for w in out.bce_loss_weight]
        out["seeds' E2 AUC"] = [rep.get(round(w, 2), (np.nan, np.nan))[1] for w in out.bce_loss_weight]
        # a verdict per reported number, as the replication chapter gives one (theirs: one run at d_model 256)
        for m, name in (("test_enc1_auc", "E1"), ("test_enc2_auc", "E2")):
            out[f"{name} verdict"] = [
                reported_verdict(r[f"seeds' {name} AUC"], g.get_group(tuple(r[["flavour", *fields]]))[m].to_numpy(float),
                                 key=m)
                if np.isfinite(r[f"seeds' {name} AUC"]) and m in sr.columns else "" for _, r in out.iterrows()]
    return out


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients and their standard errors (intercept first)."""
    A = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = len(y) - A.shape[1]
    if dof <= 0:
        return coef, np.full(len(coef), np.nan)
    sigma2 = float(((y - A @ coef) ** 2).sum() / dof)
    cov = sigma2 * np.linalg.pinv(A.T @ A)
    return coef, np.sqrt(np.clip(np.diag(cov), 0, None))


def impacts(sr: pd.DataFrame, sweep: str, metric: str = "test_enc2_auc") -> pd.DataFrame:
    """Per flavour and swept field: Pearson r between the field's value and `metric` over the runs
    (the seeds' "parameter impact", as we read it), the OLS slope of `metric` per unit of the field in
    a joint regression on all swept fields, its standard error and t, the runs used, and the seeds'
    number. Fields that do not vary within a flavour get NaN."""
    fields = list(FIELDS[sweep])
    rows = []
    reported = REPORTED.get(sweep, {}).get("impacts", {})
    for fl, g in sr.groupby("flavour") if len(sr) else []:
        g = g.dropna(subset=[metric])
        varying = [f for f in fields if g[f].nunique() > 1]
        # the fields' separate effects need distinct points that vary them independently: the seeds'
        # two points with 3 seeds each move all four fields at once, and any r or slope there is one
        # contrast given four names
        pts = g[varying].drop_duplicates().to_numpy(float)
        separable = bool(varying) and len(pts) > len(varying) and \
            np.linalg.matrix_rank(pts - pts.mean(axis=0)) == len(varying)
        coef, se = (_ols(g[varying].to_numpy(float), g[metric].to_numpy(float)) if separable and len(g) > 2
                    else (np.array([np.nan]), np.array([np.nan])))
        for f in fields:
            r = slope = s = np.nan
            if f in varying and separable:
                r = float(np.corrcoef(g[f].to_numpy(float), g[metric].to_numpy(float))[0, 1])
                i = varying.index(f) + 1
                slope, s = float(coef[i]), float(se[i])
            rows.append({"flavour": fl, "field": f, "runs": len(g), "points": len(pts), "pearson_r": r,
                         "ols_slope": slope, "ols_se": s,
                         "ols_t": slope / s if s and np.isfinite(s) and s > 0 else np.nan,
                         "seeds' impact": reported.get(f, np.nan),
                         "note": "" if separable or not varying else
                         f"pending: {len(pts)} distinct points do not separate the {len(varying)} fields"})
    return pd.DataFrame(rows, columns=["flavour", "field", "runs", "points", "pearson_r", "ols_slope", "ols_se",
                                       "ols_t", "seeds' impact", "note"])


def seed_noise(sr: pd.DataFrame, sweep: str, metric: str = "test_enc2_auc") -> pd.DataFrame:
    """Per flavour: the pooled within-point standard deviation of `metric` over seeds (points with at
    least 2 seeds) -- the noise a difference between two single-seed points has to beat -- and the
    range of the point means."""
    fields = list(FIELDS[sweep])
    rows = []
    for fl, g in sr.groupby("flavour") if len(sr) else []:
        pts = g.groupby(fields)[metric]
        var, n = pts.var(ddof=1), pts.size()
        ok = n >= 2
        pooled = float(np.sqrt((var[ok] * (n[ok] - 1)).sum() / (n[ok] - 1).sum())) if ok.any() else np.nan
        means = pts.mean()
        rows.append({"flavour": fl, "points": int(len(means)), "points_with_seeds": int(ok.sum()),
                     "seed_sd": pooled, "range_of_means": float(means.max() - means.min())})
    return pd.DataFrame(rows, columns=["flavour", "points", "points_with_seeds", "seed_sd", "range_of_means"])


# --- verdicts on the seeds' sweep claims -------------------------------------------------------------

def _pearson(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.corrcoef(x, y)[0, 1]) if len(x) > 2 and np.ptp(x) > 0 and np.ptp(y) > 0 else np.nan


def _short(sr: pd.DataFrame, fields: list[str], min_seeds: int) -> str | None:
    """'pending: ...' when a point of `sr` has fewer than `min_seeds` seeds (or there is no run)."""
    if not len(sr):
        return "pending: no run finished"
    n = sr.groupby(fields).size()
    few = n[n < min_seeds]
    return f"pending: {len(few)} of {len(n)} points below {min_seeds} seeds" if len(few) else None


def phase2_verdicts(sr: pd.DataFrame, min_seeds: int = 3) -> pd.DataFrame:
    """Per flavour, the seeds' Phase 2 claims against our points (mean over seeds) and their spread:
    "BCE = 0.3 optimal" on the combined score E1 + 0.5 E2 (the best point against the runner-up by
    a two-sided Welch test over seeds: at p >= 0.05 the two are not told apart by this many seeds), and the
    correlations of the BCE weight with E2 (-0.91) and E1 (+0.63) AUC, computed the seeds' way on
    the point means and once per seed (a seed's own sweep: the spread the seeds' single value had)."""
    rep, rows = REPORTED["phase2"], []
    for fl in sorted(set(sr.flavour)) if len(sr) else ["as_run", "as_intended"]:
        g = sr[sr.flavour == fl] if len(sr) else sr
        pending = _short(g, ["bce_loss_weight"], min_seeds)
        n_points, n_planned = (g.bce_loss_weight.nunique() if len(g) else 0), len(rep["points"])
        if not pending and n_points < n_planned:   # the claims rank and correlate every weight
            pending = f"pending: {n_points} of {n_planned} weights have runs"
        if pending:
            for claim in ("BCE = 0.3 optimal", "corr(weight, E2 AUC) = -0.91", "corr(weight, E1 AUC) = +0.63"):
                rows.append({"flavour": fl, "claim": claim, "ours": "", "verdict": pending})
            continue
        means = g.groupby("bce_loss_weight").combined.mean().sort_values(ascending=False)
        best, second = means.index[0], means.index[1]
        xb, xs = g[g.bce_loss_weight == best].combined, g[g.bce_loss_weight == second].combined
        tt = t_text(xb, xs)
        if not beyond_noise(welch_p(xb, xs)):
            v = f"not told apart from seed noise: best {best:g}, runner-up {second:g} ({tt})"
        elif np.isclose(best, rep["best"]):
            v = f"confirmed: {best:g} beats the runner-up {second:g} ({tt})"
        else:
            v = f"refuted: {best:g} is best, beating {second:g} ({tt})"
        rows.append({"flavour": fl, "claim": "BCE = 0.3 optimal", "ours": f"best {best:g} ({means.iloc[0]:.4f})",
                     "verdict": v})
        for metric, key, claim in (("test_enc2_auc", "corr_weight_enc2", "corr(weight, E2 AUC) = -0.91"),
                                   ("test_enc1_auc", "corr_weight_enc1", "corr(weight, E1 AUC) = +0.63")):
            pts = g.groupby("bce_loss_weight")[metric].mean()
            r_means = _pearson(pts.index, pts)
            per_seed = [r for _, s in g.groupby("seed") if np.isfinite(r := _pearson(s.bce_loss_weight, s[metric]))]
            lo, hi = (min(per_seed), max(per_seed)) if per_seed else (np.nan, np.nan)
            inside = lo - 1e-12 <= rep[key] <= hi + 1e-12
            v = (f"within the per-seed range [{lo:+.2f}, {hi:+.2f}]" if inside else
                 f"outside the per-seed range [{lo:+.2f}, {hi:+.2f}]")
            rows.append({"flavour": fl, "claim": claim,
                         "ours": f"{r_means:+.2f} on the point means; per seed {fmt(per_seed)}", "verdict": v})
    return pd.DataFrame(rows, columns=["flavour", "claim", "ours", "verdict"])


def phase1_verdicts(sr: pd.DataFrame, min_seeds: int = 3, metric: str = "test_enc2_auc") -> pd.DataFrame:
    """Per flavour, the seeds' calibration gain ("+6.7 %" E2 AUC of the best point over the default
    point): our relative gain of the seeds' best point over the default point (means over seeds) and
    the Welch t between them, and the rank of the seeds' best point among our point means."""
    rep, rows = REPORTED["phase1"], []
    fields = list(FIELDS["phase1"])
    for fl in sorted(set(sr.flavour)) if len(sr) else ["as_run", "as_intended"]:
        g = sr[sr.flavour == fl] if len(sr) else sr
        at = {k: g[np.logical_and.reduce([np.isclose(g[f], rep[f"{k}_point"][f]) for f in fields])] if len(g) else g
              for k in ("best", "default")}
        n = {k: len(v) for k, v in at.items()}
        if min(n.values()) < min_seeds:
            rows.append({"flavour": fl, "claim": f"+{rep['gain_over_default']:.1%} E2 AUC over the default point",
                         "ours": "", "verdict": f"pending: best point {n['best']}, default point {n['default']} of "
                                                f"{min_seeds} seeds"})
            continue
        b, d = at["best"][metric], at["default"][metric]
        gain, tt = b.mean() / d.mean() - 1, t_text(b, d)
        # the size: the gain's seed sd (first order) against the seeds' single number
        sd = np.sqrt(b.var(ddof=1) / len(b) + d.var(ddof=1) / len(d)) / d.mean()
        same = abs(gain - rep["gain_over_default"]) <= 2 * sd
        # a gain in the right direction but of another size is not the seeds' number: say both
        v = (f"not beyond seed noise ({tt})" if not beyond_noise(welch_p(b, d)) else
             f"refuted: the default point is better beyond seed noise ({tt})" if gain <= 0 else
             f"reproduced: a gain beyond seed noise ({tt}), its size within seed noise of the "
             f"seeds' +{rep['gain_over_default']:.1%}" if same else
             f"direction reproduced, size not: a gain beyond seed noise ({tt}) of "
             f"{gain:+.1%} ± {sd:.2%}, against the seeds' +{rep['gain_over_default']:.1%}")
        rows.append({"flavour": fl, "claim": f"+{rep['gain_over_default']:.1%} E2 AUC over the default point",
                     "ours": f"{gain:+.1%} ({b.mean():.4f} against {d.mean():.4f})", "verdict": v})
        # the seeds' absolute numbers at their best point (one run at d_model 256: size differs too)
        for m, key, name in (("test_enc2_auc", "best_enc2_auc", "E2"), ("test_enc1_auc", "best_enc1_auc", "E1")):
            vals = at["best"][m].to_numpy(float)
            rows.append({"flavour": fl, "claim": f"{name} AUC {rep[key]:.4f} at the best point",
                         "ours": mean_sd(vals, n=False), "verdict": reported_verdict(rep[key], vals, min_seeds=min_seeds, key=m)})
        means = g.groupby(fields)[metric].mean().sort_values(ascending=False)
        key = tuple(rep["best_point"][f] for f in fields)
        rank = next((i + 1 for i, k in enumerate(means.index) if np.allclose(k, key)), None)
        size = int(np.prod([len(levels) for levels in GRID_LEVELS]))
        # rank 1 confirms only over the whole grid; a point mean above it refutes it wherever it is
        verdict = ("pending" if not rank else "refuted" if rank > 1 else
                   "confirmed" if len(means) >= size else f"pending: {len(means)} of {size} grid points have runs")
        rows.append({"flavour": fl, "claim": "the seeds' best point is the best of the grid",
                     "ours": f"rank {rank} of {len(means)} point means" if rank else "", "verdict": verdict})
    return pd.DataFrame(rows, columns=["flavour", "claim", "ours", "verdict"])


def enc1_range(sr: pd.DataFrame, metric: str = "test_enc1_auc") -> pd.Series:
    """Per (flavour, seed) with runs at several points: the range of Encoder 1's AUC across the points.
    The learning-curve values reach Encoder 2 only, so this is 0 unless something else moves."""
    if not len(sr):
        return pd.Series(dtype=float)
    g = sr.groupby(["flavour", "seed"])[metric]
    return g.agg(lambda s: s.max() - s.min())[g.size() > 1]


GAIN_STATS = {"gain_skill_per_skill_cv": "per-skill CV", "gain_scalar_std": "legacy scalar std"}


def gain_table(sr: pd.DataFrame, sweep: str, stats: dict[str, str] = GAIN_STATS) -> pd.DataFrame:
    """Per flavour and point: the gain statistics of both tensors on the validation split, trained
    beside the untrained model of the same configuration (the noise floor), mean ± sd over seeds."""
    from .gains import fmt as gain_fmt  # with the number of seeds
    fields = list(FIELDS[sweep])
    rows = []
    for key, g in sr.groupby(["flavour", *fields]) if len(sr) else []:
        row = dict(zip(["flavour", *fields], key), seeds=len(g))
        for m, name in stats.items():
            row[name] = gain_fmt(g.get(f"valid_{m}", pd.Series(dtype=float)))
            row[f"{name} (untrained)"] = gain_fmt(g.get(f"untrained_{m}", pd.Series(dtype=float)))
        rows.append(row)
    return pd.DataFrame(rows)


def floor_tests(sr: pd.DataFrame, sweep: str, stats: dict[str, str] = GAIN_STATS,
                min_seeds: int = 3) -> pd.DataFrame:
    """Trained against untrained at every point of a sweep with `min_seeds` seeds, per flavour and gain
    statistic: the point (its swept values), both means, the two-sided Welch p over seeds and the
    direction ('above' or 'below' beyond seed noise, else 'within'). The one test behind
    `floor_reading` and `uniform_verdict`."""
    fields = list(FIELDS[sweep])
    rows = []
    for fl, g in sr.groupby("flavour") if len(sr) else []:
        for m, name in stats.items():
            for point, pt in g.groupby(fields):
                a, b = pt.get(f"valid_{m}"), pt.get(f"untrained_{m}")
                if a is None or b is None or len(pt) < min_seeds:
                    continue
                p = welch_p(a, b)
                side = ("above" if a.mean() > b.mean() else "below") if beyond_noise(p) else "within"
                rows.append({"flavour": fl, "stat": name, "point": point, "trained": a.mean(),
                             "untrained": b.mean(), "p": p, "side": side})
    return pd.DataFrame(rows, columns=["flavour", "stat", "point", "trained", "untrained", "p", "side"])


def floor_reading(sr: pd.DataFrame, sweep: str, stats: dict[str, str] = GAIN_STATS, min_seeds: int = 3) -> str:
    """How `gain_table` reads, per flavour and statistic: at how many points (with `min_seeds` seeds)
    the trained value is above the untrained model's beyond seed noise, below it, or within noise."""
    tests = floor_tests(sr, sweep, stats, min_seeds)
    parts = []
    for fl, g in tests.groupby("flavour", sort=True):
        counts = [f"{name} above the untrained model at {(t.side == 'above').sum()}, below it at "
                  f"{(t.side == 'below').sum()}, within seed noise of it at {(t.side == 'within').sum()} of "
                  f"{len(t)} points" for name in stats.values() if len(t := g[g.stat == name])]
        parts.append(f"{flavour_words(fl)}: " + "; ".join(counts))
    return ("Trained against untrained (two-sided Welch p < 0.05 over seeds): " + ". ".join(parts) + "."
            if parts else "")


def noise_reading(noise: pd.DataFrame) -> str:
    """One sentence from `seed_noise`: per flavour, the seed sd against the range of the point means,
    and whether a single-seed ranking of these points is limited by seed noise."""
    rows = noise[noise.points_with_seeds >= 2] if len(noise) else noise
    if not len(rows):
        return ""
    parts = [f"{flavour_words(r.flavour)}: seed sd {r.seed_sd:.4f} against a range of {r.range_of_means:.4f} "
             f"({r.range_of_means / r.seed_sd:.0f} times)" if r.seed_sd > 0 else
             f"{flavour_words(r.flavour)}: seed sd 0 against a range of {r.range_of_means:.4f}" for r in rows.itertuples()]
    wide = all(r.range_of_means > 4 * r.seed_sd for r in rows.itertuples())
    return ("E2 AUC over the points with several seeds, " + "; ".join(parts) + ". "
            + ("At this model size seed noise is small beside the differences between these points, so a single-seed "
               "grid can rank them; what it cannot show is whether the ranking holds at the seeds' size."
               if wide else "Seed noise is of the order of the differences between points: a single-seed grid "
                            "cannot rank them."))


def flavour_match(pt: pd.DataFrame) -> str:
    """Which flavour's Phase 2 the seeds' single values resemble, from `point_table(..., "phase2")`: per
    encoder, at how many weights each flavour reproduces the seeds' value (within 2 sd over seeds), the
    range of ours - seeds, and the flavour with the smaller mean |ours - seeds|. A reading, not a
    proof: their runs are one seed of the d_model 256 model. '' without the seeds' values."""
    if not len(pt) or "E1 verdict" not in pt:
        return ""
    out = []
    for name in ("E1", "E2"):
        per, gap = [], {}
        for fl, g in pt.groupby("flavour"):
            ok = int(g[f"{name} verdict"].str.startswith("reproduced").sum())
            off = (g[f"{name} AUC mean"] - g[f"seeds' {name} AUC"]).to_numpy(float)
            gap[fl] = (ok, float(np.nanmean(np.abs(off))))
            per.append(f"{flavour_words(fl)} reproduced at {ok} of {len(g)} weights (ours - seeds "
                       f"{np.nanmin(off):+.4f} to {np.nanmax(off):+.4f})")
        near = min(gap, key=lambda f: (-gap[f][0], gap[f][1]))
        verb = "It matches" if gap[near][0] else "Reproduced by neither, it is nearer"
        out.append(f"{name}: {'; '.join(per)}. {verb} the {flavour_words(near)} runs "
                   f"(mean |ours - seeds| {gap[near][1]:.4f}, against "
                   + ", ".join(f"{v[1]:.4f} {flavour_words(f)}" for f, v in gap.items() if f != near) + ").")
    return ("Which of our flavours the seeds' single values resemble. " + " ".join(out)
            + " A reading, not a proof: theirs is one run of the d_model 256 model, so size and seed can move a "
              "value too.")


def uniform_verdict(sr: pd.DataFrame, stats: dict[str, str] = GAIN_STATS, min_seeds: int = 3) -> str:
    """A verdict on the seeds' "all uniform" for V2's BCE sweep, per flavour and gain statistic: the
    gains are uniform in the sense that counts here when the trained value is within seed noise of
    the untrained model's, or below it, at every point with `min_seeds` seeds (`floor_tests`); a
    statistic above the untrained model beyond noise at any point refutes it."""
    parts = []
    for (fl, name), g in floor_tests(sr, "bce", stats, min_seeds).groupby(["flavour", "stat"], sort=False):
        above = [f"{pt[0]:g} ({r.trained:.3g} against {r.untrained:.3g})"
                 for pt, r in zip(g.point, g.itertuples()) if r.side == "above"]
        parts.append(f"{flavour_words(fl)}, {name}: " + (
            f"above the untrained model beyond seed noise at BCE {', '.join(above)}: not uniform" if above else
            f"within seed noise of the untrained model or below it at all {len(g)} weights: uniform in the "
            f"seeds' sense, and no more differentiated than random weights"))
    return ("The seeds' \"all uniform\" for V2's BCE sweep, against the untrained model of the same runs: "
            + "; ".join(parts) + "." if parts else "")

"""Learning trajectories across variants and seeds, read from the files every run writes.

Each run folder holds ``trajectories.csv`` (a sample of test windows, one row per step: the
practised skill and response, both encoders' predictions, the mastery of the practised skill after
the step, the gains) and ``checks.csv`` (the six trajectory checks). Nothing here retrains or reads a
checkpoint. Runs are discovered under the results root, so seeds added later appear without edits.

Vocabulary: a *run* is one seed of one (dataset, variant, flavour, label); a *curve* is the
mastery of one skill over one student's attempts at it in one window (``attempt`` 1, 2, ...).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import CHECK_NOTES, CHECKS, meets
from .runs import beyond_noise, flavour_words, load_runs, mean_sd, t_text, welch_p

ID_COLS = ["dataset", "variant", "flavour", "label", "seed", "run"]


def run_name(variant: str, flavour: str, seed, label: str = "") -> str:
    """'V2 as_intended small s42': the short name a run carries in tables and pickers."""
    return " ".join(str(x) for x in (variant, flavour, label, f"s{seed}") if x != "")


def trajectory_runs(results_root: str | Path = "results", dataset: str | None = None,
                    label: str | None = None) -> pd.DataFrame:
    """Finished GainAKT runs that wrote ``trajectories.csv``, one row each, sorted by dataset,
    variant, flavour, label and seed; column ``run`` is `run_name`. `label`: only runs of that
    label (e.g. "small", the replication's configuration: not the audit rows or the ablations)."""
    runs = load_runs(results_root, dataset=dataset)
    if label is not None and not runs.empty:
        runs = runs[runs.label == label]
    if runs.empty:
        return runs.assign(run=pd.Series(dtype=str))
    runs = runs[[(Path(d) / "trajectories.csv").is_file() for d in runs.dir]].copy()
    runs["run"] = [run_name(r.variant, r.flavour, r.seed, r.label) for r in runs.itertuples()]
    return runs.sort_values(["dataset", "variant", "flavour", "label", "seed"]).reset_index(drop=True)


def read_trajectories(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run's trajectories.csv stacked, with the run's identity columns (`ID_COLS`) in front
    and ``attempt``: the 1-based count of the student's attempts at the practised skill in the window."""
    parts = []
    for r in runs.itertuples():
        t = pd.read_csv(Path(r.dir) / "trajectories.csv")
        for c in ID_COLS:
            t.insert(ID_COLS.index(c), c, getattr(r, c))
        parts.append(t)
    if not parts:
        return pd.DataFrame(columns=ID_COLS + ["student", "window", "step", "skill", "attempt"])
    t = pd.concat(parts, ignore_index=True).sort_values(["run", "window", "step"], kind="stable")
    t["attempt"] = t.groupby(["run", "student", "window", "skill"]).cumcount() + 1
    return t.reset_index(drop=True)


def curves(traj: pd.DataFrame, min_attempts: int = 3) -> pd.DataFrame:
    """One row per curve with at least `min_attempts` attempts: mastery after the first and last
    attempt, the rise between them, the share of the whole rise (from 0) already reached after the
    first attempt (1 = a step, near 0 = a slow S-shaped climb), the attempts needed to reach 90% of
    the final mastery, the number of decreases, and the accuracy of the attempts."""
    keys = ID_COLS + ["student", "window", "skill"]
    rows = []
    for k, g in traj.groupby(keys, sort=False):
        m = g.mastery_current.to_numpy(float)
        if len(m) < min_attempts:
            continue
        final = m[-1]
        reach = int(np.argmax(m >= 0.9 * final)) + 1 if final > 0 else np.nan
        rows.append(dict(zip(keys, k), attempts=len(m), first=m[0], last=final, rise=final - m[0],
                         first_share=m[0] / final if final > 0 else np.nan, attempts_to_90=reach,
                         decreases=int((np.diff(m) < -1e-6).sum()), accuracy=float(g.response.mean())))
    return pd.DataFrame(rows, columns=keys + ["attempts", "first", "last", "rise", "first_share",
                                              "attempts_to_90", "decreases", "accuracy"])


def mastery_by_attempt(traj: pd.DataFrame, max_attempt: int = 10) -> pd.DataFrame:
    """Mean mastery of the practised skill after attempt 1..`max_attempt`, per variant and flavour
    (over seeds, students and skills), with the number of curves that reached each attempt."""
    d = traj[traj.attempt <= max_attempt]
    return (d.groupby(["variant", "flavour", "attempt"]).mastery_current.agg(["mean", "std", "count"])
            .reset_index().rename(columns={"mean": "mastery", "std": "sd", "count": "curves"}))


def shape_table(curve_rows: pd.DataFrame) -> pd.DataFrame:
    """Per variant and flavour: curves, mean mastery after the first and last attempt, the share of
    the final mastery reached after the first attempt, attempts to 90% and decreases (mean ± sd
    over seeds of the per-run means)."""
    per_run = (curve_rows.groupby(["variant", "flavour", "seed"])
               [["first", "last", "first_share", "attempts_to_90", "decreases"]].mean().reset_index())
    n = curve_rows.groupby(["variant", "flavour"]).size().rename("curves")
    out = per_run.groupby(["variant", "flavour"]).agg(lambda v: mean_sd(v, 3)).drop(columns="seed")
    out.insert(0, "seeds", per_run.groupby(["variant", "flavour"]).size())
    out.insert(1, "curves", n)
    return out.rename(columns={"first": "mastery after 1st", "last": "mastery after last",
                               "first_share": "share reached at 1st", "attempts_to_90": "attempts to 90%",
                               "decreases": "decreases per curve"})


def response_relation(traj: pd.DataFrame) -> pd.DataFrame:
    """Per run: Pearson r between the mastery the IM head reads (``mastery_q``) and the next
    response, r between the mastery after a step and that step's response, and the mean mastery
    after a correct and after an incorrect response."""
    rows = []
    for k, g in traj.groupby(ID_COLS, sort=False):
        r_next = g[["mastery_q", "response_next"]].corr().iloc[0, 1] if g.mastery_q.std() > 0 else np.nan
        r_now = g[["mastery_current", "response"]].corr().iloc[0, 1] if g.mastery_current.std() > 0 else np.nan
        rows.append(dict(zip(ID_COLS, k), r_mastery_next_response=r_next, r_mastery_response=r_now,
                         mastery_after_correct=g.loc[g.response == 1, "mastery_current"].mean(),
                         mastery_after_incorrect=g.loc[g.response == 0, "mastery_current"].mean()))
    return pd.DataFrame(rows)


def read_checks(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run's checks.csv stacked with its identity columns (runs without one are skipped)."""
    parts = []
    for r in runs.itertuples():
        f = Path(r.dir) / "checks.csv"
        if f.is_file():
            c = pd.read_csv(f)
            for col in ID_COLS:
                c[col] = getattr(r, col)
            parts.append(c)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# The checks that are gain statistics: the untrained model's statistic of the same name (validation
# split, metrics.json "untrained_valid"), by gain tensor (check 6: r_t for gain_skill's meaningful
# definition, r_{t+1} for the legacy scalar's original one).
GAIN_CHECKS = {"1 skill differentiation": "cv", "5 skill difficulty": "per_skill_cv",
               "6 response-conditional gain": {"gain_skill": "response_ratio", "gain_scalar": "response_ratio_next"}}
NOT_APPLICABLE = "n/a"


def _untrained_col(check: str, gain: str) -> str | None:
    stat = GAIN_CHECKS.get(check)
    if isinstance(stat, dict):
        stat = stat.get(gain)
    return f"untrained_{gain}_{stat}" if stat else None


def not_applicable(runs: pd.DataFrame, check: str, gain: str) -> bool:
    """Check 2 with the per-skill gain (meaningful definition) under accumulate=practised: sparsity holds
    by construction and the count means nothing (metrics.CHECK_NOTES)."""
    if not check.startswith("2 ") or gain != "gain_skill" or "config" not in runs:
        return False
    return all(c.get("accumulate") == "practised" for c in runs.config)


def untrained_values(runs: pd.DataFrame, gain: str = "gain_skill") -> pd.DataFrame:
    """Per variant, flavour and gain check (GAIN_CHECKS): the untrained model's statistic, mean ± sd over
    seeds (``untrained``), its mean, and whether that mean already meets the check's target."""
    rows = []
    for (v, f), g in runs.groupby(["variant", "flavour"]):
        for check in GAIN_CHECKS:
            col = _untrained_col(check, gain)
            vals = g[col].astype(float) if col in g else pd.Series(dtype=float)
            m = float(vals.mean()) if vals.notna().any() else np.nan
            rows.append(dict(variant=v, flavour=f, check=check, untrained=mean_sd(vals, 3, n=False), mean=m,
                             meets=meets(m, CHECKS[check][2])))
    return pd.DataFrame(rows, columns=["variant", "flavour", "check", "untrained", "mean", "meets"])


def check_table(checks: pd.DataFrame, gain: str = "gain_skill", rows: str = "trajectory_sample",
                runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The six checks (rows) per variant and flavour (columns): value mean ± sd over seeds and how
    many seeds passed, for one gain tensor (`gain`: gain_skill or gain_scalar) and one row set
    (`rows`: trajectory_sample, the seeds' 10 windows, or test_split). With `runs` (trajectory_runs):
    an ``untrained`` column per configuration beside the gain checks (GAIN_CHECKS: the untrained
    model's statistic on the validation split, blank for the other checks), and check 2 "n/a" where
    it does not apply (`not_applicable`)."""
    d = checks[(checks.gain == gain) & (checks.rows == rows)]
    if d.empty:
        return pd.DataFrame()
    out = {}
    for (v, f), g in d.groupby(["variant", "flavour"]):
        vals = g.groupby("check").value.apply(lambda x: mean_sd(x, 3))
        passed = g.groupby("check").passed.agg(lambda x: f"{int(x.astype(bool).sum())}/{len(x)}")
        if runs is not None:
            cfg_runs = runs[(runs.variant == v) & (runs.flavour == f)]
            for check in vals.index:
                if not_applicable(cfg_runs, check, gain):
                    vals[check] = passed[check] = NOT_APPLICABLE
        out[(f"{v} {f}", "value")] = vals
        out[(f"{v} {f}", "passed")] = passed
        if runs is not None:
            u = untrained_values(runs[(runs.variant == v) & (runs.flavour == f)], gain).set_index("check").untrained
            out[(f"{v} {f}", "untrained")] = pd.Series({c: u.get(c, "") for c in vals.index})
    table = pd.DataFrame(out)
    target = d.drop_duplicates("check").set_index("check").target
    table.insert(0, ("", "target"), target)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table



def untrained_meets_text(runs: pd.DataFrame, gain: str = "gain_skill") -> str:
    """A sentence naming, per gain check, the configurations whose untrained model already meets the
    check's target (mean over seeds), or saying that none does."""
    u = untrained_values(runs, gain)
    parts = []
    for check in GAIN_CHECKS:
        hit = u[(u.check == check) & u.meets]
        if len(hit):
            parts.append(f"check {check} ({CHECKS[check][2]}): "
                         + ", ".join(f"{r.variant} {flavour_words(r.flavour)} ({r.mean:.3f})" for r in hit.itertuples()))
    if not parts:
        return "The untrained model meets the target of no gain check in any configuration."
    return "The untrained model already meets the target in " + "; ".join(parts) + "."


def check_definitions() -> pd.DataFrame:
    """The six checks (metrics.CHECKS): both definitions, the target, and when each can fail (CHECK_NOTES)."""
    notes = {n["check"]: n for n in CHECK_NOTES}
    rows = []
    for name, (orig, meaningful, target) in CHECKS.items():
        keyed = [n for k, n in notes.items() if k.split(" (")[0] == name]
        can_fail = "; ".join(f"{n['check'][len(name):].strip(' ()') or 'both'}: {n['can_fail']}" for n in keyed)
        rows.append({"check": name, "original definition (legacy scalar gain)": orig,
                     "meaningful definition (per-skill gain)": meaningful, "target": target,
                     "gain statistic": "yes" if name in GAIN_CHECKS else "no", "can fail": can_fail})
    return pd.DataFrame(rows).set_index("check")


def response_contrast(rel: pd.DataFrame) -> pd.DataFrame:
    """Per variant and flavour, from `response_relation`: mastery after correct minus after incorrect
    (mean over seeds), Welch's test of the seeds' two means (`t`, `p`), whether the contrast runs the
    wrong way (after incorrect higher) and whether the difference is beyond seed noise."""
    rows = []
    for (v, f), g in rel.groupby(["variant", "flavour"]):
        a, b = g.mastery_after_correct.to_numpy(float), g.mastery_after_incorrect.to_numpy(float)
        p = welch_p(a, b)
        rows.append(dict(variant=v, flavour=f, seeds=len(g), difference=float(np.nanmean(a - b)),
                         t=t_text(a, b), p=p, wrong_way=bool(np.nanmean(a) < np.nanmean(b)),
                         beyond_noise=beyond_noise(p)))
    return pd.DataFrame(rows)


def response_contrast_text(rel: pd.DataFrame) -> str:
    """The sentence under Table 2: per configuration the contrast and its Welch test, then the
    configurations where it runs the wrong way and whether that is beyond seed noise."""
    c = response_contrast(rel)
    if c.empty:
        return ""
    each = "; ".join(f"{r.variant} {flavour_words(r.flavour)}: {r.difference:+.3f} ({r.t}, "
                     f"{'beyond' if r.beyond_noise else 'within'} seed noise)" for r in c.itertuples())
    wrong = c[c.wrong_way]
    if len(wrong):
        w = ", ".join(f"{r.variant} {flavour_words(r.flavour)} ({'beyond' if r.beyond_noise else 'within'} seed noise)"
                      for r in wrong.itertuples())
        tail = f" The contrast runs the wrong way (mastery higher after an incorrect answer) in {w}."
    else:
        tail = " The contrast runs the right way (mastery higher after a correct answer) in every configuration."
    return ("Mastery after a correct minus after an incorrect answer, mean over seeds, with a Welch test "
            "over seeds of the two per-run means: " + each + "." + tail)


def seed_agreement_text(table: pd.DataFrame, runs: pd.DataFrame, traj: pd.DataFrame) -> str:
    """For configurations whose every 'mean ± sd' cell of `table` shows sd 0.000: the largest sd over
    seeds of the learning curve's fitted parameters (param_beta_mean, param_msat_mean, param_gamma_mean,
    param_offset) and the mean within-run sd of the practised skill's gain."""
    zero = []
    for key, row in table.iterrows():
        cells = [str(x) for x in row if isinstance(x, str) and " ± " in str(x)]
        if cells and all(x.split(" ± ")[1].startswith("0.000") for x in cells):
            zero.append(key)
    if not zero:
        return ""
    params = [c for c in ("param_beta_mean", "param_msat_mean", "param_gamma_mean", "param_offset") if c in runs]
    parts = []
    for v, f in zero:
        g = runs[(runs.variant == v) & (runs.flavour == f)]
        psd = float(g[params].std(ddof=1).max()) if params and len(g) > 1 else np.nan
        gsd = float(traj[(traj.variant == v) & (traj.flavour == f)].groupby("seed").gain_skill.std().mean())
        parts.append(f"{v} {flavour_words(f)} (curve parameters' sd over seeds at most {psd:.4f}; gain sd within a run {gsd:.3f})")
    return ("Rows whose seeds agree to three decimals: " + "; ".join(parts) + ".")


def copies_text(runs: pd.DataFrame) -> str:
    """'N trained runs + K copies (V5 as_run = V3 as_run's)', from load_runs' ``derived_from``."""
    if "derived_from" not in runs:
        return f"{len(runs)} runs"
    cp = runs[runs.derived_from.fillna("").astype(str) != ""]
    if cp.empty:
        return f"{len(runs)} trained runs"
    srcs = []
    for (v, f), g in cp.groupby(["variant", "flavour"]):
        src = set()
        for d in g.derived_from:
            hit = runs[[Path(x).as_posix().endswith(Path(d).as_posix()) for x in runs.dir]]
            src |= ({f"{h.variant} {flavour_words(h.flavour)}" for h in hit.itertuples()} if len(hit) else {Path(d).parent.name})
        srcs.append(f"{v} {flavour_words(f)} = {', '.join(sorted(src))}'s")
    return f"{len(runs) - len(cp)} trained runs + {len(cp)} copies ({'; '.join(srcs)})"


def common_pairs(traj: pd.DataFrame, n: int, min_attempts: int = 3) -> list[tuple[int, int]]:
    """Up to `n` (student, skill) pairs that every run in `traj` holds with at least `min_attempts`
    attempts: each student's most practised such skill, students by that count (ties: lower
    student, then skill), then further skills when students run out; for showing the same
    students across variants and seeds."""
    if traj.empty:
        return []
    counts = traj.groupby(["run", "student", "skill"]).size().unstack("run").dropna()
    counts = counts[counts.min(axis=1) >= min_attempts]
    order = counts.min(axis=1).rename("k").reset_index().sort_values(
        ["k", "student", "skill"], ascending=[False, True, True])
    order["rank"] = order.groupby("student").cumcount()
    order = order.sort_values(["rank", "k", "student", "skill"], ascending=[True, False, True, True])
    return [(int(s), int(k)) for s, k in zip(order.student, order.skill)][:n]


def per_skill_gains(runs: pd.DataFrame, min_n: int = 20) -> pd.DataFrame:
    """Per skill and variant-flavour: the mean over seeds of each run's per-skill mean gain
    (``gain_own_mean`` of skill_gains.csv, test split), with the skill's accuracy and its largest n
    over seeds (skills seen at least `min_n` times in a run)."""
    parts = []
    for r in runs.itertuples():
        f = Path(r.dir) / "skill_gains.csv"
        if f.is_file():
            s = pd.read_csv(f)
            s = s[s.n >= min_n]
            parts.append(s.assign(variant=r.variant, flavour=r.flavour, seed=r.seed))
    if not parts:
        return pd.DataFrame(columns=["variant", "flavour", "skill", "gain", "accuracy", "n", "seeds"])
    d = pd.concat(parts, ignore_index=True)
    return (d.groupby(["variant", "flavour", "skill"])
            .agg(gain=("gain_own_mean", "mean"), accuracy=("accuracy", "mean"), n=("n", "max"),
                 seeds=("seed", "nunique")).reset_index())

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

from .runs import load_runs, mean_sd

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


def check_table(checks: pd.DataFrame, gain: str = "gain_skill", rows: str = "trajectory_sample") -> pd.DataFrame:
    """The six checks (rows) per variant and flavour (columns): value mean ± sd over seeds and how
    many seeds passed, for one gain tensor (`gain`: gain_skill or gain_scalar) and one row set
    (`rows`: trajectory_sample, the seeds' 10 windows, or test_split)."""
    d = checks[(checks.gain == gain) & (checks.rows == rows)]
    if d.empty:
        return pd.DataFrame()
    out = {}
    for (v, f), g in d.groupby(["variant", "flavour"]):
        vals = g.groupby("check").value.apply(lambda x: mean_sd(x, 3))
        passed = g.groupby("check").passed.agg(lambda x: f"{int(x.astype(bool).sum())}/{len(x)}")
        out[(f"{v} {f}", "value")] = vals
        out[(f"{v} {f}", "passed")] = passed
    table = pd.DataFrame(out)
    target = d.drop_duplicates("check").set_index("check").target
    table.insert(0, ("", "target"), target)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


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

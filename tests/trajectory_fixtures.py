"""Tiny results trees for the trajectory and explorer tests: two variants x two seeds of one flavour
on a toy dataset, each with the files a run writes (config, metrics, history, trajectories, checks,
skill gains), and a BKT baseline's skill_params.csv. Values are made up but shaped like real ones."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

DATASET = "toy"
STUDENTS = (7, 9, 11)
SKILLS = (0, 1, 2, 3)


def trajectory_rows(rng: np.random.Generator, rise: float) -> pd.DataFrame:
    """Three students, one window each, 12 steps cycling over skills; mastery of a skill climbs by
    `rise` per attempt (capped at 1)."""
    rows = []
    for w, student in enumerate(STUDENTS):
        seen: dict[int, float] = {}
        for step in range(12):
            skill = SKILLS[(step + w) % (2 + w)]
            m = min(1.0, seen.get(skill, 0.2) + rise)
            seen[skill] = m
            r = int(rng.random() < 0.7)
            rows.append(dict(student=student, window=w, step=step, skill=skill, response=r,
                             next_skill=SKILLS[(step + 1 + w) % (2 + w)], response_next=int(rng.random() < 0.7),
                             p_enc1=rng.random(), p_im=rng.random(), mastery_q=m, mastery_current=m,
                             mastery_next=m, mastery_mean_all=0.3, gain_scalar=0.6, gain_skill=rise,
                             gain_std_across_skills=0.1, **{"skills_gain_gt_0.1": 1.0}))
    return pd.DataFrame(rows)


def make_results(root: Path, seeds=(1, 2)) -> Path:
    """Write the toy results tree under `root`; returns `root`."""
    for variant, rise in (("V2", 0.3), ("V3", 0.05)):
        for seed in seeds:
            d = root / DATASET / f"{variant}-as_intended-small" / f"seed{seed}"
            d.mkdir(parents=True)
            rng = np.random.default_rng(seed)
            cfg = dict(dataset=DATASET, variant=variant, flavour="as_intended", seed=seed, epochs=2,
                       patience=2, d_model=8, n_blocks=1)
            (d / "config.json").write_text(json.dumps({"config": cfg}))
            (d / "metrics.json").write_text(json.dumps({"best_epoch": 2, "epochs_run": 2, "test": {"enc1_auc": 0.7}}))
            pd.DataFrame({"epoch": [0, 1, 2], "valid_enc1_auc": [0.5, 0.6, 0.7]}).to_csv(d / "history.csv", index=False)
            trajectory_rows(rng, rise).to_csv(d / "trajectories.csv", index=False)
            checks = [dict(check=f"{i} check{i}", definition="d", target="> 0.2", value=0.1 * i + 0.01 * seed,
                           passed=(i + seed) % 2 == 0, gain=g, definitions="x", rows="trajectory_sample")
                      for i in range(1, 7) for g in ("gain_skill", "gain_scalar")]
            pd.DataFrame(checks).to_csv(d / "checks.csv", index=False)
            pd.DataFrame({"skill": list(SKILLS), "n": [50, 40, 30, 10], "accuracy": [0.6, 0.7, 0.8, 0.9],
                          "gain_own_mean": [rise * (1 + k / 10) for k in SKILLS]}).to_csv(d / "skill_gains.csv",
                                                                                      index=False)
    b = root / DATASET / "bkt-baseline" / "seed0"
    b.mkdir(parents=True)
    pd.DataFrame({"skill": list(SKILLS), "train_attempts": [100] * 4, "train_accuracy": [0.7] * 4,
                  "bkt_learn": [0.1, 0.2, 0.3, 0.4]}).to_csv(b / "skill_params.csv", index=False)
    return root

"""gainakt.analysis.sweeps on made-up runs whose answer is known."""
import itertools

import numpy as np
import pandas as pd
import pytest

from gainakt.analysis.sweeps import FIELDS, REPORTED, impacts, point_table, seed_noise, sweep_runs


def _runs(sweep, points, seeds, f, noise=0.0, flavour="as_run", rng=None):
    rng = rng or np.random.default_rng(0)
    rows = []
    for point in points:
        for s in seeds:
            cfg = dict(zip(FIELDS[sweep], point))
            name = "-".join(f"{k}{v:g}" for k, v in sorted(cfg.items()))
            rows.append({"dataset": "assist2015", "label": f"small-{sweep}-{name}", "flavour": flavour,
                         "seed": s, "config": cfg, "test_enc1_auc": 0.70,
                         "test_enc2_auc": f(**cfg) + noise * rng.standard_normal()})
    return pd.DataFrame(rows)


def test_phase1_impacts_recover_the_slopes_and_their_sign():
    grid = list(itertools.product([1.5, 2.0, 2.5], [0.7, 0.8, 0.9], [0.9, 1.0, 1.1], [1.5, 2.0, 2.5]))
    f = lambda beta_skill_init, m_sat_init, gamma_student_init, sigmoid_offset: (  # noqa: E731
        0.5 + 0.02 * beta_skill_init - 0.01 * sigmoid_offset + 0.0 * m_sat_init + 0.0 * gamma_student_init)
    other = _runs("phase1", grid[:5], [0], f)
    other["label"] = "small-audit-x"           # not the sweep: left out
    runs = pd.concat([_runs("phase1", grid, [42], f, noise=0.001), other], ignore_index=True)
    sr = sweep_runs(runs, "phase1")
    assert len(sr) == 81 and set(FIELDS["phase1"]) <= set(sr.columns)
    imp = impacts(sr, "phase1").set_index("field")
    assert imp.loc["beta_skill_init", "ols_slope"] == pytest.approx(0.02, abs=0.002)
    assert imp.loc["sigmoid_offset", "ols_slope"] == pytest.approx(-0.01, abs=0.002)
    assert imp.loc["beta_skill_init", "pearson_r"] > 0.8 and imp.loc["sigmoid_offset", "pearson_r"] < -0.3
    assert abs(imp.loc["m_sat_init", "ols_t"]) < 4 and imp.loc["beta_skill_init", "ols_t"] > 10
    assert imp.loc["beta_skill_init", "seeds' impact"] == REPORTED["phase1"]["impacts"]["beta_skill_init"]


def test_phase2_points_have_seed_spread_and_the_seeds_values():
    f = lambda bce_loss_weight: 0.55 - 0.01 * bce_loss_weight   # noqa: E731
    sr = sweep_runs(_runs("phase2", [(w,) for w in (0.3, 0.5, 0.8)], [42, 43, 44], f, noise=0.003), "phase2")
    t = point_table(sr, "phase2")
    assert list(t.seeds) == [3, 3, 3] and (t["E2 AUC sd"] > 0).all()
    assert t.loc[t.bce_loss_weight == 0.3, "seeds' E2 AUC"].item() == 0.5438
    assert t["E1 + 0.5 E2 mean"].iloc[0] == pytest.approx(0.70 + 0.5 * t["E2 AUC mean"].iloc[0])
    # each of the seeds' numbers has its verdict: E1 is a constant 0.70 here against their 0.6853
    assert t["E1 verdict"].iloc[0].startswith("differs: ours higher by 0.0147")
    assert t["E2 verdict"].str.startswith(("reproduced", "differs", "close")).all()
    noise = seed_noise(sr, "phase2").iloc[0]
    assert noise.points == 3 and noise.points_with_seeds == 3
    assert noise.seed_sd == pytest.approx(0.003, rel=0.6)


def test_one_seed_and_no_runs():
    f = lambda bce_loss_weight: 0.5   # noqa: E731
    sr = sweep_runs(_runs("phase2", [(0.3,), (0.4,)], [42], f), "phase2")
    assert np.isnan(point_table(sr, "phase2")["E2 AUC sd"]).all()
    assert point_table(sr, "phase2")["E2 verdict"].str.startswith("one run").all()
    assert np.isnan(seed_noise(sr, "phase2").seed_sd.item())
    empty = sweep_runs(pd.DataFrame(), "phase1")
    assert point_table(empty, "phase1").empty and impacts(empty, "phase1").empty and seed_noise(empty, "phase1").empty


def test_phase2_verdicts_tell_a_real_optimum_from_seed_noise():
    from gainakt.analysis.sweeps import phase2_verdicts
    weights = [(w,) for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)]
    # a clear optimum at 0.3 (E2 falls by 0.01 per 0.1 of weight, seed noise 0.001)
    clear = sweep_runs(_runs("phase2", weights, [42, 43, 44], lambda bce_loss_weight: 0.6 - 0.1 * bce_loss_weight,
                             noise=0.001), "phase2")
    v = phase2_verdicts(clear).set_index("claim")
    assert v.loc["BCE = 0.3 optimal", "verdict"].startswith("confirmed: 0.3 beats the runner-up 0.4")
    assert v.loc["corr(weight, E2 AUC) = -0.91", "ours"].startswith("-1.00 on the point means")
    assert v.loc["corr(weight, E2 AUC) = -0.91", "verdict"].startswith("outside")   # ours is -1.00
    # flat: only seed noise, the 'optimum' cannot be told apart
    flat = sweep_runs(_runs("phase2", weights, [42, 43, 44], lambda bce_loss_weight: 0.55, noise=0.003,
                            rng=np.random.default_rng(3)), "phase2")
    assert phase2_verdicts(flat).set_index("claim").loc["BCE = 0.3 optimal", "verdict"].startswith("not told apart")
    # a best point elsewhere
    up = sweep_runs(_runs("phase2", weights, [42, 43, 44], lambda bce_loss_weight: 0.5 + 0.1 * bce_loss_weight,
                          noise=0.001), "phase2")
    assert phase2_verdicts(up).set_index("claim").loc["BCE = 0.3 optimal", "verdict"].startswith("refuted: 0.8 is best")
    # two seeds are not enough
    few = sweep_runs(_runs("phase2", weights, [42, 43], lambda bce_loss_weight: 0.5), "phase2")
    assert set(phase2_verdicts(few).verdict) == {"pending: 6 of 6 points below 3 seeds"}
    assert set(phase2_verdicts(sweep_runs(pd.DataFrame(), "phase2")).verdict) == {"pending: no run finished"}
    # one weight with all its seeds is not a sweep: nothing to rank or correlate yet
    one = sweep_runs(_runs("phase2", [(0.3,)], [42, 43, 44], lambda bce_loss_weight: 0.55, noise=0.001), "phase2")
    assert set(phase2_verdicts(one).verdict) == {"pending: 1 of 6 weights have runs"}


def test_phase1_verdicts_and_figures():
    import matplotlib
    matplotlib.use("Agg")
    from gainakt.analysis.sweep_figures import grid_figure, weight_figure
    from gainakt.analysis.sweeps import GRID_LEVELS, gain_table, impacts, phase1_verdicts
    grid = list(itertools.product(*GRID_LEVELS))
    f = lambda beta_skill_init, m_sat_init, gamma_student_init, sigmoid_offset: (  # noqa: E731
        0.5 + 0.02 * beta_skill_init - 0.01 * sigmoid_offset + 0.01 * gamma_student_init - 0.01 * m_sat_init)
    one = _runs("phase1", grid, [42], f)
    pts = [tuple(REPORTED["phase1"][k][x] for x in FIELDS["phase1"]) for k in ("best_point", "default_point")]
    more = _runs("phase1", pts, [43, 44], f, noise=0.0005)
    sr = sweep_runs(pd.concat([one, more], ignore_index=True), "phase1")
    v = phase1_verdicts(sr).set_index("claim")
    gain = v.iloc[0]
    expected = f(**REPORTED["phase1"]["best_point"]) / f(**REPORTED["phase1"]["default_point"]) - 1
    assert float(gain.ours.split("%")[0]) / 100 == pytest.approx(expected, abs=0.002)
    # the toy gain (about +3.2 %) is far from the seeds' +6.7 %: the direction holds, the size does not
    assert gain.verdict.startswith("direction reproduced, size not: a gain beyond seed noise")
    assert "of +3.2% ±" in gain.verdict and gain.verdict.endswith("against the seeds' +6.7%")
    # a toy whose gain is the seeds' size is reproduced; one that favours the default point is refuted
    (fb, fd), target = (f(**REPORTED["phase1"][k]) - 0.5 for k in ("best_point", "default_point")), 1 + REPORTED["phase1"]["gain_over_default"]
    same = 0.5 * (target - 1) / (fb - target * fd)   # the scale of f - 0.5 at which the toy gain is the seeds'
    for scale, start in ((same, "reproduced: a gain beyond seed noise"), (-1.0, "refuted: the default point")):
        g = lambda **kw: 0.5 + scale * (f(**kw) - 0.5)  # noqa: E731
        runs_ = _runs("phase1", pts, [42, 43, 44], g, noise=0.0005)
        assert phase1_verdicts(sweep_runs(runs_, "phase1")).verdict.iloc[0].startswith(start), scale
    assert v.loc["the seeds' best point is the best of the grid", "verdict"] == "confirmed"   # it maximises f
    # the seeds' absolute E1 (0.6860) against the toy's constant 0.70: a difference with no seed spread
    assert v.loc["E1 AUC 0.6860 at the best point", "verdict"].startswith("differs: ours higher by 0.014")
    assert v.loc["E2 AUC 0.5443 at the best point", "ours"].startswith("0.5")
    # Encoder 1 does not move across the points in the toy (a constant 0.70): range 0 per seed
    from gainakt.analysis.sweeps import enc1_range
    assert (enc1_range(sr) == 0).all() and len(enc1_range(sr)) == 3 and enc1_range(sweep_runs(pd.DataFrame(), "phase1")).empty
    assert phase1_verdicts(sweep_runs(one, "phase1")).verdict.iloc[0].startswith("pending: best point 1")
    # the two points alone: the gain has its verdict, the rank waits for the grid
    two = phase1_verdicts(sweep_runs(_runs("phase1", pts, [42, 43, 44], f, noise=0.0005), "phase1")).set_index("claim")
    assert two.loc["the seeds' best point is the best of the grid", "verdict"] == "pending: 2 of 81 grid points have runs"
    # and the two points, which move all four fields at once, give no parameter impacts
    imp = impacts(sweep_runs(_runs("phase1", pts, [42, 43, 44], f, noise=0.0005), "phase1"), "phase1")
    assert imp.pearson_r.isna().all() and imp.note.str.startswith("pending: 2 distinct points").all()
    fig = grid_figure(sr)
    assert len(fig.axes) == 10 and fig.axes[0].get_title() == "beta 1.5, M_sat 0.7"
    assert len(fig.axes[0].patches) == 0 and len(fig.axes[6].patches) == 1   # beta 2.5, M_sat 0.7 holds the best
    ph2 = sweep_runs(_runs("phase2", [(0.3,), (0.5,)], [42, 43], lambda bce_loss_weight: 0.5), "phase2")
    fig = weight_figure(ph2)
    assert [a.get_title() for a in fig.axes] == ["E1 AUC", "E2 AUC", "E1 + 0.5 E2"]
    ph2["valid_gain_skill_per_skill_cv"], ph2["untrained_gain_skill_per_skill_cv"] = 0.5, 0.1
    gt = gain_table(ph2, "phase2")
    assert list(gt.seeds) == [2, 2] and gt["per-skill CV (untrained)"].iloc[0].startswith("0.1000 ± 0.0000")


def test_floor_and_noise_readings_count_points_against_the_untrained_model_and_the_seed_sd():
    from gainakt.analysis.sweeps import floor_reading, noise_reading
    f = lambda bce_loss_weight: 0.55 - 0.01 * bce_loss_weight   # noqa: E731
    sr = sweep_runs(_runs("phase2", [(0.3,), (0.4,)], [42, 43, 44], f, noise=1e-4), "phase2")
    sr["untrained_gain_skill_per_skill_cv"] = 0.001 + 1e-5 * sr.seed.sub(43)
    sr["valid_gain_skill_per_skill_cv"] = np.where(sr.bce_loss_weight == 0.3, 0.002, 0.0005) + 1e-5 * sr.seed.sub(43)
    s = floor_reading(sr, "phase2", stats={"gain_skill_per_skill_cv": "per-skill CV"})
    assert "as run: per-skill CV above the untrained model at 1, below it at 1, within seed noise of it at 0 of 2" in s
    noisy = noise_reading(seed_noise(sr, "phase2"))
    assert "as run: seed sd 0.0000 against a range of 0.0010" in noisy and "can rank them" in noisy
    sr2 = sweep_runs(_runs("phase2", [(0.3,), (0.4,)], [42, 43, 44], f, noise=0.01), "phase2")
    assert "cannot rank them" in noise_reading(seed_noise(sr2, "phase2"))


def test_flavour_match_names_the_flavour_each_encoder_resembles():
    from gainakt.analysis.sweeps import flavour_match
    pts = REPORTED["phase2"]["points"]
    rng = np.random.default_rng(1)
    frames = []
    for fl, d1, d2 in (("as_run", 0.0, 0.015), ("as_intended", 0.027, 0.002)):
        r = _runs("phase2", [(w,) for w in pts], [42, 43, 44], lambda bce_loss_weight: 0.0, flavour=fl)
        w = [c["bce_loss_weight"] for c in r.config]
        r["test_enc1_auc"] = [pts[x][0] + d1 + 0.002 * rng.standard_normal() for x in w]
        r["test_enc2_auc"] = [pts[x][1] + d2 + 0.0005 * rng.standard_normal() for x in w]
        frames.append(r)
    text = flavour_match(point_table(sweep_runs(pd.concat(frames, ignore_index=True), "phase2"), "phase2"))
    e1, e2 = text.split(" E1: ")[1].split(" E2: ")
    assert "as run reproduced at 6 of 6 weights" in e1 and "It matches the as run runs" in e1
    assert "reproduced at 0 of 6" in e2 and "Reproduced by neither, it is nearer the as intended runs" in e2
    assert flavour_match(pd.DataFrame()) == ""


def test_slice_figure_draws_each_fields_slice_through_both_anchor_points():
    import matplotlib
    matplotlib.use("Agg")
    from gainakt.analysis.sweep_figures import slice_figure
    from gainakt.analysis.sweeps import GRID_LEVELS
    f = lambda beta_skill_init, m_sat_init, gamma_student_init, sigmoid_offset: 0.5 + 0.02 * beta_skill_init  # noqa: E731
    pts = []
    for k in ("best_point", "default_point"):
        a = REPORTED["phase1"][k]
        for i, field in enumerate(FIELDS["phase1"]):   # one factor at a time through each anchor
            for v in GRID_LEVELS[i]:
                pts.append(tuple(v if x == field else a[x] for x in FIELDS["phase1"]))
    runs_ = _runs("phase1", sorted(set(pts)), [42], f, flavour="as_intended")
    fig = slice_figure(sweep_runs(runs_, "phase1"))
    assert [a.get_title() for a in fig.axes] == ["beta", "M_sat", "gamma", "offset"]
    beta = fig.axes[0]
    line = beta.get_lines()[0]   # the best point's slice: three values of beta, E2 rising with it
    assert list(line.get_xdata()) == [1.5, 2.0, 2.5] and list(np.diff(line.get_ydata()) > 0) == [True, True]
    assert len(slice_figure(sweep_runs(pd.DataFrame(), "phase1")).axes[0].get_lines()) == 0


def test_uniform_verdict_tells_per_skill_differences_from_the_untrained_floor():
    from gainakt.analysis.sweeps import uniform_verdict
    f = lambda bce_loss_weight: 0.5   # noqa: E731
    sr = sweep_runs(_runs("bce", [(0.0,), (1.0,)], [42, 43, 44], f), "bce")
    e = (sr.seed - 43) * 0.001
    sr["valid_gain_skill_per_skill_cv"] = 0.8 + e                  # far above its floor
    sr["untrained_gain_skill_per_skill_cv"] = 0.16 + e
    sr["valid_gain_scalar_std"] = 0.0031 + e / 10                  # at its floor
    sr["untrained_gain_scalar_std"] = 0.0031 + e / 20
    v = uniform_verdict(sr)
    assert "per-skill CV: above the untrained model beyond seed noise at BCE 0 (0.8 against 0.16), 1" in v
    assert "legacy scalar std: within seed noise of the untrained model or below it at all 2 weights" in v
    assert uniform_verdict(sr[sr.seed == 42]) == "" and uniform_verdict(sweep_runs(pd.DataFrame(), "bce")) == ""

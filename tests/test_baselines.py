"""Baselines: same targets and metrics as the main model, BKT parameter recovery, PFA counts,
every baseline runs through train.run / the CLI with repro and compare, bad input, non-convergence."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from gainakt import data as kt_data
from gainakt.baselines import MODELS, bkt
from gainakt.baselines.common import History, history_table, prior_counts, score
from gainakt.batches import iter_batches
from gainakt.cli import main
from gainakt.config import Config
from gainakt.metrics import EpochMetrics
from gainakt.train import run

SYN = {"n_students": 60, "max_len": 30, "n_skills": 6}
TINY = dict(dataset="synthetic", synthetic=SYN, d_model=16, n_heads=2, n_blocks=1, d_ff=32, batch_size=16,
            seq_len=12, epochs=2, patience=1, learning_rate=1e-2, num_threads=1)


@pytest.fixture(scope="module")
def tiny_data():
    return kt_data.load_dataset("synthetic", seq_len=12, synthetic=SYN)


def test_classical_targets_are_the_windows_next_step_targets(tiny_data):
    for split in (tiny_data.train, tiny_data.test):
        h = history_table(split)
        ours = sorted(zip(h.student[h.target].tolist(), h.pos[h.target].tolist(), h.response[h.target].tolist()))
        theirs = []
        for b in iter_batches(split, 8):
            for i in range(len(b.index)):
                t = torch.nonzero(b.mask[i]).flatten()
                start = int(split.starts[b.index[i]])
                theirs += [(int(b.students[i]), start + int(k) + 1, int(b.r_next[i, k])) for k in t]
        assert ours == sorted(theirs)
        assert (h.window_start > 0).any()  # windows of 12 cut these students: the whole-history case is live


def test_prior_counts_match_a_loop():
    rng = np.random.default_rng(1)
    n = 300
    h = History(rng.integers(0, 5, n), np.zeros(n, int), rng.integers(0, 4, n), rng.integers(0, 2, n),
                np.ones(n, bool), np.zeros(n, int))
    h.pos = np.array([np.sum(h.student[:i] == h.student[i]) for i in range(n)])  # time = file order
    succ, fail = prior_counts(h)
    for i in range(n):
        past = (h.student[:i] == h.student[i]) & (h.skill[:i] == h.skill[i])
        assert succ[i] == h.response[:i][past].sum() and fail[i] == (1 - h.response[:i][past]).sum()


def _simulate_bkt(truth: dict, n_students: int, n_steps: int, rng) -> History:
    C = len(truth["prior"])
    rows = []
    for s in range(n_students):
        for k in range(C):
            known = rng.random() < truth["prior"][k]
            for t in range(n_steps):
                p = 1 - truth["slip"][k] if known else truth["guess"][k]
                rows.append((s, k * n_steps + t, k, int(rng.random() < p)))
                known = known or rng.random() < truth["learn"][k]
    a = np.array(rows)
    return History(a[:, 0], a[:, 1], a[:, 2], a[:, 3], np.ones(len(a), bool), np.zeros(len(a), int))


def test_bkt_em_recovers_known_parameters():
    truth = {"prior": np.array([0.2, 0.5, 0.35]), "learn": np.array([0.15, 0.05, 0.3]),
             "guess": np.array([0.2, 0.25, 0.1]), "slip": np.array([0.1, 0.05, 0.15])}
    h = _simulate_bkt(truth, 1500, 20, np.random.default_rng(0))
    params, rec = bkt.fit(bkt.pack(h.student, h.skill, h.pos, h.response), 3, max_iter=500)
    assert rec["converged"]
    for k, v in truth.items():
        np.testing.assert_allclose(params[k], v, atol=0.04, err_msg=k)
    # filtering with the true parameters: P(correct) rises with practice on average
    prob = bkt.predict(h, truth)
    first, last = h.pos % 20 == 0, h.pos % 20 == 19
    assert prob[last].mean() > prob[first].mean() + 0.2


def test_bkt_forward_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    h = _simulate_bkt({"prior": [0.3, 0.6], "learn": [0.2, 0.1], "guess": [0.2, 0.3], "slip": [0.1, 0.2]},
                      7, 5, rng)
    keep = rng.random(len(h.student)) < 0.7  # ragged rows
    h = History(*(getattr(h, f)[keep] for f in ("student", "pos", "skill", "response", "target", "window_start")))
    par = {"prior": np.array([0.3, 0.6]), "learn": np.array([0.2, 0.1]), "guess": np.array([0.2, 0.3]),
           "slip": np.array([0.1, 0.2])}
    prob = bkt.predict(h, par)
    for i in range(len(h.student)):
        s, k = h.student[i], h.skill[i]
        known = par["prior"][k]
        for j in np.flatnonzero((h.student == s) & (h.skill == k) & (h.pos < h.pos[i])):  # in time order
            o = h.response[j]
            lik1, lik0 = (1 - par["slip"][k], par["guess"][k]) if o else (par["slip"][k], 1 - par["guess"][k])
            post = known * lik1 / (known * lik1 + (1 - known) * lik0)
            known = post + (1 - post) * par["learn"][k]
        assert prob[i] == pytest.approx(known * (1 - par["slip"][k]) + (1 - known) * par["guess"][k])


def test_same_predictions_same_metric_fields(tiny_data):
    """The baselines' `score` and the main model's EpochMetrics give identical enc1 fields."""
    acc, ps, ys = EpochMetrics(tiny_data.num_skills), [], []
    for b in iter_batches(tiny_data.valid, 8):
        p = torch.rand(b.q.shape, generator=torch.Generator().manual_seed(int(b.index[0])))
        ones = torch.ones_like(p)
        acc.add(b, {"p_enc1": p, "p_im": p, "scalar_gains": ones, "gain_q": ones}, {})
        ps.append(p[b.mask].double().numpy()); ys.append(b.r_next[b.mask].double().numpy())
    ours, main_model = score(np.concatenate(ps), np.concatenate(ys)), acc.result()
    assert set(ours) <= set(main_model)
    for k, v in ours.items():
        assert v == pytest.approx(main_model[k], abs=1e-7), k


@pytest.mark.parametrize("model", MODELS)
def test_every_baseline_runs_and_writes_its_files(model, tiny_data, tmp_path):
    res = run(Config(model=model, **TINY), tmp_path, dataset=tiny_data, log=lambda *a: None)
    m = json.loads((tmp_path / "metrics.json").read_text())
    for split in ("valid", "test"):
        assert 0.3 < m[split]["enc1_auc"] < 1 and 0 < m[split]["enc1_acc"] <= 1
        assert m[split]["interactions"] == int((getattr(tiny_data, split).lengths - 1).sum())
    assert m["model"] == model == res["model"] and isinstance(m["converged"], bool) and m["seconds"] > 0
    params = pd.read_csv(tmp_path / "skill_params.csv")
    assert len(params) == tiny_data.num_skills and {"skill", "train_attempts", "train_accuracy"} <= set(params)
    want = {"bkt": {"bkt_learn", "bkt_prior", "bkt_guess", "bkt_slip", "bkt_degenerate"},
            "pfa": {"pfa_success", "pfa_failure", "pfa_intercept"},
            "afm": {"afm_intercept", "afm_learn"},
            "pfa_monotone": {"pfam_intercept", "pfam_success", "pfam_failure"}}.get(model, set())
    assert want <= set(params)
    assert not (tmp_path / "checkpoints").exists()


def test_non_convergence_is_reported(tiny_data, tmp_path):
    for model in ("bkt", "pfa", "pfa_monotone"):
        run(Config(model=model, baseline_max_iter=1, **TINY), tmp_path / model, dataset=tiny_data,
            log=lambda *a: None)
        m = json.loads((tmp_path / model / "metrics.json").read_text())
        assert m["converged"] is False and "1" in m["convergence"]


def test_bad_input_names_the_problem(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="model"):
        Config(model="irt")
    with pytest.raises(ValueError, match="baseline_max_iter"):
        Config(model="bkt", baseline_max_iter=0)
    with pytest.raises(ValueError, match="'assist2099'"):
        run(Config(model="pfa", dataset="assist2099"), tmp_path / "a")
    with pytest.raises(ValueError, match="fold.*7"):
        run(Config(model="bkt", dataset="synthetic", synthetic=SYN, fold=7), tmp_path / "b")
    assert not (tmp_path / "a" / "metrics.json").exists() and not (tmp_path / "b" / "metrics.json").exists()


def test_cli_train_repro_compare(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["--model", "bkt", "--dataset", "synthetic", "--synthetic", json.dumps(SYN), "--seq-len", "12"]
    assert main(["--experiments-dir", "exp", "train", *args, "--out", "run"]) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["config"]["model"] == "bkt"
    assert main(["--experiments-dir", "exp", "repro", "run"]) == 0
    assert main(["--experiments-dir", "exp", "compare", "run", "--tolerance", "0"]) == 0


def test_baseline_table_means_and_sds_over_seeds(tiny_data, tmp_path):
    from gainakt.baselines.report import baseline_table, comparison_table, skill_params
    for seed in (0, 1):
        run(Config(model="dkt", seed=seed, **TINY), tmp_path / "synthetic" / "dkt-baseline" / f"seed{seed}",
            dataset=tiny_data, log=lambda *a: None)
    run(Config(model="bkt", **TINY), tmp_path / "synthetic" / "bkt-baseline" / "seed0", dataset=tiny_data,
        log=lambda *a: None)
    labelled = tmp_path / "synthetic" / "bkt-baseline-gt-none" / "seed0"   # a baseline with a label
    labelled.mkdir(parents=True)
    (labelled / "metrics.json").write_text((tmp_path / "synthetic" / "bkt-baseline" / "seed0" / "metrics.json").read_text())
    t = baseline_table(tmp_path).set_index("model")
    aucs = [json.loads((tmp_path / "synthetic" / "dkt-baseline" / f"seed{s}" / "metrics.json").read_text())
            ["test"]["enc1_auc"] for s in (0, 1)]
    assert list(t.index) == ["bkt", "dkt"] and t.loc["dkt", "seeds"] == 2
    assert t.loc["dkt", "test_auc_mean"] == pytest.approx(np.mean(aucs), abs=1e-4)
    assert t.loc["dkt", "test_auc_sd"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-4)
    assert np.isnan(t.loc["bkt", "test_auc_sd"])
    assert {"bkt_learn", "train_attempts"} <= set(skill_params(tmp_path, "synthetic").columns)
    main_run = tmp_path / "synthetic" / "V1-as_run-small" / "seed0"
    main_run.mkdir(parents=True)
    fields = {f"enc{e}_{k}": 0.6 + e / 10 for e in (1, 2) for k in ("auc", "acc")}
    (main_run / "metrics.json").write_text(json.dumps({"valid": fields, "test": fields, "epochs_run": 1}))
    c = comparison_table(tmp_path, "synthetic").set_index("model")
    assert c.loc["V1-as_run-small Encoder 2", "test_auc_mean"] == pytest.approx(0.8)
    assert c.loc["dkt", "test_auc_mean"] == t.loc["dkt", "test_auc_mean"]
    assert not any(m.startswith("bkt-baseline-gt-none") for m in c.index)   # not read as a GainAKT run
    audit_run = tmp_path / "synthetic" / "V1-as_run-small-audit-x" / "seed0"
    audit_run.mkdir(parents=True)
    (audit_run / "metrics.json").write_text(json.dumps({"valid": fields, "test": fields, "epochs_run": 1}))
    kept = set(comparison_table(tmp_path, "synthetic", labels=("small",)).model)
    assert "V1-as_run-small Encoder 2" in kept and "V1-as_run-small-audit-x Encoder 2" not in kept and "dkt" in kept


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    assert main(["train", "--model", "irt", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'model' = 'irt'" in err


def test_skill_table_learning_slope_counts_attempts_across_windows():
    from gainakt.baselines.common import skill_table
    from gainakt.data import Student, build_dataset
    # skill 0: wrong on the first two attempts, right from the fifth on; windows of 4 cut each student
    # (attempts must be counted across windows); skill 1: always right (slope 0)
    seq = np.array([0, 1] * 12)
    resp = np.array([0 if (i // 2) < 2 else (1 if (i // 2) >= 5 or s == 1 else 0) for i, s in enumerate(seq)])
    resp[seq == 1] = 1
    train = [Student(f"s{k}", seq.copy(), resp.copy(), fold=1 + k % 2) for k in range(6)]
    valid = [Student("v", seq.copy(), resp.copy(), fold=0)]
    test = [Student("t", seq.copy(), resp.copy(), fold=-1)]
    t = skill_table(build_dataset("x", 2, train + valid, test, seq_len=4)).set_index("skill")
    assert t.loc[0, "learning_slope"] == 1.0 and t.loc[1, "learning_slope"] == 0.0
    assert t.loc[0, "train_attempts"] == 6 * 12 and t.loc[1, "train_accuracy"] == 1.0


def test_afm_learning_rates_follow_the_true_rates_of_simulated_learners():
    from scipy import stats
    from gainakt.synthetic import SimConfig, simulate, spread_condition
    syn = dict(n_students=800, n_skills=6, seed=0, **spread_condition("strong"))
    ds = kt_data.load_dataset("synthetic", seq_len=60, synthetic=syn)
    from gainakt.baselines import afm
    from gainakt.baselines.common import history_table
    hists = {k: history_table(getattr(ds, k)) for k in ("train", "valid", "test")}
    _, params, rec = afm.fit_predict(Config(model="afm", baseline_max_iter=500), ds, hists)
    truth = simulate(SimConfig(**syn))[1]["learn_rate"]
    assert list(params.columns) == ["skill", "afm_intercept", "afm_learn"]
    assert (params.afm_learn > 0).all()                        # practice helps on every skill
    assert stats.spearmanr(params.afm_learn, truth).statistic > 0.6


def test_bounded_logistic_is_scikit_learns_fit_without_bounds_and_respects_bounds(tiny_data):
    """BoundedLogistic minimises fit_logistic's objective: unbounded it finds the same coefficients;
    with PFA's success and failure coefficients bounded at 0 none is negative, and the bounded fit's
    objective is no lower than the unbounded one's."""
    from gainakt.baselines import pfa
    from gainakt.baselines.common import BoundedLogistic, fit_logistic, history_table
    h = history_table(tiny_data.train)
    X, y = pfa.features(h, tiny_data.num_skills)[h.target], h.response[h.target]
    ref, _ = fit_logistic(X, y, 1000)
    free = BoundedLogistic(np.full(X.shape[1], -np.inf), 1000)
    assert free.fit(X, y)["converged"]
    np.testing.assert_allclose(free.coef_, ref.coef_, atol=2e-3)
    np.testing.assert_allclose(free.predict_proba(X), ref.predict_proba(X), atol=1e-3)
    C = tiny_data.num_skills
    assert (free.coef_[0, C:] < 0).any()          # the bound has something to hold back
    lower = np.concatenate([np.full(C, -np.inf), np.zeros(2 * C)])
    bounded = BoundedLogistic(lower, 1000)
    bounded.fit(X, y)
    assert (bounded.coef_[0, C:] >= 0).all()
    loss = lambda w: 0.5 * w @ w + np.logaddexp(0, -(2 * y - 1) * (X @ w)).sum()  # noqa: E731
    assert loss(bounded.coef_[0]) >= loss(free.coef_[0]) - 1e-6

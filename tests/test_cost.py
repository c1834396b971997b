"""Projected matrix cost: measured seconds per epoch per cost class times the planned epochs."""
import numpy as np
import pytest

from gainakt.analysis import cost, runs
from gainakt.pipeline.matrix import expand
from test_analysis import _write_run
from gainakt.variants import make_config


def test_cost_classes():
    assert cost.cost_class("V2", "as_run") == "Encoder 2 over padding"
    assert cost.cost_class("V1", "as_run") == "packed"
    assert cost.cost_class("V2", "as_intended", {"mask_padding": False}) == "Encoder 2 over padding"


def test_projection_uses_measured_rates(tmp_path):
    # one finished V1 as intended run: 3 epochs of 1 s (fake history), so 1 s per epoch
    _write_run(tmp_path, "V1-as_intended-small", make_config("V1", "as_intended", dataset="assist2015", seed=42),
               test={"enc1_auc": 0.7})
    planned = expand({"validate": False, "defaults": {"seeds": [42, 43], "dataset": "assist2015", "epochs": 12},
                      "runs": [{"variant": "V1", "flavour": "as_intended", "label": "small", "tags": ["replication"]},
                               {"variant": "V2", "flavour": "as_run", "label": "small", "tags": ["replication"]}]})
    states = {r.key: ("done" if r.key.endswith("V1-as_intended-small/seed42") else "missing") for r in planned}
    t = cost.projected_cost(runs.load_runs(tmp_path), planned, states).set_index("class")
    assert t.loc["packed", "planned"] == 2 and t.loc["packed", "done"] == 1
    assert t.loc["packed", "hours_to_do"] == pytest.approx(12 * 1.0 / 3600)
    assert np.isnan(t.loc["Encoder 2 over padding", "hours_to_do"])  # no run of that class measured yet


def test_a_variant_with_its_own_runs_uses_its_own_rate(tmp_path):
    # V0 (scalar gain) at 1 s per epoch, V1 at 3 s: same class, their own rates; V2 as intended borrows the class's
    for variant, sec in (("V0", 1.0), ("V1", 3.0)):
        d = _write_run(tmp_path, f"{variant}-as_intended-small",
                       make_config(variant, "as_intended", dataset="assist2015", seed=42), test={"enc1_auc": 0.7})
        h = d / "history.csv"
        import pandas as pd
        pd.read_csv(h).assign(epoch_seconds=sec).to_csv(h, index=False)
    planned = expand({"validate": False, "defaults": {"seeds": [43], "dataset": "assist2015", "epochs": 10},
                      "runs": [{"variant": v, "flavour": "as_intended", "label": "small", "tags": [v]}
                               for v in ("V0", "V1", "V2")]})
    t = cost.projected_cost(runs.load_runs(tmp_path), planned, {}).set_index("group")
    assert t.loc["V0", "hours_to_do"] == pytest.approx(10 / 3600) and t.loc["V0", "rate from"] == "measured"
    assert t.loc["V1", "hours_to_do"] == pytest.approx(30 / 3600)
    assert t.loc["V2", "hours_to_do"] == pytest.approx(20 / 3600) and t.loc["V2", "rate from"] == "measured (class)"
    # a V0 run that recorded its CPU time sets V0's rate alone (5 s per epoch), the estimated one no longer counts
    d = _write_run(tmp_path, "V0-as_intended-small", make_config("V0", "as_intended", dataset="assist2015", seed=44),
                   test={"enc1_auc": 0.7})
    pd.read_csv(d / "history.csv").assign(epoch_seconds=5.0, epoch_cpu_seconds=5.0).to_csv(d / "history.csv", index=False)
    t = cost.projected_cost(runs.load_runs(tmp_path), planned, {}).set_index("group")
    assert t.loc["V0", "hours_to_do"] == pytest.approx(50 / 3600)


def test_a_dataset_without_runs_borrows_a_scaled_rate(tmp_path):
    _write_run(tmp_path, "V1-as_intended-small", make_config("V1", "as_intended", dataset="assist2015", seed=42),
               test={"enc1_auc": 0.7})
    for name, n in (("assist2015", 400_000), ("statics2011", 100_000)):
        d = tmp_path / name / "bkt-baseline" / "seed0"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(f'{{"dataset": {{"name": "{name}", "train_interactions": {n}}}}}')
    assert cost.train_interactions(tmp_path) == {"assist2015": 400_000, "statics2011": 100_000}
    planned = expand({"validate": False, "defaults": {"seeds": [42], "epochs": 12, "label": "small"},
                      "runs": [{"variant": "V1", "flavour": "as_intended", "dataset": ds, "tags": ["x"]}
                               for ds in ("assist2015", "statics2011", "assist2009")]})
    states = {r.key: "done" if r.dataset == "assist2015" else "missing" for r in planned}
    t = cost.projected_cost(runs.load_runs(tmp_path), planned, states,
                            cost.train_interactions(tmp_path)).set_index("dataset")
    assert t.loc["assist2015", "rate from"] == "measured" and t.loc["assist2015", "s/epoch"] == pytest.approx(1.0)
    assert t.loc["statics2011", "rate from"] == "scaled from assist2015"
    assert t.loc["statics2011", "hours_to_do"] == pytest.approx(12 * 0.25 / 3600)
    assert t.loc["assist2009", "rate from"] == "none" and np.isnan(t.loc["assist2009", "hours_to_do"])


def test_cpu_share_divides_the_cores_among_the_runs_that_ran_at_once():
    # a: 0-100, b: 50-150, c: 60-80 on 2 cores: three at once only in 60-80, where each gets 2/3
    shares = cost.cpu_share({"a": (0.0, 100.0), "b": (50.0, 150.0), "c": (60.0, 80.0)}, cores=2)
    assert shares["c"] == pytest.approx(2 / 3)
    assert shares["a"] == pytest.approx((80 + 20 * 2 / 3) / 100)
    assert shares["b"] == pytest.approx((80 + 20 * 2 / 3) / 100)
    assert cost.cpu_share({"a": (0.0, 10.0), "b": (0.0, 10.0)}, cores=1) == {"a": 0.5, "b": 0.5}
    assert cost.cpu_share({}, cores=2) == {}


def test_cpu_seconds_measured_where_recorded_else_estimated(tmp_path):
    import json
    import pandas as pd
    for seed in (42, 43):
        _write_run(tmp_path, "V1-as_intended-small", make_config("V1", "as_intended", dataset="assist2015", seed=seed),
                   test={"enc1_auc": 0.7})
    h = tmp_path / "assist2015" / "V1-as_intended-small" / "seed43" / "history.csv"
    pd.read_csv(h).assign(epoch_cpu_seconds=[0.0, 0.4, 0.4, 0.4]).to_csv(h, index=False)
    # the run notebook of seed 42, as the driver's papermill writes it
    nb = tmp_path / "nb" / "V1-seed42.ipynb"
    nb.parent.mkdir()
    nb.write_text(json.dumps({"cells": [], "metadata": {"papermill": {
        "start_time": "2026-12-01T10:00:00+00:00", "end_time": "2026-12-01T11:00:00+00:00",
        "parameters": {"results_dir": "results/assist2015/V1-as_intended-small/seed42"}}}}))
    (tmp_path / "nb" / "other.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))   # not a run
    iv = cost.run_intervals(tmp_path / "nb")
    assert iv == {"assist2015/V1-as_intended-small/seed42": (1796119200.0, 1796122800.0)}
    r = runs.load_runs(tmp_path).set_index("seed")
    assert np.isnan(r.loc[42, "cpu_seconds"]) and r.loc[43, "cpu_seconds"] == pytest.approx(1.2)
    est = cost.cpu_seconds_estimate(r, {"assist2015/V1-as_intended-small/seed42": 0.5})
    assert est.loc[42] == pytest.approx(1.5) and est.loc[43] == pytest.approx(1.2)   # 3 epochs of 1 s wall
    assert np.isnan(cost.cpu_seconds_estimate(r, {}).loc[42])
    # where a run has both, the check compares them: seed 43 measured 1.2 s against 3 s x 0.5
    both = {f"assist2015/V1-as_intended-small/seed{s}": 0.5 for s in (42, 43)}
    assert cost.share_check(r, both).to_dict() == pytest.approx({43: 0.8})


def test_late_slowdown_finds_the_run_whose_epochs_grew_costlier(tmp_path):
    import pandas as pd
    for variant, cpu in (("V1", [10.0] * 5 + [10, 20, 40]),      # 4x by its last epoch
                         ("V2", [10.0] * 8),                       # flat
                         ("V3", [10.0] * 4)):                      # too few epochs to judge: left out
        d = _write_run(tmp_path, f"{variant}-as_intended-small",
                       make_config(variant, "as_intended", dataset="assist2015", seed=42), test={"enc1_auc": 0.7})
        h = pd.DataFrame({"epoch": range(len(cpu) + 1), "epoch_seconds": [0.0] + cpu,
                          "epoch_cpu_seconds": [0.0] + cpu, "valid_enc1_auc": 0.7})
        h.to_csv(d / "history.csv", index=False)
    t = cost.late_slowdown(runs.load_runs(tmp_path))
    assert list(t.run) == ["V1-as_intended-small", "V2-as_intended-small"]
    assert t.ratio.tolist() == [4.0, 1.0] and t.early_cpu_s.iloc[0] == 10.0 and t.epochs.iloc[0] == 8

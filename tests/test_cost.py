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

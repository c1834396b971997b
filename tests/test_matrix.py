"""The experiment matrix as data: expansion, selection, and the errors that catch typos."""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import textwrap
import time
from pathlib import Path

import pytest

from gainakt.atomic import atomic_dir, clean_stale_tmp, write_json_atomic, write_text_atomic
from gainakt.pipeline.matrix import MatrixError, Run, expand
from gainakt.pipeline.selection import select, status

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path, text: str) -> Path:
    p = tmp_path / "experiments.yml"
    p.write_text(textwrap.dedent(text))
    return p


BASIC = """\
    defaults:
      dataset: synthetic
      epochs: 20
      d_model: 256
    runs:
      - variant: V1
        flavour: [as_run, as_intended]
        seeds: [0, 1]
        tags: [synthetic]
        label: small
        overrides: {epochs: 3, learning_rate: 0.001}
      - variant: V3+
        flavour: as_run
        dataset: [synthetic, assist2015]
        seeds: [42]
        tags: [v3, extra]
        gpu: true
"""


def test_expand_keys_paths_and_params(tmp_path):
    runs = expand(write(tmp_path, BASIC))
    assert [r.key for r in runs] == [
        "synthetic/V1-as_run-small/seed0", "synthetic/V1-as_run-small/seed1",
        "synthetic/V1-as_intended-small/seed0", "synthetic/V1-as_intended-small/seed1",
        "synthetic/V3+-as_run/seed42", "assist2015/V3+-as_run/seed42"]
    r = runs[0]
    assert isinstance(r, Run)
    assert r.results_dir == "results/synthetic/V1-as_run-small/seed0"
    assert r.notebook_out == "book/runs/synthetic/V1-as_run-small-seed0.ipynb"
    assert r.notebook == "notebooks/train_variant.ipynb"
    assert r.tags == ("synthetic",) and r.gpu is False
    # epochs from overrides is lifted to the top-level parameter; the rest stays in overrides
    assert r.params == {"variant": "V1", "flavour": "as_run", "dataset": "synthetic",
                        "data_dir": None, "seed": 0, "epochs": 3, "d_model": 256,
                        "device": "auto", "num_threads": 1,
                        "results_dir": "results/synthetic/V1-as_run-small/seed0",
                        "overrides": {"learning_rate": 0.001}}
    assert runs[-1].gpu is True and runs[-1].params["epochs"] == 20
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.key = "x"   # frozen
    # parameters are Python values, not strings
    assert isinstance(runs[0].params["seed"], int) and isinstance(runs[0].params["overrides"], dict)


def test_roots_notebook_and_threads_are_configurable(tmp_path):
    runs = expand(write(tmp_path, BASIC), results_root="/scratch/res", book_root="bk",
                  notebook="tests/fixtures/tiny_run.ipynb", num_threads=4)
    r = runs[0]
    assert r.results_dir == "/scratch/res/synthetic/V1-as_run-small/seed0"
    assert r.params["results_dir"] == r.results_dir
    assert r.notebook_out == "bk/runs/synthetic/V1-as_run-small-seed0.ipynb"
    assert all(x.notebook == "tests/fixtures/tiny_run.ipynb" for x in runs)
    assert all(x.params["num_threads"] == 4 for x in runs)
    assert r.path("/repo") == Path("/scratch/res/synthetic/V1-as_run-small/seed0")


def test_expand_accepts_a_dict_and_the_repo_matrix():
    runs = expand({"validate": False, "defaults": {"seeds": [1]},
                   "runs": [{"variant": "X", "flavour": "f", "dataset": "d"}]})
    assert [r.key for r in runs] == ["d/X-f/seed1"]
    book = expand(REPO / "experiments.yml")
    keys = [r.key for r in book]
    assert len(keys) == len(set(keys))
    tags = {t: sum(t in r.tags for r in book)
            for t in ("synthetic", "replication", "core", "audit", "full", "baselines", "corrected",
                      "corrected-gt", "converged", "datasets", "phase1", "phase1-points", "phase2", "v2-bce")}
    # every variant x 2 flavours (synthetic: 1 seed; replication: 3 seeds); V2/V3 are the core;
    # 14 V2 audit rows and 3 V4 rows of 3 seeds; V2/V3 x 2 flavours x 2 seeds at the original size
    # baselines: 5 classical models x 3 datasets x 1 seed, DKT and SAKT x 3 datasets x 3 seeds
    # corrected: V6, 10 one-switch rows, 2 two-switch rows, 4 three-switch rows and 1 four-switch row, as intended only, 3 seeds, on assist2015, and V6 and the linear curve without curve decay on the two
    # other datasets, and that curve with gamma > 0 on all three; corrected-gt: V6 on 5 simulations x 3 seeds, BKT, AFM and PFA on the 2 new ones, V6 with
    # per-skill gains, with a shared curve and with both on 2 each, the shared curve with equal rates and
    # at 375 and 6,000 students, the shared curve with a shared gamma on 2 and with equal rates and at 375 and
    # 6,000 students, one shared gamma alone on 3 (moderate, strong, equal rates), the shared curve with
    # one gamma on a linear curve on 3, one gamma with signed gains on 3, the shared curve with one gamma
    # and signed gains on 3, without weight decay on 3, without it on the curve only on 3 and so on a
    # linear curve on 3 and at 375 and 6,000 students, and so with gamma > 0 on 3; converged:
    # V2/V3 x 2 flavours x 3 seeds and V6 on the 2 other datasets; datasets: (V2, V3 x 2 flavours + V6
    # + V6 to the plateau + the linear curve without curve decay) x 2 datasets x 3 seeds + that curve with
    # gamma > 0 on 3 datasets x 3 seeds
    assert tags == {"synthetic": 9 * 2, "replication": 9 * 2 * 3, "core": 2 * 2 * 3, "audit": 17 * 3, "full": 8,
                    "baselines": 5 * 3 + 2 * 3 * 3, "corrected": 17 * 3 + 3 * 3 + 2 * 3 + 3 * 3, "corrected-gt": 5 * 3 + 2 * 3 + 3 * 2 * 3 + 3 * 3 + 2 * 3 + 3 * 3 + 3 * 3 + 3 * 3 + 3 * 3 + 3 * 3 + 3 * 3 + 3 * 3 + 3 * 3 + 2 * 3 + 3 * 3,
                    "converged": 2 * 2 * 3 + 2 * 3, "datasets": 5 * 2 * 3 + 2 * 3 + 2 * 3 + 3 * 3,
                    # the seeds' sweeps: Phase 1 as run 81 points + 2 points x 2 more seeds; as intended one
                    # factor at a time through 2 points (2 x 9 distinct) + 2 x 2 more seeds; Phase 2 6 weights
                    # x 2 flavours x 3 seeds; V2 at BCE 0 and 1, 2 flavours, 3 seeds
                    "phase1": 81 + 4 + 18 + 4, "phase1-points": 2 * 2 * 3, "phase2": 6 * 2 * 3, "v2-bce": 2 * 2 * 3}
    assert "synthetic/V3++bce0.1-as_intended-small/seed0" in keys
    assert "assist2015/V1-as_run-small/seed42" in keys
    a = next(r for r in book if r.key == "assist2015/V1-as_run-small/seed42")
    assert (a.params["epochs"], a.params["d_model"], a.params["n_blocks"]) == (12, 64, 2)  # V1: the seeds' 12 epochs
    assert next(r for r in book if r.dataset == "synthetic").params["epochs"] == 10


def test_selection(tmp_path):
    runs = expand(write(tmp_path, BASIC))
    assert len(select(runs, variants=["V1"])) == 4
    assert len(select(runs, variants=["V1"], flavours=["as_run"])) == 2
    assert len(select(runs, variants=["V1", "V3+"], datasets=["assist2015"])) == 1
    assert len(select(runs, tags=["extra"])) == 2
    assert len(select(runs, variants=["V*"])) == 6
    assert [r.key for r in select(runs, keys=["synthetic/V1-*/seed1"])] == [
        "synthetic/V1-as_run-small/seed1", "synthetic/V1-as_intended-small/seed1"]
    assert select(runs) == runs
    with pytest.raises(MatrixError, match="--variant 'V9' matches no run"):
        select(runs, variants=["V9"])
    with pytest.raises(MatrixError, match="--tag"):
        select(runs, tags=["synthetc"])


def test_duplicate_run_key_names_both_entries(tmp_path):
    p = write(tmp_path, """\
        defaults: {dataset: synthetic, flavour: as_run}
        runs:
          - {variant: V1, seeds: [0, 1]}
          - {variant: V2, seeds: [0]}
          - {variant: V1, seeds: [1, 2]}
        """)
    with pytest.raises(MatrixError) as e:
        expand(p)
    msg = str(e.value)
    assert "synthetic/V1-as_run/seed1" in msg
    assert "runs[0] (line 3)" in msg and "runs[2] (line 5)" in msg


def test_unknown_key_names_entry_and_key(tmp_path):
    p = write(tmp_path, """\
        defaults: {dataset: synthetic, flavour: as_run}
        runs:
          - {variant: V1, seeds: [0]}
          - {variant: V2, seed: [0]}
        """)
    with pytest.raises(MatrixError) as e:
        expand(p)
    msg = str(e.value)
    assert "runs[1] (line 4)" in msg and "'seed'" in msg and "did you mean 'seeds'" in msg


@pytest.mark.parametrize("text, match", [
    ("defaults: {datset: synthetic}\nruns: [{variant: V1}]", "defaults: unknown key 'datset'"),
    ("default: {}\nruns: [{variant: V1}]", "top level: unknown key 'default'"),
    ("runs:\n  - variant: V1\n    flavour: as_run\n    flavour: as_intended\n    seeds: [0]\n"
     "    dataset: synthetic", "line 4: duplicate key 'flavour'"),
    ("runs: [{variant: V1, flavour: as_run, dataset: synthetic, seeds: [0], "
     "overrides: {learning_rat: 0.1}}]", "overrides: unknown key 'learning_rat'"),
    ("runs: [{variant: V9, flavour: as_run, dataset: synthetic, seeds: [0]}]",
     "unknown variant 'V9'"),
    ("runs: [{variant: V1, flavour: as_rn, dataset: synthetic, seeds: [0]}]", "flavour 'as_rn'"),
    ("runs: [{variant: V1, flavour: as_run, dataset: synthetic, seeds: ['0']}]",
     "seeds must be integers"),
    ("runs: [{variant: V1, flavour: as_run, dataset: synthetic, seeds: [0, 0]}]", "twice"),
    ("runs: [{variant: V1, flavour: as_run, dataset: synthetic}]", "'seeds' is required"),
    ("runs: [{variant: V1, flavour: as_run, dataset: synthetic, seeds: [0], label: a/b}]",
     "label 'a/b'"),
    ("runs: [{variant: V1, flavour: as_run, dataset: synthetic, seeds: [0], "
     "overrides: {seed: 3}}]", "may not set 'seed'"),
    ("runs: []", "non-empty list"),
])
def test_matrix_errors(tmp_path, text, match):
    with pytest.raises(MatrixError, match=match):
        expand(write(tmp_path, text))


def test_validate_false_allows_fixture_names(tmp_path):
    p = write(tmp_path, "validate: false\nruns: [{variant: Vx, flavour: f, dataset: d, "
                        "seeds: [0], overrides: {sleep_s: 0.1}}]")
    (r,) = expand(p)
    assert r.params["overrides"] == {"sleep_s": 0.1}


def test_status_done_missing_running_stale(tmp_path):
    runs = expand(write(tmp_path, BASIC))[:4]
    root = tmp_path
    write_json_atomic(runs[0].metrics_path(root), {"auc": 0.7})
    (runs[1].path(root)).mkdir(parents=True)
    (runs[1].path(root) / "config.json").write_text("{}")   # half-written is not done
    lock = runs[2].lock_path(root)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    dead = runs[3].lock_path(root)
    dead.parent.mkdir(parents=True, exist_ok=True)
    dead.write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    old = time.time() - 3600
    os.utime(dead, (old, old))                                # heartbeat long gone
    assert status(runs, root) == {runs[0].key: "done", runs[1].key: "missing",
                                  runs[2].key: "running", runs[3].key: "stale-lock"}
    # metrics.json with a dead lock beside it (driver and worker killed after the notebook
    # wrote metrics.json, before it ended): not done
    write_json_atomic(runs[3].metrics_path(root), {"auc": 0.7})
    assert status(runs, root)[runs[3].key] == "stale-lock"


def test_atomic_helpers(tmp_path):
    p = write_json_atomic(tmp_path / "a" / "m.json", {"b": 1, "a": 2.5})
    assert p.read_text() == '{\n  "a": 2.5,\n  "b": 1\n}\n'
    assert oct(p.stat().st_mode & 0o777) != oct(0o600)        # not mkstemp's private mode
    write_text_atomic(tmp_path / "t.txt", "hé")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "hé"
    with atomic_dir(tmp_path / "d") as d:
        (d / "x").write_text("1")
        assert not (tmp_path / "d").exists()
    assert (tmp_path / "d" / "x").read_text() == "1"
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "d", overwrite=True) as d:
            (d / "y").write_text("2")
            raise RuntimeError("boom")
    assert sorted(x.name for x in (tmp_path / "d").iterdir()) == ["x"]
    with pytest.raises(FileExistsError):
        with atomic_dir(tmp_path / "d"):
            pass
    with atomic_dir(tmp_path / "d", overwrite=True) as d:
        (d / "z").write_text("3")
    assert sorted(x.name for x in (tmp_path / "d").iterdir()) == ["z"]
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".tmp")]
    (tmp_path / "metrics.json.tmp").write_text("{")
    (tmp_path / ".metrics.json.abc.tmp").write_text("{")
    assert len(clean_stale_tmp(tmp_path, "metrics.json")) == 2


BASELINES = """\
    defaults:
      dataset: synthetic
      flavour: [as_run, as_intended]
      seeds: [0]
      epochs: 20
      d_model: 64
      num_threads: 1
    runs:
      - {variant: V1, tags: [gainakt]}
      - {model: pfa, dataset: [synthetic, assist2015], tags: [baselines], overrides: {baseline_max_iter: 50}}
      - {model: dkt, seeds: [0, 1], epochs: 3, label: tiny, overrides: {learning_rate: 0.001}}
"""


def test_baseline_entries_expand_once_per_dataset_and_seed(tmp_path):
    runs = expand(write(tmp_path, BASELINES))
    assert [r.key for r in runs] == [
        "synthetic/V1-as_run/seed0", "synthetic/V1-as_intended/seed0",
        "synthetic/pfa-baseline/seed0", "assist2015/pfa-baseline/seed0",
        "synthetic/dkt-baseline-tiny/seed0", "synthetic/dkt-baseline-tiny/seed1"]
    pfa = runs[2]
    assert pfa.notebook == "notebooks/train_baseline.ipynb" and runs[0].notebook == "notebooks/train_variant.ipynb"
    # no flavour, and none of GainAKT's sizes from the defaults; the model's own entry values pass
    assert pfa.params == {"model": "pfa", "dataset": "synthetic", "data_dir": None, "seed": 0,
                          "device": "auto", "num_threads": 1,
                          "results_dir": "results/synthetic/pfa-baseline/seed0",
                          "overrides": {"baseline_max_iter": 50}}
    assert (pfa.variant, pfa.flavour, pfa.model) == ("pfa", "baseline", "pfa")
    assert runs[4].params["epochs"] == 3 and "d_model" not in runs[4].params
    assert [r.key for r in select(runs, variants=["dkt"])] == [r.key for r in runs[4:]]
    assert [r.key for r in select(runs, tags=["baselines"])] == [r.key for r in runs[2:4]]


@pytest.mark.parametrize("entry, match", [
    # baselines
    ("{variant: V1, model: pfa}", "not both"),
    ("{model: lstm}", "model 'lstm' is not a baseline; expected one of skill_only, pfa"),
    ("{model: pfa, flavour: as_run}", "'flavour' does not apply to a baseline"),
    ("{tags: [x]}", "'variant' .* or 'model' .* is required"),
    ("{model: pfa, overrides: {model: dkt}}", "overrides may not set 'model'"),
    # sweeps
    ("{variant: V1, flavour: as_run, sweep: s}", "'sweep' .* and 'grid' .* go together"),
    ("{variant: V1, flavour: as_run, grid: {beta_skill_init: [1]}}", "go together"),
    ("{variant: V1, flavour: as_run, sweep: s, grid: {beta_skil_init: [1]}}", "unknown key 'beta_skil_init'.*did you mean 'beta_skill_init'"),
    ("{variant: V1, flavour: as_run, sweep: s, grid: {beta_skill_init: 1}}", "non-empty list"),
    ("{variant: V1, flavour: as_run, sweep: s, grid: {seed: [1, 2]}}", "may not vary 'seed'"),
    ("{variant: V1, flavour: as_run, sweep: s, grid: {beta_skill_init: [1, 1]}}", "lists a value twice"),
])
def test_baseline_and_sweep_entry_errors(tmp_path, entry, match):
    with pytest.raises(MatrixError, match=match):
        expand(write(tmp_path, f"defaults: {{dataset: synthetic, seeds: [0]}}\nruns:\n  - {entry}\n"))


def test_committed_baseline_runs_are_the_matrix_entries():
    """Each committed baseline run's config is what its experiments.yml entry asks for (fields that
    change results), so `python -m gainakt.book run --tag baselines --force` reproduces it."""
    from gainakt.baselines import baseline_config
    from gainakt.train import config_differences

    checked, runs = 0, [r for r in expand(REPO / "experiments.yml") if r.model != "gainakt"]
    for r in runs:
        stored = r.path(REPO) / "config.json"
        if not stored.is_file():
            continue
        asked = baseline_config(**{k: v for k, v in r.params.items() if k not in ("device", "num_threads")})
        diff = config_differences(json.loads(stored.read_text())["config"], asked)
        assert diff == {}, f"{r.key}: committed config differs from its entry: {diff}"
        checked += 1
    assert checked == len(runs) == 33 + 15   # every baseline of the matrix is committed (+ BKT, AFM and PFA on 5 simulations)


SWEEP = """\
    defaults: {dataset: synthetic, seeds: [0], epochs: 5}
    runs:
      - {variant: V1, flavour: as_run, sweep: s, grid: {beta_skill_init: [1.5, 2.5], epochs: [2, 3]}, overrides: {m_sat_init: 0.7}}
      - {variant: V1, flavour: as_run, sweep: s, grid: {m_sat_init: [0.7, 0.9]}, overrides: {beta_skill_init: 2.5, epochs: 3}, tags: [slice]}
"""


def test_a_sweep_expands_its_grid_and_names_points_by_every_swept_field(tmp_path):
    runs = expand(write(tmp_path, SWEEP))
    names = [r.name for r in runs]
    assert names == ["V1-as_run-s-beta_skill_init1.5-epochs2-m_sat_init0.7",
                     "V1-as_run-s-beta_skill_init1.5-epochs3-m_sat_init0.7",
                     "V1-as_run-s-beta_skill_init2.5-epochs2-m_sat_init0.7",
                     "V1-as_run-s-beta_skill_init2.5-epochs3-m_sat_init0.7",
                     "V1-as_run-s-beta_skill_init2.5-epochs3-m_sat_init0.9"]   # (2.5, 3, 0.7) is shared: runs once
    shared = runs[3]
    assert shared.tags == ("slice",) and shared.params["epochs"] == 3     # a grid may vary a notebook parameter
    assert shared.params["overrides"] == {"m_sat_init": 0.7, "beta_skill_init": 2.5}
    assert runs[0].params["epochs"] == 2 and runs[0].params["overrides"]["beta_skill_init"] == 1.5


def test_a_shared_sweep_point_asked_differently_is_an_error(tmp_path):
    text = SWEEP.replace("overrides: {beta_skill_init: 2.5, epochs: 3}", "overrides: {beta_skill_init: 2.5, epochs: 3, dropout: 0.1}")
    with pytest.raises(MatrixError, match="duplicate run key"):
        expand(write(tmp_path, text))

"""The configuration's metadata (one source for types, ranges, help, groups) and the CLI's checks:
bad input is one line naming field, value and what is allowed, exit 2, and nothing is created."""
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from gainakt.cli import main
from gainakt.config import (CHOICES, DATASET_NAMES, GROUPS, Config, ConfigError, allowed, check_field,
                            field_types, notebook_parameters)

REPO = Path(__file__).resolve().parents[1]


def test_every_field_has_help_group_and_a_known_type():
    types = field_types()
    for f in fields(Config):
        assert f.metadata.get("help"), f"{f.name}: no help (declare it with config.opt(...))"
        assert f.metadata.get("group") in GROUPS, f"{f.name}: group {f.metadata.get('group')!r} not in {GROUPS}"
        assert types[f.name] in (str, int, float, bool, dict), f.name
        assert allowed(f.name)


def test_choices_table_matches_the_fields_and_the_name_tables():
    from gainakt.data import DATASETS
    assert set(DATASET_NAMES) == set(DATASETS)
    for f in fields(Config):
        if f.metadata.get("choices"):
            assert CHOICES[f.name] == f.metadata["choices"]
            assert getattr(Config(), f.name) in f.metadata["choices"]


@pytest.mark.parametrize("name, value", [
    ("epochs", -1), ("epochs", 0), ("epochs", 2.5), ("epochs", True), ("learning_rate", 0.0),
    ("dropout", 1.5), ("fold", 5), ("dataset", "assist2051"), ("variant", "V9"), ("flavour", "as_rnu"),
    ("batching", "tokenz"), ("shuffle", "yes"), ("synthetic", [1]), ("max_tokens", 0), ("seq_len", 1),
    ("learning_rate", float("nan"))])
def test_out_of_range_values_are_rejected_naming_the_field(name, value):
    with pytest.raises(ConfigError) as e:
        check_field(name, value)
    assert name in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match=name):
        Config(**{name: value})


def test_defaults_and_optional_values_pass():
    for f in fields(Config):
        check_field(f.name, getattr(Config(), f.name))
    check_field("max_tokens", None)
    check_field("learning_rate", 1)  # an int where a float is expected is fine


@pytest.mark.parametrize("argv, words", [
    (["--variant", "V9"], ["variant", "V9", "V0"]),
    (["--variant", "V1", "--flavour", "as_rnu"], ["flavour", "as_rnu", "as_intended"]),
    (["--dataset", "assist2051"], ["dataset", "assist2051", "assist2015"]),
    (["--epochs", "-1"], ["epochs", "-1", ">= 1"]),
    (["--epochs", "many"], ["epochs", "many", "integer"]),
    (["--shuffle", "maybe"], ["shuffle", "maybe", "true or false"]),
    (["--d-model", "10", "--n-heads", "3"], ["d_model", "n_heads"]),
    (["--data-dir", "/nonexistent/gainakt-data"], ["/nonexistent/gainakt-data", "does not exist"]),
])
def test_cli_rejects_bad_input_in_one_line_and_creates_nothing(tmp_path, capsys, argv, words):
    exps = tmp_path / "exps"
    assert main(["--experiments-dir", str(exps), "train", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    assert all(w in err for w in words), err
    assert not exps.exists()


def test_cli_missing_dataset_files_are_reported_before_a_folder_exists(tmp_path, capsys):
    (tmp_path / "data" / "assist2009").mkdir(parents=True)
    exps = tmp_path / "exps"
    assert main(["--experiments-dir", str(exps), "train", "--dataset", "assist2009",
                 "--data-dir", str(tmp_path / "data")]) == 2
    assert "assist2009_updated_train.csv" in capsys.readouterr().err
    assert not exps.exists()


def test_cli_errors_come_before_torch_is_imported(tmp_path):
    code = ("import sys; from gainakt.cli import main; "
            "rc = main(['--experiments-dir', sys.argv[1], 'train', '--variant', 'V9']); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "exps")], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "variant" in p.stderr


def test_help_is_generated_from_the_config(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for g in GROUPS:
        assert f"{g} (config fields):" in text
    flat = " ".join(text.split())
    for f in fields(Config):
        assert f"--{f.name.replace('_', '-')}" in text
    assert "maximum number of training epochs (default: 20; allowed: an integer >= 1)" in flat
    assert "{tokens,windows,padded,packed}" in text


def test_a_run_that_fails_at_start_up_leaves_no_folder(tmp_path, monkeypatch):
    import gainakt.train

    def fail(cfg, out):
        (out / "checkpoints").mkdir()
        raise RuntimeError("start-up failure")

    monkeypatch.setattr(gainakt.train, "run", fail)
    exps = tmp_path / "exps"
    with pytest.raises(RuntimeError):
        main(["--experiments-dir", str(exps), "train", "--dataset", "synthetic"])
    assert exps.is_dir() and not any(exps.iterdir())


def test_notebook_parameters_accept_fields_and_extras_and_reject_typos():
    import types
    ns = {"variant": "V1", "epochs": 2, "results_dir": "r", "os": types, "_i1": "x", "In": [], "get_ipython": print}
    assert notebook_parameters(ns, extra=("results_dir",)) == {"variant": "V1", "epochs": 2, "results_dir": "r"}
    with pytest.raises(ConfigError) as e:
        notebook_parameters({**ns, "varient": "V2"}, extra=("results_dir", "overrides"))
    msg = str(e.value)
    assert "'varient' = 'V2'" in msg and "results_dir, overrides" in msg and "\n" not in msg


def test_training_notebook_stops_on_a_misspelt_parameter(tmp_path):
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "out.ipynb"
    env_before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(REPO) + (os.pathsep + env_before if env_before else "")
    try:
        with pytest.raises(papermill.PapermillExecutionError) as e:
            papermill.execute_notebook(str(REPO / "notebooks" / "train_variant.ipynb"), str(out),
                                       parameters={"varient": "V2", "results_dir": str(tmp_path / "r")},
                                       kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    finally:
        if env_before is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = env_before
    assert "notebook parameter 'varient' = 'V2' is not allowed" in str(e.value)
    assert not (tmp_path / "r").exists()

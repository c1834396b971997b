"""The README's shell examples work as written: every `python -m gainakt` line parses and validates
(data found where the README says), `train` runs (with tiny sizes appended, and then eval, repro,
compare and trajectories on that run), papermill examples pass only known parameters, make targets exist."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from gainakt import cli
from gainakt.config import notebook_parameters

REPO = Path(__file__).resolve().parents[1]
TINY = ["--dataset", "synthetic", "--synthetic", '{"n_students": 40, "max_len": 20, "n_skills": 5}',
        "--epochs", "1", "--d-model", "16", "--n-heads", "2", "--n-blocks", "1", "--d-ff", "32",
        "--batch-size", "16", "--seq-len", "20", "--n-trajectory-students", "2", "--trajectory-min-steps", "3"]


def readme_commands() -> list[list[str]]:
    """Commands of the README's ```bash blocks (comments dropped, continuation lines joined)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                out.append(words)
    return out


def gainakt_commands() -> list[list[str]]:
    return [w[3:] for w in readme_commands() if w[:3] == ["python", "-m", "gainakt"]]


def test_the_readme_has_examples():
    cmds = {c[0] for c in gainakt_commands()}
    assert {"variants", "train", "eval", "repro", "compare", "trajectories"} <= cmds
    assert any(w[0] == "papermill" for w in readme_commands())


def test_readme_train_commands_validate_with_the_data_where_the_readme_says(monkeypatch):
    """As pasted: the flags are valid, and the data folder is the README's (../shared/data beside the
    project, or $GAINAKT_DATA)."""
    from gainakt import data
    monkeypatch.delenv("GAINAKT_DATA", raising=False)
    beside = data.DEFAULT_DATA_DIR
    if not beside.is_dir():   # e.g. a worktree elsewhere: the README's other way, GAINAKT_DATA
        real = REPO.parents[1] / "shared" / "data"
        if not real.is_dir():
            pytest.skip("no data beside the project")
        monkeypatch.setenv("GAINAKT_DATA", str(real))
    for argv in gainakt_commands():
        if argv[0] == "train":
            args = cli.build_parser().parse_args(argv)
            cfg = cli._config_from_args(args)
            data.dataset_folder(cfg.dataset, cfg.data_dir)


def test_readme_cli_examples_run(tmp_path, capsys):
    exps = str(tmp_path / "exps")
    run_id = None
    for argv in gainakt_commands():
        if argv[0] == "train":
            assert cli.main(["--experiments-dir", exps, *argv, *TINY]) == 0, argv
            run_id = next((tmp_path / "exps").iterdir()).name.rsplit("_", 1)[1]
        else:
            argv = [run_id if a == "RUN" else a for a in argv]
            assert cli.main(["--experiments-dir", exps, *argv]) == 0, argv
    assert "best epoch" in capsys.readouterr().out


def test_readme_papermill_examples_pass_only_known_parameters():
    for words in readme_commands():
        if words[0] != "papermill":
            continue
        params, i = {}, 1
        while i < len(words):
            if words[i] == "-p":
                params[words[i + 1]] = words[i + 2]
                i += 3
            elif words[i] == "-y":
                params.update(yaml.safe_load(words[i + 1]))
                i += 2
            else:
                i += 1
        assert params
        notebook_parameters(params, extra=("results_dir", "overrides"))
        assert (REPO / "notebooks" / words[1]).is_file()


def test_readme_make_targets_exist():
    targets = set(re.findall(r"^([a-z-]+):", (REPO / "Makefile").read_text(), re.M))
    for words in readme_commands():
        if words[0] == "make":
            assert set(w for w in words[1:] if "=" not in w) <= targets, words

"""gainakt.floor: the untrained model's gain statistics at the book's and the seeds' size."""
import pandas as pd
import pytest

from gainakt import floor

SYN = {"synthetic": {"n_students": 60, "max_len": 30, "n_skills": 6}}


def test_floor_rows_names_the_first_bad_value():
    rows = floor.floor_rows(["V2", "V3"], ["as_run"], ["small", "full"], [1, 2])
    assert len(rows) == 8 and rows[0] == dict(dataset="assist2015", split="test", variant="V2",
                                              flavour="as_run", size="small", seed=1)
    for kw, msg in ((dict(variants=["V9"]), "variant 'V9'"), (dict(sizes=["huge"]), "size 'huge'"),
                    (dict(flavours=["as_planned"]), "flavour 'as_planned'")):
        args = dict(variants=["V2"], flavours=["as_run"], sizes=["small"], seeds=[1]) | kw
        with pytest.raises(ValueError, match=msg):
            floor.floor_rows(**args)


def test_model_sizes_are_the_books_and_the_seeds():
    assert floor.model_size("small")["d_model"] == 64 and floor.model_size("small")["n_blocks"] == 2
    assert floor.model_size("full")["d_model"] == 256 and floor.model_size("full")["n_blocks"] == 4


def test_the_legacy_scalar_is_more_uniform_at_the_seeds_size_and_rows_resume(tmp_path, monkeypatch):
    """The legacy scalar averages relu(v) over d_model: 4x the width, about half the spread, before
    any training. A second call computes nothing that is already in the file."""
    out = tmp_path / "floor.csv"
    rows = floor.floor_rows(["V2"], ["as_run"], ["small", "full"], [0], dataset="synthetic", split="valid")
    t = floor.compute_floor(rows, out, progress=False, overrides=SYN)
    assert len(t) == 2 and list(t["size"]) == ["small", "full"] and t.d_model.tolist() == [64, 256]
    small, full = t.set_index("size").gain_scalar_std
    assert 0 < full < 0.75 * small
    monkeypatch.setattr(floor, "untrained_stats", lambda *a, **k: pytest.fail("recomputed a finished row"))
    again = floor.compute_floor(rows, out, progress=False, overrides=SYN)
    pd.testing.assert_frame_equal(again, pd.read_csv(out))
    s = floor.summarise_floor(again)
    assert s.seeds.tolist() == [1, 1] and "gain_scalar_std mean" in s


@pytest.mark.parametrize("argv, words", [(["--variants", "V9"], "variant 'V9'"), (["--sizes", "huge"], "size 'huge'"),
                                          (["--split", "tests"], "split 'tests'")])
def test_floor_command_rejects_bad_input_in_one_line_and_writes_nothing(tmp_path, capsys, argv, words):
    from gainakt.cli import main
    out = tmp_path / "floor.csv"
    assert main(["floor", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and words in err and "allowed" in err and not out.exists()

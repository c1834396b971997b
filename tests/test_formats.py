"""The file formats (gainakt.formats): round trips, and every malformed file is a one-line error naming
the file, the line, the field and what is allowed."""
import numpy as np
import pytest

from gainakt.formats import DataFormatError, read_dkvmn, read_pykt, write_dkvmn, write_pykt
from test_data import HEADER, same, student, students


# --------------------------------------------------------------------------- readers
def test_pykt_round_trip(tmp_path):
    st = students()
    write_pykt(tmp_path / "train_valid.csv", st)
    write_pykt(tmp_path / "test.csv", st, cidxs=True)
    same(read_pykt(tmp_path / "train_valid.csv", 10), st)
    same(read_pykt(tmp_path / "test.csv", 10, has_cidxs=True), st)


def test_dkvmn_round_trip_and_folds(tmp_path):
    st = students(20)
    write_dkvmn(tmp_path / "x_train.csv", st)
    back = read_dkvmn(tmp_path / "x_train.csv", 10)
    assert [s.raw_id for s in back] == [f"x_train:{i + 1}" for i in range(20)]
    for x, y in zip(back, st):
        np.testing.assert_array_equal(x.skills, y.skills)
        np.testing.assert_array_equal(x.responses, y.responses)
    assert np.bincount([s.fold for s in back]).tolist() == [4] * 5
    assert {s.fold for s in read_dkvmn(tmp_path / "x_train.csv", 10, fold_of=-1)} == {-1}
    # trailing commas, as in the DKVMN files, are accepted
    (tmp_path / "t.csv").write_text("3\n1,2,3,\n0,1,1,\n")
    assert read_dkvmn(tmp_path / "t.csv", 3)[0].skills.tolist() == [0, 1, 2]


PYKT_BAD = [  # (concepts, responses, field, expected words)
    ('"1,2,3"', '"0,1"', "responses", "has 2 values"),
    ('"1,2,3,4"', '"0,1,1,2"', "responses", "value '2' at position 4 is not 0 or 1"),
    ('"1,100"', '"0,1"', "concepts", "value '100' at position 2 is out of range"),
    ('"1,-1"', '"0,1"', "concepts", "value '-1' at position 2 is out of range"),
    ('""', '""', "concepts", "empty sequence"),
    ('"1,x,3"', '"0,1,1"', "concepts", "value 'x' at position 2 is not an integer"),
    ('"1,2.5"', '"0,1"', "concepts", "not an integer"),
]


@pytest.mark.parametrize("concepts,responses,field,words", PYKT_BAD)
def test_pykt_errors(tmp_path, concepts, responses, field, words):
    path = tmp_path / "train_valid.csv"
    path.write_text(f'fold,uid,concepts,responses\n0,7,"1,2","0,1"\n1,8,{concepts},{responses}\n')
    with pytest.raises(DataFormatError) as e:
        read_pykt(path, 100)
    msg = str(e.value)
    assert "train_valid.csv line 3" in msg and f"field '{field}'" in msg and words in msg, msg
    assert (e.value.line, e.value.field) == (3, field)


def test_pykt_missing_column(tmp_path):
    (tmp_path / "test.csv").write_text('fold,uid,concepts,responses\n-1,7,"1,2","0,1"\n')
    with pytest.raises(DataFormatError, match=r"test.csv line 1, field 'cidxs': missing column"):
        read_pykt(tmp_path / "test.csv", 100, has_cidxs=True)


DKVMN_BAD = [  # (text, line, field, expected words)
    ("3\n1,2,3\n0,1,1\nabc\n1\n1\n", 4, "count", "not an integer"),
    ("3\n1,2,3\n0,1,1\n4\n1,2,3\n0,1,1\n", 4, "count", "says 4 but the skills line has 3"),
    ("3\n1,2,3\n0,1,1\n2\n1,2\n", 4, "block", "expected 3 lines"),
    ("3\n1,2,3\n1,0,1\n0,1,1\n", 4, "count", "a line missing?"),
    ("2\n1,111\n0,1\n", 2, "skills", "value '111' at position 2 is out of range [1, 110]"),
    ("2\n0,1\n0,1\n", 2, "skills", "value '0' at position 1 is out of range"),
    ("2\n1,2\n0,3\n", 3, "responses", "value '3' at position 2 is not 0 or 1"),
    ("2\n1,2\n0\n", 3, "responses", "has 1 values"),
]


@pytest.mark.parametrize("text,line,field,words", DKVMN_BAD)
def test_dkvmn_errors(tmp_path, text, line, field, words):
    path = tmp_path / "assist2009_updated_train.csv"
    path.write_text(text)
    with pytest.raises(DataFormatError) as e:
        read_dkvmn(path, 110)
    msg = str(e.value)
    assert f"assist2009_updated_train.csv line {line}, field '{field}'" in msg and words in msg, msg


# --------------------------------------------------------------------------- hostile files (issue 15)
@pytest.mark.parametrize("body,line,field,words", [
    (HEADER + '0,7,"1,2","0,1"\n1,8,"1,\xff2","0,1"\n', 3, "concepts", "byte 0xff at column 8 is not UTF-8"),
    (HEADER + '0,7\xfe,"1,2","0,1"\n', 2, "uid", "byte 0xfe"),
    ("fo\xffld,uid,concepts,responses\n", 1, "header", "not UTF-8"),
    ("", 1, "header", "empty file"),
    (HEADER, 2, "row", "no students"),
    (HEADER + '0,7,"1,2","0,1"\n5,8,"1,2","0,1"\n', 3, "fold", "value '5' is not an allowed fold (0, 1, 2, 3, 4)"),
    (HEADER + '0,7,"1,2","0,1"\n1,7,"1,2","0,1"\n', 3, "uid", "student '7' again (first on line 2, fold 0"),
])
def test_pykt_hostile_files(tmp_path, body, line, field, words):
    path = tmp_path / "train_valid.csv"
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(DataFormatError) as e:
        read_pykt(path, 100, folds=range(5))
    msg = str(e.value)
    assert f"train_valid.csv line {line}, field '{field}'" in msg and words in msg, msg


@pytest.mark.parametrize("body,line,field,words", [
    (b"2\n1,2\n0,\xc31\n", 3, "responses", "byte 0xc3 at column 3 is not UTF-8"),
    (b"", 1, "count", "empty file"),
    (b"\n\n", 1, "count", "empty file"),
])
def test_dkvmn_hostile_files(tmp_path, body, line, field, words):
    path = tmp_path / "STATICS_test.csv"
    path.write_bytes(body)
    with pytest.raises(DataFormatError) as e:
        read_dkvmn(path, 10, fold_of=-1)
    msg = str(e.value)
    assert f"STATICS_test.csv line {line}, field '{field}'" in msg and words in msg, msg

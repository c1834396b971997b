"""Tests of gainakt.data: data folders, windows, batches, statistics, whole data sets and their errors, and
the real data (the file formats: test_formats.py)."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import gainakt.data
from gainakt.batches import BATCHINGS, iter_batches, iter_steps, num_batches, num_steps, token_budget
from gainakt.data import (DATASETS, DataFormatError, DataNotFoundError, Student, build_dataset, build_split,
                          load_dataset, resolve_data_dir, write_pykt)
from gainakt.features import original_skill_difficulty, student_velocity, train_skill_difficulty

REAL = Path(os.environ.get("GAINAKT_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_real = pytest.mark.skipif(not (REAL / "assist2015" / "train_valid.csv").is_file(),
                                reason=f"real data not found in {REAL}")


def student(uid, n, fold=0, C=10, seed=0):
    rng = np.random.default_rng(seed)
    return Student(uid, rng.integers(0, C, n), rng.integers(0, 2, n), fold)


def students(k=12, C=10, folds=5):
    return [student(f"{i:03d}", 3 + 7 * i, fold=i % folds, C=C, seed=i) for i in range(k)]


def same(a, b):
    assert [s.raw_id for s in a] == [s.raw_id for s in b] and [s.fold for s in a] == [s.fold for s in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.skills, y.skills)
        np.testing.assert_array_equal(x.responses, y.responses)


def test_default_data_dir_beside_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv("GAINAKT_DATA", raising=False)
    monkeypatch.setattr(gainakt.data, "DEFAULT_DATA_DIR", tmp_path)
    assert resolve_data_dir(None) == tmp_path


def test_missing_data(tmp_path, monkeypatch):
    monkeypatch.delenv("GAINAKT_DATA", raising=False)
    monkeypatch.setattr(gainakt.data, "DEFAULT_DATA_DIR", tmp_path / "absent")
    with pytest.raises(DataNotFoundError, match="GAINAKT_DATA"):
        resolve_data_dir(None)
    with pytest.raises(DataNotFoundError) as e:
        load_dataset("assist2015", data_dir=tmp_path)
    msg = str(e.value)
    for words in ("train_valid.csv", "test.csv", str(tmp_path / "assist2015"), "pyKT", "--data-dir", "GAINAKT_DATA"):
        assert words in msg, msg
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_dataset("statics2011", data_dir=tmp_path / "nowhere")


def test_env_var_and_student_index(tmp_path, monkeypatch):
    (tmp_path / "assist2015").mkdir()
    tv = students()
    tv[0] = student("shared", 30, fold=1)
    write_pykt(tmp_path / "assist2015" / "train_valid.csv", tv)
    write_pykt(tmp_path / "assist2015" / "test.csv", [student("shared", 40, fold=-1), student("zz", 5, fold=-1)],
               cidxs=True)
    monkeypatch.setenv("GAINAKT_DATA", str(tmp_path))
    ds = load_dataset("assist2015", fold=0, shared_uids="merge")   # "shared" is in train and test
    assert ds.num_students == 13 and ds.student_ids == sorted(ds.student_ids)
    shared = ds.student_ids.index("shared")
    assert shared in ds.train.students.tolist() and shared in ds.test.students.tolist()
    assert ds.valid.num_interactions == sum(len(s.skills) for s in tv if s.fold == 0)


# --------------------------------------------------------------------------- windows and batches
def test_windows():
    st = [student("a", 450), student("b", 1), student("c", 201)]
    split = build_split("train", st, 200, {"a": 0, "b": 1, "c": 2})
    assert split.lengths.tolist() == [200, 200, 50, 200]
    assert split.starts.tolist() == [0, 200, 400, 0]
    assert split.students.tolist() == [0, 0, 0, 2]
    assert (split.dropped_windows, split.dropped_interactions) == (2, 2)  # b (length 1) and c's last step
    flat = torch.cat([split.skills[i, :n] for i, n in enumerate(split.lengths[:3].tolist())])
    np.testing.assert_array_equal(flat.numpy(), st[0].skills)
    assert split.skills[2, 50:].abs().sum() == 0 and split.responses[2, 50:].abs().sum() == 0


def skewed_split(n=300, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.minimum(2 + rng.geometric(0.05, n), 200)  # many short windows, a few long ones
    st = [student(str(i), int(k), seed=i) for i, k in enumerate(lengths)]
    return build_split("train", st, 200, {s.raw_id: i for i, s in enumerate(st)})


@pytest.mark.parametrize("batching,max_tokens", [("tokens", None), ("tokens", 2000), ("windows", None),
                                                 ("padded", None)])
def test_batches_cover_windows_once(batching, max_tokens):
    split = skewed_split()
    batches = list(iter_batches(split, 32, batching=batching, max_tokens=max_tokens, shuffle=True, seed=3))
    assert len(batches) == num_batches(split, 32, batching=batching, max_tokens=max_tokens)
    seen = torch.cat([b.index for b in batches]).sort().values
    assert seen.tolist() == list(range(len(split.lengths)))
    assert sum(int(b.mask.sum()) for b in batches) == split.num_interactions - len(split.lengths)
    slots = sum(b.q.numel() for b in batches)
    if batching == "padded":
        assert slots == len(split.lengths) * 199
    else:
        assert slots < len(split.lengths) * 199 / 3
    if batching != "tokens":
        assert sorted(b.q.shape[0] for b in batches)[1:] == [32] * (len(batches) - 1)


def test_token_batches_hold_similar_numbers_of_targets():
    split = skewed_split()
    budget = token_budget(split, 32)
    assert budget == round(32 * float((split.lengths - 1).float().mean()))
    tok = list(iter_batches(split, 32))
    assert all(b.q.numel() <= budget for b in tok if b.q.shape[0] > 1)  # slots within budget
    assert max(b.q.shape[0] for b in tok) > 32                      # short windows share big batches
    # about as many updates as the padded path, and a far narrower spread of targets per update
    assert abs(len(tok) - num_batches(split, 32, batching="padded")) <= 0.2 * len(tok)
    targets = lambda bs: np.array([int(b.mask.sum()) for b in bs])[:-1]  # noqa: E731  (last may be partial)
    win = list(iter_batches(split, 32, batching="windows"))
    assert targets(tok).std() < targets(win).std() / 3


@pytest.mark.parametrize("strata", [1, 2, 3])
def test_each_token_step_mixes_length_strata(strata):
    split = skewed_split()
    steps = list(iter_steps(split, 32, length_strata=strata, shuffle=True, seed=1))
    assert len(steps) == num_steps(split, 32, length_strata=strata)
    assert sum(len(s) for s in steps) == num_batches(split, 32, length_strata=strata)
    seen = torch.cat([b.index for s in steps for b in s]).sort().values
    assert seen.tolist() == list(range(len(split.lengths)))
    full = [s for s in steps if len(s) == strata]
    assert len(full) >= len(steps) - strata and all(len(s) in (1, strata) for s in steps)
    budget = token_budget(split, 32)
    assert all(sum(b.q.numel() for b in s) <= budget for s in steps if all(b.q.shape[0] > 1 for b in s))
    if strata > 1:  # a step's buckets come from different strata: short and long windows together
        assert np.mean([len({b.q.shape[1] for b in s}) == strata for s in full]) > 0.9


def test_bucketed_order_is_not_sorted_by_length():
    """Without shuffling, bucketed batches come in a fixed order drawn from the seed (sorted order
    would mean the shortest windows first in every epoch); padded ones keep file order."""
    split = skewed_split()
    for batching in ("tokens", "windows"):
        widths = [b.q.shape[1] for b in iter_batches(split, 16, batching=batching, seed=5)]
        assert widths != sorted(widths)
        again = [b.index.tolist() for b in iter_batches(split, 16, batching=batching, seed=5, epoch=4)]
        assert again == [b.index.tolist() for b in iter_batches(split, 16, batching=batching, seed=5)]
    padded = torch.cat([b.index for b in iter_batches(split, 16, batching="padded")])
    assert padded.tolist() == list(range(len(split.lengths)))


def test_unknown_batching_is_an_error():
    with pytest.raises(ValueError, match="batching"):
        num_batches(skewed_split(20), 8, batching="bucket")


@pytest.mark.parametrize("batching", BATCHINGS)
def test_shift_and_mask(batching):
    split = skewed_split(50)
    for b in iter_batches(split, 8, batching=batching, shuffle=True):
        n = split.lengths[b.index]
        assert b.q.shape[1] == (200 if batching in ("padded", "packed") else int(n.max())) - 1
        assert (b.mask.sum(1) == n - 1).all()
        for i, k in enumerate(b.index.tolist()):
            m = int(n[i]) - 1
            assert torch.equal(b.q[i, :m], split.skills[k, :m])
            assert torch.equal(b.q_next[i, :m], split.skills[k, 1:m + 1])
            assert torch.equal(b.q_next[i, :m - 1], b.q[i, 1:m])
            assert torch.equal(b.r_next[i, :m - 1], b.r[i, 1:m].float())
        pad = ~b.mask
        assert b.r_next.dtype == torch.float32 and (b.q_next[pad] == 0).all() and (b.r_next[pad] == 0).all()
        assert (b.students == split.students[b.index]).all()


def test_shuffle_deterministic():
    split = skewed_split()
    for batching in BATCHINGS:
        order = lambda **kw: [b.index.tolist() for b in iter_batches(split, 16, batching=batching, **kw)]  # noqa: E731
        assert order(shuffle=True, seed=1, epoch=0) == order(shuffle=True, seed=1, epoch=0)
        assert order(shuffle=True, seed=1, epoch=0) != order(shuffle=True, seed=1, epoch=1)
        assert order(shuffle=True, seed=1, epoch=0) != order(shuffle=True, seed=2, epoch=0)
        assert order() == order()


# --------------------------------------------------------------------------- statistics
def test_train_skill_difficulty():
    # skill 0: correct 3 in a row at once (3 attempts); skill 1: 0,0,1,1,1 (5); skill 2 never mastered (2 attempts)
    st = [Student("a", np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]), np.array([1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1]), 0)]
    split = build_split("train", st, 200, {"a": 0})
    d = train_skill_difficulty(split, 4)
    raw = np.array([3, 5, 2, 10 / 3])  # skill 3 has no data: the mean
    np.testing.assert_allclose(d, raw / raw.mean())


def test_original_skill_difficulty_off_by_one():
    skills = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3])
    resp = np.array([0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1])
    split = build_split("valid", [Student("a", skills, resp, 0)], 200, {"a": 0})
    fixed, orig = train_skill_difficulty(split, 5), original_skill_difficulty(split, 5)
    raw = np.array([3.0, 5, 7, 5])  # skills 1..3 and the missing skill 4 (mean); skill 0 skipped
    np.testing.assert_allclose(orig, np.append((raw / raw.mean())[:4], 1.0))  # index k <- skill k+1
    assert orig[0] < orig[1] < orig[2] and orig[4] == 1.0
    np.testing.assert_allclose(orig[:3] / orig[0], fixed[1:4] / fixed[1])  # same skills, shifted by one


def test_student_velocity_past_vs_leak():
    split = skewed_split(40)
    b = next(iter_batches(split, 40))
    v = student_velocity(b, "past", state=0.6)
    assert v.shape == b.q.shape and (v >= 0.5).all() and (v <= 2).all() and (v[~b.mask] == 1).all()
    t = 3
    changed = b.r.clone()
    changed[:, t + 1:] = 1 - changed[:, t + 1:]
    b2 = type(b)(b.q, changed, b.q_next, torch.cat([changed[:, 1:], b.r_next[:, -1:]], 1).float(), b.mask,
                 b.students, b.index)
    v2 = student_velocity(b2, "past", state=0.6)
    assert torch.equal(v[:, :t + 1], v2[:, :t + 1])            # the future cannot move the past
    state, state2 = {"correct": 0.0, "count": 0.0}, {}
    leak, leak2 = student_velocity(b, "original_leak", state=state), student_velocity(b2, "original_leak", state=state2)
    assert leak.shape == b.q.shape and not torch.equal(leak[:, :t + 1], leak2[:, :t + 1])
    m = b.mask.float()
    np.testing.assert_allclose(leak[:, 0].numpy(), ((b.r_next * m).sum(1) / m.sum(1) / 0.5).clamp(0.5, 2).numpy(),
                               rtol=1e-6)
    assert state["count"] == float(m.sum())                    # the running rate moved after the batch
    g = state["correct"] / state["count"]
    again = student_velocity(b, "original_leak", state=state)
    np.testing.assert_allclose(again[:, 0].numpy(), ((b.r_next * m).sum(1) / m.sum(1) / g).clamp(0.5, 2).numpy(),
                               rtol=1e-5)


def test_build_dataset_checks():
    with pytest.raises(ValueError, match="fold 7"):
        build_dataset("x", 10, students(), [], fold=7)
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("nope")


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def assist2015():
    return load_dataset("assist2015", data_dir=REAL, fold=0)


@needs_real
def test_real_assist2015(assist2015):
    ds = assist2015
    assert ds.num_skills == 100 == DATASETS["assist2015"].num_skills
    folds_1_4 = 544_339 - 105_831  # fold 0 of train_valid.csv holds 105,831 interactions
    assert folds_1_4 - 10 <= ds.train.num_interactions <= folds_1_4
    assert ds.valid.num_interactions == 105_831 and ds.test.num_interactions == 138_458
    assert len(ds.test.students.unique()) == 3818 and ds.info["splits"]["test"]["students"] == 3818
    assert ds.num_students == 15_275 + 3818 and int(ds.train.lengths.min()) >= 2
    assert int(ds.train.skills.max()) == 99 and 0.70 < ds.train.correct_rate < 0.76


@needs_real
@pytest.mark.parametrize("name,C,students", [("assist2009", 110, 2921 + 1230), ("statics2011", 1223, 333)])
def test_real_dkvmn(name, C, students):
    ds = load_dataset(name, data_dir=REAL)
    assert ds.num_skills == C and ds.num_students == students
    assert int(ds.train.skills.max()) < C and ds.valid.num_interactions > 0


HEADER = "fold,uid,concepts,responses\n"


def _pykt_folder(tmp_path, train, test):
    (tmp_path / "assist2015").mkdir(exist_ok=True)
    (tmp_path / "assist2015" / "train_valid.csv").write_text(train)
    (tmp_path / "assist2015" / "test.csv").write_text(test)


GOOD_TRAIN = HEADER + "".join(f'{i % 5},{i},"1,2,3","0,1,1"\n' for i in range(10))


def test_header_only_test_file_fails_before_training(tmp_path):
    _pykt_folder(tmp_path, GOOD_TRAIN, HEADER.strip() + ",cidxs\n")
    with pytest.raises(DataFormatError, match=r"test.csv line 2, field 'row': no students"):
        load_dataset("assist2015", data_dir=tmp_path)
    # a test file whose students are all too short for one window: also before training
    _pykt_folder(tmp_path, GOOD_TRAIN, HEADER.strip() + ',cidxs\n-1,99,"1","1","0"\n')
    with pytest.raises(ValueError, match="the test split has no window"):
        load_dataset("assist2015", data_dir=tmp_path)


def test_test_file_folds_must_be_minus_one(tmp_path):
    _pykt_folder(tmp_path, GOOD_TRAIN, HEADER.strip() + ',cidxs\n0,99,"1,2","1,0","0,1"\n')
    with pytest.raises(DataFormatError, match=r"test.csv line 2, field 'fold': value '0' is not an allowed fold \(-1\)"):
        load_dataset("assist2015", data_dir=tmp_path)


def test_student_in_train_and_test_is_an_error_unless_merged(tmp_path):
    _pykt_folder(tmp_path, GOOD_TRAIN, HEADER.strip() + ',cidxs\n-1,99,"1,2","1,0","0,1"\n-1,3,"1,2","1,0","2,3"\n')
    with pytest.raises(DataFormatError) as e:
        load_dataset("assist2015", data_dir=tmp_path)
    msg = str(e.value)
    assert "test.csv line 3, field 'uid'" in msg and "student '3' is also in the training data (line 5, fold 3)" in msg
    assert "shared_uids='merge'" in msg
    ds = load_dataset("assist2015", data_dir=tmp_path, shared_uids="merge")
    assert ds.num_students == 11        # one learner, one index in both


def test_in_memory_duplicates_are_errors():
    with pytest.raises(ValueError, match="student '001' again"):
        build_dataset("x", 10, students() + [student("001", 5, fold=2)], [student("t", 5, fold=-1)])
    with pytest.raises(ValueError, match="also in the training data"):
        build_dataset("x", 10, students(), [student("001", 5, fold=-1)])

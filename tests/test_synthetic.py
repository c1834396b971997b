"""Tests of gainakt.synthetic: determinism, ground truth on disk, and that the data carries the truth."""
import time

import numpy as np
import pytest

from gainakt.data import load_dataset, read_pykt
from gainakt.synthetic import SimConfig, load_ground_truth, simulate, write_dataset


def test_deterministic_and_fast():
    t0 = time.perf_counter()
    a, ta = simulate(SimConfig(seed=3))
    assert time.perf_counter() - t0 < 1.0
    b, tb = simulate(SimConfig(seed=3))
    c, _ = simulate(SimConfig(seed=4))
    assert all(np.array_equal(x.skills, y.skills) and np.array_equal(x.responses, y.responses) for x, y in zip(a, b))
    np.testing.assert_array_equal(ta["learn_rate"], tb["learn_rate"])
    assert not all(np.array_equal(x.responses, y.responses) for x, y in zip(a, c))


def test_shapes_folds_and_truth():
    cfg = SimConfig(n_students=100, n_skills=5, min_len=10, max_len=30, n_folds=4, test_fraction=0.25)
    st, truth = simulate(cfg)
    assert len(st) == 100 and all(10 <= len(s.skills) <= 30 for s in st)
    assert all(s.skills.dtype == np.int64 and s.skills.max() < 5 and set(s.responses) <= {0, 1} for s in st)
    assert np.bincount([s.fold + 1 for s in st]).tolist() == [25, 19, 19, 19, 18]
    for s, before, after, gain in zip(st, truth["mastery_before"], truth["mastery_after"], truth["gain"]):
        assert len(before) == len(s.skills)
        np.testing.assert_allclose(after - before, gain)
        assert (gain >= 0).all() and (after <= 1).all()
    # the mastery a skill starts an attempt with is the one it ended its previous attempt with
    s, before, after = st[0], truth["mastery_before"][0], truth["mastery_after"][0]
    for k in range(cfg.n_skills):
        at = np.flatnonzero(s.skills == k)
        np.testing.assert_allclose(before[at[1:]], after[at[:-1]])
    assert truth["config"] == cfg.to_dict() and truth["summary"]["n_interactions"] == sum(len(x.skills) for x in st)


def test_correct_answers_teach_more():
    _, truth = simulate(SimConfig(seed=1))
    st, _ = simulate(SimConfig(seed=1))
    gain = np.concatenate(truth["gain"])
    correct = np.concatenate([s.responses for s in st]).astype(bool)
    assert gain[correct].mean() > 1.5 * gain[~correct].mean()


def ranks(x):
    return np.argsort(np.argsort(x))


def test_per_skill_signal():
    """Correctness rises between early and later attempts on a skill, faster for skills with a higher
    true learning rate; and the easier skills (true difficulty) are answered correctly more often."""
    cfg = SimConfig(n_students=1000, seed=0)
    st, truth = simulate(cfg)
    C = cfg.n_skills
    assert truth["learn_rate"].max() / truth["learn_rate"].min() > 3
    hits, counts = np.zeros((2, C)), np.zeros((2, C))
    for s in st:
        order = np.argsort(s.skills, kind="stable")
        sk, r = s.skills[order], s.responses[order]
        first = np.r_[True, sk[1:] != sk[:-1]]
        attempt = np.arange(len(sk)) - np.flatnonzero(first)[np.cumsum(first) - 1]  # 0-based attempt on that skill
        for row, sel in enumerate([attempt < 2, (attempt >= 5) & (attempt < 15)]):
            np.add.at(hits[row], sk[sel], r[sel])
            np.add.at(counts[row], sk[sel], 1)
    improvement = hits[1] / counts[1] - hits[0] / counts[0]
    assert np.corrcoef(ranks(improvement), ranks(truth["learn_rate"]))[0, 1] > 0.6
    rate = hits.sum(0) / counts.sum(0)
    assert np.corrcoef(ranks(rate), ranks(-truth["difficulty"]))[0, 1] > 0.5


def test_write_and_load(tmp_path):
    cfg = SimConfig(n_students=60, n_skills=4, max_len=40)
    folder = write_dataset(tmp_path / "synthetic", cfg)
    assert sorted(p.name for p in folder.iterdir()) == [
        "ground_truth.json", "ground_truth_interactions.npz", "test.csv", "train_valid.csv"]
    st, truth = simulate(cfg)
    back = read_pykt(folder / "train_valid.csv", 4) + read_pykt(folder / "test.csv", 4, has_cidxs=True)
    assert sorted(s.raw_id for s in back) == [s.raw_id for s in st]
    saved = load_ground_truth(folder)
    assert saved["config"] == cfg.to_dict() and saved["student_ids"] == truth["student_ids"]
    np.testing.assert_allclose(saved["learn_rate"], truth["learn_rate"])
    np.testing.assert_allclose(saved["final_mastery"], truth["final_mastery"])
    for k in ("mastery_before", "gain"):
        assert all(np.allclose(x, y) for x, y in zip(saved[k], truth[k]))
    assert all(np.array_equal(x, s.skills) for x, s in zip(saved["skills"], st))

    ds = load_dataset("synthetic", data_dir=tmp_path)   # reads the files written above
    assert ds.info["origin"] == str(folder) and ds.num_skills == 4 and ds.num_students == 60
    with pytest.raises(ValueError, match="other settings"):
        load_dataset("synthetic", data_dir=tmp_path, synthetic={"n_skills": 7})


def test_load_dataset_without_files(monkeypatch):
    monkeypatch.delenv("GAINAKT_DATA", raising=False)
    ds = load_dataset("synthetic", synthetic={"n_students": 50, "n_skills": 6})
    assert ds.info["origin"] == "memory" and ds.num_skills == 6 and ds.num_students == 50
    assert ds.test.lengths.numel() == 10 and ds.train.num_interactions > ds.valid.num_interactions > 0
    again = load_dataset("synthetic", synthetic={"n_students": 50, "n_skills": 6})
    assert ds.train.skills.equal(again.train.skills)
    assert load_dataset("synthetic").num_skills == SimConfig().n_skills

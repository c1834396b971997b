"""Knowledge-tracing data sets: where they live, windows and per-split tensors (file formats:
formats.py; batching: batches.py).

Three public benchmarks are read from a data directory the user points to (``--data-dir`` or
the ``GAINAKT_DATA`` environment variable); a fourth, ``synthetic``, is simulated by
:mod:`gainakt.synthetic` and needs no files.

    files --read_pykt / read_dkvmn--> [Student] --build_split--> Split ([N, W] padded tensors)
          --batches.iter_batches--> Batch (q, r, q_next, r_next, mask: [B, T])

Protocol (the one the GainAKT3Exp reports use): train = the folds other than ``fold`` of the
training file, valid = fold ``fold``, test = the test file. Sequences are cut into consecutive
windows of at most ``seq_len``; windows shorter than 2 are dropped (no next-step target).
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import PACKAGE_ROOT
from .formats import (INT, N_FOLDS, DataFormatError, Student, read_dkvmn, read_pykt,  # noqa: F401 (public here too)
                      write_dkvmn, write_pykt)
from .synthetic import SimConfig, simulate

ENV_VAR = "GAINAKT_DATA"
# used when neither data_dir nor $GAINAKT_DATA is given (and it exists)
DEFAULT_DATA_DIR = PACKAGE_ROOT.parent / "shared" / "data"


class DataNotFoundError(FileNotFoundError):
    """The data directory or one of the files a data set needs is missing."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    format: str           # "pykt" | "dkvmn"
    subdir: str           # folder below the data directory
    files: tuple          # (training file, test file)
    num_skills: int
    source: str           # where to get it, one line


DATASETS: dict[str, DatasetInfo] = {d.name: d for d in [
    DatasetInfo("assist2015", "pykt", "assist2015", ("train_valid.csv", "test.csv"), 100,
                "pyKT toolkit preprocessing (github.com/pykt-team/pykt-toolkit, data/assist2015/)"),
    DatasetInfo("assist2009", "dkvmn", "assist2009",
                ("assist2009_updated_train.csv", "assist2009_updated_test.csv"), 110,
                "DKVMN paper code (github.com/jennyzhang0215/DKVMN, data/assist2009_updated/)"),
    DatasetInfo("statics2011", "dkvmn", "statics2011", ("STATICS_train.csv", "STATICS_test.csv"), 1223,
                "DKVMN paper code (github.com/jennyzhang0215/DKVMN, data/STATICS/)"),
    DatasetInfo("synthetic", "pykt", "synthetic", ("train_valid.csv", "test.csv"), SimConfig().n_skills,
                "gainakt's learner simulator: `python -m gainakt simulate` (simulated in memory when absent)"),
]}


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """The data directory: ``data_dir`` if given, else ``$GAINAKT_DATA``, else ``../shared/data`` beside the
    project root when that exists; it must exist."""
    chosen = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or None
    if chosen is None and DEFAULT_DATA_DIR.is_dir():
        return DEFAULT_DATA_DIR  # the layout the README describes: ../shared/data beside the clone
    if chosen is None:
        raise DataNotFoundError(
            f"No data directory given: pass --data-dir DIR (data_dir=...) or set the {ENV_VAR} environment "
            f"variable to the folder holding {', '.join(d.subdir + '/' for d in DATASETS.values())} "
            "(the 'synthetic' data set needs no files).")
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataNotFoundError(f"Data directory {path} does not exist (given by "
                                f"{'--data-dir' if data_dir is not None else ENV_VAR}).")
    return path


def _how_to_get(d: DatasetInfo) -> str:
    return (f"Data set '{d.name}' needs {', '.join(d.files)} in <data dir>/{d.subdir}/; get them from the {d.source}, "
            f"or try the built-in 'synthetic' data set (`python -m gainakt simulate`, or simulated in memory). "
            f"Point gainakt at <data dir> with --data-dir or the {ENV_VAR} environment variable.")


# --------------------------------------------------------------------------- windows
@dataclass
class Split:
    """Windows of one split. All windows padded into one tensor once (so batching is an index + slice,
    no per-batch Python)."""
    name: str                  # "train" | "valid" | "test"
    skills: torch.Tensor       # [N, W] int64, padded with 0 (W = seq_len)
    responses: torch.Tensor    # [N, W] int64, padded with 0
    lengths: torch.Tensor      # [N] int64, real length of each window (>= 2)
    students: torch.Tensor     # [N] int64, GLOBAL student index (same student => same index in every split)
    starts: torch.Tensor       # [N] int64, offset of the window inside the student's full sequence
    dropped_windows: int = 0   # windows of length < 2 left out
    dropped_interactions: int = 0

    @property
    def num_interactions(self) -> int:
        return int(self.lengths.sum())

    @property
    def correct_rate(self) -> float:
        """Share of correct responses over the real interactions (padding is 0, so a plain sum works)."""
        return float(self.responses.sum()) / max(self.num_interactions, 1)


def subset(split: Split, idx: torch.Tensor) -> Split:
    """A Split restricted to windows `idx` (all tensor fields indexed the same way)."""
    return dataclasses.replace(split, **{f.name: getattr(split, f.name)[idx]
                                         for f in dataclasses.fields(split)
                                         if isinstance(getattr(split, f.name), torch.Tensor)})


def build_split(name: str, students: list[Student], seq_len: int, student_index: dict[str, int]) -> Split:
    """Cut every student into consecutive windows of at most ``seq_len`` and pad them into [N, seq_len]."""
    n = np.array([len(s.skills) for s in students], dtype=np.int64)
    per = -(-n // seq_len)                                        # windows per student
    owner = np.repeat(np.arange(len(students)), per)              # [N'] student of each window
    starts = (np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)) * seq_len
    lengths = np.minimum(seq_len, n[owner] - starts)
    keep = lengths >= 2
    dropped = int((~keep).sum()), int(lengths[~keep].sum())
    owner, starts, lengths = owner[keep], starts[keep], lengths[keep]
    empty = [np.empty(0, np.int64)]
    flat_s = np.concatenate([s.skills for s in students] or empty)
    flat_r = np.concatenate([s.responses for s in students] or empty)
    pos = np.arange(seq_len)
    real = pos[None, :] < lengths[:, None]                        # [N, W]
    idx = np.where(real, ((np.cumsum(n) - n)[owner] + starts)[:, None] + pos[None, :], 0)
    gid = np.array([student_index[s.raw_id] for s in students], dtype=np.int64)
    t = torch.from_numpy
    return Split(name, t(np.where(real, flat_s[idx], 0)), t(np.where(real, flat_r[idx], 0)), t(lengths),
                 t(gid[owner]), t(starts), *dropped)


def per_split_student_index(split: Split, student_ids: list[str]) -> torch.Tensor:
    """[N] the original's per-split student index of each window: the rank of its uid among the
    split's own uids, sorted as `sorted(df.uid.unique())` sorts them (numbers when every uid is an
    integer, as in pyKT files; strings otherwise). `split.students` holds global indices into
    `student_ids`."""
    uniq, inverse = torch.unique(split.students, sorted=True, return_inverse=True)
    raw = [student_ids[i] for i in uniq.tolist()]
    numeric = all(INT.fullmatch(u) for u in raw)
    order = sorted(range(len(raw)), key=(lambda i: int(raw[i])) if numeric else (lambda i: raw[i]))
    rank = torch.empty(len(raw), dtype=torch.int64)
    rank[torch.tensor(order, dtype=torch.int64)] = torch.arange(len(raw))
    return rank[inverse]


@dataclass
class Dataset:
    name: str
    num_skills: int
    num_students: int          # size of the global student index (all splits)
    train: Split
    valid: Split
    test: Split
    student_ids: list[str]     # raw id of each global index
    info: dict = field(default_factory=dict)


SHARED_UIDS = ("error", "merge")


def check_unique_students(train_valid: list[Student], test: list[Student], shared_uids: str = "error",
                          paths=("training data", "test data")) -> None:
    """Each uid at most once in the training data, and (``shared_uids="error"``) never in both the
    training and the test data. ``"merge"``: a uid in both is one learner (one global index, one gamma)
    seen in training and at test time; the test is then not on unseen learners. Raises DataFormatError
    (or ValueError for students not read from a file) naming the uid and where it is."""
    if shared_uids not in SHARED_UIDS:
        raise ValueError(f"shared_uids = {shared_uids!r}; expected one of {SHARED_UIDS}")
    seen: dict[str, Student] = {}
    for s in train_valid:
        if s.raw_id in seen:
            a = seen[s.raw_id]
            problem = (f"student '{s.raw_id}' again (first on line {a.line}, fold {a.fold}; here fold {s.fold}): "
                       "the same learner in two folds leaks between train and valid")
            if s.line:
                raise DataFormatError(paths[0], s.line, "uid", problem)
            raise ValueError(f"{paths[0]}: {problem}")
        seen[s.raw_id] = s
    tseen: set[str] = set()
    for s in test:
        if s.raw_id in tseen:
            raise (DataFormatError(paths[1], s.line, "uid", f"student '{s.raw_id}' again") if s.line
                   else ValueError(f"{paths[1]}: student '{s.raw_id}' twice"))
        tseen.add(s.raw_id)
        if shared_uids == "error" and s.raw_id in seen:
            problem = (f"student '{s.raw_id}' is also in the training data (line {seen[s.raw_id].line}, fold "
                       f"{seen[s.raw_id].fold}): the test would not be on unseen learners; pass "
                       "shared_uids='merge' to allow it (one learner, one index in both)")
            if s.line:
                raise DataFormatError(paths[1], s.line, "uid", problem)
            raise ValueError(f"{paths[1]}: {problem}")


def build_dataset(name: str, num_skills: int, train_valid: list[Student], test: list[Student],
                  fold: int = 0, seq_len: int = 200, info: dict | None = None,
                  shared_uids: str = "error") -> Dataset:
    """Split by the protocol (train = other folds, valid = ``fold``, test = ``test``) and index students.

    Every split must hold at least one window (checked here, before any training); ``shared_uids``: see
    `check_unique_students`."""
    folds = sorted({s.fold for s in train_valid})
    if fold not in folds:
        raise ValueError(f"fold {fold} not in the training file's folds {folds}")
    if seq_len < 2:
        raise ValueError(f"seq_len must be >= 2, got {seq_len}")
    origin = (info or {}).get("origin", name)
    check_unique_students(train_valid, test, shared_uids, (f"{origin} (training data)", f"{origin} (test data)"))
    ids = sorted({s.raw_id for s in train_valid + test})
    index = {u: i for i, u in enumerate(ids)}
    parts = {"train": [s for s in train_valid if s.fold != fold], "valid": [s for s in train_valid if s.fold == fold],
             "test": test}
    splits = {k: build_split(k, v, seq_len, index) for k, v in parts.items()}
    for k, sp in splits.items():
        if len(sp.lengths) == 0:
            raise ValueError(f"data set '{name}' ({origin}): the {k} split has no window of at least 2 "
                             f"interactions ({len(parts[k])} students); nothing to "
                             f"{'train on' if k == 'train' else 'evaluate'}")
    info = dict(info or {}, dataset=name, fold=fold, seq_len=seq_len, num_skills=num_skills, num_students=len(ids))
    info["splits"] = {k: dict(students=len(parts[k]), windows=len(s.lengths), interactions=s.num_interactions,
                              correct_rate=round(s.correct_rate, 4), dropped_windows=s.dropped_windows,
                              dropped_interactions=s.dropped_interactions) for k, s in splits.items()}
    info["dropped_windows"] = sum(s.dropped_windows for s in splits.values())
    return Dataset(name, num_skills, len(ids), splits["train"], splits["valid"], splits["test"], ids, info)


def _synthetic_students(data_dir, overrides: dict | None):
    """Students of the synthetic set: from <data_dir>/synthetic/ when written there, else simulated in memory."""
    cfg = SimConfig(**(overrides or {}))
    root = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or None
    folder = Path(root).expanduser() / "synthetic" if root else None
    if folder is None or not (folder / "train_valid.csv").is_file():
        students, _ = simulate(cfg)
        return [s for s in students if s.fold >= 0], [s for s in students if s.fold < 0], cfg.n_skills, "memory"
    truth = folder / "ground_truth.json"
    saved = json.loads(truth.read_text())["config"] if truth.is_file() else {}
    clash = {k: (v, saved[k]) for k, v in (overrides or {}).items() if k in saved and saved[k] != v}
    if clash:  # never train silently on other data than asked for
        raise ValueError(f"{folder} holds synthetic data simulated with other settings {clash} (asked, saved)")
    C = int(saved.get("n_skills", cfg.n_skills))
    n_folds = int(saved.get("n_folds", cfg.n_folds))
    tv = read_pykt(folder / "train_valid.csv", C, folds=range(n_folds))
    test = read_pykt(folder / "test.csv", C, has_cidxs=True, folds=(-1,))
    check_unique_students(tv, test, "error", (folder / "train_valid.csv", folder / "test.csv"))
    return tv, test, C, str(folder)


def dataset_folder(name: str, data_dir=None) -> Path | None:
    """The folder of data set `name` after checking that its files exist (None for synthetic);
    DataNotFoundError (one line: what is missing, where to get it) otherwise. Cheap: reads nothing."""
    d = DATASETS[name]
    if name == "synthetic":
        return None
    try:
        folder = resolve_data_dir(data_dir) / d.subdir
    except DataNotFoundError as e:
        raise DataNotFoundError(f"{e} {_how_to_get(d)}") from None
    missing = [f for f in d.files if not (folder / f).is_file()]
    if missing:
        raise DataNotFoundError(f"{folder} lacks {', '.join(missing)}. {_how_to_get(d)}")
    return folder


def load_dataset(name: str, data_dir=None, fold: int = 0, seq_len: int = 200,
                 synthetic: dict | None = None, shared_uids: str = "error") -> Dataset:
    """Load ``name`` (a key of DATASETS) by the protocol above; ``synthetic``: SimConfig overrides.

    All files are read and checked (including the test file) before anything else happens. Folds of a
    training file must be 0..4 (synthetic: its ``n_folds``), of a pyKT test file -1; a student id twice
    in a file, or in both files, is an error (``shared_uids="merge"``: see `check_unique_students`)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set '{name}'; known: {', '.join(DATASETS)}")
    d = DATASETS[name]
    if name == "synthetic":
        tv, test, C, origin = _synthetic_students(data_dir, synthetic)
        return build_dataset(name, C, tv, test, fold, seq_len, dict(format="pykt", origin=origin), shared_uids)
    folder = dataset_folder(name, data_dir)
    train_path, test_path = folder / d.files[0], folder / d.files[1]
    if d.format == "pykt":
        tv = read_pykt(train_path, d.num_skills, folds=range(N_FOLDS))
        test = read_pykt(test_path, d.num_skills, has_cidxs=True, folds=(-1,))
    else:
        tv, test = read_dkvmn(train_path, d.num_skills), read_dkvmn(test_path, d.num_skills, fold_of=-1)
    check_unique_students(tv, test, shared_uids, (train_path, test_path))   # with file names and lines
    return build_dataset(name, d.num_skills, tv, test, fold, seq_len, dict(format=d.format, origin=str(folder)),
                         shared_uids)

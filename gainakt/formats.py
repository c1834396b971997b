"""The data files: the pyKT and DKVMN formats, read into `Student` records and written back.

    read_pykt(path, num_skills)  -> [Student]     (fold, uid, concepts, responses[, cidxs] CSV)
    read_dkvmn(path, num_skills) -> [Student]     (3 lines per student: length, skills 1-based, responses)
    write_pykt / write_dkvmn                      (atomic: a reader never sees half a file)

Every reader checks each value before anything is built and raises a one-line `DataFormatError`
naming the file, the 1-based line, the field and what is allowed. Windows, splits and the data
sets' locations are `gainakt.data`'s job.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import write_text_atomic

INT = re.compile(r"\s*[+-]?\d+\s*")   # an integer field (spaces around allowed)
N_FOLDS = 5   # pyKT's train_valid.csv folds; DKVMN files get the same number, assigned at random


class DataFormatError(ValueError):
    """A data file does not have the expected format; says where (file, 1-based line, field)."""

    def __init__(self, path, line: int, field: str, problem: str):
        self.path, self.line, self.field, self.problem = Path(path), line, field, problem
        super().__init__(f"{self.path.name} line {line}, field '{field}': {problem} (file: {self.path})")

    def __reduce__(self):  # keep it picklable despite the custom signature
        return self.__class__, (self.path, self.line, self.field, self.problem)


@dataclass
class Student:
    raw_id: str
    skills: np.ndarray      # [L] int64, 0-based
    responses: np.ndarray   # [L] int64, 0/1
    fold: int               # -1 = test
    line: int = 0           # 1-based line of its row in the file it was read from (0: not read from a file)


# --------------------------------------------------------------------------- parsing
def _read_text(path: Path, field_of_line) -> str:
    """The file as text (UTF-8, optional BOM). Bytes that are not UTF-8 raise a DataFormatError naming
    the line, the field (``field_of_line(line_number, line_text)``), the byte and its column."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        start = raw.rfind(b"\n", 0, e.start) + 1
        end = raw.find(b"\n", e.start)
        text = raw[start:end if end >= 0 else len(raw)].decode("utf-8", "replace")
        raise DataFormatError(path, line, field_of_line(line, text),
                              f"byte 0x{raw[e.start]:02x} at column {e.start - start + 1} is not UTF-8 "
                              "(the file must be UTF-8 text)") from None


def _csv_field_of(header: list[str]):
    """For _read_text: the column of a CSV line that holds the undecodable byte (U+FFFD)."""
    def field_of(line: int, text: str) -> str:
        if line == 1:
            return "header"
        row = next(csv.reader([text]), [])
        hit = next((i for i, x in enumerate(row) if "\ufffd" in x), None)
        return header[hit] if hit is not None and hit < len(header) else "row"
    return field_of


def _ints(text: str, path, line: int, name: str) -> np.ndarray:
    """Comma-separated integers -> [n] int64; trailing commas (DKVMN files) are allowed."""
    tokens = text.strip().rstrip(",").split(",")
    if tokens == [""]:
        raise DataFormatError(path, line, name, "empty sequence: expected comma-separated integers, at least one")
    try:
        return np.fromiter(map(int, tokens), np.int64, len(tokens))
    except ValueError:  # only now look for the culprit, to name it
        pos, tok = next((i, t) for i, t in enumerate(tokens) if not INT.fullmatch(t))
        raise DataFormatError(path, line, name, f"value '{tok}' at position {pos + 1} is not an integer") from None


def _validate(path, rows: list, num_skills: int, lo: int, names: tuple) -> None:
    """rows: (lines, skills, responses) per student. One vectorised pass over all of them; only when it
    finds a problem are the rows checked one by one, to report the first offender in file order."""
    if not rows:
        return
    s = np.concatenate([x[1] for x in rows])
    r = np.concatenate([x[2] for x in rows])
    if (len(s) == len(r) and all(len(x[1]) == len(x[2]) for x in rows)
            and s.min() >= lo and s.max() < lo + num_skills and ((r == 0) | (r == 1)).all()):
        return
    for row in rows:
        _check(path, *row, num_skills, lo, names)


def _check(path, lines, skills, responses, num_skills, lo, names) -> None:
    """Same length, skills in [lo, lo + num_skills), responses 0/1; ``lines`` = (skills line, responses
    line); positions are reported 1-based."""
    if len(skills) != len(responses):
        raise DataFormatError(path, lines[1], names[1],
                              f"has {len(responses)} values but '{names[0]}' has {len(skills)}")
    bad = np.flatnonzero((skills < lo) | (skills >= lo + num_skills))
    if bad.size:
        raise DataFormatError(path, lines[0], names[0], f"value '{skills[bad[0]]}' at position {bad[0] + 1} is out "
                                                        f"of range [{lo}, {lo + num_skills - 1}] ({num_skills} skills)")
    bad = np.flatnonzero((responses != 0) & (responses != 1))
    if bad.size:
        raise DataFormatError(path, lines[1], names[1],
                              f"value '{responses[bad[0]]}' at position {bad[0] + 1} is not 0 or 1")


def read_pykt(path, num_skills: int, has_cidxs: bool = False, folds=None) -> list[Student]:
    """pyKT csv: header ``fold,uid,concepts,responses[,cidxs]``, one row per student.

    ``folds``: the allowed fold values (e.g. ``range(5)`` for train_valid.csv, ``(-1,)`` for test.csv);
    None: any integer. A uid on two rows (the same student twice: in two folds it would leak between
    train and valid) is an error; so are an empty file and a header without rows."""
    path = Path(path)
    need = ["fold", "uid", "concepts", "responses"] + (["cidxs"] if has_cidxs else [])
    students, rows, seen = [], [], {}
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8-sig", "replace")
    text = _read_text(path, _csv_field_of([h.strip() for h in next(csv.reader([first]), [])]))
    if not text.strip():
        raise DataFormatError(path, 1, "header", f"empty file: expected a header {','.join(need)} and one "
                                                 "row per student")
    allowed = None if folds is None else sorted(set(int(x) for x in folds))
    with io.StringIO(text, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in need if c not in header]
        if missing:
            raise DataFormatError(path, 1, missing[0], f"missing column; expected a header with {','.join(need)}")
        col = {c: header.index(c) for c in need}
        for row in reader:
            line = reader.line_num
            if not any(x.strip() for x in row):
                continue
            if len(row) != len(header):
                raise DataFormatError(path, line, "row", f"{len(row)} fields, expected {len(header)} "
                                                         f"({','.join(header)})")
            if not INT.fullmatch(row[col["fold"]]):
                raise DataFormatError(path, line, "fold", f"expected an integer, got '{row[col['fold']]}'")
            fold = int(row[col["fold"]])
            if allowed is not None and fold not in allowed:
                raise DataFormatError(path, line, "fold", f"value '{fold}' is not an allowed fold "
                                      f"({', '.join(map(str, allowed))})")
            uid = row[col["uid"]].strip()
            if not uid:
                raise DataFormatError(path, line, "uid", "empty student id")
            if uid in seen:
                raise DataFormatError(path, line, "uid", f"student '{uid}' again (first on line {seen[uid][0]}, "
                                      f"fold {seen[uid][1]}; here fold {fold}): one student must be one row, "
                                      "or the same learner is in two folds (a train/valid leak)")
            seen[uid] = (line, fold)
            skills = _ints(row[col["concepts"]], path, line, "concepts")
            responses = _ints(row[col["responses"]], path, line, "responses")
            rows.append(((line, line), skills, responses))
            if has_cidxs and len(cidx := _ints(row[col["cidxs"]], path, line, "cidxs")) != len(skills):
                raise DataFormatError(path, line, "cidxs", f"has {len(cidx)} values but 'concepts' has {len(skills)}")
            students.append(Student(uid, skills, responses, fold, line))
    if not students:
        raise DataFormatError(path, 2, "row", "no students: the file has a header but no rows")
    _validate(path, rows, num_skills, 0, ("concepts", "responses"))
    return students


def read_dkvmn(path, num_skills: int, fold_of: int | None = None) -> list[Student]:
    """DKVMN 3-line blocks (count / 1-based skill ids / 0-1 responses); skills returned 0-based.

    ``fold_of``: an int puts every student in that fold (-1 for a test file); None assigns the
    training-file protocol: student ``perm[i]`` gets fold ``i % 5``, perm = default_rng(0).permutation.
    Students have no ids in this format: raw_id = "<file stem>:<block number, 1-based>".
    """
    path = Path(path)
    lines = _read_text(path, lambda n, _: ("count", "skills", "responses")[(n - 1) % 3]).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(path, 1, "count", "empty file: no students (expected 3-line blocks: count, "
                                                "skill ids, responses)")
    students, rows = [], []
    for i in range(0, len(lines), 3):
        count = _ints(lines[i], path, i + 1, "count")
        if len(count) != 1 or count[0] < 1:
            raise DataFormatError(path, i + 1, "count", f"expected one positive integer (the number of answers), "
                                  f"got '{lines[i][:40]}'; blocks are 3 lines (count, skill ids, responses): "
                                  "a line missing?")
        if i + 3 > len(lines):
            raise DataFormatError(path, i + 1, "block", f"incomplete block: expected 3 lines (count, skill ids, "
                                  f"responses) from here, found {len(lines) - i}")
        skills = _ints(lines[i + 1], path, i + 2, "skills")
        responses = _ints(lines[i + 2], path, i + 3, "responses")
        if len(skills) != count[0]:
            raise DataFormatError(path, i + 1, "count", f"says {count[0]} but the skills line has {len(skills)} values")
        rows.append(((i + 2, i + 3), skills, responses))
        students.append(Student(f"{path.stem}:{i // 3 + 1}", skills - 1, responses, -1, i + 1))
    _validate(path, rows, num_skills, 1, ("skills", "responses"))
    folds = np.full(len(students), -1 if fold_of is None else fold_of)
    if fold_of is None:
        folds[np.random.default_rng(0).permutation(len(students))] = np.arange(len(students)) % N_FOLDS
    for s, f in zip(students, folds.tolist()):
        s.fold = f
    return students


def write_pykt(path, students: list[Student], cidxs: bool = False) -> Path:
    """Write students in pyKT format, atomically (``cidxs``: add the running interaction index, as test.csv has)."""
    buf, start = io.StringIO(), 0
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["fold", "uid", "concepts", "responses"] + (["cidxs"] if cidxs else []))
    for s in students:
        row = [s.fold, s.raw_id, ",".join(map(str, s.skills.tolist())), ",".join(map(str, s.responses.tolist()))]
        if cidxs:
            row.append(",".join(map(str, range(start, start + len(s.skills)))))
            start += len(s.skills)
        w.writerow(row)
    return write_text_atomic(path, buf.getvalue())


def write_dkvmn(path, students: list[Student]) -> Path:
    """Write students in DKVMN 3-line format (skills written 1-based), atomically."""
    join = lambda a: ",".join(map(str, a.tolist()))  # noqa: E731
    blocks = (f"{len(s.skills)}\n{join(s.skills + 1)}\n{join(s.responses)}\n" for s in students)
    return write_text_atomic(path, "".join(blocks))

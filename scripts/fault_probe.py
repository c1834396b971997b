"""Reliability probe: try fault cases against tiny synthetic runs and say how each one ends.

    PYTHONPATH=. python scripts/fault_probe.py [--out benchmarks/results/fault_probe.md] [--quick]

Every case builds its own fault (a hostile or broken checkpoint, a resume with another config, a
killed writer, driver or worker, a zombie lock owner, a bad data file, a compare of differing runs)
in a temporary folder and checks the outcome:

* ``clear error``: refused before anything is written, with a one-line message that names what is
  wrong (file, line, field; the config fields; ...), and nothing finished was changed;
* ``recovered``: the fault is repaired or survived (resumed, retried, cleaned, run again) and the
  result is complete and correct;
* ``FAILED``: anything else (a crash, a vague message, lost or changed results, code that ran).

It also measures the resume-equality figure: a training run SIGKILLed after its first epoch and
resumed, against the same run uninterrupted (max |difference| of every history.csv column and of
every numeric metrics.json field). ``--quick`` leaves out the cases that start driver processes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import pandas as pd  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

from gainakt import data as kt_data  # noqa: E402
from gainakt.atomic import write_text_atomic  # noqa: E402
from gainakt.pipeline.locks import acquire_lock, lock_is_live, read_lock  # noqa: E402
from gainakt.repro import compare_runs, write_config  # noqa: E402
from gainakt.train import CheckpointError, ResumeConflictError, load_checkpoint, run  # noqa: E402
from gainakt.variants import make_config  # noqa: E402
from fault_fixtures import QUIET, TINY, hostile_checkpoint  # noqa: E402

CASES: list[tuple[str, str, object]] = []      # (class, case, function)


def case(cls: str, name: str):
    def deco(fn):
        CASES.append((cls, name, fn))
        return fn
    return deco


class Ctx:
    """Shared fixtures: one trained tiny run to copy, a scratch folder."""

    def __init__(self, root: Path):
        self.root = root
        self.cfg = make_config("V2", "as_run", **TINY)
        self.data = kt_data.load_dataset("synthetic", seq_len=40, synthetic=TINY["synthetic"])
        self.trained = root / "trained"
        write_config(self.trained, self.cfg)
        run(self.cfg, self.trained, dataset=self.data, **QUIET)
        self._n = 0

    def fresh(self, name: str = "case") -> Path:
        self._n += 1
        return self.root / f"{self._n:03d}-{name}"

    def copy_trained(self) -> Path:
        out = self.fresh("run")
        shutil.copytree(self.trained, out)
        return out


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def expect_error(exc_type, fn, *words):
    """Run fn; it must raise exc_type with every one of `words` in a one-line message."""
    try:
        fn()
    except exc_type as e:
        msg = str(e)
        missing = [w for w in words if w not in msg]
        assert not missing, f"message lacks {missing}: {msg}"
        assert "\n" not in msg.strip(), f"not one line: {msg}"
        return msg
    raise AssertionError(f"no {exc_type.__name__} raised")


# ------------------------------------------------------------------------------ checkpoints
def _hostile(ctx, which):
    out = ctx.copy_trained()
    marker = out / "PWNED"
    hostile_checkpoint(out / "checkpoints" / which, marker)
    return out, marker


@case("checkpoint", "best.pt whose pickle calls os.system, then `gainakt eval`")
def _(ctx):
    from gainakt.cli import main
    out, marker = _hostile(ctx, "best.pt")
    msg = expect_error(CheckpointError, lambda: main(["eval", str(out)]), "best.pt", "refused to load")
    assert not marker.exists(), "the payload ran"
    return "clear error", msg


@case("checkpoint", "last.pt whose pickle calls os.system, then resume")
def _(ctx):
    out, marker = _hostile(ctx, "last.pt")
    before = snapshot(out)
    msg = expect_error(CheckpointError, lambda: run(ctx.cfg, out, dataset=ctx.data, **QUIET),
                       "last.pt", "refused to load")
    assert not marker.exists(), "the payload ran"
    assert snapshot(out) == before, "files changed"
    return "clear error", msg


for _what, _bytes in (("truncated (first 100 bytes)", None), ("empty (0 bytes)", b""),
                      ("random bytes", os.urandom(4096))):
    def _make(what=_what, content=_bytes):
        @case("checkpoint", f"last.pt {what}, then resume")
        def _(ctx):
            out = ctx.copy_trained()
            p = out / "checkpoints" / "last.pt"
            p.write_bytes(p.read_bytes()[:100] if content is None else content)
            msg = expect_error(CheckpointError, lambda: run(ctx.cfg, out, dataset=ctx.data, **QUIET),
                               "last.pt")
            return "clear error", msg
    _make()


@case("checkpoint", "checkpoints load with weights_only=True (tensors and plain data only)")
def _(ctx):
    for n in ("best.pt", "last.pt"):
        torch.load(ctx.trained / "checkpoints" / n, weights_only=True)
    return "recovered", "both load without unpickling code"


# ------------------------------------------------------------------------------ resume
for _field, _value in (("learning_rate", 0.01), ("seed", 7), ("dropout", 0.5), ("batch_size", 8),
                       ("variance_loss_weight", 0.0), ("synthetic", {"n_students": 61, "max_len": 30,
                                                                     "n_skills": 6})):
    def _make(field=_field, value=_value):
        @case("resume", f"train again into a finished run folder with another {field}")
        def _(ctx):
            out = ctx.copy_trained()
            before = snapshot(out)
            other = dataclasses.replace(ctx.cfg, **{field: value})
            msg = expect_error(ResumeConflictError, lambda: run(other, out, dataset=ctx.data, **QUIET), field)
            expect_error(ResumeConflictError, lambda: write_config(out, other), field)
            assert snapshot(out) == before, "files changed"
            return "clear error", msg
    _make()


@case("resume", "training notebook/CLI order: write_config, then run, with four fields changed")
def _(ctx):
    out = ctx.copy_trained()
    other = dataclasses.replace(ctx.cfg, learning_rate=0.01, seed=3, dropout=0.4, weight_decay=0.0)
    msg = expect_error(ResumeConflictError, lambda: write_config(out, other),
                       "learning_rate", "seed", "dropout", "weight_decay")
    rec = json.loads((out / "config.json").read_text())["config"]
    assert rec == ctx.cfg.to_dict(), "config.json changed"
    return "clear error", msg


@case("resume", "config.json deleted, checkpoint of another config left")
def _(ctx):
    out = ctx.copy_trained()
    (out / "config.json").unlink()
    other = dataclasses.replace(ctx.cfg, seed=5)
    msg = expect_error(ResumeConflictError, lambda: write_config(out, other), "seed", "last.pt")
    assert not (out / "config.json").exists(), "config.json written for a run that did not happen"
    return "clear error", msg


@case("resume", "resume with more epochs (training on)")
def _(ctx):
    out = ctx.copy_trained()
    res = run(dataclasses.replace(ctx.cfg, epochs=2), out, dataset=ctx.data, **QUIET)
    assert res["epochs_run"] == 2
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2
    return "recovered", "trained on; config.json says epochs=2"


@case("resume", "ask for a new run in a used folder (resume=False)")
def _(ctx):
    out = ctx.copy_trained()
    other = dataclasses.replace(ctx.cfg, seed=9)
    run(other, out, dataset=ctx.data, resume=False, **QUIET)
    assert json.loads((out / "config.json").read_text())["config"]["seed"] == 9
    assert load_checkpoint(out / "checkpoints" / "last.pt")["config"]["seed"] == 9
    return "recovered", "new run; config.json and checkpoints describe it"


# ------------------------------------------------------------------------------ atomic writes
@case("atomic write", "writer SIGKILLed between writing the temporary file and the rename")
def _(ctx):
    folder = ctx.fresh("atomic")
    folder.mkdir()
    target = folder / "history.csv"
    target.write_text("old\n")
    code = textwrap.dedent(f"""
        import os, signal
        from gainakt import atomic
        def die(*a):
            os.kill(os.getpid(), signal.SIGKILL)
        atomic.os.replace = die
        atomic.write_text_atomic({str(target)!r}, "new\\n" * 100000)
    """)
    subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(REPO)))
    left = list(folder.glob(".history.csv.*.tmp"))
    assert target.read_text() == "old\n", "the target is not the old file"
    assert left, "no temporary file was left (the fault did not happen)"
    write_text_atomic(target, "next\n")
    assert target.read_text() == "next\n" and not list(folder.glob(".history.csv.*.tmp"))
    return "recovered", f"target intact; {len(left)} stale .tmp removed at the next write"


@case("atomic write", "stale .tmp of an interrupted run's metrics.json at the next start")
def _(ctx):
    from gainakt.atomic import clean_stale_tmp
    folder = ctx.fresh("start")
    folder.mkdir()
    (folder / ".metrics.json.p999999-abc.tmp").write_text("{")
    removed = clean_stale_tmp(folder, "metrics.json")     # what execute_run does before a run
    assert removed and not (folder / "metrics.json").exists()
    return "recovered", "removed before the run starts; the run does not look done"


# ------------------------------------------------------------------------------ data files
HEADER = "fold,uid,concepts,responses"
GOOD_TRAIN = HEADER + "\n" + "".join(f'{i % 5},{i},"1,2,3","0,1,1"\n' for i in range(10))
GOOD_TEST = HEADER + ',cidxs\n-1,99,"1,2","1,0","0,1"\n'
DATA_CASES = [  # (case, train_valid.csv, test.csv, file named, words)
    ("non-UTF-8 byte in train_valid.csv", GOOD_TRAIN.encode() + b'1,77,"1,\xff","0"\n', GOOD_TEST,
     "train_valid.csv line 12", "field 'concepts'"),
    ("empty train_valid.csv", b"", GOOD_TEST, "train_valid.csv line 1", "empty file"),
    ("header-only train_valid.csv", HEADER + "\n", GOOD_TEST, "train_valid.csv line 2", "no students"),
    ("header-only test.csv", GOOD_TRAIN, HEADER + ",cidxs\n", "test.csv line 2", "no students"),
    ("test.csv whose students are all shorter than 2", GOOD_TRAIN, HEADER + ',cidxs\n-1,99,"1","1","0"\n',
     "test split", "no window"),
    ("fold 7 in train_valid.csv", GOOD_TRAIN + '7,50,"1,2","0,1"\n', GOOD_TEST, "train_valid.csv line 12",
     "field 'fold'"),
    ("fold 0 in test.csv", GOOD_TRAIN, HEADER + ',cidxs\n0,99,"1,2","1,0","0,1"\n', "test.csv line 2",
     "field 'fold'"),
    ("same uid in two folds", GOOD_TRAIN + '4,3,"1,2","0,1"\n', GOOD_TEST, "train_valid.csv line 12",
     "field 'uid'"),
    ("same uid in train and test", GOOD_TRAIN, HEADER + ',cidxs\n-1,3,"1,2","1,0","0,1"\n', "test.csv line 2",
     "also in the training data"),
    ("missing column", "fold,uid,concepts\n0,1,\"1\"\n", GOOD_TEST, "train_valid.csv line 1",
     "field 'responses'"),
    ("ragged row", GOOD_TRAIN + '1,60,"1,2"\n', GOOD_TEST, "train_valid.csv line 12", "field 'row'"),
    ("non-integer skill", GOOD_TRAIN + '1,60,"1,x","0,1"\n', GOOD_TEST, "train_valid.csv line 12",
     "is not an integer"),
    ("skill out of range", GOOD_TRAIN + '1,60,"1,100","0,1"\n', GOOD_TEST, "train_valid.csv line 12",
     "out of range"),
    ("response 2", GOOD_TRAIN + '1,60,"1,2","0,2"\n', GOOD_TEST, "train_valid.csv line 12", "not 0 or 1"),
    ("lengths differ", GOOD_TRAIN + '1,60,"1,2,3","0,1"\n', GOOD_TEST, "train_valid.csv line 12",
     "field 'responses'"),
]


for _name, _train, _test, _where, _words in DATA_CASES:
    def _make(name=_name, train=_train, test=_test, where=_where, words=_words):
        @case("data", f"assist2015 (pyKT): {name}")
        def _(ctx):
            d = ctx.fresh("data")
            (d / "assist2015").mkdir(parents=True)
            for f, content in (("train_valid.csv", train), ("test.csv", test)):
                (d / "assist2015" / f).write_bytes(content if isinstance(content, bytes) else content.encode())
            out = ctx.fresh("out")
            cfg = dataclasses.replace(ctx.cfg, dataset="assist2015", data_dir=str(d))
            msg = expect_error(ValueError, lambda: run(cfg, out, **QUIET), where, words)
            assert not (out / "history.csv").exists(), "training started"
            return "clear error", msg
    _make()


DKVMN_CASES = [
    ("non-UTF-8 byte", b"2\n1,2\n0,\xc31\n", "line 3", "field 'responses'"),
    ("empty file", b"", "line 1", "empty file"),
    ("incomplete block", b"2\n1,2\n0,1\n2\n1,2\n", "line 4", "field 'block'"),
    ("count disagrees", b"3\n1,2\n0,1\n", "line 1", "field 'count'"),
]
for _name, _bytes, _where, _words in DKVMN_CASES:
    def _make(name=_name, content=_bytes, where=_where, words=_words):
        @case("data", f"statics2011 (DKVMN): {name} in STATICS_test.csv")
        def _(ctx):
            d = ctx.fresh("data")
            (d / "statics2011").mkdir(parents=True)
            (d / "statics2011" / "STATICS_train.csv").write_text("3\n1,2,3\n0,1,1\n" * 10)
            (d / "statics2011" / "STATICS_test.csv").write_bytes(content)
            out = ctx.fresh("out")
            cfg = dataclasses.replace(ctx.cfg, dataset="statics2011", data_dir=str(d))
            msg = expect_error(ValueError, lambda: run(cfg, out, **QUIET), "STATICS_test.csv " + where, words)
            assert not (out / "history.csv").exists(), "training started"
            return "clear error", msg
    _make()


# ------------------------------------------------------------------------------ compare
def _compare_case(ctx, edit_metrics=None, edit_history=None, drop_metrics=False):
    b = ctx.copy_trained()
    if edit_metrics:
        m = json.loads((b / "metrics.json").read_text())
        edit_metrics(m)
        (b / "metrics.json").write_text(json.dumps(m))
    if edit_history:
        h = pd.read_csv(b / "history.csv")
        edit_history(h)
        h.to_csv(b / "history.csv", index=False)
    if drop_metrics:
        (b / "metrics.json").unlink()
    return b


@case("compare", "re-run whose metrics.json differs (test AUC 0.5)")
def _(ctx):
    b = _compare_case(ctx, edit_metrics=lambda m: m["test"].update(enc1_auc=0.5))
    _, met, ok = compare_runs(ctx.trained, b)
    assert not ok and list(met.field[met.status == "outside"]) == ["test.enc1_auc"]
    return "clear error", "mismatch: test.enc1_auc outside the tolerance"


@case("compare", "re-run whose metrics.json lacks a field")
def _(ctx):
    b = _compare_case(ctx, edit_metrics=lambda m: m["valid"].pop("enc2_auc"))
    _, met, ok = compare_runs(ctx.trained, b)
    assert not ok and list(met.field[met.status == "missing"]) == ["valid.enc2_auc"]
    return "clear error", "mismatch: valid.enc2_auc missing"


@case("compare", "re-run whose epoch column differs")
def _(ctx):
    b = _compare_case(ctx, edit_history=lambda h: h.__setitem__("epoch", h["epoch"] + 1))
    hist, _, ok = compare_runs(ctx.trained, b)
    assert not ok and "epoch" in set(hist.column[hist.status == "outside"])
    return "clear error", "mismatch: epoch"


@case("compare", "one run unfinished (no metrics.json)")
def _(ctx):
    b = _compare_case(ctx, drop_metrics=True)
    msg = expect_error(ValueError, lambda: compare_runs(ctx.trained, b), "only one run is finished")
    return "clear error", msg


# ------------------------------------------------------------------------------ locks and drivers
def _dead_lock(ctx, zombie: bool):
    folder = ctx.fresh("lock")
    folder.mkdir()
    lock = folder / ".seed0.lock"
    code = (f"from pathlib import Path; from gainakt.pipeline.locks import acquire_lock; import os, signal;"
            f"acquire_lock(Path({str(lock)!r}), key='x'); os.kill(os.getpid(), signal.SIGKILL)")
    p = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(REPO)))
    if zombie:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{p.pid}/stat").read_text().split(") ")[1][0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.02)
    else:
        p.wait()
    try:
        info = read_lock(lock)
        assert info and info["age_s"] < 60, "no fresh lock"
        assert not lock_is_live(info), "a dead owner's lock counts as live"
        assert acquire_lock(lock, key="y") is not None, "could not take the stale lock over"
    finally:
        p.wait()
    return "recovered", "stale; taken over"


@case("locks", "lock whose owner is a zombie (kill 0 succeeds)")
def _(ctx):
    return _dead_lock(ctx, zombie=True)


@case("locks", "lock whose owner died and was reaped")
def _(ctx):
    return _dead_lock(ctx, zombie=False)


@case("locks", "lock naming a live pid that is another process (pid reused)")
def _(ctx):
    folder = ctx.fresh("lock")
    folder.mkdir()
    held = acquire_lock(folder / ".seed0.lock", key="x")
    info = read_lock(folder / ".seed0.lock")
    assert lock_is_live(info) and not lock_is_live({**info, "pid_start": (info["pid_start"] or 0) + 1})
    held.release()
    return "recovered", "stale (start time differs)"


def _driver_root(ctx, sleep_s):
    from gainakt.pipeline.matrix import expand
    from run_fixtures import TINY as FIXTURE
    root = ctx.fresh("drivers")
    (root / "notebooks").mkdir(parents=True)
    m = {"validate": False, "defaults": {"notebook": str(FIXTURE), "dataset": "synthetic", "epochs": 2,
                                         "seeds": [0], "overrides": {"sleep_s": sleep_s}},
         "runs": [{"variant": "V1", "flavour": "as_run", "label": "t"}]}
    (root / "experiments.yml").write_text(json.dumps(m))
    return root, expand(m)[0]


def _driver(root, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "gainakt.book", "run", "--repo-root", str(root),
                             "--workers", "1", "--quiet"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _wait(cond, timeout):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@case("drivers", "two drivers: B planned, A finished the run, then B executes")
def _(ctx):
    root, r = _driver_root(ctx, 0.2)
    gate = root / "gate"
    gate.touch()
    b = _driver(root, {"GAINAKT_FAULT_PAUSE_AFTER_PLAN": str(gate)})
    try:
        _wait(lambda: Path(str(gate) + ".planned").exists(), 60)
        assert _driver(root).wait(120) == 0
        before = r.metrics_path(root).read_bytes()
        gate.unlink()
        assert b.wait(120) == 0
    finally:
        if b.poll() is None:
            os.killpg(b.pid, signal.SIGKILL)
    assert r.metrics_path(root).read_bytes() == before, "the finished result changed"
    runs = [json.loads(p.read_text())["runs"][0] for p in sorted((root / "results/_driver").glob("summary-*"))]
    assert [x["status"] for x in runs] == ["skipped", "done"], runs
    return "recovered", "executed once; B: skipped, done (finished by another driver)"


@case("drivers", "driver SIGKILLed mid-run, then restarted")
def _(ctx):
    from gainakt.pipeline.locks import process_alive
    from gainakt.pipeline.selection import run_state
    root, r = _driver_root(ctx, 60.0)
    d = _driver(root)
    try:
        _wait(lambda: (read_lock(r.lock_path(root)) or {}).get("pid") is not None, 90)
        worker = read_lock(r.lock_path(root))["pid"]
        os.kill(d.pid, signal.SIGKILL)
        d.wait(10)
        t0 = time.monotonic()
        _wait(lambda: not process_alive(worker), 15)
        gone = time.monotonic() - t0
        assert _driver_with_fast_run(root) == 0
        assert run_state(r, root) == "done"
    finally:
        if d.poll() is None:
            os.killpg(d.pid, signal.SIGKILL)
    return "recovered", f"pool worker ended {gone:.1f} s after the driver; the restart ran the run"


def _driver_with_fast_run(root):
    m = json.loads((root / "experiments.yml").read_text())
    m["defaults"]["overrides"]["sleep_s"] = 0.2      # the same run key, quicker this time
    (root / "experiments.yml").write_text(json.dumps(m))
    return _driver(root).wait(180)


@case("drivers", "pool worker SIGKILLed mid-run (fault injection)")
def _(ctx):
    from gainakt.pipeline.selection import run_state
    root, r = _driver_root(ctx, 0.2)
    kill = root / "kill-me"
    kill.write_text(r.key)
    assert _driver(root, {"GAINAKT_FAULT_KILL": str(kill)}).wait(180) == 0
    s = json.loads(next((root / "results/_driver").glob("summary-*")).read_text())["runs"][0]
    assert s["status"] == "done" and s["attempt"] == 2 and run_state(r, root) == "done"
    return "recovered", "retried: attempt 2 done"


# ------------------------------------------------------------------------------ resume equality
def resume_equality(root: Path) -> dict:
    """SIGKILL a training process after its first checkpoint, resume it, and compare with the same
    run done in one go."""
    cfg = make_config("V4", "as_run", **{**TINY, "epochs": 4,
                                         "synthetic": {"n_students": 200, "max_len": 50, "n_skills": 6}})
    a, b = root / "interrupted", root / "straight"
    code = textwrap.dedent(f"""
        import torch; torch.set_num_threads(1)
        from pathlib import Path
        from gainakt.config import Config
        from gainakt.repro import write_config
        from gainakt.train import run
        cfg = Config.from_json({cfg.to_json()!r})
        write_config(Path({str(a)!r}), cfg)
        run(cfg, Path({str(a)!r}), log=lambda *_: None)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(REPO)))
    last = a / "checkpoints" / "last.pt"
    killed_after = None
    while p.poll() is None:
        if last.exists():
            try:
                killed_after = load_checkpoint(last)["epoch"]
            except CheckpointError:
                time.sleep(0.01)       # being replaced: read again
                continue
            os.kill(p.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    p.wait()
    assert killed_after is not None, "the training ended before it could be killed"
    assert not (a / "metrics.json").exists()
    logs = []
    run(cfg, a, log=logs.append)                                  # resume
    write_config(b, cfg)
    run(cfg, b, **QUIET)
    hist, met, ok = compare_runs(a, b, tolerance=0.0)
    return {"killed_after_epoch": killed_after, "resumed": next((s for s in logs if "resumed" in s), ""),
            "history_columns": len(hist), "history_max_abs_diff": float(hist.max_abs_diff.max()),
            "metrics_fields": len(met), "metrics_max_abs_diff": float(met.abs_diff.max()), "identical": ok,
            "epochs": int(pd.read_csv(a / "history.csv")["epoch"].max())}


# ------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="also write the report (markdown) here")
    ap.add_argument("--quick", action="store_true", help="leave out the cases that start driver processes")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fault_probe_") as tmp:
        ctx = Ctx(Path(tmp))
        for cls, name, fn in CASES:
            if args.quick and cls == "drivers":
                continue
            t = time.monotonic()
            try:
                outcome, detail = fn(ctx)
            except Exception as e:  # noqa: BLE001 - every case ends in the table
                outcome = "FAILED"
                detail = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                traceback.print_exc(file=sys.stderr)
            detail = detail.replace(tmp, "<tmp>").replace("|", "/")
            rows.append({"class": cls, "case": name, "outcome": outcome, "detail": detail[:200],
                         "seconds": round(time.monotonic() - t, 1)})
            print(f"{outcome:<12} {cls:<12} {name}", file=sys.stderr, flush=True)
        eq = resume_equality(Path(tmp))
    table = pd.DataFrame(rows)
    counts = table.groupby(["class", "outcome"]).size().unstack(fill_value=0)
    lines = ["# Fault probe", "",
             f"`PYTHONPATH=. python scripts/fault_probe.py{' --quick' if args.quick else ''}`: "
             f"{len(table)} fault cases, {time.monotonic() - t0:.0f} s "
             f"(torch {torch.__version__}, Python {sys.version.split()[0]}).", "",
             "## Outcomes by class", "", counts.to_markdown(), "",
             f"Totals: {table.outcome.value_counts().to_dict()}", "",
             "## Resume equality", "",
             f"A V4 as_run training of {eq['epochs']} epochs, SIGKILLed after epoch {eq['killed_after_epoch']} "
             f"and resumed ({eq['resumed']!r}), against the same run uninterrupted: max |difference| over "
             f"{eq['history_columns']} history.csv columns (epoch included, the wall and CPU clocks excluded) = "
             f"{eq['history_max_abs_diff']:g}; over {eq['metrics_fields']} numeric metrics.json fields = "
             f"{eq['metrics_max_abs_diff']:g}; identical: {eq['identical']}.", "",
             "## Cases", "", table.drop(columns="seconds").to_markdown(index=False), ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_text_atomic(args.out, text)
    return 0 if (table.outcome != "FAILED").all() and eq["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())

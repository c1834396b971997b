"""Atomic file writes: write to a temporary file in the same folder, then ``os.replace``.

A reader (or a driver deciding whether a run is done) sees either the old file or the complete
new one, never half of it, even if the writer is killed. The temporary names all start with
``.<name>.`` and end with ``.tmp`` so that :func:`clean_stale_tmp` can remove what a killed
writer left behind.

- :func:`write_text_atomic` / :func:`write_bytes_atomic` / :func:`write_json_atomic` for files;
- :func:`atomic_dir`, a context manager that yields a temporary folder and renames it into place
  only if the ``with`` block finished without an exception.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

__all__ = ["write_text_atomic", "write_bytes_atomic", "write_json_atomic", "atomic_dir",
           "clean_stale_tmp", "remove_stale_tmp"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (best effort; not every filesystem supports it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


STALE_TMP_AGE_S = 600.0   # a temporary file without a writer's pid in its name is stale after this


def _tmp_is_stale(p: Path) -> bool:
    """A temporary file of this module is stale if its writer (the pid in its name) is gone, or,
    without a pid, if it is older than STALE_TMP_AGE_S. Our own process's files are never stale
    (an interrupted write of ours removes its file itself)."""
    from .pipeline.locks import process_alive
    m = re.search(r"\.p(\d+)-[^.]*\.tmp$", p.name)
    if m:
        pid = int(m.group(1))
        return pid != os.getpid() and not process_alive(pid)
    try:
        return time.time() - p.stat().st_mtime > STALE_TMP_AGE_S
    except FileNotFoundError:
        return False


def remove_stale_tmp(path) -> list[Path]:
    """Remove the temporary files that interrupted writes of ``path`` left (see `_tmp_is_stale`)."""
    path = Path(path)
    removed = []
    for p in path.parent.glob(f".{path.name}.*.tmp"):
        if p.is_file() and _tmp_is_stale(p):
            with suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (creating parent folders); return the path. Temporary
    files that interrupted (killed) writes of ``path`` left behind are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(path)
    # the writer's pid in the name: a later write can tell a dead writer's file from a live one's
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.p{os.getpid()}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would have (shared clusters).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (creating parent folders); return the path."""
    return write_bytes_atomic(path, text.encode(encoding))


def write_json_atomic(path, obj, **dumps_kwargs) -> Path:
    """Write ``obj`` as JSON (indent 2, sorted keys, numpy scalars via float) atomically."""
    kw = dict(indent=2, sort_keys=True, default=float)
    kw.update(dumps_kwargs)
    return write_text_atomic(path, json.dumps(obj, **kw) + "\n")


@contextmanager
def atomic_dir(path, *, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it to ``path`` on success.

    ::

        with atomic_dir("results/x") as tmp:
            (tmp / "a.csv").write_text(...)
        # results/x now exists with everything in it, or not at all

    On an exception the temporary folder is removed and ``path`` is left untouched. If ``path``
    exists: ``FileExistsError`` unless ``overwrite=True``, in which case the old folder is moved
    aside, the new one renamed into place and the old one deleted (``path`` is missing for the
    instant between the two renames; readers never see a mixture of old and new files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists (pass overwrite=True to replace it)")
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        if path.exists():
            if not overwrite:
                raise FileExistsError(f"{path} appeared while it was being built")
            old = path.with_name(f".{path.name}.{secrets.token_hex(4)}.old.tmp")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)


def clean_stale_tmp(folder, name: str) -> list[Path]:
    """Delete temporary files a killed writer of ``folder/name`` left behind; return them.

    Matches this module's ``.<name>.*.tmp`` as well as the plain ``<name>.tmp`` and
    ``<name>.*.tmp`` that hand-written atomic writers tend to use.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for pattern in (f".{name}.*.tmp", f"{name}.tmp", f"{name}.*.tmp"):
        for p in folder.glob(pattern):
            try:
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
                removed.append(p)
            except FileNotFoundError:
                pass
    return removed

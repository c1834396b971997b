"""Lock files that say a run is in flight: who holds it, and a heartbeat that tells live from stale.

A lock is a small JSON file (key, host, pid, worker, attempt, start time, token) created with
O_EXCL and touched every ``LOCK_HEARTBEAT_S`` seconds while its holder works. It is *live* while
the heartbeat is recent and, on this host, its process exists; otherwise it is stale (left by a
killed process, or by a zombie: a process that died but was not reaped yet) and may be taken
over.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path

LOCK_STALE_AFTER_S = 180.0   # a lock whose heartbeat is older than this is stale
LOCK_HEARTBEAT_S = 30.0


def read_lock(path) -> dict | None:
    """The lock's JSON plus ``age_s`` (seconds since the last heartbeat); None if there is none."""
    try:
        text = Path(path).read_text()
        st = Path(path).stat()
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        info = {}
    info["age_s"] = time.time() - st.st_mtime
    return info


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first); None without /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return []          # /proc exists but the process does not
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart); None if unknown."""
    f = _proc_stat(pid) if Path("/proc/self/stat").exists() else None
    return int(f[19]) if f and len(f) > 19 else None


def process_alive(pid: int, start: int | None = None) -> bool:
    """True if process ``pid`` runs on this host: it exists, is not a zombie (``kill 0`` succeeds
    on a zombie) and, when ``start`` is given, is the same process (not a reused pid)."""
    if Path("/proc/self/stat").exists():
        f = _proc_stat(pid)
        if f is not None:
            if not f or f[0] in ("Z", "X", "x"):
                return False
            return start is None or len(f) <= 19 or int(f[19]) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_is_live(info: dict | None) -> bool:
    """A lock is live if its heartbeat is recent and, on this host, its process is alive (not a
    zombie, not a reused pid)."""
    if info is None or info.get("age_s", 1e9) > LOCK_STALE_AFTER_S:
        return False
    if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
        return process_alive(info["pid"], info.get("pid_start"))
    return True


class HeldLock:
    """A lock this process holds; a daemon thread touches the file (heartbeat) until `release`."""

    def __init__(self, path: Path, info: dict):
        self.path, self.info = path, info
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self):
        while not self._stop.wait(LOCK_HEARTBEAT_S):
            with suppress(OSError):
                os.utime(self.path)

    def release(self):
        self._stop.set()
        cur = read_lock(self.path)
        if cur and cur.get("token") == self.info["token"]:
            with suppress(FileNotFoundError):
                self.path.unlink()


def acquire_lock(path: Path, **info) -> HeldLock | None:
    """Create the lock at `path` (taking over a stale one); None while someone else holds it live.

    `info` (e.g. key, worker, attempt) is written with host, pid, start time and a token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {**info, "host": socket.gethostname(), "pid": os.getpid(), "pid_start": process_start(os.getpid()),
            "started": datetime.now().isoformat(timespec="seconds"), "token": secrets.token_hex(8)}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if lock_is_live(read_lock(path)):
                return None
            with suppress(FileNotFoundError):   # stale: left by a killed process
                path.unlink()
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        return HeldLock(path, info)
    return None


def break_lock(path) -> None:
    """Remove a lock (the driver does this after the worker that held it died)."""
    with suppress(FileNotFoundError):
        Path(path).unlink()

"""The browser side of the book check: a local HTTP server that serves a built book with the page
probe (probe.js) injected after <head>, and headless Chromium runs against it (DOM dump with the
probe's report, screenshot). Standard library and Debian's chromium CLI only. check_book.py judges
what comes back.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

WIDTH = 1280   # window width in px: the page must fit it (check_book judges overflow at this width)
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    # Offline for real: any host but the local server fails to resolve, so a
    # page that still needs a CDN fails here even on a machine with internet.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
# Injected right after <head>: records JS errors from the start, then keeps
# writing its measurements into an attribute of <html> (virtual time runs the
# interval; the last value is what --dump-dom sees). The script is probe.js beside this file, minus its
# first line (a comment for readers of the .js file).
PROBE_JS = "\n<script>\n" + Path(__file__).with_name("probe.js").read_text().split("\n", 1)[1] + "</script>\n"


# ---------------------------------------------------------------- server
class _Handler(SimpleHTTPRequestHandler):
    log_list: list  # set per server

    def log_message(self, fmt, *args):  # quiet; keep a record instead
        pass

    def log_request(self, code="-", size="-"):
        self.log_list.append((urlsplit(self.path).path, int(code) if str(code).isdigit() else code))

    def send_head(self):
        path = self.translate_path(self.path)
        if path.endswith(".html") and os.path.isfile(path):
            body = Path(path).read_bytes()
            body = body.replace(b"<head>", b"<head>" + PROBE_JS.encode(), 1)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()


class BookServer:
    """`python -m http.server` in a thread, on an ephemeral loopback port."""

    def __init__(self, root: Path):
        self.requests: list[tuple[str, object]] = []
        handler = type("Handler", (_Handler,), {"log_list": self.requests})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- chromium
def find_chromium(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit if Path(explicit).exists() or shutil.which(explicit) else None
    if os.environ.get("CHROMIUM"):
        return find_chromium(os.environ["CHROMIUM"])
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in CHROMIUM_CANDIDATES:
        if shutil.which(name):
            return shutil.which(name)
    return None


def run_chromium(chromium: str, url: str, *, screenshot: Path | None, height: int,
                 budget_ms: int, dump_dom: bool, timeout: float) -> str:
    """One headless Chromium run; returns the DOM (empty when dump_dom=False)."""
    with tempfile.TemporaryDirectory(prefix="book-check-chromium-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--window-size={WIDTH},{height}", f"--virtual-time-budget={budget_ms}"]
        if dump_dom:
            cmd.append("--dump-dom")
        if screenshot is not None:
            cmd.append(f"--screenshot={screenshot}")
        cmd.append(url)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"chromium exited {proc.returncode} on {url}:\n{tail}")
        return proc.stdout


def read_report(dom: str) -> dict | None:
    m = re.search(r'<html[^>]*\sdata-book-check="([^"]*)"', dom)
    return json.loads(html.unescape(m.group(1))) if m else None

#!/usr/bin/env python3
"""Open the built book in headless Chromium and check that it renders offline.

For every chapter page that has notebook figures, ipywidgets or math, a fixed
sample of the run pages (book/runs/: the first and the last per dataset and
template; --run-pages all opens every one), or the pages given with --pages, it
checks, after the page's JavaScript ran:
  - every image in the article loaded (img.complete and naturalWidth > 0);
  - every saved widget view was rendered by the vendored widget manager
    (a `.jupyter-widgets` element next to each widget-view script);
  - every math element was typeset by MathJax (no raw TeX left, no merror);
  - no page asset (_static/, _images/) answered 404 and nothing was loaded
    from another host (all other hosts are unresolvable for this Chromium).
and saves a screenshot to _build/screenshots/<page>.png.

It uses only the standard library and Debian's chromium CLI (`--dump-dom`,
`--screenshot`, `--virtual-time-budget`). The local HTTP server adds one small
script to each HTML page it serves; that script writes what it measures into
the <html data-book-check="..."> attribute, which --dump-dom then returns.

With --click PAGE it also opens PAGE with the fragment #book-check-click: the probe clicks the
first inactive toggle button of the page once its widgets rendered (front-end links only, no
kernel), and the check fails unless the figures shown change; that screenshot, taken after the
click, is <out>/<page>__click.png.

It also fails a page that overflows horizontally at 1280 px: the page wider than the window, or an
article element past the column's right edge that is not inside its own horizontal scroll box.

Exit codes: 0 all pages pass (or BROWSER_CHECK=0: skipped), 1 a check failed or Chromium is
missing, 2 usage error (no build, no pages to check).
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from headless import WIDTH, BookServer, find_chromium, read_report, run_chromium  # beside this file

# Harmless errors of the JB1 theme stack: sphinx-thebe's inline config script is
# emitted twice on every page (`const THEBE_JS_URL` redeclared); thebe is unused.
# html-manager 1.0.6 typesets widget labels with the MathJax 2 API
# (MathJax.Hub.Queue), absent in MathJax 3: only math inside widget labels is lost.
KNOWN_JS_ERRORS = ("'THEBE_JS_URL' has already been declared", "reading 'Queue'")
HEIGHT, MAX_HEIGHT = 1600, 12000
SKIP_PAGES = {"genindex.html", "search.html", "index.html"}

# ---------------------------------------------------------------- static scan
@dataclass
class Expect:
    """What a page should show, read from its static HTML."""

    images: int = 0
    widget_views: int = 0
    math: int = 0

    @property
    def interesting(self) -> bool:
        return bool(self.images or self.widget_views or self.math)


def expectations(page_html: str) -> Expect:
    """Count output images, widget views and math in a built page."""
    article = page_html
    m = re.search(r"<article[^>]*bd-article.*?</article>", page_html, re.S)
    if m:
        article = m.group(0)
    return Expect(
        images=len(re.findall(r"<img\b", article)),
        widget_views=len(re.findall(r'type="application/vnd\.jupyter\.widget-view\+json"', article)),
        math=len(re.findall(r'class="math\b', article)),
    )


def discover_pages(build: Path) -> list[str]:
    """Pages with figures, widgets or math, as paths relative to the build."""
    pages = []
    for p in sorted(build.rglob("*.html")):
        rel = p.relative_to(build).as_posix()
        if rel.startswith(("_static/", "_sources/", "_images/")) or rel in SKIP_PAGES:
            continue
        if expectations(p.read_text(encoding="utf-8", errors="replace")).interesting:
            pages.append(rel)
    return pages


RUN_PAGES = "book/runs/"


def sample_run_pages(pages: list[str], per_group: int = 2) -> tuple[list[str], int]:
    """Keep every chapter page and a fixed sample of the run pages.

    The run pages (book/runs/<dataset>/<name>.html, one per trained run) come from two templates
    (the GainAKT notebook and the baseline notebook) and grow with the matrix, several hundred in
    the end at about 8 s each. Per dataset folder and template (a name with '-baseline-' or not) the
    first and the last in sorted order are checked (`per_group`, evenly spaced when larger): the
    same pages on every run, so a failure reproduces. Returns (pages kept, run pages left out)."""
    groups: dict[tuple[str, bool], list[str]] = {}
    kept = []
    for p in pages:
        if not p.startswith(RUN_PAGES):
            kept.append(p)
            continue
        folder = p[len(RUN_PAGES):].rpartition("/")[0]
        groups.setdefault((folder, "-baseline-" in p.rpartition("/")[2]), []).append(p)
    left_out = 0
    for key in sorted(groups):
        g = sorted(groups[key])
        if len(g) <= per_group:
            pick = g
        else:
            step = (len(g) - 1) / (per_group - 1) if per_group > 1 else 0
            pick = sorted({g[int(i * step + 0.5)] for i in range(per_group)})
        kept.extend(pick)
        left_out += len(g) - len(pick)
    return kept, left_out


# ---------------------------------------------------------------- checking
@dataclass
class PageResult:
    page: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def judge(expect: Expect, report: dict | None, requests: list[tuple[str, object]]) -> tuple[list[str], list[str]]:
    """Turn a page's measurements into (problems, notes). Pure: unit-tested."""
    if report is None:
        return ["the page's JavaScript did not run (no data-book-check attribute in the DOM)"], []
    problems, notes = [], []
    bad = [i["src"] for i in report["images"] if not i["ok"]]
    if bad:
        problems.append(f"{len(bad)} of {len(report['images'])} images did not load: {bad[:5]}")
    if len(report["images"]) < expect.images:
        problems.append(f"expected {expect.images} images, found {len(report['images'])}")
    if expect.widget_views and report["widgetsRendered"] < expect.widget_views:
        problems.append(
            f"{report['widgetsRendered']} of {expect.widget_views} widgets rendered "
            "(widget manager scripts missing or failing; see book/_assets and nb_ipywidgets_js)")
    if report["mathUnrendered"] or report["mathErrors"]:
        problems.append(f"math not typeset: {report['mathUnrendered']} raw of {report['math']}, "
                        f"{report['mathErrors']} MathJax errors")
    if report.get("pageOverflow", 0) > 1:
        problems.append(f"the page overflows horizontally by {report['pageOverflow']} px at {WIDTH} px width")
    if report.get("mathWide"):
        problems.append(f"{report['mathWide']} display equation(s) wider than the page column (cut off): "
                        "break them over lines (aligned)")
    if report.get("imagesSqueezed"):
        notes.append(f"{report['imagesSqueezed']} figure(s) shown below 75% of their drawn width (small labels): "
                     "draw them for the column (gainakt/plots.py WIDTH)")
    if report.get("overflowing"):
        problems.append("content wider than the page column, neither fitted nor in a scroll box: "
                        f"{report['overflowing'][:5]}")
    if report["external"]:
        problems.append(f"requests to other hosts (not offline): {report['external'][:5]}")
    missing = sorted({p for p, code in requests if code == 404 and p.startswith(("/_static/", "/_images/"))})
    if missing:
        problems.append(f"404 for book assets: {missing[:5]}")
    other404 = sorted({p for p, code in requests if code == 404} - set(missing))
    if other404:
        notes.append(f"ignored 404s (icon fonts of the widget manager, favicon): {len(other404)}")
    errors = [e for e in report["errors"] if not any(k in e for k in KNOWN_JS_ERRORS)]
    if errors:
        notes.append(f"JavaScript errors: {errors[:3]}")
    return problems, notes


def screenshot_name(page: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "__", page.removesuffix(".html")) + ".png"


def check_page(chromium: str, server: BookServer, build: Path, page: str, shots: Path,
               budget_ms: int, timeout: float) -> PageResult:
    res = PageResult(page)
    expect = expectations((build / page).read_text(encoding="utf-8", errors="replace"))
    shot = shots / screenshot_name(page)
    start = len(server.requests)
    dom = run_chromium(chromium, server.base + page, screenshot=shot, height=HEIGHT,
                       budget_ms=budget_ms, dump_dom=True, timeout=timeout)
    report = read_report(dom)
    res.problems, res.notes = judge(expect, report, server.requests[start:])
    if report and report.get("height", 0) > HEIGHT:  # retake the screenshot at full height
        run_chromium(chromium, server.base + page, screenshot=shot,
                     height=min(int(report["height"]) + 40, MAX_HEIGHT),
                     budget_ms=budget_ms, dump_dom=False, timeout=timeout)
    res.screenshot = shot if shot.exists() else None
    if res.screenshot is None:
        res.problems.append("no screenshot was written")
    if report:
        res.notes.insert(0, f"{len(report['images'])} images, {report['widgetsRendered']}/"
                            f"{expect.widget_views} widgets, {report['math']} math")
    return res


def judge_click(report: dict | None) -> list[str]:
    """Problems of a click check (see PROBE_JS): no toggle button, or the visible figures unchanged."""
    click = (report or {}).get("click")
    if not click:
        return ["click check: the widgets never all rendered, so nothing was clicked"]
    if not click.get("target"):
        return ["click check: no inactive toggle button (.widget-toggle-buttons) on the page"]
    if not click.get("after"):
        return [f"click check: no figure visible after clicking {click['target']!r}"]
    if click["after"] == click["before"]:
        return [f"click check: the visible figures did not change after clicking {click['target']!r}"]
    return []


def check_click(chromium: str, server: BookServer, page: str, shots: Path, budget_ms: int,
                timeout: float) -> PageResult:
    """Open `page` with #book-check-click: a toggle button is clicked in the page and the visible
    figures must change; the screenshot (taken after the click) goes to <shots>/<page>__click.png."""
    res = PageResult(page + " (click)")
    shot = shots / screenshot_name(page).replace(".png", "__click.png")
    dom = run_chromium(chromium, server.base + page + "#book-check-click", screenshot=shot, height=HEIGHT,
                       budget_ms=budget_ms, dump_dom=True, timeout=timeout)
    report = read_report(dom)
    res.problems = judge_click(report)
    if report and report.get("height", 0) > HEIGHT:  # the whole page, after the same click
        run_chromium(chromium, server.base + page + "#book-check-click", screenshot=shot,
                     height=min(int(report["height"]) + 40, MAX_HEIGHT), budget_ms=budget_ms,
                     dump_dom=False, timeout=timeout)
    res.screenshot = shot if shot.exists() else None
    if res.screenshot is None:
        res.problems.append("no screenshot was written")
    if report and report.get("click"):
        c = report["click"]
        res.notes.append(f"clicked {c.get('target')!r}: {len(c.get('before') or [])} figure(s) shown before, "
                         f"{len(c.get('after') or [])} after, changed: {c.get('after') != c.get('before')}")
    return res



def _report(res: "PageResult", t0: float) -> None:
    """One line per checked page (with its screenshot), then its notes and problems."""
    print(f"[{'FAIL' if res.problems else 'ok'}] {res.page} ({time.monotonic() - t0:.1f}s)"
          + (f" -> {res.screenshot}" if res.screenshot else ""))
    for note in res.notes:
        print(f"       {note}")
    for prob in res.problems:
        print(f"       PROBLEM: {prob}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Check the built book in headless Chromium.")
    ap.add_argument("--build", default="_build/html", help="built HTML folder (default: %(default)s)")
    ap.add_argument("--out", default="_build/screenshots", help="screenshot folder (default: %(default)s)")
    ap.add_argument("--pages", nargs="*", help="pages relative to --build (default: every page "
                    "with figures, widgets or math)")
    ap.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                    help="skip discovered pages matching this shell pattern, e.g. 'book/runs/*' (repeatable)")
    ap.add_argument("--run-pages", default="sample", metavar="sample|all|N",
                    help="run pages (book/runs/): 'sample' (default) checks the first and the last per "
                         "dataset and template, N that many evenly spaced, 'all' every one")
    ap.add_argument("--require-widgets", type=int, default=1, metavar="N",
                    help="fail unless at least N checked pages carry widgets (default: %(default)s)")
    ap.add_argument("--require-images", type=int, default=1, metavar="N",
                    help="fail unless at least N checked pages carry figures (default: %(default)s)")
    ap.add_argument("--click", action="append", default=[], metavar="PAGE",
                    help="also click a toggle button on PAGE (relative to --build) and require the "
                         "shown figure to change; screenshot <out>/<page>__click.png (repeatable)")
    ap.add_argument("--chromium", help="browser binary (default: $CHROMIUM or /usr/bin/chromium)")
    ap.add_argument("--budget-ms", type=int, default=20000, help="virtual time per page")
    ap.add_argument("--timeout", type=float, default=120, help="wall-clock seconds per Chromium run")
    args = ap.parse_args(argv)

    if os.environ.get("BROWSER_CHECK") == "0":
        print("browser check: SKIPPED (BROWSER_CHECK=0)")
        return 0
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("browser check: FAILED to start: Chromium not found. Install it (scripts/ensure_chromium.sh, "
              "i.e. apt-get install chromium, or set CHROMIUM=/path), or skip explicitly with BROWSER_CHECK=0.",
              file=sys.stderr)
        return 1

    build = Path(args.build)
    if not (build / "index.html").exists() and not args.pages:
        print(f"browser check: no built book in {build} (run `make book` first)", file=sys.stderr)
        return 2
    pages = args.pages if args.pages else discover_pages(build)
    pages = [p for p in pages if not any(fnmatch.fnmatch(p, pat) for pat in args.exclude)]
    if args.run_pages != "all" and not args.pages:
        if args.run_pages != "sample" and not (args.run_pages.isdigit() and int(args.run_pages) > 0):
            print(f"browser check: --run-pages {args.run_pages!r}: allowed: sample, all, or a positive "
                  "number", file=sys.stderr)
            return 2
        n_runs = sum(p.startswith(RUN_PAGES) for p in pages)
        pages, left_out = sample_run_pages(pages, 2 if args.run_pages == "sample" else int(args.run_pages))
        print(f"browser check: run pages: {n_runs - left_out} of {n_runs} checked (first and last per "
              "dataset and template; --run-pages all checks every one)")
    if not pages and not args.click:
        print(f"browser check: no page with figures, widgets or math under {build}", file=sys.stderr)
        return 2
    shots = Path(args.out)
    shots.mkdir(parents=True, exist_ok=True)

    results: list[PageResult] = []
    clicks: list[PageResult] = []
    with BookServer(build) as server:
        for page in pages:
            t0 = time.monotonic()
            try:
                res = check_page(chromium, server, build, page, shots, args.budget_ms, args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as err:
                res = PageResult(page, problems=[f"chromium failed: {err}"])
            results.append(res)
            _report(res, t0)

        for page in args.click:
            t0 = time.monotonic()
            try:
                res = check_click(chromium, server, page, shots, args.budget_ms, args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as err:
                res = PageResult(page + " (click)", problems=[f"chromium failed: {err}"])
            clicks.append(res)
            _report(res, t0)

    failed = [r for r in results + clicks if r.problems]
    totals = [(build / r.page).read_text(encoding="utf-8", errors="replace") for r in results]
    n_widget_pages = sum(expectations(t).widget_views > 0 for t in totals)
    n_image_pages = sum(expectations(t).images > 0 for t in totals)
    if n_widget_pages < args.require_widgets:
        print(f"browser check: PROBLEM: {n_widget_pages} checked pages carry widgets, "
              f"{args.require_widgets} required")
        failed.append(PageResult("(widget pages)"))
    if n_image_pages < args.require_images:
        print(f"browser check: PROBLEM: {n_image_pages} checked pages carry figures, "
              f"{args.require_images} required")
        failed.append(PageResult("(figure pages)"))
    passed = len([r for r in results + clicks if not r.problems])
    print(f"book-check: {passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Tests of tests/browser/check_book.py: pure parts always, Chromium parts when present.

The Chromium tests build tiny sites in a temp folder, so they do not need a
built book; they prove that the check fails when it should (broken image,
widgets without the vendored widget manager) and passes otherwise.
"""

import json
import os
import struct
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_book as cb  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "book" / "_assets"
WIDGET_NB = ROOT / "book" / "exploration" / "widget_demo.ipynb"


@pytest.fixture
def chromium_required():
    """Chromium tests fail without Chromium: only an explicit BROWSER_CHECK=0 skips them."""
    if cb.find_chromium() is None:
        if os.environ.get("BROWSER_CHECK") == "0":
            pytest.skip("BROWSER_CHECK=0")
        pytest.fail("Chromium not installed: run scripts/ensure_chromium.sh, or skip with BROWSER_CHECK=0")


needs_chromium = pytest.mark.usefixtures("chromium_required")


def tiny_png(w=4, h=3):
    """A valid RGB PNG, without Pillow."""

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def report(**kw):
    base = dict(images=[], widgetViews=0, widgetsRendered=0, math=0, mathUnrendered=0,
                mathErrors=0, external=[], errors=[], height=100)
    base.update(kw)
    return base


# ------------------------------------------------------------------ pure parts
def test_expectations_counts_article_only():
    page = ('<img src="logo.png"><article class="bd-article"><img src="_images/a.png">'
            '<span class="math notranslate">\\(x\\)</span>'
            '<script type="application/vnd.jupyter.widget-view+json">{}</script></article>')
    e = cb.expectations(page)
    assert (e.images, e.widget_views, e.math) == (1, 1, 1)
    assert e.interesting
    assert not cb.expectations("<article class='bd-article'><p>text</p></article>").interesting


def test_judge_passes_clean_page():
    problems, _ = cb.judge(cb.Expect(images=1, widget_views=1),
                           report(images=[{"src": "a.png", "ok": True}], widgetViews=1, widgetsRendered=1),
                           [("/_images/a.png", 200)])
    assert problems == []


@pytest.mark.parametrize("expect, rep, requests, needle", [
    (cb.Expect(images=1), report(images=[{"src": "a.png", "ok": False}]), [], "did not load"),
    (cb.Expect(widget_views=2), report(widgetViews=2, widgetsRendered=1), [], "1 of 2 widgets"),
    (cb.Expect(math=1), report(math=1, mathUnrendered=1), [], "math not typeset"),
    (cb.Expect(), report(external=["https://cdn.jsdelivr.net/x.js"]), [], "other hosts"),
    (cb.Expect(), report(), [("/_static/require.js", 404)], "404 for book assets"),
])
def test_judge_flags_problems(expect, rep, requests, needle):
    problems, _ = cb.judge(expect, rep, requests)
    assert any(needle in p for p in problems), problems


def test_judge_without_report_fails():
    problems, _ = cb.judge(cb.Expect(), None, [])
    assert problems and "did not run" in problems[0]


def test_judge_ignores_known_noise():
    problems, notes = cb.judge(cb.Expect(), report(errors=["Uncaught SyntaxError: Identifier "
                                                           "'THEBE_JS_URL' has already been declared"]),
                               [("/favicon.ico", 404)])
    assert problems == [] and not any("JavaScript" in n for n in notes)


def test_screenshot_name():
    assert cb.screenshot_name("book/exploration/widget_demo.html") == "book__exploration__widget_demo.png"


def test_fails_without_chromium_unless_skipped_explicitly(monkeypatch, capsys):
    monkeypatch.setattr(cb, "find_chromium", lambda explicit=None: None)
    monkeypatch.delenv("BROWSER_CHECK", raising=False)
    assert cb.main([]) == 1
    assert "BROWSER_CHECK=0" in capsys.readouterr().err
    monkeypatch.setenv("BROWSER_CHECK", "0")
    assert cb.main([]) == 0
    assert "SKIPPED" in capsys.readouterr().out


def test_run_pages_sampled_per_dataset_and_template():
    runs = [f"book/runs/assist2015/V{i}-as_run-small-seed42.html" for i in range(6)]
    base = ["book/runs/assist2015/bkt-baseline-seed0.html", "book/runs/assist2015/pfa-baseline-seed0.html",
            "book/runs/assist2015/skill_only-baseline-seed0.html"]
    syn = ["book/runs/synthetic/V1-as_run-gt-none-seed0.html"]
    chapters = ["book/analysis/audit.html", "book/exploration/explore.html"]
    kept, left_out = cb.sample_run_pages(chapters + runs + base + syn)
    assert kept[:2] == chapters                       # every chapter page stays
    assert runs[0] in kept and runs[-1] in kept and not set(runs[1:-1]) & set(kept)
    assert base[0] in kept and base[-1] in kept and base[1] not in kept
    assert syn[0] in kept                             # a group of one keeps its page
    assert left_out == 4 + 1 and len(kept) == 2 + 2 + 2 + 1
    kept3, left3 = cb.sample_run_pages(runs, per_group=3)
    assert kept3 == [runs[0], runs[3], runs[5]] and left3 == 3
    assert cb.sample_run_pages(runs, per_group=100) == (runs, 0)


def test_run_pages_option_rejects_a_typo(tmp_path, monkeypatch, capsys):
    (tmp_path / "index.html").write_text("<html></html>")
    monkeypatch.setattr(cb, "find_chromium", lambda explicit=None: "/bin/true")
    monkeypatch.delenv("BROWSER_CHECK", raising=False)
    assert cb.main(["--build", str(tmp_path), "--run-pages", "some"]) == 2
    assert "allowed: sample, all" in capsys.readouterr().err


def test_judge_flags_horizontal_overflow():
    rep = report(pageOverflow=300, overflowing=["img (400 px)"], mathWide=1)
    problems, _ = cb.judge(cb.Expect(), rep, [])
    assert any("display equation" in p for p in problems)
    assert any("overflows horizontally by 300 px" in p for p in problems)
    assert any("img (400 px)" in p for p in problems)


# ------------------------------------------------------------------ with Chromium
def page(body, head=""):
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>"
            f"<article class='bd-article'>{body}</article></body></html>")


@needs_chromium
def test_images_loaded_and_broken(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "ok.png").write_bytes(tiny_png())
    (tmp_path / "index.html").write_text(page("<p>home</p>"))
    (tmp_path / "good.html").write_text(page('<img src="_images/ok.png">'))
    (tmp_path / "bad.html").write_text(page('<img src="_images/ok.png"><img src="_images/missing.png">'))
    shots = tmp_path / "shots"
    args = ["--build", str(tmp_path), "--out", str(shots), "--require-widgets", "0"]
    assert cb.main(args + ["--pages", "good.html"]) == 0
    assert (shots / "good.png").stat().st_size > 0
    assert cb.main(args + ["--pages", "bad.html"]) == 1


@needs_chromium
@pytest.mark.skipif(not WIDGET_NB.exists() or not (ASSETS / "embed-amd.js").exists(),
                    reason="widget demo notebook or vendored widget scripts missing")
def test_widget_renders_only_with_vendored_manager(tmp_path, capsys):
    nb = json.loads(WIDGET_NB.read_text())
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    view = next(o["data"]["application/vnd.jupyter.widget-view+json"]
                for c in nb["cells"] for o in c.get("outputs", [])
                if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
    state_tag = f'<script type="application/vnd.jupyter.widget-state+json">{json.dumps(state)}</script>'
    view_tag = (f'<div class="cell_output"><script type="application/vnd.jupyter.widget-view+json">'
                f"{json.dumps(view)}</script></div>")
    static = tmp_path / "_static"
    static.mkdir()
    for name in ("require.js", "embed-amd.js"):
        (static / name).write_bytes((ASSETS / name).read_bytes())
    scripts = ('<script src="_static/require.js"></script>'
               '<script data-jupyter-widgets-cdn="" src="_static/embed-amd.js"></script>')
    cdn_scripts = ('<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js">'
                   "</script>")
    (tmp_path / "index.html").write_text(page("<p>home</p>"))
    (tmp_path / "local.html").write_text(page(view_tag, state_tag + scripts))
    (tmp_path / "cdn.html").write_text(page(view_tag, state_tag + cdn_scripts))
    args = ["--build", str(tmp_path), "--out", str(tmp_path / "shots"), "--require-images", "0"]
    assert cb.main(args + ["--pages", "local.html"]) == 0
    assert "1/1 widgets" in capsys.readouterr().out
    assert cb.main(args + ["--pages", "cdn.html"]) == 1
    out = capsys.readouterr().out
    assert "0 of 1 widgets rendered" in out and "other hosts" in out


@needs_chromium
@pytest.mark.skipif(not (ASSETS / "embed-amd.js").exists(), reason="vendored widget scripts missing")
def test_click_changes_the_explorer_view(tmp_path, capsys):
    """The explorer's precomputed views (toy runs), embedded like the book embeds them: a click on a
    student's toggle button shows another figure, with no kernel; a page without buttons fails."""
    sys.path.insert(0, str(ROOT / "tests"))
    from ipywidgets.embed import dependency_state, embed_data
    from trajectory_fixtures import DATASET, make_results

    from gainakt.analysis import explore as E
    from gainakt.analysis import trajectories as T

    runs = T.trajectory_runs(make_results(tmp_path / "results"), dataset=DATASET)
    box = E.static_trajectories(runs, T.read_trajectories(runs), pairs_per_group=3, dpi=30)
    data = embed_data(views=[box], state=dependency_state(box))
    site = tmp_path / "site"
    (site / "_static").mkdir(parents=True)
    for name in ("require.js", "embed-amd.js"):
        (site / "_static" / name).write_bytes((ASSETS / name).read_bytes())
    head = (f'<script type="application/vnd.jupyter.widget-state+json">{json.dumps(data["manager_state"])}'
            '</script><script src="_static/require.js"></script>'
            '<script data-jupyter-widgets-cdn="" src="_static/embed-amd.js"></script>')
    view = (f'<div class="cell_output"><script type="application/vnd.jupyter.widget-view+json">'
            f'{json.dumps(data["view_specs"][0])}</script></div>')
    (site / "index.html").write_text(page("<p>home</p>"))
    (site / "explore.html").write_text(page(view, head))
    (site / "plain.html").write_text(page("<p>no widgets</p>"))
    shots = tmp_path / "shots"
    args = ["--build", str(site), "--out", str(shots), "--require-images", "0", "--require-widgets", "0",
            "--pages"]
    assert cb.main(args + ["explore.html", "--click", "explore.html"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "clicked 'student" in out and "changed: True" in out
    assert (shots / "explore__click.png").stat().st_size > 0
    with capsys.disabled():
        print(f"\nscreenshot after the click: {shots / 'explore__click.png'}")
    assert cb.main(args + ["plain.html", "--click", "plain.html"]) == 1
    assert "nothing was clicked" in capsys.readouterr().out


def test_judge_click():
    assert cb.judge_click({"click": {"target": "a", "before": ["x"], "after": ["y"]}}) == []
    assert "did not change" in cb.judge_click({"click": {"target": "a", "before": ["x"], "after": ["x"]}})[0]
    assert "no inactive toggle" in cb.judge_click({"click": {"target": None, "before": [], "after": None}})[0]
    assert "never all rendered" in cb.judge_click({"click": None})[0]

"""Widgets for looking at single students and skills of finished runs (notebooks/explore.ipynb).

Two kinds, built from the same figures:

* `Explorer`: live, with Python callbacks. Pick dataset, run (variant, flavour, seed), a run to
  compare with, a student and a skill; the figure and the table of the student's attempts are
  redrawn. Needs a kernel (``jupyter lab notebooks/explore.ipynb``).
* `static_trajectories` and `static_skill_picker`: every view drawn in advance and switched by
  front-end links (``jslink`` of a picker's ``index`` to a ``Stack``'s ``selected_index``), so they
  keep working in the static book, where no Python runs.

Figures are PNG bytes in `ipywidgets.Image`, tables HTML; both are computed from
``trajectories.csv``, ``skill_gains.csv`` and a baseline's ``skill_params.csv`` only.
"""
from __future__ import annotations

import html
import io

import ipywidgets as W
from ipywidgets.widgets.widget_string import HTMLStyle
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import trajectories as T

STATIC_DPI = 100  # 7 in x 100 dpi = the book's 700 px column, shown at natural size (not stretched)
LIVE_DPI = 90
CORRECT, INCORRECT = "#1a9850", "#d73027"


# ------------------------------------------------------------------ figures
def trajectory_figure(window_by_run: dict[str, pd.DataFrame], skill: int, width: float | None = None) -> Figure:
    """One column per run: top, the student's window (responses as ticks, Encoder 1's and Encoder 2's (IM
    head) predicted probability of each response, the chosen skill's steps shaded); bottom, the
    mastery of the chosen skill after each of its attempts, its own gain, and the mean mastery over
    all skills. `window_by_run`: run name -> that run's trajectory rows of one student and window;
    `width`: inches (default 3.5 per run, 7 for one)."""
    n = max(1, len(window_by_run))
    fig = Figure(figsize=(width or (3.5 * n if n > 1 else 7.0), 4.8))
    axes = fig.subplots(2, n, squeeze=False, sharex="col")
    for j, (name, d) in enumerate(window_by_run.items()):
        top, bottom = axes[0, j], axes[1, j]
        on = d[d.skill == skill]
        for s in on.step:
            top.axvspan(s - 0.5, s + 0.5, color="#ffe08a", lw=0, alpha=0.6)
        top.plot(d.step, d.p_enc1, lw=1, color="#4575b4", label="Encoder 1 p")
        top.plot(d.step, d.p_im, lw=1, color="#984ea3", label="Encoder 2 p (IM head)")
        colors = np.where(d.response_next == 1, CORRECT, INCORRECT)
        top.scatter(d.step, np.where(d.response_next == 1, 1.04, -0.04), c=colors, marker="|", s=40)
        top.set(ylim=(-0.1, 1.1), title=name, ylabel="P(next correct)" if j == 0 else "")
        bottom.plot(d.step, d.mastery_mean_all, color="0.6", lw=1, label="mean mastery, all skills")
        bottom.plot(on.step, on.mastery_current, marker="o", ms=4, color="#d95f02",
                    label=f"mastery of skill {skill}")
        bottom.plot(on.step, on.gain_skill, marker="x", ms=4, lw=0.8, ls="--", color="#1b9e77",
                    label="own gain")
        bottom.scatter(on.step, np.full(len(on), -0.06), c=np.where(on.response == 1, CORRECT, INCORRECT),
                       marker="s", s=12)
        bottom.set(ylim=(-0.12, 1.05), xlabel="step in window", ylabel="value" if j == 0 else "")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
            ax.title.set_fontsize(9)
    handles = [h for ax in axes[:, 0] for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles, [h.get_label() for h in handles], loc="lower center", ncol=min(5, len(handles)) if n > 1
               else 2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.12 if n == 1 and (width or 7) < 5 else 0.07, 1, 1))
    return fig


def image_widget(fig: Figure, dpi: int, **kw) -> W.Image:
    """The figure as an Image widget shown at its natural pixel width (the widget would otherwise
    stretch it to the page width)."""
    return W.Image(value=png(fig, dpi), format="png", width=str(int(round(fig.get_figwidth() * dpi))), **kw)


def _shared() -> dict:
    """One Layout and one style for many precomputed HTML views: each widget would otherwise carry
    its own (about 1.5 kB of embedded state per view)."""
    return {"layout": W.Layout(), "style": HTMLStyle()}


def png(fig: Figure, dpi: int, colors: int = 64) -> bytes:
    """The figure as PNG bytes, quantised to a palette of `colors` (a third of the size: the
    static page embeds every view)."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB").quantize(colors)
    out = io.BytesIO()
    img.save(out, format="png", optimize=True)
    return out.getvalue()


def attempts_table(window_by_run: dict[str, pd.DataFrame], skill: int, names: dict[str, str] | None = None) -> str:
    """HTML table (in its own scroll box, about 12 rows high): for each attempt at `skill`, the response and,
    per run (headed by `names[run]`, default the run), Encoder 1's p, Encoder 2's p, the mastery
    after the attempt and the attempt's own gain."""
    cols = {"p_enc1": "p enc1", "p_im": "p enc2", "mastery_current": "mastery", "gain_skill": "gain"}
    parts = []
    for name, d in window_by_run.items():
        on = d[d.skill == skill][["attempt", "step", "response", *cols]].rename(columns=cols)
        head = (names or {}).get(name, name)
        parts.append(on.set_index(["attempt", "step", "response"]).add_prefix(f"{head} " if head else ""))
    if not parts:
        return "<p>no rows</p>"
    t = pd.concat(parts, axis=1)
    table = t.reset_index().to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0)
    return f'<div style="overflow:auto;max-width:100%;max-height:22em">{table}</div>'


def svg_scatter(points: pd.DataFrame, x: str, y: str, highlight: int | None, xlabel: str, ylabel: str,
                width: int = 460, height: int = 300, layer: str = "all") -> str:
    """A small self-contained SVG scatter of `points` (columns skill, series, x, y), one colour per
    series, the `highlight` skill circled in every series. `layer`: "all"; "base" (axes and points,
    no circles); "marks" (only the circles, on a transparent canvas of the same size and scale, to
    lay over the base: the static page ships the base once and one small layer per skill)."""
    pad_l, pad_r, pad_t, pad_b = 46, 110, 10, 34
    xs, ys = points[x].to_numpy(float), points[y].to_numpy(float)
    x0, x1 = np.nanmin(xs), np.nanmax(xs)
    y0, y1 = np.nanmin(ys), np.nanmax(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    px = lambda v: pad_l + (v - x0) / (x1 - x0) * (width - pad_l - pad_r)  # noqa: E731
    py = lambda v: height - pad_b - (v - y0) / (y1 - y0) * (height - pad_t - pad_b)  # noqa: E731
    palette = matplotlib.colormaps["tab10"].colors
    out = [f'<div><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="10">']
    if layer == "marks":
        for a, b in zip(points.loc[points.skill == highlight, x], points.loc[points.skill == highlight, y]):
            if np.isfinite(a) and np.isfinite(b):
                out.append(f'<circle cx="{px(a):.0f}" cy="{py(b):.0f}" r="7" fill="none" stroke="#000" '
                           f'stroke-width="2"/>')
        return "".join(out) + "</svg></div>"
    out.append(f'<rect x="{pad_l}" y="{pad_t}" width="{width - pad_l - pad_r}" '
               f'height="{height - pad_t - pad_b}" fill="none" stroke="#999"/>')
    for v in np.linspace(x0, x1, 5):
        out.append(f'<text x="{px(v):.0f}" y="{height - pad_b + 13}" text-anchor="middle">{v:.2g}</text>')
    for v in np.linspace(y0, y1, 5):
        out.append(f'<text x="{pad_l - 4}" y="{py(v) + 3:.0f}" text-anchor="end">{v:.3g}</text>')
    out.append(f'<text x="{(pad_l + width - pad_r) / 2:.0f}" y="{height - 4}" text-anchor="middle">'
               f'{html.escape(xlabel)}</text>')
    out.append(f'<text transform="translate(11 {(height - pad_b) / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">{html.escape(ylabel)}</text>')
    for i, (name, g) in enumerate(points.groupby("series", sort=True)):
        color = matplotlib.colors.to_hex(palette[i % len(palette)])
        path = "".join(f"M{px(a):.0f} {py(b):.0f}h0" for a, b in zip(g[x], g[y]) if np.isfinite(a) and np.isfinite(b))
        out.append(f'<path d="{path}" stroke="{color}" stroke-width="5" stroke-linecap="round" opacity="0.55"/>')
        out.append(f'<text x="{width - pad_r + 8}" y="{pad_t + 12 + 14 * i}" fill="{color}">'
                   f'● {html.escape(str(name))}</text>')
        h = g[g.skill == highlight] if layer == "all" else g.iloc[:0]
        for a, b in zip(h[x], h[y]):
            if np.isfinite(a) and np.isfinite(b):
                out.append(f'<circle cx="{px(a):.0f}" cy="{py(b):.0f}" r="7" fill="none" stroke="#000" '
                           f'stroke-width="2"/>')
    out.append("</svg></div>")
    return "".join(out)


def skill_points(per_skill: pd.DataFrame, reference: pd.DataFrame | None) -> tuple[pd.DataFrame, str, str]:
    """Points for the per-skill scatter: mean gain per skill and variant-flavour (`T.per_skill_gains`)
    against BKT's learn rate when a BKT baseline exists, else against the skill's test accuracy.
    Returns (points with columns skill, series, x, gain, accuracy, n, seeds; x column; x label)."""
    p = per_skill.assign(series=per_skill.variant + " " + per_skill.flavour)
    if reference is not None and "bkt_learn" in reference:
        p = p.merge(reference[["skill", "bkt_learn"]], on="skill", how="inner")
        return p, "bkt_learn", "BKT learn rate (per skill)"
    return p, "accuracy", "test accuracy of the skill"


def skill_numbers(points: pd.DataFrame, skill: int, x: str) -> str:
    """HTML table of one skill's numbers in every series."""
    d = points[points.skill == skill]
    cols = ["series", "n", "accuracy", "gain", "seeds"] + ([x] if x not in ("accuracy",) else [])
    if d.empty:
        return f"<p>skill {skill}: no run saw it at least 20 times</p>"
    return (f"<b>skill {skill}</b>" + d[cols].rename(columns={"gain": "mean gain"})
            .to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0))


# ------------------------------------------------------------------ static views (no kernel)
def _pairs_label(traj: pd.DataFrame, student: int, skill: int) -> str:
    k = int(traj[(traj.student == student) & (traj.skill == skill)].groupby("run").size().min())
    return f"student {student} · skill {skill} ({k} attempts)"


def view_groups(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Runs shown side by side in one static view: same dataset, flavour, label and seed (the
    variants differ), named like 'assist2015 as_intended small s42'."""
    out = []
    for (ds, fl, lab, seed), g in runs.groupby(["dataset", "flavour", "label", "seed"], sort=True):
        out.append((" ".join(str(x) for x in (ds, fl, lab, f"s{seed}") if x != ""), g))
    return out


def static_trajectories(runs: pd.DataFrame, traj: pd.DataFrame, pairs_per_group: int = 4,
                        dpi: int = STATIC_DPI, max_groups: int | None = None) -> W.VBox:
    """Precomputed views switched in the browser. A picker of run groups (`view_groups`: same
    dataset, flavour and seed); per group, toggle buttons over its `pairs_per_group` most practised
    (student, skill) pairs, and two panels side by side, each with its own picker of the group's
    runs (left: the first variant, right: the second). Each run has one half-width figure and one
    table per pair, drawn once: both panels show the same widget models, and one front-end link per
    run ties the buttons to the run's pair. So the page ships runs x pairs figures, not their
    product with the variants. Only front-end links (``jslink``): no kernel needed. `max_groups`: only
    the first N groups (every widget is a kernel message, and a client that reads them only after the
    cell, as nbval does, loses those beyond ZeroMQ's high-water mark of 1,000)."""
    group_names, children = [], []
    html_kw, box_kw = _shared(), {"layout": W.Layout()}
    image_kw = {"layout": W.Layout()}
    for name, g in list(view_groups(runs))[:max_groups]:
        t = traj[traj.run.isin(g.run)]
        pairs = T.common_pairs(t, pairs_per_group)
        if not pairs:
            continue
        labels = [_pairs_label(t, student, skill) for student, skill in pairs]
        buttons = W.ToggleButtons(options=labels, style={"button_width": "auto"})
        per_run = []
        for run in g.run:
            views = []
            for student, skill in pairs:
                d = t[(t.run == run) & (t.student == student)]
                fig = trajectory_figure({run: d}, skill, width=3.5)
                views.append(W.VBox([image_widget(fig, dpi, **image_kw),
                                     W.HTML(attempts_table({run: d}, skill, {run: ""}), **html_kw)], **box_kw))
            pair_stack = W.Stack(views, selected_index=0)
            W.jslink((buttons, "index"), (pair_stack, "selected_index"))
            per_run.append(pair_stack)
        panels = []
        for side in range(2):
            pick = W.Dropdown(options=list(g.run), index=min(side, len(g) - 1),
                              layout=W.Layout(width="95%"))
            stack = W.Stack(per_run, selected_index=pick.index)
            W.jslink((pick, "index"), (stack, "selected_index"))
            panels.append(W.VBox([pick, stack], layout=W.Layout(width="50%")))
        group_names.append(name)
        children.append(W.VBox([buttons, W.HBox(panels)]))
    if not children:
        return W.VBox([W.HTML("<p>No finished run with trajectories.csv.</p>")])
    picker = W.Dropdown(options=group_names, description="runs", layout=W.Layout(width="420px"))
    outer = W.Stack(children, selected_index=0)
    W.jslink((picker, "index"), (outer, "selected_index"))
    return W.VBox([picker, outer])


def static_skill_picker(points: pd.DataFrame, x: str, xlabel: str, skills=None) -> W.VBox:
    """A skill picker over a scatter of mean gain per skill against `x`: the picked skill circled
    and its numbers listed. The scatter is drawn once; each skill adds only a layer (its circles,
    laid over the scatter in one grid cell, and its table below). Only front-end links."""
    skills = sorted(points.skill.unique()) if skills is None else list(skills)
    if not skills:
        return W.VBox([W.HTML("<p>No per-skill gains (skill_gains.csv) yet.</p>")])
    ylabel = "mean gain of the skill"
    cell = dict(layout=W.Layout(grid_area="plot"))
    # the base sits in a one-child Stack too, so that base and circles are nested alike and align
    base = W.Stack([W.HTML(svg_scatter(points, x, "gain", None, xlabel, ylabel, layer="base"))],
                   selected_index=0, **cell)
    # each skill's layer: its circles over the base, then its numbers below the scatter
    kw = _shared()
    marks = W.Stack([W.HTML(svg_scatter(points, x, "gain", s, xlabel, ylabel, layer="marks")
                            + skill_numbers(points, s, x), **kw) for s in skills], selected_index=0, **cell)
    plot = W.GridBox([base, marks], layout=W.Layout(grid_template_areas='"plot"', grid_template_columns="auto",
                                                    align_items="flex-start"))
    picker = W.Dropdown(options=[f"skill {s}" for s in skills], description="skill")
    W.jslink((picker, "index"), (marks, "selected_index"))
    return W.VBox([picker, plot])


# ------------------------------------------------------------------ live explorer (kernel)
class Explorer:
    """Live explorer with Python callbacks. `results_root` is searched for runs on every dataset;
    changing a picker redraws ``image`` (PNG) and ``table`` (HTML). ``widget`` is what to display."""

    def __init__(self, results_root="results", reference_loader=None, dpi: int = LIVE_DPI):
        self.results_root, self.dpi = results_root, dpi
        self._reference_loader = reference_loader
        self.runs = T.trajectory_runs(results_root)
        self._traj: dict[str, pd.DataFrame] = {}
        datasets = sorted(self.runs.dataset.unique()) if len(self.runs) else []
        self.dataset = W.Dropdown(options=datasets, description="dataset")
        self.run = W.Dropdown(description="run")
        self.compare = W.Dropdown(description="compare")
        self.student = W.Dropdown(description="student")
        self.skill = W.Dropdown(description="skill")
        self.image = W.Image(format="png")
        self.table = W.HTML()
        self.scatter_skill = W.Dropdown(description="skill")
        self.scatter = W.HTML()
        self._busy = False
        self.dataset.observe(self._on_dataset, "value")
        self.run.observe(self._on_run, "value")
        for w in (self.compare, self.skill):
            w.observe(self._redraw, "value")
        self.student.observe(self._on_student, "value")
        self.scatter_skill.observe(self._on_scatter_skill, "value")
        self._on_dataset()
        row = dict(layout=W.Layout(flex_flow="row wrap"))
        self.widget = W.VBox([W.HBox([self.dataset, self.run, self.compare], **row),
                              W.HBox([self.student, self.skill], **row), self.image, self.table,
                              W.HTML("<b>Per-skill mean gains</b>"), self.scatter_skill, self.scatter])

    # -- data
    def trajectories(self, run: str) -> pd.DataFrame:
        if run not in self._traj:
            self._traj[run] = T.read_trajectories(self.runs[self.runs.run == run])
        return self._traj[run]

    def _runs_of(self, dataset) -> pd.DataFrame:
        return self.runs[self.runs.dataset == dataset]

    # -- callbacks (a change upstream refills the pickers below it, then draws once)
    def _on_dataset(self, *_):
        runs = self._runs_of(self.dataset.value)
        self._busy = True
        self.run.options = list(runs.run)
        self.run.value = self.run.options[0] if self.run.options else None
        self._busy = False
        self._on_run()
        self._fill_scatter()

    def _on_run(self, *_):
        if self._busy:
            return
        runs = self._runs_of(self.dataset.value)
        me = runs[runs.run == self.run.value]
        others = runs[runs.run != self.run.value]
        if len(me):   # default partner: another variant of the same flavour and seed
            r = me.iloc[0]
            same = others[(others.flavour == r.flavour) & (others.seed == r.seed) & (others.label == r.label)]
            others = pd.concat([same, others.drop(same.index)])
        t = self.trajectories(self.run.value) if self.run.value else pd.DataFrame(columns=["student"])
        self._busy = True
        self.compare.options = ["(none)"] + list(others.run)
        self.compare.value = others.run.iloc[0] if len(others) else "(none)"
        self.student.options = sorted(int(s) for s in t.student.unique())
        self.student.value = self.student.options[0] if self.student.options else None
        self._busy = False
        self._on_student()

    def _on_student(self, *_):
        if self._busy:
            return
        t = self.trajectories(self.run.value) if self.run.value else None
        self._busy = True
        if t is not None and self.student.value is not None:
            n = t[t.student == self.student.value].groupby("skill").size().sort_values(ascending=False, kind="stable")
            self.skill.options = [(f"{k} ({c} attempts)", int(k)) for k, c in n.items()]
            self.skill.value = int(n.index[0]) if len(n) else None
        else:
            self.skill.options = []
        self._busy = False
        self._redraw()

    def window_by_run(self) -> dict[str, pd.DataFrame]:
        names = [self.run.value] + ([self.compare.value] if self.compare.value not in (None, "(none)") else [])
        return {n: self.trajectories(n)[lambda d: d.student == self.student.value] for n in names if n}

    def _redraw(self, *_):
        if self._busy or self.student.value is None or self.skill.value is None:
            return
        by_run = self.window_by_run()
        fig = trajectory_figure(by_run, self.skill.value)
        self.image.value = png(fig, self.dpi)
        self.image.width = str(int(round(fig.get_figwidth() * self.dpi)))
        self.table.value = attempts_table(by_run, self.skill.value)

    def _fill_scatter(self):
        runs = self._runs_of(self.dataset.value)
        ref = self._reference_loader(self.dataset.value) if self._reference_loader else None
        self._points = skill_points(T.per_skill_gains(runs), ref)
        skills = sorted(int(s) for s in self._points[0].skill.unique())
        self._busy = True
        self.scatter_skill.options = skills
        self.scatter_skill.value = skills[0] if skills else None
        self._busy = False
        self._on_scatter_skill()

    def _on_scatter_skill(self, *_):
        if self._busy:
            return
        points, x, xlabel = self._points
        if self.scatter_skill.value is None:
            self.scatter.value = "<p>No per-skill gains (skill_gains.csv) for this dataset.</p>"
            return
        self.scatter.value = (svg_scatter(points, x, "gain", self.scatter_skill.value, xlabel,
                                          "mean gain of the skill")
                              + skill_numbers(points, self.scatter_skill.value, x))

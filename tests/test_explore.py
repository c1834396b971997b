"""Trajectory tables across runs (gainakt.analysis.trajectories) and the explorer's widgets
(gainakt.analysis.explore), on a toy results tree (tests/trajectory_fixtures.py)."""
import json
import sys
from pathlib import Path

import ipywidgets as W
import nbformat
import pandas as pd
import pytest
from ipywidgets.embed import dependency_state, embed_data

sys.path.insert(0, str(Path(__file__).resolve().parent))
from trajectory_fixtures import DATASET, make_results  # noqa: E402

from gainakt.analysis import explore as E  # noqa: E402
from gainakt.analysis import gains  # noqa: E402
from gainakt.analysis import trajectories as T  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def runs(root):
    return T.trajectory_runs(root, dataset=DATASET)


@pytest.fixture(scope="module")
def traj(runs):
    return T.read_trajectories(runs)


def test_runs_are_discovered_with_names(root, runs):
    assert list(runs.run) == ["V2 as_intended small s1", "V2 as_intended small s2",
                              "V3 as_intended small s1", "V3 as_intended small s2"]
    (Path(runs.dir[0]) / "trajectories.csv").rename(Path(runs.dir[0]) / "t.bak")
    try:
        assert len(T.trajectory_runs(root, dataset=DATASET)) == 3   # a run without trajectories is left out
    finally:
        (Path(runs.dir[0]) / "t.bak").rename(Path(runs.dir[0]) / "trajectories.csv")


def test_attempts_count_per_student_window_skill(traj):
    one = traj[(traj.run == "V2 as_intended small s1") & (traj.student == 7)]
    assert list(one[one.skill == 0].attempt) == [1, 2, 3, 4, 5, 6]
    assert list(one[one.skill == 1].attempt) == [1, 2, 3, 4, 5, 6]


def test_curves_measure_shape_and_falls(traj):
    c = T.curves(traj, min_attempts=3)
    v2 = c[(c.variant == "V2") & (c.student == 7) & (c.skill == 0)].iloc[0]
    assert v2.first == pytest.approx(0.5) and v2["last"] == pytest.approx(1.0)
    assert v2.first_share == pytest.approx(0.5) and v2.attempts_to_90 == 3 and v2.decreases == 0
    t = traj.copy()
    t.loc[(t.run == "V2 as_intended small s1") & (t.student == 7) & (t.skill == 0) & (t.attempt == 4),
          "mastery_current"] = 0.1
    c2 = T.curves(t, min_attempts=3)
    assert c2.decreases.sum() == 1
    table = T.shape_table(c)
    assert list(table.index) == [("V2", "as_intended"), ("V3", "as_intended")]
    assert (table.seeds == 2).all()


def test_check_table_counts_passes_over_seeds(traj, runs):
    table = T.check_table(T.read_checks(runs), gain="gain_skill")
    assert table.loc["1 check1", ("V2 as_intended", "passed")] == "1/2"   # (1 + seed) even for seed 1 only
    assert table.loc["1 check1", ("", "target")] == "> 0.2"
    assert "(n=2)" in table.loc["3 check3", ("V3 as_intended", "value")]


def test_common_pairs_are_held_by_every_run(traj):
    pairs = T.common_pairs(traj, 4)
    assert len(pairs) == 4 and len({s for s, _ in pairs}) == 3   # one per student before a second
    assert pairs[0] == (7, 0)                                    # most attempts first
    assert T.common_pairs(traj, 10, min_attempts=7) == []


def test_per_skill_gains_average_seeds_and_drop_rare_skills(runs):
    g = T.per_skill_gains(runs, min_n=20)
    assert set(g.skill) == {0, 1, 2} and (g.seeds == 2).all()
    assert g[(g.variant == "V2") & (g.skill == 0)].gain.iloc[0] == pytest.approx(0.3)


def _link_models(w):
    state = embed_data(views=[w], state=dependency_state(w))["manager_state"]["state"]
    return [m["state"] for m in state.values() if m["model_name"] == "LinkModel"]


def test_static_views_are_linked_in_the_front_end(runs, traj):
    box = E.static_trajectories(runs, traj, pairs_per_group=2, dpi=30)
    picker, outer = box.children
    assert isinstance(picker, W.Dropdown) and list(picker.options) == ["toy as_intended small s1",
                                                                      "toy as_intended small s2"]
    assert isinstance(outer, W.Stack) and len(outer.children) == 2
    buttons, panels = outer.children[0].children
    assert isinstance(buttons, W.ToggleButtons) and len(buttons.options) == 2
    left, right = panels.children
    assert list(left.children[0].options) == ["V2 as_intended small s1", "V3 as_intended small s1"]
    assert (left.children[0].index, right.children[0].index) == (0, 1)      # two variants side by side
    runs_left, runs_right = left.children[1], right.children[1]
    assert runs_left.children == runs_right.children                         # drawn once, shown twice
    v2_views = runs_left.children[0].children
    images = [v.children[0].value for v in v2_views]
    assert all(i[:4] == b"\x89PNG" for i in images) and images[0] != images[1]
    assert v2_views[0].children[0].width == "105"                           # 3.5 in at 30 dpi: natural size
    assert "mastery" in v2_views[0].children[1].value
    # the group picker; per group: the buttons to each run's pairs, and each panel's run picker
    links = _link_models(box)
    assert len(links) == 1 + 2 * (2 + 2)
    assert all(link["source"][1] == "index" and link["target"][1] == "selected_index" for link in links)


def test_static_skill_picker_circles_the_picked_skill(runs, root):
    points, x, xlabel = E.skill_points(T.per_skill_gains(runs), gains.load_reference(root, DATASET))
    assert x == "bkt_learn"
    box = E.static_skill_picker(points, x, xlabel)
    picker, plot = box.children
    base, marks = plot.children
    assert list(picker.options) == ["skill 0", "skill 1", "skill 2"] and len(marks.children) == 3
    assert base.layout.grid_area == marks.layout.grid_area == "plot"         # circles laid over the base
    assert base.children[0].value.count("<circle") == 0 and base.children[0].value.count("<path") == 2
    first = marks.children[0].value
    assert first.count("<circle") == 2 and "<path" not in first               # both variants' points circled
    assert "<b>skill 0</b>" in first                                          # and the skill's numbers
    assert len({id(m.layout) for m in marks.children}) == 1                   # one shared Layout
    assert len(_link_models(box)) == 1
    full = E.svg_scatter(points, x, "gain", 1, xlabel, "g")
    assert full.count("<circle") == 2 and full.count("<path") == 2
    no_ref, x2, _ = E.skill_points(T.per_skill_gains(runs), None)
    assert x2 == "accuracy" and len(no_ref) == len(points)


def test_live_explorer_redraws_on_student_and_skill(root):
    ex = E.Explorer(root, reference_loader=lambda ds: gains.load_reference(root, ds), dpi=30)
    assert ex.dataset.value == DATASET and ex.run.value == "V2 as_intended small s1"
    assert ex.compare.value == "V3 as_intended small s1"          # same flavour and seed, other variant
    image, table = ex.image.value, ex.table.value
    assert image[:4] == b"\x89PNG" and "V3 as_intended small s1 mastery" in table
    ex.student.value = 11
    assert ex.image.value != image and ex.table.value != table
    assert [v for _, v in ex.skill.options] == [0, 1, 2, 3]
    image, table = ex.image.value, ex.table.value
    ex.skill.value = 2
    assert ex.image.value != image and ex.table.value != table
    table = ex.table.value
    ex.compare.value = "(none)"
    assert "V3" not in ex.table.value and table != ex.table.value
    scatter = ex.scatter.value
    ex.scatter_skill.value = 2
    assert ex.scatter.value != scatter and "<b>skill 2</b>" in ex.scatter.value


def test_book_page_drops_live_only_cells(tmp_path):
    from gainakt.book import LIVE_TAG, analysis_page_text

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("live()")])
    nb.cells[1].metadata["tags"] = [LIVE_TAG]
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, src)
    page = json.loads(analysis_page_text(src))
    assert ["".join(c["source"]) for c in page["cells"]] == ["x = 1"]
    assert page["metadata"]["mystnb"] == {"execution_mode": "force"}


def test_explore_notebook_is_a_book_page():
    from gainakt.book import analysis_pages

    root = Path(__file__).resolve().parents[1]
    assert analysis_pages(root)["notebooks/explore.ipynb"] == "book/exploration/explore.ipynb"
    nb = nbformat.read(root / "notebooks" / "explore.ipynb", as_version=4)
    live = [c for c in nb.cells if "live-only" in c.metadata.get("tags", [])]
    assert any("Explorer(" in c.source for c in live)
    assert pd.Series([c.cell_type for c in nb.cells]).eq("code").sum() >= 3


def test_chapter_figures_draw_one_line_per_group_and_pair(traj):
    from gainakt.analysis import trajectory_figures as TF

    fig = TF.mastery_by_attempt(T.mastery_by_attempt(traj, max_attempt=4))
    assert len(fig.axes[0].lines) == 2                                # V2 and V3 as_intended
    first = {"V2 as_intended small s1": T.common_pairs(traj, 2), "V3 as_intended small s1": T.common_pairs(traj, 2)}
    fig = TF.curve_grid(traj, first)
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    v2 = fig.axes[0].lines[0].get_ydata()
    assert list(v2) == pytest.approx([0.5, 0.8, 1.0, 1.0, 1.0, 1.0])  # student 7, skill 0: +0.3 per attempt


def test_static_views_can_be_limited_to_the_first_groups(runs, traj):
    """The CI smoke run keeps the widget count under ZeroMQ's high-water mark with max_groups."""
    picker, outer = E.static_trajectories(runs, traj, pairs_per_group=1, dpi=30, max_groups=1).children
    assert list(picker.options) == ["toy as_intended small s1"] and len(outer.children) == 1


def test_check_table_untrained_and_not_applicable(traj, runs):
    table = T.check_table(T.read_checks(runs), gain="gain_skill", runs=runs)
    assert any(col[1] == "untrained" for col in table.columns)
    first = [c for c in table.columns if c[1] == "untrained"][0]
    mono = [i for i in table.index if str(i).startswith("3")]
    assert mono and table.loc[mono[0], first] == ""          # not a gain statistic: blank
    assert set(T.GAIN_CHECKS) <= set(T.check_definitions().index)
    assert isinstance(T.untrained_meets_text(runs), str)


def test_meets_targets():
    assert T.meets(0.3, "> 0.2") and not T.meets(0.1, "> 0.2")
    assert T.meets(2, "in [1, 3]") and not T.meets(4, "in [1, 3]") and T.meets(0, "== 0")


def test_response_contrast_flags_wrong_way():
    import pandas as pd
    rel = pd.DataFrame({"variant": ["A"] * 3 + ["B"] * 3, "flavour": ["x"] * 6,
                        "mastery_after_correct": [0.5, 0.51, 0.52, 0.9, 0.91, 0.92],
                        "mastery_after_incorrect": [0.6, 0.61, 0.62, 0.5, 0.52, 0.51]})
    c = T.response_contrast(rel).set_index("variant")
    assert c.loc["A", "wrong_way"] and c.loc["A", "beyond_noise"] and not c.loc["B", "wrong_way"]
    assert "A x" in T.response_contrast_text(rel).split("wrong way")[1]


def test_copies_text_names_source():
    import pandas as pd
    runs = pd.DataFrame({"variant": ["V3", "V5"], "flavour": ["as_run"] * 2,
                         "dir": ["/r/results/d/V3-as_run-small/seed42", "/r/results/d/V5-as_run-small/seed42"],
                         "derived_from": ["", "results/d/V3-as_run-small/seed42"]})
    assert T.copies_text(runs) == "1 trained runs + 1 copies (V5 as run = V3 as run's)"

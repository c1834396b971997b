"""The six trajectory checks on hand-made trajectories."""
import numpy as np
import pandas as pd
import pytest

from gainakt.metrics import trajectory_checks


def trajectory(window, student, mastery, responses, skill=1):
    T = len(mastery)
    return pd.DataFrame({"window": window, "student": student, "step": np.arange(T), "skill": skill,
                         "response": responses, "response_next": np.roll(responses, -1),
                         "mastery_current": mastery, "mastery_q": mastery, "gain_skill": 0.1 + 0.1 * responses,
                         "skills_gain_gt_0.1": 1.0})


def check(table, name):
    return table.set_index("check").loc[name]


def test_monotonicity_is_counted_within_windows_not_across_them():
    r = np.array([0, 1, 0, 1, 1, 1])
    rising = np.linspace(0.1, 0.6, 6)
    # one student, two windows: practice (and mastery) starts again in the second window
    two_windows = pd.concat([trajectory(0, 7, rising, r), trajectory(1, 7, rising, r)])
    assert check(trajectory_checks(two_windows), "3 monotonicity")["value"] == 0
    dips = rising.copy()
    dips[3] = 0.05                       # a real decrease inside one window
    one_dip = pd.concat([trajectory(0, 7, rising, r), trajectory(1, 7, dips, r)])
    assert check(trajectory_checks(one_dip), "3 monotonicity")["value"] == 1


def test_mastery_correlation_is_the_mean_over_windows():
    r = np.array([0, 0, 1, 0, 1, 1, 1, 1])
    a = trajectory(0, 7, np.linspace(0.1, 0.8, 8), r)
    b = trajectory(1, 7, np.linspace(0.8, 0.1, 8), r)
    expected = np.mean([np.corrcoef(t["mastery_q"], t["response_next"])[0, 1] for t in (a, b)])
    got = check(trajectory_checks(pd.concat([a, b])), "4 mastery correlation")["value"]
    assert got == pytest.approx(expected)
    assert check(trajectory_checks(pd.concat([a, b])), "6 response-conditional gain")["value"] == pytest.approx(2.0)

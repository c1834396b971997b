"""Figures of the Learning trajectories chapter (matplotlib Figures sized for the book column)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..plots import _figure


def mastery_by_attempt(table: pd.DataFrame):
    """Mean mastery of the practised skill after its k-th attempt (band: ± sd over curves), one
    line per variant and flavour; `table` from `trajectories.mastery_by_attempt`."""
    fig, grid = _figure(1, 1, 3.2)
    ax = grid[0, 0]
    for (v, f), g in table.groupby(["variant", "flavour"], sort=True):
        line, = ax.plot(g.attempt, g.mastery, marker="o", ms=4, label=f"{v} {f}")
        ax.fill_between(g.attempt, g.mastery - g.sd, g.mastery + g.sd, color=line.get_color(), alpha=0.12, lw=0)
    ax.set(xlabel="attempt at the skill (within a window)", ylabel="mastery after the attempt", ylim=(0, 1.05))
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def curve_grid(traj: pd.DataFrame, pairs: dict[str, list[tuple[int, int]]], ncols: int = 2):
    """One panel per group (a variant-flavour's first seed): the mastery curves of its (student,
    skill) `pairs` over attempts, filled markers after a correct response, open after an incorrect."""
    names = list(pairs)
    nrows = max(1, int(np.ceil(len(names) / ncols)))
    fig, grid = _figure(nrows, ncols, 2.6 * nrows, sharey=True)
    for ax, name in zip(grid.flat, names):
        d = traj[traj.run == name]
        for i, (student, skill) in enumerate(pairs[name]):
            c = d[(d.student == student) & (d.skill == skill)]
            line, = ax.plot(c.attempt, c.mastery_current, lw=1.2, label=f"student {student}, skill {skill}")
            ok = c.response == 1
            ax.scatter(c.attempt[ok], c.mastery_current[ok], color=line.get_color(), s=14, zorder=3)
            ax.scatter(c.attempt[~ok], c.mastery_current[~ok], facecolor="white", edgecolor=line.get_color(),
                       s=14, zorder=3)
        ax.set(title=name, xlabel="attempt", ylim=(0, 1.05))
        ax.title.set_fontsize(9)
        ax.legend(fontsize=6.5, loc="center right")
    for ax in grid[:, 0]:
        ax.set_ylabel("mastery")
    for ax in list(grid.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return fig

"""Study progress is counted from what trials report, never from the result tables, and
shown in at most 80 columns, live on a terminal and as short lines elsewhere."""

import pytest
from rich.console import Console

from study.progress import (
    WIDTH,
    LiveView,
    PlainView,
    StudyProgress,
    duration,
    finished_metrics,
    render,
)


def evaluation(step, members=3, live=3, budget=1000):
    return {"step": step, "budget": budget, "members": members, "live": live}


def test_progress_adds_up_what_trials_report():
    # 10 configurations of 1000 steps; 4 were done before this run.
    progress = StudyProgress(total=10, done_before=4, total_steps=10_000, steps_before=4000)
    progress.evaluated("t1", evaluation(200, members=3, live=2))
    # A running trial counts its live members' steps and its stopped members' budgets.
    assert progress.running == 3
    assert progress.steps == 4000 + 200 * 2 + 1000 * 1
    progress.finished("t1", finished_metrics(["converged", "collapsed", "converged"], 1000))
    progress.finished("t2", finished_metrics(["diverged"], 1000))
    # 4 done before this run, 3 + 1 in it; finished configurations count their budget.
    assert progress.done == 8 and progress.running == 0 and progress.steps == 8000
    assert dict(progress.labels) == {
        "converged": 2, "collapsed": 1, "diverged": 1, "oscillating": 0, "vanishing": 0,
        "unconverged": 0,
    }  # fmt: skip
    line = progress.line()
    assert line.startswith("[8/10] 0 running, 8.0k/10.0k steps, ")
    assert line.endswith(" left | converged 2, collapsed 1, diver...")  # cut at 80 columns
    assert "nan" not in line and len(line) == WIDTH


def test_time_left_comes_from_this_runs_throughput():
    progress = StudyProgress(total=4, done_before=0, total_steps=4000, steps_before=0)
    progress.evaluated("t1", evaluation(100, members=2, live=2))
    # One report: no throughput yet (Ray's start-up does not count).
    assert progress.seconds_left() is None
    first, steps = progress.first
    progress.first = (first - 10.0, steps)  # as if the first report came 10 s ago
    progress.evaluated("t1", evaluation(600, members=2, live=2))
    # 1000 steps in 10 s: the 2800 steps left take 28 s.
    assert progress.seconds_left() == pytest.approx(28.0, rel=1e-2)


def test_before_any_progress_there_is_no_eta_and_never_nan():
    progress = StudyProgress(total=5, done_before=0, total_steps=5000, steps_before=0)
    # No guess until this run has done a step: "--", not "nan" or "inf".
    assert progress.seconds_left() is None
    assert "-- left" in progress.line() and "nan" not in progress.line()
    assert [duration(s) for s in (None, float("nan"), float("inf"))] == ["--"] * 3
    assert [duration(s) for s in (5, 185, 7830)] == ["5s", "3m 05s", "2h 10m"]


def test_lines_stay_within_80_columns_whatever_the_counts():
    progress = StudyProgress(total=10**9, done_before=10**8, total_steps=10**15, steps_before=1)
    for name in ("converged", "oscillating", "collapsed", "vanishing", "diverged"):
        progress.labels[name] = 123_456_789
    progress.evaluated("t", evaluation(10**6, members=4096, live=4096, budget=10**7))
    # The plain line is cut to 80 characters...
    assert len(progress.line()) <= WIDTH
    # ...and so is every line of the live view, even with a long study name.
    console = Console(width=WIDTH, record=True, color_system=None)
    console.print(render("a-very-long-study-name-that-goes-on-and-on", progress))
    lines = console.export_text().splitlines()
    assert len(lines) == 3 and all(len(line) <= WIDTH for line in lines)
    assert "1.0M/1.0G configurations" not in lines[0] and "100000000/1000000000" in lines[0]


def test_live_view_draws_the_progress_on_a_terminal():
    progress = StudyProgress(total=3, done_before=1, total_steps=300, steps_before=100)
    console = Console(width=WIDTH, record=True, color_system=None, force_terminal=True)
    view = LiveView("quick", progress, console=console)
    progress.finished("t1", finished_metrics(["converged"], 100))
    view.update(progress)
    view.note("warning: a checkpoint was set aside")
    view.close()
    text = console.export_text()
    # The last frame shows 2 of 3 done and the label; notes print above the view.
    assert "2/3 configurations" in text and "converged 1" in text
    assert "warning: a checkpoint was set aside" in text


def test_plain_view_prints_when_a_trial_finishes_and_otherwise_rarely():
    lines = []
    progress = StudyProgress(total=3, done_before=0, total_steps=300, steps_before=0)
    view = PlainView(lines.append)
    view.update(progress)
    progress.evaluated("t1", evaluation(50, members=1, live=1, budget=100))
    view.update(progress)
    # The first update prints; an evaluation right after does not (no trial finished).
    assert len(lines) == 1
    progress.finished("t1", finished_metrics(["diverged"], 100))
    view.update(progress)
    assert len(lines) == 2 and lines[1].startswith("[1/3] 0 running, 100/300 steps")

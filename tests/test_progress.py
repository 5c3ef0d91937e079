"""Study progress is counted from what trials report, never from the result tables."""

from study.progress import StudyProgress, finished_metrics


def test_progress_adds_up_what_finished_trials_report():
    progress = StudyProgress(total=10, done_before=4)
    progress.evaluated("t1", {"step": 100, "members": 3, "live": 3})
    # A running trial's latest evaluation is kept until it finishes.
    assert progress.evaluations == {"t1": {"step": 100, "members": 3, "live": 3}}
    progress.finished("t1", finished_metrics(["converged", "collapsed", "converged"]))
    progress.finished("t2", finished_metrics(["diverged"]))
    # 4 done before this run, 3 + 1 in it; the label mix is this run's, most frequent first.
    assert progress.done == 8 and progress.evaluations == {}
    assert dict(progress.labels) == {
        "converged": 2, "collapsed": 1, "diverged": 1, "oscillating": 0, "vanishing": 0,
        "unconverged": 0,
    }  # fmt: skip
    line = progress.line(running=2)
    assert line.startswith("[8/10 configurations] 2 trials running | converged 2, collapsed 1")
    assert "nan" not in line and "s left" in line


def test_before_anything_finishes_there_is_no_eta():
    line = StudyProgress(total=5, done_before=0).line(running=1)
    # No guess (and no "nan") until a trial has finished in this run.
    assert line.startswith("[0/5 configurations] 1 trials running | no labels yet")
    assert "left" not in line and "nan" not in line

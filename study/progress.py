"""Where a running study stands, counted from what its trials report to Tune.

Nothing here reads the result tables: a trial reports its step at every evaluation and,
when it finishes, how many configurations it trained and how many got each label
(`finished_metrics`). `StudyProgress` adds those up; the runner's Tune callback feeds it
and prints `line()` as trials finish.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence

from study.schema import LABELS


def finished_metrics(labels: Sequence[str]) -> dict[str, int]:
    """What a finished trial reports: its configurations and their label counts."""
    counts = Counter(labels)
    return {"finished": 1, "members": len(labels), **{f"n_{n}": counts[n] for n in LABELS}}


class StudyProgress:
    """Configurations done (before this run and in it), labels so far, trials running."""

    def __init__(self, total: int, done_before: int):
        self.total, self.done_before, self.done = total, done_before, done_before
        self.labels: Counter[str] = Counter()
        self.evaluations: dict[str, Mapping] = {}  # running trial -> its latest evaluation
        self.start = time.perf_counter()

    def evaluated(self, trial: str, metrics: Mapping) -> None:
        """A trial reported an evaluation (step, members, live)."""
        self.evaluations[trial] = metrics

    def finished(self, trial: str, metrics: Mapping) -> None:
        """A trial finished and reported `finished_metrics`."""
        self.evaluations.pop(trial, None)
        self.done += metrics["members"]
        self.labels.update({name: metrics.get(f"n_{name}", 0) for name in LABELS})

    def line(self, running: int) -> str:
        """One line: configurations done, `running` trials, the label mix, time left."""
        elapsed = time.perf_counter() - self.start
        new = self.done - self.done_before
        left = f", ~{elapsed / new * (self.total - self.done):.0f} s left" if new else ""
        mix = ", ".join(f"{name} {count}" for name, count in self.labels.most_common() if count)
        return (
            f"[{self.done}/{self.total} configurations] {running} trials running | "
            f"{mix or 'no labels yet'} | {elapsed:.0f} s elapsed{left}"
        )

"""Where a running study stands, counted from what its trials report to Tune, and shown.

Nothing here reads the result tables. At every evaluation a trial reports its step, its
step budget, how many configurations it trains and how many still train (the others
stopped early); when it finishes, how many configurations it trained and how many got
each label (`finished_metrics`). `StudyProgress` adds those up: configurations done and
running, the labels so far, generator steps done of the study's total (a stopped
configuration counts its whole budget: nothing is left to run for it), and the time
left at this run's throughput. `LiveView` draws it with rich in at most 80 columns at
every report; `PlainView` prints short lines instead when stdout is not a terminal.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from study.schema import LABELS

WIDTH = 80  # the widest a progress line or view gets
PLAIN_EVERY_S = 30.0  # a plain line at least this often while nothing finishes


def finished_metrics(labels: Sequence[str], budget: int) -> dict[str, int]:
    """What a finished trial reports: its configurations, their step budget and labels."""
    counts = Counter(labels)
    return {
        "finished": 1, "members": len(labels), "budget": budget,
        **{f"n_{name}": counts[name] for name in LABELS},
    }  # fmt: skip


class StudyProgress:
    """Configurations and steps done (before this run and in it), trials running, labels."""

    def __init__(self, total: int, done_before: int, total_steps: int, steps_before: int):
        self.total, self.done_before, self.done = total, done_before, done_before
        self.total_steps, self.steps_before = total_steps, steps_before
        self.finished_steps = steps_before
        self.labels: Counter[str] = Counter()
        self.evaluations: dict[str, Mapping] = {}  # running trial -> its latest evaluation
        self.failed = 0
        self.start = time.monotonic()
        self.first: tuple[float, int] | None = None  # (time, steps) at the first report

    def evaluated(self, trial: str, metrics: Mapping) -> None:
        """A trial reported an evaluation (step, budget, members, live)."""
        self.evaluations[trial] = metrics
        if self.first is None:
            self.first = (time.monotonic(), self.steps)

    def finished(self, trial: str, metrics: Mapping) -> None:
        """A trial finished and reported `finished_metrics`."""
        self.evaluations.pop(trial, None)
        self.done += metrics["members"]
        self.finished_steps += metrics["members"] * metrics["budget"]
        self.labels.update({name: metrics.get(f"n_{name}", 0) for name in LABELS})

    def errored(self, trial: str) -> None:
        """A trial failed after its retries: its configurations stay without a result."""
        self.evaluations.pop(trial, None)
        self.failed += 1

    @property
    def running(self) -> int:
        """Configurations in trials that have reported and not yet finished."""
        return sum(metrics["members"] for metrics in self.evaluations.values())

    @property
    def steps(self) -> int:
        """Generator steps done: finished configurations' budgets, running ones' steps."""
        running = sum(
            m["step"] * m["live"] + m["budget"] * (m["members"] - m["live"])
            for m in self.evaluations.values()
        )
        return self.finished_steps + running

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def seconds_left(self) -> float | None:
        """Time left at this run's throughput since its first report (start-up excluded);
        None until there is one."""
        if self.first is None:
            return None
        since, steps = self.first
        new, elapsed = self.steps - steps, time.monotonic() - since
        if new <= 0 or elapsed <= 0:
            return None
        return max(self.total_steps - self.steps, 0) * elapsed / new

    def label_mix(self) -> str:
        counts = [f"{name} {count}" for name, count in self.labels.most_common() if count]
        return ", ".join(counts) or "no labels yet"

    def line(self) -> str:
        """One plain line of at most WIDTH characters."""
        text = (
            f"[{self.done}/{self.total}] {self.running} running, "
            f"{count(self.steps)}/{count(self.total_steps)} steps, "
            f"{duration(self.seconds_left())} left | {self.label_mix()}"
        )
        return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def count(number: int) -> str:
    """12, 3.4k, 5.6M: short counts for progress lines."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= scale:
            return f"{number / scale:.1f}{suffix}"
    return str(number)


def duration(seconds: float | None) -> str:
    """45s, 3m 05s, 2h 10m; "--" when unknown (never "nan")."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


class PlainView:
    """Short lines on stdout: when a trial finishes, else at most every PLAIN_EVERY_S."""

    def __init__(self, echo=print):
        self.echo = echo
        self._printed_at, self._printed_done = time.monotonic(), None

    def update(self, progress: StudyProgress) -> None:
        changed = progress.done != self._printed_done
        if changed or time.monotonic() - self._printed_at >= PLAIN_EVERY_S:
            self.echo(progress.line())
            self._printed_at, self._printed_done = time.monotonic(), progress.done

    def note(self, text: str) -> None:
        self.echo(text)

    def close(self) -> None:
        pass


class LiveView:
    """A rich live view of `progress`, at most WIDTH columns wide: drawn afresh twice a
    second (the clock moves) and at once when a trial reports."""

    def __init__(self, title: str, progress: StudyProgress, console: Console | None = None):
        self.console = console or Console(width=min(WIDTH, Console().width))
        self.live = Live(
            get_renderable=lambda: render(title, progress), console=self.console,
            refresh_per_second=2, transient=False,
        )  # fmt: skip
        self.live.start()

    def update(self, progress: StudyProgress) -> None:
        self.live.refresh()

    def note(self, text: str) -> None:
        self.live.console.print(Text(text, overflow="fold"))

    def close(self) -> None:
        self.live.stop()


def render(title: str, progress: StudyProgress) -> Group:
    """The view: a bar of configurations done, then running, steps and time, then labels."""
    head = Table.grid(padding=(0, 1))
    head.add_column(max_width=18, no_wrap=True, overflow="ellipsis")
    head.add_column(width=34)
    head.add_column(no_wrap=True)
    bar = ProgressBar(total=max(progress.total, 1), completed=progress.done, width=34)
    head.add_row(Text(title, style="bold"), bar, f"{progress.done}/{progress.total} configurations")
    status = (
        f"{progress.running} running | steps {count(progress.steps)}/"
        f"{count(progress.total_steps)} | {duration(progress.elapsed())} elapsed | "
        f"{duration(progress.seconds_left())} left"
    )
    if progress.failed:
        status += f" | {progress.failed} trials failed"
    lines = (status, progress.label_mix())
    return Group(head, *(Text(line, no_wrap=True, overflow="ellipsis") for line in lines))


def make_view(title: str, progress: StudyProgress, echo=print):
    """A LiveView on a terminal, else a PlainView (a log, a pipe, a Ray Job's log)."""
    return LiveView(title, progress) if sys.stdout.isatty() else PlainView(echo)

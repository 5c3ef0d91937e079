"""Early stopping: the labeler asked online whether a member's failure is terminal.

A study stops a member once its run is in a failure it does not come back from
(diverged, vanishing, a complete collapse that holds still), judged by the signature
functions of the final label (`study.labels`) on the same window, so the stopper and
the labeler read a run alike. The rule's settings are `study.thresholds.EarlyStopping`.
"""

from __future__ import annotations

from collections.abc import Sequence

from study.evidence import Evidence
from study.labels import Label, collapsed, diverged, judged, label_evidence, vanishing
from study.thresholds import EarlyStopping, LabelThresholds


def terminal_failure(e: Evidence, loss: str, t: LabelThresholds, rule: EarlyStopping) -> bool:
    """Whether the run is in a failure it does not come back from: diverged, vanishing,
    or a complete collapse that holds still with samples at least `rule.collapse_quality`
    sharp (a blurry or hopping blob early in a run often spreads out later: measured in
    docs/label_validation.md). Decides only these signatures: what the early stopper
    asks at every evaluation, at a fraction of a full labeling's cost."""
    e = judged(e, t)
    if diverged(e, t).holds or vanishing(e, loss, t).holds:
        return True
    collapse = collapsed(e, t)  # never holds without modes (the Dirac-GAN)
    if not (collapse.holds and collapse.kind == "complete"):
        return False
    still = e.median("sample_drift") <= t.converged_drift and (
        not e.has_modes or e.median("mass_shift") <= t.converged_shift
    )
    return still and e.median("high_quality") >= rule.collapse_quality


class EarlyStopper:
    """The labeler online: at each evaluation, whether to stop each member.

    A member stops once a terminal failure (diverged, vanishing, complete collapse) has
    been its label for `patience` consecutive evaluations, and not before
    `min_stop_fraction` of its budget; `provisional[member]` is then the label it
    stopped with. Use an instance as the trainer's `should_stop`.
    """

    def __init__(
        self,
        losses: Sequence[str],
        budgets: Sequence[int],
        t: LabelThresholds,
        rule: EarlyStopping | None = None,
    ):
        self.losses, self.budgets, self.t = losses, budgets, t
        self.rule = rule or EarlyStopping()
        self.streaks: dict[int, int] = {}
        self.provisional: dict[int, Label] = {}

    def __call__(self, member: int, history: list[dict]) -> bool:
        e = Evidence.from_history(history, self.t.window, self.t.window_share)
        terminal = terminal_failure(e, self.losses[member], self.t, self.rule)
        self.streaks[member] = self.streaks.get(member, 0) + 1 if terminal else 0
        late_enough = history[-1]["step"] >= self.rule.min_stop_fraction * self.budgets[member]
        stop = late_enough and self.streaks[member] >= self.rule.patience
        if stop:
            self.provisional[member] = label_evidence(e, self.losses[member], self.t, False)
        return stop

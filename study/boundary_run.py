"""A boundary search run round by round (docs/boundary.md), without Ray of its own.

The planner (`study.boundary.BoundaryMapper`) proposes each round from the labeled runs of
the rounds before it, and that is a pure function of them. So the rounds are replayed
from the trials table on every run: a round whose configurations all have results is
passed over, the first one that lacks some is finished (`run_round`, the runner's Tune
layer, trains only the missing ones), and the search goes on from there. `--resume`
therefore continues the round that was cut off, then the ones after it, and nothing is
trained twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from study.boundary import BoundaryMapper
from study.config import TrainConfig
from study.expand import trial_id
from study.results import ResultsStore
from study.spec import StudySpec

# run_round(configurations, round number) -> the failed trials' lines
RunRound = Callable[[list[TrainConfig], int], list[str]]


@dataclass
class BoundaryOutcome:
    """How far a boundary search got: configurations proposed, those with a result."""

    proposed: int
    done: int
    failed: list[str]


def round_configs(spec: StudySpec, points: list[dict]) -> list[TrainConfig]:
    """A round's configurations: every proposed point at `search.seeds` seeds, counted
    up from the spec's fixed seed (0 when it fixes none)."""
    first = spec.fixed.get("seed", 0)
    seeds = range(first, first + spec.search.seeds)
    return [TrainConfig(**{**spec.fixed, **point, "seed": s}) for point in points for s in seeds]


def labels_by_id(store: ResultsStore) -> dict[str, str]:
    """trial id -> label of every configuration with a committed result."""
    if store.layout() == "empty":
        return {}
    table = store.dataset("trials").to_table(columns=["trial_id", "label"])
    return dict(zip(table.column("trial_id").to_pylist(), table.column("label").to_pylist()))


def run_boundary(
    spec: StudySpec, store: ResultsStore, run_round: RunRound, echo
) -> BoundaryOutcome:
    """Replay the rounds done, finish the one cut off, and run the rest until the planner
    has nothing uncertain left or the budget is spent. Stops at a round with failed
    trials (their points have no label, so the next round cannot be planned)."""
    mapper = BoundaryMapper(spec.boundary_axes(), spec.search)
    observations: list[tuple[dict, str]] = []
    proposed = 0
    labels = labels_by_id(store)  # read again only after a round has trained something
    for number in itertools.count():
        points = mapper.propose(observations)
        if not points:
            break
        configs = round_configs(spec, points)
        ids = [trial_id(config) for config in configs]
        proposed += len(configs)
        if any(tid not in labels for tid in ids):
            failed = run_round(configs, number)
            labels = labels_by_id(store)
            if failed:
                done = sum(tid in labels for tid in ids)
                return BoundaryOutcome(proposed, len(observations) + done, failed)
        for point, tid in zip(_repeat(points, spec.search.seeds), ids):
            observations.append((point, labels[tid]))
    echo(f"boundary search done: {proposed} configurations in {number} rounds")
    return BoundaryOutcome(proposed, len(observations), [])


def _repeat(points: list[dict], times: int) -> list[dict]:
    """Each point `times` times in a row, as round_configs lays out its seeds."""
    return [point for point in points for _ in range(times)]

"""The rounds of a boundary study (`search: {algorithm: boundary}`, docs/boundary.md).

`study.boundary` plans; this module turns its proposals into configurations and keeps
no state between rounds but the trials table. Round k is always planned from the
labeled runs of rounds 0 to k - 1, read back from the table (its `round` column says
which round proposed each run). The proposal is a pure function of those runs, so a
study that is cut off and resumed plans its rounds again exactly as before: the rounds
it finished are found done (their trial ids are in the table) and not trained again,
the round it was in finishes, and the rounds after it follow. The runner passes in how
one round's configurations are trained (packs through Ray Tune); no Ray here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from study.boundary import BoundaryMapper, Observation, search_axes
from study.config import TrainConfig
from study.results import ResultsStore
from study.spec import StudySpec

# Trains one round's configurations (those not done yet) as round `round`; returns the
# lines of the trials that failed after their retries.
RunRound = Callable[[list[TrainConfig], int], list[str]]


@dataclass(frozen=True)
class LabeledRun:
    """One row of the trials table, as the planner needs it."""

    point: dict  # the searched keys' values
    label: str
    round: int | None  # the round that proposed it (null: not a boundary study's row)


def study_mapper(spec: StudySpec) -> BoundaryMapper:
    """The planner of a boundary spec (its axes: the spec's space)."""
    return BoundaryMapper(search_axes(spec.space), spec.search)


def round_configs(spec: StudySpec, proposal: list[dict]) -> list[TrainConfig]:
    """A round's configurations: every proposed point at `search.seeds` seeds, counting
    up from the spec's seed (fixed.seed, default 0)."""
    first = TrainConfig(**spec.fixed).seed
    fixed = {key: value for key, value in spec.fixed.items() if key != "seed"}
    return [
        TrainConfig(**fixed, **point, seed=first + offset)
        for point in proposal
        for offset in range(spec.search.seeds)
    ]


def labeled_runs(spec: StudySpec, store: ResultsStore) -> list[LabeledRun]:
    """The study's labeled runs so far: the searched columns, label and round of the
    trials table (nothing else is read)."""
    if store.layout() == "empty":
        return []
    columns = [*spec.space, "label", "round"]
    rows = store.dataset("trials").to_table(columns=columns).to_pylist()
    return [LabeledRun({k: row[k] for k in spec.space}, row["label"], row["round"]) for row in rows]


def before_round(runs: list[LabeledRun], round: int) -> list[Observation]:
    """What the planner knew when it proposed round `round`: the runs of earlier rounds."""
    return [(run.point, run.label) for run in runs if run.round is not None and run.round < round]


def run_rounds(spec: StudySpec, store: ResultsStore, run_round: RunRound) -> tuple[list[str], bool]:
    """Plan and run rounds until the planner proposes nothing or a round's trials fail.

    Returns (failed trial lines, whether the search finished: budget spent or nothing
    left uncertain).
    """
    mapper = study_mapper(spec)
    round = 0
    while proposal := mapper.propose(before_round(labeled_runs(spec, store), round)):
        failed = run_round(round_configs(spec, proposal), round)
        if failed:
            return failed, False
        round += 1
    return [], True

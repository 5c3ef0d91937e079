"""Adaptive boundary mapping: spend a study's configurations where its label map is unsure.

A study's map says, per point of its numeric axes (learning rates, penalty weights), which
label training ends with. Inside a region the label is obvious from a few points; only
near the boundaries between regions does a new point change the map. This module plans
such a study in rounds, without Ray or torch (docs/boundary.md says why it works this way):

- The candidates form a lattice: the coarse grid of every numeric axis (`coarse` points,
  evenly spaced in log10 on a log axis), halved again and again while a step stays at or
  above the axis's resolution floor. Categorical axes are crossed: each combination of
  their values gets its own map.
- Round 0 is the coarse grid. After it, every combination's numeric space is a tree of
  cells (boxes with lattice corners): a cell whose split points are all labeled is
  replaced by its halves. A leaf is uncertain when the runs at its corners, every seed
  counted, do not all carry the same label, and it can still be halved.
- Each round halves the uncertain leaves with the most at stake, side x (1 - the
  majority share of the corner runs), and stops at `per_round` configurations; a leaf's
  side (the geometric mean of its sides, as a share of each axis) stands for how far
  its inside is from a labeled point, the sigma of Bryan et al.'s straddle score. The search
  ends at the budget, or when no leaf is uncertain.

Proposals are a pure function of the labeled points so far, so a study that is cut off
proposes the same next round again. `predict_map` draws a label map over any grid from
scattered labeled points (a distance-weighted vote of the nearest labeled points' runs,
with an uncertainty per query point).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sklearn.neighbors import KDTree

# (configuration, label): one trained run; several seeds of a point are several runs.
Observation = tuple[Mapping[str, Any], str]
Index = tuple[int, ...]  # a lattice point of the numeric axes
Combo = tuple[Any, ...]  # one value per categorical axis
DEFAULT_LEVELS = 3  # without a resolution floor, halve the coarse step 3 times (1/8)
NEIGHBOURS = 3  # labeled points that vote on a map point's label (`predict_map`)


@dataclass(frozen=True)
class NumericAxis:
    """A searched number from `low` to `high`, on a log (default) or linear scale."""

    name: str
    low: float
    high: float
    log: bool = True

    def to_unit(self, values: Any) -> np.ndarray:
        """Positions in [0, 1] along the axis (in log10 on a log axis)."""
        values = np.asarray(values, dtype=float)
        if self.log:
            return np.log(values / self.low) / math.log(self.high / self.low)
        return (values - self.low) / (self.high - self.low)

    def from_unit(self, unit: Any) -> np.ndarray:
        """The axis values at positions in [0, 1]."""
        unit = np.asarray(unit, dtype=float)
        if self.log:
            return self.low * (self.high / self.low) ** unit
        return self.low + (self.high - self.low) * unit

    def floor_share(self, floor: float) -> float:
        """A resolution floor as a share of the axis: a factor on log axes, a step on linear."""
        if self.log:
            return math.log(floor) / math.log(self.high / self.low)
        return floor / (self.high - self.low)


@dataclass(frozen=True)
class CategoricalAxis:
    """A searched choice (a loss, a regularizer): each value gets its own map."""

    name: str
    values: tuple[Any, ...]


Axis = NumericAxis | CategoricalAxis


class BoundarySearch(BaseModel):
    """`search: {algorithm: boundary, ...}`: adaptive boundary mapping (docs/boundary.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["boundary"] = Field("boundary", description="adaptive boundary mapping")
    budget: int = Field(ge=1, description="configurations to train in all, every seed counted")
    per_round: int = Field(32, ge=1, description="configurations per refinement round")
    coarse: int = Field(5, ge=2, le=65, description="starting grid points per numeric axis")
    seeds: int = Field(1, ge=1, le=64, description="seeds per point; disagreeing seeds = unsure")
    resolution: dict[str, float] = Field(
        default_factory=dict,
        description="smallest step per numeric axis: a factor > 1 on a log axis, a step on "
        "a linear one (default: the coarse step / 8)",
    )

    @model_validator(mode="after")
    def _check_round(self) -> BoundarySearch:
        if self.per_round < self.seeds:
            raise ValueError(
                f"search.per_round: {self.per_round} is fewer than the {self.seeds} "
                "configurations (search.seeds) of one point"
            )
        return self

    def check(self, axes: Sequence[Axis]) -> None:
        """Raise ValueError, naming the key, if this search cannot map `axes`."""
        numeric = [axis for axis in axes if isinstance(axis, NumericAxis)]
        if not numeric:
            raise ValueError("space: a boundary search needs at least one numeric range to map")
        for axis in axes:
            _check_axis(axis)
        names = {axis.name for axis in numeric}
        for name, floor in self.resolution.items():
            if name not in names:
                raise ValueError(
                    f"search.resolution.{name}: not a numeric axis; allowed: {sorted(names)}"
                )
            _check_floor(next(a for a in numeric if a.name == name), floor, self.coarse)
        grid = self.seeds * self.coarse ** len(numeric) * _combinations(axes)
        if self.budget < grid:
            raise ValueError(
                f"search.budget: {self.budget} is smaller than the coarse grid's {grid} "
                f"configurations (search.coarse {self.coarse} per numeric axis x every "
                f"categorical combination x search.seeds {self.seeds})"
            )


def _check_axis(axis: Axis) -> None:
    if isinstance(axis, CategoricalAxis):
        if len(set(axis.values)) < 2:
            raise ValueError(
                f"space.{axis.name}: a boundary search needs at least two values; "
                f"put a single value under fixed"
            )
        return
    if not axis.low < axis.high:
        raise ValueError(
            f"space.{axis.name}: a boundary search needs a range with low < high "
            f"(got [{axis.low}, {axis.high}]); put a single value under fixed"
        )
    if axis.log and axis.low <= 0:
        raise ValueError(f"space.{axis.name}: a log axis needs low > 0 (got {axis.low})")


def _check_floor(axis: NumericAxis, floor: float, coarse: int) -> None:
    key = f"search.resolution.{axis.name}"
    if axis.log and floor <= 1:
        raise ValueError(f"{key}: on a log axis the floor is a factor > 1 (got {floor})")
    if not axis.log and floor <= 0:
        raise ValueError(f"{key}: the floor is a step > 0 (got {floor})")
    share = axis.floor_share(floor)
    if share > 1:
        span = f"x{axis.high / axis.low:g}" if axis.log else f"{axis.high - axis.low:g}"
        raise ValueError(f"{key}: {floor} is larger than the axis range ({span})")
    if share > 1 / (coarse - 1) * (1 + 1e-9):
        raise ValueError(
            f"{key}: {floor} is coarser than the coarse grid's step; lower it or search.coarse"
        )


def _combinations(axes: Sequence[Axis]) -> int:
    return math.prod(len(a.values) for a in axes if isinstance(a, CategoricalAxis))


@dataclass(frozen=True)
class Cell:
    """A box of lattice points in one categorical combination: corners `low` and `high`."""

    combo: Combo
    low: Index
    high: Index

    def splittable(self) -> list[bool]:
        """The axes on which the cell can still be halved (at least two lattice steps)."""
        return [h - lo >= 2 for lo, h in zip(self.low, self.high)]

    def corners(self) -> Iterator[Index]:
        return itertools.product(*zip(self.low, self.high))

    def split_points(self) -> list[Index]:
        """Lattice points that halving adds: every mix of low/mid/high that is no corner."""
        steps = [
            (lo, (lo + h) // 2, h) if split else (lo, h)
            for lo, h, split in zip(self.low, self.high, self.splittable())
        ]
        corners = set(self.corners())
        return [index for index in itertools.product(*steps) if index not in corners]

    def halves(self) -> list[Cell]:
        sides = [
            [(lo, (lo + h) // 2), ((lo + h) // 2, h)] if split else [(lo, h)]
            for lo, h, split in zip(self.low, self.high, self.splittable())
        ]
        return [
            Cell(self.combo, tuple(s[0] for s in pick), tuple(s[1] for s in pick))
            for pick in itertools.product(*sides)
        ]


class BoundaryMapper:
    """The rounds of one boundary search over `axes` (validated on construction)."""

    def __init__(self, axes: Sequence[Axis], search: BoundarySearch) -> None:
        search.check(axes)
        self.search = search
        self.numeric = tuple(a for a in axes if isinstance(a, NumericAxis))
        self.categorical = tuple(a for a in axes if isinstance(a, CategoricalAxis))
        self.levels = tuple(self._levels(axis) for axis in self.numeric)
        self.sizes = tuple((search.coarse - 1) * 2**level + 1 for level in self.levels)
        self.combos = list(itertools.product(*(a.values for a in self.categorical)))

    def _levels(self, axis: NumericAxis) -> int:
        """How often the coarse step can be halved without going below the floor."""
        floor = self.search.resolution.get(axis.name)
        if floor is None:
            return DEFAULT_LEVELS
        ratio = 1 / (self.search.coarse - 1) / axis.floor_share(floor)
        return max(0, math.floor(math.log2(ratio) + 1e-9))

    def point(self, combo: Combo, index: Index) -> dict[str, Any]:
        """The configuration values (axis name -> value) of a lattice point."""
        values = {a.name: v for a, v in zip(self.categorical, combo)}
        for axis, i, size in zip(self.numeric, index, self.sizes):
            values[axis.name] = float(axis.from_unit(i / (size - 1)))
        return values

    def locate(self, point: Mapping[str, Any]) -> tuple[Combo, Index] | None:
        """The lattice point a configuration sits on, or None if it is off the lattice."""
        combo = tuple(point[a.name] for a in self.categorical)
        if combo not in self.combos:
            return None
        index = []
        for axis, size in zip(self.numeric, self.sizes):
            position = float(axis.to_unit(point[axis.name])) * (size - 1)
            if not -1e-6 < position < size - 1 + 1e-6 or abs(position - round(position)) > 1e-6:
                return None
            index.append(round(position))
        return combo, tuple(index)

    def coarse_grid(self) -> list[dict[str, Any]]:
        """Round 0: the coarse grid over the numeric axes, for every categorical combination."""
        return [self.point(combo, index) for combo, index in self._coarse_indices()]

    def _coarse_indices(self) -> list[tuple[Combo, Index]]:
        steps = [range(0, size, 2**level) for size, level in zip(self.sizes, self.levels)]
        return [(c, index) for c in self.combos for index in itertools.product(*steps)]

    def propose(self, observations: Sequence[Observation]) -> list[dict[str, Any]]:
        """The next round's points (each to train at `search.seeds` seeds); [] when done.

        The coarse grid first (whatever of it is missing); then the split points of the
        uncertain leaves, most at stake first, never a labeled point again and never
        finer than the resolution floor, within `per_round` and the budget.
        """
        runs = self._runs(observations)
        missing = [(c, i) for c, i in self._coarse_indices() if i not in runs[c]]
        if missing:
            return [self.point(c, i) for c, i in missing]
        room = min(self.search.per_round, self.search.budget - len(observations))
        room //= self.search.seeds
        chosen: dict[tuple[Combo, Index], None] = {}
        for cell in self.uncertain_cells(observations):
            for index in cell.split_points():
                if len(chosen) >= room:
                    return [self.point(c, i) for c, i in chosen]
                if index not in runs[cell.combo]:
                    chosen[(cell.combo, index)] = None
        return [self.point(c, i) for c, i in chosen]

    def uncertain_cells(self, observations: Sequence[Observation]) -> list[Cell]:
        """The leaves whose corner runs disagree and that can still be halved, most at
        stake (side x share of corner runs outside the majority label) first."""
        runs = self._runs(observations)
        scored = []
        for cell in self._leaves(runs):
            votes = sum((runs[cell.combo][corner] for corner in cell.corners()), Counter())
            disagreement = 1 - max(votes.values()) / sum(votes.values())
            if disagreement > 0 and any(cell.splittable()):
                scored.append((disagreement * self._side(cell), cell))
        scored.sort(key=lambda pair: -pair[0])  # stable: ties keep the lattice order
        return [cell for _, cell in scored]

    def _runs(self, observations: Sequence[Observation]) -> dict[Combo, dict[Index, Counter]]:
        """Label counts per lattice point, per combination; off-lattice runs are ignored."""
        runs: dict[Combo, dict[Index, Counter]] = {c: {} for c in self.combos}
        for point, label in observations:
            located = self.locate(point)
            if located is not None:
                runs[located[0]].setdefault(located[1], Counter())[label] += 1
        return runs

    def _leaves(self, runs: dict[Combo, dict[Index, Counter]]) -> Iterator[Cell]:
        """Every cell of the tree that is not split yet (a cell is split once all its
        split points are labeled); only cells whose corners are all labeled."""
        stack = [self._coarse_cell(c, index) for c, index in self._coarse_indices()]
        stack = [cell for cell in stack if cell is not None][::-1]
        while stack:
            cell = stack.pop()
            labeled = runs[cell.combo]
            if not all(corner in labeled for corner in cell.corners()):
                continue
            splits = cell.split_points() if any(cell.splittable()) else []
            if splits and all(index in labeled for index in splits):
                stack.extend(cell.halves()[::-1])
            else:
                yield cell

    def _coarse_cell(self, combo: Combo, low: Index) -> Cell | None:
        """The coarse cell whose low corner is `low`, if it lies inside the lattice."""
        high = tuple(i + 2**level for i, level in zip(low, self.levels))
        if any(h >= size for h, size in zip(high, self.sizes)):
            return None
        return Cell(combo, low, high)

    def _side(self, cell: Cell) -> float:
        """The geometric mean of the cell's sides, each as a share of its axis: how far
        the cell's inside lies from its labeled corners (in 2D, sqrt(its share of the map))."""
        shares = [(h - lo) / (s - 1) for lo, h, s in zip(cell.low, cell.high, self.sizes)]
        return math.prod(shares) ** (1 / len(shares))


@dataclass(frozen=True)
class LabelMap:
    """A predicted label per query point, and how unsure it is (0 sure, 1 a coin toss)."""

    labels: np.ndarray  # object array of labels ("" where a combination has no runs)
    uncertainty: np.ndarray  # float in [0, 1]


def predict_map(
    axes: Sequence[Axis], observations: Sequence[Observation], queries: Sequence[Mapping]
) -> LabelMap:
    """Label every query point from the scattered labeled points around it.

    Distances are measured in unit coordinates of the numeric axes (log10 on log axes),
    within the query's categorical combination. The NEIGHBOURS nearest labeled points
    vote with all their runs (every seed), each run weighted by 1 / distance; a trained
    point itself decides alone (its seeds' majority). A vote of neighbours, rather than
    the nearest point alone, estimates the seeds' majority label between trained points
    where single runs are noisy (bench/RESULTS.md, ring8). Uncertainty is how split the
    vote is: 2 x (1 - the winning label's share), capped at 1 (0 all agree, 1 a coin
    toss between two labels).
    """
    numeric = [a for a in axes if isinstance(a, NumericAxis)]
    categorical = [a for a in axes if isinstance(a, CategoricalAxis)]
    groups: dict[Combo, dict[tuple, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for point, label in observations:
        combo = tuple(point[a.name] for a in categorical)
        groups[combo][tuple(float(point[a.name]) for a in numeric)][label] += 1
    labels = np.full(len(queries), "", dtype=object)
    uncertainty = np.ones(len(queries))
    by_combo: dict[Combo, list[int]] = defaultdict(list)
    for row, query in enumerate(queries):
        by_combo[tuple(query[a.name] for a in categorical)].append(row)
    for combo, rows in by_combo.items():
        if combo not in groups:
            continue
        where = _unit([[queries[r][a.name] for a in numeric] for r in rows], numeric)
        labels[rows], uncertainty[rows] = _neighbour_vote(groups[combo], where, numeric)
    return LabelMap(labels, uncertainty)


def _unit(values: Sequence[Sequence[float]], numeric: Sequence[NumericAxis]) -> np.ndarray:
    """Points as unit coordinates, one column per numeric axis."""
    values = np.asarray(values, dtype=float).reshape(-1, len(numeric))
    return np.stack([axis.to_unit(values[:, j]) for j, axis in enumerate(numeric)], axis=1)


def _neighbour_vote(points: dict[tuple, Counter], where: np.ndarray, numeric) -> tuple:
    """(labels, uncertainty) at `where` from labeled points {location: label counts}."""
    classes = sorted({label for votes in points.values() for label in votes})
    counts = np.array([[votes[c] for c in classes] for votes in points.values()], dtype=float)
    k = min(NEIGHBOURS, len(points))
    distance, nearest = KDTree(_unit(list(points), numeric)).query(where, k=k)
    on_point = distance[:, :1] <= 1e-12  # a trained point: its own runs decide
    weight = np.where(on_point, (distance <= 1e-12).astype(float), 1 / np.maximum(distance, 1e-12))
    tally = np.einsum("qk,qkc->qc", weight, counts[nearest])
    share = tally.max(axis=1) / tally.sum(axis=1)
    winner = np.asarray(classes, dtype=object)[tally.argmax(axis=1)]
    return winner, np.minimum(1.0, 2 * (1 - share))


def dense_grid(axes: Sequence[Axis], size: int) -> list[dict[str, Any]]:
    """`size` evenly spaced values per numeric axis (in log10 on log axes), crossed with
    every categorical combination: the query points of a drawn map."""
    numeric = [a for a in axes if isinstance(a, NumericAxis)]
    categorical = [a for a in axes if isinstance(a, CategoricalAxis)]
    unit = np.linspace(0.0, 1.0, size)
    columns = [[float(v) for v in axis.from_unit(unit)] for axis in numeric]
    names = [a.name for a in categorical] + [a.name for a in numeric]
    return [
        dict(zip(names, combo + xs))
        for combo in itertools.product(*(a.values for a in categorical))
        for xs in itertools.product(*columns)
    ]

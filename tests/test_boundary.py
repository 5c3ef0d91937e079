"""Adaptive boundary mapping: the coarse grid, where the rounds go, when they stop, the
predicted map, and the search keys' validation (study/boundary.py, docs/boundary.md)."""

import math
import re

import numpy as np
import pytest
from pydantic import ValidationError

from study.boundary import (
    BoundaryMapper,
    BoundarySearch,
    CategoricalAxis,
    NumericAxis,
    dense_grid,
    predict_map,
)

LR = NumericAxis("lr_g", 1e-4, 1e-1)  # three decades, log scale
WEIGHT = NumericAxis("reg_weight", 0.01, 100.0)  # four decades, log scale
AXES = [LR, WEIGHT]


def line_label(point) -> str:
    """A label that flips along a line in log space: lr_g * reg_weight = 0.03."""
    return "converged" if point["lr_g"] * point["reg_weight"] < 0.03 else "diverged"


def distance_to_line(point) -> float:
    """Distance from the line, in unit coordinates of the two log axes."""
    u, v = LR.to_unit(point["lr_g"]), WEIGHT.to_unit(point["reg_weight"])
    # log10(lr) + log10(w) = log10(0.03), i.e. 3u + 4v = log10(0.03) + 4 + 2
    return abs(3 * u + 4 * v - (math.log10(0.03) + 6)) / 5


def run_search(mapper, label=line_label, seeds=(0,)):
    """Every round until the mapper says done: (observations, rounds)."""
    observations, rounds = [], []
    while proposal := mapper.propose(observations):
        rounds.append(proposal)
        observations += [
            ({**p, "seed": s}, label({**p, "seed": s})) for p in proposal for s in seeds
        ]
    return observations, rounds


def test_coarse_grid_covers_log_linear_and_categorical_axes():
    axes = [
        NumericAxis("lr_g", 1e-4, 1e-2),
        NumericAxis("beta1", 0.0, 0.9, log=False),
        CategoricalAxis("loss", ("minimax", "hinge")),
    ]
    grid = BoundaryMapper(axes, BoundarySearch(budget=100, coarse=3)).coarse_grid()
    # 3 x 3 numeric points for each of the 2 losses, none twice.
    assert len(grid) == 18
    assert len({tuple(sorted(p.items())) for p in grid}) == 18
    # The log axis is spaced evenly in log10, the linear one evenly.
    assert sorted({p["lr_g"] for p in grid}) == pytest.approx([1e-4, 1e-3, 1e-2])
    assert sorted({p["beta1"] for p in grid}) == pytest.approx([0.0, 0.45, 0.9])
    # Every loss gets the whole numeric grid.
    assert sorted(p["loss"] for p in grid) == ["hinge"] * 9 + ["minimax"] * 9


def test_rounds_concentrate_at_the_boundary_and_never_repeat_a_point():
    search = BoundarySearch(budget=400, per_round=16, coarse=5, resolution={"lr_g": 1.2})
    mapper = BoundaryMapper(AXES, search)
    observations, rounds = run_search(mapper)
    refined = [p for r in rounds[1:] for p in r]
    # Round 0 is the 5 x 5 coarse grid; the others refine.
    assert len(rounds[0]) == 25 and len(refined) > 50
    # Every refined point lies in a coarse cell the line crosses (within its diagonal).
    coarse_diagonal = math.hypot(1 / 4, 1 / 4)
    assert max(distance_to_line(p) for p in refined) < coarse_diagonal
    # Most refined points hug the line: within two finest steps of it, a band that
    # holds a sixth of the square (measured on a dense grid), lie three in four points.
    band = np.mean([distance_to_line(p) < 2 / 32 for p in dense_grid(AXES, 65)])
    near = np.mean([distance_to_line(p) < 2 / 32 for p in refined])
    assert band == pytest.approx(0.16, abs=0.03)
    assert near > 0.7
    # No point is proposed twice, in a round or across rounds.
    keys = [(p["lr_g"], p["reg_weight"]) for r in rounds for p in r]
    assert len(keys) == len(set(keys))
    # It stopped because nothing was left to refine, under its budget.
    assert len(observations) < search.budget
    assert mapper.uncertain_cells(observations) == []


def test_rounds_never_go_below_the_resolution_floor():
    search = BoundarySearch(
        budget=1000, per_round=40, coarse=3, resolution={"lr_g": 1.3, "reg_weight": 2.0}
    )
    observations, _ = run_search(BoundaryMapper(AXES, search))
    for axis, floor in ((LR, 1.3), (WEIGHT, 2.0)):
        values = np.unique([point[axis.name] for point, _ in observations])
        # Neighbouring values on the axis are at least the floor's factor apart...
        assert np.min(values[1:] / values[:-1]) >= floor * (1 - 1e-9)
        # ... and the finest step is within a factor 2 of it (halving stops just above).
        assert np.min(values[1:] / values[:-1]) < floor**2


def test_each_categorical_combination_is_refined_on_its_own():
    axes = [*AXES, CategoricalAxis("loss", ("minimax", "hinge"))]
    mapper = BoundaryMapper(axes, BoundarySearch(budget=400, per_round=16, coarse=5))

    def label(point):  # only the hinge map has a boundary; minimax converges everywhere
        return line_label(point) if point["loss"] == "hinge" else "converged"

    _, rounds = run_search(mapper, label=label)
    # Round 0 is both maps' coarse grid; every later point refines the hinge map only.
    assert sorted(p["loss"] for p in rounds[0]) == ["hinge"] * 25 + ["minimax"] * 25
    assert {p["loss"] for r in rounds[1:] for p in r} == {"hinge"}


def test_the_budget_caps_the_rounds():
    search = BoundarySearch(budget=60, per_round=16, coarse=5)
    observations, rounds = run_search(BoundaryMapper(AXES, search))
    # 25 coarse + 16 + 16 + the 3 left: exactly the budget, never beyond.
    assert [len(r) for r in rounds] == [25, 16, 16, 3]
    assert len(observations) == 60


def test_nothing_uncertain_means_done_after_the_coarse_grid():
    mapper = BoundaryMapper(AXES, BoundarySearch(budget=400, coarse=4))
    observations, rounds = run_search(mapper, label=lambda point: "converged")
    # One label everywhere: the coarse grid settles the map, nothing more is trained.
    assert len(rounds) == 1 and len(observations) == 16
    assert mapper.propose(observations) == []


def test_points_whose_seeds_disagree_are_refined():
    mapper = BoundaryMapper(AXES, BoundarySearch(budget=400, coarse=5, seeds=2))
    centre = {"lr_g": float(LR.from_unit(0.5)), "reg_weight": float(WEIGHT.from_unit(0.5))}

    def label(point):  # seed 1 disagrees at the centre only
        at_centre = all(point[k] == pytest.approx(v) for k, v in centre.items())
        return "oscillating" if at_centre and point["seed"] == 1 else "converged"

    observations, _ = run_search(mapper, label=label, seeds=(0, 1))
    refined = {(p["lr_g"], p["reg_weight"]) for p, _ in observations[2 * 25 :]}
    # Only the four coarse cells around the centre are refined, and all of them.
    unit = {
        (round(float(LR.to_unit(a)), 6), round(float(WEIGHT.to_unit(b)), 6)) for a, b in refined
    }
    assert all(0.25 - 1e-9 <= u <= 0.75 + 1e-9 for pair in unit for u in pair)
    assert {(0.375, 0.375), (0.375, 0.625), (0.625, 0.375), (0.625, 0.625)} <= unit


def test_leaves_are_ranked_by_side_times_disagreement():
    # A 3 x 3 coarse grid; the top-right coarse cell is split into four leaves of half
    # its side. Ten runs per point, all converged but for two corners: (0, 0), a corner
    # of the big bottom-left cell only, has 4 diverged runs (disagreement 4/40 = 0.1);
    # (1, 1), a corner of the small top-right leaf only, is all oscillating (10/40).
    mapper = BoundaryMapper(AXES, BoundarySearch(budget=400, coarse=3))
    unit = [0.5, 0.75, 1.0]
    split = [
        (u, v)
        for u in unit
        for v in unit
        if (u, v) not in {(0.5, 0.5), (1.0, 0.5), (0.5, 1.0), (1.0, 1.0)}
    ]
    coarse = [(u, v) for u in (0.0, 0.5, 1.0) for v in (0.0, 0.5, 1.0)]
    observations = []
    for u, v in coarse + split:
        point = {"lr_g": float(LR.from_unit(u)), "reg_weight": float(WEIGHT.from_unit(v))}
        labels = ["converged"] * 10
        if (u, v) == (0.0, 0.0):
            labels = ["diverged"] * 4 + ["converged"] * 6
        if (u, v) == (1.0, 1.0):
            labels = ["oscillating"] * 10
        observations += [(point, label) for label in labels]
    cells = mapper.uncertain_cells(observations)
    shares = [
        tuple((h - lo) / (s - 1) for lo, h, s in zip(c.low, c.high, mapper.sizes)) for c in cells
    ]
    lows = [tuple(lo / (s - 1) for lo, s in zip(c.low, mapper.sizes)) for c in cells]
    # Exactly those two leaves are uncertain. The small one goes first: side x
    # disagreement is 0.25 x 0.25 against the big cell's 0.5 x 0.1 (by area x
    # disagreement, the big cell would: 0.0156 against 0.025).
    assert lows == [(0.75, 0.75), (0.0, 0.0)]
    assert shares == [(0.25, 0.25), (0.5, 0.5)]


def test_adaptive_map_beats_random_points_at_the_same_budget():
    search = BoundarySearch(budget=120, per_round=16, coarse=5)
    mapper = BoundaryMapper(AXES, search)
    adaptive, _ = run_search(mapper)
    queries = dense_grid(AXES, 33)
    truth = np.array([line_label(q) for q in queries], dtype=object)
    rng = np.random.default_rng(0)
    accuracy = np.mean(predict_map(AXES, adaptive, queries).labels == truth)
    random_accuracy = []
    for _ in range(5):
        picks = rng.choice(len(queries), size=len(adaptive), replace=False)
        random = [(queries[i], line_label(queries[i])) for i in picks]
        random_accuracy.append(np.mean(predict_map(AXES, random, queries).labels == truth))
    # With 120 points (11% of the 33 x 33 grid) the adaptive map is nearly exact...
    assert accuracy > 0.98
    # ... and better than the best of five random draws of the same number.
    assert accuracy > max(random_accuracy) + 0.005


def test_predicted_map_recovers_two_regions_and_is_unsure_at_the_boundary():
    axes = [NumericAxis("lr_g", 1e-3, 1.0), NumericAxis("beta1", 0.0, 1.0, log=False)]
    threshold = float(axes[0].from_unit(0.46))  # between the 4th and 5th sampled columns
    scattered = dense_grid(axes, 9)  # 81 points at unit steps of 1/8, labeled by the line
    observations = [(p, "converged" if p["lr_g"] < threshold else "diverged") for p in scattered]
    queries = dense_grid(axes, 41)
    predicted = predict_map(axes, observations, queries)
    truth = np.array(["converged" if q["lr_g"] < threshold else "diverged" for q in queries])
    unit = np.array([float(axes[0].to_unit(q["lr_g"])) for q in queries])
    # The two regions come back: only the query column at 0.45, between the sampled
    # boundary (0.4375, midway between sampled columns) and the true one, is wrong.
    assert np.mean(predicted.labels == truth) == pytest.approx(40 / 41, abs=1e-9)
    # Unsure next to the sampled boundary (midway between columns 0.375 and 0.5)...
    assert np.all(predicted.uncertainty[np.abs(unit - 0.4375) < 0.02] > 0.6)
    # ... and sure deep inside a region.
    assert np.all(predicted.uncertainty[np.abs(unit - 0.4375) > 0.3] < 0.2)
    assert np.all((predicted.uncertainty >= 0) & (predicted.uncertainty <= 1))


def test_predicted_map_keeps_categories_apart_and_shows_seed_disagreement():
    axes = [NumericAxis("lr_g", 1e-3, 1.0), CategoricalAxis("loss", ("minimax", "hinge"))]
    observations = [
        ({"lr_g": 1e-3, "loss": "minimax"}, "converged"),
        ({"lr_g": 1.0, "loss": "minimax"}, "converged"),
        ({"lr_g": 1e-3, "loss": "hinge"}, "diverged"),
        ({"lr_g": 1.0, "loss": "hinge"}, "diverged"),
        ({"lr_g": 1.0, "loss": "hinge"}, "collapsed"),
    ]
    queries = [{"lr_g": 2e-3, "loss": "minimax"}, {"lr_g": 0.9, "loss": "hinge"}]
    predicted = predict_map(axes, observations, queries)
    # Each loss is mapped from its own runs only.
    assert list(predicted.labels) == ["converged", "diverged"]
    # Minimax's two points agree: sure. The hinge point's two seeds disagree, so next to
    # it the vote is nearly even: a coin toss.
    assert predicted.uncertainty[0] == pytest.approx(0.0, abs=1e-9)
    assert 0.95 < predicted.uncertainty[1] <= 1.0


def test_a_lone_odd_run_labels_its_own_point_but_not_its_neighbourhood():
    axis = NumericAxis("lr_g", 1e-3, 1.0)
    values = [float(v) for v in axis.from_unit(np.linspace(0, 1, 9))]
    observations = [({"lr_g": v}, "collapsed" if k == 4 else "converged")
                    for k, v in enumerate(values)]  # fmt: skip
    between = float(axis.from_unit(0.44))  # nearer the odd point (0.5) than any other
    predicted = predict_map([axis], observations, [{"lr_g": values[4]}, {"lr_g": between}])
    # The odd run's own point keeps its label; between points, its neighbours outvote it.
    assert list(predicted.labels) == ["collapsed", "converged"]


@pytest.mark.parametrize(
    "axes, search, key",
    [
        ([LR, CategoricalAxis("loss", ("minimax",))], {"budget": 100}, "space.loss"),
        ([NumericAxis("lr_g", 1e-3, 1e-3), WEIGHT], {"budget": 100}, "space.lr_g"),
        (AXES + [CategoricalAxis("loss", ("a", "b"))], {"budget": 49}, "search.budget"),
        (AXES, {"budget": 100, "resolution": {"lr_g": 2000.0}}, "search.resolution.lr_g"),
        (AXES, {"budget": 100, "resolution": {"lr_g": 0.5}}, "search.resolution.lr_g"),
        (AXES, {"budget": 100, "resolution": {"loss": 2.0}}, "search.resolution.loss"),
        (
            [LR, NumericAxis("beta1", 0.0, 0.9, log=False)],
            {"budget": 100, "resolution": {"beta1": 1.5}},
            "search.resolution.beta1",
        ),
    ],
)
def test_bad_searches_name_the_key(axes, search, key):
    # The message starts with the spec key that is wrong.
    with pytest.raises(ValueError, match="^" + re.escape(key) + ":"):
        BoundaryMapper(axes, BoundarySearch(**search))


def test_bad_search_keys_are_refused_by_the_model():
    # per_round below one point's seeds, unknown keys and a non-positive budget all fail.
    with pytest.raises(ValidationError, match="search.per_round"):
        BoundarySearch(budget=100, per_round=2, seeds=3)
    with pytest.raises(ValidationError, match="budgett"):
        BoundarySearch(budgett=100)
    with pytest.raises(ValidationError, match="budget"):
        BoundarySearch(budget=0)

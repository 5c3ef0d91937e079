"""The tables behind the report's figures, tested exactly on synthetic studies whose label
mixes, ties and intervals are known by construction (no Ray, no training)."""

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis import cells, drill, heatmaps, importance, legend, report, stats
from study.boundary import NumericAxis, predict_map
from study.schema import LABELS

# (lr_g, lr_d) -> the labels of the cell's trials, one per seed.
MIXES = {
    (1e-4, 1e-4): ["converged", "unconverged"],  # a tie: a coin toss, not a stable region
    (1e-4, 1e-3): ["converged", "converged", "oscillating"],  # 2/3: converged
    (1e-3, 1e-4): ["converged", "oscillating", "collapsed"],  # a three-way tie
    (1e-3, 1e-3): ["diverged", "diverged", "diverged", "converged"],  # 3/4: diverged
    (1e-2, 1e-4): ["collapsed", "collapsed", "unconverged", "unconverged"],  # 2/4: mixed
    (1e-2, 1e-3): ["converged"] * 4,
}  # (1e-2, 1e-2) etc. have no trials


def synthetic(mixes=MIXES, loss="minimax") -> pd.DataFrame:
    rows = []
    for (lr_g, lr_d), labels in mixes.items():
        for seed, label in enumerate(labels):
            rows.append(dict(
                study="synthetic", trial_id=f"{loss}-{lr_g}-{lr_d}-{seed}", pack_id="p1",
                problem="ring8", loss=loss, regularizer="none", lr_g=lr_g, lr_d=lr_d,
                d_steps=1, g_steps=1, seed=seed, label=label, confidence=0.9, score=0.5,
            ))  # fmt: skip
    return pd.DataFrame(rows)


GRID = {"lr_g": "grid", "lr_d": "grid", "seed": "grid"}


def cell_table(trials=None):
    trials = synthetic() if trials is None else trials
    axes = cells.map_axes(trials, "lr_g", "lr_d", GRID)
    return cells.stability_table(trials, axes).set_index(["lr_g", "lr_d"])


def test_a_label_names_a_cell_only_with_a_clear_majority():
    table = cell_table()
    named = table["map_label"].to_dict()
    # Ties and a 2-of-4 split are mixed; 2 of 3 and 3 of 4 name their label.
    assert named == {
        (1e-4, 1e-4): "mixed", (1e-4, 1e-3): "converged", (1e-3, 1e-4): "mixed",
        (1e-3, 1e-3): "diverged", (1e-2, 1e-4): "mixed", (1e-2, 1e-3): "converged",
    }  # fmt: skip
    # The letter code: one letter for a clear label, every label present for a mixed one.
    assert table["code"].to_dict() == {
        (1e-4, 1e-4): "C/U", (1e-4, 1e-3): "C", (1e-3, 1e-4): "C/O/M",
        (1e-3, 1e-3): "D", (1e-2, 1e-4): "M/U", (1e-2, 1e-3): "C",
    }  # fmt: skip
    # Empty cells are absent, never zero rows; counts are exact.
    assert len(table) == 6
    assert table.loc[(1e-3, 1e-3), ["n_diverged", "n_converged", "trials"]].tolist() == [3, 1, 4]


def test_the_converged_share_has_the_wilson_interval():
    table = cell_table()
    # Wilson 95% intervals, worked by hand with z = 1.959964:
    # 1/2 -> 0.5 +- 0.40547; 2/3 -> 0.57308 +- 0.36542; 0/4 -> [0, 0.48990]; 4/4 -> [0.51010, 1].
    expected = {
        (1e-4, 1e-4): (0.5, 0.09453, 0.90547),
        (1e-4, 1e-3): (2 / 3, 0.20765, 0.93850),
        (1e-2, 1e-4): (0.0, 0.0, 0.48990),
        (1e-2, 1e-3): (1.0, 0.51010, 1.0),
    }
    for key, (share, low, high) in expected.items():
        cell = table.loc[key]
        got = (cell.converged_fraction, cell.converged_low, cell.converged_high)
        assert got == pytest.approx((share, low, high), abs=5e-5), key


def test_wilson_interval_is_honest_at_the_extremes():
    low, high = stats.wilson_interval([0, 2, 10], [2, 2, 10])
    # 0/2 is not "certainly 0": the interval reaches 0.658; n/n stays below 1 at its low end.
    assert low.tolist() == pytest.approx([0.0, 0.34238, 0.72246], abs=5e-5)
    assert high.tolist() == pytest.approx([0.65762, 1.0, 1.0], abs=5e-5)
    # No trials: no interval (NaN), not a zero-width one.
    assert np.isnan(stats.wilson_interval([0], [0])[0]).all()


def test_a_mixed_cell_is_striped_by_its_shares():
    from analysis.figures import _stripes

    # 1 converged, 1 unconverged over 12 sub-columns: 6 each, in LABELS order.
    stripes = _stripes(np.array([1, 0, 0, 0, 0, 1]), "", 12)
    assert stripes.tolist() == [0.0] * 6 + [5.0] * 6
    # A clear majority fills the cell with its label alone.
    assert set(_stripes(np.array([2, 1, 0, 0, 0, 0]), "converged", 12)) == {0.0}


def test_grid_axes_are_categorical_and_sampled_axes_continuous():
    trials = synthetic()
    # A grid spec: categorical cells.
    grid = cells.map_axes(trials, "lr_g", "lr_d", GRID)
    assert not grid.scattered
    # loguniform in the spec: continuous log axes with the trained points.
    sampled = cells.map_axes(trials, "lr_g", "lr_d", {"lr_g": "loguniform", "lr_d": "uniform"})
    assert (sampled.scattered, sampled.log_x, sampled.log_y) == (True, True, False)
    # Without a spec, points that fill their lattice read as a grid.
    assert not cells.map_axes(trials, "lr_g", "lr_d", None).scattered
    # A boundary search's points are scattered whatever their spacing.
    assert cells.map_axes(trials, "lr_g", "lr_d", GRID, scattered=True).scattered


def test_distinct_values_print_distinctly():
    texts = cells.distinct_text([0.002, 0.00196, 0.01])
    # Never two values as "0.002".
    assert texts == {0.002: "0.002", 0.00196: "0.00196", 0.01: "0.01"}
    # Whole numbers as whole numbers (a step budget is 400, not 4e+02).
    assert cells.distinct_text([400, 3000]) == {400: "400", 3000: "3000"}


def test_palette_stays_apart_under_colour_blindness():
    """Every pair of label colours differs by at least 20 CIELAB units under simulated
    protanopia and deuteranopia (Machado, Oliveira & Fernandes 2009, severity 1)."""
    simulations = {
        "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                       [-0.003882, -0.048116, 1.051998]],
        "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]],
    }  # fmt: skip
    for name, matrix in simulations.items():
        seen = {label: _lab(np.clip(np.array(matrix) @ _linear(colour), 0, 1))
                for label, colour in legend.COLOURS.items()}  # fmt: skip
        closest = min(np.linalg.norm(seen[a] - seen[b]) for a, b in itertools.combinations(seen, 2))
        assert closest >= 20, name
    # unconverged is a neutral grey; every label has its own letter.
    red, green, blue = (legend.COLOURS["unconverged"][i : i + 2] for i in (1, 3, 5))
    assert red == green == blue
    assert sorted(legend.LETTERS) == sorted(LABELS)
    assert len(set(legend.LETTERS.values())) == len(LABELS)


def _linear(colour: str) -> np.ndarray:
    c = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                       [0.0193, 0.1192, 0.9505]])  # fmt: skip
    xyz = to_xyz @ linear / np.array([0.95047, 1, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_label_definitions_follow_the_labels_doc():
    from .conftest import ROOT

    doc = (ROOT / "docs" / "labels.md").read_text()
    section = doc.split("## What each label means", 1)[1]
    # The report lists the labels in the doc's order of precedence, each defined.
    order = sorted(LABELS, key=lambda label: section.index(f"**{label}**"))
    assert list(legend.PRECEDENCE) == order
    assert set(legend.DEFINITIONS) == set(LABELS)


def test_importance_ranks_the_hyperparameter_that_decides_the_label():
    rng = np.random.default_rng(0)
    trials = pd.DataFrame({
        "lr_g": 10 ** rng.uniform(-4, -2, 200), "lr_d": 10 ** rng.uniform(-4, -2, 200),
    })  # fmt: skip
    # Converged exactly when lr_g < 1e-3, whatever lr_d is; diverged otherwise.
    trials["label"] = np.where(trials["lr_g"] < 1e-3, "converged", "diverged")
    table = importance.importance_table(trials, ["lr_g", "lr_d"])
    # lr_g explains (nearly) all of both indicators on its own; lr_d and the rest nothing.
    assert list(table.index) == ["lr_g", "lr_d", importance.REST]
    assert table.loc["lr_g"].tolist() == pytest.approx([1.0, 1.0], abs=0.05)
    assert table.loc["lr_d"].tolist() == pytest.approx([0.0, 0.0], abs=0.05)
    # Each column is a split of the indicator's variance: it sums to 1.
    assert table.sum().tolist() == pytest.approx([1.0, 1.0])


def test_map_options_must_vary_in_the_study():
    trials = cells.with_ratio(synthetic())
    # lr_g by lr_d by default; loss does not vary here, so no facet.
    choice = report.choose_map(trials)
    assert (choice.x, choice.y, choice.row, choice.col) == ("lr_g", "lr_d", None, None)
    # An axis that does not vary is refused, naming the ones that do.
    with pytest.raises(report.ReportError, match="--x 'beta1': does not vary.*lr_g, lr_d"):
        report.choose_map(trials, x="beta1")
    with pytest.raises(report.ReportError, match="must differ"):
        report.choose_map(trials, x="lr_d", y="lr_d")


def test_default_facets_and_pooled_keys():
    both = pd.concat([synthetic(loss="minimax"), synthetic(loss="hinge")])
    both = cells.with_ratio(both.assign(beta1=np.where(both["seed"] == 0, 0.5, 0.0)))
    choice = report.choose_map(both)
    # loss becomes the columns; beta1 varies but has no place, so cells pool it.
    assert (choice.col, choice.row, choice.pooled) == ("loss", None, ("beta1",))


def test_a_boundary_study_is_drawn_as_a_predicted_map_with_its_points():
    rng = np.random.default_rng(1)
    trials = synthetic({(float(g), float(d)): ["converged" if g < 1e-3 else "diverged"]
                        for g, d in 10 ** rng.uniform(-4, -2, (30, 2))})  # fmt: skip
    trials = cells.with_ratio(trials.assign(round=rng.integers(0, 3, len(trials))))
    choice = report.choose_map(trials)
    drawn = report.stability_map(trials, choice, {"lr_g": "loguniform", "lr_d": "loguniform"})
    # Scattered log axes: every trained point is a cell of its own, over a region grid.
    assert drawn.axes.scattered and drawn.axes.log_x and drawn.axes.log_y
    assert len(drawn.table) == 30 and len(drawn.grid) == 64 * 64
    # The grid's labels are study.boundary.predict_map's, from the same points.
    axes = [NumericAxis("lr_g", trials.lr_g.min(), trials.lr_g.max()),
            NumericAxis("lr_d", trials.lr_d.min(), trials.lr_d.max())]  # fmt: skip
    queries = drawn.grid[["lr_g", "lr_d"]].to_dict("records")
    observations = list(zip(trials[["lr_g", "lr_d"]].to_dict("records"), trials["label"]))
    assert drawn.grid["label"].tolist() == predict_map(axes, observations, queries).labels.tolist()
    # Below lr_g = 1e-3 the map says converged, above it diverged (away from the boundary).
    assert set(drawn.grid.loc[drawn.grid.lr_g < 5e-4, "label"]) == {"converged"}
    assert set(drawn.grid.loc[drawn.grid.lr_g > 2e-3, "label"]) == {"diverged"}


def test_static_maps_draw_the_same_table():
    mixes = {key: labels for key, labels in MIXES.items() if key != (1e-3, 1e-4)}
    trials = cells.with_ratio(synthetic(mixes))
    drawn = report.stability_map(trials, report.choose_map(trials), GRID)
    fig, axes = heatmaps.plot_label_map(drawn.table, drawn.axes)
    texts = sorted(t.get_text() for t in axes[0, 0].texts)
    # One letter code per occupied cell; the one empty cell hatched, at its place.
    assert texts == sorted(drawn.table["code"])
    hatched = [p for p in axes[0, 0].patches if p.get_hatch() == "//"]
    assert [p.get_xy() for p in hatched] == [(0.5, -0.5)]
    fig, axes = heatmaps.plot_converged_fraction(drawn.table, drawn.axes)
    # Each cell prints k/n over its interval.
    assert "1/2\n9%-91%" in {t.get_text() for t in axes[0, 0].texts}


def test_reproduce_commands_name_only_what_differs_from_the_defaults():
    config = {"problem": "ring8", "lr_g": 2e-3, "loss": "minimax", "seed": 1, "steps": 400}
    full = drill.resolved_hyperparameters(drill.TrainConfig(**config))
    commands = drill.reproduce(full, "results/quick", "abc123")
    assert commands["from"] == "ganmap train --from results/quick abc123"
    # Defaults (problem ring8, the derived radius and std) are left out.
    expected = "ganmap train --set loss=minimax --set lr_g=0.002 --set steps=400 --set seed=1"
    assert commands["set"] == expected


def test_parallel_coordinates_draw_a_bounded_seeded_sample(monkeypatch):
    """Over PARALLEL_MAX_TRIALS trials the page draws that many lines, the same ones every
    time, and its title says it is a sample."""
    from analysis import figures

    monkeypatch.setattr(figures, "PARALLEL_MAX_TRIALS", 50)
    rng = np.random.default_rng(0)
    trials = pd.DataFrame({"lr_g": 10 ** rng.uniform(-4, -2, 200),
                           "lr_d": 10 ** rng.uniform(-4, -2, 200),
                           "label": rng.choice(LABELS, 200)})  # fmt: skip
    drawn = [figures.parallel_coordinates(trials, ["lr_g", "lr_d"], {"lr_g": True}) for _ in "ab"]
    lines = [np.asarray(fig.data[0].dimensions[1].values) for fig in drawn]
    assert len(lines[0]) == 50 and (lines[0] == lines[1]).all()
    assert set(lines[0]) <= set(trials["lr_d"].astype(np.float32))
    assert drawn[0].layout.title.text.startswith("A random 50 of the 200 trials")
    small = figures.parallel_coordinates(trials.head(50), ["lr_g", "lr_d"], {})
    assert small.layout.title.text.startswith("Every trial")

"""Label regions of a map drawn from scattered points (random, Optuna, boundary search).

Sampled studies have no grid: every trained configuration sits at its own point. The
region map labels a dense grid over the map's axes (log axes in log10) by a vote of the
nearest trained points' runs, per facet, and says how unsure each grid point is
(`study.boundary.predict_map`: 1 where the vote is split evenly, on a boundary between
labels or where a point's seeds disagree; 0 where it is unanimous).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from analysis.cells import MapAxes, map_frame

RESOLUTION = 64  # grid points per axis of a drawn region map


def region_grid(
    trials: pd.DataFrame, axes: MapAxes, row: str | None = None, col: str | None = None,
    size: int = RESOLUTION,
) -> pd.DataFrame:  # fmt: skip
    """One row per grid point per facet: the facet values, `x`, `y` (the axes' names as
    columns), the predicted `label` and its `uncertainty` in [0, 1]."""
    from study.boundary import CategoricalAxis, NumericAxis, dense_grid, predict_map  # sklearn

    frame = map_frame(trials, axes)
    facets = [key for key in (row, col) if key]
    numeric = [
        NumericAxis(name, float(frame[name].min()), float(frame[name].max()), log)
        for name, log in ((axes.x, axes.log_x), (axes.y, axes.log_y))
    ]
    numeric = [_widened(axis) for axis in numeric]
    categorical = [CategoricalAxis(f, tuple(sorted(frame[f].unique()))) for f in facets]
    names = [*facets, axes.x, axes.y]
    points = frame[names].to_dict("records")
    observations = list(zip(points, frame["label"]))
    queries = dense_grid([*categorical, *numeric], size)
    predicted = predict_map([*categorical, *numeric], observations, queries)
    grid = pd.DataFrame(queries, columns=names)
    return grid.assign(label=predicted.labels, uncertainty=predicted.uncertainty)


def _widened(axis):
    """A NumericAxis with low < high (a single sampled value gets a small span around it)."""
    if axis.low < axis.high:
        return axis
    if axis.log:
        return dataclasses.replace(axis, low=axis.low / 2, high=axis.low * 2)
    return dataclasses.replace(axis, low=axis.low - 0.5, high=axis.low + 0.5)


def grid_values(grid: pd.DataFrame, name: str) -> np.ndarray:
    """The sorted distinct values of one axis of a region grid."""
    return np.sort(grid[name].unique())

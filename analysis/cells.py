"""The cells of a stability map: which trials share a cell, their label mix and its uncertainty.

A cell is one point of the map's two axes within one facet (row x column); its trials are
every trial there, seeds and any hyperparameter not on an axis or facet pooled. A cell
names a label only when that label holds a clear majority of its trials
(`analysis.stats.CLEAR_MAJORITY`); otherwise it is `mixed`, and its letter code lists the
labels present. Its converged share comes with a 95% Wilson interval.

How an axis is drawn (`MapAxes`): categorical where its values are a grid (or are not
numbers), continuous where they were sampled (random, Optuna, boundary search), on a log
scale where the spec samples them log-uniformly. Tables first: the figures only draw these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import legend, stats
from study.schema import LABELS

RATIO = "d_g_ratio"  # derived column "d_steps:g_steps"
SAMPLED_KINDS = ("uniform", "loguniform", "randint")
MAX_GRID_LEVELS = 64  # a numeric axis with more distinct values is not drawn as a grid
LATTICE_FILL = 0.5  # without a spec: a grid when the points fill half the lattice or more
BINS = 8  # a sampled axis drawn beside a categorical one is cut into this many bins


def with_ratio(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials with a `d_g_ratio` column ("5:1") for faceting by the D:G step ratio."""
    if RATIO in trials or "d_steps" not in trials:
        return trials
    ratio = trials["d_steps"].astype(str) + ":" + trials["g_steps"].astype(str)
    return trials.assign(**{RATIO: ratio})


@dataclass(frozen=True)
class MapAxes:
    """How a map draws its axes: as a grid of categories, or as continuous scattered points."""

    x: str
    y: str
    scattered: bool  # continuous axes with the trained points (else a categorical grid)
    log_x: bool
    log_y: bool
    binned: tuple[str, ...] = ()  # sampled numeric axes cut into log bins (beside a category)


def map_axes(
    trials: pd.DataFrame, x: str, y: str, space: dict[str, str] | None, scattered: bool = False
) -> MapAxes:
    """Decide how to draw x and y. `space` maps searched keys to their spec domain kind
    ("grid", "choice", "loguniform", ...), or is None when the study's spec is unknown
    (then the values themselves decide). `scattered`: the points are scattered whatever
    the spec says (a boundary search refines between its grid points)."""
    numeric = {a: pd.api.types.is_numeric_dtype(trials[a]) for a in (x, y)}
    sampled = {a: numeric[a] and (scattered or _sampled(trials, a, space)) for a in (x, y)}
    if not any(sampled.values()) and space is None and all(numeric.values()):
        sampled = dict.fromkeys((x, y), not _lattice(trials, x, y))
    log = {a: sampled[a] and is_log(trials[a], (space or {}).get(a)) for a in (x, y)}
    if all(sampled.values()):
        return MapAxes(x, y, True, log[x], log[y])
    binned = tuple(a for a in (x, y) if sampled[a])
    return MapAxes(x, y, False, False, False, binned)


def _sampled(trials: pd.DataFrame, axis: str, space: dict[str, str] | None) -> bool:
    if space is not None and axis in space:
        return space[axis] in SAMPLED_KINDS
    return trials[axis].nunique() > MAX_GRID_LEVELS


def _lattice(trials: pd.DataFrame, x: str, y: str) -> bool:
    """Whether the (x, y) points fill most of the lattice of their distinct values."""
    nx, ny = trials[x].nunique(), trials[y].nunique()
    if max(nx, ny) > MAX_GRID_LEVELS:
        return False
    pairs = len(trials[[x, y]].drop_duplicates())
    return pairs >= LATTICE_FILL * nx * ny


def is_log(values: pd.Series, kind: str | None = None) -> bool:
    """Whether an axis is drawn on a log scale: as the spec samples it (loguniform), else
    when its values are positive and span a factor of 10 or more."""
    if kind in SAMPLED_KINDS:
        return kind == "loguniform"
    positive = values[values > 0]
    return len(positive) == len(values) and positive.max() >= 10 * positive.min()


def log_bins(values: pd.Series, bins: int = BINS) -> pd.Series:
    """Each value's log-bin's geometric centre (`bins` bins from the smallest to the largest)."""
    if values.nunique() <= bins or (values <= 0).any():
        return values
    edges = np.geomspace(values.min(), values.max() * (1 + 1e-9), bins + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    return pd.Series(centres[np.digitize(values, edges[1:-1])], index=values.index)


def distinct_text(values) -> dict:
    """Each value as the shortest text that keeps distinct values distinct: 0.002 and
    0.00196 print as "0.002" and "0.00196", never both as "0.002"."""
    values = list(dict.fromkeys(values))
    numbers = (int, float, np.integer, np.floating)
    if not all(isinstance(v, numbers) and not isinstance(v, (bool, np.bool_)) for v in values):
        return {v: str(v) for v in values}
    if all(isinstance(v, (int, np.integer)) or float(v).is_integer() for v in values):
        return {v: str(int(v)) for v in values}
    for digits in range(2, 17):
        texts = {v: f"{v:.{digits}g}" for v in values}
        if len(set(texts.values())) == len(values):
            return texts
    return {v: repr(v) for v in values}


def cell_keys(axes: MapAxes, row: str | None, col: str | None) -> list[str]:
    return [key for key in (row, col) if key] + [axes.x, axes.y]


def map_frame(trials: pd.DataFrame, axes: MapAxes) -> pd.DataFrame:
    """The trials with the D:G ratio column and binned axes where `axes` bins them."""
    frame = with_ratio(trials)
    return frame.assign(**{a: log_bins(frame[a]) for a in axes.binned})


def assign_cells(frame: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct cells (one row each, sorted by `keys`) and each trial's cell number."""
    groups = frame.groupby(keys, sort=True, dropna=False)
    return groups.size().reset_index()[keys], groups.ngroup().to_numpy()


def stability_table(
    trials: pd.DataFrame, axes: MapAxes, row: str | None = None, col: str | None = None
) -> pd.DataFrame:
    """One row per occupied cell (cells without trials are absent, never zero rows):
    `trials`, `n_<label>` for every label, `majority` (the label with a clear majority,
    or ""), `map_label` (it, or "mixed"), `code` (letters), and `converged_fraction`
    with its 95% Wilson interval `converged_low`..`converged_high`."""
    frame = map_frame(trials, axes)
    cells, cell = assign_cells(frame, cell_keys(axes, row, col))
    label = pd.Categorical(frame["label"], categories=list(LABELS)).codes
    counts = np.bincount(cell * len(LABELS) + label, minlength=len(cells) * len(LABELS))
    counts = counts.reshape(len(cells), len(LABELS))
    table = cells.assign(**{f"n_{name}": counts[:, i] for i, name in enumerate(LABELS)})
    table["trials"] = counts.sum(axis=1)
    table["majority"] = stats.clear_majority(counts, LABELS)
    table["map_label"] = table["majority"].where(table["majority"] != "", legend.MIXED)
    present = [[name for name, n in zip(LABELS, row) if n] for row in counts]
    table["code"] = [
        legend.code([majority] if majority else names)
        for majority, names in zip(table["majority"], present)
    ]
    converged = counts[:, LABELS.index("converged")]
    table["converged_fraction"] = converged / table["trials"]
    table["converged_low"], table["converged_high"] = stats.wilson_interval(
        converged, table["trials"]
    )
    return table


def shares_text(cell: pd.Series) -> str:
    """The label mix of a cell as "converged 1 (50%), unconverged 1 (50%)"."""
    parts = [
        f"{name} {cell[f'n_{name}']} ({cell[f'n_{name}'] / cell['trials']:.0%})"
        for name in LABELS
        if cell[f"n_{name}"]
    ]
    return ", ".join(parts)

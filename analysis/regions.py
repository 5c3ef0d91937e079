"""Stability regions as tables: per-cell label maps, region summaries, label counts.

A cell is one setting of every varied hyperparameter except `seed`; its trials are the
seeds. Tables first, pictures second: `analysis.heatmaps` only draws these tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LABELS = ("converged", "oscillating", "collapsed", "vanishing", "diverged", "unconverged")
HYPERPARAMETERS = (
    "problem", "radius", "std", "loss", "regularizer", "reg_weight", "unroll_steps", "lr_g",
    "lr_d", "d_steps", "g_steps", "optimizer", "beta1", "beta2", "batch_size", "steps",
    "eval_every", "eval_samples", "z_dim", "hidden_dim", "hidden_layers", "g_hidden_dim",
    "d_hidden_dim", "g_hidden_layers", "d_hidden_layers", "g_activation", "d_activation", "pac",
)  # fmt: skip
RATIO = "d_g_ratio"  # derived column "d_steps:g_steps"
MAX_LEVELS = 12  # more distinct values than this on an axis: bin them on a log scale


def with_ratio(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials with a `d_g_ratio` column ("5:1") for faceting by the D:G step ratio."""
    ratio = trials["d_steps"].astype(str) + ":" + trials["g_steps"].astype(str)
    return trials.assign(**{RATIO: ratio})


def axis_levels(values: pd.Series, bins: int = 8) -> pd.Series:
    """Each value's level on a map axis: itself, or its log-bin's geometric centre."""
    if values.nunique() <= MAX_LEVELS:
        return values
    edges = np.geomspace(values.min(), values.max() * (1 + 1e-9), bins + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    return pd.Series(centres[np.digitize(values, edges[1:-1])], index=values.index)


def cell_keys(trials: pd.DataFrame) -> list[str]:
    """The hyperparameters that vary in these trials, seed excluded."""
    return [key for key in HYPERPARAMETERS if key in trials and trials[key].nunique() > 1]


def stability_table(
    trials: pd.DataFrame, x: str = "lr_g", y: str = "lr_d", col: str | None = "loss",
    row: str | None = RATIO,
) -> pd.DataFrame:  # fmt: skip
    """One row per occupied (row, col, x, y) cell: trials, label counts, dominant label,
    and the fraction of them converged. Cells with no trials are absent (not zero)."""
    frame = with_ratio(trials)
    frame = frame.assign(**{x: axis_levels(frame[x]), y: axis_levels(frame[y])})
    keys = [key for key in (row, col) if key] + [x, y]
    counts = pd.crosstab([frame[key] for key in keys], frame["label"])
    counts = counts.reindex(columns=list(LABELS), fill_value=0)
    table = counts.add_prefix("n_")
    table["trials"] = counts.sum(axis=1)
    table["converged_fraction"] = counts["converged"] / table["trials"]
    # The most frequent label; ties go to the one listed first in LABELS.
    table["dominant_label"] = counts.idxmax(axis=1)
    return table.reset_index()


def region_summary(
    trials: pd.DataFrame, by: tuple[str, ...] = ("loss", "regularizer"), x: str = "lr_g",
    y: str = "lr_d",
) -> pd.DataFrame:  # fmt: skip
    """Per group: how much of the searched space converges, the label mix, the most robust
    setting (all seeds converged, widest converged neighbourhood in the x-y plane)."""
    by = [key for key in by if key in trials]
    rows = []
    for group, frame in trials.groupby(by) if by else [((), trials)]:
        group = group if isinstance(group, tuple) else (group,)
        cells = _cells(frame)
        mix = frame["label"].value_counts(normalize=True).reindex(list(LABELS), fill_value=0.0)
        rows.append({
            **dict(zip(by, group)),
            "trials": len(frame),
            "cells": len(cells),
            "converged_trials": float((frame["label"] == "converged").mean()),
            "converged_cells": float((cells["converged_fraction"] >= 0.5).mean()),
            **{f"share_{label}": float(mix[label]) for label in LABELS},
            "most_robust": _most_robust(cells, x, y),
        })  # fmt: skip
    return pd.DataFrame(rows)


def label_counts(trials: pd.DataFrame, factor: str) -> pd.DataFrame:
    """Trials per label for each value of one factor (all labels as columns)."""
    frame = with_ratio(trials)
    table = pd.crosstab(frame[factor], frame["label"])
    return table.reindex(columns=list(LABELS), fill_value=0)


def _cells(trials: pd.DataFrame) -> pd.DataFrame:
    """Per cell (all varied keys but seed): seeds, converged fraction and mean score."""
    keys = cell_keys(trials) or ["problem"]
    grouped = trials.assign(converged=trials["label"] == "converged").groupby(keys)
    cells = grouped.agg(
        seeds=("seed", "nunique"), converged_fraction=("converged", "mean"), score=("score", "mean")
    )
    return cells.reset_index()


def _most_robust(cells: pd.DataFrame, x: str, y: str) -> str:
    """The fully converged cell with the most fully converged x-y neighbours, as text."""
    solid = cells[cells["converged_fraction"] == 1.0]
    if solid.empty:
        return ""
    axes = [axis for axis in (x, y) if axis in cells]
    others = [k for k in cells.columns if k not in (*axes, "seeds", "converged_fraction", "score")]
    index = {axis: {v: i for i, v in enumerate(sorted(cells[axis].unique()))} for axis in axes}
    grid = solid.assign(**{f"_{axis}": solid[axis].map(index[axis]) for axis in axes})

    def neighbours(cell) -> int:
        same = np.logical_and.reduce([grid[key] == cell[key] for key in others] or [True])
        apart = [abs(grid[f"_{axis}"] - cell[f"_{axis}"]) for axis in axes]
        return int((same & (np.maximum.reduce(apart) == 1)).sum())

    counts = grid.apply(neighbours, axis=1)
    best = grid.assign(_n=counts).sort_values(["_n", "score"], ascending=False).iloc[0]
    setting = ", ".join(f"{key}={_fmt(best[key])}" for key in [*others, *axes])
    return (
        f"{setting} ({int(best['seeds'])} seeds converged, {int(best['_n'])} converged neighbours)"
    )


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)

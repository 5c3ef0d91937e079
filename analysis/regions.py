"""Stability regions as tables: region summaries per loss/regularizer, label counts per factor.

A setting is one value of every varied hyperparameter except `seed`; its trials are the
seeds. Only factors that vary get a row or a table. Tables first, pictures second.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from analysis.cells import with_ratio
from analysis.stats import CLEAR_MAJORITY
from study.schema import HYPERPARAMETERS, LABELS

# What the summary's columns mean, shown under the table in the report.
SUMMARY_COLUMNS = {
    "trials": "trials in the group (every seed counted)",
    "settings": "distinct settings of the varied hyperparameters, seeds pooled",
    "settings_converged": "share of the settings where at least two thirds of the seeds converged",
    **{f"share_{label}": f"share of the trials labeled {label}" for label in LABELS},
    "most_robust": "the setting whose seeds all converged with the most neighbours (one step "
    "away on the map's two axes, the other keys equal) whose seeds all converged too",
}
NO_ROBUST = "none: no setting converged on every seed"


def cell_keys(trials: pd.DataFrame) -> list[str]:
    """The hyperparameters that vary in these trials, seed excluded."""
    keys = [key for key in HYPERPARAMETERS if key != "seed"]
    return [key for key in keys if key in trials and trials[key].nunique() > 1]


def varying(trials: pd.DataFrame, factors) -> list[str]:
    """The factors (columns, or d_g_ratio) that take more than one value in `trials`."""
    frame = with_ratio(trials)
    return [f for f in factors if f in frame and frame[f].nunique() > 1]


def region_summary(
    trials: pd.DataFrame, by: tuple[str, ...] = ("loss", "regularizer"), x: str = "lr_g",
    y: str = "lr_d",
) -> pd.DataFrame:  # fmt: skip
    """Per group of the factors in `by` that vary: trials, settings, the share of settings
    that converge, the label mix, and the most robust setting (SUMMARY_COLUMNS)."""
    by = varying(trials, by)
    rows = []
    for group, frame in trials.groupby(by) if by else [((), trials)]:
        group = group if isinstance(group, tuple) else (group,)
        settings = _settings(frame)
        mix = frame["label"].value_counts(normalize=True).reindex(list(LABELS), fill_value=0.0)
        majority = settings["converged_fraction"] >= CLEAR_MAJORITY - 1e-9
        rows.append({
            **dict(zip(by, group)),
            "trials": len(frame),
            "settings": len(settings),
            "settings_converged": float(majority.mean()),
            **{f"share_{label}": float(mix[label]) for label in LABELS},
            "most_robust": _most_robust(settings, x, y),
        })  # fmt: skip
    return pd.DataFrame(rows)


def label_counts(trials: pd.DataFrame, factor: str) -> pd.DataFrame:
    """Trials per label for each value of one factor (all labels as columns)."""
    frame = with_ratio(trials)
    table = pd.crosstab(frame[factor], frame["label"])
    return table.reindex(columns=list(LABELS), fill_value=0)


def _settings(trials: pd.DataFrame) -> pd.DataFrame:
    """Per setting (all varied keys but seed): seeds, converged fraction and mean score."""
    keys = cell_keys(trials) or ["problem"]
    grouped = trials.assign(converged=trials["label"] == "converged").groupby(keys)
    settings = grouped.agg(
        seeds=("seed", "nunique"), converged_fraction=("converged", "mean"), score=("score", "mean")
    )
    return settings.reset_index()


def _most_robust(settings: pd.DataFrame, x: str, y: str) -> str:
    """The fully converged setting with the most fully converged x-y neighbours, as text.

    Neighbours share every other key and lie one level away on x, y or both (up to 8);
    counted by probing a hash index of the solid settings, so it scales with the settings.
    """
    solid = settings[settings["converged_fraction"] == 1.0]
    if solid.empty:
        return NO_ROBUST
    axes = [axis for axis in (x, y) if axis in settings]
    others = [k for k in settings.columns
              if k not in (*axes, "seeds", "converged_fraction", "score")]  # fmt: skip
    index = {axis: {v: i for i, v in enumerate(sorted(settings[axis].unique()))} for axis in axes}
    grid = solid.assign(**{f"_{axis}": solid[axis].map(index[axis]) for axis in axes})
    keys = [*others, *(f"_{axis}" for axis in axes)]
    present = pd.MultiIndex.from_frame(grid[keys]) if keys else None
    counts = np.zeros(len(grid), dtype=int)
    for offset in itertools.product((-1, 0, 1), repeat=len(axes)):
        if any(offset):
            probe = grid[keys].assign(**{f"_{a}": grid[f"_{a}"] + d for a, d in zip(axes, offset)})
            counts += pd.MultiIndex.from_frame(probe).isin(present)
    best = grid.assign(_n=counts).sort_values(["_n", "score"], ascending=False).iloc[0]
    setting = ", ".join(f"{key}={_fmt(best[key])}" for key in [*others, *axes])
    seeds, neighbours = int(best["seeds"]), int(best["_n"])
    plural = "" if neighbours == 1 else "s"
    return (f"{setting} (all {seeds} seeds converged, and {neighbours} neighbour{plural} "
            "whose seeds all converged)")  # fmt: skip


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)

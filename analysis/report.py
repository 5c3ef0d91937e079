"""Write a study's report: one self-contained, interactive report.html (plotly, embedded,
so it opens offline), and with `static` the maps as PNG and PDF for papers.

The report reads the trials table's hyperparameter and label columns, then the history
and samples of the few trials it embeds in full, from their own pack files
(`analysis.drill`). Every figure is drawn from a table computed first: the cell table
(`analysis.cells`), the region grid of a sampled study (`analysis.scatter`), the region
summary (`analysis.regions`) and the importance table (`analysis.importance`).

Every value from the data reaches the page as text: the template autoescapes, pandas
escapes its tables, the page's JSON has no raw "<", ">" or "&", and the page's script
inserts values with textContent. Results folders get shared, and a study name or a
label reason must never run as script in the reader's browser.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.io as pio
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from analysis import cells, drill, figures, header, heatmaps, importance, legend, regions, scatter
from analysis.load import ResultsError, StudyTables
from study.exits import echo_value
from study.schema import HYPERPARAMETERS, LABELS, TRIALS_SCHEMA

TEMPLATES = Path(__file__).parent / "templates"
ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
ROUND = "round"  # the boundary round a configuration was proposed in (boundary studies)
# Columns of the trials table the report reads for every trial (besides the chosen axes).
REPORT_COLUMNS = (
    "study", "trial_id", "pack_id", "label", "confidence", "score", *HYPERPARAMETERS,
    *header.HEADER_COLUMNS, ROUND,
)  # fmt: skip
FACTORS = ("loss", "regularizer", cells.RATIO)  # label counts per value, where they vary
DEFAULT_X, DEFAULT_Y = "lr_g", "lr_d"
DEFAULT_COLS = ("loss", "regularizer")  # the first that varies and is not an axis
DEFAULT_ROWS = (cells.RATIO, "regularizer")
PERCENT = "{:.0%}".format
PARALLEL_MIN_AXES = 3  # a parallel-coordinates view when this many numeric keys vary


class ReportError(ValueError):
    """Options that do not fit the study (an axis that doesn't vary, a key used twice)."""


@dataclass(frozen=True)
class MapChoice:
    """The map's axes and facets, and the varied keys pooled into its cells."""

    x: str
    y: str
    row: str | None
    col: str | None
    pooled: tuple[str, ...]

    @property
    def facets(self) -> list[str]:
        return [key for key in (self.row, self.col) if key]


@dataclass
class StabilityMap:
    """Everything the maps draw: the cell table, each trial's cell, each cell's trial ids,
    and a sampled study's region grid."""

    choice: MapChoice
    axes: cells.MapAxes
    table: pd.DataFrame
    cell: np.ndarray
    ids: list[list[str]]
    grid: pd.DataFrame | None


def write_report(
    tables: StudyTables, out_dir: str | Path, x: str | None = None, y: str | None = None,
    row: str | None = None, col: str | None = None, static: bool = False,
) -> Path:  # fmt: skip
    """Write report.html and summary.csv (with `static`, the maps and the importance
    chart as PNG and PDF) into `out_dir`; returns the HTML path. Options that don't fit
    the study raise ReportError before anything is written."""
    wanted = {*REPORT_COLUMNS, x, y, row, col} & set(TRIALS_SCHEMA.names)
    trials = tables.trials(columns=[name for name in TRIALS_SCHEMA.names if name in wanted])
    if trials.empty:
        raise ReportError("no finished trials to report on yet")
    trials = cells.with_ratio(trials)
    boundary = header.search_algorithm(tables) == "boundary"
    choice = choose_map(trials, x, y, row, col)
    check_trials(trials, choice)
    stability = stability_map(trials, choice, header.spec_space(tables), boundary)
    ranked = importance.importance_table(trials, varied_keys(trials))
    summary = regions.region_summary(trials, x=stability.choice.x, y=stability.choice.y)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "summary.csv", index=False)
    if static:
        _static(out, stability, ranked)
    chosen = drill.choose(trials, stability.cell, (stability.table["majority"] == "").to_numpy())
    data = _page_data(tables, trials, stability, ranked, chosen)
    html = ENVIRONMENT.get_template("report.html.j2").render(
        studies=", ".join(str(s) for s in sorted(trials["study"].unique())),
        generated=datetime.datetime.now().isoformat(timespec="seconds"),
        header=header.describe(tables, trials, varied_keys(trials)),
        pooled=_pooled_note(stability.choice),
        labels=_label_rows(),
        map_note=_map_note(stability.axes),
        importance=None if ranked.empty else _html(ranked.reset_index(), float_format=PERCENT),
        no_importance=_no_importance(trials),
        summary=_html(summary_for_page(summary), float_format=PERCENT),
        summary_columns=_summary_columns(summary),
        counts=[(f, _html(_counts(trials, f))) for f in regions.varying(trials, FACTORS)],
        typical=drill.typical_trials(trials)[["trial_id", "label"]].to_dict("records"),
        embedded=len(chosen),
        trials=len(trials),
        importance_limit=importance.MAX_TRIALS,
        parallel="parallel" in data["figures"],
        data=Markup(_script_json(data)),
        plotly=Markup(get_plotlyjs()),
        script=Markup((TEMPLATES / "report.js").read_text()),
    )
    path = out / "report.html"
    path.write_text(html)
    return path


def check_trials(trials: pd.DataFrame, choice: MapChoice) -> None:
    """ResultsError unless the columns the report needs are there, with known labels
    (files written by another tool, or tampered with, may lack them)."""
    for name in ("trial_id", "label", choice.x, choice.y, *choice.facets):
        if name in trials and trials[name].isna().any():
            raise ResultsError(f"trials: column {name} is missing or empty in some files")
    unknown = sorted(set(trials["label"]) - set(LABELS))
    if unknown:
        shown = ", ".join(repr(str(label)[:30]) for label in unknown[:3])
        raise ResultsError(f"trials: column label holds values that are not labels: {shown}")


def varied_keys(trials: pd.DataFrame) -> list[str]:
    """The hyperparameters that vary in these trials, seed excluded."""
    return [k for k in HYPERPARAMETERS if k != "seed" and k in trials and trials[k].nunique() > 1]


def choose_map(trials: pd.DataFrame, x=None, y=None, row=None, col=None) -> MapChoice:
    """The map's axes and facets: the ones asked for (each must vary in the study, and be
    used once), else lr_g by lr_d, facetted by loss (columns) and D:G ratio (rows) where
    they vary; a study that varies neither learning rate maps its first varied keys."""
    varied = varied_keys(trials)
    choosable = [*varied, *([cells.RATIO] if trials[cells.RATIO].nunique() > 1 else [])]
    for option, value in (("x", x), ("y", y), ("row", row), ("col", col)):
        if value is not None and value not in choosable:
            raise ReportError(
                f"--{option} {echo_value(value)}: does not vary in this study; choose from "
                f"{', '.join(choosable) or 'nothing (no hyperparameter varies)'}"
            )
    given = [value for value in (x, y, row, col) if value is not None]
    if len(set(given)) < len(given):
        raise ReportError(f"--x, --y, --row and --col must differ, got {', '.join(given)}")
    spare = [key for key in varied if key not in given]
    x = x or _default_axis(DEFAULT_X, varied, spare, given)
    y = y or _default_axis(DEFAULT_Y, varied, [k for k in spare if k != x], [*given, x])
    if row is None and col is None:
        col = next((k for k in DEFAULT_COLS if k in choosable and k not in (x, y)), None)
        row = next((k for k in DEFAULT_ROWS if k in choosable and k not in (x, y, col)), None)
    used = {x, y, row, col}
    if cells.RATIO in used:
        used |= {"d_steps", "g_steps"}
    return MapChoice(x, y, row, col, tuple(k for k in varied if k not in used))


def _default_axis(default: str, varied: list[str], spare: list[str], used: list[str]) -> str:
    """`default` where it varies (or nothing else does), else the first spare varied key."""
    if default in varied and default not in used:
        return default
    return next((key for key in spare if key not in used), default)


def stability_map(
    trials: pd.DataFrame, choice: MapChoice, space=None, boundary: bool = False
) -> StabilityMap:
    """The cell table of the chosen map and what its figures and drill-down need. A
    boundary search's points (`boundary`, or a `round` column) are always scattered."""
    rounds = ROUND in trials and trials[ROUND].notna().any()
    axes = cells.map_axes(trials, choice.x, choice.y, space, scattered=boundary or bool(rounds))
    table = cells.stability_table(trials, axes, choice.row, choice.col)
    keys = cells.cell_keys(axes, choice.row, choice.col)
    _, cell = cells.assign_cells(cells.map_frame(trials, axes), keys)
    ids = drill.cell_ids(trials, cell, len(table))
    grid = scatter.region_grid(trials, axes, choice.row, choice.col) if axes.scattered else None
    return StabilityMap(choice, axes, table, cell, ids, grid)


def _page_data(tables, trials, stability: StabilityMap, ranked, chosen) -> dict:
    """The JSON the page's script reads: figures, cells, embedded trials, commands."""
    locations = dict(zip(*_study_locations(tables, trials)))
    return {
        "figures": _figures(trials, stability, ranked),
        "cells": _cell_list(stability),
        "details": drill.details(tables, chosen, locations),
        "colours": legend.COLOURS,
        "reproduce": {
            study: f"ganmap train --from {loc} TRIAL_ID" for study, loc in locations.items()
        },
        "embedded": len(chosen),
        "trials": len(trials),
    }


def _study_locations(tables: StudyTables, trials: pd.DataFrame) -> tuple[list, list]:
    """Each study name and the folder it was read from (the first folder holding it)."""
    names, places = [], []
    for location, store in zip(tables.locations, tables.stores):
        name = store.study_info().get("study")
        if name is not None and name not in names:
            names.append(name)
            places.append(location)
    for name in trials["study"].unique():  # a folder without study.json: the first one
        if name not in names:
            names.append(name)
            places.append(tables.locations[0])
    return names, places


def _figures(trials, stability: StabilityMap, ranked: pd.DataFrame) -> dict:
    """The page's plotly figures, as JSON-ready dicts."""
    s = stability
    row, col = s.choice.row, s.choice.col
    drawn = {
        "label_map": figures.label_map(s.table, s.axes, row, col, s.grid),
        "converged_map": figures.converged_map(s.table, s.axes, row, col),
    }
    if not ranked.empty:
        drawn["importance"] = figures.importance_chart(ranked)
    numeric = [k for k in varied_keys(trials) if pd.api.types.is_numeric_dtype(trials[k])]
    if len(numeric) >= PARALLEL_MIN_AXES:
        logs = {k: cells.is_log(trials[k]) for k in numeric}
        drawn["parallel"] = figures.parallel_coordinates(trials, numeric, logs)
    return {name: json.loads(pio.to_json(figure, validate=False)) for name, figure in drawn.items()}


def _cell_list(stability: StabilityMap) -> list[dict]:
    """Per cell, what its hover and the drawer show: where, its name, mix and converged
    share, its trial ids (the maps' traces point here by index)."""
    s = stability
    keys = [*s.choice.facets, s.axes.x, s.axes.y]
    text = {key: cells.distinct_text(s.table[key].unique()) for key in keys}
    return [
        {"where": ", ".join(f"{key}={text[key][cell[key]]}" for key in keys),
         **figures.cell_texts(cell), "ids": s.ids[k], "trials": int(cell["trials"])}
        for k, cell in enumerate(s.table.to_dict("records"))
    ]  # fmt: skip


def _counts(trials: pd.DataFrame, factor: str) -> pd.DataFrame:
    """Trials per label for each value of `factor`, the factor as the first column."""
    table = regions.label_counts(trials, factor)
    table.columns.name = None
    return table.reset_index()


def _html(frame: pd.DataFrame, **options) -> Markup:
    """A table as HTML without its index (pandas escapes the values), marked safe for
    the template."""
    return Markup(frame.to_html(border=0, index=False, **options))


def _script_json(data: dict) -> str:
    """`data` as JSON that is safe inside a <script> element: no "<", ">" or "&" appears
    raw, so nothing in the data (a study name, a label reason) can close the element."""
    text = json.dumps(data, allow_nan=False, default=_jsonable, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _label_rows() -> list[dict]:
    return [
        {"name": label, "letter": legend.LETTERS[label], "colour": legend.COLOURS[label],
         "ink": legend.ink(legend.COLOURS[label]), "definition": legend.DEFINITIONS[label]}
        for label in legend.PRECEDENCE
    ]  # fmt: skip


def _pooled_note(choice: MapChoice) -> str:
    where = " x ".join([*choice.facets, choice.x, choice.y])
    pooled = f" and every value of {', '.join(choice.pooled)}" if choice.pooled else ""
    return f"one per {where}; a cell pools its seeds{pooled}"


def _map_note(axes: cells.MapAxes) -> str:
    if axes.scattered:
        return (
            "The configurations were sampled, not a grid: each dot is a trained "
            "configuration (its letters are its labels), and the shaded regions are the "
            "label the nearest trained configurations' runs vote for (a configuration "
            "decides its own point), paler where the vote is split (near a boundary, or "
            "where seeds disagree)."
        )
    binned = ", ".join(axes.binned)
    note = "Axes are categorical: one column or row per value the study searched."
    if binned:
        note += f" {binned}: sampled, so its values are grouped into log-spaced bins."
    return note


def _no_importance(trials: pd.DataFrame) -> str:
    if not varied_keys(trials):
        return "no hyperparameter varies"
    if len(trials) < importance.MIN_TRIALS:
        return f"fewer than {importance.MIN_TRIALS} trials"
    return "every trial has the same label"


def summary_for_page(summary: pd.DataFrame) -> pd.DataFrame:
    """The region summary as shown: label shares that are zero in every group dropped."""
    empty = [c for c in summary if c.startswith("share_") and not summary[c].any()]
    return summary.drop(columns=empty)


def _summary_columns(summary: pd.DataFrame) -> list[tuple[str, str]]:
    shown = summary_for_page(summary).columns
    return [(name, text) for name, text in regions.SUMMARY_COLUMNS.items() if name in shown]


def _static(out: Path, stability: StabilityMap, ranked: pd.DataFrame) -> None:
    """The maps (and the importance chart) as PNG and PDF, from the same tables."""
    s = stability
    row, col = s.choice.row, s.choice.col
    drawn = {
        "label_map": heatmaps.plot_label_map(s.table, s.axes, row, col, s.grid)[0],
        "converged_fraction": heatmaps.plot_converged_fraction(s.table, s.axes, row, col)[0],
    }
    if not ranked.empty:
        drawn["importance"] = heatmaps.plot_importance(ranked)[0]
    for name, figure in drawn.items():
        for suffix in ("png", "pdf"):
            figure.savefig(out / f"{name}.{suffix}", dpi=150, bbox_inches="tight")
        plt.close(figure)

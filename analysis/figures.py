"""The report's interactive figures (plotly), drawn from the tables of `analysis.cells`,
`analysis.scatter` and `analysis.importance`; nothing here computes a result.

- `label_map`: per facet, each cell in its label's colour when one label holds a clear
  majority, else striped by its label shares (a mixed cell), with its letter code; a grid
  study on categorical axes, a sampled one as label regions (the nearest trained points'
  vote, paled where unsure) under the trained points on continuous axes.
- `converged_map`: the converged share per cell with its 95% interval.
- `importance_chart`, `parallel_coordinates`: what decides stability.

Every map's cells carry their number in the cell table (`customdata`), which the page's
script uses to list a clicked cell's trials.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis import legend
from analysis.cells import MapAxes, distinct_text, shares_text
from study.schema import LABELS

STRIPES = 12  # sub-columns per cell that show a mixed cell's label shares
MAX_STRIPE_VALUES = 3_000_000  # above this many stripe values in a map, fewer stripes
PARALLEL_MAX_TRIALS = 20_000  # lines drawn in parallel coordinates, at most
MAX_TEXT_CELLS = 600  # letter codes printed in cells only up to this many cells per map
PANEL_PX = 300
MAX_INTERVAL_COLUMNS = 5  # wider maps print k/n alone in a cell (the interval is in the hover)
# Traces whose points are map cells: their customdata is the cell's index in the page's
# cell list, from which the page's script writes each hover text (report.js, cellHovers).
CELL_HOVER = dict(meta="cells", hovertemplate="%{hovertext}<extra></extra>")
HALO = "0 0 2px #fff, 0 0 3px #fff"  # white glow: letters readable on split (mixed) cells
FONT = dict(family="sans-serif", size=12)


def _discrete_scale(colours: list[str]) -> list:
    """A plotly colourscale mapping the integers 0..k-1 to `colours` (zmin -0.5, zmax k-0.5)."""
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / len(colours), colour], [(i + 1) / len(colours), colour]]
    return scale


LABEL_SCALE = _discrete_scale([legend.COLOURS[label] for label in LABELS])


def facet_values(table: pd.DataFrame, key: str | None) -> list:
    return sorted(table[key].unique()) if key else [None]


def _facets(table, row, col, title: str):
    rows, cols = facet_values(table, row), facet_values(table, col)
    titles = [_heading(row, r, col, c) for r in rows for c in cols]
    fig = make_subplots(
        len(rows), len(cols), shared_xaxes=True, shared_yaxes=True, subplot_titles=titles,
        horizontal_spacing=0.06 if len(cols) > 1 else 0.0, vertical_spacing=0.12 / len(rows),
    )  # fmt: skip
    fig.update_layout(
        title=title, template="simple_white", font=FONT, hovermode="closest",
        height=PANEL_PX * len(rows) + 160, width=PANEL_PX * len(cols) + 330,
        margin=dict(l=70, r=20, t=90, b=60), clickmode="event",
    )  # fmt: skip
    return fig, rows, cols


def _heading(row, r, col, c) -> str:
    return ", ".join(f"{key}={value}" for key, value in ((row, r), (col, c)) if key)


def _facet(frame, row, col, r, c) -> pd.DataFrame:
    if row:
        frame = frame[frame[row] == r]
    if col:
        frame = frame[frame[col] == c]
    return frame


def cell_texts(cell) -> dict[str, str]:
    """A cell's name (its label, or "mixed" and its code), its label mix, and its converged
    share with the 95% interval: the parts of its hover and of the drawer's summary,
    which the page's script puts together (one copy per cell, for both maps)."""
    return {
        "name": cell["map_label"] if cell["majority"] else f"mixed ({cell['code']})",
        "mix": f"{cell['trials']} trials: {shares_text(cell)}",
        "converged": f"converged {cell['n_converged']}/{cell['trials']} = "
        f"{cell['converged_fraction']:.0%}, 95% interval {cell['converged_low']:.0%} to "
        f"{cell['converged_high']:.0%}",
    }


def label_map(table, axes: MapAxes, row=None, col=None, regions=None) -> go.Figure:
    """The label map: a grid of cells, or (`axes.scattered`) regions under the points."""
    title = "Label per cell (a colour: one label holds 2/3 of its trials; stripes: mixed)"
    fig, rows, cols = _facets(table, row, col, title)
    stripes = STRIPES if len(table) * STRIPES <= MAX_STRIPE_VALUES else 3
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            cells = _facet(table, row, col, r, c)
            if axes.scattered:
                here = _facet(regions, row, col, r, c)
                _scattered_facet(fig, i + 1, j + 1, cells, axes, here)
            else:
                _grid_facet(fig, i + 1, j + 1, cells, table, axes, stripes)
    _label_legend(fig, axes.scattered)
    _axis_titles(fig, axes, len(rows), len(cols))
    return fig


def _positions(table: pd.DataFrame, name: str) -> tuple[dict, list]:
    values = sorted(table[name].unique())
    return {v: k for k, v in enumerate(values)}, values


def _grid_facet(fig, r, c, cells, table, axes, stripes: int) -> None:
    """Stripes (hover skipped), a transparent hover layer with one value per cell, letters."""
    xs, x_values = _positions(table, axes.x)
    ys, y_values = _positions(table, axes.y)
    xi, yi = cells[axes.x].map(xs).to_numpy(), cells[axes.y].map(ys).to_numpy()
    width = stripes + 1  # sub-columns per cell: its stripes, then a blank one between cells
    z = np.full((len(ys), len(xs) * width), np.nan, dtype=np.float32)  # label indices
    counts = cells[[f"n_{label}" for label in LABELS]].to_numpy()
    for x, y, row, majority in zip(xi, yi, counts, cells["majority"]):
        z[y, x * width : x * width + stripes] = _stripes(row, majority, stripes)
    sub_x = (np.arange(len(xs) * width) + 0.5) / width - 0.5
    fig.add_trace(go.Heatmap(
        x=sub_x, y=np.arange(len(ys)), z=z, colorscale=LABEL_SCALE, zmin=-0.5,
        zmax=len(LABELS) - 0.5, showscale=False, hoverinfo="skip", xgap=0, ygap=2,
    ), r, c)  # fmt: skip
    index = np.full((len(ys), len(xs)), -1)
    index[yi, xi] = cells.index
    fig.add_trace(go.Heatmap(
        x=np.arange(len(xs)), y=np.arange(len(ys)), z=np.where(index >= 0, 1.0, np.nan),
        showscale=False, colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], xgap=1,
        ygap=1, name="cells", **CELL_HOVER, customdata=index.tolist(),
    ), r, c)  # fmt: skip
    if len(cells) <= MAX_TEXT_CELLS:
        _letters(fig, r, c, xi, yi, cells)
    _categorical_ticks(fig, r, c, x_values, y_values)


def _letters(fig, r: int, c: int, xi, yi, cells: pd.DataFrame) -> None:
    """Each cell's letter code: black (with a white halo, readable across the stripes of a
    mixed cell) or white, whichever reads better on the cell's colour."""
    colours = [legend.COLOURS.get(m, legend.MIXED_COLOUR) for m in cells["majority"]]
    ink = np.array([legend.ink(colour) for colour in colours])
    for shade, halo in (("#000000", HALO), ("#FFFFFF", "none")):
        chosen = ink == shade
        fig.add_trace(go.Scatter(
            x=xi[chosen], y=yi[chosen], mode="text", text=cells["code"].to_numpy()[chosen],
            hoverinfo="skip", showlegend=False, textfont=dict(color=shade, size=13, shadow=halo),
        ), r, c)  # fmt: skip


def _categorical_ticks(fig, r: int, c: int, x_values: list, y_values: list) -> None:
    """One tick per value, at positions 0..n-1, each printed distinctly."""
    for update, values in ((fig.update_xaxes, x_values), (fig.update_yaxes, y_values)):
        text = distinct_text(values)
        update(tickvals=list(range(len(values))), ticktext=[text[v] for v in values],
               range=[-0.5, len(values) - 0.5], showgrid=False, row=r, col=c)  # fmt: skip


def _stripes(counts: np.ndarray, majority: str, stripes: int) -> np.ndarray:
    """A cell's sub-columns: all its label's index when it has a clear majority, else each
    label's index over a share of the sub-columns (largest remainder), in LABELS order."""
    if majority:
        return np.full(stripes, LABELS.index(majority), dtype=float)
    exact = counts / counts.sum() * stripes
    widths = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - widths), kind="stable")[: stripes - widths.sum()]:
        widths[k] += 1
    return np.repeat(np.arange(len(LABELS)), widths).astype(float)


def _scattered_facet(fig, r, c, cells, axes: MapAxes, regions) -> None:
    """Label regions (the nearest trained points' vote), paled by their uncertainty, and
    the points."""
    x, y = np.sort(regions[axes.x].unique()), np.sort(regions[axes.y].unique())
    grid = regions.set_index([axes.y, axes.x]).sort_index()
    codes = grid["label"].map({label: k for k, label in enumerate(LABELS)}).to_numpy(float)
    unsure = grid["uncertainty"].to_numpy(float).reshape(len(y), len(x))
    fig.add_trace(go.Heatmap(
        x=x, y=y, z=codes.reshape(len(y), len(x)), colorscale=LABEL_SCALE, zmin=-0.5,
        zmax=len(LABELS) - 0.5, showscale=False, hoverinfo="skip",
    ), r, c)  # fmt: skip
    names = grid["label"].to_numpy(object).reshape(len(y), len(x))
    fig.add_trace(go.Heatmap(
        x=x, y=y, z=unsure, zmin=0, zmax=1, showscale=False, text=names,
        colorscale=[[0, "rgba(255,255,255,0)"], [1, "rgba(255,255,255,0.8)"]],
        hovertemplate="predicted %{text} (nearest trained points)<br>uncertainty %{z:.2f}"
        "<extra></extra>",
    ), r, c)  # fmt: skip
    fill = [legend.COLOURS.get(m, legend.MIXED_COLOUR) for m in cells["majority"]]
    few = len(cells) <= MAX_TEXT_CELLS
    fig.add_trace(go.Scatter(
        x=cells[axes.x], y=cells[axes.y], mode="markers+text" if few else "markers",
        text=cells["code"] if few else None, textposition="top center",
        textfont=dict(size=10), **CELL_HOVER, customdata=cells.index.tolist(),
        marker=dict(color=fill, size=9, line=dict(color="#000000", width=1)),
        showlegend=False, name="trained points",
    ), r, c)  # fmt: skip
    fig.update_xaxes(type="log" if axes.log_x else "linear", row=r, col=c)
    fig.update_yaxes(type="log" if axes.log_y else "linear", row=r, col=c)


def _label_legend(fig, scattered: bool) -> None:
    """Legend entries, beside the maps: each label's colour and letter, and mixed cells."""
    entries = [(f"{legend.LETTERS[label]}  {label}", "square", legend.COLOURS[label])
               for label in LABELS]  # fmt: skip
    mixed = "white dot" if scattered else "stripes"
    entries.append((f"{mixed}: mixed (no label<br>holds 2/3 of the trials)", "square-open", "#000"))
    for name, symbol, colour in entries:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(symbol=symbol, size=14, color=colour)))  # fmt: skip
    fig.update_layout(legend=dict(x=1.02, y=1, yanchor="top", font=dict(size=11)))


def _axis_titles(fig, axes: MapAxes, rows: int, cols: int) -> None:
    def title(name, log):
        return f"{name} (log scale)" if log else name

    for c in range(1, cols + 1):
        fig.update_xaxes(title_text=title(axes.x, axes.log_x), row=rows, col=c)
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=title(axes.y, axes.log_y), row=r, col=1)


def converged_map(table, axes: MapAxes, row=None, col=None) -> go.Figure:
    """The converged share per cell (cividis, readable under colour-blindness), printed as
    'k/n' with its 95% Wilson interval."""
    title = "Converged share per cell, with its 95% interval (Wilson)"
    fig, rows, cols = _facets(table, row, col, title)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            cells = _facet(table, row, col, r, c)
            if axes.scattered:
                _converged_points(fig, i + 1, j + 1, cells, axes)
            else:
                _converged_grid(fig, i + 1, j + 1, cells, table, axes)
    _axis_titles(fig, axes, len(rows), len(cols))
    return fig


def _interval_text(cells: pd.DataFrame, columns: int) -> list[str]:
    """'k/n' over its interval; k/n alone when the cells are too narrow (the interval is
    in the hover)."""
    interval = columns <= MAX_INTERVAL_COLUMNS
    return [
        f"{k}/{n}" + (f"<br>{lo:.0%}-{hi:.0%}" if interval else "")
        for k, n, lo, hi in zip(cells["n_converged"], cells["trials"], cells["converged_low"],
                                cells["converged_high"])
    ]  # fmt: skip


def _converged_grid(fig, r, c, cells, table, axes) -> None:
    xs, x_values = _positions(table, axes.x)
    ys, y_values = _positions(table, axes.y)
    xi, yi = cells[axes.x].map(xs).to_numpy(), cells[axes.y].map(ys).to_numpy()
    z = np.full((len(ys), len(xs)), np.nan)
    index = np.full((len(ys), len(xs)), -1)
    z[yi, xi], index[yi, xi] = cells["converged_fraction"], cells.index
    fig.add_trace(go.Heatmap(
        x=np.arange(len(xs)), y=np.arange(len(ys)), z=z, zmin=0, zmax=1, colorscale="cividis",
        **CELL_HOVER, customdata=index.tolist(), xgap=1, ygap=1,
        colorbar=dict(title="converged", tickformat=".0%", len=0.6),
    ), r, c)  # fmt: skip
    if len(cells) <= MAX_TEXT_CELLS:
        ink = ["#000000" if value > 0.6 else "#FFFFFF" for value in cells["converged_fraction"]]
        fig.add_trace(go.Scatter(
            x=xi, y=yi, mode="text", text=_interval_text(cells, len(xs)), hoverinfo="skip",
            textfont=dict(color=ink, size=10), showlegend=False,
        ), r, c)  # fmt: skip
    _categorical_ticks(fig, r, c, x_values, y_values)


def _converged_points(fig, r, c, cells, axes) -> None:
    """Sampled studies: each trained point coloured by its converged share, sized by trials."""
    fig.add_trace(go.Scatter(
        x=cells[axes.x], y=cells[axes.y], mode="markers", **CELL_HOVER,
        customdata=cells.index.tolist(),
        marker=dict(color=cells["converged_fraction"], cmin=0, cmax=1, colorscale="cividis",
                    size=7 + 3 * np.sqrt(cells["trials"]), line=dict(color="#000", width=1),
                    colorbar=dict(title="converged", tickformat=".0%", len=0.6)),
        showlegend=False,
    ), r, c)  # fmt: skip
    fig.update_xaxes(type="log" if axes.log_x else "linear", row=r, col=c)
    fig.update_yaxes(type="log" if axes.log_y else "linear", row=r, col=c)


def importance_chart(importance: pd.DataFrame) -> go.Figure:
    """Horizontal bars: each hyperparameter's fANOVA importance for each label."""
    fig = go.Figure()
    keys = list(importance.index)[::-1]
    for target in importance.columns:
        fig.add_trace(go.Bar(
            y=keys, x=importance.loc[keys, target], orientation="h", name=target,
            marker_color=legend.COLOURS[target],
            hovertemplate=f"{target}: %{{y}} explains %{{x:.0%}}<extra></extra>",
        ))  # fmt: skip
    fig.update_layout(
        title="What decides the label: fANOVA importance of each hyperparameter per label",
        barmode="group", template="simple_white", font=FONT, xaxis_title="importance (share)",
        xaxis_tickformat=".0%", height=180 + 40 * len(keys) * max(1, len(importance.columns)) // 2,
        width=900, margin=dict(l=120, r=20, t=60, b=50),
    )  # fmt: skip
    return fig


def parallel_coordinates(trials: pd.DataFrame, keys: list[str], logs: dict[str, bool]) -> go.Figure:
    """One line per trial across the numeric hyperparameters (log10 where log), coloured by
    its label; the last axis is the label. Over PARALLEL_MAX_TRIALS trials, a seeded random
    sample of that many (a browser cannot draw a million lines), and the title says so."""
    shown = trials
    if len(trials) > PARALLEL_MAX_TRIALS:
        shown = trials.sample(PARALLEL_MAX_TRIALS, random_state=0).sort_index()
    dimensions = []
    for key in keys:
        values = np.log10(shown[key]) if logs.get(key) else shown[key]
        dimensions.append(dict(label=f"log10 {key}" if logs.get(key) else key,
                               values=values.to_numpy(np.float32)))  # fmt: skip
    codes = shown["label"].map({label: k for k, label in enumerate(LABELS)}).to_numpy(np.int8)
    dimensions.append(dict(label="label", values=codes, tickvals=list(range(len(LABELS))),
                           ticktext=[legend.LETTERS[label] + " " + label for label in LABELS],
                           range=[-0.5, len(LABELS) - 0.5]))  # fmt: skip
    fig = go.Figure(go.Parcoords(
        line=dict(color=codes, colorscale=LABEL_SCALE, cmin=-0.5, cmax=len(LABELS) - 0.5),
        dimensions=dimensions,
    ))  # fmt: skip
    which = (
        "Every trial"
        if len(shown) == len(trials)
        else f"A random {len(shown):,} of the {len(trials):,} trials"
    )
    fig.update_layout(
        title=f"{which} across the numeric hyperparameters (drag an axis to filter)",
        font=FONT,
        height=460,
        width=1000,
        margin=dict(l=80, r=80, t=90),
    )
    return fig

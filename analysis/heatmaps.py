"""Static maps for papers (`ganmap report --static`): matplotlib drawings of the same
tables the interactive report draws (`analysis.cells`, `analysis.scatter`,
`analysis.importance`), in the same colours and letters (`analysis.legend`).

Every function returns `(fig, axes)` and never saves or shows: the caller decides.
Cells without trials are left empty (hatched), never drawn as zero.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import NullFormatter

from analysis import legend
from analysis.cells import MapAxes, distinct_text
from study.schema import LABELS

PANEL = (3.8, 3.3)  # inches per facet


def _facets(table: pd.DataFrame, row, col, title: str):
    rows = sorted(table[row].unique()) if row else [None]
    cols = sorted(table[col].unique()) if col else [None]
    fig, axes = plt.subplots(
        len(rows), len(cols), figsize=(PANEL[0] * len(cols) + 0.6, PANEL[1] * len(rows) + 1.4),
        squeeze=False, sharex=True, sharey=True, layout="constrained",
    )  # fmt: skip
    fig.suptitle(title, fontsize=10)
    panels = []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            facet = table[(table[row] == r) if row else slice(None)]
            facet = facet[(facet[col] == c) if col else slice(None)]
            heading = ", ".join(f"{k}={v}" for k, v in ((row, r), (col, c)) if k)
            axes[i, j].set_title(heading, fontsize=9)
            panels.append((axes[i, j], facet, i == len(rows) - 1, j == 0))
    return fig, axes, panels


def _grid_axes(ax, table: pd.DataFrame, axes: MapAxes, bottom: bool, left: bool):
    """Categorical ticks for both axes; returns {value: position} for x and y."""
    positions = []
    for name, set_ticks, set_lim in ((axes.x, ax.set_xticks, ax.set_xlim),
                                     (axes.y, ax.set_yticks, ax.set_ylim)):  # fmt: skip
        values = sorted(table[name].unique())
        text = distinct_text(values)
        set_ticks(range(len(values)), [text[v] for v in values])
        set_lim(-0.5, len(values) - 0.5)
        positions.append({v: k for k, v in enumerate(values)})
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.tick_params(axis="y", labelsize=8)
    _titles(ax, axes, bottom, left)
    return positions


def _continuous(ax, axes: MapAxes, bottom: bool, left: bool) -> None:
    """Log or linear axes for scattered points; only the decades labelled on a log axis."""
    for log, set_scale, axis in ((axes.log_x, ax.set_xscale, ax.xaxis),
                                 (axes.log_y, ax.set_yscale, ax.yaxis)):  # fmt: skip
        set_scale("log" if log else "linear")
        axis.set_minor_formatter(NullFormatter())
    _titles(ax, axes, bottom, left)


def _titles(ax, axes: MapAxes, bottom: bool, left: bool) -> None:
    if bottom:
        ax.set_xlabel(f"{axes.x} (log scale)" if axes.log_x else axes.x)
    if left:
        ax.set_ylabel(f"{axes.y} (log scale)" if axes.log_y else axes.y)


def _empty_cells(ax, xs: dict, ys: dict, facet: pd.DataFrame, axes: MapAxes) -> None:
    taken = set(zip(facet[axes.x], facet[axes.y]))
    for x, xi in xs.items():
        for y, yi in ys.items():
            if (x, y) not in taken:
                ax.add_patch(Rectangle((xi - 0.5, yi - 0.5), 1, 1, facecolor=legend.EMPTY_COLOUR,
                                       hatch="//", edgecolor="#BBBBBB", linewidth=0.5))  # fmt: skip


def plot_label_map(table, axes: MapAxes, row=None, col=None, grid=None):
    """Each cell in its label's colour where one label holds a clear majority, else in
    vertical stripes as wide as its labels' shares; its letter code printed in it. A
    sampled study (`axes.scattered`): the label regions of `grid`, paled where unsure,
    under the trained points."""
    title = "Label per cell (a colour: at least 2/3 of its trials; stripes: mixed)"
    fig, ax_grid, panels = _facets(table, row, col, title)
    for ax, facet, bottom, left in panels:
        if axes.scattered:
            regions = grid[(grid[row] == facet[row].iloc[0]) if row and len(facet) else slice(None)]
            regions = regions[
                (regions[col] == facet[col].iloc[0]) if col and len(facet) else slice(None)
            ]
            _regions(ax, regions, facet, axes, bottom, left)
            continue
        xs, ys = _grid_axes(ax, table, axes, bottom, left)
        _empty_cells(ax, xs, ys, facet, axes)
        for cell in facet.to_dict("records"):
            _cell(ax, xs[cell[axes.x]], ys[cell[axes.y]], cell)
    handles = [Patch(facecolor=legend.COLOURS[label], label=f"{legend.LETTERS[label]} {label}")
               for label in LABELS]  # fmt: skip
    if axes.scattered:
        handles.append(Line2D([], [], marker="o", color="white", markeredgecolor="black",
                              label="trained configuration (white: mixed)"))  # fmt: skip
        handles.append(Patch(facecolor="#EEEEEE", label="paler: the nearest points' vote is split"))
    else:
        handles.append(Patch(facecolor="white", edgecolor="black", label="stripes: mixed"))
        handles.append(Patch(facecolor=legend.EMPTY_COLOUR, hatch="//", edgecolor="#BBBBBB",
                             label="no trials"))  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    return fig, ax_grid


def _same_facet(grid: pd.DataFrame, facet: pd.DataFrame, keys) -> pd.DataFrame:
    """The rows of the region grid in the facet of `facet`'s cells."""
    for key in keys:
        if key and len(facet):
            grid = grid[grid[key] == facet[key].iloc[0]]
    return grid


def _cell(ax, x: float, y: float, cell: dict) -> None:
    """One grid cell: a colour, or stripes of its label shares; its letter code."""
    counts = np.array([cell[f"n_{label}"] for label in LABELS], dtype=float)
    left = x - 0.5
    for label, share in zip(LABELS, counts / counts.sum()):
        if share and (not cell["majority"] or label == cell["majority"]):
            width = 1.0 if cell["majority"] else share
            ax.add_patch(Rectangle((left, y - 0.5), width, 1, facecolor=legend.COLOURS[label],
                                   linewidth=0))  # fmt: skip
            left += width
    ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=1))
    colour = legend.COLOURS.get(cell["majority"], legend.MIXED_COLOUR)
    ink = legend.ink(colour)
    box = None if cell["majority"] else dict(boxstyle="round,pad=0.15", fc="white", ec="none")
    ax.text(x, y, cell["code"], ha="center", va="center", fontsize=8, color=ink, bbox=box)


def _regions(ax, regions: pd.DataFrame, facet: pd.DataFrame, axes: MapAxes, bottom, left):
    """Predicted label regions (paled by uncertainty) and the trained points over them."""
    xs, ys = np.sort(regions[axes.x].unique()), np.sort(regions[axes.y].unique())
    ordered = regions.set_index([axes.y, axes.x]).sort_index()
    rgb = np.array([to_rgb(legend.COLOURS.get(label, "#FFFFFF")) for label in ordered["label"]])
    pale = 0.8 * ordered["uncertainty"].to_numpy()[:, None]
    image = (rgb * (1 - pale) + pale).reshape(len(ys), len(xs), 3)
    ax.pcolormesh(xs, ys, image, shading="nearest", rasterized=True)
    fill = [legend.COLOURS.get(m, legend.MIXED_COLOUR) for m in facet["majority"]]
    ax.scatter(facet[axes.x], facet[axes.y], c=fill, s=28, edgecolors="black", linewidths=0.8)
    _continuous(ax, axes, bottom, left)


def plot_converged_fraction(table, axes: MapAxes, row=None, col=None):
    """The converged share per cell (cividis), printed as k/n over its 95% interval; a
    sampled study's points coloured the same way."""
    title = "Converged share per cell: k/n and its 95% interval (Wilson)"
    fig, ax_grid, panels = _facets(table, row, col, title)
    colours = plt.get_cmap("cividis")
    for ax, facet, bottom, left in panels:
        if axes.scattered:
            ax.scatter(facet[axes.x], facet[axes.y], c=facet["converged_fraction"], cmap=colours,
                       vmin=0, vmax=1, s=20 + 12 * facet["trials"], edgecolors="black")  # fmt: skip
            _continuous(ax, axes, bottom, left)
            continue
        xs, ys = _grid_axes(ax, table, axes, bottom, left)
        _empty_cells(ax, xs, ys, facet, axes)
        for cell in facet.to_dict("records"):
            x, y, share = xs[cell[axes.x]], ys[cell[axes.y]], cell["converged_fraction"]
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=colours(share),
                                   edgecolor="white"))  # fmt: skip
            text = (f"{cell['n_converged']}/{cell['trials']}\n"
                    f"{cell['converged_low']:.0%}-{cell['converged_high']:.0%}")  # fmt: skip
            ax.text(x, y, text, ha="center", va="center", fontsize=7,
                    color="black" if share > 0.6 else "white")  # fmt: skip
    mappable = plt.cm.ScalarMappable(cmap=colours, norm=plt.Normalize(0, 1))
    fig.colorbar(mappable, ax=ax_grid, label="converged share", shrink=0.8)
    return fig, ax_grid


def plot_importance(importance: pd.DataFrame):
    """Horizontal bars: each hyperparameter's fANOVA importance, one colour per label."""
    keys = list(importance.index)[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.45 * len(keys) * len(importance.columns) ** 0.5),
                           layout="constrained")  # fmt: skip
    height = 0.8 / len(importance.columns)
    for k, target in enumerate(importance.columns):
        ax.barh(np.arange(len(keys)) + k * height - 0.4 + height / 2,
                importance.loc[keys, target], height, color=legend.COLOURS[target],
                label=target, edgecolor="black", linewidth=0.4)  # fmt: skip
    ax.set_yticks(range(len(keys)), keys)
    ax.set_xlabel("fANOVA importance (share of the label's variance)")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("What decides the label", fontsize=10)
    return fig, np.array([[ax]])

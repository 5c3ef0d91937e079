"""Draw stability maps and trial drill-downs from the tables of `analysis.regions`.

Every function returns `(fig, axes)` and never saves or shows: the caller decides (the
report writes PNGs). Label colours are fixed and colour-blind safe (Okabe & Ito 2008);
cells without trials are left visibly empty (hatched), never drawn as zero.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display needed; a notebook may switch backends after import

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from study.schema import LABELS  # noqa: E402

LABEL_COLOURS = {
    "converged": "#009E73",  # bluish green
    "oscillating": "#E69F00",  # orange
    "collapsed": "#CC79A7",  # reddish purple
    "vanishing": "#0072B2",  # blue
    "diverged": "#D55E00",  # vermillion
    "unconverged": "#F0E442",  # yellow
}
EMPTY = "#FFFFFF"


def _facets(table: pd.DataFrame, row: str | None, col: str | None):
    rows = sorted(table[row].unique()) if row else [None]
    cols = sorted(table[col].unique()) if col else [None]
    fig, axes = plt.subplots(
        len(rows), len(cols), figsize=(3.6 * len(cols) + 1.5, 3.2 * len(rows) + 0.8),
        squeeze=False, sharex=True, sharey=True,
    )  # fmt: skip
    return fig, axes, rows, cols


def _cell_grid(facet: pd.DataFrame, xs, ys, value: str):
    """A [len(ys), len(xs)] array of `value`, None where the cell has no trials."""
    grid = np.full((len(ys), len(xs)), None, dtype=object)
    for _, cell in facet.iterrows():
        grid[ys.index(cell["_y"]), xs.index(cell["_x"])] = cell[value]
    return grid


def _draw_facets(table, x, y, row, col, draw_cell, title):
    fig, axes, rows, cols = _facets(table, row, col)
    xs, ys = sorted(table[x].unique()), sorted(table[y].unique())
    frame = table.assign(_x=table[x], _y=table[y])
    for i, row_value in enumerate(rows):
        for j, col_value in enumerate(cols):
            ax = axes[i, j]
            facet = frame
            if row:
                facet = facet[facet[row] == row_value]
            if col:
                facet = facet[facet[col] == col_value]
            for (yi, xi), cell in np.ndenumerate(_cell_grid(facet, xs, ys, "_index")):
                record = None if cell is None else frame.loc[cell]
                draw_cell(ax, xi, yi, record)
            ax.set_xlim(-0.5, len(xs) - 0.5)
            ax.set_ylim(-0.5, len(ys) - 0.5)
            ax.set_xticks(range(len(xs)), [f"{v:.2g}" for v in xs], rotation=45)
            ax.set_yticks(range(len(ys)), [f"{v:.2g}" for v in ys])
            heading = [f"{k}={v}" for k, v in ((row, row_value), (col, col_value)) if k]
            ax.set_title(", ".join(heading), fontsize=9)
            if i == len(rows) - 1:
                ax.set_xlabel(f"{x} (log scale)")
            if j == 0:
                ax.set_ylabel(f"{y} (log scale)")
    fig.suptitle(title)
    return fig, axes


def _empty(ax, xi, yi):
    ax.add_patch(plt.Rectangle((xi - 0.5, yi - 0.5), 1, 1, facecolor=EMPTY, hatch="//",
                               edgecolor="#BBBBBB", linewidth=0.5))  # fmt: skip


def plot_label_map(table: pd.DataFrame, x="lr_g", y="lr_d", row=None, col=None):
    """Dominant label per cell, one fixed colour per label; annotated with the trial count."""
    table = table.assign(_index=table.index)

    def draw(ax, xi, yi, cell):
        if cell is None:
            return _empty(ax, xi, yi)
        colour = LABEL_COLOURS[cell["dominant_label"]]
        ax.add_patch(plt.Rectangle((xi - 0.5, yi - 0.5), 1, 1, facecolor=colour))
        share = cell[f"n_{cell['dominant_label']}"]
        ax.text(xi, yi, f"{share}/{cell['trials']}", ha="center", va="center", fontsize=8)

    fig, axes = _draw_facets(table, x, y, row, col, draw, "Dominant label per cell")
    handles = [Patch(facecolor=LABEL_COLOURS[label], label=label) for label in LABELS]
    handles.append(Patch(facecolor=EMPTY, hatch="//", edgecolor="#BBBBBB", label="no trials"))
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.subplots_adjust(right=0.8, top=0.88, hspace=0.45)
    return fig, axes


def plot_converged_fraction(table: pd.DataFrame, x="lr_g", y="lr_d", row=None, col=None):
    """Fraction of seeds converged per cell (0..1), annotated with 'converged/trials'."""
    table = table.assign(_index=table.index)
    cmap = plt.get_cmap("viridis")

    def draw(ax, xi, yi, cell):
        if cell is None:
            return _empty(ax, xi, yi)
        fraction = cell["converged_fraction"]
        ax.add_patch(plt.Rectangle((xi - 0.5, yi - 0.5), 1, 1, facecolor=cmap(fraction)))
        ink = "white" if fraction < 0.6 else "black"
        ax.text(xi, yi, f"{cell['n_converged']}/{cell['trials']}", ha="center", va="center",
                fontsize=8, color=ink)  # fmt: skip

    fig, axes = _draw_facets(table, x, y, row, col, draw, "Fraction of seeds converged")
    scale = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    fig.subplots_adjust(right=0.85, top=0.88, hspace=0.45)
    fig.colorbar(scale, ax=axes, fraction=0.03, label="converged fraction")
    return fig, axes


def plot_trial_curves(history: pd.DataFrame, trials: pd.DataFrame, trial_ids: list[str]):
    """Losses, gradient norms and mode coverage (Dirac: distance) over steps per trial."""
    fig, axes = plt.subplots(3, 1, figsize=(8, 8.5), sharex=True)
    for tid in trial_ids:
        run = history[history["trial_id"] == tid].sort_values("step")
        label = trials.loc[trials["trial_id"] == tid, "label"].iloc[0]
        colour = LABEL_COLOURS[label]
        name = f"{tid} ({label})"
        axes[0].plot(run["step"], run["loss_d"], color=colour, label=f"{name} D")
        axes[0].plot(run["step"], run["loss_g"], color=colour, linestyle="--")
        axes[1].semilogy(run["step"], run["grad_norm_g"].clip(lower=1e-12), color=colour)
        quality = "dist_equilibrium" if run["modes_covered"].isna().all() else "modes_covered"
        axes[2].plot(run["step"], run[quality], color=colour)
        axes[2].set_ylabel(quality)
    axes[0].set_ylabel("loss (D solid, G dashed)")
    axes[1].set_ylabel("G gradient norm")
    axes[2].set_xlabel("generator step")
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig, axes


def plot_samples(samples: pd.DataFrame, trials: pd.DataFrame, trial_ids: list[str]):
    """Generated points of 2D trials at their last evaluation, one panel per trial."""
    fig, axes = plt.subplots(1, len(trial_ids), figsize=(3.2 * len(trial_ids), 3.4), squeeze=False)
    for ax, tid in zip(axes[0], trial_ids):
        points = samples[samples["trial_id"] == tid]
        label = trials.loc[trials["trial_id"] == tid, "label"].iloc[0]
        ax.scatter(points["x"], points["y"], s=3, color=LABEL_COLOURS[label])
        ax.set_title(f"{label}\n{tid}", fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return fig, axes

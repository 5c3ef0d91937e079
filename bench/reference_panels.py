"""Render one blind panel per reference run: what it generated and its curves, no label.

    python bench/reference_panels.py bench/reference/runs/ring8 [...] --out bench/reference/panels

Each panel shows, for ring8/grid25, the final generated samples over the true modes on
fixed axes (samples outside the axes are drawn on its border), the samples at six
earlier evaluations on the same axes, and curves over steps: losses, gradient norms,
D's outputs, quality and coverage, the mode mass over time and how much the samples
move. For digits, grids of generated digits (last evaluation and six earlier ones) and
the class histogram against the data's. The panel names the run by its anonymous id
only: no configuration, no label (docs/label_validation.md, "Hand labels").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from study.config import TrainConfig  # noqa: E402
from study.problems import make_problem  # noqa: E402

LIMITS = {"ring8": 2.6, "grid25": 5.4}


def render_all(folder: Path, out: Path) -> None:
    runs = pd.read_parquet(folder / "runs.parquet")
    history = pd.read_parquet(folder / "history.parquet")
    snapshots = pd.read_parquet(folder / "snapshots.parquet")
    out.mkdir(parents=True, exist_ok=True)
    for run in runs.itertuples():
        rows = history[history.run_id == run.run_id].sort_values("step")
        frames = snapshots[snapshots.run_id == run.run_id].sort_values("step")
        figure = panel(run.run_id, run.problem, rows, frames)
        figure.savefig(out / f"{run.run_id}.png", dpi=80)
        plt.close(figure)
    print(f"{len(runs)} panels in {out}")


def panel(run_id: str, problem: str, rows: pd.DataFrame, frames: pd.DataFrame):
    figure = plt.figure(figsize=(15, 8.6))
    grid = figure.add_gridspec(4, 7, height_ratios=[1, 1, 1, 1.25], hspace=0.55, wspace=0.5,
                               left=0.03, right=0.99, top=0.93, bottom=0.03)  # fmt: skip
    picked = frames["step"].tolist()[:-1]  # the earlier evaluations kept (panel_steps)
    if problem == "digits":
        _digits(figure.add_subplot(grid[0:2, 0:3]), frames.iloc[-1], 8, "last evaluation")
        _class_histogram(figure.add_subplot(grid[2, 0:3]), rows.iloc[-1])
        for slot, step in enumerate(picked):
            frame = frames[frames.step == step].iloc[0]
            _digits(figure.add_subplot(grid[3, slot]), frame, 4, f"step {step}")
    else:
        modes = make_problem(TrainConfig(problem=problem), torch.device("cpu")).modes.numpy()
        big = figure.add_subplot(grid[0:3, 0:3])
        _scatter(big, frames.iloc[-1], modes, LIMITS[problem], 3)
        big.set_title(f"generated samples, last evaluation (step {frames.iloc[-1].step})")
        for slot, step in enumerate(picked):
            small = figure.add_subplot(grid[3, slot])
            _scatter(small, frames[frames.step == step].iloc[0], modes, LIMITS[problem], 1)
            small.set_title(f"step {step}", fontsize=8)
    _curves(figure, grid, rows)
    figure.suptitle(f"run {run_id}", fontsize=13, x=0.03, ha="left")
    return figure


def _scatter(ax, frame, modes: np.ndarray, limit: float, size: float) -> None:
    """Samples (outside ones on the border, in red) over the true modes, fixed axes;
    NaN/Inf samples are counted, not drawn."""
    x, y = np.asarray(frame["x"], dtype=float), np.asarray(frame["y"], dtype=float)
    broken = ~(np.isfinite(x) & np.isfinite(y))
    outside = ~broken & ((np.abs(x) > limit) | (np.abs(y) > limit))
    ax.scatter(modes[:, 0], modes[:, 1], s=60 * size, facecolors="none",
               edgecolors="#999999", linewidths=0.8)  # fmt: skip
    inside = ~broken & ~outside
    ax.scatter(x[inside], y[inside], s=size, color="#0072B2", alpha=0.6, linewidths=0)
    notes = []
    if outside.any():
        clipped = np.clip(np.stack([x, y])[:, outside], -limit, limit)
        ax.scatter(*clipped, s=4 * size, color="#D55E00", marker="x", linewidths=0.6)
        notes.append(f"{outside.sum()} outside")
    if broken.any():
        notes.append(f"{broken.sum()} NaN/Inf")
    if notes:
        ax.text(0.02, 0.02, ", ".join(notes), transform=ax.transAxes, fontsize=7,
                color="#D55E00")  # fmt: skip
    ax.set_xlim(-limit - 0.1, limit + 0.1)
    ax.set_ylim(-limit - 0.1, limit + 0.1)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)


def _digits(ax, frame, side: int, title: str) -> None:
    pixels = np.asarray(frame["pixels"], dtype=float).reshape(-1, 8, 8)[: side * side] / 127.5 - 1
    tiles = np.full((side * 9, side * 9), -1.0)  # white gaps between digits
    for index, image in enumerate(pixels):
        row, col = divmod(index, side)
        tiles[row * 9 : row * 9 + 8, col * 9 : col * 9 + 8] = image
    ax.imshow(tiles, cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(title, fontsize=8)
    ax.axis("off")


def _class_histogram(ax, row) -> None:
    counts = np.asarray(row["mode_counts"], dtype=float)
    ax.barh(np.arange(10), counts / counts.sum(), color="#0072B2", label="generated")
    ax.axvline(0.1, color="#999999", linestyle="--", label="data (~0.1)")
    ax.set_yticks(range(10))
    ax.invert_yaxis()
    ax.set_title("class shares, last eval", fontsize=8)
    ax.legend(fontsize=6, loc="lower right")


def _curves(figure, grid, rows: pd.DataFrame) -> None:
    steps = rows["step"].to_numpy()
    axes = [figure.add_subplot(grid[row, col : col + 2]) for row in range(3) for col in (3, 5)]
    axes[0].plot(steps, rows["loss_d"], label="D loss")
    axes[0].plot(steps, rows["loss_g"], "--", label="G loss")
    axes[0].set_title("losses", fontsize=8)
    axes[1].semilogy(steps, rows["grad_norm_g"].clip(lower=1e-12), label="G")
    axes[1].semilogy(steps, rows["grad_norm_d"].clip(lower=1e-12), ":", label="D")
    axes[1].set_title("gradient norms (log)", fontsize=8)
    axes[2].plot(steps, rows["d_real"], label="D(real)")
    axes[2].plot(steps, rows["d_fake"], "--", label="D(fake)")
    axes[2].set_title("D outputs", fontsize=8)
    modes = rows["n_modes"].iloc[-1]
    axes[3].plot(steps, rows["high_quality"], label="high quality share")
    axes[3].plot(steps, rows["modes_held"] / modes, "--", label=f"modes held / {modes:g}")
    axes[3].set_ylim(-0.05, 1.05)
    axes[3].set_title("quality and coverage", fontsize=8)
    counts = np.stack(rows["mode_counts"].to_numpy()).astype(float)
    shares = counts / counts.sum(axis=1, keepdims=True)
    colours = plt.get_cmap("tab20" if shares.shape[1] > 10 else "tab10")(
        np.arange(shares.shape[1]) % 20
    )
    axes[4].stackplot(steps, shares.T, colors=colours, linewidth=0)
    axes[4].set_ylim(0, 1)
    axes[4].set_title("mode mass (share by nearest mode)", fontsize=8)
    axes[5].plot(steps, rows["sample_drift"], label="sample move (data scales)")
    axes[5].plot(steps, rows["mass_shift"], "--", label="mode-mass change (TV)")
    axes[5].set_title("movement between evaluations", fontsize=8)
    broken = rows[~rows["finite"].astype(bool)]
    for ax in axes:
        if len(broken):
            ax.text(0.5, 0.5, f"NaN/Inf parameters from step {broken['step'].iloc[0]}",
                    transform=ax.transAxes, ha="center", color="#D55E00")  # fmt: skip
        ax.tick_params(labelsize=6)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", help="reference run folders (one per spec)")
    parser.add_argument("--out", default="bench/reference/panels", help="panel folder")
    args = parser.parse_args()
    for folder in args.folders:
        render_all(Path(folder), Path(args.out))


if __name__ == "__main__":
    main()

"""How the report's work and page grow with the cells of a map: a synthetic study built in
memory (no files), then each stage of `analysis.report` timed and the page data sized.

The study: 5 losses x 8 regularizers x SIDE x SIDE learning rates x 10 seeds, labeled
converged in a band around lr_d = 2 lr_g, diverged above lr_g = 1e-2, collapsed
elsewhere, with 20% of the labels replaced by unconverged at random. It prints one line
per stage and last `trials=T cells=C seconds=S page_mb=M peak_rss_gb=R`.

    python bench/report_scale.py [--side 50]    # 50: 1,000,000 trials in 100,000 cells
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import optuna
import pandas as pd

from analysis import cells, importance, report

LOSSES = ("minimax", "nonsaturating", "hinge", "wasserstein", "least_squares")
REGULARIZERS = ("none", "r1", "r2", "gp", "dragan", "sn", "wgan_gp", "ortho")
SEEDS = 10


def synthetic(side: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rates = np.geomspace(1e-5, 1e-1, side)
    grid = np.meshgrid(range(len(LOSSES)), range(len(REGULARIZERS)), range(side), range(side),
                       range(SEEDS), indexing="ij")  # fmt: skip
    loss, regularizer, g, d, s = (axis.ravel() for axis in grid)
    trials = pd.DataFrame({
        "study": "scale", "problem": "ring8", "pack_id": "p", "loss": np.array(LOSSES)[loss],
        "regularizer": np.array(REGULARIZERS)[regularizer], "lr_g": rates[g],
        "lr_d": rates[d], "d_steps": 1, "g_steps": 1, "seed": s, "score": 0.5,
    })  # fmt: skip
    band = np.abs(np.log10(trials.lr_d / (2 * trials.lr_g))) < 0.5
    label = np.where(band, "converged", np.where(trials.lr_g > 1e-2, "diverged", "collapsed"))
    trials["label"] = np.where(rng.random(len(trials)) < 0.2, "unconverged", label)
    trials["trial_id"] = [f"{i:012x}" for i in range(len(trials))]
    trials["confidence"] = rng.random(len(trials))
    return cells.with_ratio(trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=50, help="learning rates per axis")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = synthetic(args.side)
    start = time.perf_counter()
    choice = report.choose_map(trials)
    drawn = report.stability_map(trials, choice, {"lr_g": "grid", "lr_d": "grid"})
    print(f"cell table: {time.perf_counter() - start:.1f} s, {len(drawn.table):,} cells")
    stage = time.perf_counter()
    ranked = importance.importance_table(trials, report.varied_keys(trials))
    print(f"importance: {time.perf_counter() - stage:.1f} s")
    stage = time.perf_counter()
    figures = report._figures(trials, drawn, ranked)
    print(f"figures: {time.perf_counter() - stage:.1f} s")
    stage = time.perf_counter()
    page = report._script_json({"figures": figures, "cells": report._cell_list(drawn)})
    print(f"cell list and page data: {time.perf_counter() - stage:.1f} s")
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"trials={len(trials)} cells={len(drawn.table)} seconds={seconds:.1f} "
          f"page_mb={len(page) / 1e6:.1f} peak_rss_gb={rss:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

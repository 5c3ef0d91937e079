"""The numbers behind a cell: a clear majority, and a 95% interval for a share of trials.

A cell of two seeds where one converged and one did not is a coin toss, not a stable
region: a label names a cell only when it holds at least `CLEAR_MAJORITY` (two thirds)
of its trials, and the converged share comes with Wilson's score interval (Wilson 1927;
Brown, Cai & DasGupta 2001 recommend it for small n), which stays inside [0, 1] and is
honest at 0/n and n/n, where the textbook Wald interval collapses to a point.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

CLEAR_MAJORITY = 2 / 3  # the share of a cell's trials a label needs to name the cell
Z95 = NormalDist().inv_cdf(0.975)  # 1.959964...


def wilson_interval(successes, trials, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (low, high) of successes/trials, elementwise; NaN for 0 trials."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def clear_majority(counts: np.ndarray, labels) -> np.ndarray:
    """Per row of label counts [cells, labels]: the label holding at least two thirds of
    the row's trials, or "" where none does (a mixed cell)."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=1)
    top = counts.argmax(axis=1)
    holds = counts[np.arange(len(counts)), top] >= CLEAR_MAJORITY * totals - 1e-9
    return np.where(holds & (totals > 0), np.asarray(labels, dtype=object)[top], "")

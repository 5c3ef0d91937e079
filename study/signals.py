"""Small pure statistics over a diagnostic's history, used by the labeler.

Every function takes a 1-D sequence of floats (one per evaluation, oldest first) and
ignores NaN entries unless it says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def trailing(values: Sequence[float], window: int) -> np.ndarray:
    """The last `window` finite values."""
    return finite(values)[-window:]


def median(values: Sequence[float]) -> float:
    """Median of the finite values; NaN when there are none."""
    array = finite(values)
    return float(np.median(array)) if array.size else math.nan


def detrend(values: Sequence[float]) -> np.ndarray:
    """Values minus their least-squares line, so a drift is not mistaken for a swing."""
    array = finite(values)
    if array.size < 3:
        return array - array.mean() if array.size else array
    steps = np.arange(array.size) - (array.size - 1) / 2  # centred: the fit is closed-form
    centred = array - array.mean()
    return centred - steps * (steps @ centred) / (steps @ steps)


def periodicity(values: Sequence[float]) -> float:
    """Share of the detrended signal's power in its strongest frequency (0..1).

    A clean sine gives ~1; white noise about 2 / n; a constant 0.
    """
    swing = detrend(values)
    if swing.size < 6:
        return 0.0
    power = np.abs(np.fft.rfft(swing * np.hanning(swing.size)))[1:] ** 2
    total = power.sum()
    if total <= 1e-24:
        return 0.0
    # Leakage spreads one sine over neighbouring bins: count the peak with its neighbours.
    peak = int(power.argmax())
    return float(power[max(peak - 1, 0) : peak + 2].sum() / total)


def relative_amplitude(values: Sequence[float]) -> float:
    """Std of the detrended signal over the mean magnitude (scale-free swing size)."""
    array = finite(values)
    if array.size < 3:
        return 0.0
    scale = max(float(np.abs(array).mean()), 1e-12)
    return float(detrend(array).std() / scale)


def decay_ratio(values: Sequence[float]) -> float:
    """Swing size in the last third over that in the first third (< 1: it is dying out)."""
    swing = detrend(values)
    third = swing.size // 3
    if third < 2:
        return 1.0
    first, last = swing[:third].std(), swing[-third:].std()
    return float(last / first) if first > 1e-12 else (1.0 if last > 1e-12 else 0.0)


def rise(values: Sequence[float]) -> float:
    """Mean of the last third minus mean of the first third (> 0: still rising)."""
    array = finite(values)
    if array.size < 2:
        return 0.0
    third = max(1, array.size // 3)
    return float(array[-third:].mean() - array[:third].mean())


def persists(values: Sequence[float], persistence: float) -> bool:
    """Whether a movement keeps its size: the late half's median is at least
    `persistence` times the early half's (else it is dying out)."""
    array = finite(values)
    half = array.size // 2
    if half == 0:
        return True
    return bool(np.median(array[half:]) >= persistence * np.median(array[:half]))

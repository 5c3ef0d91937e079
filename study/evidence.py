"""A member's evaluation history as arrays, and the trailing window the labeler judges.

`Evidence.from_history` turns history rows (the trainer's, or a stored study's
history.parquet rows) into one array per diagnostic, plus what the labeler derives from
the per-mode sample counts: the modes held at a given share, the mode balance
exp(-mass_kl) (1 when the generated mode mass matches the data's weights) and the
sampling-noise floor of the mass shift. The window is the run's last `window_share` of
evaluations, at least `window` of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from study import metrics, signals


@dataclass(frozen=True)
class Evidence:
    """Per-evaluation arrays (oldest first) and the size of the trailing window."""

    columns: dict[str, np.ndarray]
    counts: np.ndarray | None  # [T, M] samples per mode (nearest mode / top class)
    size: int

    @classmethod
    def from_history(cls, history: Sequence[Mapping], window: int, share: float) -> Evidence:
        """Arrays from history rows (dicts, oldest first)."""
        if not history:
            raise ValueError("cannot label an empty history")
        names = [name for name, value in history[-1].items() if not _is_list(value)]
        columns = {
            name: np.array([_number(row.get(name)) for row in history], dtype=float)
            for name in names
        }
        columns["finite"] = np.array([bool(row.get("finite", True)) for row in history])
        counts = None
        if _is_list(history[-1].get(metrics.COUNTS)):
            counts = np.array([row[metrics.COUNTS] for row in history], dtype=float)
        return cls.from_columns(columns, counts, window, share)

    @classmethod
    def from_columns(
        cls, columns: dict[str, np.ndarray], counts: np.ndarray | None, window: int, share: float
    ) -> Evidence:
        """From one array per diagnostic and the [T, M] mode counts (None: no modes)."""
        columns = dict(columns)
        if counts is not None:
            columns["balance"] = np.exp(-columns["mass_kl"])
            totals = counts.sum(axis=1, keepdims=True)
            floor = metrics.shift_noise_floor(counts / np.maximum(totals, 1), totals)
            columns["shift_floor"] = np.asarray(floor, dtype=float)
        return cls(columns, counts, 2).windowed(window, share)

    def windowed(self, window: int, share: float) -> Evidence:
        """The same evidence judged on its last `share` of evaluations, at least `window`."""
        evaluations = len(self.columns["step"])
        size = max(window, math.ceil(share * evaluations))
        return replace(self, size=int(min(max(size, 2), evaluations)))

    def resized(self, extra: int) -> Evidence:
        """The same evidence judged on a window `extra` evaluations longer (or shorter)."""
        size = min(max(self.size + extra, 2), len(self.columns["step"]))
        return replace(self, size=size)

    @property
    def is_dirac(self) -> bool:
        return "dist_equilibrium" in self.columns

    @property
    def has_modes(self) -> bool:
        return self.counts is not None

    @property
    def n_modes(self) -> int:
        return int(self.counts.shape[1])

    @property
    def dirac_start(self) -> float:
        return float(self.columns["dist_equilibrium"][0])

    def window(self, name: str) -> np.ndarray:
        """The window's finite values of one column."""
        return signals.finite(self.columns[name][-self.size :])

    def median(self, name: str) -> float:
        return signals.median(self.window(name))

    def held(self, share: float) -> np.ndarray:
        """Modes held at each evaluation of the window (`metrics.held_modes`)."""
        counts = self.counts[-self.size :]
        uniform = np.full(counts.shape[1], 1.0 / counts.shape[1])
        return np.asarray(metrics.held_modes(counts, uniform, share), dtype=float)


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _number(value) -> float:
    return math.nan if value is None else float(value)

"""Automatic failure labels: a small pure function over one member's evaluation history.

Input: the trainer's history (a list of rows, one per evaluation, oldest first; see
`study.diagnostics`) and the loss name. Output: one primary `label`, a flag for every
signature (they can co-occur), the collapse kind, a reason naming the deciding numbers,
and a confidence. Signatures are judged on a trailing window of evaluations, never a
single point. NaN rows count as divergence; otherwise NaN entries are skipped.

Precedence (first that holds is the label): diverged > vanishing > collapsed >
oscillating > converged > unconverged. A generator hopping between few modes is
`collapsed` with `is_oscillating` set too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from study import signals
from study.schema import LABELS  # noqa: F401  (defined once, with the results schema)

PRECEDENCE = ("diverged", "vanishing", "collapsed", "oscillating")
TERMINAL = ("diverged", "vanishing", "collapsed")  # collapsed only when complete
PROBABILITY_LOSSES = ("minimax", "nonsaturating")


class LabelThresholds(BaseModel):
    """Every threshold the labeler uses, with its default; overridable per study."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(5, ge=2, description="trailing evaluations a signature is judged on")
    explode: float = Field(
        1e6, gt=0, description="a loss or gradient norm above this in size: diverged"
    )
    collapse_quality: float = Field(
        0.5, ge=0, le=1, description="collapsed: covered modes fitted, high_quality >= this"
    )
    complete_coverage: float = Field(
        0.15, ge=0, le=1, description="complete collapse: <= this share of modes covered"
    )
    early_evals: int = Field(2, ge=1, description="evaluations that give G's early gradient norm")
    vanish_ratio: float = Field(
        1e-2, gt=0, lt=1, description="vanishing: G's gradient norm <= this x its early value"
    )
    vanish_d_fake: float = Field(
        0.05, ge=0, le=1, description="vanishing: D(G(z)) <= this (probability losses)"
    )
    vanish_quality: float = Field(
        0.2, ge=0, le=1, description="vanishing: high_quality below this (quality is poor)"
    )
    converged_quality: float = Field(
        0.5, ge=0, le=1, description="converged: high_quality >= this with every mode covered"
    )
    converged_shift: float = Field(
        0.15, ge=0, le=1, description="converged: mode-histogram shift between evals <= this"
    )
    oscillation_shift: float = Field(
        0.3, ge=0, le=1, description="oscillating: mode-histogram shift between evals >= this"
    )
    hop_quality: float = Field(
        0.05, ge=0, le=1, description="mode hopping needs high_quality >= this (else noise)"
    )
    oscillation_drift: float = Field(
        0.5, gt=0, description="oscillating: samples keep moving >= this x the data's scale"
    )
    oscillation_window: int = Field(
        12, ge=6, description="evaluations for the loss-periodicity test"
    )
    periodicity: float = Field(
        0.6, gt=0, le=1, description="oscillating: share of loss power in one frequency >= this"
    )
    amplitude: float = Field(
        0.1, ge=0, description="oscillating: detrended loss swing / mean loss >= this"
    )
    min_swing: float = Field(
        1e-3, ge=0, description="oscillating: detrended loss std at least this (not noise)"
    )
    persistence: float = Field(
        0.5, gt=0, description="a swing persists when late/early size >= this (else decaying)"
    )
    dirac_converged: float = Field(
        0.2, gt=0, lt=1, description="Dirac: converged at distance <= this x the initial one"
    )
    dirac_orbit: float = Field(
        0.7, gt=0, description="Dirac: a non-decaying orbit keeps >= this x the initial distance"
    )
    dirac_diverged: float = Field(
        10.0, gt=1, description="Dirac: spiralled out at distance >= this x the initial one"
    )
    dirac_moving: float = Field(
        1e-3, ge=0, description="Dirac: an orbit moves theta by >= this between evaluations"
    )
    patience: int = Field(
        3, ge=1, description="early stop once a terminal failure held this many evaluations"
    )
    min_stop_fraction: float = Field(
        0.2, ge=0, le=1, description="no early stop before this share of the step budget"
    )


@dataclass(frozen=True)
class Finding:
    """Whether one signature holds, how clearly, and the numbers that decided it."""

    holds: bool
    confidence: float
    reason: str
    kind: str = ""


@dataclass(frozen=True)
class Label:
    """A trial's label, every signature flag, and the evidence."""

    label: str
    is_collapsed: bool
    is_oscillating: bool
    is_vanishing: bool
    is_diverged: bool
    collapse_kind: str  # "complete", "partial" or ""
    label_reason: str
    confidence: float


NO = Finding(False, 0.0, "")


def label_history(
    history: Sequence[Mapping[str, float]],
    loss: str,
    thresholds: LabelThresholds | None = None,
) -> Label:
    """Label one member from its evaluation history (see module docstring)."""
    t = thresholds or LabelThresholds()
    columns = _columns(history)
    found = {"diverged": diverged(columns, t)}
    if not found["diverged"].holds:
        found["vanishing"] = vanishing(columns, loss, t)
        found["collapsed"] = collapsed(columns, t)
        found["oscillating"] = oscillating(columns, t)
    primary = next((name for name in PRECEDENCE if found.get(name, NO).holds), None)
    if primary is None:
        done = converged(columns, t)
        primary = "converged" if done.holds else "unconverged"
        decision = done if done.holds else Finding(True, 1.0 - done.confidence / 2, done.reason)
    else:
        decision = found[primary]
    return Label(
        label=primary,
        is_collapsed=found.get("collapsed", NO).holds,
        is_oscillating=found.get("oscillating", NO).holds,
        is_vanishing=found.get("vanishing", NO).holds,
        is_diverged=found["diverged"].holds,
        collapse_kind=found.get("collapsed", NO).kind,
        label_reason=f"{primary}: {decision.reason}",
        confidence=round(decision.confidence, 3),
    )


def diverged(c: Mapping[str, np.ndarray], t: LabelThresholds) -> Finding:
    """NaN/Inf parameters, a loss or gradient norm past `explode`, or a Dirac spiral out."""
    if not c["finite"].all():
        step = int(c["step"][np.argmin(c["finite"])])
        return Finding(True, 1.0, f"non-finite parameters from step {step}")
    if "dist_equilibrium" in c:
        start, end = _dirac_distances(c, t)
        if end >= t.dirac_diverged * start:
            confidence = signals.margin_confidence(end / start, t.dirac_diverged, above=True)
            reason = f"spiralled out: distance to equilibrium {start:.3g} -> {end:.3g}"
            return Finding(True, confidence, reason)
    for name in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g", "dist_equilibrium"):
        values = c.get(name)
        if values is None:
            continue
        worst = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else math.inf
        if not np.isfinite(values[-1:]).all() or worst > t.explode:
            return Finding(True, 1.0, f"{name} reached {worst:.3g} (> {t.explode:.3g})")
    return NO


def vanishing(c: Mapping[str, np.ndarray], loss: str, t: LabelThresholds) -> Finding:
    """G's gradient fell by orders of magnitude while D rejects fakes and quality is poor.

    The textbook case is the saturating minimax loss against a strong D (Arjovsky &
    Bottou 2017). D's confidence is checked only for losses with probability outputs;
    the Dirac-GAN is never vanishing (its G gradient vanishes only at the equilibrium).
    """
    if "dist_equilibrium" in c or len(c["step"]) < t.early_evals + t.window // 2:
        return NO
    early = float(np.nanmax(c["grad_norm_g"][: t.early_evals]))
    late = signals.median(signals.trailing(c["grad_norm_g"], t.window))
    quality = signals.median(signals.trailing(c["high_quality"], t.window))
    ratio = late / early if early > 0 else math.nan
    d_fake = signals.median(signals.trailing(c["d_fake"], t.window))
    rejects = loss not in PROBABILITY_LOSSES or d_fake <= t.vanish_d_fake
    holds = ratio <= t.vanish_ratio and rejects and quality < t.vanish_quality
    confidence = signals.margin_confidence(ratio, t.vanish_ratio, above=False)
    reason = (
        f"G gradient norm fell from {early:.3g} to {late:.3g} "
        f"({ratio:.2g}x, <= {t.vanish_ratio:g}), D(G(z)) = {d_fake:.3g}, "
        f"high_quality {quality:.3g}"
    )
    return Finding(holds, confidence, reason)


def collapsed(c: Mapping[str, np.ndarray], t: LabelThresholds) -> Finding:
    """Too few modes (classes) covered while the samples that exist are well fitted."""
    if "n_modes" not in c:
        return NO
    total = int(c["n_modes"][-1])
    covered = signals.median(signals.trailing(c["modes_covered"], t.window))
    quality = signals.median(signals.trailing(c["high_quality"], t.window))
    if not (covered < total and quality >= t.collapse_quality):
        return NO
    kind = "complete" if covered <= max(1.0, t.complete_coverage * total) else "partial"
    confidence = signals.margin_confidence(quality, t.collapse_quality, above=True)
    reason = (
        f"{kind} collapse, {covered:g} of {total} modes covered with high_quality "
        f"{quality:.3g} (>= {t.collapse_quality:g}), median of the last {t.window} evaluations"
    )
    return Finding(True, confidence, reason, kind)


def oscillating(c: Mapping[str, np.ndarray], t: LabelThresholds) -> Finding:
    """Losses, samples or the mode histogram keep swinging without decay."""
    if "dist_equilibrium" in c:
        return _dirac_orbit(c, t)
    for finding in (_mode_hopping(c, t), _wandering(c, t), _periodic_losses(c, t)):
        if finding.holds:
            return finding
    return NO


def converged(c: Mapping[str, np.ndarray], t: LabelThresholds) -> Finding:
    """Every mode covered, quality reached, the histogram steady (Dirac: at equilibrium)."""
    if "dist_equilibrium" in c:
        start, end = _dirac_distances(c, t)
        ratio = end / start if start > 0 else math.nan
        confidence = signals.margin_confidence(ratio, t.dirac_converged, above=False)
        reason = (
            f"distance to equilibrium {start:.3g} -> {end:.3g} ({ratio:.2g}x; "
            f"converged needs <= {t.dirac_converged:g}x)"
        )
        return Finding(ratio <= t.dirac_converged, confidence, reason)
    total = int(c["n_modes"][-1])
    covered = float(np.nanmin(signals.trailing(c["modes_covered"], t.window)))
    quality = signals.median(signals.trailing(c["high_quality"], t.window))
    shift = signals.median(signals.trailing(c["mode_shift"], t.window))
    holds = covered >= total and quality >= t.converged_quality and shift <= t.converged_shift
    confidence = min(
        signals.margin_confidence(quality, t.converged_quality, above=True),
        signals.margin_confidence(max(shift, 1e-6), t.converged_shift, above=False),
    )
    reason = (
        f"{covered:g} of {total} modes covered, high_quality {quality:.3g} "
        f"(converged needs >= {t.converged_quality:g}), mode shift {shift:.3g} "
        f"(needs <= {t.converged_shift:g})"
    )
    return Finding(holds, confidence if holds else min(confidence, 0.5), reason)


def _mode_hopping(c, t) -> Finding:
    level = signals.median(signals.trailing(c["mode_shift"], t.window))
    quality = signals.median(signals.trailing(c["high_quality"], t.window))
    holds = level >= t.oscillation_shift and quality >= t.hop_quality
    confidence = signals.margin_confidence(level, t.oscillation_shift, above=True)
    reason = f"mode histogram shifts by {level:.3g} per evaluation (>= {t.oscillation_shift:g})"
    return Finding(holds, confidence, reason)


def _wandering(c, t) -> Finding:
    drift = signals.trailing(c["sample_drift"], t.window)
    level = signals.median(drift)
    half = drift.size // 2
    persists = half == 0 or np.median(drift[half:]) >= t.persistence * np.median(drift[:half])
    holds = bool(level >= t.oscillation_drift and persists)
    confidence = signals.margin_confidence(level, t.oscillation_drift, above=True)
    reason = (
        f"samples move {level:.3g} x the data scale per evaluation (>= {t.oscillation_drift:g})"
    )
    return Finding(holds, confidence, reason)


def _periodic_losses(c, t) -> Finding:
    for name in ("loss_g", "loss_d"):
        values = signals.trailing(c[name], t.oscillation_window)
        if values.size < t.oscillation_window:
            return NO
        peak = signals.periodicity(values)
        amplitude = signals.relative_amplitude(values)
        decay = signals.decay_ratio(values)
        swings = amplitude >= t.amplitude and signals.detrend(values).std() >= t.min_swing
        if peak >= t.periodicity and swings and decay >= t.persistence:
            confidence = signals.margin_confidence(peak, t.periodicity, above=True)
            reason = (
                f"{name} swings periodically: {peak:.2f} of its power in one frequency, "
                f"amplitude {amplitude:.2g} of its mean, late/early swing {decay:.2g}"
            )
            return Finding(True, confidence, reason)
    return NO


def _dirac_distances(c, t) -> tuple[float, float]:
    distance = c["dist_equilibrium"]
    return float(distance[0]), signals.median(signals.trailing(distance, t.window))


def _dirac_orbit(c, t) -> Finding:
    start, end = _dirac_distances(c, t)
    moving = signals.median(signals.trailing(c["sample_drift"], t.window))
    ratio = end / start if start > 0 else math.nan
    holds = ratio >= t.dirac_orbit and moving >= t.dirac_moving
    confidence = signals.margin_confidence(ratio, t.dirac_orbit * 0.1, above=True)
    reason = (
        f"orbit does not decay: distance to equilibrium {start:.3g} -> {end:.3g} "
        f"({ratio:.2g}x, >= {t.dirac_orbit:g}) while theta keeps moving ({moving:.2g})"
    )
    return Finding(holds, confidence if holds else 0.0, reason)


def _columns(history: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
    """Column arrays from the rows; `finite` as bool."""
    if not history:
        raise ValueError("cannot label an empty history")
    names = history[-1].keys()
    columns = {
        name: np.array([row.get(name, math.nan) for row in history], dtype=float) for name in names
    }
    columns["finite"] = np.array([bool(row.get("finite", True)) for row in history])
    return columns


class EarlyStopper:
    """The labeler online: at each evaluation, the provisional label and whether to stop.

    A member stops once a terminal failure (diverged, vanishing, complete collapse) has
    been the provisional label for `patience` consecutive evaluations, and not before
    `min_stop_fraction` of its budget. Use an instance as the trainer's `should_stop`.
    """

    def __init__(self, losses: Sequence[str], budgets: Sequence[int], t: LabelThresholds):
        self.losses, self.budgets, self.t = losses, budgets, t
        self.streaks: dict[int, int] = {}
        self.provisional: dict[int, Label] = {}

    def __call__(self, member: int, history: list[dict]) -> bool:
        label = label_history(history, self.losses[member], self.t)
        self.provisional[member] = label
        terminal = label.label in TERMINAL and (
            label.label != "collapsed" or label.collapse_kind == "complete"
        )
        self.streaks[member] = self.streaks.get(member, 0) + 1 if terminal else 0
        late_enough = history[-1]["step"] >= self.t.min_stop_fraction * self.budgets[member]
        return late_enough and self.streaks[member] >= self.t.patience

"""Automatic failure labels: a small pure function over one member's evaluation history.

Input: the trainer's history (a list of rows, one per evaluation, oldest first; see
`study.diagnostics`; a stored study's history.parquet holds the same rows) and the loss
name. Output: one primary `label`, a flag for every signature (they can co-occur), the
collapse kind, a reason naming the deciding numbers, and a confidence. Signatures are
judged on a trailing window of evaluations (the run's last quarter, at least `window`
evaluations), never a single point; definitions in docs/labels.md. NaN rows count as
divergence; otherwise NaN entries are skipped.

Precedence (first that holds is the label): diverged > vanishing > collapsed >
oscillating > converged > unconverged, except that a partial collapse that keeps moving
is `oscillating` (a broad mass sweeping around); a complete collapse that hops between
modes is `collapsed` with `is_oscillating` set too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from study import signals
from study.evidence import Evidence
from study.schema import LABELS  # noqa: F401  (defined once, with the results schema)
from study.thresholds import LabelThresholds

PRECEDENCE = ("diverged", "vanishing", "collapsed", "oscillating")
PROBABILITY_LOSSES = ("minimax", "nonsaturating")


@dataclass(frozen=True)
class Finding:
    """Whether one signature holds, and the numbers that decided it."""

    holds: bool
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


NO = Finding(False, "")


def label_history(
    history: Sequence[Mapping[str, float]],
    loss: str,
    thresholds: LabelThresholds | None = None,
    with_confidence: bool = True,
) -> Label:
    """Label one member from its evaluation history (see module docstring).

    The confidence is the share of nearby labelings (`confidence_labelings`) that agree;
    the online early stopper skips it (`with_confidence=False`, confidence NaN).
    """
    t = thresholds or LabelThresholds()
    return label_evidence(Evidence.from_history(history, t.window, t.window_share), loss, t,
                          with_confidence)  # fmt: skip


def label_evidence(e: Evidence, loss: str, t: LabelThresholds, with_confidence=True) -> Label:
    """Label one member from its evidence (a stored history's, or `label_history`'s)."""
    e = judged(e, t)
    label = decide(e, loss, t)
    if not with_confidence:
        return label
    agreeing = [decide(other, loss, near).label == label.label for other, near in
                confidence_labelings(e, t)]  # fmt: skip
    return replace(label, confidence=round(float(np.mean(agreeing)), 3))


def judged(e: Evidence, t: LabelThresholds) -> Evidence:
    """The evidence on the window its signatures are judged on: a Dirac cycle needs
    points to show, so orbits are judged on a longer window."""
    if e.is_dirac:
        return e.windowed(t.window, max(t.window_share, t.dirac_window_share))
    return e


def decide(e: Evidence, loss: str, t: LabelThresholds) -> Label:
    """The label from evidence already windowed; confidence left NaN."""
    found = {"diverged": diverged(e, t)}
    if not found["diverged"].holds:
        found["vanishing"] = vanishing(e, loss, t)
        found["collapsed"] = collapsed(e, t)
        found["oscillating"] = oscillating(e, t)
    order = PRECEDENCE
    if _sweeping(e, found, t):
        order = ("diverged", "vanishing", "oscillating", "collapsed")
    primary = next((name for name in order if found.get(name, NO).holds), None)
    if primary is None:
        done = converged(e, t)
        primary = "converged" if done.holds else "unconverged"
        decision = done if done.holds else unconverged(e, t, done)
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
        confidence=math.nan,
    )


def _sweeping(e: Evidence, found: dict[str, Finding], t: LabelThresholds) -> bool:
    """A broad mass that keeps moving: a partial collapse, not piled on a few modes
    (balance >= `collapse_balance`), that oscillates. Judges call it oscillating; a few
    templates or a narrow band hopping around stays collapsed."""
    collapse, moving = found.get("collapsed", NO), found.get("oscillating", NO).holds
    return collapse.kind == "partial" and moving and e.median("balance") >= t.collapse_balance


def confidence_labelings(e: Evidence, t: LabelThresholds):
    """(evidence, thresholds) pairs near the given ones: the window two evaluations
    shorter and longer, crossed with every threshold in SCALED moved together by a
    factor of CONFIDENCE_FACTOR down or up. Nine labelings, the given one among them."""
    for extra in (-2, 0, 2):
        resized = e.resized(extra)
        for factor in (1.0, CONFIDENCE_FACTOR, 1.0 / CONFIDENCE_FACTOR):
            yield resized, t.model_copy(update={name: getattr(t, name) * factor for name in SCALED})


CONFIDENCE_FACTOR = 1.2
# The thresholds that decide between the labels (not the safety limits like `explode`).
SCALED = (
    "held_share", "blob_diversity", "collapse_balance", "converged_quality", "converged_drift",
    "converged_shift", "oscillation_drift", "oscillation_shift", "improving", "vanish_ratio",
    "vanish_d_fake", "dirac_converged", "dirac_diverged",
)  # fmt: skip


def diverged(e: Evidence, t: LabelThresholds) -> Finding:
    """NaN/Inf parameters, a loss or gradient norm past `explode`, or a Dirac spiral out."""
    c = e.columns
    if not c["finite"].all():
        step = int(c["step"][np.argmin(c["finite"])])
        return Finding(True, f"non-finite parameters from step {step}")
    if e.is_dirac:
        start, end = e.dirac_start, e.median("dist_equilibrium")
        if end >= t.dirac_diverged * start:
            return Finding(True, f"spiralled out: distance to equilibrium {start:.3g} -> {end:.3g}")
    spread = e.median("diversity") if "diversity" in c else math.nan
    if spread >= t.flew_off:
        reason = f"samples flew off: spread {spread:.3g}x the data's (>= {t.flew_off:g})"
        return Finding(True, reason)
    limits = {"loss_d": t.explode, "loss_g": t.explode, "dist_equilibrium": t.explode,
              "grad_norm_d": t.explode_grad, "grad_norm_g": t.explode_grad}  # fmt: skip
    for name, limit in limits.items():
        values = c.get(name)
        if values is None:
            continue
        worst = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else math.inf
        if not np.isfinite(values[-1:]).all() or worst > limit:
            return Finding(True, f"{name} reached {worst:.3g} (> {limit:.3g})")
    return NO


def vanishing(e: Evidence, loss: str, t: LabelThresholds) -> Finding:
    """G's gradient fell by an order of magnitude while D rejects fakes with certainty
    and quality is poor.

    The textbook case is the saturating minimax loss against a strong D (Arjovsky &
    Bottou 2017). Only the losses whose D outputs a probability can "reject with
    certainty" (D(G(z)) near 0); WGAN, hinge and least squares were designed not to
    saturate. The Dirac-GAN is never vanishing (its G gradient vanishes only at the
    equilibrium).
    """
    c = e.columns
    if e.is_dirac or loss not in PROBABILITY_LOSSES or len(c["step"]) < t.early_evals + 2:
        return NO
    early = float(np.nanmax(c["grad_norm_g"][: t.early_evals]))
    late = e.median("grad_norm_g")
    quality = e.median("high_quality")
    ratio = late / early if early > 0 else math.nan
    d_fake = e.median("d_fake")
    holds = ratio <= t.vanish_ratio and d_fake <= t.vanish_d_fake and quality < t.vanish_quality
    reason = (
        f"G gradient norm fell from {early:.3g} to {late:.3g} "
        f"({ratio:.2g}x, <= {t.vanish_ratio:g}), D(G(z)) = {d_fake:.3g}, "
        f"high_quality {quality:.3g}"
    )
    return Finding(holds, reason)


def collapsed(e: Evidence, t: LabelThresholds) -> Finding:
    """The samples stay concentrated on a subset of the modes, sharp or not.

    Concentrated at an evaluation: at least max(1, collapse_missing x modes) modes not
    held (`held_share`), or the mass piled on a few of them (balance below
    `collapse_balance`), or one small blob (diversity below `blob_diversity`). It must
    hold at `stable_share` of the window's evaluations. Complete: one blob; or at most
    few = max(1, complete_modes x modes) held; or fewer effective modes (modes x balance,
    the exponential of the mass's entropy: a blob straddling two modes splits between
    them) than max(complete_effective, few). A partial collapse whose modes held are
    still rising, while its samples hold still, is a run still spreading out.
    """
    if not e.has_modes:
        return NO
    held, total = e.held(t.held_share), e.n_modes
    balance, spread = e.window("balance"), e.window("diversity")
    missing = total - held >= max(1.0, t.collapse_missing * total)
    concentrated = missing | (balance < t.collapse_balance) | (spread < t.blob_diversity)
    share = float(concentrated.mean())
    typical, effective = float(np.median(held)), total * signals.median(balance)
    blob = signals.median(spread) < t.blob_diversity
    few = max(1.0, t.complete_modes * total)
    complete = blob or effective < max(t.complete_effective, few) or typical <= few
    hopping = e.median("sample_drift") >= t.oscillation_drift  # held counts flicker
    rising = not (complete or hopping) and signals.rise(held) >= 1.0
    kind = "complete" if complete else "partial"
    where = f"{typical:g} of {total} modes held" + (", one blob" if blob else "")
    reason = (
        f"{kind} collapse: {where}, {effective:.2g} effective modes (balance "
        f"{signals.median(balance):.2f}), diversity {signals.median(spread):.2f}; "
        f"concentrated at {share:.0%} of the last {len(held)} evaluations "
        f"(needs {t.stable_share:.0%})"
    )
    if rising:
        reason += f"; modes held still rising ({held[0]:g} -> {held[-1]:g})"
    holds = share >= t.stable_share and not rising
    return Finding(holds, reason, kind if holds else "")


def oscillating(e: Evidence, t: LabelThresholds) -> Finding:
    """Samples or the mode mass keep moving, or the losses swing, without decay."""
    if e.is_dirac:
        return _dirac_orbit(e, t)
    for finding in (_wandering(e, t), _rotating(e, t), _periodic_losses(e, t)):
        if finding.holds:
            return finding
    return NO


def converged(e: Evidence, t: LabelThresholds) -> Finding:
    """Every mode held, balanced, good quality that has stopped rising, still (Dirac: at
    the equilibrium)."""
    if e.is_dirac:
        return _dirac_converged(e, t)
    if not e.has_modes:
        return NO
    held, total = e.held(t.held_share), e.n_modes
    covered = float((held >= total).mean())
    balance, quality = e.median("balance"), e.median("high_quality")
    rising = signals.rise(e.window("high_quality"))
    drift, shift = e.median("sample_drift"), e.median("mass_shift")
    holds = (
        covered >= t.stable_share
        and balance >= t.converged_balance
        and quality >= t.converged_quality
        and rising < t.converged_steady * quality
        and drift <= t.converged_drift
        and shift <= t.converged_shift
    )
    reason = (
        f"all {total} modes held at {covered:.0%} of the last {len(held)} evaluations "
        f"(needs {t.stable_share:.0%}), balance {balance:.2f} (>= {t.converged_balance:g}), "
        f"high_quality {quality:.3g} (>= {t.converged_quality:g}; rose {rising:.2g}, < "
        f"{t.converged_steady:g} of it), samples move {drift:.3g} (<= {t.converged_drift:g}), mass "
        f"changes {shift:.3g} (<= {t.converged_shift:g})"
    )
    return Finding(holds, reason)


def unconverged(e: Evidence, t: LabelThresholds, near: Finding) -> Finding:
    """No signature holds: still improving (quality, balance or modes rising), or stuck."""
    if e.is_dirac:
        return Finding(True, f"not yet at the equilibrium: {near.reason}")
    gains = {
        "high_quality": signals.rise(e.window("high_quality")),
        "balance": signals.rise(e.window("balance")),
    }
    rising = {name: gain for name, gain in gains.items() if gain >= t.improving}
    if e.has_modes and signals.rise(e.held(t.held_share)) >= 1.0:
        rising["modes held"] = signals.rise(e.held(t.held_share))
    if rising:
        what = ", ".join(f"{name} +{gain:.2g}" for name, gain in rising.items())
        return Finding(True, f"still improving over the window ({what}); {near.reason}")
    return Finding(
        True, f"stuck: no failure signature, not converged, not improving; {near.reason}"
    )


def _wandering(e: Evidence, t: LabelThresholds) -> Finding:
    drift = e.window("sample_drift")
    level = signals.median(drift)
    holds = bool(level >= t.oscillation_drift and signals.persists(drift, t.persistence))
    reason = (
        f"samples move {level:.3g} x the data scale per evaluation (>= {t.oscillation_drift:g})"
    )
    return Finding(holds, reason)


def _rotating(e: Evidence, t: LabelThresholds) -> Finding:
    if not e.has_modes:
        return NO
    shift = e.window("mass_shift")
    level, floor = signals.median(shift), signals.median(e.window("shift_floor"))
    needed = max(t.oscillation_shift, t.shift_floors * floor)
    holds = bool(level >= needed and signals.persists(shift, t.persistence))
    reason = (
        f"mode mass changes by {level:.3g} per evaluation (>= {needed:.3g}; "
        f"sampling-noise floor {floor:.2g})"
    )
    return Finding(holds, reason)


def _periodic_losses(e: Evidence, t: LabelThresholds) -> Finding:
    """A loss cycling without decay, while the samples move (more than `converged_drift`):
    cycling losses over samples that hold still are not what a researcher calls
    oscillation (hand labels)."""
    if e.median("sample_drift") <= t.converged_drift:
        return NO
    for name in ("loss_g", "loss_d"):
        values = signals.trailing(e.columns[name], t.oscillation_window)
        if values.size < t.oscillation_window:
            return NO
        peak = signals.periodicity(values)
        amplitude = signals.relative_amplitude(values)
        decay = signals.decay_ratio(values)
        swings = amplitude >= t.amplitude and signals.detrend(values).std() >= t.min_swing
        if peak >= t.periodicity and swings and decay >= t.persistence:
            reason = (
                f"{name} swings periodically: {peak:.2f} of its power in one frequency, "
                f"amplitude {amplitude:.2g} of its mean, late/early swing {decay:.2g}"
            )
            return Finding(True, reason)
    return NO


def _dirac_decay(e: Evidence) -> float:
    """Late over early size of the distance in the window (envelopes: the halves' maxima)."""
    distance = e.window("dist_equilibrium")
    half = max(1, distance.size // 2)
    early, late = float(np.max(distance[:half])), float(np.max(distance[-half:]))
    return late / early if early > 0 else math.nan


def _dirac_orbit_misfit(e: Evidence) -> float:
    """How far the window's (theta, psi) points are from one ellipse centred on the
    equilibrium: the RMS residual of the least-squares conic a theta^2 + b theta psi +
    c psi^2 = 1 (0 on a linear cycle, even an eccentric one). Iterates jittering around
    the equilibrium (instance noise) fit no ellipse: their residual is 0.4 and more."""
    theta, psi = e.window("theta"), e.window("psi")
    if theta.size < 4 or theta.size != psi.size:
        return math.inf
    terms = np.stack([theta**2, theta * psi, psi**2], axis=1)
    if not np.isfinite(terms).all() or np.abs(terms).max() == 0:
        return math.inf
    coefficients, *_ = np.linalg.lstsq(terms, np.ones(theta.size), rcond=None)
    return float(np.sqrt(np.mean((terms @ coefficients - 1.0) ** 2)))


def _dirac_converged(e: Evidence, t: LabelThresholds) -> Finding:
    """Close to the equilibrium and not held on a cycle: still shrinking, at rest, or
    moving only irregularly (noise, as instance noise leaves)."""
    start, end = e.dirac_start, e.median("dist_equilibrium")
    ratio = end / start if start > 0 else math.nan
    decay, misfit = _dirac_decay(e), _dirac_orbit_misfit(e)
    settled = decay <= t.dirac_decay or ratio <= t.dirac_at_rest or misfit > t.dirac_orbit
    reason = (
        f"distance to equilibrium {start:.3g} -> {end:.3g} ({ratio:.2g}x; converged needs "
        f"<= {t.dirac_converged:g}x), late/early in the window {decay:.2g} (shrinking: <= "
        f"{t.dirac_decay:g}), off one ellipse by {misfit:.2g} (a cycle: <= {t.dirac_orbit:g})"
    )
    return Finding(ratio <= t.dirac_converged and settled, reason)


def _dirac_orbit(e: Evidence, t: LabelThresholds) -> Finding:
    """A regular orbit that does not decay, whatever its size (Mescheder et al. 2018)."""
    start, end = e.dirac_start, e.median("dist_equilibrium")
    decay, misfit = _dirac_decay(e), _dirac_orbit_misfit(e)
    moving = e.median("sample_drift")
    at_rest = end <= t.dirac_at_rest * start
    holds = (
        decay > t.dirac_decay
        and misfit <= t.dirac_orbit
        and moving >= t.dirac_moving
        and not at_rest
    )
    reason = (
        f"orbit does not decay: distance {start:.3g} -> {end:.3g}, late/early in the window "
        f"{decay:.2g} (> {t.dirac_decay:g}), on one ellipse (off by {misfit:.2g}, <= "
        f"{t.dirac_orbit:g}), theta keeps moving ({moving:.2g})"
    )
    return Finding(holds, reason)

"""The labeler on synthetic histories: one test per signature, precedence, online stops."""

import math

import numpy as np
import pytest

from study.labels import EarlyStopper, LabelThresholds, label_history

HEALTHY = dict(
    finite=True,
    loss_d=1.3,
    loss_g=0.8,
    grad_norm_g=1.0,
    grad_norm_d=1.0,
    d_real=0.55,
    d_fake=0.45,
    high_quality=0.85,
    modes_covered=8.0,
    n_modes=8.0,
    mode_kl=0.01,
    mode_shift=0.03,
    sample_drift=0.05,
)


def history(n=20, **columns):
    """n evaluation rows, 100 steps apart: HEALTHY values unless a column overrides them."""
    rows = []
    for i in range(n):
        row = {"step": 100 * (i + 1)}
        for name, default in HEALTHY.items():
            value = columns.get(name, default)
            row[name] = value[i] if isinstance(value, (list, np.ndarray)) else value
        rows.append(row)
    rows[0]["mode_shift"] = rows[0]["sample_drift"] = math.nan  # no previous evaluation
    return rows


def test_healthy_history_is_converged():
    label = label_history(history(), "nonsaturating")
    assert label.label == "converged"
    assert not (label.is_collapsed or label.is_oscillating or label.is_vanishing)
    # The reason names the deciding numbers.
    assert "8 of 8 modes" in label.label_reason and "0.85" in label.label_reason


def test_nan_is_diverged_from_the_step_it_appeared():
    rows = history(finite=[True] * 15 + [False] * 5)
    label = label_history(rows, "nonsaturating")
    assert label.label == "diverged" and label.is_diverged
    assert "step 1600" in label.label_reason and label.confidence == 1.0


def test_exploding_loss_is_diverged():
    label = label_history(history(loss_d=list(np.geomspace(1, 1e9, 20))), "wasserstein")
    assert label.label == "diverged" and "loss_d" in label.label_reason


def test_one_mode_well_fitted_is_complete_collapse():
    label = label_history(history(modes_covered=1.0, high_quality=0.97), "nonsaturating")
    assert (label.label, label.collapse_kind) == ("collapsed", "complete")


def test_half_the_modes_is_partial_collapse():
    label = label_history(history(modes_covered=4.0, high_quality=0.9), "nonsaturating")
    assert (label.label, label.collapse_kind) == ("collapsed", "partial")
    assert "4 of 8 modes" in label.label_reason


def test_few_modes_but_poor_quality_is_not_collapse():
    # Collapse means the covered modes are well fitted; blurry samples are something else.
    label = label_history(history(modes_covered=2.0, high_quality=0.1), "nonsaturating")
    assert not label.is_collapsed and label.label == "unconverged"


def vanishing_history():
    grad = list(np.geomspace(2.0, 1e-6, 20))
    return history(grad_norm_g=grad, d_fake=1e-5, high_quality=0.0, modes_covered=0.0)


def test_saturated_minimax_is_vanishing():
    label = label_history(vanishing_history(), "minimax")
    assert label.label == "vanishing" and label.is_vanishing
    # The reason gives the early and late gradient norms and D's output on fakes.
    assert "fell from 2 to" in label.label_reason and "D(G(z)) = 1e-05" in label.label_reason


def test_vanishing_needs_d_to_reject_fakes():
    rows = vanishing_history()
    for row in rows:
        row["d_fake"] = 0.4  # D is unsure: a small G gradient is not D winning
    assert not label_history(rows, "minimax").is_vanishing


def test_vanishing_needs_poor_quality():
    rows = vanishing_history()
    for row in rows:
        row.update(modes_covered=1.0, high_quality=0.9)
    label = label_history(rows, "minimax")
    # A tiny G gradient on a well-fitted single mode is a collapsed G at rest, not vanishing.
    assert label.label == "collapsed" and not label.is_vanishing


def test_mode_hopping_is_collapsed_and_oscillating():
    label = label_history(history(modes_covered=1.0, high_quality=0.9, mode_shift=1.0), "minimax")
    # Precedence: collapsed is the label; the oscillation is kept as a flag.
    assert label.label == "collapsed" and label.is_oscillating and label.is_collapsed


def test_wandering_samples_are_oscillating():
    label = label_history(history(sample_drift=1.2, high_quality=0.02, mode_shift=0.1), "hinge")
    assert label.label == "oscillating" and "data scale" in label.label_reason


def test_periodic_loss_is_oscillating_and_a_decaying_one_is_not():
    steps = np.arange(20)
    sine = 0.8 + 0.3 * np.sin(2 * math.pi * steps / 5)
    damped = 0.8 + 0.3 * np.sin(2 * math.pi * steps / 5) * np.exp(-steps / 3)
    common = dict(high_quality=0.3)
    assert label_history(history(loss_g=sine, **common), "hinge").label == "oscillating"
    assert label_history(history(loss_g=damped, **common), "hinge").label == "unconverged"


def dirac_rows(distances, moving=0.05):
    return [
        {
            "step": 100 * (i + 1),
            "finite": True,
            "loss_d": 1.3,
            "loss_g": 0.7,
            "grad_norm_g": 0.5,
            "grad_norm_d": 0.5,
            "d_real": 0.5,
            "d_fake": 0.5,
            "theta": d,
            "psi": 0.0,
            "dist_equilibrium": d,
            "sample_drift": math.nan if i == 0 else moving,
        }
        for i, d in enumerate(distances)
    ]


@pytest.mark.parametrize(
    "distances, moving, expected",
    [
        ([1.0 * 0.7**i for i in range(15)], 0.05, "converged"),  # spirals in
        ([1.0] * 15, 0.05, "oscillating"),  # a closed orbit
        ([1.0 * 0.93**i for i in range(15)], 0.05, "unconverged"),  # decays, too slowly
        ([1.0, 2.0, 4.0] + [4.0] * 12, 0.0, "unconverged"),  # stuck away from equilibrium
        ([1.0 * 10**i for i in range(15)], 0.05, "diverged"),  # spirals out
    ],
)
def test_dirac_trajectories(distances, moving, expected):
    assert label_history(dirac_rows(distances, moving), "minimax").label == expected


def test_thresholds_are_overridable_and_validated():
    strict = LabelThresholds(converged_quality=0.9)
    assert label_history(history(), "nonsaturating", strict).label == "unconverged"
    with pytest.raises(ValueError, match="window"):
        LabelThresholds(window=0)
    with pytest.raises(ValueError, match="Extra inputs"):
        LabelThresholds(windw=5)


def test_empty_history_is_an_error():
    with pytest.raises(ValueError, match="empty history"):
        label_history([], "minimax")


def test_early_stop_waits_for_patience_and_spares_partial_collapse():
    t = LabelThresholds(patience=3, min_stop_fraction=0.0)
    complete = history(modes_covered=1.0, high_quality=0.97)
    partial = history(modes_covered=4.0, high_quality=0.9)
    stopper = EarlyStopper(["nonsaturating"] * 2, [2000, 2000], t)
    decisions = [stopper(0, complete[: i + 1]) for i in range(6)]
    # Complete collapse: stop at the third consecutive terminal evaluation (patience 3)...
    assert decisions == [False, False, True, True, True, True]
    # ...partial collapse is not terminal: it never stops early.
    assert not any(stopper(1, partial[: i + 1]) for i in range(20))
    assert stopper.provisional[1].collapse_kind == "partial"


def test_early_stop_respects_the_minimum_budget_share():
    t = LabelThresholds(patience=1, min_stop_fraction=0.5)
    stopper = EarlyStopper(["nonsaturating"], [2000], t)
    rows = history(modes_covered=1.0, high_quality=0.97)
    # Terminal from the start, but no stop before step 1000 of 2000.
    stops = [stopper(0, rows[: i + 1]) for i in range(12)]
    assert stops.index(True) == 9

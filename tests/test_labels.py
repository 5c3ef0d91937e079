"""The labeler on synthetic histories: one test per signature, precedence, online stops."""

import math

import numpy as np
import pytest

from study.early_stopping import EarlyStopper
from study.labels import label_history
from study.thresholds import EarlyStopping, LabelThresholds

SAMPLES = 2500
HEALTHY = dict(
    finite=True,
    loss_d=1.3,
    loss_g=0.8,
    grad_norm_g=1.0,
    grad_norm_d=1.0,
    d_real=0.55,
    d_fake=0.45,
    high_quality=0.6,
    modes_covered=8.0,
    n_modes=8.0,
    mode_kl=0.01,
    diversity=1.0,
    sample_drift=0.05,
)
EVEN = [1 / 8] * 8


def history(n=20, mass=EVEN, previous_mass=None, **columns):
    """n evaluation rows, 100 steps apart: HEALTHY values unless a column overrides them.

    `mass` (one list of 8 mode shares, or one per evaluation) gives the mode counts of
    SAMPLES samples, and from them mass_kl, modes_held and the mass shift, as the
    evaluator would; `previous_mass` alternates with `mass` (a generator hopping).
    """
    rows = []
    for i in range(n):
        row = {"step": 100 * (i + 1)}
        for name, default in HEALTHY.items():
            value = columns.get(name, default)
            row[name] = value[i] if isinstance(value, (list, np.ndarray)) else value
        shares = mass[i] if isinstance(mass[0], list) else mass
        if previous_mass is not None and i % 2:
            shares = previous_mass
        rows.append({**row, **mode_columns(shares)})
    for before, row in zip(rows, rows[1:]):
        row["mass_shift"] = 0.5 * float(
            np.abs(np.subtract(row["mode_counts"], before["mode_counts"])).sum() / SAMPLES
        )
    rows[0]["mass_shift"] = rows[0]["sample_drift"] = math.nan  # no previous evaluation
    return rows


def mode_columns(shares):
    counts = [round(share * SAMPLES) for share in shares]
    mass = np.array(counts) / sum(counts)
    kl = float(np.sum(mass[mass > 0] * np.log(mass[mass > 0] * 8)))
    held = sum(count >= 0.2 * SAMPLES / 8 for count in counts)
    return {"mode_counts": counts, "mode_counts_hq": counts, "mass_kl": kl,
            "modes_held": float(held)}  # fmt: skip


def one_mode(index=0):
    return [1.0 if i == index else 0.0 for i in range(8)]


def test_healthy_history_is_converged():
    label = label_history(history(), "nonsaturating")
    assert label.label == "converged"
    assert not (label.is_collapsed or label.is_oscillating or label.is_vanishing)
    # The reason names the deciding numbers; every nearby labeling agrees.
    assert "all 8 modes held" in label.label_reason and "0.6" in label.label_reason
    assert label.confidence == 1.0


def test_nan_is_diverged_from_the_step_it_appeared():
    rows = history(finite=[True] * 15 + [False] * 5)
    label = label_history(rows, "nonsaturating")
    assert label.label == "diverged" and label.is_diverged
    assert "step 1600" in label.label_reason and label.confidence == 1.0


def test_exploding_loss_is_diverged():
    label = label_history(history(loss_d=list(np.geomspace(1, 1e9, 20))), "wasserstein")
    assert label.label == "diverged" and "loss_d" in label.label_reason


def test_one_sharp_mode_is_complete_collapse():
    label = label_history(history(mass=one_mode(), diversity=0.01), "nonsaturating")
    assert (label.label, label.collapse_kind) == ("collapsed", "complete")


def test_a_blurry_blob_far_from_the_modes_is_complete_collapse_too():
    # All samples in one blob nowhere near a mode: nearest mode 0, no quality at all.
    rows = history(mass=one_mode(), diversity=0.08, high_quality=0.0)
    label = label_history(rows, "nonsaturating")
    assert (label.label, label.collapse_kind) == ("collapsed", "complete")


def test_half_the_modes_is_partial_collapse_sharp_or_not():
    half = [0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0]
    for quality in (0.9, 0.05):
        label = label_history(history(mass=half, high_quality=quality, diversity=0.7), "minimax")
        assert (label.label, label.collapse_kind) == ("collapsed", "partial")
        assert "4 of 8 modes held" in label.label_reason


def test_mass_piled_on_few_modes_is_partial_collapse_even_with_every_mode_held():
    piled = [0.7, 0.12, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03]  # every mode above its 2.5% floor
    label = label_history(history(mass=piled, diversity=0.6), "minimax")
    assert (label.label, label.collapse_kind) == ("collapsed", "partial")


def test_a_few_stray_samples_do_not_hold_a_mode():
    strays = [0.99, 0.004, 0.003, 0.003, 0, 0, 0, 0]  # 10, 8 and 8 samples of 2,500
    label = label_history(history(mass=strays, diversity=0.05), "minimax")
    assert label.collapse_kind == "complete" and "one blob" in label.label_reason


def test_a_run_still_spreading_out_is_unconverged_not_collapsed():
    # Modes fill in one after another up to the last evaluation: improving, not stuck.
    filling = [[1 / k if i < k else 0.0 for i in range(8)] for k in [1] * 12 + list(range(1, 9))]
    label = label_history(history(mass=filling, diversity=0.8, high_quality=0.3), "minimax")
    assert label.label == "unconverged" and "still improving" in label.label_reason


def vanishing_history():
    grad = list(np.geomspace(2.0, 1e-6, 20))
    return history(grad_norm_g=grad, d_fake=1e-5, high_quality=0.0, sample_drift=0.01)


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
    rows = history(mass=one_mode(), diversity=0.01, grad_norm_g=list(np.geomspace(2, 1e-6, 20)),
                   d_fake=1e-5, high_quality=0.95)  # fmt: skip
    label = label_history(rows, "minimax")
    # A tiny G gradient on a well-fitted single mode is a collapsed G at rest, not vanishing.
    assert label.label == "collapsed" and not label.is_vanishing


def test_a_blob_hopping_between_modes_is_collapsed_and_oscillating():
    rows = history(mass=one_mode(0), previous_mass=one_mode(3), diversity=0.05, sample_drift=1.5)
    label = label_history(rows, "minimax")
    # Precedence: collapsed is the label; the hopping is kept as the oscillation flag.
    assert label.label == "collapsed" and label.is_oscillating and label.collapse_kind == "complete"


def test_wandering_samples_are_oscillating():
    label = label_history(history(sample_drift=1.2, high_quality=0.02), "hinge")
    assert label.label == "oscillating" and "data scale" in label.label_reason


def test_mode_mass_rotating_is_oscillating():
    left = [0.2, 0.2, 0.2, 0.2, 0.05, 0.05, 0.05, 0.05]
    right = left[4:] + left[:4]
    label = label_history(history(mass=left, previous_mass=right, sample_drift=0.3), "hinge")
    assert label.label == "oscillating" and "noise floor" in label.label_reason


def test_jitter_of_fixed_clusters_is_not_oscillation():
    # Samples move 0.1 data scales per evaluation, the mass barely changes: converged.
    jitter = [[1 / 8 + (0.004 if i % 2 else -0.004) * (1 if m < 4 else -1) for m in range(8)]
              for i in range(20)]  # fmt: skip
    label = label_history(history(mass=jitter, sample_drift=0.1), "hinge")
    assert label.label == "converged" and not label.is_oscillating


def test_periodic_loss_is_oscillating_and_a_decaying_one_is_not():
    steps = np.arange(20)
    sine = 0.8 + 0.3 * np.sin(2 * math.pi * steps / 5)
    damped = 0.8 + 0.3 * np.sin(2 * math.pi * steps / 5) * np.exp(-steps / 3)
    # A cycling loss while the samples keep moving (0.55 data scales per evaluation)...
    assert label_history(history(loss_g=sine, sample_drift=0.55), "hinge").label == "oscillating"
    # ...but not once the cycle dies out...
    damped_label = label_history(history(loss_g=damped, sample_drift=0.55), "hinge").label
    assert damped_label != "oscillating"
    # ...nor over samples that hold still (judges call that a settled run).
    assert label_history(history(loss_g=sine), "hinge").label == "converged"


def test_poor_quality_and_not_improving_is_stuck():
    label = label_history(history(high_quality=0.02), "minimax")
    assert label.label == "unconverged" and "stuck" in label.label_reason


def test_confidence_is_lower_near_a_threshold():
    # high_quality right at converged_quality: some nearby labelings disagree.
    sure = label_history(history(high_quality=0.8), "minimax")
    borderline = label_history(history(high_quality=0.4), "minimax")
    assert sure.confidence == 1.0 and borderline.confidence < 1.0


def dirac_rows(distances, moving=0.05):
    """Iterates at the given distances, turning 1 radian around the equilibrium per
    evaluation (a cycle's points lie on one circle)."""
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
            "theta": d * math.cos(i),
            "psi": d * math.sin(i),
            "dist_equilibrium": d,
            "sample_drift": math.nan if i == 0 else moving,
        }
        for i, d in enumerate(distances)
    ]


def test_noise_around_the_dirac_equilibrium_is_converged_not_a_cycle():
    # Instance noise: iterates jitter at random distances and angles near the equilibrium;
    # no ellipse fits them, so the small, non-decaying distance is not a cycle.
    rng = np.random.default_rng(0)
    distances = [0.5, 0.1] + list(0.02 * rng.rayleigh(size=28))
    rows = dirac_rows(distances, moving=0.02)
    for row, angle in zip(rows[2:], rng.uniform(0, 2 * math.pi, size=28)):
        row["theta"], row["psi"] = (
            row["dist_equilibrium"] * math.cos(angle),
            row["dist_equilibrium"] * math.sin(angle),
        )
    assert label_history(rows, "minimax").label == "converged"


@pytest.mark.parametrize(
    "distances, moving, expected",
    [
        ([1.0 * 0.7**i for i in range(15)], 0.05, "converged"),  # spirals in
        ([1.0] * 15, 0.05, "oscillating"),  # a closed orbit
        ([0.5] + [0.01 * (1 + 0.05 * (-1) ** i) for i in range(14)], 0.01, "oscillating"),
        ([1.0 * 0.93**i for i in range(15)], 0.05, "unconverged"),  # decays, too slowly
        ([1.0, 2.0, 4.0] + [4.0] * 12, 0.0, "unconverged"),  # stuck away from equilibrium
        ([1.0 * 10**i for i in range(15)], 0.05, "diverged"),  # spirals out
    ],
)
def test_dirac_trajectories(distances, moving, expected):
    assert label_history(dirac_rows(distances, moving), "minimax").label == expected


def test_a_dirac_cycle_that_merely_got_small_is_not_converged():
    # Mescheder et al. 2018, sec. 3: WGAN with clipping cycles at the clip bound's scale.
    # The distance fell 0.5 -> 0.01 early, then cycles there without decaying.
    distances = [0.5, 0.2, 0.05] + [0.01 * (1.02 if i % 2 else 0.98) for i in range(27)]
    label = label_history(dirac_rows(distances, moving=0.005), "wasserstein")
    assert label.label == "oscillating" and label.is_oscillating


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
    rule = EarlyStopping(patience=3, min_stop_fraction=0.0)
    complete = history(mass=one_mode(), diversity=0.01)
    partial = history(mass=[0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0], diversity=0.7)
    stopper = EarlyStopper(["nonsaturating"] * 2, [2000, 2000], LabelThresholds(), rule)
    decisions = [stopper(0, complete[: i + 1]) for i in range(6)]
    # A still, sharp complete collapse: terminal from the second evaluation (the first
    # that measures movement), so it stops at the third terminal one (patience 3)...
    assert decisions == [False, False, False, True, True, True]
    # ...partial collapse is not terminal: it never stops early.
    assert not any(stopper(1, partial[: i + 1]) for i in range(20))
    assert label_history(partial, "nonsaturating").collapse_kind == "partial"
    # The label a member stopped with is kept: its reason becomes the trial's stop_reason.
    assert stopper.provisional[0].collapse_kind == "complete" and 1 not in stopper.provisional


def test_early_stop_respects_the_minimum_budget_share():
    rule = EarlyStopping(patience=1, min_stop_fraction=0.5)
    stopper = EarlyStopper(["nonsaturating"], [2000], LabelThresholds(), rule)
    rows = history(mass=one_mode(), diversity=0.01)
    # Terminal from the start, but no stop before step 1000 of 2000.
    stops = [stopper(0, rows[: i + 1]) for i in range(12)]
    assert stops.index(True) == 9


def test_early_stop_judges_a_dirac_run_without_mode_evidence():
    """The Dirac-GAN has no modes, samples or quality: its early stop asks only what
    its history holds (divergence), and a cycling run is never stopped."""
    rule = EarlyStopping(patience=1, min_stop_fraction=0.0)
    stopper = EarlyStopper(["minimax"], [2000], LabelThresholds(), rule)
    cycle = dirac_rows([0.5] * 20, moving=0.3)
    # A cycle at a fixed distance is not terminal: it runs its budget.
    assert not any(stopper(0, cycle[: i + 1]) for i in range(len(cycle)))

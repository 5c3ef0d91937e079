"""Signal statistics on synthetic series whose answer is known."""

import math

import numpy as np
import pytest

from study import signals

STEPS = np.arange(24)
SINE = np.sin(2 * math.pi * STEPS / 6)  # period of 6 evaluations


def test_clean_sine_is_periodic_and_persistent():
    # Nearly all of a sine's power sits in one frequency, and its swing does not decay.
    assert signals.periodicity(SINE) > 0.9
    assert signals.decay_ratio(SINE) == pytest.approx(1.0, abs=0.2)


def test_decaying_sine_decays():
    decaying = SINE * np.exp(-STEPS / 5)
    # Its late swing is a small fraction of its early swing.
    assert signals.decay_ratio(decaying) < 0.1


def test_noise_and_constants_are_not_periodic():
    noise = np.random.default_rng(0).normal(size=24)
    # White noise spreads its power; a constant has none.
    assert signals.periodicity(noise) < 0.5
    assert signals.periodicity(np.full(24, 3.0)) == 0.0


def test_a_trend_is_not_a_swing():
    ramp = 0.5 * STEPS + 1.0
    # Detrending removes a steady drift, so it shows no amplitude.
    assert signals.relative_amplitude(ramp) == pytest.approx(0.0, abs=1e-9)


def test_nan_entries_are_skipped():
    assert signals.median([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(signals.median([math.nan]))


def test_rise_compares_the_last_third_with_the_first():
    # A ramp rose by its span between the thirds' means; a flat series did not rise.
    assert signals.rise([0, 0, 1, 1, 2, 2]) == pytest.approx(2.0)
    assert signals.rise([5.0] * 6) == 0.0


def test_a_movement_persists_unless_it_dies_out():
    # Same size late as early: persists; a tenth of its early size: dying out.
    assert signals.persists([1.0, 1.2, 0.9, 1.1], persistence=0.5)
    assert not signals.persists([1.0, 1.0, 0.1, 0.1], persistence=0.5)

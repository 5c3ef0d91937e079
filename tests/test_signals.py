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


@pytest.mark.parametrize(
    "value, threshold, above, expected",
    [(1.0, 1.0, True, 0.5), (10.0, 1.0, True, 1.0), (0.01, 0.1, False, 1.0), (0.5, 1.0, True, 0.5)],
)
def test_margin_confidence(value, threshold, above, expected):
    # 0.5 at the threshold, 1.0 a decade past it, never below 0.5.
    assert signals.margin_confidence(value, threshold, above) == pytest.approx(expected)

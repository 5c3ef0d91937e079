"""Loss pairs against the textbook formulas, computed by hand with math on scalars."""

import math

import pytest
import torch

from study.losses import LOSSES

REAL = [0.0, 2.0]  # D's raw outputs on two real samples
FAKE = [1.0, -1.0]  # and on two generated samples


def sigmoid(t):
    return 1.0 / (1.0 + math.exp(-t))


def mean(values):
    return sum(values) / len(values)


EXPECTED = {
    # name: (d_loss, g_loss), from the papers' formulas with D = sigmoid(logit) where used
    "minimax": (
        mean([-math.log(sigmoid(r)) for r in REAL])
        + mean([-math.log(1 - sigmoid(f)) for f in FAKE]),
        mean([math.log(1 - sigmoid(f)) for f in FAKE]),
    ),
    "nonsaturating": (
        mean([-math.log(sigmoid(r)) for r in REAL])
        + mean([-math.log(1 - sigmoid(f)) for f in FAKE]),
        mean([-math.log(sigmoid(f)) for f in FAKE]),
    ),
    "wasserstein": (mean(FAKE) - mean(REAL), -mean(FAKE)),
    "hinge": (
        mean([max(0.0, 1 - r) for r in REAL]) + mean([max(0.0, 1 + f) for f in FAKE]),
        -mean(FAKE),
    ),
    "least_squares": (
        0.5 * mean([(r - 1) ** 2 for r in REAL]) + 0.5 * mean([f**2 for f in FAKE]),
        0.5 * mean([(f - 1) ** 2 for f in FAKE]),
    ),
}


def stacked(values):
    """Two identical members [2, B, 1]: every loss must give one value per member."""
    return torch.tensor(values).view(1, -1, 1).repeat(2, 1, 1)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_pair_matches_formula(name):
    pair = LOSSES[name]
    d_loss = pair.d_loss(stacked(REAL), stacked(FAKE))
    g_loss = pair.g_loss(stacked(FAKE))
    expected_d, expected_g = EXPECTED[name]
    # One loss per member, equal to the hand-computed value.
    assert d_loss.shape == (2,) and g_loss.shape == (2,)
    assert d_loss.tolist() == pytest.approx([expected_d] * 2, rel=1e-6)
    assert g_loss.tolist() == pytest.approx([expected_g] * 2, rel=1e-6)


def test_every_config_loss_has_a_pair():
    from typing import get_args

    from study.config import Loss

    # Adding a loss to the config without a pair (or vice versa) is caught here.
    assert set(get_args(Loss)) == set(LOSSES)


def test_minimax_generator_saturates_where_nonsaturating_does_not():
    fake = torch.full((1, 4, 1), -8.0, requires_grad=True)  # D confidently rejects fakes
    (minimax_grad,) = torch.autograd.grad(LOSSES["minimax"].g_loss(fake).sum(), fake)
    (ns_grad,) = torch.autograd.grad(LOSSES["nonsaturating"].g_loss(fake).sum(), fake)
    # The saturating loss gives G almost no gradient (Goodfellow et al. 2014, sec. 3).
    assert minimax_grad.abs().max() < 1e-3 < ns_grad.abs().min()

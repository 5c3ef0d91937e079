"""Penalties on a linear critic D(x) = w.x, whose input gradient is w everywhere."""

import pytest
import torch

from study.models import SpectralState
from study.regularizers import REGULARIZERS, PenaltyInputs

W = torch.tensor([3.0, 4.0])  # ||w|| = 5


def linear_critic(x):
    return (x * W).sum(dim=-1, keepdim=True)


def inputs():
    real = torch.randn(2, 8, 2)
    fake = torch.randn(2, 8, 2)
    params = torch.tensor([[1.0, 2.0], [0.0, -3.0]])
    return PenaltyInputs(linear_critic, params, real, fake, torch.rand(2, 8, 1))


@pytest.mark.parametrize(
    "name, expected",
    [
        ("gp", [(5.0 - 1.0) ** 2] * 2),  # (||w|| - 1)^2
        ("r1", [0.5 * 25.0] * 2),  # 1/2 ||w||^2 on real data
        ("r2", [0.5 * 25.0] * 2),  # 1/2 ||w||^2 on fake data
        ("l2", [1.0 + 4.0, 9.0]),  # sum of squared D parameters, per member
    ],
)
def test_penalty_values(name, expected):
    penalty = REGULARIZERS[name].penalty(inputs())
    assert penalty.tolist() == pytest.approx(expected, rel=1e-6)


def test_penalty_trains_the_critic():
    weight = torch.tensor([[3.0, 4.0]], requires_grad=True)
    critic = lambda x: (x * weight).sum(dim=-1, keepdim=True)  # noqa: E731
    real = torch.randn(1, 8, 2)
    penalty = REGULARIZERS["r1"].penalty(PenaltyInputs(critic, weight, real, real, None))
    (grad,) = torch.autograd.grad(penalty.sum(), weight)
    # d/dw (1/2 ||w||^2) = w: the penalty's gradient reaches D's parameters.
    assert grad[0].tolist() == pytest.approx([3.0, 4.0])


@pytest.mark.parametrize("name", ["none", "weight_clip", "instance_noise", "spectral_norm"])
def test_non_penalty_regularizers_have_no_penalty(name):
    assert REGULARIZERS[name].penalty is None


def test_every_config_regularizer_is_implemented():
    from typing import get_args

    from study.config import Regularizer

    assert set(get_args(Regularizer)) == set(REGULARIZERS)


def test_spectral_normalization_divides_by_the_largest_singular_value():
    weight = torch.tensor([[3.0, 0.0], [0.0, 1.0]]).view(1, 2, 2)
    state = SpectralState([torch.nn.functional.normalize(torch.ones(1, 2), dim=1)])
    for _ in range(30):  # one power iteration per forward pass, as in training
        normalized = state.normalize(0, weight)
    # sigma_max(diag(3, 1)) = 3, so the normalized matrix is diag(1, 1/3).
    assert torch.linalg.matrix_norm(normalized[0], ord=2).item() == pytest.approx(1.0, rel=1e-4)

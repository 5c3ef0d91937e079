"""Unrolling (Metz et al. 2016) steps through D's own optimizer, differentiably.

The unrolled D must be exactly the D that k real optimizer steps would give on the same
batch (the reference code unrolls on one batch), Adam's moments and step count included,
member by member, and G's gradient must see that response.
"""

import pytest
import torch

from study.config import TrainConfig
from study.diagnostics import IntervalStats
from study.losses import LOSSES
from study.population import OptimizerState, Population, StackedOptimizer
from study.problems import make_problem
from study.trainer import _draw_batch, _unrolled_critic, d_update, g_update

from .conftest import TINY

CPU = torch.device("cpu")
MEMBERS = [(1e-2, 0.5, 0), (3e-3, 0.9, 1), (1e-2, 0.0, 2)]  # (lr_d, beta1, seed)


def population_after_warmup(unroll_steps=3, lr_d=None, **extra):
    """A population whose D optimizer has taken steps, so its moments are not zero."""
    configs = [
        TrainConfig(**{**TINY, **extra}, unroll_steps=unroll_steps, lr_d=lr_d or lr, beta1=b1,
                    seed=s)
        for lr, b1, s in MEMBERS
    ]  # fmt: skip
    population = Population(configs, make_problem(configs[0], CPU), CPU)
    loss = LOSSES[configs[0].loss]
    for _ in range(4):
        d_update(population, loss, configs[0], IntervalStats())
        g_update(population, loss, configs[0].model_copy(update={"unroll_steps": 0}),
                 IntervalStats())  # fmt: skip
    return population, loss, configs[0]


CASES = [
    dict(),
    dict(optimizer="sgd"),
    dict(regularizer="r1"),
    dict(regularizer="spectral_norm"),
    dict(loss="wasserstein", regularizer="weight_clip", reg_weight=0.05),
    dict(regularizer="instance_noise"),
    dict(pac=2, regularizer="gp"),
    dict(d_activation="tanh", d_hidden_dim=24, d_hidden_layers=1),
]


@pytest.mark.parametrize("extra", CASES, ids=lambda e: "-".join(map(str, e.values())) or "adam")
def test_unrolled_d_equals_real_optimizer_steps(extra):
    population, loss, config = population_after_warmup(**extra)
    d_before, state_before = population.d.detach().clone(), population.d_opt.state
    real, z = _draw_batch(population, config)
    streams = population.streams.state_dict()
    unrolled, _ = _unrolled_critic(population, loss, config, real, population.generate(z))
    # Unrolling leaves D and its optimizer state untouched.
    assert torch.equal(population.d, d_before)
    assert population.d_opt.state is state_before
    population.streams.load_state_dict(streams)  # the same noise draws again, now for real
    for _ in range(config.unroll_steps):
        d_update(population, loss, config, IntervalStats(), batch=(real, z))
    # Member by member, k unrolled steps land where k real optimizer steps land.
    for member in range(len(MEMBERS)):
        assert unrolled[member].tolist() == pytest.approx(
            population.d[member].tolist(), rel=1e-5, abs=1e-7
        )
    if config.optimizer == "adam":  # and Adam counted the real steps (SGD counts none)
        assert population.d_opt.state.steps == state_before.steps + config.unroll_steps


def test_unrolled_adam_moves_d_as_far_as_adam_does_not_as_sgd():
    population, loss, config = population_after_warmup(unroll_steps=5, lr_d=1e-4)
    start = population.d.detach().clone()
    real, z = _draw_batch(population, config)
    unrolled, _ = _unrolled_critic(population, loss, config, real, population.generate(z))
    moved = (unrolled.detach() - start).norm(dim=1)
    # Adam's step is about lr per parameter whatever the gradient's size: after 5 steps
    # D has moved by roughly 5 * lr_d * sqrt(P) (the issue: plain SGD moved 81x less).
    expected = 5 * 1e-4 * start.shape[1] ** 0.5
    assert (moved / expected).tolist() == pytest.approx([0.55] * len(MEMBERS), abs=0.45)


def test_generator_gradient_sees_the_unrolled_response():
    population, loss, config = population_after_warmup(unroll_steps=5)
    streams = population.streams.state_dict()
    plain, unrolled = IntervalStats(), IntervalStats()
    g_update(population, loss, config.model_copy(update={"unroll_steps": 0}), plain, apply=False)
    population.streams.load_state_dict(streams)  # the same latent batch for G's loss
    g_update(population, loss, config, unrolled, apply=False)
    without, with_unrolling = (
        plain.last_grad_norm["grad_norm_g"],
        unrolled.last_grad_norm["grad_norm_g"],
    )
    # Finite, and for every member different from the gradient against D as it is.
    assert torch.isfinite(with_unrolling).all()
    relative = (with_unrolling - without).norm(dim=1) / without.norm(dim=1)
    assert (relative > 1e-2).all()


def test_adam_update_is_differentiable_where_a_gradient_is_zero():
    grad = torch.tensor([[0.0, 1.0, -2.0], [0.0, 0.0, 3.0]], requires_grad=True)
    params = torch.zeros(2, 3)
    column = torch.tensor([[1e-3], [1e-2]])
    optimizer = StackedOptimizer("adam", column, torch.full((2, 1), 0.5),
                                 torch.full((2, 1), 0.999), params)  # fmt: skip
    new, state = optimizer.update(params, grad, optimizer.state)
    (through,) = torch.autograd.grad(new.sum(), grad)
    # A parameter whose gradient is 0 gets a zero derivative, not inf * 0 = NaN ...
    assert torch.isfinite(through).all()
    # ... and the values are Adam's first step: -lr * sign(grad).
    expected = -column * torch.sign(grad.detach())
    assert new.flatten().tolist() == pytest.approx(expected.flatten().tolist(), rel=1e-4)
    assert isinstance(state, OptimizerState) and state.steps == 1

"""The reference Unrolled-GAN code's two other settings: orthogonal weights (TensorFlow's
orthogonal_initializer with a gain, zero biases) and simultaneous G and D updates (both
train ops in one `session.run`), and the ids of earlier studies staying the same."""

import pytest
import torch
from pydantic import ValidationError

from study.config import TrainConfig
from study.diagnostics import IntervalStats
from study.expand import trial_id
from study.losses import LOSSES
from study.population import Population
from study.problems import make_problem
from study.trainer import simultaneous_update, train

from .conftest import TINY

CPU = torch.device("cpu")


def population(**keys) -> tuple[Population, TrainConfig]:
    config = TrainConfig(**{**TINY, **keys})
    return Population([config], make_problem(config, CPU), CPU), config


def assert_orthogonal(model, params, gain):
    """Every layer's weights orthonormal times gain, every bias 0."""
    for weight, bias in model.weights(params.detach()):
        w = weight[0]  # [in, out]: orthonormal columns when in >= out, rows otherwise
        gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        eye = torch.eye(min(w.shape))
        torch.testing.assert_close(gram, gain**2 * eye, atol=1e-5, rtol=0)
        assert torch.count_nonzero(bias) == 0


def assert_uniform(model, params):
    """nn.Linear's draw: weights and biases within 1/sqrt(fan_in), biases not zero."""
    for weight, bias in model.weights(params.detach()):
        bound = weight.shape[1] ** -0.5
        assert weight.abs().max() <= bound and bias.abs().max() <= bound
        assert torch.count_nonzero(bias) == bias.numel()


@pytest.mark.parametrize("gain", [1.0, 1.4])
def test_orthogonal_init_has_orthonormal_weights_times_gain_and_zero_biases(gain):
    members, _ = population(init="orthogonal", init_gain=gain, hidden_dim=24, z_dim=40)
    assert_orthogonal(members.generator, members.g, gain)
    assert_orthogonal(members.critic, members.d, gain)


def test_each_network_can_have_its_own_init():
    # The shared keys set both networks; g_init and d_init override one of them.
    g_only, config = population(init="orthogonal", init_gain=1.4, d_init="uniform", z_dim=40)
    assert_orthogonal(g_only.generator, g_only.g, 1.4)
    assert_uniform(g_only.critic, g_only.d)
    # A network drawn uniformly takes no gain: its resolved gain, stored, is 1.
    assert (config.g_init, config.g_init_gain, config.d_init, config.d_init_gain) == (
        "orthogonal", 1.4, "uniform", 1.0)  # fmt: skip
    d_only, _ = population(g_init="uniform", d_init="normal", d_init_gain=2.0, z_dim=40)
    assert_uniform(d_only.generator, d_only.g)
    d_weights = torch.cat([w.flatten() for w, _ in d_only.critic.weights(d_only.d.detach())])
    assert 0.02 < d_weights.std() < 0.06  # N(0, 0.02 x 2)


def test_per_network_keys_that_repeat_the_shared_ones_change_nothing():
    shared, config = population(init="orthogonal", init_gain=1.4)
    each = dict(g_init="orthogonal", d_init="orthogonal", g_init_gain=1.4, d_init_gain=1.4)
    spelled, spelled_config = population(init="orthogonal", init_gain=1.4, **each)
    assert torch.equal(shared.g, spelled.g) and torch.equal(shared.d, spelled.d)
    # Same run, same id: and the ids of studies from before these keys are kept.
    assert trial_id(config) == trial_id(spelled_config)
    assert trial_id(TrainConfig(g_init="uniform", d_init="uniform")) == "69bd59c576c7"
    assert trial_id(TrainConfig(d_init="orthogonal")) != trial_id(TrainConfig())


def test_orthogonal_init_is_drawn_from_the_seed():
    first, _ = population(init="orthogonal", seed=3)
    again, _ = population(init="orthogonal", seed=3)
    other, _ = population(init="orthogonal", seed=4)
    assert torch.equal(first.g, again.g) and torch.equal(first.d, again.d)
    assert not torch.equal(first.g, other.g)


def g_after_one_step(update: str, lr_d: float) -> torch.Tensor:
    """G's samples (from a fixed latent batch) after one update of each player."""
    (result,) = train([TrainConfig(**{**TINY, "steps": 1, "eval_every": 1}, update=update,
                                   lr_d=lr_d)])  # fmt: skip
    return torch.tensor(result.samples)


def test_simultaneous_g_step_does_not_see_ds_step():
    # Simultaneous: G's gradient is taken before D moves, so D's learning rate cannot
    # change G's first step. Alternating: G steps against the updated D, so it does.
    for update, independent in (("simultaneous", True), ("alternating", False)):
        slow, fast = g_after_one_step(update, 1e-3), g_after_one_step(update, 0.5)
        assert torch.equal(slow, fast) is independent, update


def test_simultaneous_update_applies_both_gradients_from_one_state():
    members, config = population(update="simultaneous")
    g0, d0 = members.g.detach().clone(), members.d.detach().clone()
    simultaneous_update(members, LOSSES[config.loss], config, IntervalStats())
    assert not torch.equal(members.g, g0) and not torch.equal(members.d, d0)


@pytest.mark.parametrize(
    "keys, message",
    [
        (dict(init_gain=1.4), "init_gain: 1.4 scales orthogonal or normal weights; set init"),
        (dict(maxout_pieces=3), "maxout_pieces: 3 sets maxout units; set g_activation or d_"),
        (dict(problem="dirac", g_batch_norm=True), "g_batch_norm: true normalizes an MLP gen"),
        (dict(update="simultaneous", d_steps=5), "d_steps and g_steps must be 1"),
        (dict(problem="dirac", init="orthogonal"), "init: orthogonal initializes MLP weights"),
        (dict(problem="dirac", d_init="normal"), "d_init: normal initializes MLP weights"),
        (dict(g_init_gain=2.0), "g_init_gain: 2.0 scales orthogonal or normal weights; set g_"),
        (dict(init="orthogonal", d_init="uniform", d_init_gain=0.8), "d_init_gain: 0.8 scales"),
        (dict(update="together"), "'alternating' or 'simultaneous'"),
    ],
)
def test_bad_init_and_update_name_the_key(keys, message):
    with pytest.raises(ValidationError, match=message):
        TrainConfig(**keys)


def test_ids_of_earlier_studies_do_not_change():
    # Computed before init, init_gain and update existed (schema version 4).
    assert trial_id(TrainConfig()) == "69bd59c576c7"
    old = TrainConfig(problem="grid25", loss="hinge", lr_g=2e-4, unroll_steps=5, seed=3)
    assert trial_id(old) == "b24ef446d4f1"
    assert trial_id(TrainConfig(init="orthogonal")) != trial_id(TrainConfig())
    assert trial_id(TrainConfig(update="simultaneous")) != trial_id(TrainConfig())
    assert trial_id(TrainConfig(g_batch_norm=True)) != trial_id(TrainConfig())

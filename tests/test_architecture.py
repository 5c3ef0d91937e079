"""Architecture keys: per-network activation, width and depth build the networks they name."""

from typing import get_args

import pytest
import torch
from torch import nn

from study.activations import ACTIVATIONS, ELEMENTWISE, maxout
from study.config import Activation, TrainConfig
from study.population import Population, build_models
from study.problems import make_problem
from study.results import TRIALS_SCHEMA
from study.trainer import train

from .conftest import TINY

CPU = torch.device("cpu")


def test_every_config_activation_has_a_function():
    # Adding an activation to the config without a function (or vice versa) is caught here.
    assert set(get_args(Activation)) == set(ACTIVATIONS)


def test_activations_match_their_formulas():
    x = torch.tensor([-2.0, 0.5])
    # relu and leaky_relu (slope 0.2, DCGAN's D) by hand; tanh is torch's.
    assert ELEMENTWISE["relu"](x).tolist() == [0.0, 0.5]
    assert ELEMENTWISE["leaky_relu"](x).tolist() == pytest.approx([-0.4, 0.5])
    assert ELEMENTWISE["tanh"](x).tolist() == pytest.approx(torch.tanh(x).tolist())
    # Maxout keeps each unit's largest of its consecutive pieces (Blocks' grouping).
    pieces = torch.tensor([[1.0, -3.0, 2.0, 0.0, 5.0, -1.0]])
    assert maxout(pieces, pieces=3).tolist() == [[2.0, 5.0]]
    assert maxout(pieces, pieces=2).tolist() == [[1.0, 2.0, 5.0]]


def test_defaults_keep_relu_generator_and_leaky_discriminator():
    generator, critic = build_models(TrainConfig(), make_problem(TrainConfig(), CPU))
    # Today's networks: G ReLU, D LeakyReLU(0.2), both 3 x 128, z_dim 16 in, 2D out.
    assert (generator.activation, critic.activation) == ("relu", "leaky_relu")
    assert generator.sizes == (16, 128, 128, 128, 2) and critic.sizes == (2, 128, 128, 128, 1)


def test_shorthand_fills_both_networks_and_is_stored_concrete():
    config = TrainConfig(hidden_dim=64, hidden_layers=2, d_hidden_dim=200)
    # hidden_dim/hidden_layers are the default of each network; a per-network key wins.
    assert (config.g_hidden_dim, config.d_hidden_dim) == (64, 200)
    assert (config.g_hidden_layers, config.d_hidden_layers) == (2, 2)
    # The saved config never holds a null for them (it is what trials.parquet stores).
    dumped = config.model_dump()
    assert None not in [dumped[key] for key in ("g_hidden_dim", "d_hidden_dim",
                                                "g_hidden_layers", "d_hidden_layers")]  # fmt: skip
    assert TrainConfig(**dumped) == config


def test_separate_widths_depths_and_activations_build_those_shapes():
    config = TrainConfig(g_hidden_dim=40, g_hidden_layers=4, d_hidden_dim=24, d_hidden_layers=1,
                         g_activation="tanh", d_activation="relu", z_dim=8)  # fmt: skip
    generator, critic = build_models(config, make_problem(config, CPU))
    # PacGAN-style unequal networks: G 4 x 40 tanh, D 1 x 24 relu.
    assert generator.sizes == (8, 40, 40, 40, 40, 2) and generator.activation == "tanh"
    assert critic.sizes == (2, 24, 1) and critic.activation == "relu"


class Maxout(nn.Module):
    """A plain maxout activation: the largest of each unit's consecutive pieces."""

    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, x):
        return x.view(*x.shape[:-1], -1, self.pieces).max(dim=-1).values


def plain_module(activation: str) -> nn.Module:
    modules = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.2), "tanh": nn.Tanh()}
    return modules.get(activation) or Maxout(5)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_stacked_network_equals_plain_module(activation):
    config = TrainConfig(**TINY, g_activation=activation, d_activation=activation, seed=3)
    population = Population([config, config.model_copy(update={"seed": 4})],
                            make_problem(config, CPU), CPU)  # fmt: skip
    x = torch.randn(2, 50, 2)
    scores = population.discriminate(x)
    for member in range(2):
        layers = []
        for weight, bias in population.critic.weights(population.d.detach()[member : member + 1]):
            linear = nn.Linear(*weight.shape[1:])
            linear.weight.data, linear.bias.data = weight[0].T, bias[0, 0]
            layers += [linear, plain_module(activation)]
        reference = nn.Sequential(*layers[:-1])
        # Member by member, the batched network computes what nn.Sequential computes.
        assert scores[member].flatten().tolist() == pytest.approx(
            reference(x[member]).flatten().tolist(), rel=1e-5, abs=1e-6
        )


PACGAN_NETWORKS = dict(
    g_hidden_dim=40, g_hidden_layers=3, g_batch_norm=True, d_hidden_dim=16, d_hidden_layers=2,
    d_activation="maxout", init="normal", z_dim=2,
)  # fmt: skip


def test_pacgan_networks_have_its_shapes_and_start():
    config = TrainConfig(**TINY, **PACGAN_NETWORKS, pac=2)
    population = Population([config], make_problem(config, CPU), CPU)
    generator, critic = population.generator, population.critic
    # D: maxout layers compute 5 pieces per unit; a pack of 2 points is its input.
    assert critic.layer_shapes == [(4, 80), (16, 80), (16, 1)]
    # G: batch norm replaces the hidden layers' biases; the output layer keeps one.
    g_layers = generator.weights(population.g.detach())
    assert [bias is None for _, bias in g_layers] == [True, True, True, False]
    # Normal init: N(0, 0.02) weights, zero biases; batch norm starts at scale 1, shift 0.
    weights = torch.cat([w.flatten() for w, _ in g_layers + critic.weights(population.d.detach())])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)
    assert all(torch.count_nonzero(b) == 0 for _, b in g_layers if b is not None)
    for scale, shift in generator.norms(population.g.detach()):
        assert torch.equal(scale, torch.ones(1, 1, 40)) and torch.equal(
            shift, torch.zeros(1, 1, 40)
        )


def test_batch_norm_generator_equals_plain_module_in_training_mode():
    config = TrainConfig(**TINY, **PACGAN_NETWORKS, seed=2)
    population = Population([config, config.model_copy(update={"seed": 3})],
                            make_problem(config, CPU), CPU)  # fmt: skip
    with torch.no_grad():  # a scale and shift away from their start, so both count
        population.g += 0.1 * torch.randn_like(population.g)
    z = torch.randn(2, 64, 2)
    samples = population.generate(z)
    generator, params = population.generator, population.g.detach()
    for member in range(2):
        layers = generator.weights(params[member : member + 1])
        norms = iter(generator.norms(params[member : member + 1]))
        modules = []
        for weight, bias in layers:
            linear = nn.Linear(*weight.shape[1:], bias=bias is not None)
            linear.weight.data = weight[0].T
            modules.append(linear)
            if bias is not None:
                linear.bias.data = bias[0, 0]
                continue
            scale, shift = next(norms)
            norm = nn.BatchNorm1d(weight.shape[2], eps=1e-4)
            norm.weight.data, norm.bias.data = scale[0, 0], shift[0, 0]
            modules += [norm, nn.ReLU()]
        reference = nn.Sequential(*modules).train()
        # Member by member: Linear (no bias), BatchNorm1d on the batch's statistics, ReLU.
        torch.testing.assert_close(samples[member], reference(z[member]), rtol=1e-4, atol=1e-5)


def test_batch_norm_uses_each_members_own_batch():
    config = TrainConfig(**TINY, **PACGAN_NETWORKS)
    population = Population([config, config], make_problem(config, CPU), CPU)
    z = torch.randn(1, 64, 2).repeat(2, 1, 1)
    z[1] = z[1] * 3 + 1  # another batch for member 1 only
    alone = Population([config], make_problem(config, CPU), CPU).generate(z[:1])
    # Member 0's samples depend on its batch only, not on member 1's.
    torch.testing.assert_close(population.generate(z)[0], alone[0])


def test_unequal_networks_train_and_are_columns():
    config = TrainConfig(**TINY, g_hidden_dim=48, d_hidden_dim=16, d_hidden_layers=1,
                         g_activation="tanh", d_activation="tanh")  # fmt: skip
    (result,) = train([config])
    # It trains to the end with finite diagnostics...
    assert result.steps_run == TINY["steps"] and result.history[-1]["finite"]
    # ...and every new key is a trials.parquet column.
    for key in ("g_hidden_dim", "d_hidden_dim", "g_hidden_layers", "d_hidden_layers",
                "g_activation", "d_activation", "pac", "maxout_pieces", "g_batch_norm",
                "g_init", "d_init", "g_init_gain", "d_init_gain"):  # fmt: skip
        assert key in TRIALS_SCHEMA.names


def test_input_scale_is_the_first_layer_seeing_scaled_points():
    config = TrainConfig(**TINY, d_input_scale=0.25, seed=5)
    scaled = Population([config], make_problem(config, CPU), CPU)
    plain = Population([config.model_copy(update={"d_input_scale": 1.0})],
                       make_problem(config, CPU), CPU)  # fmt: skip
    x = torch.randn(1, 50, 2)
    # Same seed, same weights: D with d_input_scale 0.25 scores x as the plain D scores
    # x / 4 (Metz et al. 2016, app. A: D "first scales its input down by a factor of 4").
    assert torch.equal(scaled.d, plain.d)
    assert torch.allclose(scaled.discriminate(x), plain.discriminate(x * 0.25), atol=1e-7)
    assert not torch.allclose(scaled.discriminate(x), plain.discriminate(x), atol=1e-3)
    # It is searchable (a column) and the Dirac-GAN's linear D refuses it.
    assert "d_input_scale" in TRIALS_SCHEMA.names
    with pytest.raises(ValueError, match="d_input_scale: 0.25 scales an MLP discriminator"):
        TrainConfig(problem="dirac", d_input_scale=0.25)

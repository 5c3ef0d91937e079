"""Architecture keys: per-network activation, width and depth build the networks they name."""

from typing import get_args

import pytest
import torch
from torch import nn

from study.activations import ACTIVATIONS
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
    assert ACTIVATIONS["relu"](x).tolist() == [0.0, 0.5]
    assert ACTIVATIONS["leaky_relu"](x).tolist() == pytest.approx([-0.4, 0.5])
    assert ACTIVATIONS["tanh"](x).tolist() == pytest.approx(torch.tanh(x).tolist())


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


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_stacked_network_equals_plain_module(activation):
    config = TrainConfig(**TINY, g_activation=activation, d_activation=activation, seed=3)
    population = Population([config, config.model_copy(update={"seed": 4})],
                            make_problem(config, CPU), CPU)  # fmt: skip
    modules = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.2), "tanh": nn.Tanh()}
    x = torch.randn(2, 50, 2)
    scores = population.discriminate(x)
    for member in range(2):
        layers = []
        for weight, bias in population.critic.weights(population.d.detach()[member : member + 1]):
            linear = nn.Linear(*weight.shape[1:])
            linear.weight.data, linear.bias.data = weight[0].T, bias[0, 0]
            layers += [linear, modules[activation]]
        reference = nn.Sequential(*layers[:-1])
        # Member by member, the batched network computes what nn.Sequential computes.
        assert scores[member].flatten().tolist() == pytest.approx(
            reference(x[member]).flatten().tolist(), rel=1e-5, abs=1e-6
        )


def test_unequal_networks_train_and_are_columns():
    config = TrainConfig(**TINY, g_hidden_dim=48, d_hidden_dim=16, d_hidden_layers=1,
                         g_activation="tanh", d_activation="tanh")  # fmt: skip
    (result,) = train([config])
    # It trains to the end with finite diagnostics...
    assert result.steps_run == TINY["steps"] and result.history[-1]["finite"]
    # ...and every new key is a trials.parquet column.
    for key in ("g_hidden_dim", "d_hidden_dim", "g_hidden_layers", "d_hidden_layers",
                "g_activation", "d_activation", "pac"):  # fmt: skip
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

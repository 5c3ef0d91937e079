"""PacGAN packing (Lin et al. 2018): D judges `pac` samples jointly, real packs vs fake packs."""

import math

import pytest
import torch
from pydantic import ValidationError
from torch import nn
from torch.nn.functional import softplus

from study.cli import main
from study.config import TrainConfig, format_validation_error
from study.losses import LOSSES
from study.population import Population, build_models
from study.problems import make_problem
from study.regularizers import REGULARIZERS
from study.trainer import _d_objective, train

from .conftest import TINY

CPU = torch.device("cpu")


def test_discriminator_input_is_a_pack():
    config = TrainConfig(pac=3, d_hidden_dim=200, d_hidden_layers=3)
    _, critic = build_models(config, make_problem(config, CPU))
    # ring8 samples are 2D: D sees 3 of them side by side, 6 numbers (PacGAN's D input).
    assert critic.sizes == (6, 200, 200, 200, 1)


def test_pack_groups_consecutive_samples_and_drops_a_remainder():
    config = TrainConfig(**TINY, pac=3)
    population = Population([config], make_problem(config, CPU), CPU)
    x = torch.arange(20.0).view(1, 10, 2)
    packs = population.pack(x)
    # 10 samples make 3 packs of 3 (the 10th is left out); pack 0 is samples 0, 1, 2.
    assert packs.shape == (1, 3, 6)
    assert packs[0, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def plain_packed_critic(population: Population, member: int) -> nn.Sequential:
    """The member's D as an ordinary nn.Module, as PacGAN's code builds it (input 2 m)."""
    layers = []
    for weight, bias in population.critic.weights(population.d[member : member + 1]):
        linear = nn.Linear(*weight.shape[1:])
        linear.weight, linear.bias = nn.Parameter(weight[0].T), nn.Parameter(bias[0, 0])
        layers += [linear, nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers[:-1])


def test_packed_d_loss_and_gradient_match_a_plain_packed_discriminator():
    pac = 2
    configs = [TrainConfig(**TINY, pac=pac, seed=s, loss="minimax") for s in (0, 1)]
    population = Population(configs, make_problem(configs[0], CPU), CPU)
    real, fake = torch.randn(2, 64 * pac, 2), torch.randn(2, 64 * pac, 2)
    d_loss, _ = _d_objective(population, LOSSES["minimax"], real, fake, population.d)
    (grad,) = torch.autograd.grad(d_loss.sum(), population.d)
    for member in range(2):
        critic = plain_packed_critic(population, member)
        # PacGAN's code: the m sample sets concatenated along the feature axis.
        real_packs = torch.cat([real[member, i::pac] for i in range(pac)], dim=1)
        fake_packs = torch.cat([fake[member, i::pac] for i in range(pac)], dim=1)
        reference = softplus(-critic(real_packs)).mean() + softplus(critic(fake_packs)).mean()
        reference_grad = torch.autograd.grad(reference, list(critic.parameters()))
        flat = torch.cat([g.T.flatten() if g.dim() == 2 else g for g in reference_grad])
        # The stacked, packed D's loss and gradient are the plain packed D's.
        assert d_loss[member].item() == pytest.approx(reference.item(), rel=1e-5)
        assert grad[member].tolist() == pytest.approx(flat.tolist(), rel=1e-4, abs=1e-7)


def test_generator_samples_pac_times_the_batch(monkeypatch):
    config = TrainConfig(**{**TINY, "steps": 1, "eval_every": 1}, pac=2)
    seen, generate = [], Population.generate

    def spy(self, z):
        seen.append(z.shape[1])
        return generate(self, z)

    monkeypatch.setattr(Population, "generate", spy)
    train([config])
    # As in PacGAN's code, batch_size counts packs: every training draw is 2 x 64 samples.
    assert set(seen) - {config.eval_samples} == {2 * TINY["batch_size"]}


@pytest.mark.parametrize("regularizer", sorted(REGULARIZERS))
@pytest.mark.parametrize("loss", ["nonsaturating", "hinge"])
def test_packing_trains_with_every_regularizer(loss, regularizer):
    config = TrainConfig(**{**TINY, "steps": 10, "eval_every": 10, "eval_samples": 301},
                         pac=2, loss=loss, regularizer=regularizer, unroll_steps=1)  # fmt: skip
    (result,) = train([config])
    final = result.history[-1]
    # Finite parameters, losses and penalty; D's outputs scored on packs of the (odd-sized)
    # evaluation batch.
    names = ["loss_d", "loss_g", "d_real", "d_fake"] + (["penalty"] if "penalty" in final else [])
    assert final["finite"] and all(math.isfinite(final[name]) for name in names)


def test_packing_the_dirac_gan_is_refused_with_the_key_named(capsys):
    with pytest.raises(ValidationError) as error:
        TrainConfig(problem="dirac", pac=2)
    # The message starts with the key and says what is allowed.
    assert format_validation_error(error.value).startswith("pac: 2 needs an MLP discriminator")
    # From the command line: exit 2, nothing trained.
    assert main(["train", "--set", "problem=dirac", "--set", "pac=2"]) == 2
    assert "pac" in capsys.readouterr().err


def test_a_study_space_that_would_pack_the_dirac_gan_is_refused():
    from study.spec import SpecError, parse_spec

    space = {"problem": ["ring8", "dirac"], "pac": [1, 2], "g_activation": ["relu", "tanh"]}
    with pytest.raises(SpecError) as error:
        parse_spec({"name": "packed", "space": space})
    # Caught when the spec is read, naming the combination and the key.
    assert "'problem': 'dirac', 'pac': 2" in str(error.value) and "pac: 2" in str(error.value)
    # Packing and activations are ordinary searchable keys otherwise.
    assert parse_spec({"name": "ok", "space": {"pac": [1, 2], "d_activation": ["tanh"]}})

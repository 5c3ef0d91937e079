"""Mode-coverage metrics on samples whose answer is known by construction."""

import math

import pytest
import torch

from study import metrics
from study.config import TrainConfig
from study.diagnostics import Evaluator
from study.losses import LOSSES
from study.population import Population
from study.problems import make_problem

CPU = torch.device("cpu")


def ring8():
    return make_problem(TrainConfig(problem="ring8"), CPU)


def around(modes, per_mode, std, seed=0):
    """per_mode samples drawn around each given mode, stacked as one member [1, N, 2]."""
    generator = torch.Generator().manual_seed(seed)
    samples = modes.repeat_interleave(per_mode, dim=0)
    return (samples + std * torch.randn(samples.shape, generator=generator)).unsqueeze(0)


def test_samples_from_every_mode_cover_all_eight():
    problem = ring8()
    scores = metrics.mixture_mode_metrics(around(problem.modes, 300, 0.02), problem.modes, 0.02)
    # Real-looking samples: all 8 modes, ~99.9% within 3 std (chi2 with 2 dof: 1 - e^-4.5 = 0.989).
    assert scores["modes_covered"].item() == 8
    assert scores["high_quality"].item() == pytest.approx(1 - math.exp(-4.5), abs=0.02)
    assert scores["mode_kl"].item() == pytest.approx(0.0, abs=0.01)


def test_one_mode_is_complete_collapse():
    problem = ring8()
    scores = metrics.mixture_mode_metrics(around(problem.modes[:1], 800, 0.02), problem.modes, 0.02)
    # All mass on one of 8 modes: one mode covered, KL = log 8.
    assert scores["modes_covered"].item() == 1
    assert scores["mode_kl"].item() == pytest.approx(math.log(8), rel=1e-5)


def test_half_the_modes_is_partial_collapse():
    problem = ring8()
    scores = metrics.mixture_mode_metrics(
        around(problem.modes[::2], 200, 0.02), problem.modes, 0.02
    )
    # Four equally used modes of eight: KL = log 2.
    assert scores["modes_covered"].item() == 4
    assert scores["mode_kl"].item() == pytest.approx(math.log(2), abs=0.01)


def test_far_and_nan_samples_are_low_quality():
    problem = ring8()
    samples = torch.tensor([[[0.0, 0.0], [float("nan"), 1.0], [10.0, 10.0]]])
    scores = metrics.mixture_mode_metrics(samples, problem.modes, 0.02)
    # Nothing near a mode: no quality, no coverage, KL at its worst; NaN does not raise.
    assert scores["high_quality"].item() == 0 and scores["modes_covered"].item() == 0
    assert scores["mode_kl"].item() == pytest.approx(math.log(8))


def test_grid25_has_25_modes_at_the_published_positions():
    problem = make_problem(TrainConfig(problem="grid25"), CPU)
    assert problem.modes.shape == (25, 2) and problem.std == 0.05
    assert sorted(set(problem.modes[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_notebook_ring_has_seven_modes_one_drawn_twice_as_often():
    config = TrainConfig(problem="ring8", radius=1.0, std=0.01, ring_layout="notebook")
    problem = make_problem(config, CPU)
    # The notebook's means: (sin t, cos t) for t in linspace(0, 2 pi, 8); t = 0 and 2 pi meet.
    angles = torch.linspace(0, 2 * math.pi, 8)
    notebook_means = torch.stack([angles.sin(), angles.cos()], dim=1)
    assert problem.modes.shape == (7, 2)
    assert torch.allclose(problem.modes, notebook_means[:7], atol=1e-6)
    assert torch.allclose(notebook_means[7], problem.modes[0], atol=1e-6)
    real = problem.sample_real(40_000, torch.Generator().manual_seed(0)).unsqueeze(0)
    scores = problem.evaluate(real, critic=None)
    # Real data covers all 7 modes, a quarter of it on (0, 1), and matches the weights.
    share = scores["mode_counts"][0] / 40_000
    assert scores["modes_covered"].item() == 7
    assert share[0].item() == pytest.approx(0.25, abs=0.01)
    assert share[1:].tolist() == pytest.approx([0.125] * 6, abs=0.01)
    assert scores["mass_kl"].item() == pytest.approx(0.0, abs=0.002)


def test_generator_pinned_to_one_mode_is_measured_as_covering_one():
    config = TrainConfig(problem="ring8", hidden_dim=16, hidden_layers=1, eval_samples=500)
    problem = make_problem(config, CPU)
    population = Population([config], problem, CPU)
    with torch.no_grad():  # last layer: zero weights, bias = the first mode
        population.g[:, -2:] = problem.modes[0]
        population.g[:, -2 - 16 * 2 : -2] = 0.0
    evaluator = Evaluator(population, problem, LOSSES["nonsaturating"], [config], 500)
    scores = evaluator.evaluate(population, {})
    # Through the trainer's own evaluation path: exactly one mode, every sample high quality.
    assert scores["modes_covered"].item() == 1
    assert scores["high_quality"].item() == 1.0


def test_real_digits_score_as_ten_diverse_classes():
    problem = make_problem(TrainConfig(problem="digits"), CPU)
    images = problem.data.images.unsqueeze(0)
    scores = problem.evaluate(images, critic=None)
    # The data itself: every class, near-uniform, inception score close to 10, diversity 1.
    assert scores["modes_covered"].item() == 10
    assert scores["inception_score"].item() == pytest.approx(10.0, rel=0.05)
    assert scores["mode_score"].item() == pytest.approx(10.0, rel=0.05)
    assert scores["diversity"].item() == pytest.approx(1.0, rel=0.05)


def test_one_repeated_digit_is_a_collapsed_class_histogram():
    problem = make_problem(TrainConfig(problem="digits"), CPU)
    images = problem.data.images[:1].repeat(300, 1).unsqueeze(0)
    scores = problem.evaluate(images, critic=None)
    # One image repeated: one class, inception score ~1, no diversity.
    assert scores["modes_covered"].item() == 1
    assert scores["inception_score"].item() == pytest.approx(1.0, abs=0.01)
    assert scores["diversity"].item() == pytest.approx(0.0, abs=1e-3)

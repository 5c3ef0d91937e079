"""Training behaviour on known cases: ring8 coverage, the Dirac-GAN, digits, devices."""

import pytest

from study.config import TrainConfig
from study.trainer import train

from .conftest import TINY


def dirac(regularizer="none", **extra):
    return TrainConfig(
        problem="dirac",
        optimizer="sgd",
        lr_g=0.1,
        lr_d=0.1,
        batch_size=4,
        eval_samples=10,
        steps=1500,
        eval_every=100,
        regularizer=regularizer,
        **extra,
    )


@pytest.mark.parametrize("regularizer", ["r1", "r2"])
def test_dirac_gan_with_zero_centred_penalty_converges(regularizer):
    (result,) = train([dirac(regularizer, reg_weight=1.0)])
    start, end = result.history[0]["dist_equilibrium"], result.history[-1]["dist_equilibrium"]
    # Mescheder et al. 2018, Fig. 1: with R1/R2 (theta, psi) spirals into (0, 0).
    assert end < 1e-3 < start


def test_unregularized_dirac_gan_does_not_converge():
    (result,) = train([dirac("none", loss="minimax")])
    distances = [row["dist_equilibrium"] for row in result.history]
    # Alternating GD on the saturating GAN orbits the equilibrium at a constant distance.
    assert min(distances) > 0.4
    assert max(distances) == pytest.approx(min(distances), rel=0.1)


def test_wgan_gp_dirac_does_not_converge():
    (result,) = train([dirac("gp", loss="wasserstein", reg_weight=1.0)])
    # The WGAN-GP critic's slope is pinned near |psi| = 1, so theta never settles at 0.
    assert result.history[-1]["dist_equilibrium"] > 0.9


def test_digits_trains_and_reports_class_metrics():
    (result,) = train([TrainConfig(problem="digits", **TINY)])
    final = result.history[-1]
    # The digits problem reports classifier-based scores with their natural ranges.
    assert 0 <= final["modes_covered"] <= 10
    assert 1.0 <= final["inception_score"] <= 10.0
    assert final["diversity"] >= 0.0 and final["finite"]


@pytest.mark.parametrize("problem", ["ring8", "grid25", "dirac", "digits"])
def test_every_problem_records_the_common_diagnostics(problem):
    (result,) = train([TrainConfig(problem=problem, **TINY)])
    row = result.history[-1]
    common = {
        "step",
        "loss_d",
        "loss_g",
        "grad_norm_d",
        "grad_norm_g",
        "d_real",
        "d_fake",
        "sample_drift",
        "finite",
    }
    # Every evaluation row carries the shared diagnostics, whatever the problem.
    assert common <= row.keys()
    assert [r["step"] for r in result.history] == [0, 20, 40]
    assert result.device == "cpu"


def test_d_to_g_ratio_counts_generator_updates():
    (result,) = train([TrainConfig(**TINY, d_steps=5, g_steps=2)])
    # `steps` counts G updates; the initial state, then every eval_every of them.
    assert result.steps_run == TINY["steps"]
    assert [r["step"] for r in result.history] == [0, 20, 40]

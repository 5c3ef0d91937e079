"""Labels on known cases from the literature, through real training (issue: labels).

The Dirac-GAN cases carry reference labels from the linear stability of the update map
(study/reference.py); the ring8 cases are the textbook failures.
"""

import pytest
import torch

from study.config import TrainConfig
from study.labels import label_history
from study.losses import LOSSES
from study.reference import agrees, curvature, dirac_config, expected_label, pinned_history
from study.trainer import train


def dirac(loss, regularizer, steps, reg_weight=None):
    return [dirac_config(loss, regularizer, h, reg_weight, batch_size=64) for h in steps]


DIRAC_CASES = [
    # minimax without penalty: a cycle for h * f'(0) <= 2 (h <= 4), divergence above
    (dirac("minimax", "none", [0.1, 1.5, 4.5]), ["oscillating", "oscillating", "diverged"]),
    # R1 / R2 converge for small enough steps, diverge when h * reg_weight > 2
    (dirac("minimax", "r1", [0.1, 0.5, 3.0], 1.0), ["converged", "converged", "diverged"]),
    (dirac("wasserstein", "r2", [0.1, 0.5], 1.0), ["converged", "converged"]),
    # instance noise of std s: curvature s^2 / 2; past h * s^2 / 2 ~ 2 the equilibrium is
    # unstable: the run does not converge (with minimax, a bounded period-2 orbit)
    (dirac("minimax", "instance_noise", [0.1, 0.5], 1.0), ["converged", "converged"]),
    (dirac("minimax", "instance_noise", [0.5, 1.0], 3.0), ["not_converged"] * 2),
    # WGAN-GP and WGAN with clipping do not converge (Mescheder et al. 2018, sec. 3.2)
    (dirac("wasserstein", "gp", [0.1, 0.5], 1.0), ["not_converged"] * 2),
    (dirac("wasserstein", "weight_clip", [0.1, 0.5], 0.5), ["not_converged"] * 2),
]


@pytest.mark.parametrize("std", [0.5, 2.0])
def test_instance_noise_curvature_is_the_hessian_of_d_loss(std):
    # The reference's g is the curvature of D's loss in psi at the equilibrium (D(x) =
    # psi x, theta = 0): both halves of D's batch carry noise of std s, so s^2 / 2.
    noise = std * torch.randn(2, 1, 400_000, 1, generator=torch.Generator().manual_seed(0))
    psi = torch.zeros((), requires_grad=True)
    (slope,) = torch.autograd.grad(
        LOSSES["minimax"].d_loss(psi * noise[0], psi * noise[1]).sum(), psi, create_graph=True
    )
    (hessian,) = torch.autograd.grad(slope, psi)
    config = dirac_config("minimax", "instance_noise", 0.1, std)
    assert curvature(config) == pytest.approx(float(hessian), rel=0.02)


def test_unstable_instance_noise_flips_psi_on_a_bounded_orbit():
    # h s^2 / 2 = 4.5: linearly unstable, yet the sigmoid's curvature fades away from the
    # equilibrium, so psi flips sign every step at a bounded amplitude: not diverged.
    config = dirac_config("minimax", "instance_noise", 1.0, 3.0, steps=400, eval_every=1)
    (result,) = train([config])
    psi = torch.tensor([row["psi"] for row in result.history[-50:]])
    assert (psi[1:] * psi[:-1] < 0).all()
    assert 0.3 < psi.abs().min() and psi.abs().max() < 5.0
    assert label_history(result.history, config.loss).label != "diverged"


def test_wgan_clipping_keeps_cycling_at_the_clip_scale():
    # Mescheder et al. 2018, sec. 3: the distance falls 0.5 -> 0.01 (the clip bound) and
    # then cycles there without decaying: oscillating, not converged, however small.
    config = dirac_config("wasserstein", "weight_clip", 0.05, 0.01, steps=3000)
    (result,) = train([config])
    label = label_history(result.history, config.loss)
    assert result.history[-1]["dist_equilibrium"] == pytest.approx(0.01, rel=0.1)
    assert label.label == "oscillating", label.label_reason


@pytest.mark.parametrize("configs, expected", DIRAC_CASES, ids=lambda v: None)
def test_dirac_gan_labels_match_linear_stability(configs, expected):
    # The reference labels agree with what the test states...
    assert [expected_label(c) for c in configs] == expected
    # ...and the labeler, on real trajectories, agrees with the reference.
    for result, reference in zip(train(configs), expected):
        label = label_history(result.history, result.config.loss)
        assert agrees(reference, label.label), (result.config.lr_d, label.label_reason)


STRONG_D = dict(
    hidden_dim=32,
    hidden_layers=2,
    batch_size=128,
    steps=1200,
    eval_every=50,
    d_steps=5,
    lr_g=1e-4,
    lr_d=5e-3,
    seed=0,
)


def test_minimax_against_a_strong_d_is_vanishing():
    (result,) = train([TrainConfig(**STRONG_D, loss="minimax")])
    label = label_history(result.history, "minimax")
    # The saturating loss: D wins, G's gradient dies (Arjovsky & Bottou 2017).
    assert label.label == "vanishing" and label.is_vanishing
    assert "G gradient norm fell" in label.label_reason


def test_nonsaturating_against_the_same_d_is_not_vanishing():
    (result,) = train([TrainConfig(**STRONG_D, loss="nonsaturating")])
    label = label_history(result.history, "nonsaturating")
    # The non-saturating loss keeps G's gradient alive under the same settings.
    assert not label.is_vanishing
    assert result.history[-1]["grad_norm_g"] > 1e-2


@pytest.mark.parametrize(
    "modes, kind", [([0], "complete"), ([0, 2, 4, 6], "partial")], ids=["one", "half"]
)
def test_generator_pinned_to_modes_is_collapsed(modes, kind):
    label = label_history(pinned_history(modes), "nonsaturating")
    assert (label.label, label.collapse_kind) == ("collapsed", kind)
    assert f"{len(modes)} of 8 modes" in label.label_reason


def test_far_too_high_learning_rate_is_diverged():
    config = TrainConfig(
        hidden_dim=32,
        hidden_layers=2,
        steps=200,
        eval_every=50,
        optimizer="sgd",
        lr_g=5.0,
        lr_d=5.0,
    )
    (result,) = train([config])
    assert label_history(result.history, config.loss).label == "diverged"


def test_healthy_ring8_run_converges_with_all_eight_modes():
    config = TrainConfig(
        hidden_dim=64, hidden_layers=2, lr_g=1e-3, lr_d=2e-3, steps=2500, eval_every=100, seed=0
    )
    (result,) = train([config])
    label = label_history(result.history, config.loss)
    # A healthy run on 8 Gaussians finds every mode and settles: all 8 covered at most of
    # its last evaluations. (Not at every one: how many the last snapshot covers depends
    # on the CPU's rounding; on an AVX-512 Xeon one late evaluation saw 7.)
    last = [row["modes_covered"] for row in result.history[-7:]]
    assert sum(modes == 8 for modes in last) >= 6, last
    assert label.label == "converged", label.label_reason

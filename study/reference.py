"""Reference labels for the Dirac-GAN, from the linear stability of its update map.

Mescheder et al. 2018 (sec. 2; LMescheder/GAN_stability, notebooks/diracgan): near the
equilibrium theta = psi = 0, one round of the trainer's alternating gradient steps (D
first, step h, then G) is the linear map, on (theta, psi),

    J = [[1 - h^2 a^2,  h a (1 - h g)],
         [-h a,         1 - h g      ]]

with a = |f'(0)| (1/2 for the minimax and non-saturating losses, 1 for wasserstein) and
g the curvature of D's loss in psi (R1 and R2: g = reg_weight; none: 0; instance noise
of std s on the two GAN losses: g = s^2 / 2, as both halves of D's loss see noise of
variance s^2 through |f''(0)| = 1/4, which puts the continuous-time eigenvalues at
f''(0) s^2 +- sqrt(f''(0)^2 s^4 - f'(0)^2), Mescheder et al. 2018, sec. 3.3). det J =
1 - h g and tr J = 2 - h^2 a^2 - h g, so without a penalty the spectral radius is
exactly 1 (a cycle) for h a <= 2 and above 1 otherwise; with one it is below 1 for small
enough h. Over a budget of n updates the distance scales by rho^n, which decides the
expected label.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from study.config import TrainConfig
from study.diagnostics import Evaluator, to_rows
from study.losses import LOSSES
from study.population import Population
from study.problems import make_problem

SLOPE = {"minimax": 0.5, "nonsaturating": 0.5, "wasserstein": 1.0}
NOT_CONVERGENT = ("gp", "weight_clip")  # Mescheder et al. 2018, sec. 3.2 (WGAN, WGAN-GP)
# Curvature that fades away from the equilibrium: instance noise's comes from the sigmoid,
# which saturates, so past h g ~ 2 a run need not explode: psi may flip sign every step on
# a bounded period-2 orbit (its amplitude where the faded curvature gives h g = 2), or the
# run may spiral out; the linear analysis says only that it does not converge.
SATURATING = ("instance_noise",)
CONVERGED_FACTOR = 0.03  # rho^n at or below this: converged well inside the budget
DIVERGED_FACTOR = 1e8  # rho^n at or above this: explodes past the labeler's limit


def dirac_config(
    loss: str, regularizer: str, step: float, reg_weight: float | None = None, **extra
) -> TrainConfig:
    """A Dirac-GAN run the reference applies to: plain SGD, one step size for both players."""
    settings = dict(problem="dirac", optimizer="sgd", batch_size=256, steps=1500,
                    eval_every=100, eval_samples=10)  # fmt: skip
    return TrainConfig(**{**settings, **extra}, loss=loss, regularizer=regularizer,
                       reg_weight=reg_weight, lr_g=step, lr_d=step)  # fmt: skip


def curvature(config: TrainConfig) -> float:
    """The curvature g of D's loss in psi at the equilibrium, beyond the loss's own."""
    if config.regularizer in ("r1", "r2"):
        return config.reg_weight
    if config.regularizer == "instance_noise" and config.loss != "wasserstein":
        return config.reg_weight**2 / 2.0
    return 0.0


def spectral_radius(config: TrainConfig) -> float:
    """Spectral radius of the linearized alternating SGD update (module docstring)."""
    h, a, g = config.lr_d, SLOPE[config.loss], curvature(config)
    jacobian = np.array([[1 - h * h * a * a, h * a * (1 - h * g)], [-h * a, 1 - h * g]])
    return float(np.abs(np.linalg.eigvals(jacobian)).max())


def expected_label(config: TrainConfig) -> str:
    """converged / oscillating / diverged / not_converged, or borderline (no clear answer).

    `not_converged` accepts any label but converged (WGAN clipping, WGAN-GP, and an
    unstable equilibrium under a SATURATING curvature, whose run may stay bounded); the
    non-saturating loss without penalty decays only through higher-order terms, so it
    is borderline, as are budgets that end before the linear answer shows.
    """
    if config.optimizer != "sgd" or config.lr_g != config.lr_d or config.loss not in SLOPE:
        raise ValueError("reference labels need SGD, lr_g == lr_d and a loss in SLOPE")
    if config.regularizer in NOT_CONVERGENT:
        return "not_converged"
    rho = spectral_radius(config)
    if config.regularizer == "none" and config.loss == "nonsaturating" and rho <= 1 + 1e-9:
        return "borderline"
    if abs(rho - 1.0) < 1e-9:
        return "oscillating"
    log_factor = config.steps * config.d_steps * math.log(rho)  # log(rho^n)
    if log_factor <= math.log(CONVERGED_FACTOR):
        return "converged"
    if log_factor >= math.log(DIVERGED_FACTOR):
        return "not_converged" if config.regularizer in SATURATING else "diverged"
    return "borderline"


def agrees(expected: str, label: str) -> bool:
    """Whether a predicted label matches a reference one."""
    if expected == "not_converged":
        return label != "converged"
    return expected == label


def pinned_history(modes_used: list[int], evaluations: int = 12) -> list[dict]:
    """History of a ring8 generator pinned to some modes (no training), real evaluator.

    Each fixed latent maps to one of the chosen modes plus the data's own noise, so the
    samples are as good as real ones but cover only those modes.
    """
    config = TrainConfig(hidden_dim=16, hidden_layers=1, eval_samples=2500)
    cpu = torch.device("cpu")
    problem = make_problem(config, cpu)
    population = Population([config], problem, cpu)
    chosen = problem.modes[modes_used]

    def pinned(z: Tensor) -> Tensor:
        index = (z[..., 0].abs() * 1e4).long() % len(modes_used)
        return chosen[index] + problem.std * z[..., 1:3]

    population.generate = pinned
    evaluator = Evaluator(population, problem, LOSSES["nonsaturating"], [config], 2500)
    interval = {name: torch.ones(1) for name in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g")}
    rows = []
    for step in range(evaluations):
        values = evaluator.evaluate(population, interval)
        rows.extend(to_rows(100 * step, values))
    return rows

"""Discriminator regularizers, picked by the config's `regularizer` name.

Penalties are pure functions returning one value per member [K]; the trainer adds
`reg_weight * penalty` to D's loss. The other regularizers act on D's inputs
(instance noise), on its weights after each update (clipping) or in its forward pass
(spectral normalization); the `Regularizer` record says which. Definitions follow
Mescheder et al. 2018 (LMescheder/GAN_stability) and PyTorch-StudioGAN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

Critic = Callable[[Tensor], Tensor]


def input_gradient(critic: Critic, x: Tensor) -> Tensor:
    """d D(x) / dx per input [K, B, dim], kept in the graph so the penalty trains D.

    Inputs already in G's graph (an unrolled D step's fakes) stay there.
    """
    x = x if x.requires_grad else x.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return gradient


@dataclass(frozen=True)
class PenaltyInputs:
    """What a penalty may look at: D as a function, D's flat parameters and the batches."""

    critic: Critic
    d_params: Tensor  # [K, P]
    real: Tensor  # [K, B, dim]: D's inputs (packs of pac samples: dim = pac * data_dim)
    fake: Tensor  # [K, B, dim], detached from G except in unrolled D steps
    uniform: Tensor | None  # [K, B, 1] interpolation weights (gp only)


def gradient_penalty(inputs: PenaltyInputs) -> Tensor:
    """WGAN-GP: E[(||grad D(x_hat)|| - 1)^2] on random interpolates (Gulrajani et al. 2017)."""
    mix = inputs.uniform * inputs.real + (1.0 - inputs.uniform) * inputs.fake
    norms = input_gradient(inputs.critic, mix).norm(dim=-1)
    return ((norms - 1.0) ** 2).mean(dim=1)


def r1_penalty(inputs: PenaltyInputs) -> Tensor:
    """R1: 1/2 E[||grad D(x)||^2] on real data (Mescheder et al. 2018)."""
    return 0.5 * input_gradient(inputs.critic, inputs.real).pow(2).sum(dim=-1).mean(dim=1)


def r2_penalty(inputs: PenaltyInputs) -> Tensor:
    """R2: 1/2 E[||grad D(G(z))||^2] on generated data (Mescheder et al. 2018)."""
    return 0.5 * input_gradient(inputs.critic, inputs.fake).pow(2).sum(dim=-1).mean(dim=1)


def l2_penalty(inputs: PenaltyInputs) -> Tensor:
    """Sum of squared D parameters (weight decay on the discriminator)."""
    return inputs.d_params.pow(2).sum(dim=1)


@dataclass(frozen=True)
class Regularizer:
    """What a regularizer does: a penalty on D's loss, input noise, clipping or spectral norm.

    For noise, reg_weight is the noise std; for clipping, the clip bound c.
    """

    penalty: Callable[[PenaltyInputs], Tensor] | None = None
    needs_uniform: bool = False
    input_noise: bool = False
    clip: bool = False
    spectral: bool = False


REGULARIZERS: dict[str, Regularizer] = {
    "none": Regularizer(),
    "gp": Regularizer(penalty=gradient_penalty, needs_uniform=True),
    "r1": Regularizer(penalty=r1_penalty),
    "r2": Regularizer(penalty=r2_penalty),
    "l2": Regularizer(penalty=l2_penalty),
    "weight_clip": Regularizer(clip=True),
    "instance_noise": Regularizer(input_noise=True),
    "spectral_norm": Regularizer(spectral=True),
}

"""Adversarial losses as pure (d_loss, g_loss) pairs, picked by the config's `loss` name.

D outputs raw scores (logits for the two GAN losses). Every function maps scores
[K, B, 1] to one loss per member [K]. Formulas follow mimicry's `losses.py` and
PyTorch-StudioGAN; log(1 - sigmoid(t)) = -softplus(t) keeps them stable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.functional import relu, softplus


def _per_member(values: Tensor) -> Tensor:
    return values.mean(dim=(1, 2))


def minimax_d(real: Tensor, fake: Tensor) -> Tensor:
    """-log D(x) - log(1 - D(G(z))) (Goodfellow et al. 2014)."""
    return _per_member(softplus(-real) + softplus(fake))


def minimax_g(fake: Tensor) -> Tensor:
    """log(1 - D(G(z))): the original, saturating generator loss."""
    return _per_member(-softplus(fake))


def nonsaturating_g(fake: Tensor) -> Tensor:
    """-log D(G(z)): the non-saturating generator loss."""
    return _per_member(softplus(-fake))


def wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    """E[D(G(z))] - E[D(x)] (Arjovsky et al. 2017)."""
    return _per_member(fake) - _per_member(real)


def critic_g(fake: Tensor) -> Tensor:
    """-E[D(G(z))]: the generator loss of WGAN and of the hinge loss."""
    return -_per_member(fake)


def hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    """E[relu(1 - D(x))] + E[relu(1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return _per_member(relu(1.0 - real) + relu(1.0 + fake))


def least_squares_d(real: Tensor, fake: Tensor) -> Tensor:
    """1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2] (Mao et al. 2017, a=0, b=c=1)."""
    return _per_member(0.5 * (real - 1.0) ** 2 + 0.5 * fake**2)


def least_squares_g(fake: Tensor) -> Tensor:
    """1/2 E[(D(G(z)) - 1)^2]."""
    return _per_member(0.5 * (fake - 1.0) ** 2)


def minimax_d_real(real: Tensor) -> Tensor:
    """-log D(x): the real-data half of minimax_d."""
    return _per_member(softplus(-real))


def wasserstein_d_real(real: Tensor) -> Tensor:
    """-E[D(x)]."""
    return -_per_member(real)


def hinge_d_real(real: Tensor) -> Tensor:
    """E[relu(1 - D(x))]."""
    return _per_member(relu(1.0 - real))


def least_squares_d_real(real: Tensor) -> Tensor:
    """1/2 E[(D(x) - 1)^2]."""
    return _per_member(0.5 * (real - 1.0) ** 2)


@dataclass(frozen=True)
class LossPair:
    """A loss's D and G objectives, how to read D's raw output (probability or score),
    and d_real, the real-data half of d_loss (every d_loss is d_real(real) plus a term in
    the fakes alone), which an unrolled G also sees (Metz et al. 2016)."""

    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    d_output: Callable[[Tensor], Tensor]
    d_real: Callable[[Tensor], Tensor]


LOSSES: dict[str, LossPair] = {
    "minimax": LossPair(minimax_d, minimax_g, torch.sigmoid, minimax_d_real),
    "nonsaturating": LossPair(minimax_d, nonsaturating_g, torch.sigmoid, minimax_d_real),
    "wasserstein": LossPair(wasserstein_d, critic_g, torch.clone, wasserstein_d_real),
    "hinge": LossPair(hinge_d, critic_g, torch.clone, hinge_d_real),
    "least_squares": LossPair(least_squares_d, least_squares_g, torch.clone, least_squares_d_real),
}

"""Hidden-layer activations as pure functions, picked by the config's `g_activation` /
`d_activation` name.

ganmap's defaults are ReLU in G and LeakyReLU(0.2) in D (DCGAN's choice, Radford et
al. 2016); the reference Unrolled-GAN and VEEGAN code on the 2D mixtures uses tanh in
both networks (poolio/unrolled_gan, akashgit/VEEGAN), and PacGAN's D maxout units
(fjxmlzn/PacGAN: 5 pieces). Maxout alone changes a layer's width: its layer computes
`pieces` linear outputs per unit and keeps the largest (`linear_width`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor
from torch.nn.functional import leaky_relu as _leaky_relu

LEAKY_SLOPE = 0.2  # negative slope of leaky_relu, as in DCGAN's discriminator


def linear_width(activation: str, units: int, pieces: int) -> int:
    """Outputs of the linear map before an activation of `units` units: `pieces` per
    maxout unit, one per unit otherwise."""
    return units * pieces if activation == "maxout" else units


def maxout(x: Tensor, pieces: int) -> Tensor:
    """Each unit's largest of its `pieces` consecutive linear outputs (Goodfellow et al.
    2013), [..., units * pieces] -> [..., units]; Blocks' Maxout, which PacGAN's D uses,
    groups them the same way."""
    return x.unflatten(-1, (-1, pieces)).amax(dim=-1)


def relu(x: Tensor) -> Tensor:
    """max(0, x)."""
    return x.relu()


def leaky_relu(x: Tensor) -> Tensor:
    """max(0.2 x, x)."""
    return _leaky_relu(x, LEAKY_SLOPE)


ELEMENTWISE: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "tanh": torch.tanh,
}
ACTIVATIONS = (*ELEMENTWISE, "maxout")  # the config's choices


def activation_function(activation: str, pieces: int) -> Callable[[Tensor], Tensor]:
    """The hidden activation named `activation` (maxout with `pieces` pieces per unit)."""
    if activation == "maxout":
        return partial(maxout, pieces=pieces)
    return ELEMENTWISE[activation]

"""Hidden-layer activations as pure functions, picked by the config's `g_activation` /
`d_activation` name.

ganmap's defaults are ReLU in G and LeakyReLU(0.2) in D (DCGAN's choice, Radford et
al. 2016); the reference Unrolled-GAN and VEEGAN code on the 2D mixtures uses tanh in
both networks (poolio/unrolled_gan, akashgit/VEEGAN).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn.functional import leaky_relu as _leaky_relu

LEAKY_SLOPE = 0.2  # negative slope of leaky_relu, as in DCGAN's discriminator


def relu(x: Tensor) -> Tensor:
    """max(0, x)."""
    return x.relu()


def leaky_relu(x: Tensor) -> Tensor:
    """max(0.2 x, x)."""
    return _leaky_relu(x, LEAKY_SLOPE)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "tanh": torch.tanh,
}

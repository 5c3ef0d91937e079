"""Stacked MLPs: K independent networks held in one flat parameter buffer [K, P].

Each layer's weight is a view `[K, in, out]` of the buffer and the forward pass is a
batched matmul, so K members cost one kernel per layer. Keeping all of a network's
parameters in one buffer makes the optimizer a handful of tensor ops whatever the depth,
and `split` makes autograd return the gradient as one `[K, P]` tensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from study.activations import ACTIVATIONS


@dataclass(frozen=True)
class StackedMLP:
    """Layer sizes and activations of K identical-shaped MLPs; holds no parameters itself.

    sizes: (input, hidden..., output); bias: whether layers have biases; activation: the
    hidden layers' activation (a name in `study.activations.ACTIVATIONS`); tanh_output:
    squash the output to [-1, 1]; weights_init, gain: how `init` draws parameters;
    input_scale: multiply the input by this first (the Unrolled GAN's D scales ring8's
    points down by 4, Metz et al. 2016 app. A).
    """

    sizes: tuple[int, ...]
    bias: bool = True
    activation: str = "relu"
    tanh_output: bool = False
    weights_init: str = "uniform"
    gain: float = 1.0
    input_scale: float = 1.0

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def chunk_sizes(self) -> list[int]:
        """Sizes of the weight (and bias) chunks of the flat buffer, in order."""
        chunks = []
        for fan_in, fan_out in self.layer_shapes:
            chunks.append(fan_in * fan_out)
            if self.bias:
                chunks.append(fan_out)
        return chunks

    def init(self, generator: torch.Generator) -> Tensor:
        """One member's flat parameters. "uniform": as nn.Linear initializes, weights and
        biases U(-1/sqrt(in), 1/sqrt(in)). "orthogonal": as TensorFlow's
        orthogonal_initializer(gain) with zero biases (the Unrolled-GAN reference code's
        networks, poolio/unrolled_gan)."""
        chunks = []
        for fan_in, fan_out in self.layer_shapes:
            if self.weights_init == "orthogonal":
                chunks.append(self.gain * orthogonal(fan_in, fan_out, generator).flatten())
                chunks.append(torch.zeros(fan_out if self.bias else 0))
                continue
            bound = 1.0 / math.sqrt(fan_in)
            count = fan_in * fan_out + (fan_out if self.bias else 0)
            chunks.append((torch.rand(count, generator=generator) * 2 - 1) * bound)
        return torch.cat(chunks)

    def weights(self, flat: Tensor) -> list[tuple[Tensor, Tensor | None]]:
        """(weight [K, in, out], bias [K, 1, out] or None) views of a flat buffer [K, P]."""
        chunks = iter(flat.split(self.chunk_sizes, dim=1))
        layers = []
        for fan_in, fan_out in self.layer_shapes:
            weight = next(chunks).view(-1, fan_in, fan_out)
            bias = next(chunks).view(-1, 1, fan_out) if self.bias else None
            layers.append((weight, bias))
        return layers

    def forward(
        self, flat: Tensor, x: Tensor, spectral: SpectralState | None = None, update: bool = True
    ) -> Tensor:
        """Apply K networks to x [K, B, in] -> [K, B, out].

        `spectral` normalizes the weights; `update=False` leaves its vectors as they are
        (evaluation must not change training).
        """
        layers, activation = self.weights(flat), ACTIVATIONS[self.activation]
        if self.input_scale != 1.0:
            x = x * self.input_scale
        for index, (weight, bias) in enumerate(layers):
            if spectral is not None:
                weight = spectral.normalize(index, weight, update)
            x = torch.bmm(x, weight) if bias is None else torch.baddbmm(bias, x, weight)
            if index < len(layers) - 1:
                x = activation(x)
        return x.tanh() if self.tanh_output else x


def orthogonal(fan_in: int, fan_out: int, generator: torch.Generator) -> Tensor:
    """A random [fan_in, fan_out] matrix with orthonormal columns (rows when fan_in <
    fan_out), drawn as TensorFlow's orthogonal_initializer does: the Q of a Gaussian
    matrix's QR decomposition, its signs fixed by R's diagonal so that Q is uniform."""
    tall = torch.randn(max(fan_in, fan_out), min(fan_in, fan_out), generator=generator)
    q, r = torch.linalg.qr(tall)
    q = q * torch.sign(torch.diagonal(r))
    return q if fan_in >= fan_out else q.T


class SpectralState:
    """Power-iteration vectors for spectral normalization (Miyato et al. 2018), per member.

    One power iteration per forward pass, as torch.nn.utils.spectral_norm does in
    training mode; the vectors are not differentiated through.
    """

    def __init__(self, initial: list[Tensor]):
        self.vectors = initial  # per layer: [K, out], unit rows

    @staticmethod
    def initial_vectors(model: StackedMLP, generator: torch.Generator) -> list[Tensor]:
        """One member's random unit start vectors, one per layer."""
        return [
            torch.nn.functional.normalize(torch.randn(fan_out, generator=generator), dim=0)
            for _, fan_out in model.layer_shapes
        ]

    def normalize(self, index: int, weight: Tensor, update: bool = True) -> Tensor:
        """weight / sigma_max(weight), per member; `update` keeps the new power-iteration vector."""
        with torch.no_grad():
            u = self.vectors[index]
            v = torch.nn.functional.normalize(torch.bmm(weight, u.unsqueeze(2))[..., 0], dim=1)
            u = torch.nn.functional.normalize(torch.bmm(v.unsqueeze(1), weight)[:, 0], dim=1)
            if update:
                self.vectors[index] = u
        sigma = (v * torch.bmm(weight, u.unsqueeze(2))[..., 0]).sum(dim=1)  # v^T W u
        return weight / sigma.view(-1, 1, 1)

    def keep(self, index: Tensor) -> None:
        """Keep only the members at `index`."""
        self.vectors = [vector[index] for vector in self.vectors]

    def copy(self) -> SpectralState:
        """An independent copy (unrolled D steps advance it, not D's own vectors)."""
        return SpectralState(list(self.vectors))

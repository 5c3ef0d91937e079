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

from study.activations import activation_function, linear_width

NORMAL_STD = 0.02  # `init: normal`: N(0, 0.02) weights (DCGAN; PacGAN's code), x gain
BATCH_NORM_EPS = 1e-4  # Blocks' BatchNormalization default (PacGAN's G)


@dataclass(frozen=True)
class StackedMLP:
    """Layer sizes and activations of K identical-shaped MLPs; holds no parameters itself.

    sizes: (input, hidden..., output); bias: whether layers have biases; activation: the
    hidden layers' activation (a name in `study.activations.ACTIVATIONS`), `pieces` linear
    outputs per unit for maxout; batch_norm: normalize each hidden layer's linear outputs
    over the batch, per member, with a learned scale and shift, before the activation
    (Ioffe & Szegedy 2015; PacGAN's G), its hidden layers then without bias; tanh_output:
    squash the output to [-1, 1]; weights_init, gain: how `init` draws parameters;
    input_scale: multiply the input by this first (the Unrolled GAN's D scales ring8's
    points down by 4, Metz et al. 2016 app. A).
    """

    sizes: tuple[int, ...]
    bias: bool = True
    activation: str = "relu"
    pieces: int = 1
    batch_norm: bool = False
    tanh_output: bool = False
    weights_init: str = "uniform"
    gain: float = 1.0
    input_scale: float = 1.0

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """(inputs, linear outputs) per layer: a maxout layer has `pieces` per unit."""
        hidden = len(self.sizes) - 2
        return [
            (fan_in, linear_width(self.activation, fan_out, self.pieces) if i < hidden else fan_out)
            for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))
        ]

    def _has_bias(self, index: int) -> bool:
        """Batch norm's shift takes the place of a hidden layer's bias."""
        return self.bias and not (self.batch_norm and index < len(self.sizes) - 2)

    @property
    def _norm_widths(self) -> list[int]:
        """Units per batch-normalized layer (their scales and shifts close the buffer)."""
        return [fan_out for fan_out in self.sizes[1:-1]] if self.batch_norm else []

    @property
    def chunk_sizes(self) -> list[int]:
        """Sizes of the weight (and bias) chunks of the flat buffer, in order, then each
        batch-normalized layer's scale and shift."""
        chunks = []
        for index, (fan_in, fan_out) in enumerate(self.layer_shapes):
            chunks.append(fan_in * fan_out)
            if self._has_bias(index):
                chunks.append(fan_out)
        return chunks + [width for width in self._norm_widths for _ in ("scale", "shift")]

    def init(self, generator: torch.Generator) -> Tensor:
        """One member's flat parameters. "uniform": as nn.Linear initializes, weights and
        biases U(-1/sqrt(in), 1/sqrt(in)). "orthogonal": as TensorFlow's
        orthogonal_initializer(gain) with zero biases (the Unrolled-GAN reference code's
        networks, poolio/unrolled_gan). "normal": weights N(0, (0.02 gain)^2), zero biases
        (DCGAN; PacGAN's IsotropicGaussian(0.02)). Batch norm starts at scale 1, shift 0."""
        chunks = []
        for index, (fan_in, fan_out) in enumerate(self.layer_shapes):
            bias = fan_out if self._has_bias(index) else 0
            if self.weights_init == "uniform":
                bound = 1.0 / math.sqrt(fan_in)
                chunks.append(
                    (torch.rand(fan_in * fan_out + bias, generator=generator) * 2 - 1) * bound
                )
                continue
            if self.weights_init == "orthogonal":
                weight = self.gain * orthogonal(fan_in, fan_out, generator)
            else:
                weight = NORMAL_STD * self.gain * torch.randn(fan_in, fan_out, generator=generator)
            chunks += [weight.flatten(), torch.zeros(bias)]
        for width in self._norm_widths:
            chunks += [torch.ones(width), torch.zeros(width)]
        return torch.cat(chunks)

    def weights(self, flat: Tensor) -> list[tuple[Tensor, Tensor | None]]:
        """(weight [K, in, out], bias [K, 1, out] or None) views of a flat buffer [K, P]."""
        chunks = iter(flat.split(self.chunk_sizes, dim=1))
        layers = []
        for index, (fan_in, fan_out) in enumerate(self.layer_shapes):
            weight = next(chunks).view(-1, fan_in, fan_out)
            bias = next(chunks).view(-1, 1, fan_out) if self._has_bias(index) else None
            layers.append((weight, bias))
        return layers

    def norms(self, flat: Tensor) -> list[tuple[Tensor, Tensor]]:
        """(scale, shift) [K, 1, units] views per batch-normalized hidden layer."""
        norm_chunks = 2 * len(self._norm_widths)
        chunks = flat.split(self.chunk_sizes, dim=1)[len(self.chunk_sizes) - norm_chunks :]
        pairs = zip(chunks[::2], chunks[1::2])
        return [(scale.unsqueeze(1), shift.unsqueeze(1)) for scale, shift in pairs]

    def forward(
        self, flat: Tensor, x: Tensor, spectral: SpectralState | None = None, update: bool = True
    ) -> Tensor:
        """Apply K networks to x [K, B, in] -> [K, B, out].

        `spectral` normalizes the weights; `update=False` leaves its vectors as they are
        (evaluation must not change training). Batch norm uses the statistics of the
        batch it is given, in training and in evaluation alike.
        """
        layers, norms = self.weights(flat), iter(self.norms(flat))
        activation = activation_function(self.activation, self.pieces)
        if self.input_scale != 1.0:
            x = x * self.input_scale
        for index, (weight, bias) in enumerate(layers):
            if spectral is not None:
                weight = spectral.normalize(index, weight, update)
            x = torch.bmm(x, weight) if bias is None else torch.baddbmm(bias, x, weight)
            if index < len(layers) - 1:
                if self.batch_norm:
                    x = batch_norm(x, *next(norms))
                x = activation(x)
        return x.tanh() if self.tanh_output else x


def batch_norm(x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """Each member's batch x [K, B, units] normalized per unit over its B samples (biased
    variance, as in training mode), then scaled and shifted."""
    mean = x.mean(dim=1, keepdim=True)
    variance = x.var(dim=1, unbiased=False, keepdim=True)
    return (x - mean) * torch.rsqrt(variance + BATCH_NORM_EPS) * scale + shift


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

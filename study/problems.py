"""Data problems: a real-data sampler, a latent sampler and an evaluator that knows the modes.

- ring8: 8 Gaussians on a circle of radius 2, std 0.02 (Metz et al. 2016, Unrolled GAN);
  `ring_layout: notebook` places them as the Unrolled GAN notebook does (see `ring`).
- grid25: 5x5 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (VEEGAN; PacGAN).
- dirac: the Dirac-GAN (Mescheder et al. 2018): data is a point mass at 0,
  G(z) = theta, D(x) = psi * x; the equilibrium is theta = psi = 0.
- digits: scikit-learn's bundled 8x8 handwritten digits, 10 classes, scaled to [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from study import metrics
from study.config import TrainConfig
from study.digits import DigitsData, load_digits_data

Critic = Callable[[Tensor], Tensor]
EVAL_CONFIDENCE = 0.9  # digits: classifier confidence for a high-quality sample


@dataclass
class GaussianMixture:
    """Isotropic Gaussian mixture in 2D; its distinct means are the modes.

    Real data picks one of `components` uniformly (indices into `modes`; default one per
    mode), so a mode listed twice is drawn twice as often and weighs twice as much in the
    mode metrics: the Unrolled GAN notebook's ring, whose first and last means coincide.
    """

    name: str
    modes: Tensor  # [M, 2]
    std: float
    z_dim: int
    data_dim: int = 2
    bounded: bool = False
    linear_models: bool = False
    components: Tensor | None = None  # [C] mode of each equally likely component
    weights: Tensor = field(init=False)  # [M] each mode's share of the data

    def __post_init__(self) -> None:
        if self.components is None:
            self.components = torch.arange(len(self.modes), device=self.modes.device)
        counts = torch.bincount(self.components, minlength=len(self.modes))
        self.weights = counts.float() / len(self.components)

    @property
    def scale(self) -> float:
        """RMS norm of the data, the unit of sample drift."""
        return float((self.weights * self.modes.pow(2).sum(dim=1)).sum().sqrt())

    def sample_real(self, n: int, generator: torch.Generator) -> Tensor:
        device = self.modes.device
        pick = torch.randint(len(self.components), (n,), generator=generator, device=device)
        noise = torch.randn(n, 2, generator=generator, device=device)
        return self.modes[self.components[pick]] + self.std * noise

    def sample_latent(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.randn(n, self.z_dim, generator=generator, device=self.modes.device)

    @property
    def spread(self) -> float:
        """The data's mean pairwise distance, the unit of `diversity`: between modes their
        distance, within one mode that of two N(0, std^2 I) points, std * sqrt(pi)."""
        distances = torch.cdist(self.modes, self.modes)
        distances.fill_diagonal_(self.std * math.sqrt(math.pi))
        return float(self.weights @ distances @ self.weights)

    def evaluate(self, fake: Tensor, critic: Critic) -> dict[str, Tensor]:
        scores = metrics.mixture_mode_metrics(fake, self.modes, self.std, self.weights)
        scores["diversity"] = metrics.diversity(fake, self.spread)
        return scores


@dataclass
class Dirac:
    """Dirac-GAN: real data is 0, the latent is a constant 1 so that G(z) = theta.

    Training starts at `start_radius` from the equilibrium in a direction drawn from
    the seed: close enough for the linear analysis of Mescheder et al. to apply.
    """

    device: torch.device
    start_radius: float = 0.5
    name: str = "dirac"
    scale: float = 1.0  # theta moves in absolute units
    z_dim: int = 1
    data_dim: int = 1
    bounded: bool = False
    linear_models: bool = True

    def place_start(self, theta: Tensor, psi: Tensor) -> tuple[Tensor, Tensor]:
        """Rescale random initial (theta, psi) [K, 1] to lie at `start_radius`."""
        scale = self.start_radius / torch.hypot(theta, psi).clamp(min=1e-12)
        return theta * scale, psi * scale

    def sample_real(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.zeros(n, 1, device=self.device)

    def sample_latent(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.ones(n, 1, device=self.device)

    def evaluate(self, fake: Tensor, critic: Critic) -> dict[str, Tensor]:
        theta = fake[:, 0, 0]
        psi = critic(torch.ones(fake.shape[0], 1, 1, device=fake.device))[:, 0, 0]
        return {"theta": theta, "psi": psi, "dist_equilibrium": torch.hypot(theta, psi)}


@dataclass
class Digits:
    """8x8 digits; generated samples are scored by a small classifier trained on the data."""

    data: DigitsData
    z_dim: int
    name: str = "digits"
    data_dim: int = 64
    bounded: bool = True
    linear_models: bool = False

    @property
    def scale(self) -> float:
        return self.data.scale

    def sample_real(self, n: int, generator: torch.Generator) -> Tensor:
        images = self.data.images
        index = torch.randint(len(images), (n,), generator=generator, device=images.device)
        return images[index]

    def sample_latent(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.randn(n, self.z_dim, generator=generator, device=self.data.images.device)

    def evaluate(self, fake: Tensor, critic: Critic) -> dict[str, Tensor]:
        probs = self.data.classify(fake.nan_to_num(0.0))
        scores = metrics.class_metrics(probs, self.data.class_prior, EVAL_CONFIDENCE)
        scores["diversity"] = metrics.diversity(fake.nan_to_num(0.0), self.data.spread)
        return scores


# Each problem's radius and std when a config leaves them unset (None: not used).
DEFAULT_GEOMETRY = {
    "ring8": (2.0, 0.02), "grid25": (1.0, 0.05), "dirac": (0.5, None), "digits": (None, None)
}  # fmt: skip


def geometry(config: TrainConfig) -> tuple[float | None, float | None]:
    """The radius and std a config's problem actually uses (its own, else the default)."""
    radius, std = DEFAULT_GEOMETRY[config.problem]
    if radius is not None and config.radius is not None:
        radius = config.radius
    if std is not None and config.std is not None:
        std = config.std
    return radius, std


def make_problem(config: TrainConfig, device: torch.device):
    """The problem a config names, with its radius/std overrides, on `device`."""
    radius, std = geometry(config)
    if config.problem == "ring8":
        return ring(config.ring_layout, radius, std, config.z_dim, device)
    if config.problem == "grid25":
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0]) * radius
        modes = torch.cartesian_prod(axis, axis)
        return GaussianMixture("grid25", modes.to(device), std, config.z_dim)
    if config.problem == "dirac":
        return Dirac(device, radius)
    return Digits(load_digits_data(device), config.z_dim)


def ring(layout: str, radius: float, std: float, z_dim: int, device: torch.device):
    """ring8's mixture. even: 8 means at multiples of 2 pi / 8 (Metz et al. 2016).
    notebook: the Unrolled GAN notebook's `sample_mog` (poolio/unrolled_gan), means at
    (r sin t, r cos t) for t in linspace(0, 2 pi, 8), whose first and last coincide: 7
    distinct modes, the one at (0, r) drawn with probability 2/8."""
    if layout == "even":
        angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
        modes = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
        return GaussianMixture("ring8", modes.to(device), std, z_dim)
    angles = torch.arange(7, dtype=torch.float32) * (2 * math.pi / 7)
    modes = radius * torch.stack([angles.sin(), angles.cos()], dim=1).to(device)
    components = torch.tensor([0, 1, 2, 3, 4, 5, 6, 0], device=device)
    return GaussianMixture("ring8", modes, std, z_dim, components=components)

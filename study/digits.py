"""scikit-learn's bundled 8x8 digits and the small classifier that scores generated digits.

The classifier (64-128-10 MLP, about 99% training accuracy) is trained once with a fixed
seed and cached: in memory per process, and as plain tensors (loaded with
`weights_only=True`) under $GANMAP_CACHE_DIR or ~/.cache/ganmap.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import Tensor

CLASSIFIER_VERSION = 1
HIDDEN = 128


@dataclass
class DigitsData:
    """Digit images in [-1, 1], their class prior and a classifier for generated samples."""

    images: Tensor  # [1797, 64]
    class_prior: Tensor  # [10]
    spread: float  # mean pairwise distance of real digits
    scale: float  # RMS norm of real digits
    weights: dict[str, Tensor]

    def classify(self, samples: Tensor) -> Tensor:
        """Class probabilities [..., 10] for samples [..., 64]."""
        hidden = torch.relu(samples @ self.weights["w1"] + self.weights["b1"])
        return torch.softmax(hidden @ self.weights["w2"] + self.weights["b2"], dim=-1)


@functools.lru_cache(maxsize=4)
def load_digits_data(device: torch.device) -> DigitsData:
    """The digits data set and its classifier on `device` (cached per process)."""
    images, labels = _digits_tensors()
    weights = {name: value.to(device) for name, value in _classifier_weights().items()}
    prior = torch.bincount(labels, minlength=10).float() / len(labels)
    subset = images[:500]
    spread = (torch.cdist(subset, subset).sum() / (500 * 499)).item()
    scale = images.pow(2).sum(dim=1).mean().sqrt().item()
    return DigitsData(images.to(device), prior.to(device), spread, scale, weights)


def _digits_tensors() -> tuple[Tensor, Tensor]:
    bunch = load_digits()
    images = torch.tensor(bunch.data, dtype=torch.float32) / 8.0 - 1.0
    return images, torch.tensor(bunch.target, dtype=torch.long)


def _cache_path() -> Path:
    root = os.environ.get("GANMAP_CACHE_DIR") or Path.home() / ".cache" / "ganmap"
    return Path(root) / f"digits_classifier_v{CLASSIFIER_VERSION}.pt"


def _classifier_weights() -> dict[str, Tensor]:
    """Load the cached classifier, or train it and write the cache atomically."""
    path = _cache_path()
    if path.exists():
        return torch.load(path, weights_only=True)
    weights = _train_classifier()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(weights, partial)
    partial.replace(path)
    return weights


def _train_classifier(steps: int = 400) -> dict[str, Tensor]:
    """Full-batch Adam on all 1,797 digits, seeded: deterministic on CPU."""
    images, labels = _digits_tensors()
    generator = torch.Generator().manual_seed(0)
    weights = {
        "w1": torch.randn(64, HIDDEN, generator=generator) * 64**-0.5,
        "b1": torch.zeros(HIDDEN),
        "w2": torch.randn(HIDDEN, 10, generator=generator) * HIDDEN**-0.5,
        "b2": torch.zeros(10),
    }
    for tensor in weights.values():
        tensor.requires_grad_(True)
    optimizer = torch.optim.Adam(weights.values(), lr=1e-2)
    for _ in range(steps):
        hidden = torch.relu(images @ weights["w1"] + weights["b1"])
        loss = torch.nn.functional.cross_entropy(hidden @ weights["w2"] + weights["b2"], labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {name: tensor.detach() for name, tensor in weights.items()}

"""Sample-quality and mode-coverage metrics, batched over population members.

All functions take stacked samples `[K, N, ...]` and return one value per member `[K]`.
NaN/Inf samples count as low quality; they never raise.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

HISTOGRAM = "mode_histogram"  # [K, M] share of high-quality samples per mode; not a column


def mixture_mode_metrics(samples: Tensor, modes: Tensor, std: float) -> dict[str, Tensor]:
    """High-quality fraction, modes covered and reverse KL for a Gaussian mixture.

    Follows VEEGAN (Srivastava et al. 2017, sec. 5.1) and PacGAN (Lin et al. 2018,
    sec. 5): a sample is high quality when it lies within 3 std of its nearest mode;
    a mode is covered when it is the nearest mode of at least one high-quality sample;
    the KL is that of the high-quality samples' mode histogram against uniform.
    """
    distances = torch.cdist(samples, modes.expand(samples.shape[0], -1, -1))  # [K, N, M]
    nearest_distance, nearest_mode = distances.nan_to_num(math.inf).min(dim=-1)
    is_high_quality = nearest_distance <= 3.0 * std
    return _coverage(nearest_mode, is_high_quality, modes.shape[0])


def class_metrics(probs: Tensor, class_prior: Tensor, confidence: float) -> dict[str, Tensor]:
    """Class coverage, KL, inception score and mode score from classifier outputs.

    probs: [K, N, C] class probabilities of generated samples; a sample is high quality
    when its top class has probability >= `confidence`. The inception score is
    exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016); the mode score is
    exp(E_x KL(p(y|x) || p*(y)) - KL(p(y) || p*(y))) with p* the data's class prior
    (Che et al. 2017).
    """
    probs = probs.nan_to_num(1.0 / probs.shape[-1])
    top_prob, top_class = probs.max(dim=-1)
    metrics = _coverage(top_class, top_prob >= confidence, probs.shape[-1])
    marginal = probs.mean(dim=1, keepdim=True)  # [K, 1, C]
    per_sample_vs_marginal = _kl(probs, marginal).mean(dim=1)
    per_sample_vs_prior = _kl(probs, class_prior).mean(dim=1)
    marginal_vs_prior = _kl(marginal[:, 0], class_prior)
    metrics["inception_score"] = per_sample_vs_marginal.exp()
    metrics["mode_score"] = (per_sample_vs_prior - marginal_vs_prior).exp()
    return metrics


def diversity(samples: Tensor, reference_spread: float, max_points: int = 500) -> Tensor:
    """Mean pairwise distance of samples divided by the data's (1 = as diverse as data)."""
    subset = samples[:, :max_points]
    pairwise = torch.cdist(subset, subset)
    count = subset.shape[1]
    mean_distance = pairwise.sum(dim=(1, 2)) / (count * (count - 1))
    return mean_distance / reference_spread


def _coverage(assigned: Tensor, is_high_quality: Tensor, num_modes: int) -> dict[str, Tensor]:
    """Fraction of high-quality samples, modes hit by one, and KL of their histogram."""
    counts = torch.zeros(assigned.shape[0], num_modes, device=assigned.device)
    counts.scatter_add_(1, assigned, is_high_quality.float())
    total = counts.sum(dim=1)
    histogram = counts / total.clamp(min=1.0).unsqueeze(1)
    log_ratio = (histogram * num_modes).clamp(min=1e-30).log()
    kl = (histogram * log_ratio).sum(dim=1)
    # No high-quality sample at all: the worst case, as if one mode held everything.
    kl = torch.where(total > 0, kl, torch.full_like(kl, math.log(num_modes)))
    return {
        "high_quality": is_high_quality.float().mean(dim=1),
        "modes_covered": (counts > 0).sum(dim=1).float(),
        "n_modes": torch.full_like(kl, float(num_modes)),
        "mode_kl": kl,
        HISTOGRAM: histogram,
    }


def histogram_shift(current: Tensor, previous: Tensor | None) -> Tensor:
    """Total-variation distance between consecutive mode histograms [K, M] (0..1; NaN first)."""
    if previous is None:
        return torch.full(current.shape[:1], float("nan"), device=current.device)
    return 0.5 * (current - previous).abs().sum(dim=1)


def _kl(p: Tensor, q: Tensor) -> Tensor:
    """KL(p || q) over the last axis, with 0 log 0 = 0."""
    return (p * (p.clamp(min=1e-12).log() - q.clamp(min=1e-12).log())).sum(dim=-1)

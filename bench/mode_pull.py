"""Whether D steers a generator that covers the modes onto them: D's pull on each sample
toward its nearest mode, over training.

Unrolled-5 on ring8 in VEEGAN's setting covers every mode; how sharply (the high-quality
share) depends on D's hidden units and the data's scale (docs/reproduction.md, VEEGAN
ring8, Unrolled). This script trains one row of `reproduce_tables.py` (3 seeds, one
population), keeps the training state at the steps asked for and measures per seed, on
2,500 samples from a fixed latent batch:

- the high-quality share and the samples' median distance to their nearest mode (std);
- D's pull on each sample under the minimax G loss, sigmoid(D(x)) grad D(x), as in
  `collapsed_blob.py`: its mean component toward the sample's nearest mode, as a share of
  the median pull (`inward`; 1 when every sample is pulled straight at its mode, 0 when
  the pull is as often away as toward it or runs along the ring);
- the share of samples D rates above the centre of their nearest mode (`above_mode`: 0
  when each mode is where D peaks locally, so climbing D leads onto it);
- the same share toward the mode for the pull G's objective puts on each sample, formed
  as the trainer's `g_update` forms it (`g_inward`): for an unrolled row at D's unrolled
  parameters, D's response to the samples included, on a fixed real batch of 2,500.

Results go to bench/reproduction/pull/<row>.json.

    python bench/mode_pull.py veegan-ring8-unrolled-tanh-d   # ~15 min on one core here
"""

import statistics
from functools import partial

import torch
from collapsed_blob import measure_row, row_arguments, samples_and_pulls
from reproduce_tables import PULL_STORE

from study.config import TrainConfig
from study.losses import LOSSES
from study.metrics import mixture_mode_metrics
from study.trainer import _unrolled_critic

SEEDS, REAL_SEED = 3, 321


def mode_pull_measures(configs: list[TrainConfig], state: dict) -> list[dict]:
    """Per seed: how near the samples are to their modes and how D pulls them (docstring)."""
    population, problem, samples, logits, pull = samples_and_pulls(configs, state)
    high_quality = mixture_mode_metrics(samples, problem.modes, problem.std)["high_quality"]
    with torch.no_grad():
        modes = problem.modes.expand(len(configs), -1, -1)
        mode_logits = population.discriminate(modes)[..., 0]
    g_pull = objective_pull(population, configs[0], samples)
    measures = []
    per_seed = zip(samples, pull, logits, mode_logits, g_pull, high_quality)
    for x, pull_k, logit, at_modes, g_pull_k, share in per_seed:
        distances = torch.cdist(x, problem.modes)
        nearest = distances.argmin(dim=1)
        to_mode = problem.modes[nearest] - x
        unit = to_mode / to_mode.norm(dim=1, keepdim=True).clamp_min(1e-12)
        std_to_mode = distances.min(dim=1).values / problem.std
        measures.append({
            "high_quality": 100 * float(share),
            "median_std_to_mode": float(std_to_mode.median()),
            "inward": _inward(pull_k, unit),
            "above_mode": 100 * float((logit > at_modes[nearest]).float().mean()),
            "g_inward": _inward(g_pull_k, unit),
        })  # fmt: skip
    return measures


def _inward(pull: torch.Tensor, unit: torch.Tensor) -> float:
    """The pulls' mean component along `unit` (toward the nearest mode) over their median."""
    return float((pull * unit).sum(dim=1).mean() / pull.norm(dim=1).median())


def objective_pull(population, config: TrainConfig, samples: torch.Tensor) -> torch.Tensor:
    """-d/dx of G's objective at the samples x [K, N, 2], as `g_update` forms it: unrolled,
    the G loss minus D's real-data loss, both at D's unrolled parameters (whose response
    to x is included); otherwise the G loss at D. No packing or noise (rows use none)."""
    loss, x = LOSSES[config.loss], samples.clone().requires_grad_(True)
    if config.unroll_steps:
        draws = [torch.Generator().manual_seed(REAL_SEED + k) for k in range(len(x))]
        real = torch.stack([population.problem.sample_real(x.shape[1], g) for g in draws])
        d_params, spectral = _unrolled_critic(population, loss, config, real, x)
        critic = partial(population.discriminate, d_params=d_params, spectral=spectral)
        objective = loss.g_loss(critic(x)) - loss.d_real(critic(real))
    else:
        objective = loss.g_loss(population.discriminate(x))
    (grad,) = torch.autograd.grad(objective.sum(), x)
    return -grad


def main() -> None:
    args = row_arguments(__doc__.splitlines()[0], 5000, [1000, 2500, 5000])
    by_step = measure_row(args, SEEDS, mode_pull_measures, PULL_STORE)
    for step, seeds in by_step.items():
        inward = statistics.fmean(seed["inward"] for seed in seeds)
        share = ", ".join(f"{seed['high_quality']:.1f}" for seed in seeds)
        print(f"step {step}: high quality % {share}; inward pull {inward:.2f}")


if __name__ == "__main__":
    main()

"""How the initialization sets each network's scale at step 0: the tanh units' working range.

In the notebook's settings on the notebook's data (docs/reproduction.md, VEEGAN ring8,
Unrolled) the orthogonal initialization (gain 1.4) keeps the tanh generator wide over
25,000 steps where PyTorch's default initialization lets it sharpen. This script builds
the rows' populations untrained (3 seeds) and measures, per seed, on a fixed batch:

- G, on 2,500 latents: each hidden layer's pre-activation std and the share of its
  units driven past |tanh| 0.95 (saturated: a gradient under a tenth of the slope at 0);
  the samples' median distance from the origin (the data's radius is 1);
- D, on 2,500 real points: the same per hidden layer, the logit's range over the data
  (max - min) and the median norm of D's gradient with respect to its input.

    python bench/init_scale.py   # seconds; prints a markdown table
"""

import argparse

import torch
from reproduce_tables import ROWS

from study.config import TrainConfig
from study.models import StackedMLP
from study.population import Population
from study.problems import make_problem

SEEDS, SAMPLES, DATA_SEED = 3, 2500, 123
DEFAULT_ROWS = [
    "notebook-ring8-unrolled-data-alternating",
    "notebook-ring8-unrolled-data-alternating-uniform-g",
    "notebook-ring8-unrolled-data-alternating-uniform-d",
    "notebook-ring8-unrolled-data-uniform-alternating",
]
SATURATED = 0.95


def hidden_layers(model: StackedMLP, params: torch.Tensor, x: torch.Tensor):
    """Per hidden layer (pre-activation std, share of units past |tanh| SATURATED), and
    the network's output, for a tanh MLP's members params [K, P] on x [K, B, in]."""
    stats, layers = [], model.weights(params)
    x = x * model.input_scale
    for index, (weight, bias) in enumerate(layers):
        x = torch.baddbmm(bias, x, weight)
        if index < len(layers) - 1:
            pre = x.detach()
            stats.append((pre.std(dim=(1, 2)), (pre.tanh().abs() > SATURATED).float().mean((1, 2))))
            x = x.tanh()
    return stats, x


def measure(config: TrainConfig) -> list[dict]:
    """Per seed: the step-0 scales of G and D (module docstring)."""
    configs = [config.model_copy(update={"seed": seed}) for seed in range(SEEDS)]
    problem = make_problem(configs[0], torch.device("cpu"))
    population = Population(configs, problem, torch.device("cpu"))
    draw = torch.Generator().manual_seed(DATA_SEED)
    z = problem.sample_latent(SAMPLES, draw).expand(SEEDS, -1, -1)
    real = problem.sample_real(SAMPLES, draw).expand(SEEDS, -1, -1).clone().requires_grad_()
    g_stats, samples = hidden_layers(population.generator, population.g.detach(), z)
    d_stats, logits = hidden_layers(population.critic, population.d.detach(), real)
    (grad,) = torch.autograd.grad(logits.sum(), real)
    radius = samples.norm(dim=-1).median(dim=1).values
    logit_range = (logits.amax(dim=(1, 2)) - logits.amin(dim=(1, 2))).detach()
    grad_norm = grad.norm(dim=-1).median(dim=1).values
    return [
        {
            "g_layers": [(float(s[k]), float(sat[k])) for s, sat in g_stats],
            "d_layers": [(float(s[k]), float(sat[k])) for s, sat in d_stats],
            "g_radius": float(radius[k]),
            "d_logit_range": float(logit_range[k]),
            "d_grad_norm": float(grad_norm[k]),
        }
        for k in range(SEEDS)
    ]


def _cells(per_seed: list[dict], key: str) -> str:
    """One cell: a scalar measure per seed, or per layer its std (saturated %) per seed."""
    if key.endswith("layers"):
        layers = range(len(per_seed[0][key]))
        return " / ".join(
            ", ".join(f"{s[key][i][0]:.2g} ({100 * s[key][i][1]:.0f})" for s in per_seed)
            for i in layers
        )
    return ", ".join(f"{s[key]:.2g}" for s in per_seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", default=DEFAULT_ROWS)
    args = parser.parse_args()
    by_key = {row.key: row for row in ROWS}
    columns = ("g_layers", "g_radius", "d_layers", "d_logit_range", "d_grad_norm")
    print("| row | G init, D init | G layers: pre-activation std (saturated %) | G sample "
          "radius | D layers: pre-activation std (saturated %) | D logit range | D input "
          "gradient |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for key in args.rows:
        config = TrainConfig(**by_key[key].settings)
        per_seed = measure(config)
        inits = (f"{config.g_init} x {config.g_init_gain:g}, "
                 f"{config.d_init} x {config.d_init_gain:g}")  # fmt: skip
        cells = " | ".join(_cells(per_seed, column) for column in columns)
        print(f"| {key} | {inits} | {cells} |")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()

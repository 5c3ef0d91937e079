"""How closely a member trained alone matches the same member trained in a population.

The population computes every layer as one batched matmul over its K members; K=1 and
K=3 may round differently (float32), and training can amplify such differences. For
each case of tests/test_population.py, this trains its three members together and each
alone, at the suite's tiny size, evaluating every `--eval-every` steps, and prints per
member the largest relative difference of any diagnostic over the run (with the
absolute difference there) and the largest difference of its final samples.

    python bench/member_equivalence.py [--steps 40] [--eval-every 5]
"""

from __future__ import annotations

import argparse
import math

import torch

from study.config import TrainConfig
from study.trainer import train

TINY = dict(hidden_dim=32, hidden_layers=2, batch_size=64, eval_samples=300)
MEMBERS = [(1e-3, 2e-3, 0), (5e-4, 1e-3, 1), (2e-3, 1e-3, 0)]
# The cases of tests/test_population.py::test_member_alone_equals_member_in_population.
CASES = {
    "plain": {},
    "gp": dict(regularizer="gp"),
    "r1-unroll": dict(regularizer="r1", unroll_steps=2),
    "noise": dict(regularizer="instance_noise"),
    "spectral_norm": dict(regularizer="spectral_norm"),
    "minimax": dict(loss="minimax"),
    "hinge": dict(loss="hinge"),
    "wasserstein-clip": dict(regularizer="weight_clip", loss="wasserstein", d_steps=5),
    "sgd-lsq-g2": dict(optimizer="sgd", loss="least_squares", g_steps=2),
    "hinge-sgd": dict(loss="hinge", optimizer="sgd"),  # the hinge case without Adam
}


def relative(a: float, b: float) -> float:
    if math.isnan(a) and math.isnan(b):
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def worst(row_a: dict, row_b: dict) -> tuple[float, float, str]:
    """The largest relative difference between two history rows, the absolute difference
    there, and its column."""
    pairs = [
        (relative(float(a), float(row_b[key])), abs(float(a) - float(row_b[key])), key)
        for key, a in row_a.items()
        if isinstance(a, float) and key != "step" and not math.isnan(a)
    ]
    return max(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--eval-every", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for case, extra in CASES.items():
        configs = [
            TrainConfig(**TINY, **extra, steps=args.steps, eval_every=args.eval_every,
                        lr_g=g, lr_d=d, seed=s)
            for g, d, s in MEMBERS
        ]  # fmt: skip
        population = train(configs)
        for member, config in enumerate(configs):
            (alone,) = train([config])
            rows = zip(population[member].history, alone.history)
            diffs = [(row["step"], *worst(row, other)) for row, other in rows]
            step, diff, absolute, key = max(diffs, key=lambda item: item[1])
            samples = torch.tensor(population[member].samples) - torch.tensor(alone.samples)
            print(
                f"{case:16} member {member}: largest rel {diff:.1e} (abs {absolute:.1e}, "
                f"{key} at step {step}); samples max abs diff {samples.abs().max().item():.1e}"
            )


if __name__ == "__main__":
    main()

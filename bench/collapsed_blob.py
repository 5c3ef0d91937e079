"""Why a collapsed GAN's samples stay a wide blob: its shape and D's pull on it, over training.

The papers' collapsed GAN on ring8 puts 99.3% of its samples within 3 std of its one
mode (VEEGAN Table 1); ganmap's, in the Unrolled GAN paper's own setting
(`metz-ring8-gan` in `reproduce_tables.py`), covers 0 or 1 mode with about 0% high
quality. This script trains one row of `reproduce_tables.py` (5 seeds, one population),
keeps the training state at the steps asked for, and measures per seed:

- the blob: its centre (the samples' median), its median radius and the centre's distance
  to the nearest mode, in mode stds (high quality needs a sample within 3);
- D's landscape over the blob: the range of D's logit across the samples, and the pull on
  each sample under the minimax G loss, -d/dx log(1 - sigmoid(D(x))) =
  sigmoid(D(x)) grad D(x), split into the blob's drift (the mean pull, which moves the
  blob as a whole) and its contraction (the mean component toward the centre, which is
  what would narrow it). A drift as large as the typical pull, with a contraction near
  0, means D pushes every sample the same way and nothing in the loss narrows the blob.

Results go to bench/reproduction/blob/<row>.json, which `reproduce_tables.py` reads into
docs/reproduction.md.

    python bench/collapsed_blob.py metz-ring8-gan   # 790 s on one core of this 2-core CPU
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from reproduce_tables import BLOB_STORE, ROWS

from study.config import TrainConfig
from study.population import Population
from study.problems import make_problem
from study.trainer import train

SEEDS, SAMPLES, LATENT_SEED = 5, 2500, 123


def trained_states(
    settings: dict, at: set[int], seeds: int = SEEDS
) -> tuple[list[TrainConfig], dict[int, dict]]:
    """Train the row's seeds as one population; the training state at each step in `at`."""
    configs = [TrainConfig(**settings, seed=seed) for seed in range(seeds)]
    states = {}

    def keep(step, results, snapshot):
        if step in at:
            states[step] = snapshot()

    train(configs, on_evaluation=keep)
    return configs, states


def samples_and_pulls(configs: list[TrainConfig], state: dict):
    """The trained population and its problem, and per seed SAMPLES generated samples (from
    one fixed latent batch), D's logit at each and D's pull there under the minimax G loss,
    sigmoid(D(x)) grad D(x)."""
    problem = make_problem(configs[0], torch.device("cpu"))
    population = Population(configs, problem, torch.device("cpu"))
    population.load_state_dict(state["population"])
    latent = torch.Generator().manual_seed(LATENT_SEED)
    z = torch.randn(len(configs), SAMPLES, configs[0].z_dim, generator=latent)
    with torch.no_grad():
        samples = population.generate(z)
    samples.requires_grad_(True)
    logits = population.discriminate(samples)
    (grad,) = torch.autograd.grad(logits.sum(), samples)
    logits = logits.detach()[..., 0]
    return population, problem, samples.detach(), logits, torch.sigmoid(logits)[..., None] * grad


def blob_measures(configs: list[TrainConfig], state: dict) -> list[dict]:
    """Per seed: where the blob is, how wide, and how D pulls on it (module docstring)."""
    _, problem, samples, logits, pull = samples_and_pulls(configs, state)
    measures = []
    for x, pull_k, logit in zip(samples, pull, logits):
        centre = x.median(dim=0).values
        offset = x - centre
        radius = offset.norm(dim=1)
        inward = -(pull_k * offset).sum(dim=1) / radius.clamp_min(1e-12)
        nearest = torch.cdist(x, problem.modes).min(dim=1).values / problem.std
        measures.append({
            "centre_to_mode_std": float(torch.cdist(centre[None], problem.modes).min())
            / problem.std,
            "median_radius_std": float(radius.median()) / problem.std,
            "high_quality": 100 * float((nearest <= 3).float().mean()),
            "d_logit_range": float(logit.max() - logit.min()),
            "drift": float(pull_k.mean(dim=0).norm()),
            "median_pull": float(pull_k.norm(dim=1).median()),
            "contraction": float(inward.mean()),
        })  # fmt: skip
    return measures


def row_arguments(description: str, steps: int, at: list[int]) -> argparse.Namespace:
    """The command line of a script that measures one row: the row, --steps and --at."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("row", choices=[row.key for row in ROWS])
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--at", type=int, nargs="+", default=at)
    return parser.parse_args()


def measure_row(args: argparse.Namespace, seeds: int, measure, store: Path) -> dict:
    """Train `args.row` for `args.steps`, `measure` the state kept at each of `args.at`
    steps, and store the measurements in `store`/<row>.json; returns them by step."""
    torch.set_num_threads(1)
    row = next(row for row in ROWS if row.key == args.row)
    settings = dict(row.settings, steps=args.steps, eval_every=max(args.steps // 50, 1))
    start = time.perf_counter()
    configs, states = trained_states(settings, set(args.at), seeds)
    by_step = {step: measure(configs, state) for step, state in sorted(states.items())}
    store.mkdir(parents=True, exist_ok=True)
    stored = {
        "row": row.key, "steps": args.steps, "seeds": seeds, "samples": SAMPLES,
        "by_step": by_step, "wall_time_s": round(time.perf_counter() - start, 1),
        "load_average": os.getloadavg(), "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }  # fmt: skip
    path = store / f"{row.key}.json"
    path.write_text(json.dumps(stored, indent=1) + "\n")
    print(f"wrote {path}")
    return by_step


def main() -> None:
    args = row_arguments(__doc__.splitlines()[0], 25_000, [1000, 5000, 10000, 25000])
    by_step = measure_row(args, SEEDS, blob_measures, BLOB_STORE)
    for step, seeds in by_step.items():
        radii = ", ".join(f"{seed['median_radius_std']:.1f}" for seed in seeds)
        ratio = statistics.fmean(seed["drift"] / seed["median_pull"] for seed in seeds)
        print(f"step {step}: median radius (std) {radii}; drift / median pull {ratio:.2f}")


if __name__ == "__main__":
    main()

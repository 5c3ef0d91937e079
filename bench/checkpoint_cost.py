"""Population checkpoint cost: file size, save and load time, and how many training steps
one checkpoint costs, per population size K. Not a test: it prints a table.

The architecture is the trainer's default (ring8, 3 hidden layers of 128, batch 256).
Save = snapshot (copy to the CPU) + torch.save; load = torch.load(weights_only=True).

    python bench/checkpoint_cost.py [--device cpu|cuda] [--ks 8 64 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import torch

from study import checkpoint
from study.config import TrainConfig
from study.trainer import resolve_device, train

TIMED_STEPS = 20  # training steps timed to price one checkpoint in steps


def population(k: int, steps: int) -> list[TrainConfig]:
    return [
        TrainConfig(problem="ring8", steps=steps, eval_every=steps, lr_g=1e-4 * (1 + i), seed=i)
        for i in range(k)
    ]


def measure(k: int, device: torch.device, repeats: int, folder: str) -> dict:
    """Median save/load seconds and file size at the first evaluation, and step time."""
    saves, loads, path = [], [], os.path.join(folder, "population.pt")

    def hook(step, results, snapshot):
        for _ in range(repeats):
            start = time.perf_counter()
            checkpoint.save(snapshot(), path)
            saves.append(time.perf_counter() - start)
            start = time.perf_counter()
            checkpoint.load(path)
            loads.append(time.perf_counter() - start)

    train(population(k, 1), device=device, on_evaluation=hook)
    start = time.perf_counter()
    train(population(k, TIMED_STEPS), device=device)  # includes one evaluation
    step_s = (time.perf_counter() - start) / TIMED_STEPS
    return {
        "mb": os.path.getsize(path) / 1e6,
        "save": statistics.median(saves),
        "load": statistics.median(loads),
        "step": step_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--ks", type=int, nargs="+", default=[8, 64, 256])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(f"# {platform.processor() or platform.machine()}, {device}, torch {torch.__version__}")
    print("| K | file MB | save s | load s | one step s | save = steps |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for k in args.ks:
            m = measure(k, device, args.repeats, folder)
            print(
                f"| {k} | {m['mb']:.1f} | {m['save']:.3f} | {m['load']:.3f} | "
                f"{m['step']:.3f} | {m['save'] / m['step']:.1f} |"
            )


if __name__ == "__main__":
    main()

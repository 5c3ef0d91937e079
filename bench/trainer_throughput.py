"""Trainer throughput: member-steps per second of the population trainer against a plain loop.

A member-step is one generator update of one configuration, with its D update (1:1).
The plain loop is the same GAN (ring8, 3 hidden layers of 128, batch 512,
non-saturating loss, Adam) as ordinary nn.Modules and torch.optim.Adam, one model per
process, measured in the same run on the same device. Not a test: it prints a table.

    python bench/trainer_throughput.py [--device cpu|cuda] [--ks 1 8 64 512] [--seconds 10]
"""

from __future__ import annotations

import argparse
import functools
import math
import platform
import time

import torch
from torch import nn

from study.config import TrainConfig
from study.trainer import resolve_device, train

HIDDEN, LAYERS, BATCH, Z_DIM = 128, 3, 512, 16


def mlp(sizes: list[int], slope: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            layers.append(nn.LeakyReLU(slope) if slope else nn.ReLU())
    return nn.Sequential(*layers)


def plain_loop(device: torch.device, steps: int) -> float:
    """Seconds for `steps` updates of one ordinary nn.Module GAN on ring8."""
    torch.manual_seed(0)
    generator = mlp([Z_DIM] + [HIDDEN] * LAYERS + [2], 0.0).to(device)
    critic = mlp([2] + [HIDDEN] * LAYERS + [1], 0.2).to(device)
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.999))
    angles = torch.arange(8, device=device) * (2 * math.pi / 8)
    modes = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    softplus = nn.functional.softplus
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        real = modes[torch.randint(8, (BATCH,), device=device)]
        real = real + 0.02 * torch.randn(BATCH, 2, device=device)
        fake = generator(torch.randn(BATCH, Z_DIM, device=device))
        d_loss = softplus(-critic(real)).mean() + softplus(critic(fake.detach())).mean()
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        g_loss = softplus(-critic(fake)).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
    _sync(device)
    return time.perf_counter() - start


def population(device: torch.device, members: int, steps: int) -> float:
    """Seconds for `steps` updates of a K-member population (one cheap evaluation at the end)."""
    configs = [
        TrainConfig(
            hidden_dim=HIDDEN,
            hidden_layers=LAYERS,
            batch_size=BATCH,
            z_dim=Z_DIM,
            steps=steps,
            eval_every=steps,
            eval_samples=16,
            lr_g=1e-3 * (1 + k % 7) / 4,
            lr_d=1e-3 * (1 + k % 5) / 3,
            seed=k % 4,
        )
        for k in range(members)
    ]
    _sync(device)
    start = time.perf_counter()
    train(configs, device=device)
    _sync(device)
    return time.perf_counter() - start


def rate(run, seconds: float) -> float:
    """Steps/s from a run sized to take about `seconds`, after a short warm-up."""
    warmup = 3
    elapsed = run(warmup)
    steps = max(warmup, int(seconds * warmup / max(elapsed, 1e-6)))
    return steps / run(steps)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 8, 64, 512])
    parser.add_argument("--seconds", type=float, default=10.0, help="target time per measurement")
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(
        f"device: {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    plain = rate(lambda steps: plain_loop(device, steps), args.seconds)
    print(f"plain nn.Module loop: {plain:,.0f} steps/s")
    print(f"{'K':>5} {'member-steps/s':>15} {'x plain':>8}")
    for members in args.ks:
        run = functools.partial(population, device, members)
        per_second = members * rate(run, args.seconds)
        print(f"{members:>5} {per_second:>15,.0f} {per_second / plain:>8.2f}")


if __name__ == "__main__":
    main()

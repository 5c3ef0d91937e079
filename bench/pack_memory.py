"""The spec's pack memory estimate (`study.spec.member_memory_bytes`) against what a
pack really takes on CPU: the growth of the process's peak RSS while it trains a few
steps (one process per size, so peaks do not carry over).

    python bench/pack_memory.py            # the sizes below
    python bench/pack_memory.py 8 512 3    # one size: members, hidden_dim, hidden_layers
"""

from __future__ import annotations

import resource
import subprocess
import sys

SIZES = [(8, 512, 3), (32, 512, 3), (8, 1024, 4)]


def measure(members: int, width: int, layers: int) -> None:
    import torch

    from study.config import TrainConfig
    from study.spec import member_memory_bytes
    from study.trainer import train

    torch.set_num_threads(2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    shared = dict(hidden_dim=width, hidden_layers=layers, batch_size=256, steps=4, eval_every=2)
    configs = [TrainConfig(**shared, seed=seed) for seed in range(members)]
    train(configs)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    estimate = members * member_memory_bytes(configs[0].model_dump()) / 2**20
    print(f"pack {members} x hidden {width} x {layers} layers: peak RSS grew {grown:.0f} MiB, "
          f"estimate {estimate:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 4:
        measure(*map(int, sys.argv[1:]))
    else:
        for size in SIZES:
            subprocess.run([sys.executable, __file__, *map(str, size)], check=True)

"""Study throughput: configurations per hour through Ray Tune, packed vs one per trial.

Runs one fixed ring8 spec (early stopping off, so every configuration costs the same)
twice on the same local Ray: once packed (`--pack` configurations per Tune trial), once
with one configuration per trial. The Ray overhead share is the part of the trial slots'
time not spent in the engine's training loop:

    1 - (sum of the packs' training seconds) / (concurrent slots x wall seconds)

    python bench/study_throughput.py [--configs 32] [--steps 1000] [--pack 8] [--cpus 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import ray

from analysis.load import load
from study.runner import run_study
from study.spec import parse_spec


def spec(output: str, configs: int, steps: int, pack: int):
    """A 4 x (configs / 4) lr grid, so packs divide the configurations evenly."""
    lr_g = [2.5e-4 * 2**i for i in range(4)]
    lr_d = [2.5e-4 * 1.5**i for i in range(configs // 4)]
    return parse_spec(
        {
            "name": f"throughput_pack{pack}",
            "fixed": dict(
                problem="ring8",
                hidden_dim=64,
                hidden_layers=2,
                batch_size=256,
                steps=steps,
                eval_every=100,
                eval_samples=1000,
            ),
            "space": {"lr_g": lr_g, "lr_d": lr_d},
            "early_stopping": {"enabled": False},
            "resources": {"cpus": 1, "pack": pack},
            "output": output,
        }
    )


def measure(study, slots: int) -> dict:
    start = time.perf_counter()
    run_study(study, echo=lambda line: None)
    wall = time.perf_counter() - start
    trials = load(study.output).trials
    training = trials.groupby("pack_id").wall_time_s.max().sum()
    used_slots = min(slots, trials.pack_id.nunique())
    return {
        "configs": len(trials),
        "trials": trials.pack_id.nunique(),
        "wall_s": wall,
        "per_hour": len(trials) / wall * 3600,
        "overhead": 1 - training / (used_slots * wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--pack", type=int, default=8)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    ray.init(address="local", num_cpus=args.cpus, include_dashboard=False,
             _node_ip_address="127.0.0.1", log_to_driver=False)  # fmt: skip
    print(f"ray.init: {time.perf_counter() - start:.1f} s, {args.cpus} CPUs, 1 CPU per trial")
    header = ("layout", "configs", "trials", "wall s", "configs/h", "Ray overhead")
    print("{:<24} {:>7} {:>6} {:>7} {:>10} {:>12}".format(*header))
    with tempfile.TemporaryDirectory() as folder:
        for pack in (args.pack, 1):
            study = spec(f"{folder}/pack{pack}", args.configs, args.steps, pack)
            row = measure(study, args.cpus)
            layout = f"{pack} per trial" if pack > 1 else "1 per trial"
            print(
                f"{layout:<24} {row['configs']:>7} {row['trials']:>6} {row['wall_s']:>7.1f} "
                f"{row['per_hour']:>10,.0f} {row['overhead']:>12.0%}"
            )
    ray.shutdown()


if __name__ == "__main__":
    main()

"""Train a study spec's configurations without Ray, keeping what blind judging needs.

For the hand-labeled reference set (docs/label_validation.md): every configuration of
each spec is trained with the engine (one population per structure, on the CPU, so the
runs are reproducible), and stored under OUT/<spec name>/:

    runs.parquet       one row per run: anonymous run id, trial id, every engine key
    history.parquet    one row per run per evaluation (the trainer's history, as stored
                       by a study), keyed by run id
    snapshots.parquet  per evaluation, 2D problems: SNAPSHOT_POINTS generated points;
                       digits: DIGIT_IMAGES generated images (pixels as uint8, 0..255)

Run ids are shuffled with a fixed seed, so a run's id says nothing about its config.

    python bench/reference_runs.py bench/reference/ring8.yaml [...] --out bench/reference/runs
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from study.expand import expand, make_packs, trial_id
from study.spec import load_spec
from study.trainer import train

SNAPSHOT_POINTS = 500
DIGIT_IMAGES = 64
PACK = 64


def run_ids(spec_name: str, count: int) -> list[str]:
    """Anonymous ids for `count` runs, shuffled by a seed fixed per spec."""
    ids = [f"{spec_name}-{index:03d}" for index in range(count)]
    random.Random(f"reference:{spec_name}").shuffle(ids)
    return ids


def train_spec(path: str, out: Path) -> None:
    spec = load_spec(path)
    configs = expand(spec)
    ids = dict(zip((trial_id(c) for c in configs), run_ids(spec.name, len(configs))))
    runs, history, snapshots = [], [], []
    start = time.perf_counter()
    for pack in make_packs(configs, PACK):
        frames: dict[int, list] = {}

        def keep(step, results, _snapshot, frames=frames):
            for member, result in enumerate(results):
                if result.steps_run == step and isinstance(result.samples, torch.Tensor):
                    points = result.samples[:SNAPSHOT_POINTS].cpu().numpy().astype("float32")
                    frames.setdefault(member, []).append((step, points))

        results = train(
            list(pack.configs), device="cpu", on_evaluation=keep, kept_samples=SNAPSHOT_POINTS
        )
        for member, result in enumerate(results):
            run = ids[trial_id(result.config)]
            runs.append({"run_id": run, "trial_id": trial_id(result.config),
                         **result.config.model_dump()})  # fmt: skip
            history.extend({"run_id": run, **row} for row in result.history)
            snapshots.extend(_snapshot_rows(run, result, frames.get(member, [])))
        done = len(runs)
        print(f"{spec.name}: {done}/{len(configs)} runs, {time.perf_counter() - start:.0f} s")
    folder = out / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(runs), folder / "runs.parquet")
    pq.write_table(pa.Table.from_pylist(history), folder / "history.parquet")
    pq.write_table(pa.Table.from_pylist(snapshots), folder / "snapshots.parquet")


def _snapshot_rows(run: str, result, frames) -> list[dict]:
    """Per evaluation, 2D: the points; digits: the first DIGIT_IMAGES images as uint8."""
    if frames and frames[0][1].shape[-1] == 2:
        return [{"run_id": run, "step": step, "x": points[:, 0].tolist(),
                 "y": points[:, 1].tolist()} for step, points in frames]  # fmt: skip
    rows = []
    for step, images in frames:
        pixels = ((np.nan_to_num(images[:DIGIT_IMAGES]) + 1.0) * 127.5).round().clip(0, 255)
        pixels = pixels.astype("uint8").ravel().tolist()
        rows.append({"run_id": run, "step": step, "pixels": pixels})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("specs", nargs="+", help="study specs (YAML)")
    parser.add_argument("--out", default="bench/reference/runs", help="output folder")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one thread: reproducible runs, and fair on a shared machine
    for path in args.specs:
        train_spec(path, Path(args.out))


if __name__ == "__main__":
    main()

"""Train a study spec's configurations without Ray, keeping what blind judging needs.

For the hand-labeled reference set (docs/label_validation.md): every configuration of
each spec is trained with the engine (one population per structure, on the CPU, so the
runs are reproducible), and stored under OUT/<spec name>/:

    runs.parquet       one row per run: anonymous run id, trial id, every engine key
    history.parquet    one row per run per evaluation (the trainer's history, as stored
                       by a study), keyed by run id
    snapshots.parquet  at the evaluations a panel shows (`panel_steps`), 2D problems:
                       SNAPSHOT_POINTS generated points (float16); digits: DIGIT_IMAGES
                       generated images (pixels as uint8, 0 = -1 .. 255 = +1)

A run's id is its problem and a hash of its spec and configuration, so it says nothing
about either (the judge of its panel sees only the id).

    python bench/reference_runs.py bench/reference/ring8.yaml [...] --out bench/reference/runs
"""

from __future__ import annotations

import argparse
import hashlib
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
PANEL_SNAPSHOTS = 7
SNAPSHOTS_SCHEMA = pa.schema(
    [("run_id", pa.string()), ("step", pa.int32()), ("x", pa.list_(pa.float16())),
     ("y", pa.list_(pa.float16())), ("pixels", pa.list_(pa.uint8()))]
)  # fmt: skip


def run_id(spec_name: str, config) -> str:
    """An anonymous, stable id: the problem and a hash of the spec and configuration."""
    digest = hashlib.sha1(f"{spec_name}/{trial_id(config)}".encode()).hexdigest()[:8]
    return f"{config.problem}-{digest}"


def panel_steps(steps: list[int]) -> list[int]:
    """The evaluations a panel shows: the last one, and seven earlier ones (a quarter,
    half and three quarters in, and the last four before the final one, consecutive, to
    show short-term movement)."""
    earlier = steps[:-1]
    if len(earlier) > PANEL_SNAPSHOTS:
        spread = [earlier[int(len(steps) * share)] for share in (0.25, 0.5, 0.75)]
        earlier = sorted(set(spread + earlier[-4:]))[-PANEL_SNAPSHOTS:]
    return [*earlier, steps[-1]]


def train_spec(path: str, out: Path) -> None:
    spec = load_spec(path)
    configs = expand(spec)
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
            run = run_id(spec.name, result.config)
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
    pq.write_table(snapshot_table(snapshots), folder / "snapshots.parquet")


def _snapshot_rows(run: str, result, frames) -> list[dict]:
    """At the panel's evaluations, 2D: the points; digits: the first DIGIT_IMAGES images."""
    shown = set(panel_steps([step for step, _ in frames])) if frames else set()
    rows = []
    for step, samples in frames:
        if step not in shown:
            continue
        if samples.shape[-1] == 2:
            rows.append({"run_id": run, "step": step, "x": samples[:, 0], "y": samples[:, 1]})
        else:
            pixels = ((np.nan_to_num(samples[:DIGIT_IMAGES]) + 1.0) * 127.5).round().clip(0, 255)
            rows.append({"run_id": run, "step": step, "pixels": pixels.astype("uint8").ravel()})
    return rows


def snapshot_table(rows: list[dict]) -> pa.Table:
    """The snapshot rows with SNAPSHOTS_SCHEMA (points stored as float16)."""
    columns = {
        "run_id": [row["run_id"] for row in rows],
        "step": [row["step"] for row in rows],
        "x": [_half(row.get("x")) for row in rows],
        "y": [_half(row.get("y")) for row in rows],
        "pixels": [row.get("pixels") for row in rows],
    }
    return pa.table({name: pa.array(values, SNAPSHOTS_SCHEMA.field(name).type)
                     for name, values in columns.items()})  # fmt: skip


def _half(values):
    return None if values is None else np.asarray(values, dtype=np.float16)


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

"""Results at scale: a synthetic study written, resumed and reported with the real code.

Builds a synthetic ring8 study of `--configs` configurations (default 1,000,000): packs
of `--pack` (500) members that share loss and regularizer (5 losses x 8 regularizers),
lr_g x lr_d grids and 10 seeds, each member with `--evals` (30) evaluations including
8-mode `mode_counts`, a label that depends on its region, and its bounded final samples.
Every pack goes through the real writer (`study.results.pack_tables`, then
`ResultsStore.write_pack`) and the driver's progress count, timed per pack; only
generating the synthetic values is left out of the timings. Then it times:

- resume: `ResultsStore.completed_ids` given the packs the driver would run (what
  `ganmap run --resume` does), and without them (reading the trial_id column);
- `ganmap report` on the study, as a subprocess (wall time and peak RSS);
- a filter query (label counts for one loss and regularizer), on the flat pack files and
  on a Hive-partitioned copy (loss=/regularizer= folders, hard links to the same files);
- one trial's history: from its pack file vs a filter over the whole history dataset.

Disk is the study's table folders. It prints one line per measure and last exactly
`ratio=R ingest_s=S resume_s=T report_s=U peak_rss_gb=V disk_gb=W`.

    python bench/results_scale.py [--configs 1000000] [--pack 500] [--evals 30] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

import study.problems  # noqa: F401  (imported by a trial worker already: not an ingest cost)
from study.config import TrainConfig
from study.expand import make_packs, trial_id
from study.labels import Label
from study.output import REPORT_FOLDER
from study.progress import StudyProgress, finished_metrics
from study.results import ResultsStore, pack_tables
from study.schema import DIAGNOSTICS, KEPT_SAMPLES, LABELS, TRIALS_SCHEMA, RunRecord, TrialRecord

LOSSES = ("minimax", "nonsaturating", "wasserstein", "hinge", "least_squares")
REGULARIZERS = ("none", "gp", "r1", "r2", "weight_clip", "instance_noise", "spectral_norm", "l2")
SEEDS = 10
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def structure_configs(loss: str, regularizer: str, members: int) -> list[TrainConfig]:
    """`members` configurations of one structure: an lr_g x lr_d grid, SEEDS seeds each."""
    side = math.ceil(math.sqrt(members / SEEDS))
    rates = np.geomspace(1e-5, 1e-1, side).tolist()
    configs = []
    for i in range(members):
        cell, seed = divmod(i, SEEDS)
        lr_g, lr_d = rates[cell // side], rates[cell % side]
        configs.append(TrainConfig(loss=loss, regularizer=regularizer, lr_g=lr_g, lr_d=lr_d,
                                   seed=seed, steps=3000, eval_every=100))  # fmt: skip
    return configs


def synthetic_label(config: TrainConfig, rng: np.random.Generator) -> str:
    """Converged in a band around lr_d = 2 lr_g (wider with a regularizer), else a failure."""
    distance = abs(math.log10(config.lr_d / (2 * config.lr_g)))
    width = 0.5 if config.regularizer == "none" else 1.0
    if distance < width and rng.random() < 0.85:
        return "converged"
    if config.lr_g > 1e-2:
        return "diverged"
    return LABELS[1 + int(rng.integers(len(LABELS) - 1))]


def synthetic_member(config, pack_id, size, evals, rng):
    """One member's record, history rows and samples, shaped as the runner produces them."""
    label = synthetic_label(config, rng)
    values = rng.random((evals, len(DIAGNOSTICS))).astype(np.float32).tolist()
    counts = rng.integers(0, 300, (evals, 2, 8)).tolist()
    history = []
    for step, (row, (mode_counts, hq)) in enumerate(zip(values, counts)):
        entry = dict(zip(DIAGNOSTICS, row))
        entry.update(step=100 * step, finite=True, mode_counts=mode_counts, mode_counts_hq=hq)
        history.append(entry)
    history[-1].update(n_modes=8.0, modes_covered=float(rng.integers(1, 9)))
    run = RunRecord(
        steps_run=3000, stopped_early=False, stop_step=None, stop_reason="", wall_time_s=60.0,
        started_at=START, finished_at=START, device="cuda", node_id="node-0", pack_id=pack_id,
        pack_size=size, resumed_from_step=None, round=None, ganmap_version="0.1.0",
        torch_version="2.13.0", ray_version="2.60.0",
    )  # fmt: skip
    verdict = Label(label, False, False, False, False, "", f"synthetic: {label}", rng.random())
    record = TrialRecord("scale", trial_id(config), config, verdict, history[-1], run)
    samples = rng.normal(0, 2, (KEPT_SAMPLES[2], 2)).astype(np.float32)
    return record, history, samples


def ingest(store: ResultsStore, packs, evals: int) -> tuple[list[float], list[float]]:
    """Write every pack as a trial does, count it as the driver does: (wall seconds, CPU
    seconds of this process, all its threads) per pack. CPU time is the pack's cost
    whatever else the machine runs; wall time is what it cost here."""
    steps = sum(c.steps for p in packs for c in p.configs)
    progress = StudyProgress(sum(len(p.configs) for p in packs), 0, steps, 0)
    timings, cpu = [], []
    for number, pack in enumerate(packs):
        rng = np.random.default_rng(number)
        members = [synthetic_member(c, pack.pack_id, len(pack.configs), evals, rng)
                   for c in pack.configs]  # fmt: skip
        records, histories, samples = map(list, zip(*members))
        start, start_cpu = time.perf_counter(), time.process_time()
        store.write_pack(pack.pack_id, pack_tables(records, histories, samples))
        labels = [r.label.label for r in records]
        progress.finished(pack.pack_id, finished_metrics(labels, pack.configs[0].steps))
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if number % 200 == 0:
            print(f"  pack {number}/{len(packs)}: {timings[-1] * 1000:.0f} ms "
                  f"({cpu[-1] * 1000:.0f} ms CPU), load {os.getloadavg()[0]:.1f}",
                  flush=True)  # fmt: skip
    return timings, cpu


def timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def report(out: Path) -> tuple[float, float, float]:
    """`ganmap report` in a subprocess: (wall seconds, its peak RSS in GB, the size of
    the report.html it wrote in MB)."""
    command = [sys.executable, "-m", "study.cli", "report", str(out)]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    page_mb = (out / REPORT_FOLDER / "report.html").stat().st_size / 1e6
    return wall, peak_kb / 1024**2, page_mb


def filter_query(dataset: ds.Dataset) -> tuple[dict, float]:
    """Label counts of one loss and regularizer: the common query, with pushdown."""
    where = (pc.field("loss") == "hinge") & (pc.field("regularizer") == "r1")
    table, seconds = timed(lambda: dataset.to_table(columns=["label"], filter=where))
    return table.column("label").value_counts().to_pylist(), seconds


def hive_copy(out: Path, store: ResultsStore) -> ds.Dataset:
    """The trials files hard-linked into loss=/regularizer= folders (Hive partitioning)."""
    columns = ["pack_id", "loss", "regularizer"]
    trials = ds.dataset(out / "trials").to_table(columns=columns).to_pandas()
    hive = out.parent / f"{out.name}-hive"
    for pack, loss, regularizer in trials.drop_duplicates("pack_id").itertuples(index=False):
        folder = hive / f"loss={loss}" / f"regularizer={regularizer}"
        folder.mkdir(parents=True, exist_ok=True)
        os.link(out / "trials" / f"{pack}.parquet", folder / f"{pack}.parquet")
    keys = pa.schema([("loss", pa.string()), ("regularizer", pa.string())])
    schema = pa.schema([f for f in TRIALS_SCHEMA if f.name not in keys.names] + list(keys))
    return ds.dataset(hive, schema=schema, partitioning=ds.partitioning(keys, flavor="hive"))


def lookup(out: Path, store: ResultsStore, pack_id: str, tid: str) -> tuple[float, float]:
    """One trial's history: from its pack's file vs filtering the whole history dataset."""
    where = pc.field("trial_id") == tid
    one = ds.dataset(store.path(f"history/{pack_id}.parquet"))
    _, own_file = timed(lambda: one.to_table(filter=where))
    _, scan = timed(lambda: ds.dataset(out / "history").to_table(filter=where))
    return own_file, scan


def digits_cost(folder: Path, members: int) -> int:
    """Bytes of one pack's samples file for `members` digits members (16 images each)."""
    store = ResultsStore(str(folder))
    rng = np.random.default_rng(0)
    configs = [TrainConfig(problem="digits", seed=i) for i in range(members)]
    built = [synthetic_member(c, "digits", members, 1, rng) for c in configs]
    records, histories, _ = map(list, zip(*built))
    images = [rng.uniform(-1, 1, (KEPT_SAMPLES[64], 64)) for _ in configs]
    store.write_pack("digits", pack_tables(records, histories, images))
    return (folder / "samples" / "digits.parquet").stat().st_size


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1_000_000)
    parser.add_argument("--pack", type=int, default=500)
    parser.add_argument("--evals", type=int, default=30)
    parser.add_argument("--out", help="where to write the study (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="ganmap-scale-"))
    out = root / "study"
    try:
        run(args, out)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(args, out: Path) -> None:
    structures = [(loss, reg) for loss in LOSSES for reg in REGULARIZERS]
    per_structure = math.ceil(args.configs / len(structures))
    configs = [c for s in structures for c in structure_configs(*s, per_structure)]
    packs = make_packs(configs[: args.configs], args.pack)
    print(f"{len(configs[: args.configs])} configurations in {len(packs)} packs of {args.pack}, "
          f"{args.evals} evaluations each; writing to {out}")  # fmt: skip
    store = ResultsStore(str(out))
    store.write_study_info("scale", args.configs)
    timings, cpu = ingest(store, packs, args.evals)
    window = min(100, len(timings) // 2)
    first, last = np.mean(timings[:window]), np.mean(timings[-window:])
    first_cpu, last_cpu = np.mean(cpu[:window]), np.mean(cpu[-window:])
    print(f"ingest per pack: first {window} {first * 1000:.0f} ms, last {window} "
          f"{last * 1000:.0f} ms (wall ratio {last / first:.2f}); CPU {first_cpu * 1000:.0f} "
          f"and {last_cpu * 1000:.0f} ms (CPU ratio {last_cpu / first_cpu:.2f}); total "
          f"{sum(timings):.1f} s")  # fmt: skip
    known = {p.pack_id: p.trial_ids for p in packs}
    done, resume_s = timed(store.completed_ids, known)
    assert len(done) == args.configs
    _, unplanned_s = timed(store.completed_ids)
    _, stray_s = timed(store.remove_stray_files)
    print(f"resume: completed ids in {resume_s:.2f} s from file names "
          f"({unplanned_s:.2f} s reading every trial_id column instead); "
          f"looking for stray files {stray_s:.2f} s")  # fmt: skip
    report_s, peak_gb, page_mb = report(out)
    print(
        f"ganmap report: {report_s:.1f} s, peak RSS {peak_gb:.2f} GB, report.html {page_mb:.1f} MB"
    )
    counts, flat_s = filter_query(store.dataset("trials"))
    hive_counts, hive_s = filter_query(hive_copy(out, store))
    assert sorted(map(str, counts)) == sorted(map(str, hive_counts))
    print(f"label counts of loss=hinge, regularizer=r1: {flat_s:.2f} s on pack files, "
          f"{hive_s:.2f} s Hive-partitioned")  # fmt: skip
    own_s, scan_s = lookup(out, store, packs[-1].pack_id, trial_id(packs[-1].configs[0]))
    print(f"one trial's history: {own_s * 1000:.0f} ms from its pack file, "
          f"{scan_s:.2f} s filtering the whole history dataset")  # fmt: skip
    sizes = {t: folder_bytes(out / t) for t in ("trials", "history", "samples")}
    per_million = 1e6 / args.configs / 1e9
    print("disk per million configurations: " + ", ".join(
        f"{t} {b * per_million:.2f} GB" for t, b in sizes.items()))  # fmt: skip
    digits = digits_cost(out.parent / "digits", args.pack)
    print(
        f"digits samples (16 images per member): {digits * 1e6 / args.pack / 1e9:.2f} GB "
        "per million configurations"
    )
    disk_gb = sum(sizes.values()) * per_million
    print(
        f"ratio={last / first:.2f} ingest_s={sum(timings):.1f} resume_s={resume_s:.2f} "
        f"report_s={report_s:.1f} peak_rss_gb={peak_gb:.2f} disk_gb={disk_gb:.2f}"
    )


if __name__ == "__main__":
    main()

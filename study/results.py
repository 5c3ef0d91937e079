"""Study results as Parquet: one row per configuration, one row per configuration per evaluation.

Layout of an output folder (a local path or any pyarrow filesystem URI, e.g. s3://):

    spec.yaml               the resolved spec that ran
    trials.parquet          TRIALS_SCHEMA, one row per configuration
    history.parquet         HISTORY_SCHEMA, one row per configuration per evaluation
    samples.parquet         SAMPLES_SCHEMA, 2D problems: final generated points per configuration
    parts/<pack>.*.parquet  results of finished trials not yet merged (crash-safe staging)

Trials write their part files; the driver merges parts into the two tables. Every write
goes to a temporary name and is then moved into place, so no reader ever sees a
half-written file, and merging de-duplicates by trial id, so nothing lands twice.
"""

from __future__ import annotations

import json
import math
import os
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from study.config import TrainConfig

SCHEMA_VERSION = 3
# A population checkpoint folder holds the state and a small index naming its pack and step.
CHECKPOINT_FILE, CHECKPOINT_INDEX = "population.pt", "pack.json"

HYPERPARAMETERS = [
    ("problem", pa.string()), ("radius", pa.float64()), ("std", pa.float64()),
    ("loss", pa.string()), ("regularizer", pa.string()), ("reg_weight", pa.float64()),
    ("unroll_steps", pa.int64()), ("lr_g", pa.float64()), ("lr_d", pa.float64()),
    ("d_steps", pa.int64()), ("g_steps", pa.int64()), ("optimizer", pa.string()),
    ("beta1", pa.float64()), ("beta2", pa.float64()), ("batch_size", pa.int64()),
    ("steps", pa.int64()), ("eval_every", pa.int64()), ("eval_samples", pa.int64()),
    ("z_dim", pa.int64()), ("hidden_dim", pa.int64()), ("hidden_layers", pa.int64()),
    ("g_hidden_dim", pa.int64()), ("d_hidden_dim", pa.int64()),
    ("g_hidden_layers", pa.int64()), ("d_hidden_layers", pa.int64()),
    ("g_activation", pa.string()), ("d_activation", pa.string()), ("pac", pa.int64()),
    ("seed", pa.int64()),
]  # fmt: skip
DIAGNOSTICS = [
    "loss_d", "loss_g", "penalty", "grad_norm_d", "grad_norm_g", "d_real", "d_fake",
    "high_quality", "modes_covered", "n_modes", "mode_kl", "mode_shift", "inception_score",
    "mode_score", "diversity", "theta", "psi", "dist_equilibrium", "sample_drift",
]  # fmt: skip
LABEL_COLUMNS = [
    ("label", pa.string()), ("is_collapsed", pa.bool_()), ("is_oscillating", pa.bool_()),
    ("is_vanishing", pa.bool_()), ("is_diverged", pa.bool_()), ("collapse_kind", pa.string()),
    ("label_reason", pa.string()), ("confidence", pa.float64()),
]  # fmt: skip
RUN_COLUMNS = [
    ("score", pa.float64()), ("steps_run", pa.int64()), ("stopped_early", pa.bool_()),
    ("stop_step", pa.int64()), ("stop_reason", pa.string()), ("wall_time_s", pa.float64()),
    ("device", pa.string()), ("node_id", pa.string()), ("pack_id", pa.string()),
    ("pack_size", pa.int64()), ("resumed_from_step", pa.int64()),
    ("ganmap_version", pa.string()), ("torch_version", pa.string()),
    ("ray_version", pa.string()), ("schema_version", pa.int64()),
]  # fmt: skip
KEY_COLUMNS = [("study", pa.string()), ("trial_id", pa.string())]

TRIALS_SCHEMA = pa.schema(
    KEY_COLUMNS
    + HYPERPARAMETERS
    + LABEL_COLUMNS
    + [(f"final_{name}", pa.float64()) for name in DIAGNOSTICS]
    + [("final_finite", pa.bool_())]
    + RUN_COLUMNS
)
HISTORY_SCHEMA = pa.schema(
    KEY_COLUMNS
    + [("step", pa.int64())]
    + [(name, pa.float64()) for name in DIAGNOSTICS]
    + [("finite", pa.bool_())]
)
SAMPLES_SCHEMA = pa.schema(KEY_COLUMNS + [("x", pa.float64()), ("y", pa.float64())])
# Tables keyed by trial id besides trials.parquet, each merged once per trial.
DETAIL_TABLES = {"history": HISTORY_SCHEMA, "samples": SAMPLES_SCHEMA}
assert [name for name, _ in HYPERPARAMETERS] == list(TrainConfig.model_fields)


def score(final: dict) -> float:
    """One number to optimize, in [0, 1]: mode coverage x quality, or closeness to equilibrium.

    0 for a diverged run. Used as Optuna's default metric.
    """
    if not final.get("finite", True):
        return 0.0
    if "dist_equilibrium" in final:
        distance = final["dist_equilibrium"]
        return 0.0 if not math.isfinite(distance) else 1.0 / (1.0 + 10.0 * distance)
    value = final["modes_covered"] / final["n_modes"] * final["high_quality"]
    return value if math.isfinite(value) else 0.0


def to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows (missing columns become nulls) as a table with exactly `schema`."""
    columns = {field.name: [row.get(field.name) for row in rows] for field in schema}
    return pa.Table.from_pydict(columns, schema=schema)


def resolve(location: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem and path for a local folder or a URI (s3://, gs://, file://)."""
    if "://" in location:
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), os.path.abspath(location)


class ResultsStore:
    """The output folder of one study: parts written by trials, tables merged by the driver."""

    def __init__(self, location: str):
        self.fs, self.root = resolve(location)
        # Absolute, so trial workers (whose working directory differs) write to the same place.
        self.location = location if "://" in location else self.root

    def path(self, *parts: str) -> str:
        """A path inside the store, for `self.fs`."""
        return "/".join([self.root.rstrip("/"), *parts])

    def name(self, path: str) -> str:
        """A `self.fs` path as a name inside the store (the inverse of `path`)."""
        return path[len(self.root.rstrip("/")) + 1 :]

    def uri(self, *parts: str) -> str:
        """A location inside the store for other tools (a URI when the store is remote)."""
        return "/".join([self.location.rstrip("/"), *parts])

    def exists(self, name: str) -> bool:
        return self.fs.get_file_info(self.path(name)).type == pafs.FileType.File

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write a file atomically (temporary name, then move into place)."""
        self.fs.create_dir(self.path(*name.split("/")[:-1]) or self.root, recursive=True)
        temporary = self.path(f"{name}.tmp-{uuid.uuid4().hex}")
        with self.fs.open_output_stream(temporary) as stream:
            stream.write(data)
        self.fs.move(temporary, self.path(name))

    def read_bytes(self, name: str) -> bytes:
        with self.fs.open_input_stream(self.path(name)) as stream:
            return stream.read()

    def write_table(self, name: str, table: pa.Table) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        self.write_bytes(name, sink.getvalue().to_pybytes())

    def read_table(self, name: str, schema: pa.Schema) -> pa.Table:
        if not self.exists(name):
            return schema.empty_table()
        return pq.read_table(self.path(name), filesystem=self.fs, schema=schema)

    def write_part(self, pack_id: str, trials: list[dict], details: dict[str, list]) -> None:
        """A finished trial's rows; the trials file is written last and marks it complete."""
        for name, schema in DETAIL_TABLES.items():
            table = to_table(details.get(name, []), schema)
            self.write_table(f"parts/{pack_id}.{name}.parquet", table)
        self.write_table(f"parts/{pack_id}.trials.parquet", to_table(trials, TRIALS_SCHEMA))

    def pack_checkpoints(self) -> dict[str, str]:
        """The latest complete population checkpoint of each pack in the study's Tune
        storage, as {pack_id: path inside the store}: what earlier runs left behind.

        A checkpoint whose index is unreadable, or whose state file's size differs from
        the index's, was cut short (its writer died while copying it) and is ignored.
        """
        selector = pafs.FileSelector(self.path("tune"), recursive=True, allow_not_found=True)
        sizes = {self.name(info.path): info.size for info in self.fs.get_file_info(selector)}
        latest: dict[str, tuple[int, str]] = {}
        for name in sizes:
            if not name.endswith(f"/{CHECKPOINT_INDEX}"):
                continue
            state = name.removesuffix(CHECKPOINT_INDEX) + CHECKPOINT_FILE
            try:
                saved = json.loads(self.read_bytes(name))
            except ValueError:
                continue
            complete = sizes.get(state) == saved["bytes"]
            if complete and saved["step"] > latest.get(saved["pack_id"], (-1, ""))[0]:
                latest[saved["pack_id"]] = (saved["step"], state)
        return {pack_id: state for pack_id, (_, state) in latest.items()}

    def part_ids(self) -> list[str]:
        selector = pafs.FileSelector(self.path("parts"), allow_not_found=True)
        names = [info.base_name for info in self.fs.get_file_info(selector)]
        return sorted(name.split(".")[0] for name in names if name.endswith(".trials.parquet"))

    def completed_ids(self) -> set[str]:
        """Trial ids with results on disk, merged or still in parts."""
        tables = [self.read_table("trials.parquet", TRIALS_SCHEMA)]
        tables += [
            self.read_table(f"parts/{p}.trials.parquet", TRIALS_SCHEMA) for p in self.part_ids()
        ]
        return {tid for table in tables for tid in table.column("trial_id").to_pylist()}

    def merge_parts(self) -> int:
        """Fold finished parts into the tables, once per trial id; returns trials added.

        Detail tables are written before trials.parquet and filtered against what they
        already hold, so a crash between the writes never duplicates a row.
        """
        parts = self.part_ids()
        if not parts:
            return 0
        trials = self.read_table("trials.parquet", TRIALS_SCHEMA)
        known = set(trials.column("trial_id").to_pylist())
        fresh = []
        for part in parts:
            table = _without(self.read_table(f"parts/{part}.trials.parquet", TRIALS_SCHEMA), known)
            known |= set(table.column("trial_id").to_pylist())
            fresh.append(table)
        added = {tid for table in fresh for tid in table.column("trial_id").to_pylist()}
        for name, schema in DETAIL_TABLES.items():
            merged = self.read_table(f"{name}.parquet", schema)
            present = set(merged.column("trial_id").to_pylist())
            new = [self.read_table(f"parts/{part}.{name}.parquet", schema) for part in parts]
            new = [_only(table, added - present) for table in new]
            self.write_table(f"{name}.parquet", pa.concat_tables([merged, *new]))
        self.write_table("trials.parquet", pa.concat_tables([trials, *fresh]))
        for part in parts:
            for name in ("trials", *DETAIL_TABLES):
                self.fs.delete_file(self.path(f"parts/{part}.{name}.parquet"))
        return len(added)


def _without(table: pa.Table, ids: set[str]) -> pa.Table:
    return table.filter(pa.array([tid not in ids for tid in table.column("trial_id").to_pylist()]))


def _only(table: pa.Table, ids: set[str]) -> pa.Table:
    return table.filter(pa.array([tid in ids for tid in table.column("trial_id").to_pylist()]))


def rows_for_member(
    study: str, tid: str, config: TrainConfig, result, extra: dict
) -> tuple[dict, dict[str, list[dict]]]:
    """The trials row and detail rows of one member (`extra` holds label and run fields)."""
    final = result.history[-1]
    trial = {"study": study, "trial_id": tid, **config.model_dump(), **extra}
    trial.update({f"final_{name}": final.get(name) for name in DIAGNOSTICS})
    trial["final_finite"] = final.get("finite", True)
    trial["score"] = score(final)
    trial["schema_version"] = SCHEMA_VERSION
    key = {"study": study, "trial_id": tid}
    history = [{**key, **row} for row in result.history]
    samples = [{**key, "x": x, "y": y} for x, y in result.samples]
    return trial, {"history": history, "samples": samples}

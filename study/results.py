"""Study results as Parquet datasets: one folder per table, one file per finished pack.

Layout of an output folder (table folders since schema version 3; a local path or any
pyarrow URI, e.g. s3://):

    spec.yaml                 the resolved spec that ran
    study.json                the study's name, its number of configurations, schema version
    trials/<pack_id>.parquet  one row per configuration of the pack (TRIALS_SCHEMA)
    history/<pack_id>.parquet one row per configuration per evaluation (HISTORY_SCHEMA)
    samples/<pack_id>.parquet final generated samples (SAMPLES_SCHEMA)
    tune/                     Ray Tune's storage (population checkpoints)
    optuna.journal            an Optuna study's journal (study.optuna_study)
    lease/<token>.json        the running driver's lease (study.lease)

A finished trial writes its pack's files, each to a hidden temporary name that is then
moved into place, the trials file last: a pack is committed once its trials file
exists, and nothing already written is touched when a later trial finishes. A pack's
id is a hash of its members' trial ids, so a retried or resumed pack writes the same
file names again and cannot duplicate a row. Detail files of a pack that died before
its trials file landed are ignored by readers (`table_files`) and removed when a study
resumes. `study.compact` may fold pack files into bigger `compact-*.parquet` files; each
names the packs it holds in its metadata, and readers prefer it over those packs' files.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from study.schema import (
    CATEGORY,
    DETAIL_KEY_FIELDS,
    HISTORY_SCHEMA,
    SAMPLES_SCHEMA,
    SCHEMA_VERSION,
    SCHEMAS,
    TABLES,
    TRIALS_SCHEMA,
    TrialRecord,
)

# A population checkpoint folder holds the state and a small index naming its pack and step.
CHECKPOINT_FILE, CHECKPOINT_INDEX = "population.pt", "pack.json"
COMPACT_PREFIX = "compact-"
PACKS_KEY, VERSION_KEY = b"ganmap.packs", b"ganmap.schema_version"
STUDY_FILE, SPEC_FILE, JOURNAL_FILE = "study.json", "spec.yaml", "optuna.journal"
LABELS_FILE = "labels.yaml"  # the thresholds `ganmap relabel` records
TUNE_FOLDER, LEASE_FOLDER = "tune", "lease"
OLD_TABLES = tuple(f"{name}.parquet" for name in TABLES)  # schema version 2: one file each
COMPRESSION = "zstd"


class OldLayout(ValueError):
    """A folder written by ganmap's single-file layout (schema version 2)."""

    def __init__(self, location: str):
        super().__init__(
            f"{location} holds results in the single-file layout of schema version 2 "
            f"(trials.parquet at its top); this ganmap reads version {SCHEMA_VERSION}: "
            f"convert it with `ganmap compact {location}`"
        )


def resolve(location: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem and path for a local folder or a URI (s3://, gs://, file://)."""
    if "://" in location:
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), os.path.abspath(location)


@dataclass(frozen=True)
class TableFile:
    """One Parquet file of a table and the packs whose rows it holds."""

    name: str  # inside the store, e.g. "history/3f2a9c0d1e4b.parquet"
    packs: frozenset[str]

    @property
    def compacted(self) -> bool:
        """Written by `ganmap compact` (holds several packs), not by a trial."""
        return self.name.rpartition("/")[2].startswith(COMPACT_PREFIX)


def pack_tables(
    records: Sequence[TrialRecord], histories: Sequence[Sequence[Mapping]], samples: Sequence
) -> dict[str, pa.Table]:
    """The three tables of one pack from its members' records, histories and last samples.

    `histories[i]` is member i's list of evaluation rows (the trainer's history) and
    `samples[i]` its kept samples, [n, 2] points or [n, 64] digit images (or empty).
    """
    trials = pa.Table.from_pylist([record.row() for record in records], schema=TRIALS_SCHEMA)
    keys = [(r.study, r.trial_id, r.run.pack_id) for r in records]
    return {
        "trials": trials,
        "history": _history_table(keys, histories),
        "samples": _samples_table(keys, samples),
    }


def _key_columns(keys: Sequence[tuple[str, str, str]], counts: Sequence[int]) -> dict:
    """study, trial_id and pack_id of member i repeated `counts[i]` times, as Arrow arrays."""
    index = pa.array(np.repeat(np.arange(len(counts)), counts))
    columns = {}
    for position, field in enumerate(DETAIL_KEY_FIELDS):
        values = pa.array([key[position] for key in keys], pa.string()).take(index)
        columns[field.name] = values.dictionary_encode() if field.type == CATEGORY else values
    return columns


def _history_table(keys, histories) -> pa.Table:
    rows = [row for history in histories for row in history]
    columns = _key_columns(keys, [len(history) for history in histories])
    values = pa.schema([field for field in HISTORY_SCHEMA if field.name not in columns])
    evaluations = pa.Table.from_pylist(rows, schema=values)  # a missing key is a null
    columns.update(zip(evaluations.column_names, evaluations.columns))
    return pa.Table.from_pydict(columns, schema=HISTORY_SCHEMA)


def _samples_table(keys, samples) -> pa.Table:
    counts = [len(member) for member in samples]
    kept = [np.asarray(m, dtype=np.float32).reshape(len(m), -1) for m in samples if len(m)]
    points = np.concatenate(kept) if kept else np.zeros((0, 0), np.float32)
    columns = _key_columns(keys, counts)
    columns["sample"] = np.concatenate(
        [np.arange(n, dtype=np.int16) for n in counts] + [np.zeros(0, np.int16)]
    )
    rows, width = points.shape
    empty = {name: pa.nulls(rows, SAMPLES_SCHEMA.field(name).type) for name in ("x", "y", "pixels")}
    columns["x"] = points[:, 0] if width == 2 else empty["x"]
    columns["y"] = points[:, 1] if width == 2 else empty["y"]
    columns["pixels"] = _pixels(points) if width > 2 else empty["pixels"]
    return pa.Table.from_pydict(columns, schema=SAMPLES_SCHEMA)


def _pixels(images: np.ndarray) -> pa.Array:
    """Images in [-1, 1] as lists of uint8 (0 = -1, 255 = +1); NaN as background."""
    levels = np.rint((np.nan_to_num(images, nan=-1.0).clip(-1, 1) + 1) * 127.5).astype(np.uint8)
    offsets = np.arange(0, levels.size + 1, levels.shape[1], dtype=np.int32)
    return pa.ListArray.from_arrays(offsets, pa.array(levels.ravel(), pa.uint8()))


class ResultsStore:
    """The output folder of one study: pack files written by trials, read as datasets."""

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
        """Write a file atomically: a hidden temporary name beside it, then a move.

        The temporary name starts with "." and does not end in .parquet, so neither
        pyarrow.dataset nor a `*.parquet` glob ever reads a half-written file.
        """
        folder, _, base = name.rpartition("/")
        self.fs.create_dir(self.path(folder) if folder else self.root, recursive=True)
        temporary = self.path(*filter(None, [folder, f".{base}.tmp-{uuid.uuid4().hex}"]))
        with self.fs.open_output_stream(temporary) as stream:
            stream.write(data)
        self.fs.move(temporary, self.path(name))

    def top_names(self) -> list[str]:
        """Names at the top of the store, hidden ones (".", temporary files) left out."""
        selector = pafs.FileSelector(self.root, allow_not_found=True)
        names = [info.base_name for info in self.fs.get_file_info(selector)]
        return sorted(name for name in names if not name.startswith("."))

    def read_bytes(self, name: str) -> bytes:
        with self.fs.open_input_stream(self.path(name)) as stream:
            return stream.read()

    def write_table(
        self, name: str, table: pa.Table, packs: Iterable[str], row_group_size: int | None = None
    ) -> None:
        """Write a table file atomically, recording the packs it holds in its metadata."""
        metadata = {PACKS_KEY: json.dumps(sorted(packs)), VERSION_KEY: str(SCHEMA_VERSION)}
        sink = pa.BufferOutputStream()
        table = table.replace_schema_metadata(metadata)
        pq.write_table(table, sink, compression=COMPRESSION, row_group_size=row_group_size)
        self.write_bytes(name, sink.getvalue().to_pybytes())

    def write_pack(self, pack_id: str, tables: Mapping[str, pa.Table]) -> None:
        """A finished pack's files; the trials file goes last and commits the pack."""
        for name in (*(t for t in TABLES if t != "trials"), "trials"):
            self.write_table(f"{name}/{pack_id}.parquet", tables[name], [pack_id])

    def layout(self) -> str:
        """ "tables" (this version's folders), "single-file" (version 2) or "empty"."""
        if any(self.exists(name) for name in OLD_TABLES):
            return "single-file"
        return "tables" if self._listing("trials") else "empty"

    def _listing(self, table: str) -> list[str]:
        """Names of the table's Parquet files (temporary files excluded)."""
        selector = pafs.FileSelector(self.path(table), allow_not_found=True)
        names = [info.base_name for info in self.fs.get_file_info(selector)]
        return sorted(f"{table}/{n}" for n in names if n.endswith(".parquet") and n[0] != ".")

    def _packs_of(self, name: str) -> frozenset[str]:
        base = name.rpartition("/")[2].removesuffix(".parquet")
        if not base.startswith(COMPACT_PREFIX):
            return frozenset([base])
        with self.fs.open_input_file(self.path(name)) as source:
            metadata = pq.read_schema(source).metadata or {}
        return frozenset(json.loads(metadata.get(PACKS_KEY, b"[]")))

    def all_files(self, table: str) -> list[TableFile]:
        """Every file of a table, committed or not (see `table_files`)."""
        return [TableFile(name, self._packs_of(name)) for name in self._listing(table)]

    def table_files(self, table: str) -> list[TableFile]:
        """The files that make up a table, each committed row exactly once.

        A pack counts once its trials file exists; a pack's own file is skipped where a
        compacted file holds the same pack (a compaction cut short before it deleted it).
        """
        trials = self.all_files("trials")
        committed = frozenset().union(*(f.packs for f in trials))
        files = trials if table == "trials" else self.all_files(table)
        compacted = frozenset().union(*(f.packs for f in files if f.compacted))
        return [
            f for f in files if f.compacted or (f.packs <= committed and not f.packs & compacted)
        ]

    def stray_files(self) -> list[str]:
        """Files readers skip: detail files of packs whose trials file never landed (their
        trial died while writing), and pack files that a compacted file replaced."""
        names = []
        for table in TABLES:
            kept = {file.name for file in self.table_files(table)}
            names += [file.name for file in self.all_files(table) if file.name not in kept]
        return names

    def remove_stray_files(self) -> int:
        """Delete `stray_files`; returns how many. Only while none of the study's trials
        runs (before a resume starts its trials, or on a finished study)."""
        names = self.stray_files()
        for name in names:
            self.fs.delete_file(self.path(name))
        return len(names)

    def dataset(self, table: str) -> ds.Dataset:
        """The committed rows of a table as one pyarrow dataset (nothing read yet)."""
        paths = [self.path(f.name) for f in self.table_files(table)]
        return ds.dataset(paths, schema=SCHEMAS[table], format="parquet", filesystem=self.fs)

    def completed_ids(self, known: Mapping[str, Sequence[str]] | None = None) -> set[str]:
        """Trial ids with committed results.

        `known` maps pack ids to their members' trial ids (the packs the driver would
        run): a file holding only known packs is answered from its name and metadata.
        Only other files (written with another pack size, Optuna trials) are read, and
        then only their trial_id column.
        """
        known = known or {}
        ids: set[str] = set()
        unknown = []
        for file in self.table_files("trials"):
            if file.packs <= known.keys():
                ids.update(tid for pack in file.packs for tid in known[pack])
            else:
                unknown.append(self.path(file.name))
        if unknown:
            data = ds.dataset(unknown, schema=TRIALS_SCHEMA, format="parquet", filesystem=self.fs)
            ids.update(data.to_table(columns=["trial_id"]).column("trial_id").to_pylist())
        return ids

    def read_trials_file(self, name: str) -> pa.Table:
        """One trials file (a pack's, or a compacted one), e.g. to relabel its rows."""
        with self.fs.open_input_file(self.path(name)) as source:
            return pq.read_table(source, schema=TRIALS_SCHEMA)

    def replace_trials_file(self, file: TableFile, table: pa.Table) -> None:
        """Atomically replace one trials file with `table` (same packs, same trial ids):
        how a relabelled study rewrites its label columns, one file at a time."""
        if not file.name.startswith("trials/"):
            raise ValueError(f"{file.name}: not a trials file")
        if table.schema.remove_metadata() != TRIALS_SCHEMA:
            raise ValueError(f"{file.name}: the replacement does not have TRIALS_SCHEMA")
        before = self.read_trials_file(file.name).column("trial_id")
        if sorted(before.to_pylist()) != sorted(table.column("trial_id").to_pylist()):
            raise ValueError(f"{file.name}: the replacement holds other trials")
        self.write_table(file.name, table, file.packs)

    def write_study_info(self, study: str, configurations: int) -> None:
        """study.json: what the folder holds (read by reports to say how much is done)."""
        info = {"study": study, "configurations": configurations, "schema_version": SCHEMA_VERSION}
        self.write_bytes(STUDY_FILE, json.dumps(info).encode())

    def study_info(self) -> dict:
        return json.loads(self.read_bytes(STUDY_FILE)) if self.exists(STUDY_FILE) else {}

    def pack_checkpoints(self) -> dict[str, str]:
        """The latest complete population checkpoint of each pack in the study's Tune
        storage, as {pack_id: path inside the store}: what earlier runs left behind.

        A checkpoint whose index is unreadable, or whose state file's size differs from
        the index's, was cut short (its writer died while copying it) and is ignored.
        """
        selector = pafs.FileSelector(self.path(TUNE_FOLDER), recursive=True, allow_not_found=True)
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

"""`ganmap compact`: fold a study's pack files together, and convert the old layout.

- Folding: the pack files of each table are read in pack order and written again as
  `compact-<hash>.parquet` files of about `rows` rows, each naming the packs it holds
  in its metadata; then the pack files are deleted. Readers prefer a compacted file over
  the pack files it holds, so a compaction cut short leaves no duplicate.
- Stray files (detail files of packs that died before committing) are removed.
- A folder in the single-file layout of schema version 2 (trials.parquet,
  history.parquet, samples.parquet and parts/ at its top) is converted to this version's
  pack files: new columns are filled (hyperparameters with their defaults, the resolved
  radius and std), samples are cut to this version's bound, unknown values are null.

Run it on a finished or stopped study, never while its driver runs.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from study.config import TrainConfig
from study.results import COMPACT_PREFIX, OLD_TABLES, ResultsStore, TableFile
from study.schema import (
    HYPERPARAMETERS,
    KEPT_SAMPLES,
    SCHEMA_VERSION,
    SCHEMAS,
    TABLES,
    resolved_hyperparameters,
)

ROWS_PER_FILE = 2_000_000
ROW_GROUP = 128 * 1024  # small row groups: a lookup by pack reads little of a big file


def compact(store: ResultsStore, rows: int = ROWS_PER_FILE) -> str:
    """Convert (old layout) or fold (this layout) the study at `store`; says what it did."""
    said = []
    if store.layout() == "single-file":
        said.append(f"converted the single-file layout: {convert_single_file(store)} packs")
    removed = store.remove_stray_files()
    if removed:
        said.append(f"removed {removed} files of packs that never finished")
    folded = {table: fold(store, table, rows) for table in TABLES if table != "trials"}
    folded["trials"] = fold(store, "trials", rows)  # last, like a pack's own writes
    said.append(", ".join(f"{table}: {n[0]} files into {n[1]}" for table, n in folded.items()))
    return "; ".join(said)


def fold(store: ResultsStore, table: str, rows: int) -> tuple[int, int]:
    """Fold the table's pack files into compacted files; returns (files read, written)."""
    packs = [file for file in store.table_files(table) if not file.compacted]
    groups, group, size = [], [], 0
    for file in packs:
        group.append(file)
        size += pq.read_metadata(store.path(file.name), filesystem=store.fs).num_rows
        if size >= rows:
            groups.append(group)
            group, size = [], 0
    groups += [group] if len(group) > 1 else []
    for group in groups:
        _write_folded(store, table, group)
    return sum(len(g) for g in groups), len(groups)


def _write_folded(store: ResultsStore, table: str, files: list[TableFile]) -> None:
    paths = [store.path(f.name) for f in files]
    data = ds.dataset(paths, schema=SCHEMAS[table], filesystem=store.fs).to_table()
    # Rows by pack (a stable sort): a lookup by pack then reads only its row groups.
    data = data.take(pc.sort_indices(data.column("pack_id").cast(pa.string())))
    packs = sorted(pack for f in files for pack in f.packs)
    digest = hashlib.sha1("".join(packs).encode()).hexdigest()[:12]
    name = f"{table}/{COMPACT_PREFIX}{digest}.parquet"
    store.write_table(name, data, packs, row_group_size=ROW_GROUP)
    for file in files:
        store.fs.delete_file(store.path(file.name))


def convert_single_file(store: ResultsStore) -> int:
    """Rewrite a version-2 folder as pack files; returns the number of packs.

    Idempotent: a conversion cut short is finished by running it again (a table whose
    old file is already gone was converted before).
    """
    old = {table: _read_old(store, table) for table in TABLES}
    trials = old["trials"]
    packs = sorted(set(trials.column("pack_id").to_pylist()))
    pack_of = dict(zip(trials.column("trial_id").to_pylist(), trials.column("pack_id").to_pylist()))
    new = {"trials": _upgrade_trials(trials)}
    for table in ("history", "samples"):
        if old[table] is not None:
            new[table] = _upgrade_details(table, old[table], pack_of)
    for table in (*new.keys() - {"trials"}, "trials"):
        for pack in packs:
            rows = new[table].filter(pc.field("pack_id") == pack)
            store.write_table(f"{table}/{pack}.parquet", rows, [pack])
    for name in (*(n for n in OLD_TABLES if n != "trials.parquet"), "trials.parquet"):
        if store.exists(name):
            store.fs.delete_file(store.path(name))
    store.fs.delete_dir_contents(store.path("parts"), missing_dir_ok=True)
    return len(packs)


def _read_old(store: ResultsStore, table: str) -> pa.Table | None:
    """An old table with its unmerged parts, each trial (and step) once; None if gone."""
    names = [f"{table}.parquet"] if store.exists(f"{table}.parquet") else []
    selector = pa.fs.FileSelector(store.path("parts"), allow_not_found=True)
    names += sorted(
        store.name(info.path) for info in store.fs.get_file_info(selector)
        if info.base_name.endswith(f".{table}.parquet")
    )  # fmt: skip
    if not names:
        return None
    tables = [pq.read_table(store.path(n), filesystem=store.fs) for n in names]
    merged = pa.concat_tables(tables, promote_options="permissive")
    keys = {"trials": ["trial_id"], "history": ["trial_id", "step"]}.get(table)
    if keys is None:
        return merged
    frame = merged.to_pandas().drop_duplicates(keys)
    return pa.Table.from_pandas(frame, preserve_index=False)


def _upgrade_trials(old: pa.Table) -> pa.Table:
    """Version-2 trials rows in this version's schema."""
    rows = old.to_pylist()
    for row in rows:
        config = TrainConfig(**{k: row[k] for k in HYPERPARAMETERS if k in row})
        row.update(resolved_hyperparameters(config), schema_version=SCHEMA_VERSION)
    return pa.Table.from_pylist(rows, schema=SCHEMAS["trials"])


def _upgrade_details(table: str, old: pa.Table, pack_of: dict[str, str]) -> pa.Table:
    """Version-2 history or samples rows in this version's schema (samples: the first
    KEPT_SAMPLES points of each trial, numbered)."""
    frame = old.to_pandas()
    frame = frame[frame["trial_id"].isin(pack_of.keys())]
    frame["pack_id"] = frame["trial_id"].map(pack_of)
    if table == "samples":
        frame["sample"] = frame.groupby("trial_id").cumcount()
        frame = frame[frame["sample"] < KEPT_SAMPLES[2]]
    schema = SCHEMAS[table]
    for field in schema:
        if field.name not in frame:
            frame[field.name] = None
    columns = {f.name: pa.array(frame[f.name].tolist(), f.type) for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)

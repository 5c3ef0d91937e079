"""Read study results: one or several result folders, local or any pyarrow URI, lazily.

`StudyTables` opens the folders' tables as pyarrow datasets (nothing is read until asked)
and reads only the columns and rows asked for: whole-study questions read a few columns
of the trials table; a trial's history or samples are read from its own pack's file
only. `load` reads everything into pandas, for small studies and notebooks. A study
that is still running can be read: its finished packs are there. Nothing here imports Ray.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from study.results import OldLayout, ResultsStore
from study.schema import SCHEMAS, TABLES


class ResultsError(ValueError):
    """Results that cannot be read: missing, corrupt, or of another layout or version."""


@dataclass
class Results:
    """The trials of one or more studies, with their evaluation histories and samples."""

    trials: pd.DataFrame
    history: pd.DataFrame
    samples: pd.DataFrame


class StudyTables:
    """The tables of one or more study folders, read lazily with column projection and
    filter pushdown (pyarrow.dataset)."""

    def __init__(self, *locations: str):
        if not locations:
            raise ResultsError("give at least one result folder or URI")
        self.locations = locations
        self.stores = [_open(location) for location in locations]

    def dataset(self, table: str) -> ds.Dataset:
        """A table of every folder as one pyarrow dataset (committed packs only)."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
        parts = [_guarded(store, table, store.dataset, table) for store in self.stores]
        return parts[0] if len(parts) == 1 else ds.dataset(parts)

    def trials(
        self, columns: Sequence[str] | None = None, filter: pc.Expression | None = None
    ) -> pd.DataFrame:
        """Trials as pandas: only `columns` (default all), only rows matching `filter`."""
        return self._read("trials", columns, filter)

    def details(
        self, table: str, trials: pd.DataFrame, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The history or samples rows of `trials` (rows with trial_id and pack_id),
        read from those trials' pack files only."""
        packs = set(trials["pack_id"])
        # By pack too: a compacted file is sorted by pack, so its row groups are skipped.
        wanted = pc.field("pack_id").isin(sorted(packs)) & pc.field("trial_id").isin(
            sorted(set(trials["trial_id"]))
        )
        frames = []
        for store in self.stores:
            files = [store.path(f.name) for f in store.table_files(table) if f.packs & packs]
            if files:
                data = ds.dataset(files, schema=SCHEMAS[table], filesystem=store.fs)
                frames.append(_scan(store, table, data, columns, wanted))
        if not frames:
            empty = _plain(SCHEMAS[table].empty_table()).to_pandas()
            return empty[list(columns)] if columns else empty
        return pd.concat(frames, ignore_index=True)

    def configurations(self) -> int | None:
        """How many configurations the studies have in all (None when a folder doesn't say)."""
        counts = [store.study_info().get("configurations") for store in self.stores]
        return None if None in counts else sum(counts)

    def _read(self, table, columns, filter) -> pd.DataFrame:
        frames = [
            _scan(store, table, _guarded(store, table, store.dataset, table), columns, filter)
            for store in self.stores
        ]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def load(*locations: str) -> Results:
    """Read every location's trials, history and samples into pandas (small studies)."""
    tables = StudyTables(*locations)
    return Results(*(tables._read(name, None, None) for name in TABLES))


def _open(location: str) -> ResultsStore:
    try:
        store = ResultsStore(location)
        layout = store.layout()
    except (OSError, pa.ArrowException) as error:
        raise ResultsError(f"{location}: cannot be opened: {error}") from None
    if layout == "single-file":
        raise ResultsError(str(OldLayout(location)))
    if layout == "empty":
        raise ResultsError(
            f"{location}: no finished trials (no trials/ folder with Parquet files: "
            "is this a ganmap study output, and has a trial finished?)"
        )
    return store


def _guarded(store: ResultsStore, table: str, read, *args):
    """`read(*args)`, with unreadable files reported as a ResultsError naming the folder
    (and the columns whose type is not the schema's, where that is the cause)."""
    try:
        return read(*args)
    except (OSError, pa.ArrowException) as error:
        cause = f"{_wrong_types(store, table)}{error}"
        raise ResultsError(f"{store.location}: unreadable or corrupt table: {cause}") from None


def _wrong_types(store: ResultsStore, table: str) -> str:
    """ "column label is int64, expected dictionary<...>; " for the first file of `table`
    whose columns differ in type from the schema's ("" when none does or none can be read)."""
    expected = SCHEMAS[table]
    for file in store.all_files(table):
        try:
            with store.fs.open_input_file(store.path(file.name)) as source:
                found = pq.read_schema(source)
        except (OSError, pa.ArrowException):
            continue
        for field in found:
            want = expected.field(field.name).type if field.name in expected.names else None
            if want is not None and field.type != want and not _same_text(field.type, want):
                return f"{file.name}: column {field.name} is {field.type}, expected {want}; "
    return ""


def _same_text(found: pa.DataType, want: pa.DataType) -> bool:
    """Plain and dictionary-encoded strings read as each other."""
    plain = [t.value_type if pa.types.is_dictionary(t) else t for t in (found, want)]
    return plain[0] == plain[1]


def _scan(store, table, data: ds.Dataset, columns, filter) -> pd.DataFrame:
    read = data.to_table
    scanned = _guarded(store, table, read, list(columns) if columns else None, filter)
    return _plain(scanned).to_pandas()


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns as plain strings, so pandas code sees ordinary values
    (a categorical would make groupby and crosstab list combinations that never occur)."""
    fields = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))

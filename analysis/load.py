"""Load study results into pandas: one or several result folders, local or any pyarrow URI.

Finished trials not yet merged by the driver (`parts/`) are included, so a study that is
still running can be analysed. Nothing here imports Ray.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from study.results import DETAIL_TABLES, SCHEMA_VERSION, TRIALS_SCHEMA, ResultsStore


class ResultsError(ValueError):
    """Results that cannot be read: missing, corrupt, or of another schema version."""


@dataclass
class Results:
    """The trials of one or more studies, with their evaluation histories and samples."""

    trials: pd.DataFrame
    history: pd.DataFrame
    samples: pd.DataFrame


def load(*locations: str) -> Results:
    """Read every location's trials, history and samples into one Results."""
    if not locations:
        raise ResultsError("give at least one result folder or URI")
    parts = [_load_one(location) for location in locations]
    return Results(
        trials=pd.concat([p["trials"] for p in parts], ignore_index=True),
        history=pd.concat([p["history"] for p in parts], ignore_index=True),
        samples=pd.concat([p["samples"] for p in parts], ignore_index=True),
    )


def _load_one(location: str) -> dict[str, pd.DataFrame]:
    try:
        store = ResultsStore(location)
        pending = store.part_ids()
        has_results = store.exists("trials.parquet") or pending
    except (OSError, pa.ArrowException) as error:
        raise ResultsError(f"{location}: cannot be opened: {error}") from None
    if not has_results:
        raise ResultsError(f"{location}: no trials.parquet (is this a ganmap study output?)")
    tables = {"trials": TRIALS_SCHEMA, **DETAIL_TABLES}
    frames = {}
    for name, schema in tables.items():
        files = [f"{name}.parquet", *(f"parts/{part}.{name}.parquet" for part in pending)]
        frames[name] = pd.concat([_read(store, file, schema) for file in files], ignore_index=True)
    frames["trials"] = frames["trials"].drop_duplicates("trial_id")
    keys = ["trial_id", "step"] if "step" in frames["history"] else ["trial_id"]
    frames["history"] = frames["history"].drop_duplicates(keys)
    _check_version(location, frames["trials"])
    return frames


def _read(store: ResultsStore, name: str, schema: pa.Schema) -> pd.DataFrame:
    try:
        return store.read_table(name, schema).to_pandas()
    except (OSError, pa.ArrowException) as error:
        raise ResultsError(f"{store.location}/{name}: unreadable or corrupt: {error}") from None


def _check_version(location: str, trials: pd.DataFrame) -> None:
    versions = set(trials["schema_version"].dropna().astype(int))
    if versions - {SCHEMA_VERSION}:
        raise ResultsError(
            f"{location}: schema version {sorted(versions)}, this ganmap reads {SCHEMA_VERSION}"
        )

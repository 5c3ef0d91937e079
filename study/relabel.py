"""Relabel a study from its stored history with other thresholds: no training.

Every trial's label is decided again from its rows in history/ (the same evidence the
trial was labeled on when it ran, so unchanged thresholds give unchanged labels), and
each trials file is replaced atomically with the new label columns. OUT/labels.yaml
records the thresholds the study's labels were decided with: written as "relabeling"
before the first file changes and "done" after the last, so an interrupted relabel is
visible, and running it again finishes it. A resumed study labels its new trials with
the same thresholds (`study_thresholds`).
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from pydantic import ValidationError

from study.config import format_validation_error
from study.evidence import Evidence
from study.labels import Label, label_evidence
from study.results import LABELS_FILE, OldLayout, ResultsStore, TableFile
from study.schema import DIAGNOSTICS, LABEL_FIELDS, MODE_COUNTS, TRIALS_SCHEMA
from study.thresholds import LabelThresholds


class RelabelError(ValueError):
    """A study that cannot be relabeled (missing, old layout); nothing was changed."""


@dataclass(frozen=True)
class Relabeled:
    """What a relabel did: trials relabeled, how many changed label, the new label mix."""

    trials: int
    changed: int
    labels: dict[str, int]
    thresholds: LabelThresholds


def study_thresholds(store: ResultsStore) -> LabelThresholds:
    """The thresholds the study's labels were decided with: the last relabel's, else its
    spec's `labels` section (defaults for what neither sets)."""
    source, values = "defaults", {}
    if store.exists(LABELS_FILE):
        source = LABELS_FILE
        values = (yaml.safe_load(store.read_bytes(LABELS_FILE)) or {}).get("thresholds")
    elif store.exists("spec.yaml"):
        source = "spec.yaml"
        values = (yaml.safe_load(store.read_bytes("spec.yaml")) or {}).get("labels")
    try:
        return LabelThresholds.model_validate(values or {})
    except ValidationError as error:
        detail = format_validation_error(error, LabelThresholds, "threshold")
        raise RelabelError(f"{store.location}/{source}: thresholds this ganmap cannot read: "
                           f"{detail}") from None  # fmt: skip


def open_study(location: str) -> ResultsStore:
    """The study's store, or RelabelError when there is nothing to relabel."""
    store = ResultsStore(location)
    try:
        layout = store.layout()
    except OSError as error:
        raise RelabelError(f"{location}: cannot be opened: {error}") from None
    if layout == "single-file":
        raise RelabelError(str(OldLayout(location)))
    if layout == "empty":
        raise RelabelError(f"{location}: no trials/ folder (is this a ganmap study output?)")
    return store


def relabel(store: ResultsStore, thresholds: LabelThresholds) -> Relabeled:
    """Decide every trial's label again with `thresholds`; replace each trials file."""
    _record(store, thresholds, "relabeling")
    trials = changed = 0
    mix: Counter = Counter()
    history_files = store.table_files("history")
    for file in store.table_files("trials"):
        table = store.read_trials_file(file.name)
        evidence = _evidence(store, history_files, file, thresholds)
        labels = [
            label_evidence(evidence[tid], loss, thresholds)
            for tid, loss in zip(table["trial_id"].to_pylist(), table["loss"].to_pylist())
        ]
        before = table["label"].to_pylist()
        store.replace_trials_file(file, _with_labels(table, labels))
        trials += len(labels)
        changed += sum(old != new.label for old, new in zip(before, labels))
        mix.update(label.label for label in labels)
    _record(store, thresholds, "done")
    return Relabeled(trials, changed, dict(mix), thresholds)


def _record(store: ResultsStore, thresholds: LabelThresholds, status: str) -> None:
    text = {
        "status": status,
        "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "thresholds": thresholds.model_dump(),
    }
    store.write_bytes(LABELS_FILE, yaml.safe_dump(text, sort_keys=False).encode())


def _evidence(store, history_files: list[TableFile], file: TableFile, t: LabelThresholds):
    """{trial_id: Evidence} for the trials of one trials file, from their history rows."""
    packs = pa.array(sorted(file.packs))
    tables = []
    for source in (f for f in history_files if f.packs & file.packs):
        table = _read_history(store, source.name)
        tables.append(table.filter(pc.is_in(table["pack_id"].cast(pa.string()), value_set=packs)))
    history = pa.concat_tables(tables).sort_by([("trial_id", "ascending"), ("step", "ascending")])
    ids = history["trial_id"].to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    bounds = zip(starts, np.r_[starts[1:], len(ids)])
    return {ids[start]: trial_evidence(history.slice(start, end - start), t)
            for start, end in bounds}  # fmt: skip


def _read_history(store: ResultsStore, name: str) -> pa.Table:
    columns = ["pack_id", "trial_id", "step", "finite", *DIAGNOSTICS, *MODE_COUNTS]
    with store.fs.open_input_file(store.path(name)) as source:
        return pq.read_table(source, columns=columns)


def trial_evidence(rows: pa.Table, t: LabelThresholds) -> Evidence:
    """One trial's evidence from its history rows (oldest first); columns the problem
    lacks (absent, or all null) are left out, as the trainer's own rows leave them out."""
    columns = {"step": rows["step"].to_numpy().astype(float)}
    columns["finite"] = rows["finite"].to_numpy(zero_copy_only=False).astype(bool)
    for name in DIAGNOSTICS:
        if name in rows.column_names and rows[name].null_count < len(rows):
            columns[name] = rows[name].to_numpy(zero_copy_only=False).astype(float)
    matrix = None
    if "mode_counts" in rows.column_names and rows["mode_counts"].null_count == 0:
        matrix = np.array(rows["mode_counts"].to_pylist(), dtype=float)
    return Evidence.from_columns(columns, matrix, t.window, t.window_share)


def _with_labels(table: pa.Table, labels: list[Label]) -> pa.Table:
    """The trials table with its label columns replaced by `labels` (in row order)."""
    for field in LABEL_FIELDS:
        values = pa.array([getattr(label, field.name) for label in labels])
        position = table.schema.get_field_index(field.name)
        table = table.set_column(position, field, values.cast(field.type))
    return table.cast(TRIALS_SCHEMA)

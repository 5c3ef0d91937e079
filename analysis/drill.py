"""Drill-down: which trials the report embeds in full, and what it embeds for each.

A report of a million configurations cannot carry every trial's curves and samples, so
it embeds at most `DETAIL_LIMIT` trials (about 10-20 kB of JSON each, so at most a few
MB, read from their own pack files only): the most confident trial of each label, the
trials asked for by name, then one trial per cell, mixed cells first (where the labels
of a region change), until the limit; a study that small embeds every trial. Every cell
lists up to `CELL_IDS` of its trial ids (fewer per cell on huge maps, `ID_BUDGET` in
all); a trial that is not embedded shows the command that reproduces it.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import yaml

from analysis.load import ResultsError, StudyTables
from study.config import TrainConfig
from study.results import SPEC_FILE
from study.schema import HYPERPARAMETERS, MODE_COUNTS, resolved_hyperparameters
from study.thresholds import EarlyStopping, LabelThresholds

DETAIL_LIMIT = 200
CELL_IDS = 12
ID_BUDGET = 50_000
CURVES = (
    "loss_d", "loss_g", "grad_norm_d", "grad_norm_g", "high_quality", "modes_held", "n_modes",
    "sample_drift", "mass_shift", "dist_equilibrium", "theta", "psi", "inception_score",
)  # fmt: skip
DETAIL_COLUMNS = ("trial_id", "label_reason", "collapse_kind", "stopped_early", "stop_step")


def typical_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """For each label present, its most confident trial (ties: the smaller trial id)."""
    ranked = trials.sort_values(["label", "confidence", "trial_id"], ascending=[True, False, True])
    return ranked.groupby("label", sort=False).head(1)


def choose(trials: pd.DataFrame, cell: np.ndarray, mixed: np.ndarray, asked=()) -> pd.DataFrame:
    """The trials to embed in full (see the module's docstring): `cell` is each trial's
    cell number, `mixed` whether each cell is mixed."""
    if len(trials) <= DETAIL_LIMIT:
        return trials
    ranked = trials.assign(_cell=cell, _mixed=mixed[cell])
    ranked = ranked.sort_values(["_mixed", "_cell", "confidence", "trial_id"],
                                ascending=[False, True, False, True])  # fmt: skip
    per_cell = ranked.drop_duplicates("_cell")
    wanted = pd.concat([trials[trials["trial_id"].isin(list(asked))], typical_trials(trials),
                        per_cell.drop(columns=["_cell", "_mixed"])])  # fmt: skip
    return wanted.drop_duplicates("trial_id").head(max(DETAIL_LIMIT, len(asked)))


def cell_ids(trials: pd.DataFrame, cell: np.ndarray, cells: int) -> list[list[str]]:
    """Each cell's trial ids (sorted), at most CELL_IDS, and fewer on huge maps."""
    room = max(1, min(CELL_IDS, ID_BUDGET // max(cells, 1)))
    order = np.lexsort((trials["trial_id"].to_numpy(), cell))
    ids = trials["trial_id"].to_numpy()[order]
    starts = np.searchsorted(cell[order], np.arange(cells + 1))
    return [ids[a : min(b, a + room)].tolist() for a, b in zip(starts[:-1], starts[1:])]


def reproduce(config: dict, location: str, trial_id: str) -> dict[str, str]:
    """Commands that train a trial again: from its study folder, and as --set lines."""
    short = minimal_settings(config)
    sets = " ".join(f"--set {shlex.quote(f'{k}={v}')}" for k, v in short.items())
    return {
        "from": f"ganmap train --from {shlex.quote(location)} {trial_id}",
        "set": f"ganmap train {sets}".strip(),
    }


@dataclass(frozen=True)
class StoredTrial:
    """What trains a stored trial again: its configuration as the study ran it, the
    thresholds its label was decided with, and the study's early-stopping rule."""

    config: dict
    thresholds: LabelThresholds
    early_stopping: EarlyStopping


def stored_trial(location: str, trial_id: str) -> StoredTrial:
    """The trial `trial_id` of the study at `location` (`ganmap train --from`); a
    ResultsError when the folder has no such trial."""
    from study.relabel import study_thresholds

    tables = StudyTables(location)
    rows = tables.trials(columns=list(HYPERPARAMETERS), filter=pc.field("trial_id") == trial_id)
    if rows.empty:
        raise ResultsError(f"{location}: no trial {trial_id!r} (trial ids are in the report "
                           "and in the trials table's trial_id column)")  # fmt: skip
    store = tables.stores[0]
    spec = yaml.safe_load(store.read_bytes(SPEC_FILE)) if store.exists(SPEC_FILE) else None
    rule = EarlyStopping.model_validate((spec or {}).get("early_stopping") or {})
    return StoredTrial(stored_config(rows.iloc[0]), study_thresholds(store), rule)


def stored_config(row) -> dict:
    """A stored trial's engine keys as plain values. A key its study's files predate
    reads as null and ran at its default, so it is left out (TrainConfig fills it)."""
    stored = {key: _plain(row[key]) for key in HYPERPARAMETERS if key in row}
    return {key: value for key, value in stored.items() if value is not None}


def minimal_settings(config: dict) -> dict:
    """The fewest `key: value` settings that resolve to the same configuration as `config`
    (a stored trial's resolved values: defaults and derived values are left out)."""
    full = resolved_hyperparameters(TrainConfig(**config))
    kept = dict(full)
    for key in list(kept):
        trial = {k: v for k, v in kept.items() if k != key}
        try:
            if resolved_hyperparameters(TrainConfig(**trial)) == full:
                kept = trial
        except ValueError:
            continue
    return kept


def details(tables: StudyTables, chosen: pd.DataFrame, locations: dict[str, str]) -> dict:
    """{trial_id: detail} for the chosen trials: label, reason, confidence, commands,
    curves, mode mass over time, final samples (and the true modes to draw them over)."""
    if chosen.empty:
        return {}
    wanted = pc.field("trial_id").isin(chosen["trial_id"].tolist())
    extra = tables.trials(columns=list(DETAIL_COLUMNS), filter=wanted).drop_duplicates("trial_id")
    rows = chosen.merge(extra, on="trial_id", how="left")
    history = tables.details("history", chosen, ["trial_id", "step", *CURVES, MODE_COUNTS[0]])
    samples = tables.details("samples", chosen, ["trial_id", "sample", "x", "y", "pixels"])
    histories = dict(tuple(history.sort_values("step").groupby("trial_id")))
    sampled = dict(tuple(samples.sort_values("sample").groupby("trial_id")))
    out = {}
    for row in rows.to_dict("records"):
        tid = row["trial_id"]
        config = stored_config(row)
        out[tid] = {
            "study": row["study"],
            "label": row["label"],
            "collapse_kind": row.get("collapse_kind") or "",
            "confidence": round(float(row["confidence"]), 3),
            "reason": row.get("label_reason") or "",
            "stopped": _stopped(row),
            "round": _plain(row.get("round")),  # a boundary search's round, else None
            "config": config,
            "commands": reproduce(config, locations.get(row["study"], ""), tid),
            "history": _history(histories.get(tid)),
            "samples": _samples(sampled.get(tid)),
            "modes": modes(config),
        }
    return out


def _plain(value):
    """A table value as plain JSON (numpy scalars, NaN and missing values as null)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _stopped(row: dict) -> str:
    if not row.get("stopped_early"):
        return ""
    return f"stopped early at step {int(row['stop_step'])}"


def _series(values) -> list:
    """Float32 curves rounded to 4 significant digits (smaller JSON), NaN/Inf as null."""
    return [float(f"{v:.4g}") if math.isfinite(v) else None for v in np.asarray(values, float)]


def _history(rows: pd.DataFrame | None) -> dict:
    if rows is None:
        return {}
    curves = {"step": rows["step"].astype(int).tolist()}
    for name in CURVES:
        if rows[name].notna().any():
            curves[name] = _series(rows[name])
    counts = rows[MODE_COUNTS[0]]
    if counts.notna().all() and len(counts):
        matrix = np.array(counts.tolist(), dtype=float)
        mass = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        curves["mode_mass"] = np.round(mass, 4).T.tolist()  # one list per mode
    return curves


def _samples(rows: pd.DataFrame | None) -> dict:
    if rows is None:
        return {}
    if rows["pixels"].notna().any():
        return {"images": [list(map(int, image)) for image in rows["pixels"]]}
    points = rows[["x", "y"]].to_numpy(float)
    return {"x": _series(points[:, 0]), "y": _series(points[:, 1])}


def modes(config: dict) -> dict:
    """The true modes of a 2D problem (the trainer's own), and a fixed plot range: the
    same axes for every trial of a problem, so that a collapsed run looks collapsed."""
    problem, radius = config.get("problem"), config.get("radius") or 1.0
    if problem == "dirac":
        return {"x": [0.0], "y": [0.0], "extent": 1.2 * radius}
    if problem not in ("ring8", "grid25"):
        return {}
    import torch  # here, not at the top: only 2D problems need the trainer's problems

    from study.problems import make_problem

    centres = make_problem(TrainConfig(**config), torch.device("cpu")).modes.numpy()
    extent = float(np.abs(centres).max()) * 1.4
    return {"x": _series(centres[:, 0]), "y": _series(centres[:, 1]), "extent": extent}

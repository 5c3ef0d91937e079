"""The results schema, defined once: every column of every table, and the record of a trial.

Every layer imports its columns from here: the spec (which final diagnostics an Optuna
metric may name), the runner (the typed records it builds), the results writer (the
Arrow schemas it writes) and `analysis` (what it reads). docs/results.md documents these
columns and a test keeps it in step.

- Hyperparameter columns are derived from `TrainConfig`'s fields and their types, so a
  new engine key becomes a column with no edit here.
- `LABELS` and `DIAGNOSTICS` are the only lists of labels and per-evaluation diagnostics.
- `RunRecord` is how a member ran (steps, early stop, where, when); its fields are columns.
- Strings with few distinct values are dictionary-encoded (pandas reads them as
  categoricals); per-evaluation diagnostics are float32, the precision they are computed in.

SCHEMA_VERSION changes whenever a column is added, removed or retyped.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Literal

import pyarrow as pa

from study.config import TrainConfig

if TYPE_CHECKING:
    from study.labels import Label  # labels.py imports LABELS from here

SCHEMA_VERSION = 9
TABLES = ("trials", "history", "samples")

LABELS = ("converged", "oscillating", "collapsed", "vanishing", "diverged", "unconverged")
# Per-evaluation diagnostics (float32 columns of history; `final_<name>` in trials).
DIAGNOSTICS = (
    "loss_d", "loss_g", "penalty", "grad_norm_d", "grad_norm_g", "d_real", "d_fake",
    "high_quality", "modes_covered", "modes_held", "n_modes", "mode_kl", "mass_kl",
    "mass_shift", "inception_score", "mode_score", "diversity", "theta", "psi",
    "dist_equilibrium", "sample_drift",
)  # fmt: skip
# Per-evaluation counts of generated samples by nearest mode (all / high-quality ones);
# one entry per mode (ring8 8, or 7 laid out as the notebook; grid25 25, digits 10
# classes), null for dirac.
MODE_COUNTS = ("mode_counts", "mode_counts_hq")

CATEGORY = pa.dictionary(pa.int32(), pa.string())
Category = Annotated[str, CATEGORY]  # a string with few distinct values
TIMESTAMP = pa.timestamp("ms", tz="UTC")


def arrow_type(annotation) -> pa.DataType:
    """The Arrow type of a field annotation: int, float, bool, str, a Literal of strings
    (dictionary-encoded), `X | None` (the type of X), Annotated[str, CATEGORY], datetime."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return args[1]
    if origin is Literal:
        return CATEGORY if all(isinstance(a, str) for a in args) else arrow_type(type(args[0]))
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return arrow_type(inner)
    simple = {
        bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string(),
        datetime.datetime: TIMESTAMP,
    }  # fmt: skip
    if annotation not in simple:
        raise TypeError(f"no column type for {annotation!r}: extend schema.arrow_type")
    return simple[annotation]


def hyperparameter_fields(model: type = TrainConfig) -> list[pa.Field]:
    """One column per field of `model` (TrainConfig), typed from its annotation."""
    return [pa.field(name, arrow_type(f.annotation)) for name, f in model.model_fields.items()]


def record_fields(record: type) -> list[pa.Field]:
    """One column per field of a dataclass record, typed from its annotations."""
    hints = typing.get_type_hints(record, include_extras=True)
    return [pa.field(f.name, arrow_type(hints[f.name])) for f in dataclasses.fields(record)]


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """How one member ran: its steps and early stop, where and when, and with what."""

    steps_run: int  # generator updates run
    stopped_early: bool  # stopped by the labeler before its budget
    stop_step: int | None  # where it stopped (null when it ran its budget)
    stop_reason: str  # the provisional label's reason when it stopped ("" otherwise)
    wall_time_s: float  # its population's training seconds up to its last evaluation
    started_at: datetime.datetime  # when the trial attempt that wrote this row began training
    finished_at: datetime.datetime  # when that attempt finished and wrote its results
    device: Category  # cpu or cuda
    node_id: Category  # the Ray node that trained it
    pack_id: Category  # the Tune trial (population) that trained it: its files' name
    pack_size: int  # configurations in that population
    resumed_from_step: int | None  # its pack continued from a checkpoint at this step
    round: int | None  # the boundary-search round that proposed it (null: other searches)
    ganmap_version: Category
    torch_version: Category
    ray_version: Category


# The label columns, in the order and with the names of `study.labels.Label`'s fields
# (a test keeps the two equal; labels.py imports LABELS from here, so no import back).
LABEL_FIELDS = [
    pa.field("label", CATEGORY), pa.field("is_collapsed", pa.bool_()),
    pa.field("is_oscillating", pa.bool_()), pa.field("is_vanishing", pa.bool_()),
    pa.field("is_diverged", pa.bool_()), pa.field("collapse_kind", CATEGORY),
    pa.field("label_reason", pa.string()), pa.field("confidence", pa.float64()),
]  # fmt: skip
KEY_FIELDS = [pa.field("study", CATEGORY), pa.field("trial_id", pa.string())]
DETAIL_KEY_FIELDS = [*KEY_FIELDS, pa.field("pack_id", CATEGORY)]
HYPERPARAMETERS = tuple(TrainConfig.model_fields)

TRIALS_SCHEMA = pa.schema(
    KEY_FIELDS
    + hyperparameter_fields()
    + LABEL_FIELDS
    + [pa.field(f"final_{name}", pa.float32()) for name in DIAGNOSTICS]
    + [pa.field("final_finite", pa.bool_()), pa.field("score", pa.float64())]
    + record_fields(RunRecord)
    + [pa.field("schema_version", pa.int16())]
)
HISTORY_SCHEMA = pa.schema(
    DETAIL_KEY_FIELDS
    + [pa.field("step", pa.int32())]
    + [pa.field(name, pa.float32()) for name in DIAGNOSTICS]
    + [pa.field("finite", pa.bool_())]
    + [pa.field(name, pa.list_(pa.uint16())) for name in MODE_COUNTS]
)
# Final generated samples, one row each: points (x, y) of 2D problems, 8x8 images of digits
# (`pixels`: 64 values row by row, 0 = -1 (background) to 255 = +1 (ink)).
SAMPLES_SCHEMA = pa.schema(
    DETAIL_KEY_FIELDS
    + [pa.field("sample", pa.int16())]
    + [pa.field("x", pa.float32()), pa.field("y", pa.float32())]
    + [pa.field("pixels", pa.list_(pa.uint8()))]
)
SCHEMAS = {"trials": TRIALS_SCHEMA, "history": HISTORY_SCHEMA, "samples": SAMPLES_SCHEMA}
# Samples kept per member at its last evaluation, by the problem's data dimension.
KEPT_SAMPLES = {2: 256, 64: 16}


@dataclasses.dataclass(frozen=True)
class TrialRecord:
    """One row of the trials table: a configuration, its label, final diagnostics and run.

    `label` is a `study.labels.Label`; `final` the last evaluation's row of its history.
    """

    study: str
    trial_id: str
    config: TrainConfig
    label: Label
    final: Mapping[str, float]
    run: RunRecord

    def row(self) -> dict:
        """The record as {column: value}, exactly the columns of TRIALS_SCHEMA."""
        row = {
            "study": self.study,
            "trial_id": self.trial_id,
            **resolved_hyperparameters(self.config),
        }
        row.update({field.name: getattr(self.label, field.name) for field in LABEL_FIELDS})
        row.update({f"final_{name}": self.final.get(name) for name in DIAGNOSTICS})
        row["final_finite"] = bool(self.final.get("finite", True))
        row["score"] = score(self.final)
        row.update(
            {field.name: getattr(self.run, field.name) for field in dataclasses.fields(self.run)}
        )
        row["schema_version"] = SCHEMA_VERSION
        return row


def resolved_hyperparameters(config: TrainConfig) -> dict:
    """The config's values, with the problem's actual radius and std where it left them unset."""
    from study.problems import geometry  # here, not at the top: problems imports torch

    values = config.model_dump()
    values["radius"], values["std"] = geometry(config)
    return values


def score(final: Mapping[str, float]) -> float:
    """One number to optimize, in [0, 1]: mode coverage x quality, or closeness to equilibrium.

    0 for a diverged run. Used as Optuna's default metric.
    """
    if not final.get("finite", True):
        return 0.0
    if final.get("dist_equilibrium") is not None:
        distance = final["dist_equilibrium"]
        return 0.0 if not math.isfinite(distance) else 1.0 / (1.0 + 10.0 * distance)
    value = final["modes_covered"] / final["n_modes"] * final["high_quality"]
    return value if math.isfinite(value) else 0.0

"""The results schema is defined once: derived from TrainConfig, matched by the evaluator,
the labeler and docs/results.md."""

import dataclasses
import re
from typing import Literal

import pyarrow as pa
import pytest
from pydantic import Field

from study import labels, schema
from study.config import TrainConfig
from study.results import pack_tables
from study.trainer import train

from .conftest import ROOT, TINY


def test_hyperparameter_columns_are_trainconfigs_fields_with_their_types():
    fields = {f.name: f.type for f in schema.hyperparameter_fields()}
    # Every engine key is a column, in order, typed from its annotation.
    assert list(fields) == list(TrainConfig.model_fields) == list(schema.HYPERPARAMETERS)
    assert fields["loss"] == schema.CATEGORY and fields["problem"] == schema.CATEGORY
    assert fields["lr_g"] == pa.float64() and fields["radius"] == pa.float64()
    assert fields["seed"] == pa.int64()
    assert schema.TRIALS_SCHEMA.names[2 : 2 + len(fields)] == list(fields)


def test_a_new_engine_key_becomes_a_column_with_no_edit():
    class Extended(TrainConfig):  # what a new architecture key looks like
        g_hidden_dim: int = Field(64)
        g_activation: Literal["relu", "tanh"] = Field("relu")
        pac: int | None = Field(None)

    fields = {f.name: f.type for f in schema.hyperparameter_fields(Extended)}
    assert fields["g_hidden_dim"] == pa.int64() and fields["pac"] == pa.int64()
    assert fields["g_activation"] == schema.CATEGORY


def test_label_columns_are_the_labelers_fields_and_labels_are_defined_once():
    names = [f.name for f in dataclasses.fields(labels.Label)]
    assert names == [f.name for f in schema.LABEL_FIELDS]
    assert labels.LABELS is schema.LABELS


@pytest.mark.parametrize("problem", ["ring8", "grid25", "dirac", "digits"])
def test_every_diagnostic_the_evaluator_produces_is_a_column(problem):
    (result,) = train([TrainConfig(problem=problem, **TINY)])
    produced = set(result.history[-1])
    history_columns = set(schema.HISTORY_SCHEMA.names)
    # Nothing the evaluator records is dropped by the writer...
    assert produced <= history_columns, produced - history_columns
    # ...every scalar diagnostic has its final_ column in trials, and samples fit their table.
    scalars = produced - {"step", "finite", *schema.MODE_COUNTS}
    assert scalars <= set(schema.DIAGNOSTICS)
    label = labels.Label("converged", False, False, False, False, "", "", 1.0)
    record = schema.TrialRecord("s", "t", result.config, label, result.history[-1], _run())
    tables = pack_tables([record], [result.history], [result.samples])
    history = tables["history"].to_pylist()
    for name in scalars:  # the values land in their columns
        assert history[-1][name] == pytest.approx(result.history[-1][name], nan_ok=True)
    kept = tables["samples"].num_rows
    assert kept == {"ring8": 256, "grid25": 256, "dirac": 0, "digits": 16}[problem]


def _run():
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    return schema.RunRecord(
        1, False, None, "", 1.0, now, now, "cpu", "n", "p", 1, None, None, "", "", ""
    )


def documented_names(text: str) -> set[str]:
    """Backticked names in the first cell of every table row of docs/results.md."""
    cells = re.findall(r"^\| ([^|]+) \|", text, flags=re.MULTILINE)
    return {name for cell in cells for name in re.findall(r"`([a-z_0-9<>]+)`", cell)}


def test_docs_results_md_matches_the_schema():
    text = (ROOT / "docs" / "results.md").read_text()
    # The documented version is this schema's.
    assert f"schema version {schema.SCHEMA_VERSION})" in text
    documented = documented_names(text)
    hyperparameters = set(schema.HYPERPARAMETERS)
    groups = {*schema.DIAGNOSTICS, *(f"final_{name}" for name in schema.DIAGNOSTICS)}
    for table, columns in schema.SCHEMAS.items():
        for name in columns.names:
            if name in hyperparameters or name in groups:
                continue  # documented as groups: engine keys, diagnostics, final_<diagnostic>
            # Every other column of every table is documented by name...
            assert name in documented, f"{table}.{name} is not in docs/results.md"
    for name in schema.DIAGNOSTICS:
        assert f"`{name}`" in text
    # ...and the doc names no column the schema lacks.
    known = {n for columns in schema.SCHEMAS.values() for n in columns.names}
    assert documented - known - {"final_<diagnostic>"} == set()

"""The README's main job end to end: `ganmap run search_spaces/quick.yaml` on a local Ray."""

import pyarrow.parquet as pq
import ray

from study.expand import expand, trial_id
from study.labels import LABELS
from study.results import HISTORY_SCHEMA, SAMPLES_SCHEMA, TRIALS_SCHEMA
from study.spec import load_spec

from .conftest import ROOT


def test_quick_study_writes_the_documented_tables(quick_study):
    trials = pq.read_table(quick_study / "trials.parquet")
    history = pq.read_table(quick_study / "history.parquet")
    samples = pq.read_table(quick_study / "samples.parquet")
    # Exactly the documented schemas.
    assert trials.schema == TRIALS_SCHEMA
    assert history.schema == HISTORY_SCHEMA and samples.schema == SAMPLES_SCHEMA
    # One row per configuration of the spec, nothing twice.
    spec = load_spec(ROOT / "search_spaces" / "quick.yaml")
    expected = sorted(trial_id(c) for c in expand(spec))
    assert sorted(trials.column("trial_id").to_pylist()) == expected
    frame, evaluations = trials.to_pandas(), history.to_pandas()
    # Every configuration has its evaluations, from step 0 to where it stopped.
    counts = evaluations.groupby("trial_id").size().sort_index()
    steps = frame.set_index("trial_id").steps_run.sort_index()
    assert counts.tolist() == (steps // 100 + 1).tolist()
    # Labels, versions, nodes and the spec that ran are recorded.
    assert set(frame.label) <= set(LABELS)
    assert (frame.ray_version == ray.__version__).all() and frame.node_id.str.len().gt(0).all()
    assert (quick_study / "spec.yaml").is_file() and not any((quick_study / "parts").glob("*"))


def test_quick_study_maps_more_than_one_label(quick_study):
    labels = pq.read_table(quick_study / "trials.parquet").column("label").to_pylist()
    # A real map: the healthy band converges and something else fails.
    assert "converged" in labels and len(set(labels)) >= 3

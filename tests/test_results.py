"""The results store: atomic parts, merged once per trial id, crash-safe."""

import json

import pyarrow.parquet as pq

from study.config import TrainConfig
from study.results import (
    HISTORY_SCHEMA,
    SAMPLES_SCHEMA,
    TRIALS_SCHEMA,
    ResultsStore,
    rows_for_member,
)
from study.trainer import MemberResult


def member(tid: str, steps=(0, 100)) -> tuple[dict, dict]:
    result = MemberResult(TrainConfig(), history=[
        {"step": s, "loss_d": 1.0, "modes_covered": 8.0, "n_modes": 8.0, "high_quality": 0.9,
         "finite": True} for s in steps
    ], samples=[[0.0, 1.0], [2.0, 0.5]])  # fmt: skip
    return rows_for_member("s", tid, result.config, result, {"label": "converged"})


def part(store, pack, *tids):
    rows = [member(tid) for tid in tids]
    details = {"history": [], "samples": []}
    for _, detail in rows:
        for name in details:
            details[name] += detail[name]
    store.write_part(pack, [trial for trial, _ in rows], details)


def test_parts_merge_into_tables_with_the_exact_schemas(tmp_path):
    store = ResultsStore(str(tmp_path))
    part(store, "p1", "a", "b")
    part(store, "p2", "c")
    assert store.completed_ids() == {"a", "b", "c"}  # counted before merging, too
    assert store.merge_parts() == 3
    # The tables carry exactly the documented schemas, and the parts are gone.
    assert pq.read_schema(tmp_path / "trials.parquet") == TRIALS_SCHEMA
    assert pq.read_schema(tmp_path / "history.parquet") == HISTORY_SCHEMA
    assert pq.read_schema(tmp_path / "samples.parquet") == SAMPLES_SCHEMA
    assert store.part_ids() == []
    assert pq.read_table(tmp_path / "history.parquet").num_rows == 6


def test_a_trial_written_twice_lands_once(tmp_path):
    store = ResultsStore(str(tmp_path))
    part(store, "p1", "a")
    store.merge_parts()
    part(store, "p1", "a")  # a retried trial rewrites its part
    part(store, "p2", "a", "b")
    assert store.merge_parts() == 1
    trials = pq.read_table(tmp_path / "trials.parquet").column("trial_id").to_pylist()
    history = pq.read_table(tmp_path / "history.parquet").to_pandas()
    assert sorted(trials) == ["a", "b"]
    assert not history.duplicated(["trial_id", "step"]).any()


def test_crash_between_table_writes_does_not_duplicate_history(tmp_path):
    store = ResultsStore(str(tmp_path))
    part(store, "p1", "a")
    original = store.write_table
    writes = []

    def crash_on_trials(name, table):
        if name == "trials.parquet":
            raise KeyboardInterrupt  # the driver dies after the detail tables were written
        writes.append(name)
        original(name, table)

    store.write_table = crash_on_trials
    try:
        store.merge_parts()
    except KeyboardInterrupt:
        pass
    assert writes == ["history.parquet", "samples.parquet"]
    store.write_table = original
    # The next merge (e.g. on --resume) completes the job without a second copy.
    assert store.merge_parts() == 1
    assert pq.read_table(tmp_path / "history.parquet").num_rows == 2
    assert pq.read_table(tmp_path / "samples.parquet").num_rows == 2


def test_no_temporary_files_are_left_behind(tmp_path):
    store = ResultsStore(str(tmp_path))
    part(store, "p1", "a")
    store.merge_parts()
    leftovers = [p.name for p in tmp_path.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_a_running_study_is_readable_from_its_parts(tmp_path):
    from analysis.load import load

    store = ResultsStore(str(tmp_path))
    part(store, "p1", "a")
    store.merge_parts()
    part(store, "p2", "b")  # finished, not merged yet: the study is still running
    results = load(str(tmp_path))
    # Merged and pending trials are both read, each once, with their history and samples.
    assert sorted(results.trials.trial_id) == ["a", "b"]
    assert len(results.history) == 4 and len(results.samples) == 4


def saved_checkpoint(store, folder, pack_id, step, state=b"0123456789", size=10):
    """A checkpoint folder as a trial leaves it in Tune's storage: state file plus index."""
    store.write_bytes(f"{folder}/population.pt", state)
    index = {"pack_id": pack_id, "step": step, "bytes": size}
    store.write_bytes(f"{folder}/pack.json", json.dumps(index).encode())


def test_pack_checkpoints_finds_each_packs_latest_complete_checkpoint(tmp_path):
    store = ResultsStore(str(tmp_path))
    saved_checkpoint(store, "tune/run-1/trial_a/checkpoint_000003", "pack-a", 300)
    saved_checkpoint(store, "tune/run-2/trial_a/checkpoint_000001", "pack-a", 500)
    saved_checkpoint(store, "tune/run-2/trial_b/checkpoint_000002", "pack-b", 200)
    saved_checkpoint(store, "tune/run-3/trial_b/checkpoint_000004", "pack-b", 400, size=99)
    store.write_bytes("tune/run-3/trial_c/checkpoint_000000/pack.json", b'{"pack_id": "pa')
    # Per pack the highest step wins; a state file cut short and a torn index are skipped.
    assert store.pack_checkpoints() == {
        "pack-a": "tune/run-2/trial_a/checkpoint_000001/population.pt",
        "pack-b": "tune/run-2/trial_b/checkpoint_000002/population.pt",
    }
    # A study that never checkpointed has none.
    assert ResultsStore(str(tmp_path / "fresh")).pack_checkpoints() == {}

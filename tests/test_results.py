"""The results store: one Parquet file per pack and table, written once, read as datasets."""

import datetime
import hashlib
import json

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from analysis.load import ResultsError, StudyTables, load
from study.cli import main
from study.compact import compact
from study.config import TrainConfig
from study.labels import Label
from study.results import ResultsStore, pack_tables
from study.schema import (
    HISTORY_SCHEMA,
    SAMPLES_SCHEMA,
    SCHEMA_VERSION,
    TRIALS_SCHEMA,
    RunRecord,
    TrialRecord,
)

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def record(tid: str, pack: str, lr: float = 1e-3, label: str = "converged", problem="ring8"):
    run = RunRecord(
        steps_run=100, stopped_early=False, stop_step=None, stop_reason="", wall_time_s=1.5,
        started_at=START, finished_at=START + datetime.timedelta(seconds=2), device="cpu",
        node_id="n1", pack_id=pack, pack_size=2, resumed_from_step=None, round=None,
        ganmap_version="0", torch_version="t", ray_version="r",
    )  # fmt: skip
    verdict = Label(label, False, False, False, False, "", f"{label} because", 0.8)
    final = {"step": 100, "modes_covered": 8.0, "n_modes": 8.0, "high_quality": 0.9}
    config = TrainConfig(problem=problem, lr_g=lr)
    return TrialRecord("s", tid, config, verdict, final, run)


def history(steps=(0, 100), counts=None):
    return [
        {"step": s, "loss_d": 1.0, "modes_covered": 8.0, "n_modes": 8.0, "high_quality": 0.9,
         "finite": True, "mode_counts": counts, "mode_counts_hq": counts} for s in steps
    ]  # fmt: skip


def write(store, pack, *tids, samples=None):
    """A finished pack of members `tids`, as a trial writes it."""
    records = [record(tid, pack) for tid in tids]
    points = samples or [[[0.0, 1.0], [2.0, 0.5]] for _ in tids]
    tables = pack_tables(records, [history(counts=[3, 0, 1, 0, 0, 0, 0, 4]) for _ in tids], points)
    store.write_pack(pack, tables)
    return tables


def ids(folder, table="trials"):
    return sorted(ds.dataset(folder / table).to_table().column("trial_id").to_pylist())


def test_packs_are_files_of_datasets_with_the_exact_schemas(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a", "b")
    write(store, "p2", "c")
    # One file per pack in each table folder, each folder one pyarrow dataset.
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == ["p1.parquet", "p2.parquet"]
    schemas = {"trials": TRIALS_SCHEMA, "history": HISTORY_SCHEMA, "samples": SAMPLES_SCHEMA}
    for table, schema in schemas.items():
        assert ds.dataset(tmp_path / table).schema.remove_metadata() == schema
    assert ids(tmp_path) == ["a", "b", "c"]
    assert ds.dataset(tmp_path / "history").count_rows() == 6  # 2 evaluations per trial
    # The list column of mode counts round-trips, and the resolved radius and std are set.
    history = ds.dataset(tmp_path / "history").to_table().to_pandas()
    assert list(history.mode_counts[0]) == [3, 0, 1, 0, 0, 0, 0, 4]
    trials = load(str(tmp_path)).trials
    assert (trials.radius == 2.0).all() and trials["std"].tolist() == pytest.approx([0.02] * 3)
    assert (trials.finished_at - trials.started_at).dt.total_seconds().tolist() == [2.0] * 3


def test_no_file_is_rewritten_when_a_later_pack_finishes(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")}
    write(store, "p2", "b")
    # The first pack's files are untouched by the second pack.
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_a_retried_pack_lands_once(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a", "b")
    write(store, "p1", "a", "b")  # Tune retried the trial: same pack, same file names
    assert ids(tmp_path) == ["a", "b"]
    assert ds.dataset(tmp_path / "history").count_rows() == 4


def test_detail_files_of_a_pack_that_died_before_committing_are_not_read(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a")
    tables = pack_tables([record("b", "p2")], [history()], [[]])
    store.write_table("history/p2.parquet", tables["history"], ["p2"])  # then the trial died
    # Readers see only committed packs; a resume removes the stray file.
    assert sorted(load(str(tmp_path)).history.trial_id.unique()) == ["a"]
    assert store.stray_files() == ["history/p2.parquet"]
    assert store.remove_stray_files() == 1 and ids(tmp_path, "history") == ["a", "a"]


def test_completed_ids_come_from_file_names_when_the_packs_are_known(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a", "b")
    write(store, "p2", "c")
    # A known pack is answered from its name: its trials file is not even opened.
    (tmp_path / "trials" / "p1.parquet").write_bytes(b"not read")
    assert store.completed_ids({"p1": ["a", "b"], "p2": ["c"]}) == {"a", "b", "c"}
    # An unknown pack (another pack size, Optuna) is read: its trial_id column only.
    assert store.completed_ids({"p1": ["a", "b"]}) == {"a", "b", "c"}


def test_no_temporary_files_are_left_behind_and_none_would_be_read(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a")
    assert [p.name for p in tmp_path.rglob("*") if ".tmp-" in p.name] == []
    (tmp_path / "trials" / ".p2.parquet.tmp-0123").write_bytes(b"half a file")
    # A temporary file (hidden, not *.parquet) is invisible to pyarrow.dataset and to ganmap.
    assert ids(tmp_path) == ["a"] and load(str(tmp_path)).trials.trial_id.tolist() == ["a"]


def test_bounded_samples_points_and_digit_images(tmp_path):
    store = ResultsStore(str(tmp_path))
    images = [[[-1.0] * 32 + [1.0] * 32] * 16]  # one member, 16 images of 64 pixels
    tables = pack_tables([record("d", "p1", problem="digits")], [history()], images)
    store.write_pack("p1", tables)
    samples = load(str(tmp_path)).samples
    # Digits keep images as uint8 pixels (background 0, ink 255); x and y stay null.
    assert len(samples) == 16 and samples.x.isna().all()
    assert list(samples.pixels[0]) == [0] * 32 + [255] * 32
    trials = load(str(tmp_path)).trials  # digits has no radius or std: null, not a guess
    assert trials.radius.isna().all() and trials["std"].isna().all()


def test_details_of_a_trial_touch_only_its_pack_file(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a")
    write(store, "p2", "b")
    (tmp_path / "history" / "p1.parquet").write_bytes(b"unreadable")  # never opened below
    tables = StudyTables(str(tmp_path))
    wanted = tables.trials(columns=["trial_id", "pack_id"]).query("trial_id == 'b'")
    history = tables.details("history", wanted)
    assert history.trial_id.tolist() == ["b", "b"] and history.step.tolist() == [0, 100]


def test_compact_folds_packs_and_readers_see_each_row_once(tmp_path, capsys):
    store = ResultsStore(str(tmp_path))
    for pack, tid in [("p1", "a"), ("p2", "b"), ("p3", "c")]:
        write(store, pack, tid)
    before = load(str(tmp_path))
    compact(store, rows=1_000)
    # One compacted file per table, the same rows, nothing twice.
    assert [p.name.startswith("compact-") for p in (tmp_path / "history").iterdir()] == [True]
    after = load(str(tmp_path))
    assert sorted(after.trials.trial_id) == ["a", "b", "c"] and len(after.history) == 6
    assert len(after.samples) == len(before.samples)
    # The resume path still knows every finished configuration.
    assert store.completed_ids() == {"a", "b", "c"}


def test_a_compaction_cut_short_leaves_no_duplicate(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a")
    write(store, "p2", "b")
    packs = {path: path.read_bytes() for path in tmp_path.rglob("p?.parquet")}
    compact(store, rows=1_000)
    for path, data in packs.items():  # as if it died after writing, before deleting
        path.write_bytes(data)
    # Readers prefer the compacted file: every row once; the pack files are now strays.
    assert sorted(load(str(tmp_path)).history.trial_id) == ["a", "a", "b", "b"]
    assert sorted(store.stray_files()) == sorted(
        f"{t}/{p}.parquet" for t in ("trials", "history", "samples") for p in ("p1", "p2")
    )


def test_replace_trials_file_rewrites_one_pack_atomically(tmp_path):
    store = ResultsStore(str(tmp_path))
    write(store, "p1", "a", "b")
    write(store, "p2", "c")
    (file,) = [f for f in store.table_files("trials") if f.packs == {"p1"}]
    table = store.read_trials_file(file.name)
    relabelled = table.set_column(
        table.schema.get_field_index("label"), "label",
        pa.array(["collapsed", "collapsed"], TRIALS_SCHEMA.field("label").type),
    )  # fmt: skip
    store.replace_trials_file(file, relabelled)
    labels = load(str(tmp_path)).trials.set_index("trial_id").label
    assert labels.to_dict() == {"a": "collapsed", "b": "collapsed", "c": "converged"}
    # A replacement holding other trials is refused.
    with pytest.raises(ValueError, match="other trials"):
        store.replace_trials_file(file, relabelled.slice(0, 1))


def single_file_study(folder):
    """A study folder as ganmap wrote it with schema version 2."""
    trials = pa.table({
        "study": ["old", "old"], "trial_id": ["a", "b"], "problem": ["ring8", "grid25"],
        "radius": pa.array([None, None], pa.float64()), "std": pa.array([None, 0.1]),
        "loss": ["hinge", "hinge"], "lr_g": [1e-3, 2e-3], "hidden_dim": [64, 64],
        "label": ["converged", "collapsed"], "confidence": [0.9, 0.7], "score": [0.8, 0.2],
        "pack_id": ["p1", "p2"], "schema_version": [2, 2],
    })  # fmt: skip
    history = pa.table({"study": ["old"] * 4, "trial_id": ["a", "a", "b", "b"],
                        "step": [0, 100, 0, 100], "loss_d": [1.0, 0.5, 1.0, 0.7]})  # fmt: skip
    samples = pa.table({"study": ["old"] * 600, "trial_id": ["a"] * 300 + ["b"] * 300,
                        "x": [0.5] * 600, "y": [1.5] * 600})  # fmt: skip
    for name, table in {"trials": trials, "history": history, "samples": samples}.items():
        pq.write_table(table, folder / f"{name}.parquet")


def test_the_single_file_layout_is_refused_with_how_to_convert_it(tmp_path):
    single_file_study(tmp_path)
    with pytest.raises(ResultsError, match=f"convert it with `ganmap compact {tmp_path}`"):
        load(str(tmp_path))


def test_ganmap_compact_converts_the_single_file_layout(tmp_path, capsys):
    single_file_study(tmp_path)
    assert main(["compact", str(tmp_path)]) == 0
    assert "converted the single-file layout: 2 packs" in capsys.readouterr().out
    results = load(str(tmp_path))
    trials = results.trials.set_index("trial_id")
    # Every trial and evaluation kept; new columns filled: resolved geometry, defaults, version.
    assert trials.label.to_dict() == {"a": "converged", "b": "collapsed"}
    assert trials.radius.tolist() == [2.0, 1.0] and trials["std"].tolist() == pytest.approx(
        [0.02, 0.1]
    )
    assert (trials.schema_version == SCHEMA_VERSION).all()
    assert (trials.z_dim == TrainConfig().z_dim).all()
    assert len(results.history) == 4 and results.history.pack_id.tolist() == ["p1"] * 2 + ["p2"] * 2
    # Samples are cut to this version's bound, the old files are gone.
    assert results.samples.groupby("trial_id").size().tolist() == [256, 256]
    assert not any((tmp_path / f"{t}.parquet").exists() for t in ("trials", "history", "samples"))


def test_compact_of_a_folder_without_results_exits_2(tmp_path, capsys):
    assert main(["compact", str(tmp_path)]) == 2
    assert "no ganmap results" in capsys.readouterr().err


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


def test_pack_ids_hash_their_members(tmp_path):
    """What makes a resumed pack write the same file names: its id is its members' hash."""
    from study.expand import make_packs, trial_id

    configs = [TrainConfig(lr_g=lr) for lr in (1e-3, 2e-3)]
    (pack,) = make_packs(configs, 8)
    joined = "".join(trial_id(c) for c in configs)
    assert pack.pack_id == hashlib.sha1(joined.encode()).hexdigest()[:12]


def test_pending_packs_skip_finished_packs_named_by_their_files(tmp_path):
    from study.expand import make_packs, trial_id
    from study.runner import pending_packs

    configs = [TrainConfig(lr_g=lr) for lr in (1e-4, 2e-4, 3e-4, 4e-4, 5e-4)]
    first, second, third = make_packs(configs, 2)
    store = ResultsStore(str(tmp_path))
    records = [record(trial_id(c), second.pack_id) for c in second.configs]
    store.write_pack(second.pack_id, pack_tables(records, [history()] * 2, [[], []]))
    # Same pack size: the finished pack is known by its name; the others run as they were.
    pending = pending_packs(make_packs(configs, 2), 2, store)
    assert [p.pack_id for p in pending] == [first.pack_id, third.pack_id]
    # Another pack size: the finished configurations are read and the rest repacked.
    (repacked,) = pending_packs(make_packs(configs, 4), 4, store)
    assert list(repacked.configs) == [*first.configs, *third.configs]


def test_an_optuna_configuration_done_before_reports_its_stored_result(tmp_path):
    from study.expand import trial_id
    from study.trial import done_report

    config = TrainConfig(lr_g=1e-3)
    store = ResultsStore(str(tmp_path))
    # Not done yet: it is to be trained.
    assert done_report(store, config) is None
    tid = trial_id(config)
    store.write_pack(tid, pack_tables([record(tid, tid)], [history()], [[]]))
    report = done_report(store, config)
    # Done: Optuna is told its stored score, and progress counts no new configuration.
    assert report["finished"] == 1 and report["members"] == 0
    assert report["score"] == pytest.approx(8 / 8 * 0.9) and report["lr_g"] == 1e-3

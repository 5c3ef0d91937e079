"""End to end on a real local Ray (2 CPUs): specs in, Parquet out, honest exit codes."""

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml

from analysis.load import load
from study.cli import main
from study.expand import expand, make_packs
from study.output import prepare_output
from study.results import CHECKPOINT_FILE, CHECKPOINT_INDEX, ResultsStore
from study.runner import run_study
from study.spec import SpecError, parse_spec

pytestmark = pytest.mark.usefixtures("local_ray")  # tests/conftest.py

TINY_FIXED = dict(
    problem="ring8", hidden_dim=16, hidden_layers=1, batch_size=64, steps=400,
    eval_every=50, eval_samples=300,
)  # fmt: skip


def tiny_spec(tmp_path, name="tiny", **overrides):
    data = {
        "name": name,
        "fixed": TINY_FIXED,
        "space": {"lr_g": [5e-4, 2e-3], "lr_d": [5e-4, 2e-3]},
        "output": str(tmp_path / name),
    }
    data.update(overrides)
    return parse_spec(data)


def test_rerun_without_resume_is_refused(tmp_path):
    spec = tiny_spec(tmp_path, space={"lr_g": [1e-3], "lr_d": [1e-3]})
    run_study(spec, echo=lambda line: None)
    with pytest.raises(SpecError, match="pass --resume"):
        run_study(spec, echo=lambda line: None)
    # A resume of a finished study runs nothing and changes nothing.
    files = sorted((tmp_path / "tiny").rglob("*.parquet"))
    before = {path: path.read_bytes() for path in files}
    run_study(spec, resume=True, echo=lambda line: None)
    assert {path: path.read_bytes() for path in files} == before
    assert sorted((tmp_path / "tiny").rglob("*.parquet")) == files


def test_a_study_of_the_old_single_file_layout_is_not_resumed(tmp_path):
    spec = tiny_spec(tmp_path)
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "trials.parquet").write_bytes(b"written by schema version 2")
    # Refused before anything runs, saying how to convert the folder.
    with pytest.raises(SpecError, match="convert it with `ganmap compact"):
        run_study(spec, resume=True, echo=lambda line: None)
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["trials.parquet"]


def test_early_stopping_saves_steps_on_obvious_failures(tmp_path):
    space = {"lr_g": [1e-3, 8.0], "lr_d": [1e-3, 8.0]}
    fixed = {**TINY_FIXED, "optimizer": "sgd"}
    stopping = {"enabled": True, "patience": 2, "min_stop_fraction": 0.2}
    early = tiny_spec(tmp_path, "early", space=space, fixed=fixed, early_stopping=stopping)
    full = tiny_spec(tmp_path, "full", space=space, fixed=fixed, early_stopping={"enabled": False})
    run_study(early, echo=lambda line: None)
    run_study(full, echo=lambda line: None)
    stopped = load(str(tmp_path / "early")).trials
    unstopped = load(str(tmp_path / "full")).trials
    diverged = stopped[stopped.label == "diverged"]
    # SGD at lr 8 diverges; those members stop early with the reason recorded...
    assert len(diverged) >= 2 and diverged.stopped_early.all()
    assert (diverged.steps_run < 400).all()
    assert diverged.stop_reason.str.startswith("diverged").all()
    assert (diverged.stop_step == diverged.steps_run).all()
    # ...the healthy member runs its whole budget, and without early stopping all do.
    assert stopped.loc[stopped.lr_g == 1e-3].loc[lambda f: f.lr_d == 1e-3].steps_run.item() == 400
    assert (unstopped.steps_run == 400).all() and not unstopped.stopped_early.any()
    assert stopped.steps_run.sum() < unstopped.steps_run.sum()


def test_packed_population_gives_the_same_labels_as_unpacked_trials(tmp_path):
    packed = tiny_spec(tmp_path, "packed", resources={"pack": 4})
    unpacked = tiny_spec(tmp_path, "unpacked", resources={"pack": 1})
    run_study(packed, echo=lambda line: None)
    run_study(unpacked, echo=lambda line: None)
    a = load(str(tmp_path / "packed")).trials.set_index("trial_id")
    b = load(str(tmp_path / "unpacked")).trials.set_index("trial_id")
    b = b.loc[a.index]
    # One Tune trial of 4 members vs 4 trials of 1: the same configurations, the same labels.
    assert (a.pack_size == 4).all() and (b.pack_size == 1).all()
    assert (a.label == b.label).all()
    assert a.final_high_quality.tolist() == pytest.approx(b.final_high_quality.tolist(), abs=0.02)


def test_optuna_search_runs_through_tune(tmp_path):
    spec = tiny_spec(
        tmp_path, "optuna",
        space={"lr_g": {"loguniform": [1e-4, 1e-2]}, "loss": {"choice": ["minimax", "hinge"]}},
        search={"algorithm": "optuna", "num_samples": 3, "seed": 0},
    )  # fmt: skip
    run_study(spec, echo=lambda line: None)
    trials = ds.dataset(tmp_path / "optuna" / "trials").to_table().to_pandas()
    # Optuna proposed 3 configurations inside the ranges; each was trained and scored.
    assert len(trials) == 3 and trials.trial_id.is_unique
    assert trials.lr_g.between(1e-4, 1e-2).all() and set(trials.loss) <= {"minimax", "hinge"}
    assert trials.score.between(0, 1).all()


def spec_file(tmp_path, name, **overrides) -> Path:
    """A spec written as a user writes one (for `ganmap run` in this module's Ray)."""
    data = {"name": name, "fixed": {**TINY_FIXED, "steps": 100}, "space": {"lr_g": [1e-3]},
            "output": str(tmp_path / name), **overrides}  # fmt: skip
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_trials_that_fail_after_their_retries_exit_3_naming_them(tmp_path, capsys):
    path = spec_file(tmp_path, "failing", resources={"max_failures": 1})
    (tmp_path / "failing").mkdir()
    (tmp_path / "failing" / "history").write_text("a file where the history folder goes")
    # Every attempt fails on writing its results: the study cannot complete.
    assert main(["run", str(path)]) == 3
    err = capsys.readouterr().err
    assert "incomplete: 0 of 1 done; 1 trials failed after their retries" in err
    # The failed trial is named with its error, and with the file that holds its traceback.
    (pack,) = make_packs(expand(parse_spec(yaml.safe_load(path.read_text()))), 8)
    assert f"pack {pack.pack_id} (1 configurations): FileExistsError" in err
    (error_file,) = [Path(line.strip()) for line in err.splitlines() if line.endswith("error.txt")]
    assert "FileExistsError" in error_file.read_text()
    assert f"finish with `ganmap run {path} --resume`" in err


def test_a_corrupt_checkpoint_is_set_aside_and_resume_completes(tmp_path, capsys):
    path = spec_file(tmp_path, "corrupt", space={"lr_g": [5e-4, 2e-3]}, resources={"pack": 2})
    spec = parse_spec(yaml.safe_load(path.read_text()))
    store = ResultsStore(spec.output_location)
    prepare_output(store, spec, resume=False)  # as a first run leaves its output
    (pack,) = make_packs(expand(spec), 2)
    # A checkpoint of the pack, complete by its index, whose bytes are no checkpoint.
    folder = tmp_path / "corrupt" / "tune" / "corrupt-1" / "run_pack_0" / "checkpoint_000000"
    folder.mkdir(parents=True)
    garbage = b"not a checkpoint " * 100
    (folder / CHECKPOINT_FILE).write_bytes(garbage)
    index = {"pack_id": pack.pack_id, "step": 50, "bytes": len(garbage)}
    (folder / CHECKPOINT_INDEX).write_text(json.dumps(index))
    # The resumed study completes, exit 0, instead of failing on it forever...
    assert main(["run", str(path), "--resume"]) == 0
    out = capsys.readouterr().out
    assert "1 unfinished trials continue from their checkpoints" in out
    assert "unreadable (UnpicklingError: Weights only load failed)" in out
    assert "starting over" in out
    # ...the checkpoint is set aside, renamed with its bytes, never deleted...
    (aside,) = folder.glob(f"{CHECKPOINT_FILE}.unreadable-*")
    assert aside.read_bytes() == garbage and not (folder / CHECKPOINT_FILE).exists()
    # ...and the pack started over: both configurations trained from step 0.
    trials = load(str(tmp_path / "corrupt")).trials
    assert len(trials) == 2 and trials.resumed_from_step.isna().all()

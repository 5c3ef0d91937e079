"""End to end on a real local Ray (2 CPUs): specs in, Parquet out (issue: runner)."""

import pyarrow.dataset as ds
import pytest
import ray

from analysis.load import load
from study.runner import run_study
from study.spec import SpecError, parse_spec

TINY_FIXED = dict(
    problem="ring8", hidden_dim=16, hidden_layers=1, batch_size=64, steps=400,
    eval_every=50, eval_samples=300,
)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One real Ray instance on loopback for the module; the runner joins it."""
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    yield
    ray.shutdown()


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

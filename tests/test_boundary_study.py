"""A boundary study end to end on a real local Ray: its rounds through Ray Tune, the
`round` column, and a driver interrupted mid-round that `--resume` finishes exactly as an
uninterrupted run would (study/boundary_run.py, docs/boundary.md)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml

from analysis.load import load
from study.boundary_run import before_round, labeled_runs, round_configs, study_mapper
from study.cli import main
from study.expand import trial_id
from study.results import ResultsStore
from study.spec import parse_spec

ROOT = Path(__file__).parent.parent
# The Dirac-GAN over (lr_g, lr_d) with R1: a converged region and a diverged one. A 3 x 3
# coarse grid, then rounds of 8 one-configuration trials, 33 configurations in all.
SPEC = {
    "name": "boundary_dirac",
    "fixed": dict(problem="dirac", optimizer="sgd", batch_size=64, steps=600, eval_every=50,
                  eval_samples=10, loss="minimax", regularizer="r1", reg_weight=1.0),
    "space": {"lr_g": {"loguniform": [0.03, 3.0]}, "lr_d": {"loguniform": [0.03, 3.0]}},
    "search": {"algorithm": "boundary", "budget": 33, "per_round": 8, "coarse": 3},
    "resources": {"pack": 1},
    # Off: the early stopper's collapse check reads high_quality, which the Dirac-GAN lacks.
    "early_stopping": {"enabled": False},
}  # fmt: skip
COARSE = 9  # configurations of round 0


def ganmap(*args) -> subprocess.Popen:
    """`ganmap ...` in its own session, so the test can always stop it by pid."""
    return subprocess.Popen(
        [sys.executable, "-m", "study.cli", *args], cwd=ROOT, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def finish(process: subprocess.Popen, timeout: float = 400) -> str:
    """Wait for `process`; its output. It is killed (its whole session) if it overruns."""
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return output


def write_spec(folder: Path) -> Path:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump({**SPEC, "output": str(folder / "out")}))
    return path


def trials(out: Path):
    return ds.dataset(out / "trials").to_table().to_pandas()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, str]:
    """The study run once straight through: (its output, what it printed)."""
    folder = tmp_path_factory.mktemp("boundary")
    process = ganmap("run", str(write_spec(folder)))
    output = finish(process)
    assert process.returncode == 0, output
    return folder / "out", output


def test_a_boundary_study_runs_in_rounds_through_tune(uninterrupted):
    out, output = uninterrupted
    table = trials(out)
    spec = parse_spec({**SPEC, "output": str(out)})
    # Round 0 is the 3 x 3 coarse grid; three rounds of 8 follow: exactly the budget.
    assert table.groupby("round").size().to_dict() == {0: COARSE, 1: 8, 2: 8, 3: 8}
    assert table.trial_id.is_unique
    # Each round is what the planner proposes from the rounds before it, read back.
    runs = labeled_runs(spec, ResultsStore(str(out)))
    mapper = study_mapper(spec)
    for number, group in table.groupby("round"):
        proposed = round_configs(spec, mapper.propose(before_round(runs, number)))
        assert sorted(group.trial_id) == sorted(trial_id(c) for c in proposed)
    # Both regions of the Dirac-GAN's map are found.
    assert set(table.label) == {"converged", "diverged"}
    # Progress says the round; the run ends saying the search is done.
    for number in range(4):
        assert f"study boundary_dirac round {number}: " in output
    assert "boundary search done, 33 configurations" in output
    # analysis.load reads the study, the round column as integers.
    loaded = load(str(out)).trials
    assert sorted(loaded["round"].unique().tolist()) == [0, 1, 2, 3]


def test_an_interrupted_boundary_study_resumes_the_cut_off_round(tmp_path, uninterrupted):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "out"
    driver = ganmap("run", str(spec_path))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and driver.poll() is None:  # into round 1
        if (out / "trials").is_dir() and any((out / "trials").glob("*.parquet")):
            if (trials(out)["round"] == 1).any():
                break
        time.sleep(0.2)
    driver.send_signal(signal.SIGINT)
    output = finish(driver)
    # Ctrl-C in round 1: exit 130, some of round 1 done and some not.
    assert driver.returncode == 130, output
    cut = trials(out)
    assert (cut["round"] == 0).sum() == COARSE
    assert 1 <= (cut["round"] == 1).sum() < 8 and cut["round"].max() == 1
    # --resume finishes round 1, then plans and runs rounds 2 and 3.
    resumed = ganmap("run", str(spec_path), "--resume")
    output = finish(resumed)
    assert resumed.returncode == 0, output
    assert "study boundary_dirac round 1: 8 configurations, " in output
    table, reference = trials(out), trials(uninterrupted[0])
    # Nothing trained twice, nothing lost: the same configurations, rounds and labels as
    # the uninterrupted run.
    assert table.trial_id.is_unique and len(table) == len(reference) == 33
    assert sorted(table.trial_id) == sorted(reference.trial_id)
    columns = ["trial_id", "round", "label"]
    assert table[columns].sort_values("trial_id").values.tolist() == (
        reference[columns].sort_values("trial_id").values.tolist()
    )


def test_bad_boundary_specs_exit_2_naming_the_key(tmp_path, capsys):
    cases = {
        "space.loss": {"space": {**SPEC["space"], "loss": ["minimax"]}},
        "search.budget": {"search": {**SPEC["search"], "budget": 8}},
        "search.resolution.lr_g": {"search": {**SPEC["search"], "resolution": {"lr_g": 200.0}}},
    }
    for key, change in cases.items():
        out = tmp_path / key
        path = tmp_path / f"{key}.yaml"
        data = {**SPEC, **change, "output": str(out)}
        if key == "space.loss":  # loss may not be both fixed and searched
            data["fixed"] = {k: v for k, v in SPEC["fixed"].items() if k != "loss"}
        path.write_text(yaml.safe_dump(data))
        for command in ("validate", "run"):
            # Exit 2, the message names the key, and nothing is written.
            assert main([command, str(path)]) == 2
            assert f"{key}:" in capsys.readouterr().err
            assert not out.exists()

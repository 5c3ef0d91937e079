"""Interrupt a real `ganmap run` mid-study, resume it: every configuration exactly once.
The interrupted driver exits 130 saying how to finish; while it runs, a second driver is
refused; an Optuna study killed mid-search continues the same search to num_samples."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import psutil
import pyarrow.dataset as ds
import pytest
import torch
import yaml
from optuna.storages.journal import JournalFileBackend

import study.runner  # noqa: F401  (imported once here: the in-process refusals below are fast)
from study.cli import main
from study.expand import expand, trial_id
from study.optuna_study import JOURNAL, STUDY_NAME
from study.results import ResultsStore
from study.schema import MODE_COUNTS
from study.spec import parse_spec
from study.trainer import train

SPEC = {
    "name": "resumable",
    "fixed": dict(problem="ring8", hidden_dim=32, hidden_layers=2, batch_size=128,
                  steps=600, eval_every=100, eval_samples=300),
    "space": {"lr_g": [5e-4, 1e-3, 2e-3], "lr_d": [1e-3, 2e-3, 4e-3]},
    "resources": {"pack": 1},
}  # fmt: skip


def ganmap(*args):
    """`ganmap ...` in its own session, so the test can always stop it by pid."""
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    command = [sys.executable, "-m", "study.cli", *args]
    return subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def rows(out: Path, table: str):
    """A table folder as pandas (as any reader sees it mid-study), None before a pack lands."""
    if not any((out / table).glob("*.parquet")):
        return None
    return ds.dataset(out / table).to_table().to_pandas()


def wait_until(driver, ready, timeout: float = 240) -> None:
    """Poll `ready()` while the driver runs (at most `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and driver.poll() is None:
        if ready():
            return
        time.sleep(0.2)


def wait_for_rows(driver, out: Path, count: int, timeout: float = 240) -> None:
    def landed():
        done = rows(out, "trials")
        return done is not None and len(done) >= count

    wait_until(driver, landed, timeout)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_interrupted_run_resumes_without_duplicates_or_recomputation(tmp_path, how, capsys):
    """Ctrl-C, or a driver that dies outright (SIGKILL: no clean-up of its own)."""
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump({**SPEC, "output": str(out)}))
    expected = sorted(trial_id(c) for c in expand(parse_spec({**SPEC, "output": str(out)})))
    first = ganmap("run", str(spec_path))
    try:
        if how == signal.SIGINT:  # while the first driver holds the study
            wait_until(first, (out / "lease").exists)
            for again in ([], ["--resume"]):  # a second driver, plain or resuming
                assert main(["run", str(spec_path), *again]) == 2
                # Refused, naming the driver that holds the study.
                assert (
                    f"in use by another ganmap driver: pid {first.pid}" in capsys.readouterr().err
                )
        wait_for_rows(first, out, 2)
        first.send_signal(how)  # at once, while most configurations are still to run
        output, _ = first.communicate(timeout=120)
    finally:
        stop(first)  # also ends the embedded Ray a killed driver leaves behind
    before = rows(out, "trials")
    # The interruption landed mid-study: some configurations done, not all.
    assert before is not None and 2 <= len(before) < len(expected)
    if how == signal.SIGINT:
        # Exit 130 and one line saying how far it got and how to finish; no Tune advice.
        assert first.returncode == 130, output
        said = re.search(
            r"interrupted: (\d+) of 9 done; finish with `ganmap run (\S+) --resume`", output
        )
        assert said is not None and 2 <= int(said.group(1)) <= len(before), output
        assert said.group(2) == str(spec_path) and "Tuner.restore" not in output
        assert not (out / "lease").exists()  # the lease was released

    second = ganmap("run", str(spec_path), "--resume")
    try:
        output, _ = second.communicate(timeout=300)
    finally:
        stop(second)
    assert second.returncode == 0, output
    after, history, samples = (rows(out, table) for table in ("trials", "history", "samples"))
    # Every configuration exactly once, in every table.
    assert sorted(after.trial_id) == expected
    assert not history.duplicated(["trial_id", "step"]).any()
    assert set(history.trial_id) == set(expected)
    assert not samples.duplicated(["trial_id", "sample"]).any()
    assert set(samples.trial_id) == set(expected)
    # What finished before the interruption was not run again: its rows are unchanged.
    kept = after.set_index("trial_id").loc[before.trial_id]
    assert kept.wall_time_s.tolist() == pytest.approx(before.wall_time_s.tolist())
    assert f"{len(before)} done" in output
    assert "done: all 9 configurations" in output


CHECKPOINTED = {
    "name": "checkpointed",
    "fixed": dict(problem="ring8", hidden_dim=32, hidden_layers=2, batch_size=128,
                  steps=3000, eval_every=50, eval_samples=300),
    "space": {"lr_g": [5e-4, 2e-3]},
    "early_stopping": {"enabled": False},
    "resources": {"pack": 2, "max_failures": 1, "checkpoint_every_s": 0.001},  # every evaluation
}  # fmt: skip


def trial_workers(driver):
    """The Tune trial actors among the driver's descendants (title `ray::ImplicitFunc...`)."""
    found = []
    for process in psutil.Process(driver.pid).children(recursive=True):
        try:
            if "ImplicitFunc" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def train_single_threaded(configs):
    """The trainer with one intra-op thread, as in a one-CPU trial worker."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(configs)
    finally:
        torch.set_num_threads(threads)


def wait_for_checkpoint(driver, out: Path) -> None:
    """Return once a complete population checkpoint is in the study's storage."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and driver.poll() is None:
        if ResultsStore(str(out)).pack_checkpoints():
            return
        time.sleep(0.2)
    raise AssertionError("no population checkpoint appeared while the study ran")


@pytest.mark.parametrize("victim", ["trial worker", "driver"])
def test_killed_mid_pack_continues_from_its_population_checkpoint(tmp_path, victim):
    """A retried trial (worker died) or `--resume` (driver died) continues the pack
    mid-run from its checkpoint and ends exactly as if never interrupted."""
    spec = {**CHECKPOINTED, "output": str(tmp_path / "out")}
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump(spec))
    driver, resumed = ganmap("run", str(spec_path)), None
    try:
        wait_for_checkpoint(driver, out)
        # Killed mid-pack: a checkpoint is saved, the pack's results are not.
        assert rows(out, "trials") is None
        if victim == "trial worker":
            (worker,) = trial_workers(driver)
            worker.kill()
            output, _ = driver.communicate(timeout=300)
            finished = driver
        else:
            stop(driver)  # the driver and its embedded Ray die at once
            resumed = ganmap("run", str(spec_path), "--resume")
            output, _ = resumed.communicate(timeout=300)
            finished = resumed
            assert "1 unfinished trials continue from their checkpoints" in output
    finally:
        stop(driver)
        if resumed is not None:
            stop(resumed)
    assert finished.returncode == 0, output
    trials = rows(out, "trials").set_index("trial_id")
    history = rows(out, "history")
    # The pack continued from a checkpoint taken mid-run, not from the start.
    resumed_at = trials.resumed_from_step.unique()
    assert len(resumed_at) == 1 and 0 < resumed_at[0] < 3000 and resumed_at[0] % 50 == 0
    # And it ends as an uninterrupted run of the same configurations, bit for bit.
    configs = expand(parse_spec(spec))
    for config, result in zip(configs, train_single_threaded(configs)):
        saved = history[history.trial_id == trial_id(config)]
        saved = saved.drop(columns=["study", "trial_id", "pack_id", *MODE_COUNTS])
        expected = pd.DataFrame(result.history).reindex(columns=saved.columns)
        pd.testing.assert_frame_equal(saved.reset_index(drop=True), expected, check_dtype=False)


OPTUNA = {
    "name": "optuna_resumable",
    "fixed": dict(problem="ring8", hidden_dim=16, hidden_layers=1, batch_size=64, steps=300,
                  eval_every=100, eval_samples=200),
    "space": {"lr_g": {"loguniform": [1e-4, 1e-2]}, "lr_d": {"loguniform": [1e-4, 1e-2]}},
    "search": {"algorithm": "optuna", "num_samples": 6, "seed": 0},
}  # fmt: skip


def test_an_optuna_study_killed_midway_continues_its_search_to_num_samples(tmp_path):
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump({**OPTUNA, "output": str(out)}))
    first, second = ganmap("run", str(spec_path)), None
    try:
        wait_for_rows(first, out, 3)
        stop(first)  # SIGKILL, mid-search
        before = rows(out, "trials")
        # Killed halfway, with its Optuna study (trials, sampler history) in the output.
        assert 3 <= len(before) < 6 and (out / JOURNAL).exists()
        second = ganmap("run", str(spec_path), "--resume")
        output, _ = second.communicate(timeout=300)
    finally:
        stop(first)
        if second is not None:
            stop(second)
    assert second.returncode == 0, output
    after = rows(out, "trials")
    # num_samples distinct configurations, the first run's kept as they were...
    assert len(after) == 6 and after.trial_id.is_unique
    assert set(before.trial_id) <= set(after.trial_id)
    assert len(set(zip(after.lr_g, after.lr_d))) == 6
    # ...and one Optuna study in the output knows every one of them as complete.
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(out / JOURNAL)))
    study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    searched = {(t.params["lr_g"], t.params["lr_d"]) for t in complete}
    assert searched == set(zip(after.lr_g, after.lr_d))

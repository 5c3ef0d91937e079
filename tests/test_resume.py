"""Interrupt a real `ganmap run` mid-study, resume it: every configuration exactly once."""

import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
import yaml

from study.expand import expand, trial_id
from study.spec import parse_spec

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


def rows(path):
    return pq.read_table(path).to_pandas() if path.exists() else None


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_interrupted_run_resumes_without_duplicates_or_recomputation(tmp_path, how):
    """Ctrl-C, or a driver that dies outright (SIGKILL: no clean-up of its own)."""
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump({**SPEC, "output": str(out)}))
    expected = sorted(trial_id(c) for c in expand(parse_spec({**SPEC, "output": str(out)})))
    first = ganmap("run", str(spec_path))
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            done = rows(out / "trials.parquet")
            if done is not None and len(done) >= 2:
                break
            time.sleep(0.5)
        first.send_signal(how)
        first.wait(timeout=120)
    finally:
        stop(first)  # also ends the embedded Ray a killed driver leaves behind
    before = rows(out / "trials.parquet")
    # The interruption landed mid-study: some configurations done, not all.
    assert before is not None and 2 <= len(before) < len(expected)

    second = ganmap("run", str(spec_path), "--resume")
    try:
        output, _ = second.communicate(timeout=300)
    finally:
        stop(second)
    assert second.returncode == 0, output
    after = rows(out / "trials.parquet")
    history = rows(out / "history.parquet")
    # Every configuration exactly once, in both tables.
    assert sorted(after.trial_id) == expected
    assert not history.duplicated(["trial_id", "step"]).any()
    assert set(history.trial_id) == set(expected)
    # What finished before the interruption was not run again: its rows are unchanged.
    kept = after.set_index("trial_id").loc[before.trial_id]
    assert kept.wall_time_s.tolist() == pytest.approx(before.wall_time_s.tolist())
    assert f"{len(before)} done" in output

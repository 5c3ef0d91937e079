"""A real two-node Ray cluster on loopback, token auth on: submit a study as a Ray Job.

Both nodes are `ray start --block` processes in their own sessions; the test records
their pids and stops exactly those sessions. Ports lie outside Ray's worker range.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from study import jobs
from study.cli import main

RAY = str(Path(sys.executable).parent / "ray")
GCS_PORT, DASHBOARD_PORT = 6391, 8266
ADDRESS = f"http://127.0.0.1:{DASHBOARD_PORT}"
SPEC = {
    "name": "cluster",
    "fixed": dict(problem="ring8", hidden_dim=16, hidden_layers=1, batch_size=64, steps=300,
                  eval_every=100, eval_samples=200),
    "space": {"lr_g": [5e-4, 1e-3, 2e-3, 4e-3]},
    "resources": {"pack": 1, "cpus": 1},
}  # fmt: skip


def start_node(args, env, log):
    return subprocess.Popen([RAY, "start", "--block", *args], env=env, start_new_session=True,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def stop_session(process):
    """Stop one `ray start --block` session by its pid: SIGTERM, then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, monkeypatch_module):
    token = secrets.token_hex(16)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "PATH": path,
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # fmt: skip
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):  # what the test's own client uses
        monkeypatch_module.setenv(name, env[name])
    logs = tmp_path_factory.mktemp("ray-logs")
    head = start_node(
        ["--head", "--node-ip-address=127.0.0.1", f"--port={GCS_PORT}", "--num-cpus=1",
         "--dashboard-host=127.0.0.1", f"--dashboard-port={DASHBOARD_PORT}",
         "--include-dashboard=true", "--disable-usage-stats"],
        env, open(logs / "head.log", "w"),
    )  # fmt: skip
    nodes = [head]
    try:
        _wait_for_dashboard()
        worker = start_node(
            [f"--address=127.0.0.1:{GCS_PORT}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
             "--dashboard-agent-listen-port=52366", "--disable-usage-stats"],
            env, open(logs / "worker.log", "w"),
        )  # fmt: skip
        nodes.append(worker)
        _wait_for_nodes(2)
        yield env
    finally:
        for process in reversed(nodes):
            stop_session(process)


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def _wait_for_dashboard(timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            jobs.list_jobs(ADDRESS)
            return
        except jobs.SubmitError:
            time.sleep(1)
    raise TimeoutError("the head node's dashboard did not come up")


def _wait_for_nodes(count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = subprocess.run([RAY, "status", f"--address=127.0.0.1:{GCS_PORT}"],
                                capture_output=True, text=True)  # fmt: skip
        if status.stdout.count("node_") >= count:
            return
        time.sleep(1)
    raise TimeoutError(f"fewer than {count} nodes joined")


def test_study_submitted_as_a_job_runs_on_both_nodes(cluster, tmp_path, capsys):
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump(SPEC))
    code = main(["submit", str(spec_path), "--address", ADDRESS, "--out", str(out), "--wait"])
    printed = capsys.readouterr().out
    # The Jobs API ran it to success with token authentication on...
    assert code == 0, printed
    assert "submitted job" in printed and "SUCCEEDED" in printed
    trials = pq.read_table(out / "trials.parquet").to_pandas()
    # ...every configuration exactly once, trained on both nodes.
    assert len(trials) == 4 and trials.trial_id.is_unique
    assert trials.node_id.nunique() == 2


def test_jobs_status_and_unknown_job(cluster, capsys):
    assert main(["jobs", "--address", ADDRESS]) == 0
    assert "SUCCEEDED" in capsys.readouterr().out
    assert main(["status", "--address", ADDRESS, "raysubmit_nope"]) == 2
    assert "no job 'raysubmit_nope'" in capsys.readouterr().err


def test_submit_without_the_token_is_refused(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN", "wrong-token")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    # A client with the wrong token gets a clear error and exit 2, not a job.
    assert main(["submit", str(spec_path), "--address", ADDRESS]) == 2

"""A real two-node Ray cluster on loopback, token auth on: submit a study as a Ray Job.

The cluster is `ray.cluster_utils.Cluster` (a head with the dashboard and a second
node, both raylets on 127.0.0.1). `ray start --address=...` cannot be used here: on this
machine a joining node either refuses (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0) or resolves
127.0.0.1 to the host's interface address (=1), which would leave loopback.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml
from ray.cluster_utils import Cluster

from study import jobs
from study.cli import main

GCS_PORT, DASHBOARD_PORT = 6391, 8266  # outside Ray's worker ports (10002-19999)
ADDRESS = f"http://127.0.0.1:{DASHBOARD_PORT}"
SPEC = {
    "name": "cluster",
    "fixed": dict(problem="ring8", hidden_dim=16, hidden_layers=1, batch_size=64, steps=300,
                  eval_every=100, eval_samples=200),
    "space": {"lr_g": [5e-4, 1e-3, 2e-3, 4e-3]},
    "resources": {"pack": 1, "cpus": 1},
}  # fmt: skip


def table(out: Path, name: str):
    """One table folder of a study's output, read as a pyarrow dataset."""
    return ds.dataset(out / name).to_table().to_pandas()


@pytest.fixture(scope="module")
def cluster():
    patch = pytest.MonkeyPatch()  # token auth is on for all tests (conftest.py)
    # The job's entrypoint runs `python` from the cluster's PATH: this venv's.
    patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    head = dict(num_cpus=1, gcs_server_port=GCS_PORT, node_ip_address="127.0.0.1",
                include_dashboard=True, dashboard_host="127.0.0.1",
                dashboard_port=DASHBOARD_PORT)  # fmt: skip
    two_nodes = Cluster(initialize_head=True, head_node_args=head)
    try:
        two_nodes.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        two_nodes.wait_for_nodes()
        yield two_nodes
    finally:
        two_nodes.shutdown()
        patch.undo()


def test_study_submitted_as_a_job_runs_on_both_nodes(cluster, tmp_path, capsys):
    # Trials long enough that one node cannot finish all four before the other node's
    # worker has started (CI's 2 busy cores start a worker in seconds, not instantly).
    spec = {**SPEC, "fixed": {**SPEC["fixed"], "steps": 4000, "eval_every": 1000}}
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump(spec))
    code = main(["submit", str(spec_path), "--address", ADDRESS, "--out", str(out), "--wait"])
    printed = capsys.readouterr().out
    # The Jobs API ran it to success with token authentication on...
    assert code == 0, printed
    assert "submitted job" in printed and "SUCCEEDED" in printed
    trials = table(out, "trials")
    # ...every configuration exactly once, trained on both nodes.
    assert len(trials) == 4 and trials.trial_id.is_unique
    assert trials.node_id.nunique() == 2


def test_jobs_status_and_unknown_job(cluster, capsys):
    assert main(["jobs", "--address", ADDRESS]) == 0
    assert "SUCCEEDED" in capsys.readouterr().out
    assert main(["status", "--address", ADDRESS, "raysubmit_nope"]) == 2
    assert "no job 'raysubmit_nope'" in capsys.readouterr().err


def test_submit_with_a_wrong_token_is_refused(cluster, tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    env = {**os.environ, "RAY_AUTH_TOKEN": "wrong-token"}  # Ray reads it once per process
    command = [sys.executable, "-m", "study.cli", "submit", str(spec_path), "--address", ADDRESS,
               "--out", str(tmp_path / "out")]  # fmt: skip
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    # A client without the cluster's token gets a clear error and exit 2, not a job.
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "refused the job" in refused.stderr or "cannot reach" in refused.stderr


def test_study_survives_losing_a_worker_node(cluster, tmp_path):
    rates = [2.5e-4 * 2**i for i in range(8)]
    spec = {**SPEC, "name": "fault", "space": {"lr_g": rates}}
    spec["fixed"] = {**SPEC["fixed"], "steps": 2000}
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump(spec))
    job_id = jobs.submit(str(spec_path), ADDRESS, str(out))
    worker = next(iter(cluster.worker_nodes))
    deadline = time.monotonic() + 600  # generous: CI's 2 cores may be busy
    finished = 0
    while time.monotonic() < deadline and finished == 0:
        time.sleep(0.5)
        if (out / "trials").exists():
            finished = len(table(out, "trials"))
    # Kill the worker node mid-study: some results in, the job still running.
    assert 1 <= finished < 8 and jobs.status(ADDRESS, job_id) == "RUNNING"
    cluster.remove_node(worker, allow_graceful=False)
    try:
        while time.monotonic() < deadline and jobs.status(ADDRESS, job_id) in (
            "PENDING",
            "RUNNING",
        ):
            time.sleep(1)
        assert jobs.status(ADDRESS, job_id) == "SUCCEEDED"
        trials, history = table(out, "trials"), table(out, "history")
        # Trials lost with the node were retried: every configuration exactly once.
        assert len(trials) == 8 and trials.trial_id.is_unique
        assert not history.duplicated(["trial_id", "step"]).any()
    finally:
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()


def test_rays_own_job_submit_runs_a_study(cluster, tmp_path):
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump({**SPEC, "name": "rayjob"}))
    working_dir = jobs.stage(str(spec_path))
    ray_cli = str(Path(sys.executable).parent / "ray")
    command = [ray_cli, "job", "submit", "--address", ADDRESS, "--working-dir", str(working_dir),
               "--", "python", "-m", "study.cli", "run", "spec.yaml", "--address", "auto",
               "--output", str(out)]  # fmt: skip
    submitted = subprocess.run(command, capture_output=True, text=True, timeout=300)
    # The README's `ray job submit -- ... run ...` route succeeds as well.
    assert submitted.returncode == 0, submitted.stdout[-2000:] + submitted.stderr[-2000:]
    assert len(table(out, "trials")) == 4

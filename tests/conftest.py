"""Shared fixtures: tiny, seeded configurations so engine tests run in seconds on 2 CPUs."""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# Ray keeps to loopback, and token authentication is on for every Ray the tests start.
# Set before anything imports Ray: Ray reads the token once per process.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))

TINY = dict(
    hidden_dim=32, hidden_layers=2, batch_size=64, steps=40, eval_every=20, eval_samples=300
)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    """The digits classifier cache goes to one temp folder per test session."""
    monkeypatch.setenv("GANMAP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def local_ray():
    """One real Ray instance on loopback (2 CPUs) for a test module; the runner joins it.
    Modules that need it say `pytestmark = pytest.mark.usefixtures("local_ray")`."""
    import ray  # here: after the environment above is set

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory) -> Path:
    """The README's main job, run as a user runs it (`ganmap run search_spaces/quick.yaml`),
    in a subprocess with its own embedded Ray; returns the output folder. What it printed
    is kept beside it, in run.log. RAY_AUTH_MODE is left unset, as a user leaves it: token
    authentication is on by Ray's default (with this session's RAY_AUTH_TOKEN)."""
    out = tmp_path_factory.mktemp("quick") / "quick"
    command = [sys.executable, "-m", "study.cli", "run", "search_spaces/quick.yaml",
               "--output", str(out)]  # fmt: skip
    env = {name: value for name, value in os.environ.items() if name != "RAY_AUTH_MODE"}
    process = subprocess.Popen(
        command, cwd=ROOT, start_new_session=True, text=True, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=900)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    (out.parent / "run.log").write_text(output)
    assert process.returncode == 0, output
    return out

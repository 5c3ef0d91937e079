"""Shared fixtures: tiny, seeded configurations so engine tests run in seconds on 2 CPUs."""

import os

import pytest
import torch

# Ray on these machines must keep to loopback (see README, "Ray and networking").
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

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

"""Population checkpoints: a run resumed from a snapshot equals the run never interrupted;
one that cannot continue its pack is set aside."""

import io

import pytest
import torch
from pyarrow import fs as pafs

from study import checkpoint
from study.config import TrainConfig
from study.trainer import train

from .conftest import TINY
from .test_population import EXTRAS, configs, same_row

STEPS = dict(steps=60, eval_every=10)  # six evaluations: snapshot at the third


class StopAfter:
    """A stateful stop rule: member `member` stops at its `count`-th evaluation."""

    def __init__(self, member: int, count: int):
        self.member, self.count, self.seen = member, count, 0

    def __call__(self, member: int, history: list[dict]) -> bool:
        if member != self.member:
            return False
        self.seen += 1
        return self.seen >= self.count


def snapshot_at(step: int, members, stop_rule, tmp_path) -> dict:
    """Train, keep the snapshot taken after the evaluation at `step`, round-trip it on disk."""
    taken = {}

    def hook(at, results, snapshot):
        if at == step:
            checkpoint.save(snapshot(), tmp_path / "population.pt")
            taken["done"] = True

    train(members, should_stop=stop_rule, on_evaluation=hook)
    assert taken, f"no evaluation at step {step}"
    return checkpoint.load(tmp_path / "population.pt")


@pytest.mark.parametrize("extra", EXTRAS, ids=lambda e: "-".join(map(str, e.values())) or "plain")
def test_resumed_run_equals_uninterrupted_run(extra, tmp_path):
    """Every evaluation after the restart is bit-identical, for every regularizer/loss."""
    members = configs(**extra, **STEPS)
    uninterrupted = train(members, should_stop=StopAfter(1, 2))
    state = snapshot_at(30, members, StopAfter(1, 2), tmp_path)
    resumed = train(members, should_stop=StopAfter(1, 2), resume_from=state)
    for full, again in zip(uninterrupted, resumed):
        # Same number of evaluations, the same values in each, the same ending.
        assert len(full.history) == len(again.history)
        assert all(same_row(a, b) for a, b in zip(full.history, again.history))
        assert (full.steps_run, full.stopped_early) == (again.steps_run, again.stopped_early)
        assert full.samples == again.samples
    # Member 1 stopped at its 2nd evaluation, before the snapshot; the others ran on.
    assert [r.steps_run for r in resumed] == [60, 20, 60]


def test_stop_rule_is_replayed_so_it_decides_as_without_restart(tmp_path):
    """A rule that stops at the 5th evaluation still stops there after a restart at the 3rd."""
    members = configs(**STEPS)
    state = snapshot_at(30, members, StopAfter(0, 5), tmp_path)
    resumed = train(members, should_stop=StopAfter(0, 5), resume_from=state)
    assert resumed[0].steps_run == 50 and resumed[0].stopped_early


def test_snapshot_is_a_copy_not_a_view_of_live_training():
    """Training on after a snapshot leaves the snapshot's tensors as they were."""
    kept = {}

    def hook(step, results, snapshot):
        if step == 10:
            kept["state"] = snapshot()
            kept["g"] = kept["state"]["population"]["g"].clone()

    train(configs(**STEPS), on_evaluation=hook)
    assert torch.equal(kept["state"]["population"]["g"], kept["g"])


def test_checkpoint_of_other_configurations_is_refused(tmp_path):
    """Restoring into a different population fails loudly instead of mixing runs."""
    state = snapshot_at(30, configs(**STEPS), None, tmp_path)
    other = [TrainConfig(**{**TINY, **STEPS}, lr_g=0.1, seed=7)]
    with pytest.raises(ValueError, match="other configurations"):
        train(other, resume_from=state)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real checkpoint of TINY's first member at step 20, and its configs."""
    folder = tmp_path_factory.mktemp("saved")
    members = [TrainConfig(**TINY)]
    snapshot_at(20, members, None, folder)
    return members, (folder / "population.pt").read_bytes()


def unusable(members, data):
    """Checkpoints a pack cannot continue from: each gives the bytes of its file."""
    other = [TrainConfig(**{**TINY, "lr_g": 5e-4})]
    return {
        "garbage": b"these bytes are no checkpoint" * 10,
        "truncated": data[: len(data) // 2],
        "foreign format": _saved({"format": 99, "step": 20}),
        "not a dict": _saved(torch.zeros(3)),
        "other configurations": _saved({**checkpoint.load(_buffer(data)),
                                        "configs": [c.model_dump() for c in other]}),
    }  # fmt: skip


def _buffer(data: bytes):
    return io.BytesIO(data)


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


CASES = ["garbage", "truncated", "foreign format", "not a dict", "other configurations"]


@pytest.mark.parametrize("case", CASES)
def test_an_unusable_checkpoint_is_set_aside_never_deleted(saved, tmp_path, case):
    from study.trial import read_checkpoint  # here: the trial module imports Ray

    members, data = saved
    content = unusable(members, data)[case]
    path = tmp_path / "population.pt"
    path.write_bytes(content)
    state, warning = read_checkpoint(pafs.LocalFileSystem(), str(path), members, "cpu")
    # The pack starts over (no state), with a warning naming where the file went...
    assert state is None and "set aside as" in warning
    (aside,) = tmp_path.glob("population.pt.unreadable-*")
    # ...renamed, its bytes intact, never deleted.
    assert not path.exists() and aside.read_bytes() == content and str(aside) in warning


def test_a_usable_checkpoint_is_read_and_one_of_another_device_kept(saved, tmp_path):
    from study.trial import read_checkpoint  # here: the trial module imports Ray

    members, data = saved
    path = tmp_path / "population.pt"
    path.write_bytes(data)
    state, warning = read_checkpoint(pafs.LocalFileSystem(), str(path), members, "cpu")
    # The pack's own checkpoint continues it.
    assert state["step"] == 20 and warning is None
    # Taken on CPU, asked for on CUDA: not used (streams differ by device), but kept.
    state, warning = read_checkpoint(pafs.LocalFileSystem(), str(path), members, "cuda")
    assert state is None and "taken on cpu, trial on cuda" in warning and path.exists()

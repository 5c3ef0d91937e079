"""`ganmap submit` and friends reject bad input with a clear message and exit 2."""

import pytest
import yaml

from study.cli import main
from study.jobs import submit_when_ready

NOBODY = "http://127.0.0.1:8299"  # nothing listens here
GOOD = {"name": "t", "fixed": {"steps": 100}, "space": {"lr_g": [1e-3]}}


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    return str(path)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--address", NOBODY, "--out", "/tmp/x"], "cannot reach a Ray dashboard at http://"),
        (
            ["--address", NOBODY, "--out", "bogus://bucket/x"],
            "--out bogus://bucket/x: not a usable",
        ),
    ],
    ids=["unreachable", "bad-uri"],
)
def test_submit_bad_address_or_uri(spec, capsys, args, message):
    assert main(["submit", spec, *args]) == 2
    assert message in capsys.readouterr().err


def test_submit_needs_a_location_every_node_can_reach(spec, capsys):
    assert main(["submit", spec, "--address", NOBODY]) == 2
    assert "pass --out with an absolute shared path or a URI" in capsys.readouterr().err


def test_submit_bad_spec_is_caught_before_contacting_the_cluster(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**GOOD, "space": {"loss": ["hinj"]}}))
    assert main(["submit", str(bad), "--address", NOBODY]) == 2
    err = capsys.readouterr().err
    # The spec error is reported, not the unreachable cluster: nothing was contacted.
    assert "space.loss" in err and "cannot reach" not in err


@pytest.mark.parametrize("command", [["jobs"], ["status", "raysubmit_x"], ["stop", "raysubmit_x"]])
def test_job_commands_on_an_unreachable_cluster(capsys, command):
    assert main([command[0], "--address", NOBODY, *command[1:]]) == 2
    assert "cannot reach a Ray dashboard" in capsys.readouterr().err


class StartingCluster:
    """Stands in for Ray's JobSubmissionClient on a head whose job agent is still starting:
    the first `late` submissions are refused with Ray's own message."""

    def __init__(self, late: int, refusal: str = "No available agent to submit job"):
        self.late, self.refusal, self.tries = late, refusal, 0

    def submit_job(self, entrypoint, runtime_env):
        self.tries += 1
        if self.tries <= self.late:
            raise RuntimeError(f"{self.refusal}, please try again later.")
        return "raysubmit_1"


def test_submit_waits_for_a_starting_job_agent_and_says_so():
    said, cluster = [], StartingCluster(late=3)
    job = submit_when_ready(cluster, "run", {}, patience_s=30, echo=said.append, poll_s=0.01)
    # Submitted once the agent answered, after saying (once) that it waits and how long.
    assert job == "raysubmit_1" and cluster.tries == 4
    assert said == ["waiting for the cluster's job agent to start (up to 30 s)..."]


def test_submit_gives_up_after_its_patience():
    cluster = StartingCluster(late=10**9)
    with pytest.raises(RuntimeError, match=r"no job agent started within 0.1 s \(--patience\)"):
        submit_when_ready(cluster, "run", {}, patience_s=0.1, echo=lambda _: None, poll_s=0.01)


def test_other_refusals_are_not_waited_for():
    cluster = StartingCluster(late=1, refusal="Authentication failed")
    with pytest.raises(RuntimeError, match="Authentication failed"):
        submit_when_ready(cluster, "run", {}, patience_s=30, echo=lambda _: None, poll_s=0.01)
    # Refused at once: only a missing agent is worth waiting for.
    assert cluster.tries == 1

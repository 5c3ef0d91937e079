"""`ganmap submit` and friends reject bad input with a clear message and exit 2."""

import pytest
import yaml

from study.cli import main

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

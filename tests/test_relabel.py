"""`ganmap relabel`: a real study relabeled from its stored history, no training."""

import shutil

import pyarrow.dataset as ds
import pytest
import yaml

from study.cli import main
from study.schema import LABEL_FIELDS
from study.thresholds import LabelThresholds


@pytest.fixture
def study(quick_study, tmp_path):
    """A private copy of the README's quick study (relabeling rewrites its files)."""
    return shutil.copytree(quick_study, tmp_path / "quick")


def trials(folder):
    return ds.dataset(folder / "trials", format="parquet").to_table().to_pandas()


def files(folder):
    """Every file below the folder with its bytes: to check that nothing changed."""
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_relabel_with_the_same_thresholds_changes_no_label(study, capsys):
    before = trials(study).set_index("trial_id").sort_index()
    assert main(["relabel", str(study)]) == 0
    after = trials(study).set_index("trial_id").sort_index()
    # The stored history is the evidence the trials were labeled on: the same labels,
    # reasons and confidences come back, and every other column is untouched.
    assert "0 changed label" in capsys.readouterr().out
    assert after.equals(before)
    recorded = yaml.safe_load((study / "labels.yaml").read_text())
    default = LabelThresholds().converged_quality
    assert recorded["status"] == "done" and recorded["thresholds"]["converged_quality"] == default


def test_relabel_with_a_stricter_threshold_rewrites_the_labels(study, capsys):
    before = trials(study).set_index("trial_id").sort_index()
    assert (before.label == "converged").any()  # the quick study has a converged region
    assert main(["relabel", str(study), "--set", "converged_quality=0.99"]) == 0
    after = trials(study).set_index("trial_id").sort_index()
    # No run reaches 99% high-quality samples: nothing is converged any more...
    assert not (after.label == "converged").any()
    changed = (before.label == "converged").sum()
    assert f"{changed} changed label" in capsys.readouterr().out
    # ...and only the label columns changed; the thresholds used are recorded.
    label_columns = [field.name for field in LABEL_FIELDS]
    assert after.drop(columns=label_columns).equals(before.drop(columns=label_columns))
    recorded = yaml.safe_load((study / "labels.yaml").read_text())
    assert recorded["thresholds"]["converged_quality"] == 0.99


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["--set", "converged_qualty=0.5"],
            "unknown threshold (did you mean 'converged_quality'?)",
        ),
        (["--set", "window=0"], "window: Input should be greater than or equal to 2"),
        (["--set", "held_share=lots"], "held_share: Input should be a valid number"),
        (["--set", "window"], "--set expects key=value"),
    ],
)
def test_bad_thresholds_exit_2_and_change_nothing(study, capsys, arguments, message):
    before = files(study)
    assert main(["relabel", str(study), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert files(study) == before


def test_relabel_of_a_missing_study_exits_2(tmp_path, capsys):
    assert main(["relabel", str(tmp_path / "nothing")]) == 2
    assert "no trials/ folder" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()

"""`ganmap train --seeds`: replicates trained as one population, each seed's label, mean ± sd."""

import json
import re
import statistics

import pytest

from study.cli import main
from study.labels import LABELS

from .conftest import TINY

TINY_SET = [part for key, value in TINY.items() for part in ("--set", f"{key}={value}")]


def test_seeds_print_each_label_and_the_mean_and_sd(capsys):
    assert main(["train", "--seeds", "0,1,2", *TINY_SET, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    lines = {int(m.group(1)): m.group(0) for m in re.finditer(r"seed (\d+): .*", out)}
    # One line per seed, in order, each with a label and its final modes_covered.
    assert sorted(lines) == [0, 1, 2]
    assert all(line.split()[2] in LABELS for line in lines.values())
    modes = [float(re.search(r"modes_covered (\S+)", line).group(1)) for line in lines.values()]
    summary = re.search(r"mean ± sd over 3 seeds: modes_covered (\S+) ± (\S+)", out)
    # The summary line is the mean and sample sd of the per-seed values printed above.
    assert float(summary.group(1)) == pytest.approx(statistics.fmean(modes), abs=1e-3)
    assert float(summary.group(2)) == pytest.approx(statistics.stdev(modes), abs=1e-2)
    assert "high_quality" in summary.string and "mode_kl" in summary.string


def test_seeds_json_has_every_seed_and_the_statistics(capsys):
    assert main(["train", "--seeds", "3,5", "--json", *TINY_SET, "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    finals = [seed["final"]["high_quality"] for seed in result["seeds"]]
    # Seeds 3 and 5, each with its own label; mean and sd computed from their finals.
    assert [seed["config"]["seed"] for seed in result["seeds"]] == [3, 5]
    assert all(seed["label"]["label"] in LABELS for seed in result["seeds"])
    assert result["mean_sd"]["high_quality"]["mean"] == pytest.approx(statistics.fmean(finals))
    assert result["mean_sd"]["high_quality"]["sd"] == pytest.approx(statistics.stdev(finals))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "0,x"], "--seeds expects"),
        (["--seeds", "1,1"], "--seeds expects"),
        (["--seeds", "-1"], "--seeds expects"),
        (["--seeds", "0,1", "--set", "seed=2"], "not both"),
        (["--seeds", "0,1", "--set", "g_activation=swish"], "g_activation:"),
    ],
)
def test_bad_seeds_exit_2_before_training(capsys, argv, message):
    assert main(["train", *argv]) == 2
    captured = capsys.readouterr()
    # Exit 2 with the reason on stderr; nothing trained, nothing on stdout.
    assert message in captured.err and captured.out == ""

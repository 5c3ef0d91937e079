"""Study specs: every shipped spec is valid; bad ones fail before anything runs, with exit 2."""

from pathlib import Path

import pytest
import yaml

from study.cli import main
from study.expand import expand, make_packs, trial_id
from study.spec import SpecError, load_spec, parse_spec

SPECS = sorted(Path(__file__).parent.parent.joinpath("search_spaces").glob("*.yaml"))
GOOD = {
    "name": "t",
    "fixed": {"steps": 100},
    "space": {"lr_g": [1e-4, 1e-3], "loss": {"grid": ["minimax", "hinge"]}},
}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_shipped_specs_are_valid(path):
    spec = load_spec(path)
    # Every shipped spec validates and names its study after its file.
    assert spec.name == path.stem


def test_quick_spec_is_first_and_small():
    spec = load_spec(Path(__file__).parent.parent / "search_spaces" / "quick.yaml")
    configs = expand(spec)
    # The README's main job: a real grid, small enough for 2 CPUs in a few minutes.
    assert 16 <= len(configs) <= 64
    assert all(c.steps <= 5000 for c in configs)


def test_grid_expands_to_the_cross_product_with_stable_ids():
    configs = expand(parse_spec(GOOD))
    assert len(configs) == 4
    # The same spec always gives the same ids (what --resume relies on).
    assert [trial_id(c) for c in configs] == [trial_id(c) for c in expand(parse_spec(GOOD))]
    assert len({trial_id(c) for c in configs}) == 4


def test_each_networks_init_is_searchable():
    data = {**GOOD, "space": {"g_init": ["uniform", "orthogonal"], "d_init_gain": [1.0]}}
    configs = expand(parse_spec(data))
    # Two configurations, two ids; D keeps the shared init, G takes each value.
    assert [(c.g_init, c.d_init) for c in configs] == [("uniform", "uniform"),
                                                       ("orthogonal", "uniform")]  # fmt: skip
    assert len({trial_id(c) for c in configs}) == 2


def test_random_search_is_seeded_and_samples_per_grid_point():
    data = {
        **GOOD,
        "space": {"lr_g": {"loguniform": [1e-4, 1e-2]}, "loss": ["minimax", "hinge"]},
        "search": {"algorithm": "random", "num_samples": 3, "seed": 7},
    }
    first, second = expand(parse_spec(data)), expand(parse_spec(data))
    assert len(first) == 6
    assert [c.lr_g for c in first] == [c.lr_g for c in second]
    assert all(1e-4 <= c.lr_g <= 1e-2 for c in first)


def test_packs_group_by_structure_and_respect_the_size():
    configs = expand(parse_spec({**GOOD, "space": {**GOOD["space"], "seed": [0, 1, 2]}}))
    packs = make_packs(configs, size=2)
    # 2 losses x 6 members each, cut into packs of 2: no pack mixes losses.
    assert sorted(len(p.configs) for p in packs) == [2] * 6
    assert all(len({c.loss for c in p.configs}) == 1 for p in packs)


BAD = [
    ({**GOOD, "spce": {}}, "spce: unknown key"),
    ({**GOOD, "space": {"lr_gg": [1e-3]}}, "space.lr_gg: not an engine key (did you mean 'lr_g'?)"),
    ({**GOOD, "space": {}}, "search space is empty"),
    ({**GOOD, "space": {"d_steps": [1, 0]}}, "space.d_steps: d_steps: Input should be greater "
     "than or equal to 1 (got 0)"),
    ({**GOOD, "space": {"lr_d": {"loguniform": [0, 1e-2]}}}, "loguniform: low must be > 0"),
    ({**GOOD, "space": {"lr_d": {"uniform": [1e-2, 1e-4]}}}, "needs [low, high] with low < high"),
    ({**GOOD, "space": {"lr_d": {"normal": [0, 1]}}}, "unknown domain 'normal'"),
    ({**GOOD, "fixed": {"optimizer": "rmsprop"}}, "fixed.optimizer: Input should be 'adam'"),
    ({**GOOD, "space": {"lr_g": {"loguniform": [1e-4, 1e-2]}}}, "grid cannot sample ['lr_g']"),
    ({**GOOD, "search": {"algorithm": "bayes"}}, "search.algorithm: Input should be 'grid', "
     "'random' or 'optuna'"),
    ({**GOOD, "fixed": {"steps": 100, "lr_g": 1e-3}}, "keys both fixed and searched: ['lr_g']"),
    ({**GOOD, "labels": {"windw": 3}}, "windw"),
    ({**GOOD, "resources": {"checkpoint_every_s": -1}}, "resources.checkpoint_every_s: Input "
     "should be greater than or equal to 0"),
]  # fmt: skip


@pytest.mark.parametrize("data, message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_specs_name_the_key_and_what_is_allowed(data, message):
    with pytest.raises(SpecError) as error:
        parse_spec(data)
    assert message in str(error.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(tmp_path / "bad.yaml")


@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_rejects_a_bad_spec_with_exit_2_and_writes_nothing(tmp_path, capsys, command):
    output = tmp_path / "out"
    spec = {**GOOD, "space": {"d_steps": [0]}, "output": str(output)}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(spec))
    assert main([command, str(tmp_path / "bad.yaml")]) == 2
    # The error names the key and the bad value; no output folder was created.
    assert "space.d_steps" in capsys.readouterr().err
    assert not output.exists()


def test_cli_validate_counts_configurations(tmp_path, capsys):
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(GOOD))
    assert main(["validate", str(tmp_path / "good.yaml")]) == 0
    assert "4 configurations in 2 Tune trials" in capsys.readouterr().out

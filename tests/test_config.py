"""The engine config: defaults a GAN user expects, and errors that name the bad key."""

import json

import pytest
from pydantic import ValidationError

from study.cli import main
from study.config import DEFAULT_REG_WEIGHT, TrainConfig, format_validation_error
from study.schema import LABELS


def test_defaults_are_a_plain_nonsaturating_gan():
    config = TrainConfig()
    # The default run is a plain GAN on ring8 with Adam(0.5, 0.999), 1:1 steps.
    assert (config.problem, config.loss, config.regularizer) == ("ring8", "nonsaturating", "none")
    assert (config.d_steps, config.g_steps, config.optimizer) == (1, 1, "adam")
    assert (config.beta1, config.beta2) == (0.5, 0.999)


@pytest.mark.parametrize("regularizer", sorted(DEFAULT_REG_WEIGHT))
def test_reg_weight_defaults_per_regularizer(regularizer):
    # An unset reg_weight resolves to the regularizer's usual value and is saved resolved.
    assert TrainConfig(regularizer=regularizer).reg_weight == DEFAULT_REG_WEIGHT[regularizer]


def test_weightless_regularizers_record_zero():
    # reg_weight has no meaning for spectral_norm: it is recorded as 0, not the user's value.
    assert TrainConfig(regularizer="spectral_norm", reg_weight=3.0).reg_weight == 0.0


@pytest.mark.parametrize(
    "values, key, allowed",
    [
        ({"loss": "hinj"}, "loss", "'hinge'"),
        ({"regularizer": "r3"}, "regularizer", "'r1'"),
        ({"problem": "mnist"}, "problem", "'digits'"),
        ({"d_steps": 0}, "d_steps", "greater than or equal to 1"),
        ({"lr_g": -1e-3}, "lr_g", "greater than 0"),
        ({"optimizer": "rmsprop"}, "optimizer", "'adam'"),
        ({"lr_dd": 1e-3}, "lr_dd", "did you mean 'lr_d'"),
        ({"ring_layout": "linspace"}, "ring_layout", "'notebook'"),
        ({"problem": "grid25", "ring_layout": "notebook"}, "ring_layout", "ring_layout even"),
    ],
)
def test_bad_values_name_the_key_and_the_allowed_values(values, key, allowed):
    with pytest.raises(ValidationError) as error:
        TrainConfig(**values)
    message = format_validation_error(error.value)
    # The message starts with the bad key and says what would have been accepted.
    assert message.startswith(f"{key}:")
    assert allowed in message


def test_population_structure_excludes_member_keys():
    a, b = TrainConfig(lr_g=1e-4, seed=1), TrainConfig(lr_g=1e-3, seed=2)
    # Learning rates and seeds may differ inside one population; the loss may not.
    assert a.structure() == b.structure()
    assert a.structure() != TrainConfig(loss="hinge").structure()


def test_cli_train_bad_input_exits_2_and_prints_nothing_to_stdout(capsys):
    code = main(["train", "--set", "loss=hinj", "--json"])
    captured = capsys.readouterr()
    # Exit code 2, an error naming the key, and no summary on stdout.
    assert code == 2
    assert "loss:" in captured.err and "'hinge'" in captured.err
    assert captured.out == ""


def test_cli_train_rejects_malformed_assignment(capsys):
    assert main(["train", "--set", "lr_g"]) == 2
    assert "key=value" in capsys.readouterr().err


def test_cli_train_json_summary(capsys):
    code = main(
        [
            "train",
            "--json",
            "--set",
            "steps=20",
            "--set",
            "eval_every=10",
            "--set",
            "hidden_dim=16",
            "--set",
            "lr_g=2e-3",
            "--device",
            "cpu",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    # One strict-JSON object: resolved config, final diagnostics, steps, wall time, device.
    assert code == 0
    assert summary["config"]["lr_g"] == pytest.approx(2e-3)
    assert summary["steps_run"] == 20 and summary["device"] == "cpu"
    assert summary["final"]["step"] == 20
    assert summary["final"]["sample_drift"] is not None
    assert summary["wall_time_s"] > 0
    # The trial's label and the reason behind it come with the summary.
    assert summary["label"]["label"] in LABELS
    assert summary["label"]["label_reason"].startswith(summary["label"]["label"])

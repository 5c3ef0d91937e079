"""The `ganmap` command line. Bad input exits with code 2 before anything runs or is written."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys

import yaml
from pydantic import ValidationError

from study.config import TrainConfig, describe_keys, format_validation_error

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """User input that cannot be run; the message names the key and what is allowed."""


def parse_assignments(assignments: list[str]) -> dict[str, object]:
    """`key=value` strings to a dict; values are read as YAML scalars (5, 1e-3, true, hinge)."""
    values = {}
    for assignment in assignments:
        key, separator, text = assignment.partition("=")
        if not separator or not key:
            raise BadInput(f"--set expects key=value, got {assignment!r}")
        values[key.strip()] = yaml.safe_load(text) if text else ""
    return values


def build_config(values: dict[str, object]) -> TrainConfig:
    try:
        return TrainConfig(**values)
    except ValidationError as error:
        raise BadInput(format_validation_error(error)) from None


def json_safe(value):
    """NaN/Inf become null so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value


def command_train(args: argparse.Namespace) -> int:
    """Train one configuration without Ray; print progress, then the summary."""
    if args.help_keys:
        for key, default, description in describe_keys():
            print(f"{key:14} {default:14} {description}")
        return 0
    config = build_config(parse_assignments(args.set))
    from study.labels import EarlyStopper, LabelThresholds, label_history
    from study.trainer import train

    def progress(step, results):
        row = results[0].history[-1]
        print(_progress_line(step, config.steps, row), file=sys.stderr, flush=True)

    thresholds = LabelThresholds()
    stopper = EarlyStopper([config.loss], [config.steps], thresholds) if args.early_stop else None
    (result,) = train([config], should_stop=stopper, device=args.device, on_evaluation=progress)
    label = label_history(result.history, config.loss, thresholds)
    summary = {
        "config": config.model_dump(),
        "label": dataclasses.asdict(label),
        "final": result.history[-1],
        "steps_run": result.steps_run,
        "stopped_early": result.stopped_early,
        "wall_time_s": round(result.wall_time_s, 3),
        "device": result.device,
    }
    if args.json:
        print(json.dumps(json_safe(summary)))
    else:
        stopped = " (stopped early)" if result.stopped_early else ""
        elapsed = summary["wall_time_s"]
        print(f"trained {result.steps_run} steps{stopped} in {elapsed} s on {result.device}")
        print(f"label: {label.label} (confidence {label.confidence:.2f})")
        print(f"reason: {label.label_reason}")
    return 0


def _progress_line(step: int, steps: int, row: dict) -> str:
    shown = ("loss_d", "loss_g", "grad_norm_g", "d_fake", "modes_covered", "high_quality")
    parts = [f"{name} {row[name]:.4g}" for name in shown if name in row]
    return f"step {step}/{steps}  " + "  ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganmap", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one configuration without Ray")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an engine key (see --help-keys); repeatable",
    )
    train.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    train.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda")
    train.add_argument("--help-keys", action="store_true", help="list every engine key")
    train.add_argument(
        "--early-stop",
        action="store_true",
        help="stop once a terminal failure persists (see docs/labels.md)",
    )
    train.set_defaults(handler=command_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BadInput as error:
        print(f"ganmap: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())

"""`ganmap train`: one configuration, or its seeds as one population, trained without
Ray; progress on stderr, then the label(s) and final metrics (mean ± sd over seeds)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys

from pydantic import ValidationError

from study.config import (
    TrainConfig,
    changed_configuration,
    describe_keys,
    format_validation_error,
)
from study.exits import EXIT_OK, BadInput
from study.yaml_input import parse_assignments

DEVICES = ("auto", "cpu", "cuda")


def build_config(values: dict[str, object]) -> TrainConfig:
    """The validated configuration, or BadInput naming the bad key and its allowed values."""
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


FINAL_METRICS = {  # what --seeds summarizes per problem (mixtures: VEEGAN's and PacGAN's)
    "dirac": ("dist_equilibrium",),
    "digits": ("modes_covered", "high_quality", "mode_kl", "inception_score"),
}
MIXTURE_METRICS = ("modes_covered", "high_quality", "mode_kl")


def parse_seeds(text: str) -> list[int]:
    """`0,1,2` to [0, 1, 2]: distinct non-negative integers."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise BadInput(f"--seeds expects distinct non-negative integers like 0,1,2, got {text!r}")
    return seeds


def mean_and_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN for one value); NaN values propagate."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else math.nan


def command_train(args: argparse.Namespace) -> int:
    """Train one configuration, or its seeds as one population, without Ray; print
    progress, then the label(s) and final metrics."""
    if args.help_keys:
        for key, default, description in describe_keys():
            print(f"{key:16} {default:14} {description}")
        return EXIT_OK
    values = parse_assignments(args.set)
    if args.seeds is not None and "seed" in values:
        raise BadInput("give seeds either with --seeds or with --set seed=..., not both")
    from study.early_stopping import EarlyStopper
    from study.labels import label_history
    from study.thresholds import EarlyStopping, LabelThresholds

    thresholds, rule = LabelThresholds(), EarlyStopping(enabled=args.early_stop)
    if args.from_trial:
        stored = stored_trial(*args.from_trial)
        values = changed_configuration(stored.config, values)  # --set changes it
        thresholds, rule = stored.thresholds, stored.early_stopping
    seeds = parse_seeds(args.seeds) if args.seeds is not None else [values.get("seed", 0)]
    configs = [build_config({**values, "seed": seed}) for seed in seeds]
    config = configs[0]
    check_device(args.device)
    from study.trainer import train

    def progress(step, results, _snapshot):
        rows = [r.history[-1] for r in results if r.history and r.history[-1]["step"] == step]
        print(_progress_line(step, config.steps, rows), file=sys.stderr, flush=True)

    stopper = None
    if rule.enabled:
        losses, budgets = [config.loss] * len(configs), [config.steps] * len(configs)
        stopper = EarlyStopper(losses, budgets, thresholds, rule)
    results = train(configs, should_stop=stopper, device=args.device, on_evaluation=progress)
    summaries = [_member_summary(result, label_history(result.history, config.loss, thresholds))
                 for result in results]  # fmt: skip
    if args.seeds is None:
        _print_one(summaries[0], args.json)
    else:
        _print_seeds(summaries, FINAL_METRICS.get(config.problem, MIXTURE_METRICS), args.json)
    return EXIT_OK


def stored_trial(location: str, trial_id: str):
    """A stored trial's configuration, label thresholds and early-stopping rule
    (`--from`), or BadInput naming what is missing."""
    from analysis.drill import stored_trial as read
    from analysis.load import ResultsError

    try:
        return read(location, trial_id)
    except (ResultsError, ValueError, OSError) as error:
        raise BadInput(str(error)) from None


def _member_summary(result, label) -> dict:
    return {
        "config": result.config.model_dump(),
        "label": dataclasses.asdict(label),
        "final": result.history[-1],
        "steps_run": result.steps_run,
        "stopped_early": result.stopped_early,
        "wall_time_s": round(result.wall_time_s, 3),
        "device": result.device,
    }


def _print_one(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(json_safe(summary)))
        return
    stopped = " (stopped early)" if summary["stopped_early"] else ""
    print(f"trained {summary['steps_run']} steps{stopped} in {summary['wall_time_s']} s "
          f"on {summary['device']}")  # fmt: skip
    print(f"label: {summary['label']['label']} (confidence {summary['label']['confidence']:.2f})")
    print(f"reason: {summary['label']['label_reason']}")


def check_device(device: str) -> None:
    """`--device cuda` needs a torch build with CUDA and a GPU it can see."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        build = "this torch build has no CUDA" if torch.version.cuda is None else "no GPU visible"
        raise BadInput(f"--device cuda: {build} (torch {torch.__version__}); use cpu or auto")


def _print_seeds(summaries: list[dict], metrics: tuple[str, ...], as_json: bool) -> None:
    """Each seed's label and final metrics, then their mean and sd over the seeds."""
    stats = {
        name: mean_and_sd([summary["final"].get(name, math.nan) for summary in summaries])
        for name in metrics
    }
    if as_json:
        table = {name: {"mean": mean, "sd": sd} for name, (mean, sd) in stats.items()}
        print(json.dumps(json_safe({"seeds": summaries, "mean_sd": table})))
        return
    wall, device = summaries[0]["wall_time_s"], summaries[0]["device"]
    print(f"trained {len(summaries)} seeds as one population in {wall} s on {device}")
    for summary in summaries:
        label, final = summary["label"], summary["final"]
        numbers = "  ".join(f"{name} {final.get(name, math.nan):.4g}" for name in metrics)
        stopped = f", stopped at step {summary['steps_run']}" if summary["stopped_early"] else ""
        print(f"seed {summary['config']['seed']}: {label['label']} "
              f"(confidence {label['confidence']:.2f}{stopped})  {numbers}")  # fmt: skip
    spread = "  ".join(f"{name} {mean:.4g} ± {sd:.2g}" for name, (mean, sd) in stats.items())
    print(f"mean ± sd over {len(summaries)} seeds: {spread}")


def _progress_line(step: int, steps: int, rows: list[dict]) -> str:
    """One evaluation: each shown diagnostic, averaged over the members still training."""
    shown = ("loss_d", "loss_g", "grad_norm_g", "d_fake", "modes_covered", "high_quality")
    names = [name for name in shown if rows and name in rows[0]]
    parts = [f"{name} {statistics.fmean(row[name] for row in rows):.4g}" for name in names]
    members = f" (mean of {len(rows)})" if len(rows) > 1 else ""
    return f"step {step}/{steps}  " + "  ".join(parts) + members

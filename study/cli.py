"""The `ganmap` command line. Bad input exits with code 2 before anything runs or is written."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
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
        return 0
    values = parse_assignments(args.set)
    if args.seeds is not None and "seed" in values:
        raise BadInput("give seeds either with --seeds or with --set seed=..., not both")
    seeds = parse_seeds(args.seeds) if args.seeds is not None else [values.get("seed", 0)]
    configs = [build_config({**values, "seed": seed}) for seed in seeds]
    config = configs[0]
    from study.labels import EarlyStopper, LabelThresholds, label_history
    from study.trainer import train

    def progress(step, results, _snapshot):
        rows = [r.history[-1] for r in results if r.history and r.history[-1]["step"] == step]
        print(_progress_line(step, config.steps, rows), file=sys.stderr, flush=True)

    thresholds = LabelThresholds()
    stopper = None
    if args.early_stop:
        stopper = EarlyStopper([config.loss] * len(configs), [config.steps] * len(configs),
                               thresholds)  # fmt: skip
    results = train(configs, should_stop=stopper, device=args.device, on_evaluation=progress)
    summaries = [_member_summary(result, label_history(result.history, config.loss, thresholds))
                 for result in results]  # fmt: skip
    if args.seeds is None:
        _print_one(summaries[0], args.json)
    else:
        _print_seeds(summaries, FINAL_METRICS.get(config.problem, MIXTURE_METRICS), args.json)
    return 0


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


def read_spec(path: str):
    """Load and validate a spec; a bad one is BadInput (exit 2) before anything runs."""
    from study.spec import SpecError, load_spec

    try:
        return load_spec(path)
    except SpecError as error:
        raise BadInput(str(error)) from None


def command_validate(args: argparse.Namespace) -> int:
    """Check a spec and say how many configurations (and Tune trials) it expands to;
    with --thresholds, list every label threshold (the spec's values where it sets them)."""
    from study.expand import CPU_PACK, expand, make_packs
    from study.labels import LabelThresholds

    if args.spec is None and not args.thresholds:
        raise BadInput("validate needs a spec (or --thresholds to list the label thresholds)")
    spec = read_spec(args.spec) if args.spec else None
    if args.thresholds:
        print_thresholds(spec.labels if spec else LabelThresholds())
        if spec is None:
            return 0
    if spec.search.algorithm == "optuna":
        print(f"{args.spec}: valid; optuna proposes {spec.search.num_samples} configurations")
        return 0
    configs = expand(spec)
    size = spec.resources.pack or CPU_PACK
    packs = make_packs(configs, size)
    print(
        f"{args.spec}: valid; {len(configs)} configurations in {len(packs)} Tune trials "
        f"(up to {size} per trial on CPU); output {spec.output_location}"
    )
    return 0


def print_thresholds(thresholds) -> None:
    """Every label threshold: name, value (marked * where it differs from the default),
    meaning (docs/labels.md)."""
    for name, field in type(thresholds).model_fields.items():
        value = getattr(thresholds, name)
        mark = "*" if value != field.default else " "
        print(f"{name:20} {value!s:>9}{mark} {field.description}")


def command_relabel(args: argparse.Namespace) -> int:
    """Relabel a study from its stored history with other thresholds (no training)."""
    from study.labels import LabelThresholds
    from study.relabel import RelabelError, open_study, relabel, study_thresholds

    overrides = parse_assignments(args.set)
    try:
        store = open_study(args.results)
        current = study_thresholds(store)
    except RelabelError as error:
        raise BadInput(str(error)) from None
    try:
        thresholds = LabelThresholds(**{**current.model_dump(), **overrides})
    except ValidationError as error:
        raise BadInput(format_validation_error(error, LabelThresholds, "threshold")) from None
    done = relabel(store, thresholds)
    mix = ", ".join(f"{label} {count}" for label, count in sorted(done.labels.items()))
    print(f"relabeled {done.trials} trials: {done.changed} changed label; now {mix}")
    print(f"thresholds recorded in {store.uri('labels.yaml')}")
    return 0


def command_run(args: argparse.Namespace) -> int:
    """Run a study on the embedded local Ray, or on the cluster at --address."""
    from study.spec import SpecError

    spec = read_spec(args.spec)
    if args.output:
        spec = spec.model_copy(update={"output": args.output})
    from study.runner import run_study

    try:
        trials = run_study(spec, address=args.address, resume=args.resume)
    except SpecError as error:
        raise BadInput(str(error)) from None
    print(f"results: {trials} (tables: trials/, history/, samples/)")
    return 0


def command_report(args: argparse.Namespace) -> int:
    """Write the stability report of one or more study outputs (works while they run)."""
    from analysis.load import ResultsError, StudyTables
    from analysis.report import write_report

    out = args.out or f"{args.results[0].rstrip('/')}/report"
    try:
        path = write_report(StudyTables(*args.results), out, args.x, args.y, args.row, args.col)
    except ResultsError as error:
        raise BadInput(str(error)) from None
    print(f"report: {path}")
    return 0


def command_compact(args: argparse.Namespace) -> int:
    """Fold a finished study's pack files together, or convert the old single-file layout."""
    from study.compact import ROWS_PER_FILE, compact
    from study.results import ResultsStore

    try:
        store = ResultsStore(args.results)
        if store.layout() == "empty":
            raise BadInput(f"{args.results}: no ganmap results (no trials/ or trials.parquet)")
        print(f"{args.results}: {compact(store, args.rows or ROWS_PER_FILE)}")
    except (OSError, ValueError) as error:
        raise BadInput(f"{args.results}: {error}") from None
    return 0


def command_submit(args: argparse.Namespace) -> int:
    """Submit a study to a Ray cluster as a Ray Job; with --wait, follow it to the end."""
    from study import jobs

    try:
        job_id = jobs.submit(args.spec, args.address, args.out, args.resume)
        print(f"submitted job {job_id}")
        if not args.wait:
            return 0
        final = jobs.follow(args.address, job_id)
    except jobs.SubmitError as error:
        raise BadInput(str(error)) from None
    print(f"job {job_id}: {final}")
    return 0 if final == "SUCCEEDED" else 1


def command_jobs(args: argparse.Namespace) -> int:
    """List a cluster's jobs, or show / stop one."""
    from study import jobs

    try:
        if args.command == "jobs":
            for job_id, state, entrypoint in jobs.list_jobs(args.address):
                print(f"{job_id}  {state:10}  {entrypoint}")
        elif args.command == "status":
            print(jobs.status(args.address, args.job))
        else:
            print("stopping" if jobs.stop(args.address, args.job) else "already finished")
    except jobs.SubmitError as error:
        raise BadInput(str(error)) from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganmap", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train", help="train one configuration (or its seeds, --seeds) without Ray"
    )
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
        "--seeds",
        metavar="0,1,2",
        help="train these seeds as one population; print each label and mean ± sd",
    )
    train.add_argument(
        "--early-stop",
        action="store_true",
        help="stop once a terminal failure persists (see docs/labels.md)",
    )
    train.set_defaults(handler=command_train)
    validate = commands.add_parser("validate", help="check a study spec and count its trials")
    validate.add_argument(
        "spec", nargs="?", help="a study spec (YAML), e.g. search_spaces/quick.yaml"
    )
    validate.add_argument(
        "--thresholds", action="store_true", help="list every label threshold and its meaning"
    )
    validate.set_defaults(handler=command_validate)
    relabel = commands.add_parser(
        "relabel", help="relabel a study from its stored history with other thresholds"
    )
    relabel.add_argument("results", help="a study output folder or URI")
    relabel.add_argument(
        "--set", action="append", default=[], metavar="THRESHOLD=VALUE",
        help="a label threshold (see `ganmap validate --thresholds`); repeatable",
    )  # fmt: skip
    relabel.set_defaults(handler=command_relabel)
    run = commands.add_parser("run", help="run a study on Ray Tune (embedded local Ray by default)")
    run.add_argument("spec", help="a study spec (YAML)")
    run.add_argument("--address", help="an existing Ray cluster: auto, or ray://HOST:10001")
    run.add_argument("--resume", action="store_true", help="finish an interrupted study")
    run.add_argument("--output", help="result folder or URI (overrides the spec's output)")
    run.set_defaults(handler=command_run)
    report = commands.add_parser("report", help="stability heatmaps and summaries as HTML")
    report.add_argument("results", nargs="+", help="study output folders or URIs")
    report.add_argument("--out", help="report folder (default: RESULTS/report)")
    report.add_argument("--x", default="lr_g", help="map x axis (default lr_g)")
    report.add_argument("--y", default="lr_d", help="map y axis (default lr_d)")
    report.add_argument("--row", help="facet rows (default: d_g_ratio where it varies)")
    report.add_argument("--col", help="facet columns (default: loss where it varies)")
    report.set_defaults(handler=command_report)
    compact = commands.add_parser(
        "compact", help="fold a finished study's files together; convert the old layout"
    )
    compact.add_argument("results", help="a study output folder or URI")
    compact.add_argument("--rows", type=int, help="rows per compacted file (default 2,000,000)")
    compact.set_defaults(handler=command_compact)
    address_help = "the cluster's dashboard, e.g. http://127.0.0.1:8265"
    submit = commands.add_parser("submit", help="submit a study to a Ray cluster as a Ray Job")
    submit.add_argument("spec", help="a study spec (YAML)")
    submit.add_argument("--address", required=True, help=address_help)
    submit.add_argument("--out", help="results folder or URI every node can reach (s3://...)")
    submit.add_argument("--wait", action="store_true", help="follow the logs until it ends")
    submit.add_argument("--resume", action="store_true", help="finish an interrupted study")
    submit.set_defaults(handler=command_submit)
    for name, text in (("jobs", "list the cluster's jobs"), ("status", "a job's status"),
                       ("stop", "stop a job")):  # fmt: skip
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--address", required=True, help=address_help)
        if name != "jobs":
            sub.add_argument("job", help="the job id that submit printed")
        sub.set_defaults(handler=command_jobs)
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

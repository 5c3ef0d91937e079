"""The `ganmap` command line. Bad input exits with code 2 before anything runs or is written.

Exit codes (study.exits): 0 done, 2 bad input, 3 a study with trials that failed after
their retries, 130 interrupted (Ctrl-C or SIGTERM), 1 an unexpected error.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from study.config import format_validation_error
from study.exits import (
    EXIT_BAD_INPUT,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BadInput,
    echo_value,
    exit_at_once,
    interrupt_signals,
    shorten,
)
from study.train_command import DEVICES, command_train
from study.yaml_input import parse_assignments

SHOWN_FAILURES = 10


def read_spec(path: str):
    """Load and validate a spec; a bad one is BadInput (exit 2) before anything runs."""
    from study.spec import SpecError, load_spec

    try:
        return load_spec(path)
    except SpecError as error:
        raise BadInput(str(error)) from None


def command_validate(args: argparse.Namespace) -> int:
    """Check a spec and its output location; say how many configurations (and Tune
    trials) it has (the size limits were checked by counting, so expanding is bounded).
    With --thresholds, list every label threshold (the spec's values where it sets them)."""
    from study.expand import expand, make_packs
    from study.output import check_location
    from study.spec import CPU_PACK, SpecError
    from study.thresholds import LabelThresholds

    if args.spec is None and not args.thresholds:
        raise BadInput("validate needs a spec (or --thresholds to list the label thresholds)")
    spec = read_spec(args.spec) if args.spec else None
    if args.thresholds:
        print_thresholds(spec.labels if spec else LabelThresholds())
        if spec is None:
            return EXIT_OK
    try:
        check_location(spec.output_location)
    except SpecError as error:
        raise BadInput(str(error)) from None
    if spec.search.algorithm == "optuna":
        print(f"{args.spec}: valid; optuna proposes {spec.search.num_samples} configurations")
        return EXIT_OK
    if spec.search.algorithm == "boundary":
        search = spec.search
        print(f"{args.spec}: valid; boundary search: up to {search.budget} configurations, "
              f"{search.per_round} per round after its coarse grid; output "
              f"{spec.output_location}")  # fmt: skip
        return EXIT_OK
    configs = expand(spec)
    size = spec.resources.pack or CPU_PACK
    packs = make_packs(configs, size)
    print(
        f"{args.spec}: valid; {len(configs)} configurations in {len(packs)} Tune trials "
        f"(up to {size} per trial on CPU); output {spec.output_location}"
    )
    return EXIT_OK


def print_thresholds(thresholds) -> None:
    """Every label threshold: name, value (marked * where it differs from the default),
    meaning (docs/labels.md)."""
    for name, field in type(thresholds).model_fields.items():
        value = getattr(thresholds, name)
        mark = "*" if value != field.default else " "
        print(f"{name:20} {value!s:>9}{mark} {field.description}")


def command_relabel(args: argparse.Namespace) -> int:
    """Relabel a study from its stored history with other thresholds (no training)."""
    from study.relabel import RelabelError, open_study, relabel, study_thresholds
    from study.thresholds import LabelThresholds

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
    return EXIT_OK


def command_run(args: argparse.Namespace) -> int:
    """Run a study on the embedded local Ray, or on the cluster at --address."""
    with interrupt_signals():  # SIGTERM as Ctrl-C from the start: the imports take seconds
        from study.spec import SpecError, with_output

        spec = read_spec(args.spec)
        from study.lease import LeaseHeld
        from study.runner import run_study

        try:
            spec = with_output(spec, args.output) if args.output else spec
            outcome = run_study(spec, address=args.address, resume=args.resume)
        except (SpecError, LeaseHeld) as error:
            raise BadInput(str(error)) from None
    code = run_exit(outcome, resume_command(args))
    if outcome.exit_at_once:
        exit_at_once(code)
    return code


def resume_command(args: argparse.Namespace) -> str:
    output = f" --output {args.output}" if args.output else ""
    address = f" --address {args.address}" if args.address else ""
    return f"`ganmap run {args.spec}{output}{address} --resume`"


def run_exit(outcome, resume: str) -> int:
    """Say how a run ended and return its exit code: 0 only when every configuration
    has a result."""
    counts = f"{outcome.done} of {outcome.total} done"
    if outcome.interrupted:
        print(f"interrupted: {counts}; finish with {resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if outcome.failed:
        failed = len(outcome.failed)
        print(f"incomplete: {counts}; {failed} trials failed after their retries "
              "(each: its error, then the file with its traceback):", file=sys.stderr)  # fmt: skip
        for line in outcome.failed[:SHOWN_FAILURES]:
            print(f"  {line}", file=sys.stderr)
        if len(outcome.failed) > SHOWN_FAILURES:
            print(f"  ... and {len(outcome.failed) - SHOWN_FAILURES} more", file=sys.stderr)
        print(f"fix the cause, then finish with {resume}", file=sys.stderr)
        return EXIT_INCOMPLETE
    if outcome.done < outcome.total:
        print(f"incomplete: {counts}, no trial failed (Optuna proposed only configurations "
              f"already done?); continue with {resume}", file=sys.stderr)  # fmt: skip
        return EXIT_INCOMPLETE
    print(f"done: all {outcome.total} configurations; results in {outcome.location} "
          "(trials/, history/, samples/)")  # fmt: skip
    return EXIT_OK


def command_report(args: argparse.Namespace) -> int:
    """Write the stability report of one or more study outputs (works while they run)."""
    import optuna

    from analysis.load import ResultsError, StudyTables
    from analysis.report import ReportError, write_report
    from study.output import REPORT_FOLDER

    out = args.out or f"{args.results[0].rstrip('/')}/{REPORT_FOLDER}"
    check_report_options(args, out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per fANOVA fit otherwise
    try:
        tables = StudyTables(*args.results)
        path = write_report(tables, out, args.x, args.y, args.row, args.col, args.static)
    except (ResultsError, ReportError, OSError) as error:
        raise BadInput(str(error)) from None
    print(f"report: {path}")
    return EXIT_OK


def check_report_options(args: argparse.Namespace, out: str) -> None:
    """The axes and facets are hyperparameters (or d_g_ratio); --out a writable local
    folder. Checked before anything is read or written."""
    from analysis.cells import RATIO
    from study.output import check_location
    from study.schema import HYPERPARAMETERS
    from study.spec import SpecError

    allowed = (*HYPERPARAMETERS, RATIO)
    for option in ("x", "y", "row", "col"):
        value = getattr(args, option)
        if value is not None and value not in allowed:
            names = ", ".join(allowed)
            raise BadInput(f"--{option} {echo_value(value)}: not a hyperparameter; use {names}")
    if "://" in out:
        raise BadInput(f"--out {echo_value(out)}: the report goes to a local folder")
    try:
        check_location(out)
    except SpecError as error:
        raise BadInput(f"--out: {error}") from None


def command_compact(args: argparse.Namespace) -> int:
    """Fold a finished study's pack files together, or convert the old single-file layout."""
    from study.compact import ROWS_PER_FILE, compact
    from study.lease import Lease, LeaseHeld
    from study.results import ResultsStore

    try:
        store = ResultsStore(args.results)
        if store.layout() == "empty":
            raise BadInput(f"{args.results}: no ganmap results (no trials/ or trials.parquet)")
        with Lease(store):  # never while a driver writes the study
            print(f"{args.results}: {compact(store, args.rows or ROWS_PER_FILE)}")
    except (OSError, ValueError, LeaseHeld) as error:
        raise BadInput(f"{args.results}: {error}") from None
    return EXIT_OK


def command_submit(args: argparse.Namespace) -> int:
    """Submit a study to a Ray cluster as a Ray Job; with --wait, follow it to the end."""
    from study import jobs

    try:
        job_id = jobs.submit(args.spec, args.address, args.out, args.resume, args.patience)
        print(f"submitted job {job_id}")
        if not args.wait:
            return EXIT_OK
        final, code = jobs.follow(args.address, job_id)
    except jobs.SubmitError as error:
        raise BadInput(str(error)) from None
    print(f"job {job_id}: {final}")
    if final == "SUCCEEDED":
        return EXIT_OK
    return code if code not in (None, EXIT_OK) else EXIT_INCOMPLETE


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
    return EXIT_OK


class Parser(argparse.ArgumentParser):
    """argparse, with its error messages (which echo what was typed) kept short."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {shorten(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ganmap", description=__doc__)
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
    train.add_argument(
        "--device", default="auto", choices=DEVICES, help="auto (CUDA if available), cpu, cuda"
    )
    train.add_argument("--help-keys", action="store_true", help="list every engine key")
    train.add_argument(
        "--from", nargs=2, dest="from_trial", metavar=("OUT", "TRIAL_ID"),
        help="train a study's trial again: its configuration, label thresholds and early "
        "stopping as the study ran it (--set and --seeds change it)",
    )  # fmt: skip
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
    report.add_argument("--x", help="map x axis (default lr_g where it varies)")
    report.add_argument("--y", help="map y axis (default lr_d where it varies)")
    report.add_argument("--row", help="facet rows (default: d_g_ratio where it varies)")
    report.add_argument("--col", help="facet columns (default: loss where it varies)")
    report.add_argument(
        "--static", action="store_true", help="also write the maps as PNG and PDF (for papers)"
    )
    report.set_defaults(handler=command_report)
    compact = commands.add_parser(
        "compact", help="fold a finished study's files together; convert the old layout"
    )
    compact.add_argument("results", help="a study output folder or URI")
    compact.add_argument(
        "--rows", type=positive, help="rows per compacted file (default 2,000,000)"
    )
    compact.set_defaults(handler=command_compact)
    address_help = "the cluster's dashboard, e.g. http://127.0.0.1:8265"
    submit = commands.add_parser("submit", help="submit a study to a Ray cluster as a Ray Job")
    submit.add_argument("spec", help="a study spec (YAML)")
    submit.add_argument("--address", required=True, help=address_help)
    submit.add_argument("--out", help="results folder or URI every node can reach (s3://...)")
    submit.add_argument("--wait", action="store_true", help="follow the logs until it ends")
    submit.add_argument("--resume", action="store_true", help="finish an interrupted study")
    submit.add_argument(
        "--patience", type=positive, default=300,
        help="seconds to wait for the cluster's job agent to start (default 300)",
    )  # fmt: skip
    submit.set_defaults(handler=command_submit)
    for name, text in (("jobs", "list the cluster's jobs"), ("status", "a job's status"),
                       ("stop", "stop a job")):  # fmt: skip
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--address", required=True, help=address_help)
        if name != "jobs":
            sub.add_argument("job", help="the job id that submit printed")
        sub.set_defaults(handler=command_jobs)
    return parser


def positive(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{echo_value(text)} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run one command; bad input and interrupts end with their exit codes (study.exits)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BadInput as error:
        print(f"ganmap: error: {shorten(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ganmap: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

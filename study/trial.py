"""What runs inside one Ray Tune trial: train a pack (or Optuna's one configuration) as
one population with the engine, label it, write its Parquet part, report to Tune.

Trials report progress (`tune.report`) at every evaluation and, every
`checkpoint_every_s`, the population's state as a Tune checkpoint; a retried trial
continues from its last one. The driver side (expansion, Tune's run, progress, exits)
is `study.runner`; the two are the only modules that import Ray.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import io
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import study.ray_env  # noqa: F401  (Ray's environment: set before Ray is imported)

# isort: split
import ray
from pyarrow import fs as pafs
from ray import tune

from study import checkpoint
from study.config import TrainConfig
from study.early_stopping import EarlyStopper
from study.exits import shorten
from study.expand import Pack, trial_id
from study.labels import label_history
from study.progress import finished_metrics
from study.results import CHECKPOINT_FILE, CHECKPOINT_INDEX, ResultsStore, pack_tables
from study.schema import RunRecord, TrialRecord, score
from study.thresholds import EarlyStopping, LabelThresholds


@dataclass(frozen=True)
class TrialContext:
    """What every trial needs besides its configurations (shipped once per study)."""

    study: str
    location: str
    thresholds: LabelThresholds
    early_stopping: EarlyStopping
    use_gpu: bool
    fixed: dict
    checkpoint_every_s: float = 0.0  # seconds between population checkpoints; 0: none
    round: int | None = None  # the boundary-search round its packs belong to


def train_and_write(
    configs: list[TrainConfig], pack_id: str, context: TrialContext, saved: str | None = None
) -> dict:
    """Train one population inside a trial, label it, write its part; report as it goes.

    Every `checkpoint_every_s` seconds, at the next evaluation, the population's state
    goes to Tune as a trial checkpoint; a retried trial (its worker died) continues from
    the last one, and a first attempt from `saved`, a checkpoint an earlier run left.
    A checkpoint that cannot be loaded is set aside and the pack starts over; the
    trial's next report carries a `warning` saying so, which the driver shows.
    """
    import torch

    from study.trainer import train

    budgets = [c.steps for c in configs]
    rule = context.early_stopping
    stopper = EarlyStopper([c.loss for c in configs], budgets, context.thresholds, rule)
    device = "cuda" if context.use_gpu and torch.cuda.is_available() else "cpu"
    resume_from, warning = restored_state(configs, device, context.location, saved)
    last_checkpoint = time.monotonic()

    def report(step: int, results, snapshot) -> None:
        nonlocal last_checkpoint, warning
        live = sum(r.steps_run == step and not r.stopped_early for r in results)
        latest = [r.history[-1] for r in results if r.history]
        metrics = {"step": step, "budget": configs[0].steps, "members": len(configs), "live": live}
        metrics["score"] = max(score(row) for row in latest)
        if warning:
            metrics["warning"], warning = warning, None
        if len(configs) == 1:  # what an Optuna metric may name
            metrics |= {f"final_{k}": float(v) for k, v in latest[0].items() if numeric(k, v)}
        every = context.checkpoint_every_s
        due = every > 0 and time.monotonic() - last_checkpoint >= every
        if due and live and step < configs[0].steps:
            last_checkpoint = time.monotonic()
            report_with_checkpoint(metrics, snapshot(), pack_id)
        else:
            tune.report(metrics)

    started_at = now()
    results = train(
        configs, should_stop=stopper if rule.enabled else None,
        device=device, on_evaluation=report, resume_from=resume_from,
    )  # fmt: skip
    where = {
        "node_id": ray.get_runtime_context().get_node_id(), "pack_id": pack_id,
        "pack_size": len(configs), "started_at": started_at, "finished_at": now(),
        "resumed_from_step": resume_from["step"] if resume_from else None,
        "round": context.round, **versions(),
    }  # fmt: skip
    records = [
        member_record(context, result, stopper.provisional.get(member), where)
        for member, result in enumerate(results)
    ]
    tables = pack_tables(records, [r.history for r in results], [r.samples for r in results])
    ResultsStore(context.location).write_pack(pack_id, tables)
    return finished_report(records, configs[0].steps)


def member_record(context: TrialContext, result, provisional, where: dict) -> TrialRecord:
    """One member's trials row: its label, final evaluation and how it ran (`where`: the
    RunRecord fields its whole pack shares)."""
    label = label_history(result.history, result.config.loss, context.thresholds)
    stopped = result.stopped_early
    run = RunRecord(
        steps_run=result.steps_run, stopped_early=stopped,
        stop_step=result.steps_run if stopped else None,
        stop_reason=provisional.label_reason if stopped else "",
        wall_time_s=result.wall_time_s, device=result.device, **where,
    )  # fmt: skip
    tid = trial_id(result.config)
    return TrialRecord(context.study, tid, result.config, label, result.history[-1], run)


def numeric(name: str, value) -> bool:
    """A scalar diagnostic of a history row (not the step, not a list of mode counts)."""
    return name != "step" and isinstance(value, (int, float))


def finished_report(records: list[TrialRecord], budget: int) -> dict:
    """A finished trial's last report: label counts (for progress) and its best score;
    a one-configuration trial also reports its numeric columns (what Optuna may optimize)."""
    summary = finished_metrics([record.label.label for record in records], budget)
    summary["score"] = max(score(record.final) for record in records)
    if len(records) == 1:
        summary |= numeric_columns(records[0].row())
    return summary


def numeric_columns(row: dict) -> dict:
    """A trials row's numbers (score, final diagnostics, hyperparameters)."""
    return {k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def report_with_checkpoint(metrics: dict, state: dict, pack_id: str) -> None:
    """Report `metrics` with the population `state` as this trial's Tune checkpoint,
    indexed by pack and step so that a later `--resume` can find it."""
    with tempfile.TemporaryDirectory() as folder:
        state_file = Path(folder, CHECKPOINT_FILE)
        checkpoint.save(state, state_file)
        size = state_file.stat().st_size
        index = {"pack_id": pack_id, "step": state["step"], "bytes": size}
        Path(folder, CHECKPOINT_INDEX).write_text(json.dumps(index))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


def restored_state(
    configs: list[TrainConfig], device: str, location: str, saved: str | None
) -> tuple[dict | None, str | None]:
    """The state to continue from, and a warning for the user or None.

    This trial's last checkpoint when Tune retries it, else `saved` (a path in the
    study's store), else None: start from scratch.
    """
    retry = tune.get_checkpoint()
    if retry is not None:
        return read_checkpoint(retry.filesystem, f"{retry.path}/{CHECKPOINT_FILE}", configs, device)
    if saved is not None:
        store = ResultsStore(location)
        return read_checkpoint(store.fs, store.path(saved), configs, device)
    return None, None


def read_checkpoint(
    fs: pafs.FileSystem, path: str, configs: list[TrainConfig], device: str
) -> tuple[dict | None, str | None]:
    """A population checkpoint that continues `configs` on `device`, and a warning or None.

    One taken on another device type is not used (random streams differ between device
    types) and stays. One that cannot be loaded (corrupt, truncated, of another format
    or of other configurations) is set aside, renamed to `<name>.unreadable-<time>` and
    never deleted, so that the pack starts over instead of failing on it forever.
    """
    with fs.open_input_file(path) as source:  # I/O errors fail the trial: Tune retries it
        data = source.read()
    try:
        state = checkpoint.load(io.BytesIO(data))
        if not isinstance(state, dict) or "device_type" not in state:
            raise ValueError("not a ganmap population checkpoint")
        if state["device_type"] != device:
            taken = state["device_type"]
            return None, f"checkpoint {path} taken on {taken}, trial on {device}: starting over"
        checkpoint.check_compatible(state, configs, device)
    except Exception as error:  # torch, zip and pickle errors, KeyError, ValueError...
        aside = f"{path}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}"
        fs.move(path, aside)
        first = (str(error).strip().splitlines() or [""])[0].split(". ")[0]  # not torch's advice
        reason = shorten(f"{type(error).__name__}: {first}", width=120, lines=1)
        return None, f"checkpoint {path} unreadable ({reason}): set aside as {aside}; starting over"
    return state, None


def run_pack(tune_config: dict, packs: dict[str, Pack], context: TrialContext) -> None:
    """Tune trainable of grid/random studies: one pack, trained as one population."""
    pack = packs[tune_config["pack"]]
    tune.report(train_and_write(list(pack.configs), pack.pack_id, context, pack.checkpoint))


def run_suggestion(tune_config: dict, context: TrialContext) -> None:
    """Tune trainable of Optuna studies: the one configuration Optuna proposed.

    A configuration already done (Optuna may propose one again) is not trained again:
    its stored result is reported, so Optuna learns it, and progress counts nothing.
    """
    config = TrainConfig(**context.fixed, **tune_config)
    done = done_report(ResultsStore(context.location), config)
    tune.report(done or train_and_write([config], trial_id(config), context))


def done_report(store: ResultsStore, config: TrainConfig) -> dict | None:
    """For a configuration already done, the report that tells Optuna its stored result
    and progress nothing new (no configurations); None if it has no result yet."""
    name = f"trials/{trial_id(config)}.parquet"  # an Optuna trial's pack is its trial
    if not store.exists(name):
        return None
    (row,) = store.read_trials_file(name).to_pylist()
    return {**finished_metrics([], config.steps), **numeric_columns(row)}


def versions() -> dict[str, str]:
    """The versions a result was produced with (RunRecord's version fields)."""
    import torch

    return {
        "ganmap_version": importlib.metadata.version("ganmap"),
        "torch_version": torch.__version__,
        "ray_version": ray.__version__,
    }

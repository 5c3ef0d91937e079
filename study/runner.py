"""Run a study on Ray Tune. Besides the CLI, the only module that imports Ray.

Grid and random studies are expanded in the driver, packed into populations of
configurations that share structure, and each pack is one Tune trial that trains it
with the engine. Optuna studies let Tune's OptunaSearch propose one configuration per
trial. Each trial writes its pack's Parquet files itself (`study.results`); the driver
never reads them: it learns what is done from the file names, and counts progress from
what trials report.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# A local study binds loopback only; Tune's own console output and per-trial loggers
# are replaced by ganmap's progress and Parquet files. Set before Ray is imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "30")

import logging  # noqa: E402

import ray  # noqa: E402
import yaml  # noqa: E402
from ray import tune  # noqa: E402

from study import checkpoint  # noqa: E402
from study.config import TrainConfig  # noqa: E402
from study.expand import Pack, expand, make_packs, pack_size, trial_id  # noqa: E402
from study.labels import EarlyStopper, EarlyStopping, LabelThresholds, label_history  # noqa: E402
from study.progress import StudyProgress, finished_metrics  # noqa: E402
from study.relabel import LABELS_FILE, study_thresholds  # noqa: E402
from study.results import (  # noqa: E402
    CHECKPOINT_FILE,
    CHECKPOINT_INDEX,
    OldLayout,
    ResultsStore,
    pack_tables,
)
from study.schema import RunRecord, TrialRecord, score  # noqa: E402
from study.spec import SpecError, StudySpec  # noqa: E402

# ganmap's Parquet replaces Tune's per-trial result files, whose absence Tune would report.
logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)


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


def connect(address: str | None) -> None:
    """Join a cluster at `address`, or start an embedded local Ray bound to loopback."""
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:  # "local": always a new instance, never a cluster that happens to run here
        ray.init(
            address="local", include_dashboard=False, _node_ip_address="127.0.0.1",
            log_to_driver=False,
        )  # fmt: skip


def train_and_write(
    configs: list[TrainConfig], pack_id: str, context: TrialContext, saved: str | None = None
) -> dict:
    """Train one population inside a trial, label it, write its part; report as it goes.

    Every `checkpoint_every_s` seconds, at the next evaluation, the population's state
    goes to Tune as a trial checkpoint; a retried trial (its worker died) continues from
    the last one, and a first attempt from `saved`, a checkpoint an earlier run left.
    """
    import torch

    from study.trainer import train

    budgets = [c.steps for c in configs]
    rule = context.early_stopping
    stopper = EarlyStopper([c.loss for c in configs], budgets, context.thresholds, rule)
    device = "cuda" if context.use_gpu and torch.cuda.is_available() else "cpu"
    resume_from = restored_state(device, context.location, saved)
    last_checkpoint = time.monotonic()

    def report(step: int, results, snapshot) -> None:
        nonlocal last_checkpoint
        live = sum(r.steps_run == step and not r.stopped_early for r in results)
        latest = [r.history[-1] for r in results if r.history]
        metrics = {"step": step, "members": len(configs), "live": live}
        metrics["score"] = max(score(row) for row in latest)
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
        "resumed_from_step": resume_from["step"] if resume_from else None, **versions(),
    }  # fmt: skip
    records = [
        member_record(context, result, stopper.provisional.get(member), where)
        for member, result in enumerate(results)
    ]
    tables = pack_tables(records, [r.history for r in results], [r.samples for r in results])
    ResultsStore(context.location).write_pack(pack_id, tables)
    return finished_report(records)


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


def finished_report(records: list[TrialRecord]) -> dict:
    """A finished trial's last report: label counts (for progress) and its best score;
    a one-configuration trial also reports its numeric columns (what Optuna may optimize)."""
    summary = finished_metrics([record.label.label for record in records])
    summary["score"] = max(score(record.final) for record in records)
    if len(records) == 1:
        row = records[0].row()
        summary |= {k: v for k, v in row.items() if isinstance(v, (int, float))}
    return summary


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


def restored_state(device: str, location: str, saved: str | None) -> dict | None:
    """The state to continue from: this trial's last checkpoint when Tune retries it,
    else `saved` (a path in the study's store), else None (start from scratch)."""
    retry = tune.get_checkpoint()
    if retry is not None:
        with retry.as_directory() as folder:
            state = checkpoint.load(os.path.join(folder, CHECKPOINT_FILE))
    elif saved is not None:
        state = checkpoint.load(io.BytesIO(ResultsStore(location).read_bytes(saved)))
    else:
        return None
    if state["device_type"] != device:  # random streams differ between device types
        print(f"checkpoint taken on {state['device_type']}, trial on {device}: starting over")
        return None
    return state


def run_pack(tune_config: dict, packs: dict[str, Pack], context: TrialContext) -> None:
    """Tune trainable of grid/random studies: one pack, trained as one population."""
    pack = packs[tune_config["pack"]]
    tune.report(train_and_write(list(pack.configs), pack.pack_id, context, pack.checkpoint))


def run_suggestion(tune_config: dict, context: TrialContext) -> None:
    """Tune trainable of Optuna studies: the one configuration Optuna proposed."""
    config = TrainConfig(**context.fixed, **tune_config)
    tune.report(train_and_write([config], trial_id(config), context))


def versions() -> dict[str, str]:
    """The versions a result was produced with (RunRecord's version fields)."""
    import torch

    return {
        "ganmap_version": importlib.metadata.version("ganmap"),
        "torch_version": torch.__version__,
        "ray_version": ray.__version__,
    }


class Progress(tune.Callback):
    """Counts what trials report into a StudyProgress and prints a line per finished trial."""

    def __init__(self, progress: StudyProgress, echo):
        self.progress, self.echo = progress, echo

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if "finished" not in result:
            self.progress.evaluated(trial.trial_id, result)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.progress.finished(trial.trial_id, trial.last_result)
        self.echo(self.progress.line(sum(t.status == "RUNNING" and t is not trial for t in trials)))

    def on_trial_error(self, iteration, trials, trial, **info):
        self.echo(f"trial {trial.trial_id} failed after its retries: see {trial.local_path}")


def prepare_output(store: ResultsStore, spec: StudySpec, resume: bool) -> None:
    """Check the output folder against the spec; on resume, clear what dead trials left."""
    resolved = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
    if store.layout() == "single-file":
        raise SpecError(str(OldLayout(store.location)))
    if store.exists("spec.yaml"):
        if not resume:
            raise SpecError(
                f"{store.location} already holds study results: pass --resume to finish "
                "them, or choose another output"
            )
        if store.read_bytes("spec.yaml").decode() != resolved:
            raise SpecError(f"--resume: the spec differs from {store.location}/spec.yaml")
        store.remove_stray_files()
    else:
        store.write_bytes("spec.yaml", resolved.encode())


def pending_packs(configs: list[TrainConfig], size: int, store: ResultsStore) -> list[Pack]:
    """The packs still to run. What is done comes from the file names of finished packs:
    a pack's id is a hash of its members' trial ids, so the study's own packs name them.

    Packs are cut at fixed boundaries, so with an unchanged pack size every pack is
    either done or pending as a whole; otherwise the pending configurations are repacked.
    """
    packs = make_packs(configs, size)
    members = {p.pack_id: set(p.trial_ids) for p in packs}
    done = store.completed_ids(members)
    if all(ids <= done or done.isdisjoint(ids) for ids in members.values()):
        return [p for p in packs if done.isdisjoint(members[p.pack_id])]
    return make_packs([c for c in configs if trial_id(c) not in done], size)


def build_tuner(spec: StudySpec, store: ResultsStore, echo) -> tune.Tuner | None:
    """The Tuner for what is left of the study, or None when nothing is."""
    has_gpu = ray.cluster_resources().get("GPU", 0) > 0
    if spec.resources.gpus > 0 and not has_gpu:
        echo("no GPU in the cluster: trials run on CPU")
    resources = {"cpu": spec.resources.cpus, "gpu": spec.resources.gpus if has_gpu else 0.0}
    # A relabeled study labels its new trials with the thresholds it was relabeled with.
    thresholds = study_thresholds(store) if store.exists(LABELS_FILE) else spec.labels
    context = TrialContext(
        spec.name, store.location, thresholds, spec.early_stopping,
        resources["gpu"] > 0, dict(spec.fixed), spec.resources.checkpoint_every_s,
    )  # fmt: skip
    run_config = tune.RunConfig(
        name=f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}",
        storage_path=store.uri("tune"),
        failure_config=tune.FailureConfig(max_failures=spec.resources.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        verbose=0,
    )
    if spec.search.algorithm == "optuna":
        done = store.completed_ids()
        remaining = spec.search.num_samples - len(done)
        total = spec.search.num_samples
        trainable = tune.with_parameters(run_suggestion, context=context)
        param_space = {key: optuna_domain(domain) for key, domain in spec.space.items()}
        tune_config = tune.TuneConfig(
            search_alg=optuna_search(spec), num_samples=max(remaining, 0), reuse_actors=True
        )
    else:
        configs = expand(spec)
        total, size = len(configs), pack_size(spec, has_gpu)
        packs = with_checkpoints(pending_packs(configs, size, store), store, echo)
        remaining = sum(len(pack.configs) for pack in packs.values())
        trainable = tune.with_parameters(run_pack, packs=packs, context=context)
        param_space = {"pack": tune.grid_search(sorted(packs))}
        tune_config = tune.TuneConfig(reuse_actors=True)
    echo(f"study {spec.name}: {total} configurations, {total - remaining} done, {remaining} to run")
    store.write_study_info(spec.name, total)
    if remaining <= 0:
        return None
    run_config.callbacks = [Progress(StudyProgress(total, total - remaining), echo)]
    return tune.Tuner(
        tune.with_resources(trainable, resources),
        param_space=param_space, tune_config=tune_config, run_config=run_config,
    )  # fmt: skip


def with_checkpoints(packs: list[Pack], store: ResultsStore, echo) -> dict[str, Pack]:
    """Packs by id, each with the checkpoint an earlier run left for it, if any.

    Packs are whole-pack results and cut at fixed boundaries, so a pack still pending
    after a crash has the same members, and id, as before.
    """
    saved = store.pack_checkpoints()
    found = sum(p.pack_id in saved for p in packs)
    if found:
        echo(f"{found} unfinished trials continue from their checkpoints")
    return {p.pack_id: dataclasses.replace(p, checkpoint=saved.get(p.pack_id)) for p in packs}


def optuna_domain(domain):
    """A spec domain as a Tune search domain (a grid becomes a categorical for Optuna)."""
    low, high = domain.values[0], domain.values[-1]
    if domain.kind in ("grid", "choice"):
        return tune.choice(list(domain.values))
    if domain.kind == "uniform":
        return tune.uniform(low, high)
    if domain.kind == "loguniform":
        return tune.loguniform(low, high)
    return tune.randint(low, high + 1)


def optuna_search(spec: StudySpec):
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(metric=spec.search.metric, mode=spec.search.mode, seed=spec.search.seed)


def leave_ray_working_dir() -> None:
    """A Ray Job's driver standing in the job's working_dir package moves to its own folder.

    Ray may delete that package once the trial workers release it, and Tune needs a
    current directory when it finishes (seen with `ray job submit` on Ray 2.60).
    """
    if "/runtime_resources/working_dir_files/" in os.getcwd():
        os.chdir(tempfile.mkdtemp(prefix="ganmap-driver-"))


def run_study(spec: StudySpec, address: str | None = None, resume: bool = False, echo=print):
    """Run (or finish, with `resume`) a study; returns its output location."""
    store = ResultsStore(spec.output_location)  # resolved before the driver may move
    prepare_output(store, spec, resume)
    leave_ray_working_dir()
    connect(address)
    tuner = build_tuner(spec, store, echo)
    if tuner is not None:
        grid = tuner.fit()
        failed = [result for result in grid if result.error is not None]
        if failed:
            echo(f"{len(failed)} trials failed after their retries; --resume runs them again")
    return store.location

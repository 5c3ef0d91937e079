"""Run a study on Ray Tune: the driver side (each trial's side is `study.trial`).

Grid and random studies are expanded in the driver, packed into populations of
configurations that share structure, and each pack is one Tune trial that trains it
with the engine. Optuna studies let Tune's OptunaSearch propose one configuration per
trial, from an Optuna study kept in the output (`study.optuna_study`). Each trial
writes its pack's Parquet files itself (`study.results`); the driver never reads them:
it learns what is done from the file names, and counts progress from what trials report.

`run_study` holds the output's lease (`study.lease`) while it runs and returns a
`StudyOutcome`: how many configurations are done, which trials failed and where their
errors are, whether it was interrupted. The CLI turns that into an exit code.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import tempfile
import time
from dataclasses import dataclass

import study.ray_env  # noqa: F401  (Ray's environment: set before Ray is imported)

# isort: split
import ray
from ray import tune

from study.boundary_run import BoundaryOutcome, run_boundary
from study.config import TrainConfig
from study.exits import handlers_given_back, interrupts_put_off, shorten
from study.expand import Pack, expand, make_packs, pack_size, trial_id
from study.lease import Lease
from study.optuna_study import OptunaJournal
from study.output import check_location, check_output, prepare_output
from study.progress import StudyProgress, make_view
from study.relabel import study_thresholds
from study.results import LABELS_FILE, TUNE_FOLDER, ResultsStore
from study.spec import StudySpec
from study.trial import TrialContext, run_pack, run_suggestion

# ganmap's Parquet replaces Tune's per-trial result files, whose absence Tune would report;
# ganmap reports failed trials itself, naming their error files (which hold the traceback).
logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
logging.getLogger("ray.tune.execution.tune_controller").setLevel(logging.CRITICAL)
logging.getLogger("ray.tune.tune").setLevel(logging.CRITICAL)
# Ray's token authentication stays on (its default); its notice on every start does not.
logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)


def connect(address: str | None) -> None:
    """Join a cluster at `address`, or start an embedded local Ray bound to loopback.

    ray.init installs its own SIGTERM handler (`sys.exit(15)`); the caller's comes back
    once Ray is up (exits.handlers_given_back), so that SIGTERM ends a study as an
    interrupt does, also one that came while Ray started. One that cut ray.init short
    raises RayStartCutShort, once what Ray started is stopped.
    """
    if ray.is_initialized():
        return
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        with handlers_given_back():
            if address:
                ray.init(address=address, **quiet)
            else:  # "local": always a new instance, never a cluster that happens to run here
                local = {"include_dashboard": False, "_node_ip_address": "127.0.0.1"}
                ray.init(address="local", **local, **quiet)
    except (KeyboardInterrupt, SystemExit) as stop:  # SystemExit(15): Ray's SIGTERM handler
        if isinstance(stop, SystemExit) and stop.code != signal.SIGTERM:
            raise
        if ray.is_initialized():  # Ray is up: the run ends as on any interrupt
            raise KeyboardInterrupt from None
        stop_half_started_ray()
        raise RayStartCutShort from None


class RayStartCutShort(KeyboardInterrupt):
    """An interrupt that cut ray.init short: the process must end without the
    interpreter's teardown (stop_half_started_ray says why)."""


def stop_half_started_ray() -> None:
    """Stop the processes of a ray.init that an interrupt cut short.

    An interrupt landing as ray.init builds the driver's core worker drops it with no
    Python handle: Ray's atexit shutdown cannot stop it, and the interpreter's teardown
    then crashes in its C++ (SIGSEGV, exit -11). So Ray's processes are stopped here,
    under interrupts_put_off, and the CLI ends the process with exits.exit_at_once.
    """
    with interrupts_put_off():
        ray.shutdown()


class Progress(tune.Callback):
    """Feeds what trials report into a StudyProgress and its view; shows trials' warnings.

    `after_trial` runs when a trial finishes (the Optuna journal saves itself then).
    """

    def __init__(self, progress: StudyProgress, view, after_trial=None):
        self.progress, self.view, self.after_trial = progress, view, after_trial

    def __getstate__(self) -> dict:
        """Nothing: Tune pickles its callbacks into tuner.pkl for Tuner.restore, which
        ganmap never uses (`--resume` reads the results), and a live view cannot be."""
        return {}

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if "warning" in result:
            self.view.note(f"warning: {result['warning']}")
        if "finished" not in result:
            self.progress.evaluated(trial.trial_id, result)
            self.view.update(self.progress)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.progress.finished(trial.trial_id, trial.last_result)
        self.view.update(self.progress)
        if self.after_trial is not None:
            self.after_trial()

    def on_trial_error(self, iteration, trials, trial, **info):
        self.progress.errored(trial.trial_id)
        self.view.note(f"a trial failed after its retries: {trial.path}/error.txt")
        self.view.update(self.progress)


def pending_packs(packs: list[Pack], size: int, store: ResultsStore) -> list[Pack]:
    """The study's packs (`make_packs(configs, size)`) still to run. What is done comes
    from the file names of finished packs: a pack's id is a hash of its members' trial
    ids, so the study's own packs name them.

    Packs are cut at fixed boundaries, so with an unchanged pack size every pack is
    either done or pending as a whole; otherwise the pending configurations are repacked.
    """
    members = {p.pack_id: set(p.trial_ids) for p in packs}
    done = store.completed_ids(members)
    if all(ids <= done or done.isdisjoint(ids) for ids in members.values()):
        return [p for p in packs if done.isdisjoint(members[p.pack_id])]
    rest = [c for p in packs for c, tid in zip(p.configs, p.trial_ids) if tid not in done]
    return make_packs(rest, size)


@dataclass
class StudyOutcome:
    """How a run of a study ended; the CLI turns it into an exit code."""

    location: str
    total: int  # configurations in the study
    done: int  # configurations with a result, before this run and in it
    failed: list[str]  # per trial that failed after its retries: what it held, its error file
    interrupted: bool = False
    exit_at_once: bool = False  # Ray's start was cut short: end the process with exit_at_once


def cluster_has_gpu() -> bool:
    return ray.cluster_resources().get("GPU", 0) > 0


def trial_context(spec: StudySpec, store: ResultsStore, echo) -> tuple[TrialContext, dict]:
    """What every trial gets, and the resources each asks for (no GPUs if there are none)."""
    has_gpu = cluster_has_gpu()
    if spec.resources.gpus > 0 and not has_gpu:
        echo("no GPU in the cluster: trials run on CPU")
    resources = {"cpu": spec.resources.cpus, "gpu": spec.resources.gpus if has_gpu else 0.0}
    # A relabeled study labels its new trials with the thresholds it was relabeled with.
    thresholds = study_thresholds(store) if store.exists(LABELS_FILE) else spec.labels
    context = TrialContext(
        spec.name, store.location, thresholds, spec.early_stopping,
        resources["gpu"] > 0, dict(spec.fixed), spec.resources.checkpoint_every_s,
    )  # fmt: skip
    return context, resources


def run_config(spec: StudySpec, store: ResultsStore, callbacks: list) -> tune.RunConfig:
    return tune.RunConfig(
        name=f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}",
        storage_path=store.uri(TUNE_FOLDER),
        failure_config=tune.FailureConfig(max_failures=spec.resources.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        callbacks=callbacks,
        verbose=0,
    )


def fit(tuner: tune.Tuner, store: ResultsStore, held) -> list[str]:
    """Run the Tuner; per trial that failed after its retries, what it `held` (a function
    of the trial's config), its error and where Tune wrote the error."""
    failed = []
    for result in tuner.fit():
        if result.error is None:
            continue
        cause = str(result.error).strip().splitlines()[-1] if str(result.error).strip() else ""
        where = result.path or ""
        if where.startswith(store.root.rstrip("/") + "/"):
            where = store.uri(store.name(where))
        line = shorten(f"{held(result.config)}: {cause}", width=160, lines=1)
        failed.append(f"{line}\n    {where}/error.txt")
    return failed


def run_packs(
    spec: StudySpec, store: ResultsStore, study: list[Pack], size: int, echo,
    round: int | None = None,
) -> list[str]:  # fmt: skip
    """Run the pending packs of a grid or random study, or of one round of a boundary
    search (`study`: all its packs, of `size`); the failed trials' lines."""
    context, resources = trial_context(spec, store, echo)
    context = dataclasses.replace(context, round=round)
    packs = with_checkpoints(pending_packs(study, size, store), store, echo)
    remaining = sum(len(pack.configs) for pack in packs.values())
    total = sum(len(pack.configs) for pack in study)
    part = f"study {spec.name}" + (f", round {round}" if round is not None else "")
    echo(f"{part}: {total} configurations, {total - remaining} done, {remaining} to run")
    if round is None:
        store.write_study_info(spec.name, total)
    if not packs:
        return []
    budget = sum(c.steps for pack in study for c in pack.configs)
    left = sum(c.steps for pack in packs.values() for c in pack.configs)
    progress = StudyProgress(total, total - remaining, budget, budget - left)
    view = make_view(spec.name, progress, echo)
    try:
        trainable = tune.with_parameters(run_pack, packs=packs, context=context)
        tuner = tune.Tuner(
            tune.with_resources(trainable, resources),
            param_space={"pack": tune.grid_search(sorted(packs))},
            tune_config=tune.TuneConfig(reuse_actors=True),
            run_config=run_config(spec, store, [Progress(progress, view)]),
        )
        sizes = {pack_id: len(pack.configs) for pack_id, pack in packs.items()}
        return fit(tuner, store, lambda c: f"pack {c['pack']} ({sizes[c['pack']]} configurations)")
    finally:
        view.close()


IDLE_ROUNDS = 3  # Optuna rounds in a row without a new configuration before giving up


def run_optuna(spec: StudySpec, store: ResultsStore, echo) -> list[str]:
    """Run an Optuna study until it has num_samples results, continuing its Optuna study
    from the output. Optuna may propose a configuration that is done (TPE over a small
    discrete space does), which is not trained again: rounds repeat until num_samples,
    or IDLE_ROUNDS in a row add nothing. The failed trials' lines."""
    from ray.tune.search.optuna import OptunaSearch

    context, resources = trial_context(spec, store, echo)
    total = spec.search.num_samples
    store.write_study_info(spec.name, total)
    param_space = {key: optuna_domain(domain) for key, domain in spec.space.items()}
    journal = OptunaJournal(spec, store, OptunaSearch.convert_search_space(param_space))
    steps = typical_steps(spec)
    done = len(store.completed_ids())
    echo(f"study {spec.name}: {total} configurations, {done} done, {total - done} to run")
    progress = StudyProgress(total, done, total * steps, done * steps)
    view = make_view(spec.name, progress, echo) if done < total else None
    idle = 0  # rounds in a row that added no configuration
    try:
        while done < total:
            searcher = OptunaSearch(
                metric=spec.search.metric, mode=spec.search.mode, sampler=journal.sampler(),
                storage=journal.storage, study_name=journal.study.study_name,
            )  # fmt: skip
            trainable = tune.with_parameters(run_suggestion, context=context)
            callbacks = [Progress(progress, view, after_trial=journal.save)]
            tuner = tune.Tuner(
                tune.with_resources(trainable, resources), param_space=param_space,
                tune_config=tune.TuneConfig(search_alg=searcher, num_samples=total - done),
                run_config=run_config(spec, store, callbacks),
            )  # fmt: skip
            failed = fit(tuner, store, lambda c: trial_id(TrainConfig(**spec.fixed, **c)))
            before, done = done, len(store.completed_ids())
            idle = idle + 1 if done == before else 0
            if failed or idle >= IDLE_ROUNDS:
                return failed
        return []
    finally:
        journal.close()
        if view is not None:
            view.close()


def typical_steps(spec: StudySpec) -> int:
    """The step budget of an Optuna configuration (the middle of a searched range)."""
    domain = spec.space.get("steps")
    if domain is None:
        return TrainConfig(**spec.fixed).steps
    return int(sum(domain.values) / len(domain.values))


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


def leave_ray_working_dir() -> None:
    """A Ray Job's driver standing in the job's working_dir package moves to its own folder.

    Ray may delete that package once the trial workers release it, and Tune needs a
    current directory when it finishes (seen with `ray job submit` on Ray 2.60).
    """
    if "/runtime_resources/working_dir_files/" in os.getcwd():
        os.chdir(tempfile.mkdtemp(prefix="ganmap-driver-"))


def run_study(
    spec: StudySpec, address: str | None = None, resume: bool = False, echo=print
) -> StudyOutcome:
    """Run (or finish, with `resume`) a study while holding its output's lease.

    Bad input (the output, the spec against what is there, a lease held by a live
    driver) raises SpecError or LeaseHeld before anything is written. An interrupt
    (KeyboardInterrupt: Ctrl-C, or SIGTERM as the CLI maps it) ends the run: the outcome
    says how much is done, and `--resume` finishes it.
    """
    store = ResultsStore(spec.output_location)  # resolved before the driver may move
    check_location(store.location)
    lease = Lease(store)
    lease.check()  # a live driver is named first, whatever else is wrong
    check_output(store, spec, resume)
    configs = None if spec.search.algorithm in ("optuna", "boundary") else expand(spec)
    failed, interrupted, exit_at_once, packs, boundary = [], False, False, None, None
    try:  # from the lease's first file on (an interrupt may land as the spec is written)
        with lease:
            prepare_output(store, spec, resume)
            leave_ray_working_dir()
            connect(address)
            if spec.search.algorithm == "boundary":
                boundary = run_boundary_study(spec, store, echo)
                failed = boundary.failed
            elif configs is None:
                failed = run_optuna(spec, store, echo)
            else:
                size = pack_size(spec, cluster_has_gpu())
                packs = make_packs(configs, size)
                failed = run_packs(spec, store, packs, size, echo)
    except KeyboardInterrupt as stop:
        interrupted, exit_at_once = True, isinstance(stop, RayStartCutShort)
    if spec.search.algorithm == "boundary":
        total, done = boundary_counts(spec, store, boundary)
    else:
        total, done = count_done(spec, store, configs, packs)
    return StudyOutcome(store.location, total, done, failed, interrupted, exit_at_once)


def run_boundary_study(spec: StudySpec, store: ResultsStore, echo) -> BoundaryOutcome:
    """A boundary search: each round packed and run through Tune like a grid study."""
    size = pack_size(spec, cluster_has_gpu())
    store.write_study_info(spec.name, spec.search.budget)  # at most; the search may stop early

    def run_round(configs: list[TrainConfig], number: int) -> list[str]:
        return run_packs(spec, store, make_packs(configs, size), size, echo, round=number)

    outcome = run_boundary(spec, store, run_round, echo)
    if not outcome.failed:
        store.write_study_info(spec.name, outcome.proposed)
    return outcome


def boundary_counts(
    spec: StudySpec, store: ResultsStore, outcome: BoundaryOutcome | None
) -> tuple[int, int]:
    """(configurations, with a result) of a boundary search; cut off before it planned
    its rounds (interrupted), the budget stands for the configurations."""
    if outcome is None:
        return spec.search.budget, len(store.completed_ids())
    return outcome.proposed, outcome.done


def count_done(
    spec: StudySpec, store: ResultsStore, configs: list[TrainConfig] | None,
    packs: list[Pack] | None,
) -> tuple[int, int]:  # fmt: skip
    """(configurations in the study, those with a result), from the result files' names
    (read from the files only where packs other than `packs` wrote them)."""
    if configs is None:
        return spec.search.num_samples, min(len(store.completed_ids()), spec.search.num_samples)
    if packs is None:  # interrupted before the packs were made: read the files' trial ids
        return len(configs), len(store.completed_ids() & {trial_id(c) for c in configs})
    known = {p.pack_id: p.trial_ids for p in packs}
    ids = {tid for p in packs for tid in p.trial_ids}
    return len(configs), len(store.completed_ids(known) & ids)

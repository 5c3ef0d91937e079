"""An Optuna study kept in the study's output, so that `--resume` continues its search.

Optuna's own journal storage (JournalStorage over a JSON-lines file) holds every Optuna
trial, its parameters, reported values and state: the history the sampler (TPE)
proposes from. The driver works on a local copy and saves it into the output as
`optuna.journal` after trials finish (at most every `SAVE_EVERY_S`) and when it stops.
The results tables stay the truth about what is done. On opening, Optuna trials that a
killed driver left RUNNING are closed (COMPLETE with their result's value where the
result landed, FAIL otherwise), and results the journal never heard of are added, so
the sampler knows every configuration that has a result. The sampler is seeded with
the spec's seed plus the number of trials so far: deterministic, and a resumed search
draws new configurations instead of repeating the first run's draws.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections.abc import Mapping

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from study.config import TrainConfig
from study.expand import trial_id
from study.results import JOURNAL_FILE as JOURNAL
from study.results import ResultsStore
from study.spec import StudySpec

STUDY_NAME = "ganmap"
SAVE_EVERY_S = 10.0


class OptunaJournal:
    """The study's Optuna study: a local working copy of the journal in the output."""

    def __init__(self, spec: StudySpec, store: ResultsStore, distributions: Mapping):
        self.spec, self.store, self.distributions = spec, store, dict(distributions)
        self.folder = tempfile.mkdtemp(prefix="ganmap-optuna-")
        self.path = os.path.join(self.folder, JOURNAL)
        if store.exists(JOURNAL):
            with open(self.path, "wb") as local:
                local.write(store.read_bytes(JOURNAL))
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.storage = JournalStorage(JournalFileBackend(self.path))
        direction = "maximize" if spec.search.mode == "max" else "minimize"
        self.study = optuna.create_study(
            storage=self.storage, study_name=STUDY_NAME, direction=direction, load_if_exists=True
        )
        self._saved_at = 0.0
        self._reconcile(self._results())

    def sampler(self) -> optuna.samplers.TPESampler:
        """TPE seeded by the spec's seed and the trials so far (see the module docstring)."""
        seed = (self.spec.search.seed + len(self.study.trials)) % 2**32
        return optuna.samplers.TPESampler(seed=seed)

    def save(self, force: bool = False) -> None:
        """Copy the journal into the output (at most every SAVE_EVERY_S unless `force`)."""
        if force or time.monotonic() - self._saved_at >= SAVE_EVERY_S:
            with open(self.path, "rb") as local:
                self.store.write_bytes(JOURNAL, local.read())
            self._saved_at = time.monotonic()

    def close(self) -> None:
        """Save the journal and remove the local copy."""
        try:
            self.save(force=True)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _config_id(self, params: Mapping) -> str | None:
        try:
            return trial_id(TrainConfig(**self.spec.fixed, **params))
        except ValueError:
            return None  # parameters this spec could not have proposed

    def _results(self) -> dict[str, dict]:
        """Each finished configuration's searched values and metric, by trial id."""
        if self.store.layout() != "tables":
            return {}
        columns = ["trial_id", self.spec.search.metric, *self.spec.space]
        rows = self.store.dataset("trials").to_table(columns=columns).to_pylist()
        return {row.pop("trial_id"): row for row in rows}

    def _reconcile(self, results: dict[str, dict]) -> None:
        """Close trials a dead driver left open; add results the journal never heard of."""
        metric = self.spec.search.metric
        known = set()
        for trial in self.study.get_trials(deepcopy=False):
            tid = self._config_id(trial.params)
            if trial.state == TrialState.RUNNING:
                value = results.get(tid, {}).get(metric)
                finite = value is not None and math.isfinite(value)
                state = TrialState.COMPLETE if finite else TrialState.FAIL
                self.study.tell(trial.number, value if finite else None, state=state)
                trial_state = state
            else:
                trial_state = trial.state
            if trial_state == TrialState.COMPLETE:
                known.add(tid)
        for tid, row in results.items():
            if tid in known:
                continue
            value = row[metric]
            finite = value is not None and math.isfinite(value)
            params = {key: row[key] for key in self.spec.space}
            try:
                trial = optuna.trial.create_trial(
                    state=TrialState.COMPLETE if finite else TrialState.FAIL,
                    value=value if finite else None,
                    params=params,
                    distributions=self.distributions,
                )
            except ValueError:
                continue  # e.g. a value just outside its range after a float round trip
            self.study.add_trial(trial)

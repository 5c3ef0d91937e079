"""The study spec: one YAML file, validated into one typed object before anything runs.

A spec names the study, fixes engine keys (`fixed`), searches others (`space`), and sets
the search algorithm, label thresholds, early stopping, resources and output location.
Every engine key in `fixed` and `space` is checked against `TrainConfig`, value by value.
"""

from __future__ import annotations

import difflib
import itertools
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from study.config import TrainConfig, format_validation_error
from study.labels import EarlyStopping, LabelThresholds
from study.schema import DIAGNOSTICS

ENGINE_KEYS = tuple(TrainConfig.model_fields)
DOMAIN_KINDS = ("grid", "choice", "uniform", "loguniform", "randint")
SAMPLED_KINDS = ("choice", "uniform", "loguniform", "randint")
MAX_CHECKED_COMBINATIONS = 100_000  # larger spaces are checked value by value only


class SpecError(ValueError):
    """A spec that cannot run; the message names the key, the bad value and what is allowed."""


class Domain(BaseModel):
    """One searched key: `grid`/`choice` list the values; ranges give [low, high]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["grid", "choice", "uniform", "loguniform", "randint"]
    values: tuple[Any, ...]

    @model_validator(mode="after")
    def _check_shape(self) -> Domain:
        if not self.values:
            raise ValueError(f"{self.kind}: needs at least one value")
        if self.kind in ("uniform", "loguniform", "randint"):
            if len(self.values) != 2 or not self.values[0] < self.values[1]:
                raise ValueError(f"{self.kind}: needs [low, high] with low < high")
            if self.kind == "loguniform" and self.values[0] <= 0:
                raise ValueError("loguniform: low must be > 0")
        return self

    @property
    def sampled(self) -> bool:
        return self.kind in SAMPLED_KINDS


class Search(BaseModel):
    """How configurations are chosen: a full grid, random samples, or Optuna (TPE)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["grid", "random", "optuna"] = Field("grid", description="search method")
    num_samples: int = Field(1, ge=1, description="random/optuna: samples (per grid point)")
    seed: int = Field(0, ge=0, description="seed of the random/optuna sampler")
    metric: str = Field(
        "score", description="optuna: `score` or a final diagnostic, e.g. final_high_quality"
    )
    mode: Literal["max", "min"] = Field("max", description="optuna: maximize or minimize")


class Resources(BaseModel):
    """What each Ray Tune trial asks for, and how many configurations it trains at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpus: float = Field(1.0, gt=0, description="CPUs per Tune trial")
    gpus: float = Field(0.0, ge=0, description="GPUs per Tune trial (fractional allowed)")
    pack: int | None = Field(
        None, ge=1, le=4096, description="configurations per trial (default: 8 CPU, 256 GPU)"
    )
    max_failures: int = Field(2, ge=0, description="retries of a trial whose worker died")
    checkpoint_every_s: float = Field(
        300, ge=0, description="seconds between a trial's population checkpoints (0: none)"
    )


class StudySpec(BaseModel):
    """A whole study: what to vary, how to judge it, where to put the results."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="study name")
    fixed: dict[str, Any] = Field(default_factory=dict, description="engine keys held fixed")
    space: dict[str, Domain] = Field(description="engine keys searched")
    search: Search = Field(default_factory=Search)
    labels: LabelThresholds = Field(
        default_factory=LabelThresholds, description="label thresholds (docs/labels.md)"
    )
    early_stopping: EarlyStopping = Field(default_factory=EarlyStopping)
    resources: Resources = Field(default_factory=Resources)
    output: str = Field("results/{name}", description="result folder or URI ({name} expands)")

    @field_validator("space", mode="before")
    @classmethod
    def _domains(cls, space: Any) -> Any:
        """A plain list is a grid; a mapping names its kind: {loguniform: [1e-4, 1e-2]}."""
        if not isinstance(space, dict) or not space:
            raise ValueError("the search space is empty: search at least one engine key")
        return {key: _domain(key, value) for key, value in space.items()}

    @model_validator(mode="after")
    def _check(self) -> StudySpec:
        _check_engine_keys("fixed", self.fixed)
        _check_engine_keys("space", self.space)
        try:
            TrainConfig(**self.fixed)
        except ValidationError as error:
            raise ValueError(f"fixed.{format_validation_error(error)}") from None
        overlap = sorted(set(self.fixed) & set(self.space))
        if overlap:
            raise ValueError(f"keys both fixed and searched: {overlap}")
        for key, domain in self.space.items():
            for value in domain.values:
                _check_value(key, value, self.fixed)
        _check_combinations(self.fixed, self.space)
        metrics = ["score", *(f"final_{name}" for name in DIAGNOSTICS)]
        if self.search.metric not in metrics:
            raise ValueError(f"search.metric {self.search.metric!r}: allowed {metrics}")
        sampled = [key for key, domain in self.space.items() if domain.sampled]
        if self.search.algorithm == "grid" and sampled:
            raise ValueError(f"search.algorithm grid cannot sample {sampled}; use random or optuna")
        if self.search.algorithm == "grid" and self.search.num_samples != 1:
            raise ValueError("search.num_samples repeats identical grid points; vary seed instead")
        return self

    @property
    def output_location(self) -> str:
        return self.output.format(name=self.name)


def _domain(key: str, value: Any) -> Any:
    if isinstance(value, Domain):
        return value
    if isinstance(value, list):
        return {"kind": "grid", "values": value}
    if isinstance(value, dict) and len(value) == 1:
        kind, values = next(iter(value.items()))
        if kind not in DOMAIN_KINDS:
            raise ValueError(f"space.{key}: unknown domain {kind!r}; allowed: {DOMAIN_KINDS}")
        return {"kind": kind, "values": values if isinstance(values, list) else [values]}
    raise ValueError(
        f"space.{key}: give a list (a grid) or one of {DOMAIN_KINDS}, e.g. {{grid: [1, 2]}}"
    )


def _check_engine_keys(section: str, keys) -> None:
    for key in keys:
        if key not in ENGINE_KEYS:
            close = difflib.get_close_matches(key, ENGINE_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"{section}.{key}: not an engine key{hint}; allowed: {', '.join(ENGINE_KEYS)}"
            )


def _check_value(key: str, value: Any, fixed: dict[str, Any]) -> None:
    """A searched value must make a valid engine config together with the fixed keys."""
    try:
        TrainConfig(**{**fixed, key: value})
    except ValidationError as error:
        raise ValueError(f"space.{key}: {format_validation_error(error)}") from None


def _check_combinations(fixed: dict[str, Any], space: dict[str, Domain]) -> None:
    """Rules across keys (e.g. pac with problem) hold for every combination the space
    can produce: listed values crossed, ranges at their low end."""
    candidates = {
        key: domain.values if domain.kind in ("grid", "choice") else domain.values[:1]
        for key, domain in space.items()
    }
    if math.prod(len(values) for values in candidates.values()) > MAX_CHECKED_COMBINATIONS:
        return
    for point in itertools.product(*candidates.values()):
        values = dict(zip(candidates, point))
        try:
            TrainConfig(**{**fixed, **values})
        except ValidationError as error:
            raise ValueError(f"space: {values}: {format_validation_error(error)}") from None


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a YAML spec (safe loader); SpecError names what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a spec is a mapping of keys (name, fixed, space, ...)")
    return parse_spec(data, str(path))


def parse_spec(data: dict, source: str = "spec") -> StudySpec:
    try:
        return StudySpec(**data)
    except ValidationError as error:
        raise SpecError(f"{source}: {_spec_errors(error)}") from None


def _spec_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"] if part != "kind")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{key}: {message}" if key else message)
    return "\n".join(lines)

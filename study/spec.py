"""The study spec: one YAML file, validated into one typed object before anything runs.

A spec names the study, fixes engine keys (`fixed`), searches others (`space`), and sets
the search algorithm, label thresholds, early stopping, resources, limits and output
location. Every engine key in `fixed` and `space` is checked against `TrainConfig`,
value by value. The study's size is counted, never expanded, and checked against
`limits` here, so an oversized study is refused before anything runs or is written.
"""

from __future__ import annotations

import difflib
import itertools
import math
import numbers
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from study.boundary import Axis, BoundarySearch, CategoricalAxis, NumericAxis
from study.config import TrainConfig, format_validation_error
from study.exits import echo_value, shorten
from study.schema import DIAGNOSTICS
from study.thresholds import EarlyStopping, LabelThresholds
from study.yaml_input import YamlError, load_yaml

ENGINE_KEYS = tuple(TrainConfig.model_fields)
DOMAIN_KINDS = ("grid", "choice", "uniform", "loguniform", "randint")
SAMPLED_KINDS = ("choice", "uniform", "loguniform", "randint")
RANGE_KINDS = ("uniform", "loguniform", "randint")
CPU_PACK, GPU_PACK = 8, 256  # configurations per Tune trial when resources.pack is unset
MAX_VALUES = 10_000  # values one searched key may list
MAX_CHECKED_COMBINATIONS = 100_000  # larger spaces are checked value by value only


class SpecError(ValueError):
    """A spec that cannot run; the message names the key, the bad value and what is allowed."""


class Domain(BaseModel):
    """One searched key: `grid`/`choice` list the values; ranges give [low, high]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["grid", "choice", "uniform", "loguniform", "randint"]
    values: tuple[Any, ...] = Field(max_length=MAX_VALUES)

    @model_validator(mode="after")
    def _check_shape(self) -> Domain:
        if not self.values:
            raise ValueError(f"{self.kind}: needs at least one value")
        if self.kind in RANGE_KINDS:
            if len(self.values) != 2:
                raise ValueError(f"{self.kind}: needs [low, high], got {len(self.values)} values")
            low, high = (_range_end(self.kind, value) for value in self.values)
            if not low < high:
                got = f"got {low}, {high}"
                raise ValueError(f"{self.kind}: needs [low, high] with low < high, {got}")
            if self.kind == "loguniform" and low <= 0:
                raise ValueError(f"loguniform: low must be > 0, got {low}")
            object.__setattr__(self, "values", (low, high))
        return self

    @property
    def sampled(self) -> bool:
        return self.kind in SAMPLED_KINDS

    @property
    def size(self) -> float:
        """How many distinct values it holds (a float range: infinitely many)."""
        if self.kind in ("grid", "choice"):
            return len(self.values)
        return self.values[1] - self.values[0] + 1 if self.kind == "randint" else math.inf

    def probes(self) -> tuple:
        """Values that stand for the whole domain when checked against TrainConfig: every
        listed value, or a range's ends and a point inside it (a float range on an integer
        key fails there)."""
        if self.kind in ("grid", "choice"):
            return self.values
        low, high = self.values
        inside = low + (high - low) * 0.5123 if self.kind != "randint" else (low + high) // 2
        return (low, inside, high)


def _as_number(value: Any) -> float | None:
    """A number, or a string that spells one (pydantic reads "64" as 64), else None."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _range_end(kind: str, value: Any) -> float | int:
    """A range's end as a number; numeric strings ('1e-4', which YAML 1.1 leaves a string
    when quoted) are read as numbers, anything else is refused by name."""
    if isinstance(value, str) and _as_number(value) is not None:
        value = _as_number(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{kind}: low and high must be finite numbers, got {echo_value(value)}")
    if kind == "randint":
        if value != int(value):
            raise ValueError(f"randint: low and high must be integers, got {value}")
        return int(value)
    return float(value)


class Search(BaseModel):
    """How configurations are chosen: a full grid, random samples, or Optuna (TPE)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["grid", "random", "optuna"] = Field("grid", description="search method")
    num_samples: int = Field(1, ge=1, description="random/optuna: samples (per grid point)")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the random/optuna sampler")
    metric: str = Field(
        "score", description="optuna: `score` or a final diagnostic, e.g. final_high_quality"
    )
    mode: Literal["max", "min"] = Field("max", description="optuna: maximize or minimize")


class Resources(BaseModel):
    """What each Ray Tune trial asks for, and how many configurations it trains at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpus: float = Field(1.0, gt=0, le=1024, description="CPUs per Tune trial")
    gpus: float = Field(0.0, ge=0, le=64, description="GPUs per Tune trial (fractional allowed)")
    pack: int | None = Field(
        None, ge=1, le=4096, description="configurations per trial (default: 8 CPU, 256 GPU)"
    )
    max_failures: int = Field(2, ge=0, le=100, description="retries of a trial whose worker died")
    checkpoint_every_s: float = Field(
        300, ge=0, le=86400, description="seconds between population checkpoints (0: none)"
    )

    @property
    def largest_pack(self) -> int:
        """The pack size trials will use at most (the GPU default when GPUs are asked for)."""
        return self.pack or (GPU_PACK if self.gpus > 0 else CPU_PACK)


class Limits(BaseModel):
    """How big a study may be; checked when the spec is validated, before anything runs."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_configurations: int = Field(
        1_000_000, ge=1, le=10**9, description="configurations in the study (counted, not expanded)"
    )
    max_pack_memory_gib: float = Field(
        64.0, gt=0, le=4096, description="estimated training memory of one pack (one Tune trial)"
    )


def member_memory_bytes(values: dict[str, Any]) -> int:
    """A rough float32 estimate of one member's training memory, from its engine keys:
    G's and D's parameters with their gradients and two Adam moments (4 copies), and the
    activations of a batch (or an evaluation) through both networks. Every key named
    *hidden_dim / *hidden_layers counts (the widest, the deepest); a maxout unit as
    `maxout_pieces` units."""
    widths = [v for k, v in values.items() if k.endswith("hidden_dim") and v is not None]
    depths = [v for k, v in values.items() if k.endswith("hidden_layers") and v is not None]
    width, layers = max(*widths, values["z_dim"], 64), max(depths) + 1
    if "maxout" in (values.get("g_activation"), values.get("d_activation")):
        width *= values.get("maxout_pieces", 5)
    parameters = 2 * layers * width * (width + 1)
    batch = max(values["batch_size"] * 2 * (1 + values["unroll_steps"]), values["eval_samples"])
    return 4 * (4 * parameters + 2 * layers * width * batch)


def _search_kind(search: Any) -> str:
    """`search: {algorithm: boundary, ...}` is a BoundarySearch; any other a Search."""
    algorithm = search.get("algorithm") if isinstance(search, dict) else search.algorithm
    return "boundary" if algorithm == "boundary" else "search"


class StudySpec(BaseModel):
    """A whole study: what to vary, how to judge it, where to put the results."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100, description="study name"
    )
    fixed: dict[str, Any] = Field(default_factory=dict, description="engine keys held fixed")
    space: dict[str, Domain] = Field(description="engine keys searched")
    search: Annotated[
        Annotated[Search, Tag("search")] | Annotated[BoundarySearch, Tag("boundary")],
        Discriminator(_search_kind),
    ] = Field(default_factory=Search)
    labels: LabelThresholds = Field(
        default_factory=LabelThresholds, description="label thresholds (docs/labels.md)"
    )
    early_stopping: EarlyStopping = Field(default_factory=EarlyStopping)
    resources: Resources = Field(default_factory=Resources)
    limits: Limits = Field(default_factory=Limits)
    output: str = Field(
        "results/{name}", min_length=1, max_length=1024,
        description="result folder or URI ({name} is replaced by the study name)",
    )  # fmt: skip

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
            for value in domain.probes():
                _check_value(key, value, self.fixed)
        _check_combinations(self.fixed, self.space)
        if isinstance(self.search, BoundarySearch):
            self.search.check(self.boundary_axes())
            return self
        metrics = ["score", *(f"final_{name}" for name in DIAGNOSTICS)]
        if self.search.metric not in metrics:
            raise ValueError(f"search.metric {self.search.metric!r}: allowed {metrics}")
        sampled = [key for key, domain in self.space.items() if domain.sampled]
        if self.search.algorithm == "grid" and sampled:
            raise ValueError(f"search.algorithm grid cannot sample {sampled}; use random or optuna")
        if self.search.algorithm == "grid" and self.search.num_samples != 1:
            raise ValueError("search.num_samples repeats identical grid points; vary seed instead")
        return self

    @model_validator(mode="after")
    def _check_size(self) -> StudySpec:
        """Refuse, by counting, a study over its limits (configurations, pack memory)."""
        limit = self.limits.max_configurations
        if self.configurations > limit:
            raise ValueError(
                f"the study has {self.configurations:.3g} configurations, over "
                f"limits.max_configurations ({limit:,}): search fewer values, or raise the limit"
            )
        distinct = math.prod(domain.size for domain in self.space.values())
        if self.search.algorithm == "optuna" and self.search.num_samples > distinct:
            raise ValueError(
                f"search.num_samples {self.search.num_samples} exceeds the {distinct} distinct "
                "configurations of the space"
            )
        pack = 1 if self.search.algorithm == "optuna" else self.resources.largest_pack
        gib = pack * member_memory_bytes(self.largest_values()) / 2**30
        if gib > self.limits.max_pack_memory_gib:
            raise ValueError(
                f"a pack of {pack} of the largest configuration needs about {gib:.3g} GiB, over "
                f"limits.max_pack_memory_gib ({self.limits.max_pack_memory_gib:g}): "
                "lower resources.pack or the model size, or raise the limit"
            )
        return self

    @property
    def configurations(self) -> int:
        """How many configurations the study has, counted without expanding it (an upper
        bound: expansion drops duplicates, e.g. reg_weight of a weightless regularizer)."""
        if self.search.algorithm == "boundary":
            return self.search.budget
        if self.search.algorithm == "optuna":
            return self.search.num_samples
        grid = math.prod(len(d.values) for d in self.space.values() if not d.sampled)
        sampled = any(d.sampled for d in self.space.values())
        return grid * (self.search.num_samples if sampled else 1)

    def largest_values(self) -> dict[str, Any]:
        """Every engine key at its largest value in the study (for the memory estimate)."""
        values = TrainConfig(**self.fixed).model_dump()
        for key, domain in self.space.items():
            numeric = [number for number in map(_as_number, domain.values) if number is not None]
            if numeric:
                values[key] = max(numeric)
        return values

    def boundary_axes(self) -> list[Axis]:
        """A boundary search's axes: ranges are numeric (log for loguniform), lists are
        categorical (each value its own map). Integer ranges and `seed` are refused by
        name: the lattice is continuous, and `search.seeds` gives the seeds."""
        axes: list[Axis] = []
        for key, domain in self.space.items():
            if key == "seed":
                raise ValueError("space.seed: a boundary search sets the seeds (search.seeds)")
            if domain.kind == "randint":
                raise ValueError(
                    f"space.{key}: a boundary search maps continuous ranges (uniform, "
                    "loguniform); list an integer key's values instead (each its own map)"
                )
            if domain.kind in ("uniform", "loguniform"):
                low, high = domain.values
                axes.append(NumericAxis(key, low, high, log=domain.kind == "loguniform"))
            else:
                axes.append(CategoricalAxis(key, domain.values))
        return axes

    @field_validator("output")
    @classmethod
    def _output_template(cls, output: str) -> str:
        """Only `{name}` is substituted; any other brace is a typo, refused by name."""
        rest = output.replace("{name}", "")
        if "{" in rest or "}" in rest:
            raise ValueError(
                f"{echo_value(output)}: only {{name}} is substituted (braces otherwise not allowed)"
            )
        if "\0" in output:
            raise ValueError("a NUL character is not allowed")
        return output

    @property
    def output_location(self) -> str:
        return self.output.replace("{name}", self.name)


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
    """Read and validate a YAML spec (study.yaml_input's strict safe loader); SpecError
    names what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    try:
        data = load_yaml(path.read_bytes(), str(path))
    except (OSError, YamlError) as error:
        raise SpecError(str(error)) from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a spec is a mapping of keys (name, fixed, space, ...)")
    return parse_spec(data, str(path))


def parse_spec(data: dict, source: str = "spec") -> StudySpec:
    if not all(isinstance(key, str) for key in data):
        raise SpecError(f"{source}: keys are names (name, fixed, space, ...), not numbers")
    try:
        return StudySpec(**data)
    except ValidationError as error:
        raise SpecError(f"{source}: {_spec_errors(error)}") from None


def with_output(spec: StudySpec, output: str) -> StudySpec:
    """The spec writing to `output` instead (validated like the spec's own)."""
    try:
        return StudySpec(**{**dict(spec), "output": output})
    except ValidationError as error:
        raise SpecError(f"--output: {_spec_errors(error)}") from None


def _spec_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = item["loc"]
        if loc[:1] == ("search",):  # drop the union's tag: search.boundary.budget -> search.budget
            loc = loc[:1] + loc[2:]
        key = ".".join(str(part) for part in loc if part != "kind")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{key}: {message}" if key else message)
    return shorten("\n".join(lines))

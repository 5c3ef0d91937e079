"""The validated configuration of one GAN training run (one population member).

Every engine key lives here, with its default and a one-line description that
`ganmap train --help-keys` prints. Values are validated once, on construction.
"""

from __future__ import annotations

import difflib
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from study.exits import echo_value

Problem = Literal["ring8", "grid25", "dirac", "digits"]
Loss = Literal["minimax", "nonsaturating", "wasserstein", "hinge", "least_squares"]
Regularizer = Literal[
    "none", "gp", "r1", "r2", "weight_clip", "instance_noise", "spectral_norm", "l2"
]
Optimizer = Literal["adam", "sgd"]
Activation = Literal["relu", "leaky_relu", "tanh", "maxout"]
Init = Literal["uniform", "orthogonal", "normal"]
Update = Literal["alternating", "simultaneous"]
RingLayout = Literal["even", "notebook"]

# reg_weight when the user gives none: the usual value in each regularizer's paper.
DEFAULT_REG_WEIGHT: dict[str, float] = {
    "none": 0.0,
    "gp": 10.0,  # Gulrajani et al. 2017
    "r1": 10.0,  # Mescheder et al. 2018
    "r2": 10.0,
    "weight_clip": 0.01,  # Arjovsky et al. 2017: clip value c
    "instance_noise": 0.1,  # noise std added to D's inputs
    "spectral_norm": 0.0,  # no weight: the constraint is exact
    "l2": 1e-4,
}
WEIGHTLESS_REGULARIZERS = ("none", "spectral_norm")

# Keys that may differ between members of one population; every other key is structure.
MEMBER_KEYS = ("lr_g", "lr_d", "reg_weight", "beta1", "beta2", "seed")

# Shared architecture keys; `g_<key>` and `d_<key>` override each for one network.
ARCHITECTURE_KEYS = ("hidden_dim", "hidden_layers")


class TrainConfig(BaseModel):
    """One GAN configuration: problem, model, loss, regularizer and schedule."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    problem: Problem = Field("ring8", description="data problem: ring8, grid25, dirac, digits")
    radius: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="ring8 radius (2.0), grid25 spacing scale (1.0), dirac start distance (0.5)",
    )
    std: float | None = Field(
        None, gt=0, le=1000, description="mixture component std (0.02 / 0.05)"
    )
    ring_layout: RingLayout = Field(
        "even",
        description="ring8 means: even (8 distinct) or notebook (the Unrolled GAN notebook's "
        "linspace(0, 2 pi, 8): 7 distinct, the first drawn twice as often)",
    )
    loss: Loss = Field("nonsaturating", description="adversarial loss pair")
    regularizer: Regularizer = Field("none", description="discriminator regularizer")
    reg_weight: float | None = Field(
        None,
        ge=0,
        le=1e6,
        description="regularizer weight (default: the regularizer's usual value)",
    )
    unroll_steps: int = Field(0, ge=0, le=50, description="Unrolled-GAN D steps (0 = off)")
    lr_g: float = Field(1e-3, gt=0, le=10, description="generator learning rate")
    lr_d: float = Field(1e-3, gt=0, le=10, description="discriminator learning rate")
    d_steps: int = Field(1, ge=1, le=100, description="D updates per round (D:G ratio)")
    g_steps: int = Field(1, ge=1, le=100, description="G updates per round (D:G ratio)")
    optimizer: Optimizer = Field("adam", description="optimizer for both players")
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2")
    batch_size: int = Field(
        256, ge=1, le=65536, description="samples per update (packs of `pac` when pac > 1)"
    )
    steps: int = Field(2000, ge=1, le=10_000_000, description="generator updates in the run")
    eval_every: int = Field(
        100, ge=1, le=10_000_000, description="generator updates between evaluations"
    )
    eval_samples: int = Field(2500, ge=10, le=1_000_000, description="samples per evaluation")
    z_dim: int = Field(16, ge=1, le=4096, description="latent dimension")
    hidden_dim: int = Field(128, ge=1, le=8192, description="hidden units per layer, G and D")
    hidden_layers: int = Field(3, ge=0, le=16, description="hidden layers in G and D")
    g_hidden_dim: int | None = Field(
        None, ge=1, le=8192, description="G's hidden units per layer (default: hidden_dim)"
    )
    d_hidden_dim: int | None = Field(
        None, ge=1, le=8192, description="D's hidden units per layer (default: hidden_dim)"
    )
    g_hidden_layers: int | None = Field(
        None, ge=0, le=16, description="G's hidden layers (default: hidden_layers)"
    )
    d_hidden_layers: int | None = Field(
        None, ge=0, le=16, description="D's hidden layers (default: hidden_layers)"
    )
    g_activation: Activation = Field("relu", description="G's hidden activation")
    d_activation: Activation = Field(
        "leaky_relu", description="D's hidden activation (leaky_relu: slope 0.2)"
    )
    maxout_pieces: int = Field(
        5, ge=2, le=16, description="linear pieces per maxout unit (PacGAN's D: 5)"
    )
    g_batch_norm: bool = Field(
        False, description="batch-normalize G's hidden layers before their activation (PacGAN)"
    )
    d_input_scale: float = Field(
        1.0, gt=0, le=1000, description="D multiplies its input by this (Metz et al. 2016: 0.25)"
    )
    init: Init = Field(
        "uniform",
        description="weights: uniform (PyTorch nn.Linear), orthogonal x init_gain or normal "
        "N(0, 0.02 x init_gain), zero biases",
    )
    init_gain: float = Field(
        1.0, gt=0, le=100, description="scale of orthogonal or normal initial weights"
    )
    g_init: Init | None = Field(None, description="G's initial weights (default: init)")
    d_init: Init | None = Field(None, description="D's initial weights (default: init)")
    g_init_gain: float | None = Field(
        None, gt=0, le=100, description="G's init gain (default: init_gain; 1 for uniform)"
    )
    d_init_gain: float | None = Field(
        None, gt=0, le=100, description="D's init gain (default: init_gain; 1 for uniform)"
    )
    update: Update = Field(
        "alternating",
        description="alternating (D, then G on the new D) or simultaneous (both from one state)",
    )
    pac: int = Field(
        1, ge=1, le=16, description="PacGAN packing: D judges this many samples jointly"
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="seed of initial weights and every random draw"
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value, info):
        """true/false are not numbers (pydantic would read them as 1 and 0)."""
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and {int, float} & {annotation, *get_args(annotation)}:
            raise PydanticCustomError("bool_number", "a number is expected, not true/false")
        return value

    @model_validator(mode="after")
    def _resolve_reg_weight(self) -> TrainConfig:
        """Fill reg_weight from the regularizer's default; weightless ones record 0."""
        if self.regularizer in WEIGHTLESS_REGULARIZERS:
            object.__setattr__(self, "reg_weight", 0.0)
        elif self.reg_weight is None:
            object.__setattr__(self, "reg_weight", DEFAULT_REG_WEIGHT[self.regularizer])
        return self

    @model_validator(mode="after")
    def _resolve_architecture(self) -> TrainConfig:
        """Per-network widths and depths default to the shared shorthand; stored concrete."""
        for network in ("g", "d"):
            for key in ARCHITECTURE_KEYS:
                if getattr(self, f"{network}_{key}") is None:
                    object.__setattr__(self, f"{network}_{key}", getattr(self, key))
        return self

    @model_validator(mode="after")
    def _resolve_init(self) -> TrainConfig:
        """Per-network initialization defaults to the shared `init`/`init_gain`, stored
        concrete; a gain scales orthogonal or normal weights only, so a network drawn
        uniformly gets gain 1 and a gain set for it alone is an error."""
        shared_gain_used = False
        for network in ("g", "d"):
            init = getattr(self, f"{network}_init") or self.init
            gain = getattr(self, f"{network}_init_gain")
            if gain is None:
                gain = default_init_gain(init, self.init_gain)
                shared_gain_used |= init != "uniform"
            elif gain != 1.0 and init == "uniform":
                raise ValueError(
                    f"{network}_init_gain: {gain} scales orthogonal or normal weights; set "
                    f"{network}_init (or init) to orthogonal or normal (got {init})"
                )
            object.__setattr__(self, f"{network}_init", init)
            object.__setattr__(self, f"{network}_init_gain", gain)
        if self.init_gain != 1.0 and self.init == "uniform" and not shared_gain_used:
            raise ValueError(
                f"init_gain: {self.init_gain} scales orthogonal or normal weights; set init: "
                f"orthogonal or normal (got init: {self.init})"
            )
        return self

    @model_validator(mode="after")
    def _check_maxout_and_update(self) -> TrainConfig:
        """Pieces belong to maxout units; simultaneous updates pair one D and one G update,
        so there is no D:G ratio to honour."""
        if self.maxout_pieces != 5 and "maxout" not in (self.g_activation, self.d_activation):
            raise ValueError(
                f"maxout_pieces: {self.maxout_pieces} sets maxout units; set g_activation or "
                f"d_activation to maxout (got {self.g_activation} and {self.d_activation})"
            )
        if self.update == "simultaneous" and (self.d_steps, self.g_steps) != (1, 1):
            raise ValueError(
                "update: simultaneous takes one D and one G update from the same state; "
                f"d_steps and g_steps must be 1 (got d_steps {self.d_steps}, "
                f"g_steps {self.g_steps})"
            )
        return self

    @model_validator(mode="after")
    def _check_ring_layout(self) -> TrainConfig:
        """Only ring8 has a ring to lay out."""
        if self.ring_layout != "even" and self.problem != "ring8":
            raise ValueError(
                f"ring_layout: {self.ring_layout} places ring8's means; problem {self.problem} "
                "allows only ring_layout even"
            )
        return self

    @model_validator(mode="after")
    def _check_dirac(self) -> TrainConfig:
        """The Dirac-GAN's G and D are single numbers, theta and psi * x, placed at its start
        point: D has no input to pack into and neither has weights to initialize."""
        if self.problem != "dirac":
            return self
        if self.pac > 1:
            raise ValueError(
                f"pac: {self.pac} needs an MLP discriminator; problem dirac allows only pac 1"
            )
        for key in ("init", "g_init", "d_init"):
            if getattr(self, key) != "uniform":
                raise ValueError(
                    f"{key}: {getattr(self, key)} initializes MLP weights; problem dirac "
                    f"starts from its radius, so {key} must be left at uniform"
                )
        if self.g_batch_norm:
            raise ValueError(
                "g_batch_norm: true normalizes an MLP generator's hidden layers; problem dirac's "
                "G is the single number theta, so g_batch_norm must be left at false"
            )
        if self.d_input_scale != 1.0:
            raise ValueError(
                f"d_input_scale: {self.d_input_scale} scales an MLP discriminator's input; "
                "problem dirac's D is psi * x, so d_input_scale must be left at 1"
            )
        return self

    def structure(self) -> tuple:
        """The keys a population shares: everything except MEMBER_KEYS."""
        return tuple(
            (key, value) for key, value in self.model_dump().items() if key not in MEMBER_KEYS
        )


# Shared keys and the per-network keys they resolve (stored resolved, as concrete values).
_INIT_KEYS = ("g_init", "d_init", "g_init_gain", "d_init_gain")
PER_NETWORK_KEYS = {
    **{key: (f"g_{key}", f"d_{key}") for key in ARCHITECTURE_KEYS},
    "init": _INIT_KEYS,
    "init_gain": _INIT_KEYS,
}


def changed_configuration(stored: dict, changes: dict) -> dict:
    """A stored, resolved configuration with `changes` applied as a spec would apply them:
    a shared key changed sets both networks again, so the stored per-network values it
    resolved are dropped (unless `changes` gives them too)."""
    dropped = {key for shared in changes for key in PER_NETWORK_KEYS.get(shared, ())}
    kept = {key: value for key, value in stored.items() if key not in dropped}
    return {**kept, **changes}


def default_init_gain(init: str, shared_gain: float) -> float:
    """A network's gain when it sets none: the shared `init_gain`, or 1 for uniform weights,
    which take no gain."""
    return 1.0 if init == "uniform" else shared_gain


def describe_keys() -> list[tuple[str, str, str]]:
    """(key, default, description) for every engine key, for help texts."""
    return [
        (name, repr(field.default), field.description or "")
        for name, field in TrainConfig.model_fields.items()
    ]


def format_validation_error(
    error: ValidationError, model: type[BaseModel] = TrainConfig, noun: str = "key"
) -> str:
    """One line per bad key of `model`: the key, the bad value and what is allowed."""
    names = list(model.model_fields)
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "config"
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key.split(".")[-1], names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"{key}: unknown {noun}{hint}; allowed {noun}s: {', '.join(names)}")
        elif not item["loc"]:  # a rule across keys: its message names them
            lines.append(item["msg"].removeprefix("Value error, "))
        else:
            lines.append(f"{key}: {item['msg']} (got {echo_value(item.get('input'))})")
    return "\n".join(lines)

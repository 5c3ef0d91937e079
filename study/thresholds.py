"""The labeler's settings: every threshold it uses and the early-stopping rule, validated.

A spec's `labels` and `early_stopping` sections, stored with every study (labels.yaml)
so a relabel or a report reads what decided its labels. Plain pydantic, no torch: the
analysis package reads them without importing the labeler.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LabelThresholds(BaseModel):
    """Every threshold the labeler uses, with its default; a spec's `labels` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(5, ge=2, description="fewest trailing evaluations a signature is judged on")
    window_share: float = Field(
        0.25, ge=0, le=1, description="judge on this share of the run's last evaluations, if more"
    )
    stable_share: float = Field(
        0.8, gt=0, le=1, description="'most of the window': share of its evaluations a state holds"
    )
    explode: float = Field(
        1e4, gt=0, description="diverged: a loss (or Dirac distance) above this in size"
    )
    explode_grad: float = Field(1e6, gt=0, description="diverged: a gradient norm above this")
    flew_off: float = Field(
        4.0, gt=1, description="diverged: samples spread this many times the data's (diversity)"
    )
    held_share: float = Field(
        0.2, gt=0, le=1, description="a mode is held with >= this share of the data's samples there"
    )
    complete_modes: float = Field(
        0.15, ge=0, le=1, description="complete collapse: <= max(1, this x modes) modes held"
    )
    complete_effective: float = Field(
        2.0, ge=1, description="complete collapse: fewer effective modes (modes x balance), "
        "or at most complete_modes x modes",
    )  # fmt: skip
    collapse_missing: float = Field(
        0.1, ge=0, lt=1, description="partial collapse: at least max(1, this x modes) not held"
    )
    blob_diversity: float = Field(
        0.12, ge=0, description="one blob (complete collapse): diversity below this (data = 1)"
    )
    collapse_balance: float = Field(
        0.4, ge=0, le=1, description="partial collapse: mode balance exp(-mass_kl) below this"
    )
    converged_balance: float = Field(
        0.8, ge=0, le=1, description="converged: mode balance exp(-mass_kl) at least this"
    )
    converged_quality: float = Field(
        0.4, ge=0, le=1, description="converged: high_quality (within 3 std) at least this"
    )
    converged_steady: float = Field(
        0.3, gt=0, description="converged: high_quality rose by less than this share of itself"
    )
    converged_drift: float = Field(
        0.5, gt=0, description="converged: samples move <= this x the data scale per evaluation"
    )
    converged_shift: float = Field(
        0.15, ge=0, le=1, description="converged: mode mass changes <= this (total variation)"
    )
    oscillation_drift: float = Field(
        0.6, gt=0, description="oscillating: samples move >= this x the data scale per evaluation"
    )
    oscillation_shift: float = Field(
        0.25, gt=0, le=1, description="oscillating: mode mass changes >= this (total variation)"
    )
    shift_floors: float = Field(
        5.0, ge=1, description="oscillating: and the mass change is >= this x its noise floor"
    )
    improving: float = Field(
        0.05, ge=0, description="unconverged, still improving: quality or balance rose this much"
    )
    early_evals: int = Field(2, ge=1, description="evaluations that give G's early gradient norm")
    vanish_ratio: float = Field(
        0.1, gt=0, lt=1, description="vanishing: G's gradient norm <= this x its early value"
    )
    vanish_d_fake: float = Field(
        0.05, ge=0, le=1, description="vanishing: D(G(z)) <= this (probability losses)"
    )
    vanish_quality: float = Field(
        0.2, ge=0, le=1, description="vanishing: high_quality below this (quality is poor)"
    )
    oscillation_window: int = Field(
        12, ge=6, description="evaluations for the loss-periodicity test"
    )
    periodicity: float = Field(
        0.6, gt=0, le=1, description="oscillating: share of loss power in one frequency >= this"
    )
    amplitude: float = Field(
        0.1, ge=0, description="oscillating: detrended loss swing / mean loss >= this"
    )
    min_swing: float = Field(
        1e-3, ge=0, description="oscillating: detrended loss std at least this (not noise)"
    )
    persistence: float = Field(
        0.5, gt=0, description="a swing persists when late/early size >= this (else decaying)"
    )
    dirac_window_share: float = Field(
        0.5, ge=0, le=1, description="Dirac: judge orbits on this share of the run's last "
        "evaluations, if more than the window (a cycle needs points to show)",
    )  # fmt: skip
    dirac_converged: float = Field(
        0.2, gt=0, lt=1, description="Dirac: converged at distance <= this x the initial one"
    )
    dirac_decay: float = Field(
        0.9, gt=0, lt=1, description="Dirac: still converging when the window's late/early "
        "distance is <= this; a cycle that decays less is oscillating, whatever its size",
    )  # fmt: skip
    dirac_orbit: float = Field(
        0.3, gt=0, description="Dirac: a cycle's points lie on one ellipse around the "
        "equilibrium, RMS conic residual <= this; noise around it fits none (0.4 and more)",
    )  # fmt: skip
    dirac_at_rest: float = Field(
        1e-4, gt=0, lt=1, description="Dirac: at the equilibrium below this x the initial distance"
    )
    dirac_diverged: float = Field(
        10.0, gt=1, description="Dirac: spiralled out at distance >= this x the initial one"
    )
    dirac_moving: float = Field(
        1e-3, ge=0, description="Dirac: an orbit moves theta by >= this between evaluations"
    )


class EarlyStopping(BaseModel):
    """When the online labeler may stop a member (a spec's `early_stopping` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="stop failing members early")
    patience: int = Field(3, ge=1, description="evaluations a terminal failure must persist")
    min_stop_fraction: float = Field(
        0.2, ge=0, le=1, description="no early stop before this share of the step budget"
    )
    collapse_quality: float = Field(
        0.05, ge=0, le=1, description="a complete collapse stops a member only when it holds "
        "still and this share of its samples is high quality",
    )  # fmt: skip

"""What ran: the facts a report states before any map (problem, space, budget, architecture,
seeds, how many configurations of how many, versions, and the thresholds that labeled it).

Read from the trials themselves (a value every trial shares is a fixed setting) and from
each study folder's own files: spec.yaml (the searched space and how it was searched),
study.json (how many configurations the study has) and labels.yaml (the thresholds of
the last `ganmap relabel`, and whether it finished).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field

import pandas as pd
import yaml

from analysis.cells import distinct_text
from analysis.load import StudyTables
from study.thresholds import LabelThresholds

ARCHITECTURE = (
    "g_hidden_dim", "g_hidden_layers", "g_activation", "d_hidden_dim", "d_hidden_layers",
    "d_activation", "z_dim", "batch_size", "optimizer", "pac", "unroll_steps",
)  # fmt: skip
BUDGET = ("steps", "eval_every", "eval_samples")
HEADER_COLUMNS = ("ganmap_version", "stopped_early")  # read besides the hyperparameters


@dataclass
class Header:
    """The report's header: (name, value) facts, warnings, and per-study thresholds."""

    facts: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    thresholds: list[tuple[str, str]] = field(default_factory=list)  # (source, settings)


def spec_space(tables: StudyTables) -> dict[str, str] | None:
    """{searched key: domain kind ("grid", "choice", "loguniform", ...)} from the first
    study's spec.yaml; None when no spec is there."""
    spec = _spec(tables.stores[0])
    if not spec or not isinstance(spec.get("space"), dict):
        return None
    return {key: domain_of(value)[0] for key, value in spec["space"].items()}


def domain_of(value) -> tuple[str, list]:
    """A spec's searched key as (kind, values): a plain list is a grid; a mapping is the
    resolved form a study saves ({kind: loguniform, values: [low, high]}) or the short
    form a user writes ({loguniform: [low, high]})."""
    if isinstance(value, dict) and "kind" in value:
        return str(value["kind"]), list(value.get("values") or [])
    if isinstance(value, dict) and len(value) == 1:
        kind, values = next(iter(value.items()))
        return str(kind), list(values) if isinstance(values, list) else [values]
    return "grid", list(value) if isinstance(value, list) else [value]


def search_algorithm(tables: StudyTables) -> str | None:
    """The first study's search algorithm (grid, random, optuna, boundary); None without a spec."""
    spec = _spec(tables.stores[0])
    return (spec.get("search") or {}).get("algorithm", "grid") if spec else None


def describe(tables: StudyTables, trials: pd.DataFrame, varied: list[str]) -> Header:
    """The header of a report on `trials` (the rows read from `tables`)."""
    header = Header()
    specs = [_spec(store) for store in tables.stores]
    total = tables.configurations()
    header.facts.append(("study", ", ".join(str(s) for s in sorted(trials["study"].unique()))))
    header.facts.append(("problem", _values(trials["problem"])))
    header.facts.append(("searched", _space(specs, trials, varied)))
    header.facts.append(("budget", _settings(trials, BUDGET)))
    header.facts.append(("architecture", _settings(trials, ARCHITECTURE)))
    seeds = sorted(trials["seed"].unique())
    header.facts.append(("seeds", f"{len(seeds)} ({_values(trials['seed'])})"))
    of = f" of {total:,}" if total is not None else ""
    header.facts.append(("configurations", f"{len(trials):,}{of}"))
    if total is not None and len(trials) < total:
        header.warnings.append(
            f"partial results: {len(trials):,} of the study's {total:,} configurations have "
            "finished (it is still running, or was interrupted)"
        )
    stopped = int(trials["stopped_early"].sum()) if "stopped_early" in trials else 0
    if stopped:
        header.facts.append(("stopped early", f"{stopped:,} (a terminal failure persisted)"))
    ran = _values(trials["ganmap_version"]) if "ganmap_version" in trials else "unknown"
    header.facts.append(("ganmap", f"trained with {ran}; report by {_version()}"))
    for store, spec in zip(tables.stores, specs):
        _thresholds(header, store, spec)
    return header


def _spec(store) -> dict | None:
    if not store.exists("spec.yaml"):
        return None
    spec = yaml.safe_load(store.read_bytes("spec.yaml"))
    return spec if isinstance(spec, dict) else None


def _values(values: pd.Series, most: int = 8) -> str:
    """The distinct values as text ("a, b, c"), or the count and range when there are many."""
    distinct = sorted(values.dropna().unique())
    if len(distinct) > most:
        texts = distinct_text([distinct[0], distinct[-1]])
        return f"{len(distinct)} values from {texts[distinct[0]]} to {texts[distinct[-1]]}"
    return ", ".join(distinct_text(distinct).values())


def _space(specs, trials: pd.DataFrame, varied: list[str]) -> str:
    """Each searched key with its spec domain (every key of the spec's space, seeds
    excepted, also those a partial study has not varied yet), else each varied key with
    its values."""
    spec = next((s for s in specs if s), None) or {}
    domains = spec.get("space") or {}
    search = (spec.get("search") or {}).get("algorithm", "grid") if spec else "unknown"
    keys = [key for key in domains if key != "seed"] + [k for k in varied if k not in domains]
    parts = []
    for key in keys:
        if key in domains:
            kind, values = domain_of(domains[key])
            shown = _values(pd.Series(values)) if kind in ("grid", "choice") else values
            what = f"{kind} over [{shown}]" if kind in ("grid", "choice") else f"{kind} {shown}"
            parts.append(f"{key}: {what}")
        else:
            parts.append(f"{key}: [{_values(trials[key])}]")
    settings = spec.get("search") or {}
    samples, budget = settings.get("num_samples"), settings.get("budget")
    how = f"{search} search" + (f", {samples} samples" if search != "grid" and samples else "")
    how += f", budget {budget} configurations" if budget else ""
    return f"{'; '.join(parts) or 'nothing varies'} ({how})"


def _settings(trials: pd.DataFrame, keys) -> str:
    """key=value for each key, the distinct values where they differ between trials."""
    return ", ".join(f"{key}={_values(trials[key])}" for key in keys if key in trials)


def _version() -> str:
    try:
        return importlib.metadata.version("ganmap")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _thresholds(header: Header, store, spec: dict | None) -> None:
    """Which thresholds labeled this study: labels.yaml's (a relabel) or the spec's."""
    from study.results import LABELS_FILE

    where = store.location
    if store.exists(LABELS_FILE):
        record = yaml.safe_load(store.read_bytes(LABELS_FILE)) or {}
        values, source = record.get("thresholds") or {}, f"ganmap relabel ({LABELS_FILE})"
        if record.get("status") != "done":
            header.warnings.append(
                f"{where}: a relabel was interrupted ({LABELS_FILE} says "
                f"{record.get('status')!r}): some trials carry old labels; run "
                f"`ganmap relabel {where}` again to finish it"
            )
    else:
        values, source = (spec or {}).get("labels") or {}, "the spec's labels section"
    defaults = LabelThresholds().model_dump()
    changed = {k: v for k, v in values.items() if k in defaults and v != defaults[k]}
    text = ", ".join(f"{k}={v}" for k, v in changed.items()) or "every threshold at its default"
    header.thresholds.append((f"{where}: {source}", text))

"""Turn a spec into configurations with stable ids, and pack them into populations.

Grid keys are crossed; sampled keys (random search) are drawn `num_samples` times per
grid point from a generator seeded by `search.seed`, so a spec always expands to the
same configurations (which is what makes `--resume` exact). Optuna studies are not
expanded here: Ray Tune's OptunaSearch proposes their configurations one by one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from study.config import TrainConfig, default_init_gain
from study.spec import CPU_PACK, GPU_PACK, Domain, StudySpec

# Engine keys added after schema version 4, left out of the id while they hold their
# default (the behaviour before they existed), so earlier studies keep their ids and resume.
LATER_KEYS = (
    "init", "init_gain", "update", "d_input_scale", "maxout_pieces", "g_batch_norm", "ring_layout"
)  # fmt: skip


def trial_id(config: TrainConfig) -> str:
    """A stable 12-hex id of a resolved configuration (same config, same id, any run)."""
    values = config.model_dump()
    for key in LATER_KEYS:
        if values[key] == TrainConfig.model_fields[key].default:
            del values[key]
    for network in ("g", "d"):  # schema 9's per-network init, where the shared keys give it
        init = values[f"{network}_init"]
        if init == config.init:
            del values[f"{network}_init"]
        if values[f"{network}_init_gain"] == default_init_gain(init, config.init_gain):
            del values[f"{network}_init_gain"]
    text = json.dumps(values, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def sample(domain: Domain, rng: np.random.Generator):
    """One draw from a sampled domain."""
    low, high = domain.values[0], domain.values[-1]
    if domain.kind == "choice":
        return domain.values[int(rng.integers(len(domain.values)))]
    if domain.kind == "uniform":
        return float(rng.uniform(low, high))
    if domain.kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return int(rng.integers(low, high + 1))  # randint: both ends included


def expand(spec: StudySpec) -> list[TrainConfig]:
    """Every configuration of a grid or random study, duplicates removed, in a fixed order."""
    grid = {key: d.values for key, d in spec.space.items() if not d.sampled}
    sampled = {key: d for key, d in spec.space.items() if d.sampled}
    rng = np.random.default_rng(spec.search.seed)
    configs, seen = [], set()
    for point in itertools.product(*grid.values()):
        for _ in range(spec.search.num_samples if sampled else 1):
            values = dict(zip(grid, point))
            values.update({key: sample(domain, rng) for key, domain in sampled.items()})
            config = TrainConfig(**spec.fixed, **values)
            if trial_id(config) not in seen:
                seen.add(trial_id(config))
                configs.append(config)
    return configs


@dataclass(frozen=True)
class Pack:
    """Configurations that share structure, trained as one population in one Tune trial."""

    pack_id: str
    configs: tuple[TrainConfig, ...]
    trial_ids: tuple[str, ...]  # of `configs`; the pack id is their hash
    checkpoint: str | None = None  # a population checkpoint an earlier run left (--resume)


def pack_size(spec: StudySpec, cluster_has_gpu: bool) -> int:
    """The spec's pack size, or the default for the device the trials will run on."""
    if spec.resources.pack is not None:
        return spec.resources.pack
    return GPU_PACK if (cluster_has_gpu and spec.resources.gpus > 0) else CPU_PACK


def make_packs(configs: list[TrainConfig], size: int) -> list[Pack]:
    """Group by structure, then cut each group into packs of at most `size` members."""
    groups: dict[tuple, list[TrainConfig]] = defaultdict(list)
    for config in configs:
        groups[config.structure()].append(config)
    packs = []
    for members in groups.values():
        for start in range(0, len(members), size):
            chunk = tuple(members[start : start + size])
            ids = tuple(trial_id(c) for c in chunk)
            pack_id = hashlib.sha1("".join(ids).encode()).hexdigest()[:12]
            packs.append(Pack(pack_id, chunk, ids))
    return packs

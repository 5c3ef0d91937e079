"""Population checkpoints: the whole training state after an evaluation, and its restore.

A restored run continues exactly where the snapshot was taken: parameters, optimizer
moments, spectral-norm vectors, every seed's random stream, the evaluator's last samples,
each member's history and the stop rule's memory. On the same device type it gives the
same numbers as a run that was never interrupted. Files hold tensors and plain Python
values only and are read with `torch.load(weights_only=True)`: no pickle is executed.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from study.config import TrainConfig
from study.diagnostics import Evaluator
from study.population import Population

FORMAT = 1  # bump when the state's layout changes


def snapshot(step, elapsed, configs, population: Population, evaluator: Evaluator, results):
    """The state after the evaluation at `step`, with stopped members already dropped."""
    return {
        "format": FORMAT,
        "step": step,
        "elapsed": elapsed,
        "device_type": population.g.device.type,
        "configs": [config.model_dump() for config in configs],
        "population": population.state_dict(),
        "evaluator": evaluator.state_dict(),
        "results": [_result_state(result) for result in results],
    }


def restore(state, configs, population, evaluator, results, should_stop) -> tuple[int, float]:
    """Load `state` into a freshly built run of `configs`; return (step, elapsed seconds).

    A stateful stop rule (the early stopper counts streaks) is replayed over each
    member's recorded evaluations, so it decides as it would have without the restart.
    """
    check_compatible(state, configs, population.g.device.type)
    population.load_state_dict(state["population"])
    evaluator.keep(torch.tensor(state["population"]["members"], device=population.g.device))
    evaluator.load_state_dict(state["evaluator"])
    for member, (result, saved) in enumerate(zip(results, state["results"])):
        for name, value in saved.items():
            setattr(result, name, value)
        if should_stop is not None:
            for end in range(2, len(result.history) + 1):  # step 0 is never asked
                should_stop(member, result.history[:end])
    return state["step"], state["elapsed"]


def save(state: dict, path: str | Path) -> None:
    torch.save(state, path)


def load(path: str | Path) -> dict:
    """A checkpoint file, read without executing pickle code (weights_only)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def _result_state(result) -> dict:
    samples = result.samples
    return {
        "history": list(result.history),
        "steps_run": result.steps_run,
        "stopped_early": result.stopped_early,
        "wall_time_s": result.wall_time_s,
        "samples": samples.detach().to("cpu", copy=True) if isinstance(samples, Tensor) else [],
    }


def check_compatible(state: dict, configs: list[TrainConfig], device_type: str) -> None:
    """A checkpoint continues only the run it came from, on the same kind of device."""
    if state.get("format") != FORMAT:
        raise ValueError(f"checkpoint format {state.get('format')!r}; this ganmap reads {FORMAT}")
    if state["configs"] != [config.model_dump() for config in configs]:
        raise ValueError("the checkpoint was taken from other configurations")
    if state["device_type"] != device_type:
        raise ValueError(
            f"the checkpoint was taken on {state['device_type']}, this run is on {device_type}: "
            "random streams differ between device types"
        )

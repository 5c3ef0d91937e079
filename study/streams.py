"""Per-seed random streams: every random number a member sees depends on its seed alone.

Members with the same seed draw the same numbers (common random numbers across
configurations), and one draw is made per distinct seed, not per member. So a member
gets the same data, latents and noise whether it trains alone or in a population, and
removing members never shifts another member's stream.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

# Distinct streams derived from one seed: seed * 4 + offset never collide.
STREAM_OFFSETS = {"init": 0, "train": 1, "eval": 2, "spectral": 3}


def stream_generator(seed: int, stream: str, device: torch.device) -> torch.Generator:
    """A generator for one (seed, stream) pair."""
    return torch.Generator(device=device).manual_seed(seed * 4 + STREAM_OFFSETS[stream])


class SeedStreams:
    """One generator per distinct seed; draws are stacked [K, ...] in member order."""

    def __init__(self, seeds: list[int], stream: str, device: torch.device):
        self.seeds = sorted(set(seeds))
        self.generators = [stream_generator(seed, stream, device) for seed in self.seeds]
        self.member_slot = torch.tensor([self.seeds.index(seed) for seed in seeds], device=device)
        self._refresh()

    def draw(self, sample: Callable[[torch.Generator], Tensor]) -> Tensor:
        """Call `sample(generator)` once per distinct seed and give each member its seed's."""
        stacked = torch.stack([sample(generator) for generator in self.generators])
        return stacked if self._identity else stacked[self.member_slot]

    def keep(self, index: Tensor) -> None:
        """Keep only the members at `index`; seeds no member uses any more stop drawing."""
        slots = self.member_slot[index]
        used = sorted(set(slots.tolist()))
        remap = {old: new for new, old in enumerate(used)}
        self.seeds = [self.seeds[slot] for slot in used]
        self.generators = [self.generators[slot] for slot in used]
        self.member_slot = torch.tensor([remap[s] for s in slots.tolist()], device=slots.device)
        self._refresh()

    def state_dict(self) -> dict:
        """Each live seed's generator state, to continue the same streams after a restart."""
        return {"seeds": list(self.seeds), "states": [g.get_state() for g in self.generators]}

    def load_state_dict(self, state: dict) -> None:
        if state["seeds"] != self.seeds:
            raise ValueError(f"stream seeds differ: saved {state['seeds']}, here {self.seeds}")
        for generator, saved in zip(self.generators, state["states"]):
            generator.set_state(saved)

    def _refresh(self) -> None:
        count = len(self.member_slot)
        self._identity = count == len(self.seeds) and bool(
            (self.member_slot == torch.arange(count, device=self.member_slot.device)).all()
        )

"""Per-member diagnostics, taken every `eval_every` generator updates.

Each evaluation gives, per member: the mean D and G losses and D penalty over the
interval, the gradient norms of the last G and D updates, D's mean output on real and
generated data (probabilities for the minimax/non-saturating losses, raw scores
otherwise), the problem's metrics on a fixed latent batch (for mixtures and digits the
per-mode sample counts, see `study.metrics`), the sample drift since the previous
evaluation on that same batch (in units of the data's RMS norm), the shift of the mode
mass since then (total variation, 0..1), and whether every parameter is still finite.
NaN/Inf values are recorded as they are; nothing here raises on them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from study import metrics
from study.losses import LossPair
from study.population import Population, cpu_copy
from study.streams import SeedStreams


class IntervalStats:
    """Running sums of per-member losses between evaluations; no device sync per step."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}
        self.last_grad_norm: dict[str, Tensor] = {}

    def add(self, name: str, value: Tensor) -> None:
        value = value.detach()
        self.sums[name] = self.sums[name] + value if name in self.sums else value.clone()
        self.counts[name] = self.counts.get(name, 0) + 1

    def record_gradient(self, name: str, grad: Tensor) -> None:
        """Keep the latest gradient; its per-member norm is taken only when collected."""
        self.last_grad_norm[name] = grad

    def collect(self) -> dict[str, Tensor]:
        """Means since the last collect, plus the last gradient norms; then reset."""
        values = {name: total / self.counts[name] for name, total in self.sums.items()}
        for name, grad in self.last_grad_norm.items():
            values[name] = grad.norm(dim=1)
        self.reset()
        return values


class Evaluator:
    """Scores every live member on a fixed latent batch and a fixed real batch per seed."""

    def __init__(self, population: Population, problem, loss: LossPair, configs, samples: int):
        streams = SeedStreams([c.seed for c in configs], "eval", population.g.device)
        self.latent = streams.draw(lambda generator: problem.sample_latent(samples, generator))
        self.real = streams.draw(lambda generator: problem.sample_real(samples, generator))
        self.problem, self.loss = problem, loss
        self.kept = 0  # last samples each member keeps (set by the trainer)
        self.samples: Tensor | None = None  # the last evaluation's generated samples
        self.previous: Tensor | None = None
        self.previous_mass: Tensor | None = None

    @torch.no_grad()
    def evaluate(self, population: Population, interval: dict[str, Tensor]) -> dict[str, Tensor]:
        """All diagnostics, one [K] tensor per name, for the population's live members."""
        fake = population.generate(self.latent)
        self.samples = fake
        values = dict(interval)
        values["d_real"] = self.loss.d_output(population.score(self.real)).mean(dim=(1, 2))
        values["d_fake"] = self.loss.d_output(population.score(fake)).mean(dim=(1, 2))
        values.update(self.problem.evaluate(fake, population.score))
        if metrics.COUNTS in values:
            counts = values[metrics.COUNTS]
            mass = counts / counts.sum(dim=1, keepdim=True)
            values["mass_shift"] = metrics.mass_shift(mass, self.previous_mass)
            self.previous_mass = mass
        values["sample_drift"] = self._drift(fake)
        finite_g = torch.isfinite(population.g).all(dim=1)
        values["finite"] = (finite_g & torch.isfinite(population.d).all(dim=1)).float()
        return values

    def _drift(self, fake: Tensor) -> Tensor:
        """RMS distance fixed-latent samples moved since the last evaluation, in data scales."""
        if self.previous is None:
            drift = torch.full(fake.shape[:1], float("nan"), device=fake.device)
        else:
            moved = (fake - self.previous).pow(2).sum(dim=-1).mean(dim=1).sqrt()
            drift = moved / self.problem.scale
        self.previous = fake
        return drift

    def keep(self, index: Tensor) -> None:
        """Keep only the members at `index`."""
        self.latent, self.real = self.latent[index], self.real[index]
        for name in RESUMABLE:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value[index])

    def state_dict(self) -> dict:
        """The last evaluation's samples and mode mass (drift and mass shift compare to them)."""
        return {name: cpu_copy(getattr(self, name)) for name in RESUMABLE}

    def load_state_dict(self, state: dict) -> None:
        """Continue from `state`, after `keep` has selected the saved members."""
        for name in RESUMABLE:
            value = state[name]
            setattr(self, name, None if value is None else value.to(self.latent.device))
        self.samples = self.previous


RESUMABLE = ("previous", "previous_mass")  # the evaluator's per-member state that evolves


def to_rows(step: int, values: dict[str, Tensor]) -> list[dict]:
    """One dict per member from {name: [K]} scalars and {name: [K, M]} mode counts (as
    lists of ints), with one device-to-host copy each."""
    names = [name for name, value in values.items() if value.dim() == 1]
    table = torch.stack([values[name].float() for name in names]).cpu().T.tolist()
    counts = {
        name: values[name].round().int().cpu().tolist()
        for name in metrics.HISTOGRAMS
        if name in values
    }
    rows = []
    for member, member_values in enumerate(table):
        row = {"step": step, **dict(zip(names, member_values))}
        row["finite"] = bool(row["finite"])
        row.update({name: lists[member] for name, lists in counts.items()})
        rows.append(row)
    return rows

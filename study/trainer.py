"""The training loop: one population of GAN configurations, trained as one.

Reads top to bottom: per generator update, a round of `d_steps` D updates every
`g_steps` G updates (the D:G ratio), one G update (with `update: simultaneous`, one D
and one G update both computed from the same state instead), and every `eval_every`
updates an evaluation, after which `should_stop` may remove members. The history starts with an
evaluation of the initial state at step 0, whose losses and gradients come from one
probe of each update without applying it. A run can continue from a checkpoint taken
after any evaluation (see `study.checkpoint`). No Ray here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import Tensor

from study import checkpoint
from study.config import TrainConfig
from study.diagnostics import Evaluator, IntervalStats, to_rows
from study.losses import LOSSES, LossPair
from study.models import SpectralState
from study.population import Population, StackedOptimizer
from study.problems import make_problem
from study.regularizers import PenaltyInputs
from study.schema import KEPT_SAMPLES

# should_stop(member index, its history so far) -> stop now?
StopRule = Callable[[int, list[dict]], bool]
# on_evaluation(step, results, snapshot): snapshot() -> the training state (a checkpoint)
EvaluationHook = Callable[[int, list["MemberResult"], Callable[[], dict]], None]


@dataclass
class MemberResult:
    """One member's run: its config, evaluation history and how it ended."""

    config: TrainConfig
    history: list[dict] = field(default_factory=list)
    steps_run: int = 0
    stopped_early: bool = False
    wall_time_s: float = 0.0
    device: str = "cpu"
    samples: list[list[float]] = field(default_factory=list)  # last samples (lists once done)


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The requested device, or CUDA when available, else CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_shared_structure(configs: Sequence[TrainConfig]) -> None:
    """Members of one population must agree on every structural key."""
    if not configs:
        raise ValueError("a population needs at least one configuration")
    reference = dict(configs[0].structure())
    for config in configs[1:]:
        for key, value in config.structure():
            if value != reference[key]:
                raise ValueError(
                    f"population members differ in structural key {key!r}: "
                    f"{reference[key]!r} vs {value!r}"
                )


def train(
    configs: Sequence[TrainConfig],
    should_stop: StopRule | None = None,
    device: str | torch.device | None = None,
    on_evaluation: EvaluationHook | None = None,
    resume_from: dict | None = None,
    kept_samples: int | None = None,
) -> list[MemberResult]:
    """Train every config as one population; results are in the order of `configs`.

    `on_evaluation(step, results, snapshot)` runs after each evaluation; `snapshot()`
    returns the whole training state, which `resume_from` continues exactly. Each member
    keeps its last `kept_samples` generated samples (default: what the results store
    keeps for the problem, `schema.KEPT_SAMPLES`).
    """
    check_shared_structure(configs)
    config = configs[0]
    device = resolve_device(device)
    problem = make_problem(config, device)
    population = Population(list(configs), problem, device)
    loss = LOSSES[config.loss]
    evaluator = Evaluator(population, problem, loss, configs, config.eval_samples)
    default = KEPT_SAMPLES.get(problem.data_dim, 0)  # 2D points, digit images
    evaluator.kept = default if kept_samples is None else kept_samples
    stats = IntervalStats()
    results = [MemberResult(c, device=str(device)) for c in configs]
    if resume_from is None:
        first, start = 1, time.perf_counter()
        d_update(population, loss, config, stats, apply=False)  # probe the start
        g_update(population, loss, config, stats, apply=False)
        initial = evaluator.evaluate(population, stats.collect())
        _record(0, initial, evaluator, population, results, None, 0.0)
    else:
        step, elapsed = checkpoint.restore(
            resume_from, configs, population, evaluator, results, should_stop
        )
        first, start = step + 1, time.perf_counter() - elapsed
    for step in range(first, config.steps + 1):
        if config.update == "simultaneous":
            simultaneous_update(population, loss, config, stats)
        else:
            # --- D updates: d_steps of them every g_steps G updates ---
            if (step - 1) % config.g_steps == 0:
                for _ in range(config.d_steps):
                    d_update(population, loss, config, stats)
            # --- G update ---
            g_update(population, loss, config, stats)
        # --- evaluate, ask the stop rule, drop stopped members ---
        if step % config.eval_every == 0 or step == config.steps:
            values = evaluator.evaluate(population, stats.collect())
            elapsed = time.perf_counter() - start
            keep = _record(step, values, evaluator, population, results, should_stop, elapsed)
            if len(keep) < population.size:
                index = torch.tensor(keep, dtype=torch.long)
                population.keep(index)
                evaluator.keep(index.to(device))
            if on_evaluation is not None:
                state = partial(
                    checkpoint.snapshot, step, elapsed, configs, population, evaluator, results
                )
                on_evaluation(step, results, state)
            if population.size == 0:
                break
    _samples_to_host(results)
    return results


def simultaneous_update(
    population: Population, loss: LossPair, config: TrainConfig, stats: IntervalStats
) -> None:
    """One D and one G update, both gradients taken at the same (G, D) on one batch and
    then applied: the reference Unrolled-GAN code's step (poolio/unrolled_gan runs both
    train ops in one `session.run`). G sees D as it was before D's step."""
    batch = _draw_batch(population, config)
    d_grad = d_update(population, loss, config, stats, apply=False, batch=batch)
    g_grad = g_update(population, loss, config, stats, apply=False, batch=batch)
    population.d_opt.step(population.d, d_grad)
    population.g_opt.step(population.g, g_grad)


def d_update(
    population: Population,
    loss: LossPair,
    config: TrainConfig,
    stats: IntervalStats,
    apply=True,
    batch: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """One discriminator update for every member: adversarial loss + weighted penalty.

    With `apply=False` only the loss and gradient are recorded (the initial-state probe)
    and the gradient is returned for the caller to apply; `batch` (real samples,
    latents) replaces the fresh draw.
    """
    real, z = _draw_batch(population, config) if batch is None else batch
    with torch.no_grad():
        fake = population.generate(z)
    d_loss, penalty = _d_objective(population, loss, real, fake, population.d)
    (grad,) = torch.autograd.grad(_d_total(population, d_loss, penalty).sum(), population.d)
    stats.add("loss_d", d_loss)
    if penalty is not None:
        stats.add("penalty", penalty)
    return _record_and_step(stats, "grad_norm_d", grad, population.d_opt, population.d, apply)


def g_update(
    population: Population,
    loss: LossPair,
    config: TrainConfig,
    stats: IntervalStats,
    apply=True,
    batch: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """One generator update for every member, against D or its unrolled copy.

    Unrolled, G minimizes the saddle objective at D's unrolled parameters, its real-data
    half included (Metz et al. 2016, app. A: L_G = log D(x) + log(1 - D(G(z)))): that
    half depends on G through D's response to G's samples. As in the reference code
    (poolio/unrolled_gan), one batch serves the unrolled steps and G's objective.
    `apply` and `batch` as in `d_update` (`batch`'s real half is used only unrolled).
    """
    count = config.batch_size * config.pac
    problem, draw = population.problem, population.streams.draw
    z = batch[1] if batch else draw(lambda g: problem.sample_latent(count, g))
    fake = population.generate(z)
    if config.unroll_steps:
        real = batch[0] if batch else draw(lambda g: problem.sample_real(count, g))
        d_params, spectral = _unrolled_critic(population, loss, config, real, fake)
        critic = partial(population.discriminate, d_params=d_params, spectral=spectral)
        g_loss = loss.g_loss(critic(population.pack(_with_noise(population, fake))))
        objective = g_loss - loss.d_real(critic(population.pack(_with_noise(population, real))))
    else:
        g_loss = objective = loss.g_loss(
            population.discriminate(population.pack(_with_noise(population, fake)))
        )
    (grad,) = torch.autograd.grad(objective.sum(), population.g)
    stats.add("loss_g", g_loss)
    return _record_and_step(stats, "grad_norm_g", grad, population.g_opt, population.g, apply)


def _record_and_step(
    stats: IntervalStats,
    name: str,
    grad: Tensor,
    optimizer: StackedOptimizer,
    params: Tensor,
    apply: bool,
) -> Tensor:
    """Record a player's gradient norm, apply its step unless `apply` is off; the gradient."""
    stats.record_gradient(name, grad)
    if apply:
        optimizer.step(params, grad)
    return grad


def _unrolled_critic(
    population: Population, loss: LossPair, config: TrainConfig, real: Tensor, fake: Tensor
) -> tuple[Tensor, SpectralState | None]:
    """D after `unroll_steps` steps of its own optimizer on (real, fake), kept
    differentiable (Metz et al. 2016): the same objective and update as `d_update`
    (Adam's moments and step count included, as poolio/unrolled_gan differentiates
    through Adam), with the fakes in G's graph, so G's gradient sees how D would
    respond. D itself, its optimizer state and its spectral-norm vectors don't change.

    Returns D's unrolled parameters and the spectral-norm vectors they go with.
    """
    d_params, state = population.d, population.d_opt.state
    spectral = None if population.spectral is None else population.spectral.copy()
    for _ in range(config.unroll_steps):
        d_loss, penalty = _d_objective(population, loss, real, fake, d_params, spectral)
        total = _d_total(population, d_loss, penalty)
        (grad,) = torch.autograd.grad(total.sum(), d_params, create_graph=True)
        d_params, state = population.d_opt.update(d_params, grad, state)
    return d_params, spectral


def _d_objective(
    population: Population,
    loss: LossPair,
    real: Tensor,
    fake: Tensor,
    d_params: Tensor,
    spectral: SpectralState | None = None,
) -> tuple[Tensor, Tensor | None]:
    """D's adversarial loss [K] and unweighted penalty [K] (None without one) at
    `d_params`, on samples [K, B * pac, dim] that are noised and packed here."""
    real = population.pack(_with_noise(population, real))
    fake = population.pack(_with_noise(population, fake))
    critic = partial(population.discriminate, d_params=d_params, spectral=spectral)
    scores = critic(torch.cat([real, fake], dim=1))  # one pass for both
    packs = real.shape[1]
    d_loss = loss.d_loss(scores[:, :packs], scores[:, packs:])
    regularizer = population.regularizer
    if regularizer.penalty is None:
        return d_loss, None
    uniform = None
    if regularizer.needs_uniform:  # one interpolation weight per pack
        uniform = population.streams.draw(
            lambda g: torch.rand(packs, 1, generator=g, device=real.device)
        )
    return d_loss, regularizer.penalty(PenaltyInputs(critic, d_params, real, fake, uniform))


def _d_total(population: Population, d_loss: Tensor, penalty: Tensor | None) -> Tensor:
    """What D minimizes: its loss plus reg_weight times the penalty."""
    return d_loss if penalty is None else d_loss + population.reg_weight[:, 0] * penalty


def _draw_batch(population: Population, config: TrainConfig) -> tuple[Tensor, Tensor]:
    """A real batch and a latent batch [K, batch_size * pac, ...] from each member's stream."""
    problem, streams, count = population.problem, population.streams, config.batch_size * config.pac
    real = streams.draw(lambda g: problem.sample_real(count, g))
    z = streams.draw(lambda g: problem.sample_latent(count, g))
    return real, z


def _with_noise(population: Population, x: Tensor) -> Tensor:
    """Instance noise (Sonderby et al. 2017; Arjovsky & Bottou 2017): x + N(0, reg_weight^2)."""
    if not population.regularizer.input_noise:
        return x
    noise = population.streams.draw(
        lambda g: torch.randn(x.shape[1:], generator=g, device=x.device)
    )
    return x + population.reg_weight.unsqueeze(2) * noise


def _record(step, values, evaluator, population, results, should_stop, elapsed) -> list[int]:
    """Append each live member's row (and last samples); return the members that go on."""
    keep = []
    kept = evaluator.kept
    for position, (member, row) in enumerate(zip(population.members, to_rows(step, values))):
        result = results[member]
        result.history.append(row)
        result.steps_run, result.wall_time_s = step, elapsed
        if kept:  # a view on the device; copied to the host once, at the end
            result.samples = evaluator.samples[position, :kept]
        if should_stop is not None and should_stop(member, result.history):
            result.stopped_early = step < result.config.steps
            if kept:  # don't keep the whole population's samples alive
                result.samples = result.samples.clone()
        else:
            keep.append(position)
    return keep


def _samples_to_host(results: list[MemberResult]) -> None:
    """Each member's last samples as plain lists (one device-to-host copy per member)."""
    for result in results:
        if isinstance(result.samples, Tensor):
            result.samples = result.samples.cpu().tolist()

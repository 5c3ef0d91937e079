"""A population of K GAN configurations trained as one: stacked parameters, batched optimizer.

Members share structure (problem, loss, regularizer, D:G ratio, architecture) and may
differ in MEMBER_KEYS (learning rates, betas, reg_weight, seed). Per-member values are
[K, 1] tensors broadcast over the flat parameter buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from study.config import MEMBER_KEYS, TrainConfig
from study.models import SpectralState, StackedMLP
from study.regularizers import REGULARIZERS
from study.streams import SeedStreams, stream_generator

ADAM_EPS = 1e-8


@dataclass
class OptimizerState:
    """What an optimizer carries between steps: the step count and Adam's moments [K, P]."""

    steps: int
    exp_avg: Tensor
    exp_avg_sq: Tensor


class StackedOptimizer:
    """Adam or SGD over a flat [K, P] buffer, with a per-member learning rate and betas.

    Adam follows torch.optim.Adam's update exactly (bias-corrected moments, eps outside
    the square root); its state rows are dropped together with their members. With a
    `bound` [K, 1] every step ends by clipping the parameters to [-bound, bound] (WGAN's
    weight clipping, Arjovsky et al. 2017). `update` is the step as a function, which
    `step` applies in place and unrolling (Metz et al. 2016) chains in autograd's graph.
    """

    def __init__(
        self, kind: str, lr: Tensor, beta1: Tensor, beta2: Tensor, like: Tensor, bound=None
    ):
        self.kind, self.lr, self.beta1, self.beta2, self.bound = kind, lr, beta1, beta2, bound
        self.state = OptimizerState(0, torch.zeros_like(like), torch.zeros_like(like))

    def update(
        self, params: Tensor, grad: Tensor, state: OptimizerState
    ) -> tuple[Tensor, OptimizerState]:
        """Parameters and state after one step from (`params`, `state`) with `grad`.

        Differentiable in all three: where they carry a graph, so do the results.
        """
        if self.kind == "sgd":
            new = params - self.lr * grad
        else:
            steps = state.steps + 1
            exp_avg = self.beta1 * state.exp_avg + (1 - self.beta1) * grad
            exp_avg_sq = self.beta2 * state.exp_avg_sq + (1 - self.beta2) * grad * grad
            step_size = self.lr / (1 - self.beta1**steps)
            denom = _sqrt(exp_avg_sq) / (1 - self.beta2**steps).sqrt() + ADAM_EPS
            new = params - step_size * exp_avg / denom
            state = OptimizerState(steps, exp_avg, exp_avg_sq)
        if self.bound is not None:
            new = torch.maximum(torch.minimum(new, self.bound), -self.bound)
        return new, state

    @torch.no_grad()
    def step(self, params: Tensor, grad: Tensor) -> None:
        """One real step: `params` and the optimizer's state change in place."""
        new, self.state = self.update(params, grad, self.state)
        params.copy_(new)

    def keep(self, index: Tensor) -> None:
        for name in ("lr", "beta1", "beta2", "bound"):
            value = getattr(self, name)
            setattr(self, name, None if value is None else value[index])
        state = self.state
        self.state = OptimizerState(state.steps, state.exp_avg[index], state.exp_avg_sq[index])

    def state_dict(self) -> dict:
        """The moments and step count; rates and betas come from the configs."""
        state = self.state
        return {"steps": state.steps, "exp_avg": state.exp_avg, "exp_avg_sq": state.exp_avg_sq}

    def load_state_dict(self, saved: dict) -> None:
        device = self.state.exp_avg.device
        self.state = OptimizerState(
            saved["steps"], saved["exp_avg"].to(device), saved["exp_avg_sq"].to(device)
        )


def _sqrt(x: Tensor) -> Tensor:
    """sqrt(x); inside a graph its gradient is 0, not inf, where x = 0 (a parameter whose
    gradient has always been 0), so unrolling through Adam never produces inf * 0 = NaN."""
    if not x.requires_grad:
        return x.sqrt()
    positive = x > 0
    return torch.where(positive, torch.where(positive, x, torch.ones_like(x)).sqrt(), 0.0)


def _member_values(configs: list[TrainConfig], key: str, device: torch.device) -> Tensor:
    return torch.tensor([[getattr(c, key)] for c in configs], dtype=torch.float32, device=device)


class Population:
    """Generator and discriminator parameters of K members, their optimizers and streams."""

    def __init__(self, configs: list[TrainConfig], problem, device: torch.device):
        config = configs[0]
        self.members = list(range(len(configs)))  # indices into `configs` still training
        self.problem = problem
        self.generator, self.critic = build_models(config, problem)
        self.regularizer = REGULARIZERS[config.regularizer]
        seeds = [c.seed for c in configs]
        g_init, d_init = _initial_params(self.generator, self.critic, seeds)
        if problem.linear_models:
            g_init, d_init = problem.place_start(g_init, d_init)
        self.g = g_init.to(device).requires_grad_(True)
        self.d = d_init.to(device).requires_grad_(True)
        values = {key: _member_values(configs, key, device) for key in MEMBER_KEYS}
        self.reg_weight = values["reg_weight"]
        self.pac = config.pac
        self.g_opt = StackedOptimizer(
            config.optimizer, values["lr_g"], values["beta1"], values["beta2"], self.g
        )
        bound = self.reg_weight if self.regularizer.clip else None
        self.d_opt = StackedOptimizer(
            config.optimizer, values["lr_d"], values["beta1"], values["beta2"], self.d, bound
        )
        self.spectral = None
        if self.regularizer.spectral:
            self.spectral = _spectral_state(self.critic, seeds, device)
        self.streams = SeedStreams(seeds, "train", device)

    @property
    def size(self) -> int:
        return len(self.members)

    def generate(self, z: Tensor) -> Tensor:
        """G(z) for every member: z [K, B, z_dim] -> [K, B, data_dim]."""
        return self.generator.forward(self.g, z)

    def discriminate(
        self, x: Tensor, d_params: Tensor | None = None, spectral: SpectralState | None = None
    ) -> Tensor:
        """D's raw scores [K, B, 1] of inputs (packs) x [K, B, pac * data_dim].

        `d_params` and `spectral` replace D's parameters and spectral-norm vectors
        (unrolling works on copies, so D itself does not change).
        """
        params = self.d if d_params is None else d_params
        return self.critic.forward(params, x, self.spectral if spectral is None else spectral)

    def score(self, x: Tensor) -> Tensor:
        """D's raw scores of samples x [K, N, data_dim] for evaluation, packed as in
        training (a last incomplete pack is left out); no training state changes."""
        return self.critic.forward(self.d, self.pack(x), self.spectral, update=False)

    def pack(self, x: Tensor) -> Tensor:
        """PacGAN packs (Lin et al. 2018): each `pac` consecutive samples concatenated into
        one input of D, [K, N, dim] -> [K, N // pac, pac * dim]."""
        members, count, dim = x.shape
        count -= count % self.pac
        return x[:, :count].reshape(members, count // self.pac, self.pac * dim)

    def keep(self, index: Tensor) -> None:
        """Keep only the members at positions `index`; the others stop training now."""
        self.members = [self.members[i] for i in index.tolist()]
        device_index = index.to(self.g.device)
        self.g = self.g.detach()[device_index].requires_grad_(True)
        self.d = self.d.detach()[device_index].requires_grad_(True)
        self.reg_weight = self.reg_weight[device_index]
        self.g_opt.keep(device_index)
        self.d_opt.keep(device_index)
        if self.spectral is not None:
            self.spectral.keep(device_index)
        self.streams.keep(device_index)

    def state_dict(self) -> dict:
        """Everything that changes while training, on the CPU, for a checkpoint."""
        return {
            "members": list(self.members),
            "g": cpu_copy(self.g),
            "d": cpu_copy(self.d),
            "g_opt": cpu_copy(self.g_opt.state_dict()),
            "d_opt": cpu_copy(self.d_opt.state_dict()),
            "spectral": None if self.spectral is None else cpu_copy(self.spectral.vectors),
            "streams": self.streams.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from `state`, taken from a population built from the same configs."""
        if self.members != list(range(len(self.members))):
            raise ValueError("load_state_dict needs a freshly built population")
        self.keep(torch.tensor(state["members"], dtype=torch.long))
        device = self.g.device
        self.g = state["g"].to(device).requires_grad_(True)
        self.d = state["d"].to(device).requires_grad_(True)
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        if self.spectral is not None:
            self.spectral.vectors = [vector.to(device) for vector in state["spectral"]]
        self.streams.load_state_dict(state["streams"])


def cpu_copy(value):
    """Tensors, alone or in (nested) dicts and lists, copied to the CPU: a snapshot that
    later in-place updates don't change."""
    if isinstance(value, Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: cpu_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [cpu_copy(item) for item in value]
    return value


def build_models(config: TrainConfig, problem) -> tuple[StackedMLP, StackedMLP]:
    """G and D architectures: MLPs, or the Dirac-GAN's linear G(z) = theta, D(x) = psi x.

    With packing (`pac` = m, Lin et al. 2018) D's input is m samples concatenated.
    """
    if problem.linear_models:
        return StackedMLP((1, 1), bias=False), StackedMLP((1, 1), bias=False)
    g_hidden = (config.g_hidden_dim,) * config.g_hidden_layers
    d_hidden = (config.d_hidden_dim,) * config.d_hidden_layers
    g_sizes = (problem.z_dim, *g_hidden, problem.data_dim)
    generator = StackedMLP(
        g_sizes, activation=config.g_activation, batch_norm=config.g_batch_norm,
        tanh_output=problem.bounded, weights_init=config.g_init, gain=config.g_init_gain,
        pieces=config.maxout_pieces,
    )  # fmt: skip
    d_sizes = (problem.data_dim * config.pac, *d_hidden, 1)  # a pack is one input (PacGAN)
    critic = StackedMLP(
        d_sizes, activation=config.d_activation, input_scale=config.d_input_scale,
        weights_init=config.d_init, gain=config.d_init_gain, pieces=config.maxout_pieces,
    )  # fmt: skip
    return generator, critic


def _initial_params(
    generator: StackedMLP, critic: StackedMLP, seeds: list[int]
) -> tuple[Tensor, Tensor]:
    """Initial [K, P] buffers: drawn on the CPU from each member's seed alone."""
    by_seed = {}
    for seed in sorted(set(seeds)):
        rng = stream_generator(seed, "init", torch.device("cpu"))
        by_seed[seed] = (generator.init(rng), critic.init(rng))
    g_init = torch.stack([by_seed[seed][0] for seed in seeds])
    d_init = torch.stack([by_seed[seed][1] for seed in seeds])
    return g_init, d_init


def _spectral_state(critic: StackedMLP, seeds: list[int], device: torch.device) -> SpectralState:
    """Power-iteration start vectors drawn from each member's seed alone."""
    by_seed = {
        seed: SpectralState.initial_vectors(
            critic, stream_generator(seed, "spectral", torch.device("cpu"))
        )
        for seed in sorted(set(seeds))
    }
    layers = zip(*(by_seed[seed] for seed in seeds))
    return SpectralState([torch.stack(layer).to(device) for layer in layers])

"""Adaptive boundary mapping against a grid and random search with the same budget.

For each panel (a loss and regularizer over learning rate x regularizer weight, both log
axes), the ground truth is a dense grid of labels. Each method trains some of the dense
grid's configurations and predicts the whole map from them with the same predictor
(`study.boundary.predict_map`, a vote of the nearest trained points); its map accuracy
is the share of the dense grid's scored cells whose label it predicts right. Every
method trains points of the dense grid, each configuration once (a cache shared by the
methods):

- adaptive: `study.boundary.BoundaryMapper`, 5 x 5 coarse grid, resolution floor = one
  dense-grid step, so its lattice is the dense grid;
- grid: the largest k x k or k x (k + 1) sub-grid of the dense grid within the budget;
- random: `budget` dense-grid points drawn without replacement (mean of `--repeats`).

Labels of trained points come from training them with the engine (study.trainer.train,
CPU) and the labeler (`label_of`): on dirac one population per round and panel, on
ring8 once for the whole dense grid (below).

--problem dirac: the Dirac-GAN (plain SGD, lr_g = lr_d, 1,500 updates), truth from the
linear-stability reference (study/reference.py), three times: with every run at seed 0,
1 and 2 (start direction, instance noise; `--workers` seeds at once), each method scored
on each and the three pooled, as random search's repeats are; a table shows each seed
alone. `borderline` reference cells (the reference gives no answer: the distance
shrinks or grows by less than its thresholds within the budget) are left out of the
score; how many are printed. At the end the rest of each dense grid is trained too:
its labels are the map a perfect search would find, so the script also prints how far
the labeler itself agrees with the reference, and every method's accuracy against that
map (which isolates the search).

--problem ring8: truth = the labels of a 17 x 17 (lr_g, lr_d) log grid (2.5e-4 to 8e-3 on
both axes: D 32x slower to 32x faster than G) per loss for two losses (non-saturating,
hinge), ring8 with 2 x 64 networks, batch 256, 2,000 steps, the study's early-stopping
rule, seeds 0-4, a cell's truth the seeds' majority: 2,890 runs trained once (populations
per loss, study.trainer.train, no Ray) and kept in bench/boundary_ring8_reference.csv,
which reruns read (only missing seeds are trained; `--retrain` trains all again). Every
method then reads its points' five runs from it (the runs it would have trained) and
counts one configuration per point. The reference is the labeler's map of every cell,
so there is one table, against it. The 5 x 5 coarse grid is 8.7% of 289 cells, so the
budgets run from 10% to 50%.

    python bench/boundary_efficiency.py --problem dirac [--dense 33] [--repeats 3]
    python bench/boundary_efficiency.py --problem ring8 [--retrain] [--oracle]

The last line printed is `PROBLEM: accuracy=A at fraction=F`: the adaptive maps'
accuracy (all panels pooled) at the largest budget of at most 25% of the dense grid (the
issue's target), and the configurations it trained as a fraction of the dense grids.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from analysis.legend import COLOURS as LABEL_COLOURS  # noqa: E402
from study.boundary import (  # noqa: E402
    BoundaryMapper,
    BoundarySearch,
    NumericAxis,
    Observation,
    dense_grid,
    predict_map,
)
from study.config import TrainConfig  # noqa: E402
from study.early_stopping import EarlyStopper  # noqa: E402
from study.labels import LABELS, label_history  # noqa: E402
from study.reference import agrees, dirac_config, expected_label  # noqa: E402
from study.thresholds import EarlyStopping, LabelThresholds  # noqa: E402
from study.trainer import MemberResult, train  # noqa: E402

# Budgets tried, as shares of the dense grid. On ring8's 17 x 17 grid the 5 x 5 coarse grid
# is 8.7% already: its budgets start at 10%, and go on past 25% to show the curve.
FRACTIONS = {"dirac": (0.05, 0.10, 0.15, 0.20, 0.25), "ring8": (0.10, 0.15, 0.20, 0.25, 0.35, 0.50)}
COARSE, PER_ROUND = 5, 24
TARGET_FRACTION = 0.25  # the target: >= 95% of the cells with at most 25% of them
# Dirac runs at these seeds (start direction, instance noise), each seed a repetition of
# the whole benchmark with one run per point; accuracies pool the three, as random
# search's repeats are pooled.
DIRAC_SEEDS = (0, 1, 2)
METHODS = ("adaptive", "grid", "random")
# Reference-only answers, with their legend names: borderline cells are left blank.
EXTRA_COLOURS = {"borderline": "#FFFFFF", "not_converged": "#777777"}
EXTRA_NAMES = {
    "borderline": "borderline (not scored)",
    "not_converged": "not converged (any other label)",
}


@dataclass(frozen=True)
class Panel:
    """One map: a loss and a regularizer over (lr, reg_weight), both log axes; `seed` draws
    the Dirac-GAN's start direction and its instance noise (one seed per run)."""

    loss: str
    regularizer: str
    lr: tuple[float, float]
    weight: tuple[float, float]
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.loss}+{self.regularizer}"

    @property
    def axes(self) -> list[NumericAxis]:
        return [NumericAxis("lr", *self.lr), NumericAxis("reg_weight", *self.weight)]

    def config(self, point: dict) -> TrainConfig:
        return dirac_config(
            self.loss, self.regularizer, point["lr"], point["reg_weight"], seed=self.seed
        )


# r1 and r2 act on the Dirac-GAN's psi alike; the Wasserstein loss (slope 1) moves r2's
# map. Instance noise's steps stop at 1.5: beyond, the jitter that noise drawn afresh
# every step leaves around the equilibrium outgrows the labeler's converged distance
# where the noise-free reference converges (docs/label_validation.md).
DIRAC_PANELS = (
    Panel("minimax", "r1", (0.03, 3.0), (0.03, 30.0)),
    Panel("wasserstein", "r2", (0.03, 3.0), (0.03, 30.0)),
    Panel("minimax", "instance_noise", (0.03, 1.5), (0.1, 3.0)),
)


def label_of(result: MemberResult) -> str:
    """The labeler's verdict on one trained run (the one place that calls the labeler)."""
    return label_history(result.history, result.config.loss).label


@dataclass
class Dense:
    """A panel's dense grid: its points, reference labels and the trained-label cache."""

    panel: Panel
    size: int
    points: list[dict] = field(init=False)
    truth: np.ndarray = field(init=False)
    trained: dict[tuple[int, int], str] = field(default_factory=dict)
    train_seconds: float = 0.0
    map: np.ndarray | None = None  # the labeler's map once every cell is trained
    seeds: int = 1  # runs per point; a method's budget counts points

    def __post_init__(self) -> None:
        unit = np.linspace(0.0, 1.0, self.size)
        x, y = self.panel.axes
        self.points = [
            {x.name: float(a), y.name: float(b)}
            for b in y.from_unit(unit)
            for a in x.from_unit(unit)
        ]
        self.truth = self.reference_labels()

    def reference_labels(self) -> np.ndarray:
        """The truth per dense cell: the Dirac-GAN's linear-stability reference."""
        return np.array([expected_label(self.panel.config(p)) for p in self.points])

    def index(self, point: dict) -> tuple[int, int]:
        """The dense cell (row: the second axis, column: the first) a point sits on."""
        unit = [float(a.to_unit(point[a.name])) * (self.size - 1) for a in self.panel.axes]
        assert max(abs(u - round(u)) for u in unit) < 1e-6, f"{point} is off the dense grid"
        column, row = (round(u) for u in unit)
        return row, column

    def labels(self, points: Sequence[dict]) -> list[str]:
        """Labels of dense-grid points, training (as one population) those not trained yet."""
        cells = [self.index(p) for p in points]
        todo = sorted({c for c in cells if c not in self.trained})
        if todo:
            start = time.perf_counter()
            configs = [self.panel.config(self.points[r * self.size + c]) for r, c in todo]
            for cell, result in zip(todo, train(configs, device="cpu")):
                self.trained[cell] = label_of(result)
            self.train_seconds += time.perf_counter() - start
        return [self.trained[c] for c in cells]

    def runs(self, points: Sequence[dict]) -> list[Observation]:
        """A method's runs at `points`: one per point and seed."""
        return list(zip(points, self.labels(points)))

    def predict(self, observations: Sequence[Observation]) -> np.ndarray:
        """The map a method's runs predict over the dense grid."""
        return predict_map(self.panel.axes, observations, self.points).labels

    def accuracy(self, predicted: np.ndarray, dense_map: np.ndarray) -> dict[str, int]:
        """Right cells against the reference (borderline cells not scored) and against
        the map the labeler draws when every dense cell is trained."""
        scored = self.truth != "borderline"
        right = sum(agrees(t, p) for t, p in zip(self.truth[scored], predicted[scored]))
        map_right = int((predicted == dense_map).sum())
        return dict(
            right=right, scored=int(scored.sum()), map_right=map_right, cells=len(self.points)
        )


@dataclass(frozen=True)
class RingPanel:
    """One ring8 map: a loss over (lr_g, lr_d), both log axes; labels from the reference."""

    loss: str

    @property
    def name(self) -> str:
        return self.loss

    @property
    def axes(self) -> list[NumericAxis]:
        return ring8_axes()


@dataclass
class ReferenceDense(Dense):
    """A ring8 panel's dense grid, every cell trained at every seed (the reference file): a
    method "trains" a point by reading its seeds' labels, the runs it would have trained.
    A cell's truth is its seeds' majority label (ties: the lowest seed's), as a study's map
    votes them (`study.boundary.predict_map`)."""

    reference: pd.DataFrame | None = None
    votes: dict[tuple[int, int], list[str]] = field(default_factory=dict)

    def reference_labels(self) -> np.ndarray:
        rows = self.reference[self.reference.loss == self.panel.loss].sort_values("seed")
        for row in rows.to_dict("records"):
            self.votes.setdefault(self.index(row), []).append(row["label"])
        self.seeds = len(set(rows["seed"]))
        if len(self.votes) != len(self.points) or len(rows) != self.seeds * len(self.points):
            raise SystemExit(f"{RING8_REFERENCE}: {self.panel.loss} has {len(rows)} runs, not "
                             f"{self.seeds} per cell of {len(self.points)}; rerun with "
                             "--retrain")  # fmt: skip
        self.map = np.array([majority(self.votes[self.index(p)]) for p in self.points],
                            dtype=object)  # fmt: skip
        return self.map

    def labels(self, points: Sequence[dict]) -> list[str]:
        cells = [self.index(p) for p in points]
        self.trained.update({c: self.map[c[0] * self.size + c[1]] for c in cells})
        return [self.trained[c] for c in cells]

    def runs(self, points: Sequence[dict]) -> list[Observation]:
        self.labels(points)
        return [(p, label) for p in points for label in self.votes[self.index(p)]]


def majority(labels: Sequence[str]) -> str:
    """The most common label; ties go to the one seen first."""
    return Counter(labels).most_common(1)[0][0]


def adaptive(dense: Dense, budget: int) -> tuple[list[Observation], list[tuple]]:
    """The boundary search up to `budget`: (its runs, (trained, predicted map) per round)."""
    floor = {a.name: (a.high / a.low) ** (1 / (dense.size - 1)) for a in dense.panel.axes}
    search = BoundarySearch(budget=budget * dense.seeds, per_round=PER_ROUND * dense.seeds,
                            seeds=dense.seeds, coarse=COARSE, resolution=floor)  # fmt: skip
    mapper = BoundaryMapper(dense.panel.axes, search)
    observations: list[Observation] = []
    rounds = []
    while proposal := mapper.propose(observations):
        observations += dense.runs(proposal)
        rounds.append((len(observations) // dense.seeds, dense.predict(observations)))
    return observations, rounds


def grid_points(dense: Dense, budget: int) -> list[dict]:
    """The largest rows x columns sub-grid of the dense grid within `budget` (columns =
    rows or rows + 1), evenly spread."""
    rows = int(np.floor(np.sqrt(budget)))
    columns = min(rows + 1, budget // rows)
    pick = [np.round(np.linspace(0, dense.size - 1, k)).astype(int) for k in (rows, columns)]
    return [dense.points[r * dense.size + c] for r in pick[0] for c in pick[1]]


def random_points(dense: Dense, budget: int, seed: int) -> list[dict]:
    """`budget` dense-grid points drawn without replacement."""
    order = np.random.default_rng(seed).permutation(len(dense.points))
    return [dense.points[i] for i in order[:budget]]


def measure(
    dense: Dense, fractions: Sequence[float], repeats: int
) -> tuple[list[dict], list[Observation], list[tuple]]:
    """Every method at every budget (`fractions` of the dense grid) on one panel: (records
    with each predicted map, and at the largest budget the adaptive search's runs and
    rounds)."""
    budgets = [round(f * len(dense.points)) for f in fractions]
    fixed = {  # grid and random do not adapt: train all their points as one population
        "grid": {b: [grid_points(dense, b)] for b in budgets},
        "random": {b: [random_points(dense, b, seed) for seed in range(repeats)] for b in budgets},
    }
    dense.labels([p for sets in fixed.values() for runs in sets.values() for r in runs for p in r])
    records, observations, rounds = [], [], []
    for fraction, budget in zip(fractions, budgets):
        observations, rounds = adaptive(dense, budget)
        methods = {"adaptive": [observations]}
        methods |= {name: [dense.runs(r) for r in sets[budget]] for name, sets in fixed.items()}
        for method, runs in methods.items():
            for repeat, run in enumerate(runs):
                records.append(dict(panel=dense.panel.name, method=method, fraction=fraction,
                                    repeat=repeat, trained=len(run) // dense.seeds,
                                    predicted=dense.predict(run)))  # fmt: skip
    return records, observations, rounds


def budget_fractions(records: list[dict]) -> list[float]:
    """The budgets the records were measured at, as shares of the dense grid."""
    return sorted({record["fraction"] for record in records})


def pooled(rows: list[dict], against: str) -> tuple[float, float]:
    """(accuracy against the reference or the dense map, configurations trained as a
    share of the dense grids) summed over the rows (panels, random repeats)."""
    total = {k: sum(r[k] for r in rows) for k in ("right", "scored", "map_right", "cells")}
    right, out_of = ("right", "scored") if against == "reference" else ("map_right", "cells")
    return total[right] / total[out_of], sum(r["trained"] for r in rows) / total["cells"]


def select(records: list[dict], method: str, fraction: float, panel: str | None) -> list[dict]:
    return [r for r in records if r["method"] == method and r["fraction"] == fraction
            and panel in (None, r["panel"])]  # fmt: skip


def table(records: list[dict], panels: Sequence[str | None], against: str) -> list[str]:
    """Markdown rows: accuracy (configurations trained) per panel, budget and method."""
    lines = [
        "| panel | budget | adaptive | grid | random (mean of repeats) | adaptive ahead |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for panel in panels:
        for fraction in budget_fractions(records):
            cells = {m: pooled(select(records, m, fraction, panel), against) for m in METHODS}
            ahead = all(cells["adaptive"][0] > cells[m][0] for m in ("grid", "random"))
            text = " | ".join(f"{a:.1%} ({f:.1%})" for a, f in cells.values())
            lines.append(f"| {panel or 'all'} | {fraction:.0%} | {text} | "
                         f"{'yes' if ahead else 'NO'} |")  # fmt: skip
    return lines


def draw_map(ax, dense: Dense, labels: np.ndarray, title: str) -> None:
    """A label map over the dense grid (borderline reference cells blank)."""
    colours = {**{n: LABEL_COLOURS[n] for n in LABELS}, **EXTRA_COLOURS}
    codes = np.array([list(colours).index(label) for label in labels])
    low = [np.log10(a.low) for a in dense.panel.axes]
    high = [np.log10(a.high) for a in dense.panel.axes]
    ax.imshow(codes.reshape(dense.size, dense.size), origin="lower",
              cmap=ListedColormap(list(colours.values())), vmin=-0.5,
              vmax=len(colours) - 0.5, extent=(low[0], high[0], low[1], high[1]),
              aspect="auto", interpolation="nearest")  # fmt: skip
    ax.set(title=title, xlabel=f"log10 {dense.panel.axes[0].name}",
           ylabel=f"log10 {dense.panel.axes[1].name}")  # fmt: skip


def plot_curves(ax, records: list[dict], dense: Dense | None, final: dict) -> None:
    """Accuracy against the reference per budget and method, for one panel (or pooled),
    with the adaptive search's rounds and what the labeler gets on every dense cell."""
    panel = dense.panel.name if dense else None
    styles = {"adaptive": "o-", "grid": "s--", "random": "^:"}
    for method in METHODS:
        fractions = budget_fractions(records)
        points = [pooled(select(records, method, f, panel), "reference") for f in fractions]
        ax.plot([f for _, f in points], [a for a, _ in points], styles[method], label=method)
    if dense is not None:
        curve = [(n, dense.accuracy(p, dense.map)) for n, p in final[panel][1]]
        x = [n / len(dense.points) for n, _ in curve]
        y = [a["right"] / a["scored"] for _, a in curve]
        ax.plot(x, y, color="C0", alpha=0.35, linewidth=1,
                label=f"adaptive, per round{seed_note(dense)}")  # fmt: skip
        ceiling = dense.accuracy(dense.map, dense.map)
        ax.axhline(ceiling["right"] / ceiling["scored"], color="black", linewidth=0.8,
                   linestyle=":", label=f"labeler on every cell{seed_note(dense)}")  # fmt: skip
    ax.axhline(0.95, color="grey", linewidth=0.8, linestyle="--", label="target 95%")
    lowest = min(min(line.get_ydata(), default=1.0) for line in ax.get_lines())
    ax.set(title=panel or "all panels pooled", xlabel="configurations / dense grid",
           ylabel="map accuracy vs reference", ylim=(min(0.85, lowest - 0.02), 1.005))  # fmt: skip
    ax.legend(fontsize=7, loc="lower right")


def plot_adaptive_map(ax, dense: Dense, observations: list[Observation]) -> None:
    """The adaptive map at the largest budget, its trained points, its wrong cells."""
    predicted = dense.predict(observations)
    points = len(observations) // dense.seeds
    title = f"{dense.panel.name}: adaptive\n{points} points{seed_note(dense)}"
    draw_map(ax, dense, predicted, title)
    x, y = (axis.name for axis in dense.panel.axes)
    xy = np.log10([[p[x], p[y]] for p, _ in observations])
    ax.scatter(xy[:, 0], xy[:, 1], s=4, color="black")
    wrong = [t != "borderline" and not agrees(t, p) for t, p in zip(dense.truth, predicted)]
    xy = np.log10([[p[x], p[y]] for p, w in zip(dense.points, wrong) if w])
    if len(xy):
        ax.scatter(xy[:, 0], xy[:, 1], s=14, marker="x", color="white")


def seed_note(dense: Dense) -> str:
    """ ", seed N" where a figure shows one of several seeds' runs (Dirac), else ""."""
    return f", seed {dense.panel.seed}" if isinstance(dense.panel, Panel) else ""


def plot(denses: Sequence[Dense], records: list[dict], final: dict, path: str) -> None:
    """Row 1: accuracy against configurations; row 2: the reference maps; row 3: the
    adaptive maps at the largest budget. Saved to `path`."""
    fig, axes = plt.subplots(3, len(denses) + 1, figsize=(4.2 * (len(denses) + 1), 11.5))
    plot_curves(axes[0, 0], records, None, final)
    for column, dense in enumerate(denses, start=1):
        plot_curves(axes[0, column], records, dense, final)
        draw_map(axes[1, column], dense, dense.truth, f"{dense.panel.name}: reference")
        plot_adaptive_map(axes[2, column], dense, final[dense.panel.name][0])
    for row in (1, 2):
        axes[row, 0].axis("off")
    colours = {n: LABEL_COLOURS[n] for n in LABELS}
    for answer, colour in EXTRA_COLOURS.items():
        if any((dense.truth == answer).any() for dense in denses):
            colours[EXTRA_NAMES[answer]] = colour
    handles = [
        plt.Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="#999999") for c in colours.values()
    ]
    axes[1, 0].legend(handles, list(colours), loc="center", title="labels")
    marks = [
        plt.Line2D([], [], marker=".", color="black", linestyle="", label="trained (adaptive)"),
        plt.Line2D([], [], marker="x", color="grey", linestyle="", label="wrong vs reference"),
    ]
    axes[2, 0].legend(handles=marks, loc="center", title="adaptive maps")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


RING8_LOSSES = ("nonsaturating", "hinge")
RING8_SEEDS = (0, 1, 2, 3, 4)  # a cell's truth is its seeds' majority label
RING8_LR = (2.5e-4, 8e-3)  # lr_g and lr_d: D 32x slower to 32x faster than G
RING8_FIXED = dict(problem="ring8", hidden_dim=64, hidden_layers=2, batch_size=256,
                   steps=2000, eval_every=100)  # fmt: skip
RING8_REFERENCE = "bench/boundary_ring8_reference.csv"
REFERENCE_COLUMNS = ("loss", "seed", "lr_g", "lr_d", "label", "steps_run", "stopped_early")


def ring8_axes() -> list[NumericAxis]:
    return [NumericAxis("lr_g", *RING8_LR), NumericAxis("lr_d", *RING8_LR)]


def ring8_config(loss: str, point: dict, seed: int) -> TrainConfig:
    return TrainConfig(**RING8_FIXED, loss=loss, seed=seed, lr_g=point["lr_g"], lr_d=point["lr_d"])


def read_ring8_reference(path: str) -> pd.DataFrame:
    """The reference runs kept so far (none when the file is missing); files written
    before seeds were added hold seed 0."""
    if not os.path.exists(path):
        return pd.DataFrame(columns=list(REFERENCE_COLUMNS))
    frame = pd.read_csv(path)
    if "seed" not in frame:
        frame.insert(1, "seed", 0)
    return frame


def train_ring8_reference(size: int, path: str, retrain: bool) -> pd.DataFrame:
    """Train the dense size x size (lr_g, lr_d) grid of every loss and seed not in `path`
    yet (all of them with `retrain`): one population per loss, the study's early-stopping
    rule, CPU. Each run's result does not depend on its population (bench/
    member_equivalence.py), so seeds trained at different times make one reference."""
    frame = pd.DataFrame(columns=list(REFERENCE_COLUMNS)) if retrain else read_ring8_reference(path)
    points = dense_grid(ring8_axes(), size)
    for loss in RING8_LOSSES:
        have = set(frame.loc[frame.loss == loss, "seed"])
        todo = [(seed, p) for seed in RING8_SEEDS if seed not in have for p in points]
        if not todo:
            continue
        configs = [ring8_config(loss, p, seed) for seed, p in todo]
        stopper = EarlyStopper([loss] * len(configs), [c.steps for c in configs],
                               LabelThresholds(), EarlyStopping())  # fmt: skip
        start = time.perf_counter()
        results = train(configs, should_stop=stopper, device="cpu")
        seconds = time.perf_counter() - start
        print(f"ring8 reference, {loss}: {len(configs)} runs in {seconds:.0f} s", flush=True)
        rows = [dict(loss=loss, seed=seed, **p, label=label_of(result),
                     steps_run=result.steps_run, stopped_early=result.stopped_early)
                for (seed, p), result in zip(todo, results)]  # fmt: skip
        frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
        frame.to_csv(path, index=False, float_format="%.9g")  # each loss as soon as it is done
    return frame


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def evaluate(dense: Dense, problem: str, repeats: int) -> tuple[list[dict], tuple, int]:
    """Every method on one panel, scored: (records, the adaptive search's runs and rounds
    at the largest budget, distinct cells the methods trained)."""
    rows, observations, rounds = measure(dense, FRACTIONS[problem], repeats)
    on_demand = len(dense.trained)
    if dense.map is None:
        dense.map = np.array(dense.labels(dense.points), dtype=object)  # the rest, once
    for row in rows:
        row.update(dense.accuracy(row.pop("predicted"), dense.map))
    return rows, (observations, rounds), on_demand


def dirac_seed(seed: int, size: int, repeats: int) -> tuple[list[Dense], list[dict], dict]:
    """Every Dirac panel with runs of one seed: its dense grids, scored records, and the
    adaptive search's runs and rounds at the largest budget."""
    torch.set_num_threads(1)
    denses, records, final = [], [], {}
    for panel in DIRAC_PANELS:
        dense = Dense(replace(panel, seed=seed), size)
        rows, final[panel.name], on_demand = evaluate(dense, "dirac", repeats)
        denses.append(dense)
        records += [dict(row, seed=seed) for row in rows]
        agree = dense.accuracy(dense.map, dense.map)
        print(f"seed {seed}, {panel.name}: {len(dense.points)} cells, "
              f"{int((dense.truth == 'borderline').sum())} borderline (not scored); the methods "
              f"trained {on_demand} distinct cells; with all trained ({dense.train_seconds:.0f} s)"
              f" the labeler agrees with the reference on {agree['right']}/{agree['scored']} = "
              f"{agree['right'] / agree['scored']:.1%}", flush=True)  # fmt: skip
    return denses, records, final


def dirac_panels(size: int, repeats: int, workers: int) -> tuple[list[Dense], list[dict], dict]:
    """Every panel at every seed of DIRAC_SEEDS (the seeds in `workers` processes):
    records of all seeds, the dense grids and final runs of the first seed (drawn)."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(dirac_seed, DIRAC_SEEDS, [size] * len(DIRAC_SEEDS),
                             [repeats] * len(DIRAC_SEEDS)))  # fmt: skip
    records = [record for _, rows, _ in runs for record in rows]
    return runs[0][0], records, runs[0][2]


def seed_table(records: list[dict]) -> list[str]:
    """Markdown rows: per seed, all panels pooled, adaptive / grid / random per budget."""
    fractions = budget_fractions(records)
    lines = ["| seed | " + " | ".join(f"{f:.0%}" for f in fractions) + " |",
             "| --- |" + " ---: |" * len(fractions)]  # fmt: skip
    for seed in sorted({record["seed"] for record in records}):
        mine = [record for record in records if record["seed"] == seed]
        cells = []
        for fraction in fractions:
            a, g, r = (pooled(select(mine, m, fraction, None), "reference")[0] for m in METHODS)
            cells.append(f"{a:.1%} / {g:.1%} / {r:.1%}" + ("" if a > max(g, r) else " NO"))
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    return lines


def neighbour_counts(dense: Dense) -> tuple[int, int]:
    """Reference cells whose label differs from at least one of their (up to four) grid
    neighbours', and from all of them: what a map drawn from a few cells must get wrong
    unless it trains them."""
    grid = dense.truth.reshape(dense.size, dense.size)
    edge = alone = 0
    for (row, column), label in np.ndenumerate(grid):
        steps = ((row - 1, column), (row + 1, column), (row, column - 1), (row, column + 1))
        others = [grid[r, c] for r, c in steps if 0 <= r < dense.size and 0 <= c < dense.size]
        edge += any(other != label for other in others)
        alone += all(other != label for other in others)
    return edge, alone


def oracle_accuracy(dense: Dense, budget: int) -> float:
    """A ceiling for any search with this predictor: starting from the coarse grid, add
    the dense cell that most raises the map's accuracy against the truth (which no real
    search knows), one at a time, up to `budget` points."""
    step = (dense.size - 1) // (COARSE - 1)
    chosen = [p for p in dense.points if all(i % step == 0 for i in dense.index(p))]

    def accuracy(points: list[dict]) -> float:
        return float((dense.predict(dense.runs(points)) == dense.truth).mean())

    while len(chosen) < budget:
        rest = [p for p in dense.points if p not in chosen]
        chosen.append(max(rest, key=lambda p: accuracy([*chosen, p])))
    return accuracy(chosen)


def ring8_panels(size: int, repeats: int, retrain: bool) -> tuple[list[Dense], list[dict], dict]:
    reference = train_ring8_reference(size, RING8_REFERENCE, retrain)
    print(f"ring8 reference: {RING8_REFERENCE} ({len(reference)} runs; --retrain to train "
          "it again)")  # fmt: skip
    denses, records, final = [], [], {}
    for loss in RING8_LOSSES:
        dense = ReferenceDense(RingPanel(loss), size, reference=reference)
        rows, final[loss], on_demand = evaluate(dense, "ring8", repeats)
        denses.append(dense)
        records += rows
        mix = ", ".join(f"{k} {v}" for k, v in Counter(dense.truth).most_common())
        edge, alone = neighbour_counts(dense)
        print(f"{loss}: {len(dense.points)} cells ({mix}); {edge} differ from a neighbour, "
              f"{alone} from all four; the methods read {on_demand} distinct cells",
              flush=True)  # fmt: skip
    return denses, records, final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", choices=("dirac", "ring8"), default="dirac")
    parser.add_argument(
        "--dense", type=int, default=None,
        help="dense grid points per axis (dirac 33, ring8 17): 4 x 2**k + 1, so that the "
        "search lattice (5-point coarse grid halved k times) is the dense grid",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="random-search repeats")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (tiny ops: 1)")
    parser.add_argument("--workers", type=int, default=2, help="dirac: seeds trained at once")
    parser.add_argument("--figure", default=None, help="default bench/boundary_PROBLEM.png")
    parser.add_argument("--retrain", action="store_true", help="ring8: train the reference again")
    parser.add_argument(
        "--oracle", action="store_true",
        help="ring8: also print the greedy oracle's accuracy at the target budget (about 1 min)",
    )  # fmt: skip
    args = parser.parse_args()
    size = args.dense or (33 if args.problem == "dirac" else 17)
    if (size - 1) % (COARSE - 1) or not _power_of_two((size - 1) // (COARSE - 1)):
        parser.error(f"--dense: {size} is not {COARSE - 1} x 2**k + 1 (17, 33, 65, ...)")
    figure = args.figure or f"bench/boundary_{args.problem}.png"
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    if args.problem == "dirac":
        denses, records, final = dirac_panels(size, args.repeats, args.workers)
    else:
        denses, records, final = ring8_panels(size, args.repeats, args.retrain)
    panels = [None, *(d.panel.name for d in denses)]
    truth = "the linear-stability reference" if args.problem == "dirac" else "the reference runs"
    print(f"\nMap accuracy against {truth} (configurations trained):")
    print("\n".join(table(records, panels, "reference")))
    if args.problem == "dirac":  # on ring8 the reference is the labeler's map
        print("\nMap accuracy against the labeler's map of the whole dense grid:")
        print("\n".join(table(records, panels, "dense map")))
        print("\nEach seed alone, all panels pooled (adaptive / grid / random; NO: not ahead):")
        print("\n".join(seed_table(records)))
    plot(denses, records, final, figure)
    if args.oracle and args.problem == "ring8":
        for dense in denses:
            best = oracle_accuracy(dense, round(TARGET_FRACTION * len(dense.points)))
            print(f"greedy oracle, {dense.panel.name}: {best:.1%} at {TARGET_FRACTION:.0%}")
    target = max(f for f in budget_fractions(records) if f <= TARGET_FRACTION)
    accuracy, fraction = pooled(select(records, "adaptive", target, None), "reference")
    print(f"\nfigure: {figure}; {time.perf_counter() - start:.0f} s in all, "
          f"{torch.get_num_threads()} torch thread(s)")  # fmt: skip
    print(f"{args.problem}: accuracy={accuracy:.3f} at fraction={fraction:.3f}")


if __name__ == "__main__":
    main()

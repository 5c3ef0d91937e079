"""How many high-quality samples a collapsed GAN's mode count on grid25 rests on.

VEEGAN and PacGAN count a mode as covered when at least one high-quality sample (within
3 std) is nearest to it, with no minimum. A collapsed GAN on grid25 puts most of its
samples between the modes (VEEGAN Table 1: 0.5% high quality), so its mode count counts
the modes its few stray samples happen to touch, and grows with their number. ganmap's
collapsed GAN on grid25 covers more modes than the paper's 3.3 at a higher high-quality
share (docs/reproduction.md, Metz et al. settings). This script trains one row of
`reproduce_tables.py` (5 seeds, one population), keeps the training state at the steps
asked for and measures per seed the trainer's own evaluation at that step (its modes
and high-quality samples, on its evaluation batch: the figures the row's table shows),
then, on 2,500 samples from another fixed latent batch:

- the high-quality samples (a count) and the modes they cover (the papers' count);
- the median count of high-quality samples on a covered mode, and ganmap's `modes_held`
  (modes nearest to at least a fifth of the samples the data would put there, at any
  distance: how many modes' neighbourhoods the samples spread over);
- `modes_at_paper_share`: the modes the papers' rule would count had the generator put
  only the row's published high-quality share of its samples near a mode, those drawn at
  random from its own high-quality samples: the expected number of distinct modes among
  n of them drawn without replacement (n = the published share of 2,500, interpolated
  between whole counts; all of them when fewer).

Results go to bench/reproduction/strays/<row>.json.

    python bench/stray_modes.py metz-grid25-gan   # ~12 min on one core here
"""

import math
import statistics
from functools import partial

from collapsed_blob import SAMPLES, measure_row, row_arguments, samples_and_pulls
from reproduce_tables import ROWS, STRAY_STORE

from study.config import TrainConfig
from study.metrics import COUNTS_HQ, mixture_mode_metrics

SEEDS = 5


def stray_measures(configs: list[TrainConfig], state: dict, paper_share: float) -> list[dict]:
    """Per seed: the high-quality samples, the modes they cover, and the modes they would
    cover at the published high-quality share `paper_share` (%) (module docstring)."""
    _, problem, samples, _, _ = samples_and_pulls(configs, state)
    metrics = mixture_mode_metrics(samples, problem.modes, problem.std)
    drawn = paper_share / 100 * SAMPLES
    evaluations = [result["history"][-1] for result in state["results"]]
    evaluated = configs[0].eval_samples
    measures = []
    for counts, covered, held, evaluation in zip(
        metrics[COUNTS_HQ].tolist(), metrics["modes_covered"], metrics["modes_held"], evaluations
    ):
        on_covered = [count for count in counts if count > 0]
        measures.append({
            "trainer_modes": float(evaluation["modes_covered"]),
            "trainer_high_quality_samples": round(evaluation["high_quality"] * evaluated),
            "high_quality_samples": sum(counts),
            "modes": float(covered),
            "median_per_covered_mode": statistics.median(on_covered) if on_covered else 0.0,
            "modes_held": float(held),
            "modes_at_paper_share": expected_modes(counts, drawn),
        })  # fmt: skip
    return measures


def expected_modes(counts: list[float], drawn: float) -> float:
    """Expected distinct modes among `drawn` samples taken without replacement from samples
    spread over the modes as `counts`; a fractional `drawn` interpolates linearly between
    the whole counts around it, and at least as many as there are gives every covered mode."""
    counts = [int(count) for count in counts]
    total = sum(counts)
    if drawn >= total:
        return float(sum(count > 0 for count in counts))

    def whole(n: int) -> float:
        return sum(1 - math.comb(total - count, n) / math.comb(total, n) for count in counts)

    low = math.floor(drawn)
    return whole(low) + (drawn - low) * (whole(low + 1) - whole(low))


def main() -> None:
    args = row_arguments(__doc__.splitlines()[0], 25_000, [5000, 10000, 25000])
    paper_share = next(row.high_quality for row in ROWS if row.key == args.row)
    measure = partial(stray_measures, paper_share=paper_share)
    by_step = measure_row(args, SEEDS, measure, STRAY_STORE)
    for step, seeds in by_step.items():
        modes = ", ".join(f"{seed['modes']:g}" for seed in seeds)
        at_paper = ", ".join(f"{seed['modes_at_paper_share']:.1f}" for seed in seeds)
        print(f"step {step}: modes {modes}; at the paper's share {at_paper}")


if __name__ == "__main__":
    main()

"""Validate the labeler against known cases and write docs/label_validation.md.

1. The Dirac-GAN over loss x regularizer x step size x penalty weight, with reference
   labels from the linear stability of the update map (study/reference.py), for two
   seeds: seed 0 is the set the thresholds were chosen on, seed 1 is held out.
2. ring8 cases from the literature: minimax vs non-saturating against a strong D,
   generators pinned to one / half the modes, a far-too-high step size, a healthy run.
3. Early stopping: on a ring8 lr_g x lr_d grid trained to the end, how often a stop
   decided online would have carried a different label than the full run.

    python bench/label_accuracy.py [--out docs/label_validation.md]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import time
from pathlib import Path

import torch

from study.config import TrainConfig
from study.labels import EarlyStopper, LabelThresholds, label_history
from study.reference import (
    agrees,
    dirac_config,
    expected_label,
    pinned_history,
    spectral_radius,
)
from study.trainer import train

STEP_SIZES = [0.02, 0.1, 0.5, 1.5, 3.0, 4.5]
DIRAC_GROUPS = [  # (loss, regularizer, reg_weights): one population per pair
    *[(loss, "none", [None]) for loss in ("minimax", "nonsaturating", "wasserstein")],
    *[(loss, "r1", [0.3, 1.0, 3.0]) for loss in ("minimax", "nonsaturating", "wasserstein")],
    *[(loss, "r2", [1.0]) for loss in ("minimax", "nonsaturating", "wasserstein")],
    *[(loss, "instance_noise", [0.5, 1.0]) for loss in ("minimax", "nonsaturating")],
    *[(loss, "gp", [1.0]) for loss in ("minimax", "nonsaturating", "wasserstein")],
    ("wasserstein", "weight_clip", [0.5]),
]
RING8 = dict(hidden_dim=64, hidden_layers=2, steps=2500, eval_every=100)


def dirac_cases(seed: int) -> list[tuple[TrainConfig, str, str]]:
    """(config, reference, label) for the whole Dirac set at one seed."""
    rows = []
    for loss, regularizer, weights in DIRAC_GROUPS:
        configs = [
            dirac_config(loss, regularizer, h, weight, seed=seed)
            for weight, h in itertools.product(weights, STEP_SIZES)
        ]
        for result in train(configs):
            label = label_history(result.history, loss).label
            rows.append((result.config, expected_label(result.config), label))
    return rows


def confusion_table(rows) -> str:
    counts = collections.Counter((expected, label) for _, expected, label in rows)
    references = sorted({expected for _, expected, _ in rows})
    labels = sorted({label for _, _, label in rows})
    lines = ["| reference \\ label | " + " | ".join(labels) + " |"]
    lines.append("|---" * (len(labels) + 1) + "|")
    for reference in references:
        cells = [str(counts[(reference, label)] or "") for label in labels]
        lines.append(f"| {reference} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy(rows) -> tuple[int, int]:
    scored = [(expected, label) for _, expected, label in rows if expected != "borderline"]
    return sum(agrees(expected, label) for expected, label in scored), len(scored)


def mismatches(rows) -> str:
    lines = [
        "| loss | regularizer | reg_weight | step | rho | reference | label |",
        "|---" * 7 + "|",
    ]
    for config, expected, label in rows:
        if expected != "borderline" and not agrees(expected, label):
            lines.append(
                f"| {config.loss} | {config.regularizer} | {config.reg_weight:g} | "
                f"{config.lr_d:g} | {spectral_radius(config):.3f} | {expected} | {label} |"
            )
    return "\n".join(lines)


def ring8_cases() -> list[tuple[str, str, str, str]]:
    """(case, expected, label, reason) for the literature cases on ring8."""
    strong_d = dict(RING8, d_steps=5, lr_g=1e-4, lr_d=5e-3, seed=0)
    cases = []
    for loss, expected in (("minimax", "vanishing"), ("nonsaturating", "not vanishing")):
        (result,) = train([TrainConfig(**strong_d, loss=loss)])
        label = label_history(result.history, loss)
        cases.append(
            (f"{loss}, D 5 steps at 50x G's lr", expected, label.label, label.label_reason)
        )
    for name, modes, expected in (
        ("one mode", [0], "collapsed/complete"),
        ("half the modes", [0, 2, 4, 6], "collapsed/partial"),
    ):
        label = label_history(pinned_history(modes), "nonsaturating")
        got = f"{label.label}/{label.collapse_kind}" if label.collapse_kind else label.label
        cases.append((f"generator pinned to {name}", expected, got, label.label_reason))
    too_high = TrainConfig(**RING8 | dict(steps=300), optimizer="sgd", lr_g=5.0, lr_d=5.0)
    healthy = TrainConfig(**RING8, lr_g=1e-3, lr_d=2e-3, seed=0)
    for name, config, expected in (
        ("SGD at lr 5", too_high, "diverged"),
        ("healthy (lr_g 1e-3, lr_d 2e-3)", healthy, "converged"),
    ):
        (result,) = train([config])
        label = label_history(result.history, config.loss)
        cases.append((name, expected, label.label, label.label_reason))
    return cases


def case_agrees(expected: str, label: str) -> bool:
    if expected.startswith("not "):
        return not label.startswith(expected[4:])
    return label == expected


def early_stop_flips(thresholds: LabelThresholds) -> tuple[str, dict]:
    """Replay the online stopper on full ring8 runs; compare the label at the stop."""
    settings = [(1e-4, 5e-3), (5e-4, 2e-3), (1e-3, 2e-3), (2e-3, 5e-4)]  # (lr_g, lr_d)
    results = []
    for loss, d_steps in itertools.product(("nonsaturating", "minimax"), (1, 5)):
        configs = [
            TrainConfig(**RING8, loss=loss, d_steps=d_steps, lr_g=g, lr_d=d, seed=s)
            for (g, d), s in itertools.product(settings, (0, 1))
        ]
        results += train(configs)
    stats = collections.Counter()
    lines = ["| lr_g | lr_d | D:G | seed | loss | stop step | label at stop | final label |"]
    lines.append("|---" * 8 + "|")
    for result in results:
        stopper = EarlyStopper([result.config.loss], [result.config.steps], thresholds)
        final = label_history(result.history, result.config.loss).label
        stop = next(
            (i for i in range(1, len(result.history) + 1) if stopper(0, result.history[:i])), None
        )
        stats["trials"] += 1
        if stop is None:
            continue
        at_stop = label_history(result.history[:stop], result.config.loss).label
        stats["stopped"] += 1
        stats["flipped"] += at_stop != final
        stats["steps_saved"] += result.config.steps - result.history[stop - 1]["step"]
        c = result.config
        lines.append(
            f"| {c.lr_g:g} | {c.lr_d:g} | {c.d_steps}:1 | {c.seed} | {c.loss} | "
            f"{result.history[stop - 1]['step']} | {at_stop} | {final} |"
        )
    stats["steps_total"] = sum(r.config.steps for r in results)
    return "\n".join(lines), stats


def thresholds_table(thresholds: LabelThresholds) -> str:
    lines = ["| threshold | default | meaning |", "|---|---|---|"]
    for name, field in LabelThresholds.model_fields.items():
        lines.append(f"| `{name}` | {getattr(thresholds, name):g} | {field.description} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/label_validation.md")
    args = parser.parse_args()
    start = time.perf_counter()
    thresholds = LabelThresholds()
    tuned, held_out = dirac_cases(seed=0), dirac_cases(seed=1)
    cases = ring8_cases()
    flips_table, flips = early_stop_flips(thresholds)
    tuned_right, tuned_total = accuracy(tuned)
    held_right, held_total = accuracy(held_out)
    case_rows = "\n".join(
        f"| {name} | {expected} | {label} | {'yes' if case_agrees(expected, label) else 'NO'} "
        f"| {reason} |"
        for name, expected, label, reason in cases
    )
    text = f"""# Label validation

Generated by `python bench/label_accuracy.py` ({time.perf_counter() - start:.0f} s on
{torch.get_num_threads()} CPU threads, torch {torch.__version__}). Rerun it after any
change to the labeler or the engine; do not edit by hand. Definitions: `docs/labels.md`.

## Dirac-GAN against its linear stability

Reference labels from the spectral radius rho of the linearized alternating SGD
update (`study/reference.py`; Mescheder et al. 2018). Step sizes {STEP_SIZES},
1,500 updates, batch 256, start 0.5 from the equilibrium. `not_converged` (WGAN-GP,
WGAN with clipping) accepts any label but converged; `borderline` cases (the
non-saturating loss without penalty, budgets that end before the linear answer shows)
are shown but not scored.

Seed 0 (the thresholds were chosen looking at this set): **{tuned_right}/{tuned_total}
= {tuned_right / tuned_total:.0%}** agree.

{confusion_table(tuned)}

Seed 1 (held out): **{held_right}/{held_total} = {held_right / held_total:.0%}** agree.

{confusion_table(held_out)}

Disagreements at seed 0:

{mismatches(tuned)}

Why they disagree: the reference is linear and noise-free. At step 3 and above the
first updates throw (theta, psi) out of the linear region, where the saturating losses
flatten out (minimax at h = 3 is exactly marginal, rho = 1, so higher-order terms decide:
it spirals out); and instance noise adds gradient noise that a large step amplifies
until it stalls, cycles or overflows. Mescheder et al. state instance noise converges
for small enough steps, which is what the smaller steps here show.

## ring8 cases from the literature

| case | expected | label | agrees | reason |
|---|---|---|---|---|
{case_rows}

## Early stopping

The online stopper (patience {thresholds.patience}, never before
{thresholds.min_stop_fraction:.0%} of the budget) replayed on {flips["trials"]} full ring8
runs ((lr_g, lr_d) in {{(1e-4, 5e-3), (5e-4, 2e-3), (1e-3, 2e-3), (2e-3, 5e-4)}},
D:G 1:1 and 5:1, seeds 0-1, minimax and non-saturating):
{flips["stopped"]} would have stopped early, saving {flips["steps_saved"]} of
{flips["steps_total"]} generator steps ({flips["steps_saved"] / flips["steps_total"]:.0%});
**{flips["flipped"]} of those {flips["stopped"]}** carried a label at the stop that differs
from the full run's final label.

{flips_table}

## Thresholds

{thresholds_table(thresholds)}
"""
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(
        f"wrote {args.out}: Dirac {tuned_right}/{tuned_total} (held out {held_right}/{held_total})"
    )


if __name__ == "__main__":
    main()

"""The labeler against the blind hand labels of the reference set (tables for the doc).

The reference runs (bench/reference_runs.py) are labeled from their stored histories,
exactly as `ganmap relabel` labels a study, and compared with the hand labels in
bench/reference/hand_labels.csv (judged from the panels before the labeler's output for
these runs was read). Seed 0's runs are the tuning half, seed 1's the held-out half.
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from study.early_stopping import EarlyStopper
from study.labels import label_evidence, label_history
from study.relabel import trial_evidence
from study.schema import LABELS
from study.thresholds import LabelThresholds

CONFIDENCE_LEVELS = ("sure", "likely", "unsure")


def load_runs(folder: Path) -> tuple[pd.DataFrame, dict[str, pq.Table]]:
    """Every reference run's config (one row per run) and its history rows by run id."""
    configs, histories = [], {}
    for spec in sorted(path for path in folder.iterdir() if (path / "runs.parquet").exists()):
        configs.append(pd.read_parquet(spec / "runs.parquet").assign(spec=spec.name))
        order = [("run_id", "ascending"), ("step", "ascending")]
        table = pq.read_table(spec / "history.parquet").sort_by(order)
        ids = np.array(table["run_id"].to_pylist())
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        for start, end in zip(starts, np.r_[starts[1:], len(ids)]):
            histories[ids[start]] = table.slice(start, end - start)
    return pd.concat(configs, ignore_index=True), histories


def labeled(runs: pd.DataFrame, histories: dict, hand: pd.DataFrame, t: LabelThresholds):
    """The runs with their hand label and the labeler's, one row per hand-labeled run."""
    rows = []
    for run in runs.itertuples():
        label = label_evidence(trial_evidence(histories[run.run_id], t), run.loss, t)
        rows.append({"run_id": run.run_id, "label": label.label, "kind": label.collapse_kind,
                     "confidence": label.confidence, "reason": label.label_reason})  # fmt: skip
    auto = pd.DataFrame(rows)
    merged = runs.merge(hand, on="run_id").merge(auto, on="run_id")
    merged["half"] = np.where(merged["seed"] == 0, "tuning", "held-out")
    merged["agrees"] = merged["hand_label"] == merged["label"]
    return merged


def read_hand_labels(folder: Path) -> pd.DataFrame:
    """The judge's CSVs (one per problem), columns renamed hand_*; checked against the
    label vocabulary."""
    hand = pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False)
                      for path in sorted(folder.glob("*.csv"))], ignore_index=True)  # fmt: skip
    unknown = set(hand["label"]) - set(LABELS)
    if unknown:
        raise ValueError(f"{folder}: unknown labels {sorted(unknown)}")
    return hand.rename(columns={name: f"hand_{name}" for name in hand.columns if name != "run_id"})


def agreement(frame: pd.DataFrame) -> str:
    """'a/b = p%' of rows whose labels agree."""
    if frame.empty:
        return "0/0"
    right, total = int(frame["agrees"].sum()), len(frame)
    return f"{right}/{total} = {right / total:.0%}"


def agreement_table(frame: pd.DataFrame) -> str:
    """Agreement by half and problem, on all runs and on runs the judge was sure about."""
    lines = ["| half | problem | all runs | judged sure |", "|---|---|---|---|"]
    for half in ("held-out", "tuning"):
        part = frame[frame["half"] == half]
        groups = [("all", part)] + [(p, part[part["problem"] == p]) for p in
                                    sorted(part["problem"].unique())]  # fmt: skip
        for problem, rows in groups:
            sure = rows[rows["hand_confidence"] == "sure"]
            lines.append(f"| {half} | {problem} | {agreement(rows)} | {agreement(sure)} |")
    return "\n".join(lines)


def confusion(frame: pd.DataFrame) -> str:
    """Hand label (rows) x labeler's label (columns)."""
    counts = collections.Counter(zip(frame["hand_label"], frame["label"]))
    present = [label for label in LABELS if label in set(frame["label"])]
    lines = ["| hand \\ labeler | " + " | ".join(present) + " |", "|---" * (len(present) + 1) + "|"]
    for hand in [label for label in LABELS if label in set(frame["hand_label"])]:
        cells = [str(counts[(hand, label)] or "") for label in present]
        lines.append(f"| {hand} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration(frame: pd.DataFrame) -> str:
    """How often the labeler agrees with the judge, by the labeler's confidence."""
    bins = [(1.0, 1.01, "1"), (0.75, 1.0, "0.75-0.99"), (0.5, 0.75, "0.5-0.74"),
            (0.0, 0.5, "< 0.5")]  # fmt: skip
    lines = ["| confidence | runs | agree | mean confidence |", "|---|---|---|---|"]
    for low, high, name in bins:
        rows = frame[(frame["confidence"] >= low) & (frame["confidence"] < high)]
        if len(rows):
            lines.append(f"| {name} | {len(rows)} | {rows['agrees'].mean():.0%} | "
                         f"{rows['confidence'].mean():.2f} |")  # fmt: skip
    return "\n".join(lines)


def disagreements(frame: pd.DataFrame) -> str:
    lines = ["| run | judge | labeler | judge's reason | labeler's reason |", "|---" * 5 + "|"]
    for row in frame[~frame["agrees"]].itertuples():
        hand = row.hand_label + (f"/{row.hand_collapse_kind}" if row.hand_collapse_kind else "")
        auto = row.label + (f"/{row.kind}" if row.kind else "")
        lines.append(f"| {row.run_id} | {hand} ({row.hand_confidence}) | {auto} "
                     f"({row.confidence:.2f}) | {row.hand_reason} | {row.reason} |")  # fmt: skip
    return "\n".join(lines)


def inter_rater(first: pd.DataFrame, second_folder: Path) -> str:
    """Agreement of a second, independent judge with the first, on the runs both judged."""
    paths = sorted(second_folder.glob("*.csv"))
    if not paths:
        return "(no second judge's labels)"
    second = pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False) for path in paths])
    both = first.merge(second, on="run_id")
    same = (both["hand_label"] == both["label"]).sum()
    return f"{same}/{len(both)} = {same / len(both):.0%} of the {len(both)} runs both judged"


def early_stop_flips(runs: pd.DataFrame, histories: dict, t: LabelThresholds) -> dict:
    """Replay the online stopper on every run's full history: where it would stop, and
    whether the label at the stop differs from the full run's."""
    stats = collections.Counter()
    for run in runs.itertuples():
        rows = _rows(histories[run.run_id])
        stopper = EarlyStopper([run.loss], [run.steps], t)
        final = label_history(rows, run.loss, t, with_confidence=False).label
        stop = next((i for i in range(1, len(rows) + 1) if stopper(0, rows[:i])), None)
        stats["runs"] += 1
        stats["steps_total"] += run.steps
        if stop is None:
            continue
        at_stop = label_history(rows[:stop], run.loss, t, with_confidence=False).label
        stats["stopped"] += 1
        stats["flipped"] += at_stop != final
        stats["steps_saved"] += run.steps - rows[stop - 1]["step"]
    return stats


def _rows(table) -> list[dict]:
    """History rows as the trainer gives them (lists for mode counts, no nulls)."""
    rows = table.drop(["run_id"]).to_pylist()
    return [{key: value for key, value in row.items() if value is not None} for row in rows]

"""Region tables on a synthetic study whose regions are known by construction."""

import itertools

import pandas as pd
import pytest

from analysis import regions
from study.schema import LABELS

RATES = [1e-4, 1e-3, 1e-2]


def known_label(loss, lr_g, lr_d, seed):
    if lr_g == 1e-2:
        return "diverged"  # G's step far too large: the whole top row
    if lr_g == 1e-3 and (lr_d == 1e-3 or (loss == "hinge" and lr_d == 1e-2)):
        return "oscillating" if (loss, lr_d, seed) == ("minimax", 1e-3, 2) else "converged"
    return "collapsed"


def synthetic():
    rows = []
    for loss, lr_g, lr_d, seed in itertools.product(["minimax", "hinge"], RATES, RATES, [0, 1, 2]):
        if (loss, lr_g, lr_d) == ("minimax", 1e-4, 1e-4):
            continue  # an empty cell
        rows.append(dict(
            study="synthetic", trial_id=f"{loss}-{lr_g}-{lr_d}-{seed}", problem="ring8",
            loss=loss, regularizer="none", lr_g=lr_g, lr_d=lr_d, d_steps=1, g_steps=1,
            seed=seed, label=known_label(loss, lr_g, lr_d, seed), confidence=0.8,
            score=0.9 if lr_d == 1e-2 else 0.5,
        ))  # fmt: skip
    return pd.DataFrame(rows)


def test_region_summary_shares_and_most_robust_setting():
    summary = regions.region_summary(synthetic()).set_index("loss")
    # regularizer does not vary, so it gets no column; loss does.
    assert "regularizer" not in summary.reset_index()
    # minimax: 8 settings, one with 2 of 3 seeds converged (a clear majority); hinge: 2 of 9.
    assert summary.loc["minimax", "settings"] == 8
    assert summary.loc["minimax", "settings_converged"] == pytest.approx(1 / 8)
    assert summary.loc["hinge", "settings_converged"] == pytest.approx(2 / 9)
    assert summary.loc["hinge", "share_diverged"] == pytest.approx(9 / 27)
    assert summary.loc["minimax", "share_converged"] == pytest.approx(2 / 24)
    # minimax has no setting where all seeds converged, and says so; hinge has two
    # adjacent ones, and the tie (one neighbour each) goes to the higher score (lr_d 1e-2).
    assert summary.loc["minimax", "most_robust"] == regions.NO_ROBUST
    assert summary.loc["hinge", "most_robust"] == (
        "lr_g=0.001, lr_d=0.01 (all 3 seeds converged, and 1 neighbour whose seeds all converged)"
    )
    # Every column is explained for the page.
    explained = set(regions.SUMMARY_COLUMNS)
    assert set(summary.columns) <= explained


def test_label_counts_per_factor_list_every_label():
    counts = regions.label_counts(synthetic(), "loss")
    assert list(counts.columns) == list(LABELS)
    assert counts.loc["hinge", "converged"] == 6 and counts.loc["hinge", "vanishing"] == 0
    assert counts.loc["minimax"].sum() == 24


def test_only_factors_that_vary_are_listed():
    trials = synthetic()
    # loss varies; regularizer and the D:G ratio do not.
    assert regions.varying(trials, ("loss", "regularizer", "d_g_ratio")) == ["loss"]

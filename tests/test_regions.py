"""Stability tables on a synthetic study whose regions are known by construction."""

import io
import itertools

import numpy as np
import pandas as pd
import pytest

from analysis import heatmaps, regions

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


def test_stability_table_counts_each_cell():
    table = regions.stability_table(synthetic(), col="loss", row=None)
    cell = table[(table.loss == "minimax") & (table.lr_g == 1e-3) & (table.lr_d == 1e-3)].iloc[0]
    # 3 seeds, 2 converged, 1 oscillating: converged dominates at 2/3.
    assert (cell.trials, cell.n_converged, cell.n_oscillating) == (3, 2, 1)
    assert cell.converged_fraction == pytest.approx(2 / 3)
    assert cell.dominant_label == "converged"
    # 2 x 9 cells, one removed: the empty cell is absent, not a zero row.
    assert len(table) == 17
    empty = (table.loss == "minimax") & (table.lr_g == 1e-4) & (table.lr_d == 1e-4)
    assert not empty.any()


def test_region_summary_shares_and_most_robust_setting():
    summary = regions.region_summary(synthetic()).set_index("loss")
    # minimax: 2 of 24 trials converged (8 cells x 3 seeds); hinge: 6 of 27.
    assert summary.loc["minimax", "converged_trials"] == pytest.approx(2 / 24)
    assert summary.loc["hinge", "converged_trials"] == pytest.approx(6 / 27)
    assert summary.loc["hinge", "share_diverged"] == pytest.approx(9 / 27)
    # minimax has no cell where all seeds converged; hinge has two adjacent ones, and the
    # tie (one neighbour each) goes to the higher score (lr_d = 1e-2).
    assert summary.loc["minimax", "most_robust"] == ""
    assert summary.loc["hinge", "most_robust"] == (
        "lr_g=0.001, lr_d=0.01 (3 seeds converged, 1 converged neighbours)"
    )


def test_label_counts_per_factor_list_every_label():
    counts = regions.label_counts(synthetic(), "loss")
    assert list(counts.columns) == list(regions.LABELS)
    assert counts.loc["hinge", "converged"] == 6 and counts.loc["hinge", "vanishing"] == 0
    assert counts.loc["minimax"].sum() == 24


def test_continuous_axes_are_binned_on_a_log_scale():
    values = pd.Series(np.geomspace(1e-5, 1e-1, 40))
    levels = regions.axis_levels(values, bins=4)
    # 40 random-search values fall into 4 log-spaced bins: one decade each.
    assert levels.nunique() == 4
    assert sorted(levels.unique()) == pytest.approx([10**-4.5, 10**-3.5, 10**-2.5, 10**-1.5])


def test_label_map_draws_facets_empty_cells_and_a_legend():
    table = regions.stability_table(synthetic(), col="loss", row=None)
    fig, axes = heatmaps.plot_label_map(table, col="loss")
    # One panel per loss; the empty cell is hatched; every label is in the legend.
    assert axes.shape == (1, 2)
    hatched = [p for p in axes[0, 1].patches if p.get_hatch() == "//"]
    assert len(hatched) == 1 and hatched[0].get_xy() == (-0.5, -0.5)
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend == [*regions.LABELS, "no trials"]
    png = io.BytesIO()
    fig.savefig(png, format="png")
    assert png.getvalue().startswith(b"\x89PNG")


def test_converged_fraction_map_annotates_counts():
    table = regions.stability_table(synthetic(), col="loss", row=None)
    fig, axes = heatmaps.plot_converged_fraction(table, col="loss")
    texts = {t.get_text() for ax in axes.flat for t in ax.texts}
    assert "2/3" in texts and "0/3" in texts

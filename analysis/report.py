"""The study report: stability heatmaps, region summaries and drill-downs in one HTML file.

`write_report` writes `report.html` (every image embedded, so the file stands alone),
the PNGs beside it and `summary.csv`. Every value from the data is HTML-escaped (Jinja2
autoescape; pandas escapes its tables): results folders get shared, and a study name or
a label reason must never run as script in the reader's browser. It works on a study
that is still running. It reads lazily (`analysis.load.StudyTables`): the trials
table's key, hyperparameter and label columns, then the history and samples of the few
trials it draws, from their own pack files.
"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import jinja2
import markupsafe
import matplotlib.pyplot as plt
import pandas as pd
import pyarrow.compute as pc

from analysis import heatmaps, regions
from analysis.load import ResultsError, StudyTables
from study.schema import HYPERPARAMETERS, LABELS, TRIALS_SCHEMA

TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ganmap report: {{ studies }}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
img { max-width: 100%; display: block; margin: 1em 0; }
</style></head>
<body data-images-loaded="pending">
<h1>ganmap report: {{ studies }}</h1>
<p>{{ trials }}{% if total %} of {{ total }}{% endif %} configurations{% if partial %}
(partial results: the study is still running, or was interrupted){% endif %};
generated {{ generated }}. Labels are defined in docs/labels.md.</p>
<h2>Stability maps</h2>
{% for figure in maps %}<img src="data:image/png;base64,{{ figure.data }}" alt="{{ figure.alt }}">
{% endfor %}
<h2>Regions</h2>
{{ summary }}
<h2>Label counts</h2>
{% for name, table in counts %}<h3>by {{ name }}</h3>{{ table }}{% endfor %}
<h2>Typical trials</h2>
<p>For each label, its most confident trial.</p>
{{ typical }}
{% for figure in drilldown %}
<img src="data:image/png;base64,{{ figure.data }}" alt="{{ figure.alt }}">
{% endfor %}
<script>
window.addEventListener("load", function () {
  var images = Array.from(document.images);
  var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.dataset.imagesLoaded = loaded.length + "/" + images.length;
});
</script>
</body></html>
"""
)


def typical_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """For each label present, its most confident trial (ties: the smaller trial id)."""
    ranked = trials.sort_values(["label", "confidence", "trial_id"], ascending=[True, False, True])
    return ranked.groupby("label", sort=False).head(1)


def default_facets(trials: pd.DataFrame) -> tuple[str | None, str | None]:
    """Columns by loss and rows by D:G ratio, where they vary."""
    frame = regions.with_ratio(trials)
    col = "loss" if frame["loss"].nunique() > 1 else None
    row = regions.RATIO if frame[regions.RATIO].nunique() > 1 else None
    return row, col


# Columns of the trials table the maps and tables use (besides the chosen axes).
REPORT_COLUMNS = ("study", "trial_id", "pack_id", "label", "confidence", "score", *HYPERPARAMETERS)


def write_report(
    tables: StudyTables, out_dir: str | Path, x: str = "lr_g", y: str = "lr_d",
    row: str | None = None, col: str | None = None,
) -> Path:  # fmt: skip
    """Write report.html, the PNGs and summary.csv into `out_dir`; returns the HTML path."""
    wanted = {*REPORT_COLUMNS, x, y, row, col} & set(TRIALS_SCHEMA.names)
    trials = tables.trials(columns=[name for name in TRIALS_SCHEMA.names if name in wanted])
    if trials.empty:
        raise ResultsError("no finished trials to report on yet")
    _check_trials(trials, x, y)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if row is None and col is None:
        row, col = default_facets(trials)
    table = regions.stability_table(trials, x, y, col, row)
    maps = [
        _save(out, "label_map", heatmaps.plot_label_map(table, x, y, row, col)[0]),
        _save(
            out, "converged_fraction", heatmaps.plot_converged_fraction(table, x, y, row, col)[0]
        ),
    ]
    typical = typical_trials(trials)
    summary = regions.region_summary(trials, x=x, y=y)
    summary.to_csv(out / "summary.csv", index=False)
    factors = [f for f in ("loss", "regularizer", regions.RATIO) if f in regions.with_ratio(trials)]
    total = tables.configurations()
    html = TEMPLATE.render(
        studies=", ".join(sorted(trials["study"].unique())),
        trials=len(trials),
        total=total,
        partial=total is not None and len(trials) < total,
        generated=datetime.datetime.now().isoformat(timespec="seconds"),
        maps=maps,
        drilldown=drilldown(tables, typical, out),
        summary=_html(summary.to_html(index=False, float_format="%.3g")),
        counts=[(f, _html(regions.label_counts(trials, f).to_html())) for f in factors],
        typical=typical_table(tables, typical),
    )
    path = out / "report.html"
    path.write_text(html)
    return path


def _check_trials(trials: pd.DataFrame, x: str, y: str) -> None:
    """ResultsError unless the columns the report needs are there, with known labels
    (files written by another tool, or tampered with, may lack them)."""
    for name in ("trial_id", "label", x, y):
        if name in trials and trials[name].isna().any():
            raise ResultsError(f"trials: column {name} is missing or empty in some files")
    unknown = sorted(set(trials["label"]) - set(LABELS))
    if unknown:
        shown = ", ".join(repr(str(label)[:30]) for label in unknown[:3])
        raise ResultsError(f"trials: column label holds values that are not labels: {shown}")


def drilldown(tables: StudyTables, typical: pd.DataFrame, out: Path) -> list[dict[str, str]]:
    """Curves of the typical trials and, on 2D problems, their samples; read from those
    trials' pack files only."""
    ids = typical["trial_id"].tolist()
    history = tables.details("history", typical)
    figures = [_save(out, "trial_curves", heatmaps.plot_trial_curves(history, typical, ids)[0])]
    samples = tables.details("samples", typical, columns=["trial_id", "x", "y"]).dropna()
    with_samples = [tid for tid in ids if tid in set(samples["trial_id"])]
    if with_samples:
        figure = heatmaps.plot_samples(samples, typical, with_samples)[0]
        figures.append(_save(out, "samples", figure))
    return figures


def typical_table(tables: StudyTables, typical: pd.DataFrame) -> str:
    """The typical trials with their label reasons (read for these trials only), as HTML."""
    chosen = pc.field("trial_id").isin(typical["trial_id"].tolist())
    reasons = tables.trials(columns=["trial_id", "label_reason"], filter=chosen)
    shown = typical.merge(reasons.drop_duplicates("trial_id"), on="trial_id", how="left")
    columns = ["trial_id", "label", "label_reason", "lr_g", "lr_d", "loss"]
    return _html(shown[columns].to_html(index=False))


def _html(table: str) -> markupsafe.Markup:
    """A table pandas wrote (its cells escaped: `to_html(escape=True)`, the default) as
    markup the template inserts as is."""
    return markupsafe.Markup(table)


def _save(out: Path, name: str, figure) -> dict[str, str]:
    """Save a figure as PNG and return it base64-encoded for embedding."""
    path = out / f"{name}.png"
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return {"data": base64.b64encode(path.read_bytes()).decode(), "alt": name.replace("_", " ")}

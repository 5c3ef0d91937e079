"""The report from a real study: files written, HTML self-contained, and in headless
Chromium with the network cut off, hovering a cell shows its counts and clicking a trial
opens its detail. Also `ganmap train --from`, and what bad input does."""

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from plotly.offline import get_plotlyjs

from analysis import cells, report
from analysis.load import ResultsError, StudyTables, load
from study.cli import main
from study.results import ResultsStore, pack_tables

from .conftest import ROOT
from .test_results import history, record, write

ARTIFACTS = Path(os.environ.get("GANMAP_TEST_ARTIFACTS", ROOT / "test-artifacts"))


@pytest.fixture(scope="module")
def quick_report(quick_study, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main(["report", str(quick_study), "--out", str(out), "--static"]) == 0
    return out


def test_report_writes_html_static_figures_and_summary(quick_report, quick_study):
    files = {path.name for path in quick_report.iterdir()}
    static = {f"{name}.{suffix}" for name in ("label_map", "converged_fraction")
              for suffix in ("png", "pdf")}  # fmt: skip
    assert {"report.html", "summary.csv", *static} <= files
    html = (quick_report / "report.html").read_text()
    # Self-contained: plotly's bundle is embedded whole; outside it, nothing refers to
    # another file or address (the browser test below also refuses every request).
    assert get_plotlyjs() in html
    page = html.replace(get_plotlyjs(), "")
    assert "<link" not in page and "src=" not in page and "http" not in page
    summary = pd.read_csv(quick_report / "summary.csv")
    trials = load(str(quick_study)).trials
    # One summary row per loss, covering every trial.
    assert sorted(summary.loss) == sorted(trials.loss.unique())
    assert summary.trials.sum() == len(trials)
    # The header says what ran, with the label definitions inline (not a repo path).
    assert "docs/labels.md" not in html
    for fact in ("problem", "ring8", "steps=5000", "seeds", "configurations", "64 of 64"):
        assert fact in html, fact


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it with apt-get)")
    return path


def open_offline(playwright, url: str, blocked: list[str]):
    """A headless Chromium page on `url` with every non-file request refused (recorded)."""
    browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    def refuse(route):
        if not route.request.url.startswith(("file:", "data:", "blob:")):
            blocked.append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/*", refuse)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=yes]", timeout=60_000)
    return browser, page, errors


# The centre of the first occupied cell of the label map, in page pixels, and its number.
FIRST_CELL = """() => {
  const gd = document.getElementById("label-map");
  const k = gd._fullData.findIndex(t => t.name === "cells");
  const trace = gd._fullData[k], layout = gd._fullLayout;
  const xa = layout[trace.xaxis.replace("x", "xaxis")];
  const ya = layout[trace.yaxis.replace("y", "yaxis")];
  for (let j = 0; j < trace.z.length; j++) for (let i = 0; i < trace.z[j].length; i++) {
    if (trace.customdata[j][i] >= 0) {
      const box = gd.getBoundingClientRect();
      return {cell: trace.customdata[j][i], x: box.left + xa._offset + xa.l2p(trace.x[i]),
              y: box.top + ya._offset + ya.l2p(trace.y[j])};
    }
  }
}"""


def test_hovering_a_cell_shows_its_counts_and_a_trial_opens_its_detail(quick_report, quick_study):
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium()
    blocked: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser, page, errors = open_offline(
            playwright, (quick_report / "report.html").resolve().as_uri(), blocked
        )
        page.locator("#label-map").scroll_into_view_if_needed()
        where = page.evaluate(FIRST_CELL)
        page.mouse.move(where["x"] - 5, where["y"] - 5)  # plotly hovers on a mouse move
        page.mouse.move(where["x"], where["y"])
        hover = page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000).text_content()
        # The hover names the cell's trials and its counts, exactly the cell table's.
        table = _cell_table(quick_study)
        cell = table.iloc[where["cell"]]
        counts = f"converged {cell.n_converged}/{cell.trials} = {cell.converged_fraction:.0%}"
        assert f"{cell.trials} trials" in hover and counts in hover and "95% interval" in hover
        # A click lists the cell's trials; a trial opens its detail.
        page.mouse.click(where["x"], where["y"])
        page.wait_for_selector("#cell button.trial")
        page.click("#cell button.trial")
        trial = page.wait_for_selector("#trial[data-trial]")
        text = trial.text_content()
        assert "reason:" in text and "ganmap train --from" in text
        # Samples over the true modes, and the curves: plotly drew them in the drawer.
        assert page.locator("#trial .plot .main-svg").count() >= 3
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report_trial.png"))
        page.locator("#close").click()
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    # No request left the machine, and the page's script ran without an error.
    assert blocked == [] and errors == []
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000


def _cell_table(study) -> pd.DataFrame:
    tables = StudyTables(str(study))
    trials = cells.with_ratio(tables.trials())
    choice = report.choose_map(trials)
    return report.stability_map(trials, choice, report.header.spec_space(tables)).table


def test_train_from_a_study_reproduces_the_trials_configuration(tmp_path, capsys):
    store = ResultsStore(str(tmp_path / "study"))
    write(store, "p1", "a", "b")
    stored = load(str(tmp_path / "study")).trials.set_index("trial_id").loc["b"]
    code = main(["train", "--from", str(tmp_path / "study"), "b", "--set", "steps=20",
                 "--set", "eval_every=10", "--json"])  # fmt: skip
    config = json.loads(capsys.readouterr().out)["config"]
    # The stored configuration, every key, except what --set changed.
    assert code == 0 and config["steps"] == 20
    for key in ("problem", "lr_g", "lr_d", "loss", "seed", "hidden_dim", "batch_size"):
        assert config[key] == pytest.approx(stored[key]), key


def test_a_shared_key_set_on_a_stored_trial_sets_both_networks(tmp_path, capsys):
    store = ResultsStore(str(tmp_path / "study"))
    write(store, "p1", "a", "b")
    code = main(["train", "--from", str(tmp_path / "study"), "b", "--set", "steps=20",
                 "--set", "eval_every=10", "--set", "hidden_dim=12", "--set", "init=orthogonal",
                 "--set", "init_gain=1.4", "--set", "d_init=normal", "--json"])  # fmt: skip
    config = json.loads(capsys.readouterr().out)["config"]
    # As in a spec: the shared keys set both networks, not just the stored shorthand,
    # and a per-network key given beside them still overrides its network.
    assert code == 0 and (config["g_hidden_dim"], config["d_hidden_dim"]) == (12, 12)
    assert (config["g_init"], config["g_init_gain"]) == ("orthogonal", 1.4)
    assert (config["d_init"], config["d_init_gain"]) == ("normal", 1.4)


def test_a_study_older_than_the_later_engine_keys_reports_and_trains_again(tmp_path, capsys):
    store = ResultsStore(str(tmp_path / "study"))
    write(store, "p1", "a", "b")
    later = ["d_input_scale", "maxout_pieces", "g_batch_norm", "ring_layout", "g_init", "d_init",
             "g_init_gain", "d_init_gain"]  # fmt: skip
    path = tmp_path / "study" / "trials" / "p1.parquet"
    pq.write_table(pq.read_table(path).drop_columns(later), path)  # as schema 5 wrote it
    # The keys it predates read as null and ran at their defaults: report and retrain work.
    assert main(["report", str(tmp_path / "study"), "--out", str(tmp_path / "r")]) == 0
    assert main(["train", "--from", str(tmp_path / "study"), "b", "--set", "steps=20",
                 "--set", "eval_every=10", "--json"]) == 0  # fmt: skip
    config = json.loads(capsys.readouterr().out.splitlines()[-1])["config"]
    assert (config["d_input_scale"], config["ring_layout"]) == (1.0, "even")
    assert (config["g_init"], config["d_init_gain"]) == (config["init"], config["init_gain"])


def test_train_from_an_unknown_trial_exits_2_naming_it(tmp_path, capsys):
    store = ResultsStore(str(tmp_path / "study"))
    write(store, "p1", "a")
    assert main(["train", "--from", str(tmp_path / "study"), "zz"]) == 2
    assert "no trial 'zz'" in capsys.readouterr().err


@pytest.fixture
def small_study(tmp_path):
    store = ResultsStore(str(tmp_path / "study"))
    write(store, "p1", "a", "b")
    return tmp_path / "study"


def test_an_axis_that_does_not_vary_exits_2_naming_the_choices(small_study, tmp_path, capsys):
    code = main(["report", str(small_study), "--x", "beta1", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    # Exit 2, the varied keys named, nothing written.
    assert code == 2 and "--x 'beta1': does not vary in this study" in err, err
    assert not (tmp_path / "r").exists()


def test_report_of_a_missing_study_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no finished trials" in capsys.readouterr().err


def test_a_corrupt_table_is_named(tmp_path):
    (tmp_path / "trials").mkdir()
    (tmp_path / "trials" / "0123456789ab.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ResultsError, match="unreadable or corrupt table: .*0123456789ab.parquet"):
        load(str(tmp_path))


def test_report_of_the_old_single_file_layout_says_how_to_convert_it(tmp_path, capsys):
    (tmp_path / "trials.parquet").write_bytes(b"written by schema version 2")
    # Exit 2 and one message, never a traceback.
    assert main(["report", str(tmp_path)]) == 2
    assert f"convert it with `ganmap compact {tmp_path}`" in capsys.readouterr().err


SCRIPT = "<script>document.title='pwned'</script>"


def test_values_from_the_data_are_escaped_in_the_report(tmp_path):
    """A results folder is data from whoever shared it: its study name and label reasons
    must reach the HTML as text, never as markup."""
    records = [record(tid, "p1", lr=lr) for tid, lr in (("a", 1e-3), ("b", 2e-3))]
    records = [
        dataclasses.replace(
            r, study=SCRIPT, label=dataclasses.replace(r.label, label_reason=f"{SCRIPT} reason")
        )
        for r in records
    ]
    tables = pack_tables(records, [history() for _ in records], [[[0.0, 1.0]] for _ in records])
    ResultsStore(str(tmp_path / "study")).write_pack("p1", tables)
    assert main(["report", str(tmp_path / "study"), "--out", str(tmp_path / "report")]) == 0
    html = (tmp_path / "report" / "report.html").read_text()
    # The script appears only escaped: as HTML text in the title and heading, and inside
    # the page's JSON with "<" written as \\u003c (the reason too).
    assert SCRIPT not in html and "<script>document" not in html
    assert html.count("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") >= 2
    assert "\\u003cscript\\u003edocument.title='pwned'\\u003c/script\\u003e reason" in html
    # The page's own scripts are the only script elements: its data, plotly, its code.
    assert html.count("<script") == 3
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium()
    with playwright_api.sync_playwright() as playwright:
        url = (tmp_path / "report" / "report.html").resolve().as_uri()
        browser, page, errors = open_offline(playwright, url, [])
        page.click("main button.trial")
        reason = page.wait_for_selector("#trial[data-trial]").text_content()
        title = page.title()
        browser.close()
    # In a browser nothing from the data ran: the title is still the report's, and the
    # reason shows as text.
    assert title.startswith("ganmap report: <script>") and errors == []
    assert f"reason: {SCRIPT} reason" in reason

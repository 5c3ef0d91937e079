"""The report from a real study: files written, HTML self-contained, images load in Chromium."""

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis.load import ResultsError, load
from study.cli import main
from study.results import ResultsStore, pack_tables

from .conftest import ROOT
from .test_results import history, record

ARTIFACTS = Path(os.environ.get("GANMAP_TEST_ARTIFACTS", ROOT / "test-artifacts"))


@pytest.fixture(scope="module")
def report(quick_study, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main(["report", str(quick_study), "--out", str(out)]) == 0
    return out


def test_report_writes_html_pngs_and_summary(report, quick_study):
    files = {path.name for path in report.iterdir()}
    assert {"report.html", "label_map.png", "converged_fraction.png", "trial_curves.png",
            "samples.png", "summary.csv"} <= files  # fmt: skip
    html = (report / "report.html").read_text()
    # Self-contained: every image is embedded, nothing is fetched.
    assert html.count("data:image/png;base64,") == 4  # two maps, curves, samples
    assert 'src="http' not in html and "<link" not in html
    summary = pd.read_csv(report / "summary.csv")
    trials = load(str(quick_study)).trials
    # One summary row per loss; its shares add up to the trials it covers.
    assert sorted(summary.loss) == sorted(trials.loss.unique())
    assert summary.trials.sum() == len(trials)


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


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it with apt-get)")
    return path


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=5000",
]  # fmt: skip


def test_report_opens_in_headless_chromium_with_every_image_loaded(report, tmp_path):
    browser = chromium()
    url = (report / "report.html").resolve().as_uri()
    profile = [f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, *profile, "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    # The page's own script counts the images that decoded: all 4 of 4.
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom.stdout)
    assert loaded is not None, dom.stderr[-2000:]
    assert loaded.group(1) == loaded.group(2) == "4"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    shot = [browser, *CHROMIUM_FLAGS, *profile, "--window-size=1280,2400"]
    subprocess.run([*shot, f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    assert screenshot.stat().st_size > 10_000


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
    # The script appears only escaped: in the title and heading (Jinja2 escapes quotes
    # too), and as a label reason in the typical-trials table (pandas' escaping).
    assert SCRIPT not in html and "<script>document" not in html
    assert html.count("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") == 2
    assert "<td>&lt;script&gt;document.title='pwned'&lt;/script&gt; reason</td>" in html
    # The page's own script (its image counter) is the only script element.
    assert html.count("<script>") == 1
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        url = (tmp_path / "report" / "report.html").resolve().as_uri()
        profile = [f"--user-data-dir={tmp_path / 'profile'}"]
        dom = subprocess.run([chromium(), *CHROMIUM_FLAGS, *profile, "--dump-dom", url],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        # In a browser, nothing from the data ran: the title is still the report's.
        assert "<title>ganmap report: &lt;script&gt;" in dom.stdout, dom.stderr[-2000:]

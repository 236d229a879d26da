"""Two regressions in a row: both nights in the results database and in the report's trend plots;
a planted flaky test labelled flaky and a planted seed-dependent bug labelled seed-dependent (not
flaky); each failure bucket with a picture of its waveform, checked in headless chromium."""

from __future__ import annotations

import json

import pytest

from asicdv.tools import browser, cli
from asicdv.tools.regress import Regression, RegressionOptions

ENTRIES = [
    {"block": "crc32", "tests": ["CheckValueTest"], "reseeds": 1},
    {"block": "crc32", "module": "selftest.night_fixtures", "tests": ["FlakyOnce"], "seeds": [3]},
    {"block": "crc32", "module": "selftest.night_fixtures", "tests": ["SeedDependent"], "seeds": [1, 2]},
    {"block": "crc32", "module": "selftest.night_fixtures", "tests": ["FailsAfterSomeCycles"], "seeds": [5]},
]


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nights")
    path = folder / "nights.yaml"
    path.write_text(json.dumps({"description": "two nights", "entries": ENTRIES}))
    db = f"sqlite:///{folder / 'history.sqlite'}"
    out = folder / "out"
    codes = []
    for seed in (101, 202):
        options = RegressionOptions(jobs=2, out=out, seed=seed, history_url=db, quiet=True)
        codes.append(Regression(str(path), options).run())
    return codes, out, db, json.loads((out / "summary.json").read_text())


def by_test(summary):
    return {r["test"]: r for r in summary["runs"] if r["seed"] != 2 or r["test"] != "SeedDependent"}


def test_flaky_and_seed_dependent_are_told_apart(two_nights):
    codes, _, _, summary = two_nights
    assert codes == [1, 1]
    runs = {(r["test"], r["seed"]): r for r in summary["runs"]}
    flaky = runs[("FlakyOnce", 3)]
    assert flaky["status"] == "fail" and flaky["flaky"] and not flaky["reproducible"]
    seed_bug = runs[("SeedDependent", 2)]
    assert seed_bug["status"] == "fail" and seed_bug["reproducible"] and not seed_bug["flaky"]
    assert runs[("SeedDependent", 1)]["status"] == "pass"
    assert summary["counts"]["flaky"] == 1


def test_both_nights_are_in_the_history(two_nights, capsys):
    _, _, db, summary = two_nights
    assert cli.main(["history", "--db", db, "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert len(history["trend"]) == 2 and all(t["regression"] == "nights" for t in history["trend"])
    assert history["tests"]["crc32/FlakyOnce"]["flake_rate"] == 100.0
    assert history["tests"]["crc32/SeedDependent"]["failure_rate"] == 50.0
    still = {b["signature"]: b for b in history["buckets"]}
    assert any(b["still_failing_since"] == history["trend"][0]["night"] for b in still.values())
    assert summary["history"]["nights"] == 2


@pytest.mark.skipif(browser.chromium() is None, reason="chromium not installed (.ci/run installs it)")
def test_report_shows_trends_and_a_waveform_picture_in_chromium(two_nights, tmp_path):
    _, out, _, summary = two_nights
    bucket = next(b for b in summary["buckets"] if "crc" in b["signature"])
    picture = bucket["runs"][0]["picture"]
    svg = (out / picture).read_text()
    assert "rst_n" in svg and "crc" in svg and "the cycles before the failure" in svg
    assert (out / bucket["runs"][0]["gtkw"]).read_text().startswith("[dumpfile]")
    shot = tmp_path / "report.png"
    page = browser.open_page(out / "report.html", ["nights", "failed-runs"], shot)
    assert page.broken_images == [] and page.images >= 2  # the trend plot and the waveform picture
    assert page.texts["nights"].startswith("2 night(s)")
    assert int(page.texts["failed-runs"]) == summary["counts"]["failed"]
    assert shot.stat().st_size > 20_000

"""`make scale` in small: a regression of many short runs, SIGKILLed halfway and resumed, ends with
every run recorded once, none recorded before the kill run again, and a report chromium opens."""

import importlib.util
import json
from pathlib import Path

import pytest

from asicdv.tools import browser

SCRIPT = Path(__file__).parents[1] / "scripts" / "scale_figures.py"


def test_many_runs_killed_halfway_and_resumed_run_each_once(tmp_path, capsys):
    if browser.chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    spec = importlib.util.spec_from_file_location("scale_figures", SCRIPT)
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    assert scale.main(["--runs", "120", "--folder", str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["first_session"]["exit"] == -9 and 60 <= figures["recorded_at_the_kill"] < 120
    assert figures["records"] == figures["distinct_ids"] == figures["passed"] == 120
    assert figures["run_twice"] == 0
    assert figures["chromium_load_ms"] is not None and figures["report_pages"] >= 1

"""The results database (asicdv.tools.history): nights appended, trends, buckets across nights,
failure and flake rates; on SQLite and on a real PostgreSQL server started here."""

from __future__ import annotations

import pytest

from asicdv import UserError
from asicdv.tools import cli, history
from selftest.postgres_server import postgres, server_binaries


def run(test, status, seed=1, signature=None, flaky=False, coverage=None, wall=1.0):
    return {
        "id": f"b.default.{test}.{seed}",
        "block": "b",
        "variant": "default",
        "test": test,
        "seed": seed,
        "status": status,
        "signature": signature,
        "flaky": flaky,
        "wall_s": wall,
        "sim_time_ns": 100.0,
        "functional_coverage": coverage,
    }


def summary(created, runs, regression="nightly"):
    passed = sum(r["status"] == "pass" for r in runs)
    return {
        "regression": regression,
        "created": created,
        "written": created,
        "seed": 7,
        "wall_s": sum(r["wall_s"] for r in runs),
        "counts": {
            "planned": len(runs),
            "done": len(runs),
            "passed": passed,
            "failed": len(runs) - passed,
            "missing": 0,
            "flaky": sum(r["flaky"] for r in runs),
        },
        "functional_coverage": None,
        "runs": runs,
    }


NIGHTS = [
    [run("A", "pass", coverage={"p": {"x": 1, "y": 0}}), run("B", "pass"), run("C", "pass")],
    [run("A", "pass", coverage={"p": {"x": 1, "y": 1}}), run("B", "fail", signature="bug <hex>"), run("C", "pass")],
    [run("A", "pass"), run("B", "fail", signature="bug <hex>"), run("C", "fail", signature="flake", flaky=True)],
]


def check_three_nights(url, tmp_path):
    for index, runs in enumerate(NIGHTS):
        history.record(summary(f"2026-12-0{index + 1}T00:00:00", runs), tmp_path / "out", url, f"commit{index}")
    # a resumed regression replaces its own night instead of adding one
    history.record(summary("2026-12-03T00:00:00", NIGHTS[2]), tmp_path / "out", url, "commit2")
    figures = history.query(url)
    trend = figures["trend"]
    assert [t["pass_rate"] for t in trend] == [100.0, pytest.approx(66.67), pytest.approx(33.33)]
    assert [t["commit"] for t in trend] == ["commit0", "commit1", "commit2"]
    assert trend[0]["coverage"] == 50.0 and trend[1]["coverage"] == 100.0
    (bug,) = [b for b in figures["buckets"] if b["signature"] == "bug <hex>"]
    assert bug["first_night"] == trend[1]["night"] and bug["first_commit"] == "commit1"
    assert bug["still_failing_since"] == trend[1]["night"] and bug["tests"] == ["b/B"]
    assert figures["tests"]["b/B"]["failure_rate"] == pytest.approx(66.67)
    assert figures["tests"]["b/C"] == {
        "runs": 3,
        "failures": 0,
        "flaky": 1,
        "infrastructure": 0,
        "failure_rate": 0.0,
        "flake_rate": pytest.approx(33.33),
    }
    assert history.query(url, test="A")["tests"].keys() == {"b/A"}
    return figures


def test_sqlite_history_trends_buckets_and_rates(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    figures = check_three_nights(url, tmp_path)
    svg = history.plot(figures, tmp_path / "trend.svg").read_text()
    assert svg.startswith("<?xml") and "pass rate" in svg


def test_history_command_prints_trends_and_refuses_an_empty_database(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert cli.main(["history", "--db", url]) == 2
    assert "no regression recorded" in capsys.readouterr().err
    check_three_nights(url, tmp_path)
    assert cli.main(["history", "--db", url, "--plot", str(tmp_path / "p.svg")]) == 0
    out = capsys.readouterr().out
    assert "still failing since night" in out and "b/C: 0.0% failures, 33.3% flaky" in out
    assert (tmp_path / "p.svg").exists()


def test_bad_database_url_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="results database URL"):
        history.query("nosuchdialect://x")


@pytest.mark.skipif(server_binaries() is None, reason="no PostgreSQL server binaries (.ci/run installs them)")
def test_postgresql_history_on_a_real_server(tmp_path):
    with postgres() as url:
        check_three_nights(url, tmp_path)

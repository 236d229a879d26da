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


def prop(name, verdict, depth, task="handshake"):
    """A formal property's row as summary.json `formal.properties` holds it (formal_entries.row)."""
    failed = verdict not in ("proved", "bounded")
    return {
        "run": f"b.formal.{task}-W2",
        "key": f"b/formal/{task}-W2/{name}",
        "block": "b",
        "variant": None,
        "parameters": {"W": 2},
        "task": task,
        "property": name,
        "kind": "assert",
        "verdict": verdict,
        "status": "fail" if failed else "pass",
        "depth": depth,
        "seconds": 1.5,
        "reproduce": f"asicdv formal b --task {task} -P W=2",
        "replay": f"asicdv formal b --task {task} -P W=2 --replay" if verdict == "failed" else None,
    }


def summary(created, runs, regression="nightly", properties=None):
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
        "formal": {"properties": properties} if properties is not None else None,
    }


NIGHTS = [
    [run("A", "pass", coverage={"p": {"x": 1, "y": 0}}), run("B", "pass"), run("C", "pass")],
    [run("A", "pass", coverage={"p": {"x": 1, "y": 1}}), run("B", "fail", signature="bug <hex>"), run("C", "pass")],
    [run("A", "pass"), run("B", "fail", signature="bug <hex>"), run("C", "fail", signature="flake", flaky=True)],
]


# ready_exact breaks on night 2 and stays broken; valid_exact has a tool error on night 2 only.
FORMAL_NIGHTS = [
    [prop("ready_exact", "proved", 8), prop("valid_exact", "proved", 8)],
    [prop("ready_exact", "failed", 3), prop("valid_exact", "error", 0)],
    [prop("ready_exact", "failed", 3), prop("valid_exact", "proved", 8)],
]


def record_three_nights(url, tmp_path):
    for index, (runs, properties) in enumerate(zip(NIGHTS, FORMAL_NIGHTS, strict=True)):
        night = summary(f"2026-12-0{index + 1}T00:00:00", runs, properties=properties)
        history.record(night, tmp_path / "out", url, f"commit{index}")
    # a resumed regression replaces its own night instead of adding one
    night = summary("2026-12-03T00:00:00", NIGHTS[2], properties=FORMAL_NIGHTS[2])
    history.record(night, tmp_path / "out", url, "commit2")


def formal_rows(url) -> list[tuple]:
    """What the database holds for the formal properties, read with plain SQL."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            return [
                tuple(row)
                for row in db.execute(
                    sa.text(
                        "SELECT n.created, f.property, f.verdict, f.status, f.depth, f.seconds, f.parameters, "
                        'f.reproduce, f.replay, f."commit" FROM formal_properties f JOIN nights n ON n.id = f.night_id '
                        "ORDER BY n.created, f.property"
                    )
                )
            ]
    finally:
        engine.dispose()


def check_three_nights(url, tmp_path):
    record_three_nights(url, tmp_path)
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

    assert [t["formal"] for t in trend] == [{"proved": 2}, {"error": 1, "failed": 1}, {"failed": 1, "proved": 1}]
    failing = {p["key"]: p for p in figures["formal"]}
    assert failing.keys() == {"b/formal/handshake-W2/ready_exact", "b/formal/handshake-W2/valid_exact"}
    ready, valid = failing["b/formal/handshake-W2/ready_exact"], failing["b/formal/handshake-W2/valid_exact"]
    assert (ready["first_night"], ready["first_commit"], ready["first_verdict"]) == (
        trend[1]["night"],
        "commit1",
        "failed",
    )
    assert ready["still_failing_since"] == trend[1]["night"] and ready["nights"] == [
        trend[1]["night"],
        trend[2]["night"],
    ]
    assert ready["reproduce"] == "asicdv formal b --task handshake -P W=2 --replay"
    assert (valid["first_night"], valid["first_verdict"]) == (trend[1]["night"], "error")
    assert valid["still_failing_since"] is None and valid["last_verdict"] == "proved"

    rows = formal_rows(url)  # the resumed night replaced its rows: 3 nights x 2 properties
    assert len(rows) == 6
    assert rows[2] == (
        "2026-12-02T00:00:00",
        "ready_exact",
        "failed",
        "fail",
        3,
        1.5,
        '{"W": 2}',
        "asicdv formal b --task handshake -P W=2",
        "asicdv formal b --task handshake -P W=2 --replay",
        "commit1",
    )
    assert history.query(url, test="handshake")["formal"] and not history.query(url, test="A")["formal"]
    assert not history.query(url, block="other")["formal"]
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
    lines = out.splitlines()
    nights = [ln for ln in lines if ln.lstrip()[:1].isdigit()]
    assert [ln.split("formal: ")[1] for ln in nights] == ["2 proved", "1 error, 1 failed", "1 failed, 1 proved"]
    first = nights[1].split()[0]
    assert lines[lines.index("formal properties that failed:") + 1 :][:2] == [
        f"  b/formal/handshake-W2/ready_exact: first night {first} (commit commit1, failed), "
        f"still failing since night {first}; reproduce: asicdv formal b --task handshake -P W=2 --replay",
        f"  b/formal/handshake-W2/valid_exact: first night {first} (commit commit1, error), "
        "not failing now (proved); reproduce: asicdv formal b --task handshake -P W=2",
    ]


def test_a_database_from_before_formal_gains_the_table_and_keeps_its_nights(tmp_path, capsys):
    """A database written before formal rows were stored (no formal_properties table): the next
    record creates the table; the old night keeps its runs and has no formal counts."""
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    history.record(summary("2026-11-30T00:00:00", NIGHTS[1]), tmp_path / "out", url, "old")
    engine = sa.create_engine(url)
    with engine.begin() as db:
        db.execute(sa.text("DROP TABLE formal_properties"))
    assert "formal_properties" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    proofs = summary("2026-12-01T00:00:00", [], regression="proofs", properties=FORMAL_NIGHTS[1])
    history.record(proofs, tmp_path / "out", url, "new")
    figures = history.query(url)
    assert [(t["regression"], t["runs"], t["formal"]) for t in figures["trend"]] == [
        ("nightly", 3, {}),
        ("proofs", 0, {"error": 1, "failed": 1}),  # a formal-only night is a night too
    ]
    assert len(formal_rows(url)) == 2
    assert cli.main(["history", "--db", url, "--regression", "proofs"]) == 0
    assert "formal: 1 error, 1 failed" in capsys.readouterr().out


def test_bad_database_url_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="results database URL"):
        history.query("nosuchdialect://x")


@pytest.mark.skipif(server_binaries() is None, reason="no PostgreSQL server binaries (.ci/run installs them)")
def test_postgresql_history_on_a_real_server(tmp_path):
    with postgres() as url:
        check_three_nights(url, tmp_path)

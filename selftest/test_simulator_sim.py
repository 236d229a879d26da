"""The simulation runner with a real simulator, on the fixture project's slowinc block: build
cache, hangs, crashes, failures, waves, seeds, the native clock and protocol checker."""

import dataclasses
import re
import time
from pathlib import Path

from asicdv import project
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block

FIXTURE = project.load(Path(__file__).parent / "fixture" / "asicdv.toml")
MISBEHAVE = "selftest.misbehave"


def slowinc():
    return get_block("slowinc", FIXTURE)


def test_build_is_cached_and_keyed_by_flags():
    block = slowinc()
    first = sim.build(block)
    again = sim.build(block)
    assert again.directory == first.directory and again.seconds == 0.0
    assert sim._build_key(block, "default", waves=True) != sim._build_key(block, "default", waves=False)


def test_runs_of_one_build_share_a_server_from_pytest_item_to_item(tmp_path, monkeypatch):
    """pytest names each item in the environment (PYTEST_CURRENT_TEST): `make test`'s runs of one
    build still fork from one simulator server, not a process each."""
    from asicdv.tools import run_server

    build = sim.build(slowinc())
    run_server.close_idle()
    servers = []
    for item in ("first", "second"):
        monkeypatch.setenv("PYTEST_CURRENT_TEST", f"selftest/x.py::{item} (call)")
        result = sim.run(build, "DirectedTest", 3, run_dir=tmp_path / item)
        assert result.passed, result.message
        servers.append(list(run_server._servers.idle.values()))
    assert len(servers[0]) == 1 and servers[1] == servers[0]


def test_hung_simulation_is_killed_and_reported(tmp_path):
    build = sim.build(slowinc())
    start = time.monotonic()
    result = sim.run(build, "Hangs", 1, module=MISBEHAVE, run_dir=tmp_path, timeout_s=5)
    assert time.monotonic() - start < 30
    assert not result.passed and "hung" in result.message and result.log.exists()


def test_crashed_simulation_is_a_failure_with_its_log(tmp_path):
    result = sim.run(sim.build(slowinc()), "Crashes", 1, module=MISBEHAVE, run_dir=tmp_path)
    assert not result.passed and "crash" in result.message


def test_failing_assertion_message_reaches_the_result(tmp_path):
    result = sim.run(sim.build(slowinc()), "FailsAnAssertion", 1, module=MISBEHAVE, run_dir=tmp_path)
    assert not result.passed and "0x1234 != 0x1235" in result.message


def test_waves_build_writes_a_waveform(tmp_path):
    from asicdv.tools import toolchain

    build = sim.build(slowinc(), waves=True)
    result = sim.run(build, "DirectedTest", 3, run_dir=tmp_path)
    assert result.passed, result.message
    assert result.waves == tmp_path / f"dump.{toolchain.waveform_format()}"
    assert result.waves.stat().st_size > 1000


def test_same_seed_same_stimulus(tmp_path):
    """Hypothesis and the test's RNG both follow the run seed: equal seeds, equal runs."""
    build = sim.build(slowinc())
    runs = [sim.run(build, "RandomValuesTest", seed, run_dir=tmp_path / f"{i}") for i, seed in enumerate((5, 5, 6))]
    assert all(r.passed for r in runs), [r.message for r in runs]
    prints = [re.search(r"stimulus fingerprint (\w+)", r.log.read_text()).group(1) for r in runs]
    assert prints[0] == prints[1] != prints[2]
    assert runs[0].sim_time_ns == runs[1].sim_time_ns


def test_a_regressions_run_and_its_reproduce_line_draw_the_same_examples(tmp_path):
    """A regression keeps hypothesis's failures in a folder (ASICDV_HYPOTHESIS_DB); its reproduce
    line has none. Hypothesis draws differently with a database than without, so both always
    have one: the same seed draws the same examples either way."""
    build = sim.build(slowinc())
    prints = []
    for name, env in (("alone", {}), ("regression", {"ASICDV_HYPOTHESIS_DB": str(tmp_path / "db")})):
        result = sim.run(build, "RandomValuesTest", 5, run_dir=tmp_path / name, extra_env=env)
        assert result.passed, result.message
        prints.append(re.search(r"stimulus fingerprint (\w+)", result.log.read_text()).group(1))
    assert prints[0] == prints[1], prints


NATIVE_OFF = {"ASICDV_NATIVE": "0"}  # the pure-Python clock and endpoints


def test_native_clock_keeps_cocotbs_edge_times(tmp_path):
    build = sim.build(slowinc())
    logs = []
    for name, env in (("native", {}), ("gpi", NATIVE_OFF)):
        result = sim.run(build, "ClockEdges", 1, module=MISBEHAVE, run_dir=tmp_path / name, extra_env=env)
        assert result.passed, result.message
        logs.append(re.search(r"edges \[.*\] timer \S+ clk \d", result.log.read_text()).group(0))
    assert logs[0] == logs[1] == "edges [0.0, 10.0, 20.0] timer 43.0 clk 1", logs


def test_quiet_runs_wake_python_when_a_watched_signal_changes(tmp_path):
    """The main loop's own check of the watched signals between Python's wake-ups (not
    Verilator's callback walk) wakes every trigger at the time cocotb's loop and clock do."""
    logs = []
    for name, build, env in (
        ("native", sim.build(slowinc()), {}),
        ("blackbox", sim.build(dataclasses.replace(slowinc(), whitebox=False), build_root=tmp_path / "b"), {}),
        ("gpi", sim.build(slowinc()), NATIVE_OFF),
    ):
        result = sim.run(build, "WatchedSignals", 1, module=MISBEHAVE, run_dir=tmp_path / name, extra_env=env)
        assert result.passed, result.message
        logs.append(re.search(r"watched \[.*\] out_data \d+", result.log.read_text()).group(0))
    assert logs[0] == logs[1] == logs[2], logs
    assert logs[0].endswith("out_data 10"), logs  # the second beat, 9 + INC


def test_native_checker_reports_protocol_violations(tmp_path):
    result = sim.run(sim.build(slowinc()), "NativeCheckerSeesViolations", 1, module=MISBEHAVE, run_dir=tmp_path)
    assert result.passed, result.message


PAUSES = "selftest.pause_checks"


def test_pauses_follow_the_schedule_the_same_both_ways(tmp_path):
    """Seeded pauses through the engine and through the Python endpoints: each way every edge
    follows the schedule (checked inside the run), and the two traces are the same."""
    build = sim.build(slowinc())
    traces = []
    for name, env in (("native", {}), ("python", NATIVE_OFF)):
        result = sim.run(build, "PausesFollowTheSchedule", 1, module=PAUSES, run_dir=tmp_path / name, extra_env=env)
        assert result.passed, result.message
        traces.append(re.search(r"pause trace \w+ over \d+ edges from edge \d+", result.log.read_text()).group(0))
    assert traces[0] == traces[1], traces
    # Icarus (Python endpoints, X before the first drive) follows the same schedules.
    icarus = sim.build(slowinc(), simulator="icarus")
    result = sim.run(icarus, "PausesFollowTheSchedule", 1, module=PAUSES, run_dir=tmp_path / "icarus")
    assert result.passed, result.message


def test_native_checker_reports_violations_while_pausing(tmp_path):
    build = sim.build(slowinc())
    result = sim.run(build, "NativeCheckerSeesViolationsWhilePausing", 1, module=PAUSES, run_dir=tmp_path)
    assert result.passed, result.message


def test_a_monitor_of_a_sourced_stream_sees_what_any_monitor_sees(tmp_path):
    for name, env in (("native", {}), ("python", NATIVE_OFF)):
        result = sim.run(
            sim.build(slowinc()),
            "SourcedMonitorSeesWhatAnyMonitorSees",
            1,
            module=PAUSES,
            run_dir=tmp_path / name,
            extra_env=env,
        )
        assert result.passed, result.message


def test_stalls_test_is_the_same_run_natively_and_in_python(tmp_path):
    """The fixture's back-pressure test: the same examples (fingerprint) and the same simulated
    time through native and Python endpoints, for a few seeds."""
    build = sim.build(slowinc())
    for seed in (1, 2, 3):
        runs = [
            sim.run(build, "StallsTest", seed, run_dir=tmp_path / f"{seed}-{name}", extra_env=env)
            for name, env in (("native", {}), ("python", NATIVE_OFF))
        ]
        assert all(r.passed for r in runs), [r.message for r in runs]
        prints = [re.search(r"stimulus fingerprint (\w+)", r.log.read_text()).group(1) for r in runs]
        assert prints[0] == prints[1] and runs[0].sim_time_ns == runs[1].sim_time_ns, (seed, prints)


def test_only_the_tops_ports_are_visible_outputs_read_only(tmp_path):
    rules = sim.visibility_rules(slowinc()).splitlines()
    assert rules[0] == "`verilator_config"
    access = {line.split('"')[3]: line.split()[0] for line in rules[1:]}
    assert access == {
        **{name: "public_flat_rw" for name in ("clk", "rst", "in_valid", "in_data", "out_ready")},
        **{name: "public_flat_rd" for name in ("in_ready", "out_valid", "out_data")},
    }  # `remaining`, `busy`: internal, not visible (the fixture's block.yaml sets whitebox for its isolation tests)
    unreadable = tmp_path / "needs_define.v"
    unreadable.write_text("module slowinc(input wire clk); `UNDEFINED_MACRO endmodule\n")
    fallback = sim.visibility_rules(dataclasses.replace(slowinc(), sources=[unreadable]))
    assert 'public_flat_rw -module "slowinc" -var "*"' in fallback  # pyslang cannot elaborate it: every signal


def test_ports_reach_vpi_through_the_main_loops_table_not_public_copies(tmp_path):
    """A blackbox build registers the top's ports for VPI itself (asicdv.tools.verilator_ports):
    no port is public in the model, so it keeps no copy to refresh at every eval; the widths are
    the build's parameters'."""
    block = dataclasses.replace(slowinc(), whitebox=False)
    build = sim.build(block, build_root=tmp_path / "builds")
    table = (build.directory / "asicdv_ports.cpp").read_text()
    assert 'ports->varInsert("in_data", &top->in_data, false, VLVT_UINT16, VLVD_IN|VLVF_PUB_RW, 0, 1, 15, 0);' in table
    assert 'module->varInsert("out_valid", &top->out_valid, false, VLVT_UINT8, VLVD_OUT|VLVF_PUB_RD, 0, 0);' in table
    assert not (build.directory / "visibility.vlt").exists()
    assert "slowinc__DOT__in_data" not in (build.directory / "Vtop___024root.h").read_text()
    result = sim.run(build, "StallsTest", 2, run_dir=tmp_path / "run")  # streams, pauses, every output read
    assert result.passed, result.message
    wide = sim.build(block, overrides={"WIDTH": 24}, build_root=tmp_path / "builds")
    assert (
        '"in_data", &top->in_data, false, VLVT_UINT32, VLVD_IN|VLVF_PUB_RW, 0, 1, 23, 0);'
        in (wide.directory / "asicdv_ports.cpp").read_text()
    )


def test_rtl_with_its_own_public_signals_gets_public_ports(tmp_path):
    """Verilator builds the scopes itself when the RTL marks a signal public: the ports are made
    public too (visibility.vlt), and the tests run as before."""
    source = tmp_path / "slowinc.v"
    text = slowinc().sources[0].read_text()
    source.write_text(text.replace("  reg busy;", "  reg busy /*verilator public_flat_rd*/;", 1))
    block = dataclasses.replace(slowinc(), whitebox=False, sources=[source])
    build = sim.build(block, build_root=tmp_path / "builds")
    assert (build.directory / "visibility.vlt").exists()
    assert "asicdv_register_ports" not in (build.directory / "asicdv_ports.cpp").read_text()
    result = sim.run(build, "StallsTest", 2, run_dir=tmp_path / "run")
    assert result.passed, result.message

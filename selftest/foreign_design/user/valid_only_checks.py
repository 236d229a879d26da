"""Framework checks of valid-only streams on mac_pipe (selftest/test_foreign_repo_sim.py runs them,
natively and with ASICDV_NATIVE=0): sources, sinks, monitors and protocol checkers bound by
block.yaml, by naming convention and explicitly."""

import os

import cocotb
from cocotb.triggers import RisingEdge

from asicdv.testbench import clocking, native
from asicdv.testbench.bfm import Bfm
from asicdv.testbench.stream import Stream


def engine_expected() -> bool:
    return native.available() and os.environ.get("ASICDV_NATIVE", "1") != "0"


@cocotb.test()
async def BindingByConvention(dut):
    """valid_o alone is the valid-only stream `out` by suffix; valid_i/ready_o/*_i is `in`."""
    out = Stream.bind(dut, "out", exclude=("clk_i", "rst_ni"))
    assert out.ready is None and out.valid._name == "valid_o" and list(out.fields) == ["y"], out
    inp = Stream.bind(dut, "in", exclude=("clk_i", "rst_ni"))
    assert inp.ready._name == "ready_o" and list(inp.fields) == ["a", "b", "c"], inp
    explicit = Stream.bind(dut, "result", valid="valid_o", ready=None, data={"value": "y_o"})
    assert explicit.ready is None and explicit.fields["value"]._name == "y_o"


@cocotb.test()
async def ValidOnlySourceMonitorChecker(dut):
    """The input bound as valid-only: a source plays every beat on consecutive edges, a monitor
    (explicit binding) records each once and in order, and the checker sees no violation."""
    bfm = Bfm(dut)
    dut.rst_ni.value = 0
    source = bfm.add_source("raw", valid="valid_i", ready=None, data=["a_i", "b_i", "c_i"])
    monitor = bfm.add_monitor("seen", valid="valid_i", ready=None, data=["a_i", "b_i", "c_i"])
    assert (source.engine is not None) == engine_expected()
    assert (monitor.engine is not None) == engine_expected()
    got = []
    monitor.subscribers.append(got.append)
    await bfm.reset()
    beats = [{"a": i & 0xFF, "b": (3 * i) & 0xFF, "c": (1000 + 7 * i) & 0xFFFF} for i in range(40)]
    source.send_all_nowait(beats)
    await bfm.within(source.wait_idle(), 200, "the valid-only source's beats")
    for _ in range(3):
        await RisingEdge(bfm.clk)
    assert got == beats, (
        f"monitor saw {len(got)} beats, first difference at {next((i for i, (g, b) in enumerate(zip(got, beats, strict=False)) if g != b), len(got))}"
    )
    for board in bfm.protocol_boards():
        board.check()
    assert source.checker.stalls == 0


@cocotb.test()
async def ValidOnlySinkTakesEveryResult(dut):
    """The design's valid-only output: a sink with pauses asked for still takes every beat (it has
    no ready to hold back), natively or in Python; the results match y = a * b + c."""
    bfm = Bfm(dut, stalls=True)
    source = bfm.add_source("in")  # block.yaml's declaration: valid_i / ready_o
    sink = bfm.add_sink("out", bfm.pauses())
    assert sink.stream.ready is None
    assert (sink.engine is not None) == engine_expected()
    await bfm.reset()
    beats = [{"a": (5 * i) & 0xFF, "b": (11 * i + 1) & 0xFF, "c": (977 * i) & 0xFFFF} for i in range(60)]
    source.send_all_nowait(beats)
    results = [await bfm.within(sink.recv(), 100, f"result {i}") for i in range(len(beats))]
    want = [{"y": (b["a"] * b["b"] + b["c"]) & 0xFFFF} for b in beats]
    assert results == want
    for _ in range(5):
        await RisingEdge(bfm.clk)
    assert sink.empty(), "a beat came out with no input"
    for board in bfm.protocol_boards():
        board.check()
    assert clocking.cycles_now() > 60


@cocotb.test()
async def ValidOnlyCheckerSeesZ(dut):
    """Icarus (4-state): a valid-only stream whose valid nobody drives is Z after reset, and the
    Python checker of the sink on it says so."""
    assert not native.available()
    bfm = Bfm(dut)
    bfm.add_sink("floating", valid="valid_i", ready=None, data=["a_i"])
    await bfm.reset()
    for _ in range(3):
        await RisingEdge(bfm.clk)
    (board,) = bfm.protocol_boards()
    assert board.errors == 1, board.errors
    assert "valid_i is z (x/z) after reset" in board.first_mismatch.lower(), board.first_mismatch

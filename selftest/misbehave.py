"""cocotb tests that misbehave on purpose, for the self-tests of the runner and of regressions.

Not collected by pytest (no test_ prefix): a run names this module (`module: selftest.misbehave`
in a regression entry, `module=` to the simulator) on some block's build; all but the last ignore
the DUT beyond its clock. The last drives the fixture project's slowinc block.
"""

import os

import cocotb
from cocotb.triggers import Event, Timer

from asicdv.testbench import clocking

LIMIT = 900_000  # about one example in ten fails, rarely the first one


@cocotb.test()
async def Hangs(dut):
    clocking.start_clock(dut.clk)
    await Event().wait()  # never set: the clock runs on forever


@cocotb.test()
async def Crashes(dut):
    os.abort()


@cocotb.test()
async def FailsAnAssertion(dut):
    assert 0x1234 == 0x1235, "deliberate mismatch 0x1234 != 0x1235"


@cocotb.test()
async def ClockEdges(dut):
    """Logs the times of the first rising edges and what a Timer sees (native or GPI clock)."""
    from cocotb.simtime import get_sim_time
    from cocotb.triggers import RisingEdge

    clocking.start_clock(dut.clk)
    edges = []
    for _ in range(3):
        await RisingEdge(dut.clk)
        edges.append(get_sim_time("ns"))
    await Timer(23, "ns")  # not on an edge: which of two events due at once runs first is a race
    dut._log.info("edges %s timer %s clk %s", edges, get_sim_time("ns"), int(dut.clk.value))


@cocotb.test()
async def WatchedSignals(dut):
    """Logs when Python's triggers on slowinc's outputs fire, with the clock running on its own in
    between (the main loop's quiet runs): a beat taken (in_ready falling, then out_data changing),
    out_valid rising LATENCY cycles later, in_ready rising once the beat has left."""
    from cocotb.simtime import get_sim_time
    from cocotb.triggers import FallingEdge, RisingEdge, ValueChange, with_timeout

    async def at(trigger) -> None:
        await with_timeout(trigger, 1000, "ns")  # a missed change fails here, not at the run's timeout
        times.append(get_sim_time("ns"))

    clocking.start_clock(dut.clk)
    dut.rst.value, dut.in_valid.value, dut.out_ready.value, dut.in_data.value = 1, 0, 0, 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    times = []
    for value, taken in ((5, FallingEdge(dut.in_ready)), (9, ValueChange(dut.out_data))):
        await RisingEdge(dut.clk)
        dut.in_valid.value, dut.in_data.value = 1, value
        await at(taken)
        dut.in_valid.value = 0
        await at(RisingEdge(dut.out_valid))
        dut.out_ready.value = 1
        await at(RisingEdge(dut.in_ready))
        dut.out_ready.value = 0
    dut._log.info("watched %s out_data %d", times, int(dut.out_data.value))


@cocotb.test()
async def PropertyFailsAboveLimit(dut):
    """Every integer >= LIMIT fails, so hypothesis shrinks any failure to exactly LIMIT."""
    from hypothesis import strategies as st  # imported here: the other tests start without it (5 s timeouts)

    from asicdv.testbench import properties as hypo

    async def drive(value: int) -> None:
        await Timer(1, unit="ns")
        assert value < LIMIT, f"value {value} is not below {LIMIT}"

    await hypo.check_property(st.integers(0, 10**6), drive, max_examples=100, name="below-limit")


@cocotb.test()
async def NativeCheckerSeesViolations(dut):
    """Python drives slowinc's input stream badly while the engine checks it: a payload
    change while stalled and a valid dropped while stalled are both reported; a held beat is not."""
    from cocotb.triggers import ReadOnly, RisingEdge

    from asicdv.testbench import native
    from asicdv.testbench.bfm import Bfm

    assert native.available()
    bfm = Bfm(dut)
    stream = bfm.stream("in")
    engine = native.NativeStream(stream)
    dut.in_valid.value = 0
    dut.out_ready.value = 1
    await clocking.reset(bfm.clk, dut.rst, bfm.reset_spec)
    engine.set_checking(True)

    async def stall_then(action):
        """Send a beat (the block then stalls `in` while it is in flight), offer the next one, act."""
        dut.in_data.value, dut.in_valid.value = 1, 1
        while True:
            await ReadOnly()
            moved = dut.in_ready.value == 1
            await RisingEdge(bfm.clk)
            if moved:
                break
        dut.in_data.value = 2  # the next beat, offered while the block is busy
        for _ in range(3):
            await RisingEdge(bfm.clk)
        await ReadOnly()
        assert dut.in_ready.value == 0, "expected the block to stall its input while busy"
        await RisingEdge(bfm.clk)
        action()
        for _ in range(3):
            await RisingEdge(bfm.clk)
        violation = engine.violation()
        dut.in_valid.value = 0
        for _ in range(100):  # let the block finish
            await RisingEdge(bfm.clk)
        engine.set_checking(True)
        return violation

    def hold():
        pass

    def change():
        dut.in_data.value = 3

    def drop():
        dut.in_valid.value = 0

    results = {name: await stall_then(action) for name, action in (("hold", hold), ("change", change), ("drop", drop))}
    dut._log.info("native checker: %s", results)
    assert results == {
        "hold": "",
        "change": "payload changed while stalled",
        "drop": "valid dropped before the transfer",
    }, results
    assert engine.stalls() >= 3

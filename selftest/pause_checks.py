"""cocotb tests of seeded pauses on the fixture project's slowinc block, natively or with
ASICDV_NATIVE=0 (selftest/test_simulator_sim.py runs them both ways and compares the traces).

Not collected by pytest (no test_ prefix): `sim.run(..., module="selftest.pause_checks")`.
"""

import hashlib
import os

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from asicdv.testbench import native
from asicdv.testbench.bfm import Bfm
from asicdv.testbench.clocking import cycles_now
from asicdv.testbench.scoreboard import to_hex
from asicdv.testbench.stream import PauseSchedule

SOURCE_PAUSES = (101, 0.5, 3)  # seed, probability, longest
SINK_PAUSES = (202, 0.5, 4)
BEATS = 40


def expect_native() -> bool:
    return native.available() and os.environ.get("ASICDV_NATIVE", "1") != "0"


def _level(value) -> int:
    return int(value) if value.is_resolvable else -1  # X/Z (Icarus, before the first drive)


async def trace_edges(dut, trace: dict) -> None:
    """Record what each rising edge samples: valid, ready and data of both streams, read after
    the falling edge (where the engine drives) once values settle, keyed by the edge's cycle."""
    names = ("in_valid", "in_ready", "in_data", "out_valid", "out_ready", "out_data")
    while True:
        await FallingEdge(dut.clk)
        await ReadOnly()
        values = {name: _level(getattr(dut, name).value) for name in names}
        await RisingEdge(dut.clk)
        trace[cycles_now()] = values


def source_expected(trace: dict, wake: int, pauses: list[int], beats: list[int]) -> list[str]:
    """Where the input's valid and data differ from the schedule: beat i is offered after pauses[i]
    edges with valid low, counted from the edge its pause was drawn on (the wake edge, then each
    transfer), and held until an edge with in_ready high takes it."""
    errors, edge = [], wake
    if trace[wake]["in_valid"]:
        errors.append(f"edge {wake}: in_valid high on the wake edge")
    for i, (pause, value) in enumerate(zip(pauses, beats, strict=True)):
        for _ in range(pause):
            edge += 1
            if trace[edge]["in_valid"]:
                errors.append(f"edge {edge}: in_valid high during beat {i}'s pause of {pause}")
        while True:
            edge += 1
            seen = trace[edge]
            if not seen["in_valid"] or seen["in_data"] != value:
                errors.append(f"edge {edge}: beat {i} ({value}) not offered: {seen}")
                return errors
            if seen["in_ready"]:
                break
    return errors


def sink_expected(trace: dict, restart: int, pauses: list[int], beats: list[int]) -> list[str]:
    """Where the output's ready differs from the schedule: after the restart edge and after each
    transfer, a pause q holds ready low until out_valid is seen at an edge and q - 1 edges more
    (ready high from the q-th edge valid waited), and a pause 0 keeps ready high."""
    errors, edge = [], restart
    for j, (pause, value) in enumerate(zip(pauses, beats, strict=True)):
        waited = 0  # edges valid has waited with ready low
        while True:
            edge += 1
            seen = trace[edge]
            want_ready = int(waited >= pause)
            if seen["out_ready"] != want_ready:
                errors.append(f"edge {edge}: out_ready {seen['out_ready']}, the schedule says {want_ready} (beat {j})")
                return errors
            if seen["out_valid"] and seen["out_ready"]:
                if seen["out_data"] != value:
                    errors.append(f"edge {edge}: beat {j} is {seen['out_data']}, not {value}")
                break
            waited += seen["out_valid"]
    return errors


def stall_episodes(trace: dict, prefix: str) -> int:
    """Edges where valid waits with ready low and did not at the edge before: what a checker counts."""
    stalled = [bool(v[f"{prefix}_valid"] and not v[f"{prefix}_ready"]) for _, v in sorted(trace.items())]
    return sum(now and not before for before, now in zip([False, *stalled], stalled, strict=False))


@cocotb.test()
async def PausesFollowTheSchedule(dut):
    """slowinc's input source and output sink with seeded pauses: what every edge sampled, read
    from Python, against the schedules (drawn again here from the same seeds), and the checkers'
    stall counts against the stalls in that trace. Logs the trace's digest to compare the two ways."""
    bfm = Bfm(dut)
    source = bfm.add_source("in", PauseSchedule(*SOURCE_PAUSES))
    sink = bfm.add_sink("out", PauseSchedule(*SINK_PAUSES))
    assert source.native_pauses == sink.native_pauses == expect_native(), "not the endpoints this run asked for"
    await bfm.reset()
    start = cycles_now()  # reset returned just after this edge: the sink restarts and the source wakes at the next
    trace: dict = {}
    cocotb.start_soon(trace_edges(dut, trace))
    values = [(7919 * i) % (1 << 16) for i in range(1, BEATS + 1)]
    source.send_all_nowait([{"data": v} for v in values])
    got = [(await bfm.within(sink.recv(), 200, f"beat {i}"))["data"] for i in range(BEATS)]
    for _ in range(2):  # the tracer has the last transfer's edge
        await RisingEdge(dut.clk)
    assert got == [(v + 1) % (1 << 16) for v in values], got

    schedule = PauseSchedule(*SOURCE_PAUSES)
    source_pauses = [next(schedule) for _ in values]
    schedule = PauseSchedule(*SINK_PAUSES)
    next(schedule)  # drawn at the sink's first edge, in reset: the reset restarts it
    sink_pauses = [next(schedule) for _ in values]
    assert sum(source_pauses) > 10 and sum(sink_pauses) > 10, "a schedule without pauses proves nothing"
    errors = source_expected(trace, start + 1, source_pauses, values)
    errors += sink_expected(trace, start + 1, sink_pauses, [(v + 1) % (1 << 16) for v in values])
    assert not errors, "; ".join(errors[:5])

    stalls = {"in": stall_episodes(trace, "in"), "out": stall_episodes(trace, "out")}
    counted = {"in": source.checker.stalls, "out": sink.checker.stalls}
    assert counted == stalls and stalls["out"] >= 5, (counted, stalls)
    for board in bfm.protocol_boards():
        board.check()
    if expect_native():
        assert source.engine.pauses_drawn() == BEATS, source.engine.pauses_drawn()
    digest = hashlib.sha256(repr(sorted(trace.items())).encode()).hexdigest()[:16]
    dut._log.info("pause trace %s over %d edges from edge %d; stalls %s", digest, len(trace), start, stalls)


@cocotb.test()
async def NativeCheckerSeesViolationsWhilePausing(dut):
    """A pausing native source on slowinc's input, its beat stalled while the block is busy (the
    output sink pauses too): Python changes the payload, then drops valid for one edge; the
    engine's checker reports each, and nothing while the engine alone drives."""
    assert expect_native()
    bfm = Bfm(dut)
    source = bfm.add_source("in", PauseSchedule(7, 0.5, 3))
    sink = bfm.add_sink("out", PauseSchedule(8, 0.5, 4))
    await bfm.reset()

    async def stalled_beat() -> None:
        """Until the source's beat waits at an edge with in_ready low (slowinc busy)."""
        while True:
            await FallingEdge(dut.clk)
            await ReadOnly()
            waiting = dut.in_valid.value == 1 and dut.in_ready.value == 0
            await RisingEdge(dut.clk)
            if waiting:
                return

    async def violation_after(tamper) -> str:
        source.send_all_nowait([{"data": 1}, {"data": 2}])  # the second waits while the first is in flight
        await stalled_beat()
        await tamper()
        await RisingEdge(dut.clk)
        await RisingEdge(dut.clk)
        seen = source.engine.violation()
        board, errors = source.checker.board, source.checker.board.errors
        source.checker.poll()  # reports it on the board (as the Python checker words it) and checks on
        reported = board.last_mismatch if board.errors > errors else ""
        for i in range(2):
            await bfm.within(sink.recv(), 200, f"beat {i}")
        source.engine.set_checking(True)  # forget the stall the tampering left for the next case
        return seen, reported

    async def hold():
        pass

    async def change():
        dut.in_data.value = 3

    async def drop():
        await FallingEdge(dut.clk)  # after the engine drove valid: low at the next rising edge only
        dut.in_valid.value = 0

    results = {name: await violation_after(act) for name, act in (("hold", hold), ("change", change), ("drop", drop))}
    dut._log.info("native checker while pausing: %s", results)
    board = "in valid/ready protocol"
    assert results == {
        "hold": ("", ""),
        "change": (
            "payload changed while stalled",
            f"{board}: in payload changed while stalled: {to_hex({'data': 2})} -> {to_hex({'data': 3})}",
        ),
        "drop": (
            "valid dropped before the transfer",
            f"{board}: in_valid dropped before the transfer (payload {to_hex({'data': 2})})",
        ),
    }, results
    assert source.engine.pauses_drawn() == 6  # two beats a case


@cocotb.test()
async def SourcedMonitorSeesWhatAnyMonitorSees(dut):
    """A monitor of the input the BFM's native source drives sleeps while the source holds no
    beat (StreamMonitor's `source`); one bound explicitly watches valid and ready as any monitor.
    With pausing endpoints, bursts and idle gaps, both deliver every beat at the same cycle."""
    bfm = Bfm(dut)
    source = bfm.add_source("in", PauseSchedule(31, 0.5, 3))
    sink = bfm.add_sink("out", PauseSchedule(32, 0.5, 4))
    sourced = bfm.add_monitor("in")
    watching = bfm.add_monitor("in", valid="in_valid", ready="in_ready", data=["in_data"])
    assert (sourced.source is source) == expect_native() and watching.source is None
    seen: dict[str, list] = {"sourced": [], "watching": []}
    sourced.subscribers.append(lambda beat: seen["sourced"].append((cycles_now(), beat["data"])))
    watching.subscribers.append(lambda beat: seen["watching"].append((cycles_now(), beat["data"])))
    await bfm.reset()
    sent = 0
    for burst in (1, 5, 2, 9, 1, 3):
        source.send_all_nowait([{"data": sent + i} for i in range(burst)])
        for i in range(burst):
            await bfm.within(sink.recv(), 200, f"beat {sent + i}")
        sent += burst
        for _ in range(3):  # idle edges between bursts
            await RisingEdge(dut.clk)
    assert [data for _, data in seen["sourced"]] == list(range(sent)), seen["sourced"]
    assert seen["sourced"] == seen["watching"], seen

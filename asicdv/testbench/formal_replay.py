"""The simulator side of `asicdv formal --replay` (asicdv.tools.formal.replay): a formal
counterexample's witness driven into the Verilator build of the same harness the proof used,
built with --assert, so the property that failed in the proof fails here, in simulation."""

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import Timer


@cocotb.test()
async def FormalReplayTest(dut):  # noqa: N802 (cocotb test names follow the testbench convention)
    """Drive a witness's inputs cycle by cycle; the harness's compiled-in assertions judge.
    Step k's inputs are applied at 1 + 10k ns and its clock edge comes at 6 + 10k ns."""
    request = json.loads(Path(os.environ["ASICDV_REQUEST"]).read_text())
    clock = request["clock"]
    clk = getattr(dut, clock)
    inputs = [n for n in request["inputs"] if n != clock]
    clk.value = 0
    await Timer(1, "ns")
    for cycle, values in enumerate(request["steps"]):
        for name in inputs:
            getattr(dut, name).value = values.get(name, 0)
        shown = " ".join(f"{n}={values.get(n, 0):#x}" for n in inputs)
        dut._log.info(f"replay cycle {cycle}: {shown}")
        await Timer(5, "ns")  # this step's combinational assertions see its inputs
        clk.value = 1  # the edge to the next step's state
        await Timer(5, "ns")
        clk.value = 0
    raise AssertionError(
        f"the witness ran {len(request['steps'])} cycles and no assertion fired: the counterexample "
        f"does not reproduce in simulation ({request['witness']})"
    )

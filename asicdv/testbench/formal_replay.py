"""The simulator side of formal witnesses (asicdv.tools.formal): a witness's inputs driven into the
Verilator build of a generated or written harness, step by step.

- `FormalReplayTest` (`asicdv formal --replay`): the harness is the proof's, built with --assert,
  so the property that failed in the proof fails here, in simulation.
- `FormalFillTest` (`asicdv formal --fill`): a reach task's harness, nothing asserted; each cycle
  the simulator's value of every bin condition is read, and a bin that holds is sampled in the
  block's functional coverage: the witness becomes a directed test that fills its bin."""

import importlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import cocotb
from cocotb.triggers import Timer

from asicdv.testbench import functional_coverage as coverage


def _request() -> dict:
    return json.loads(Path(os.environ["ASICDV_REQUEST"]).read_text())


async def drive_witness(dut, request: dict) -> AsyncIterator[tuple[int, dict[str, int]]]:
    """Drive a witness's inputs cycle by cycle, yielding (cycle, inputs) once the step's inputs
    have settled and before its clock edge. Step k's inputs are applied at 1 + 10k ns, the edge to
    step k + 1's state comes at 6 + 10k ns."""
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
        await Timer(5, "ns")  # this step's combinational logic (assertions, bin conditions) sees its inputs
        yield cycle, values
        clk.value = 1  # the edge to the next step's state
        await Timer(5, "ns")
        clk.value = 0


@cocotb.test()
async def FormalReplayTest(dut):  # noqa: N802 (cocotb test names follow the testbench convention)
    """Drive a witness's inputs cycle by cycle; the harness's compiled-in assertions judge."""
    request = _request()
    async for _ in drive_witness(dut, request):
        pass
    raise AssertionError(
        f"the witness ran {len(request['steps'])} cycles and no assertion fired: the counterexample "
        f"does not reproduce in simulation ({request['witness']})"
    )


@cocotb.test()
async def FormalFillTest(dut):  # noqa: N802
    """A reachable bin's witness as a directed test: `asicdv_bin_hit[i]` (the harness's output:
    outside reset and bin i's condition, as the RTL computes it) is read every cycle; each bin it
    shows is sampled in the block's functional coverage. Passes when the target bin was hit."""
    request = _request()
    importlib.import_module(request["coverage_module"])  # declares the block's coverpoints, as its tests do
    bins = [tuple(b) for b in request["bins"]]
    target = tuple(request["target"])
    first_hit: dict[tuple[str, str], int] = {}
    async for cycle, _ in drive_witness(dut, request):
        hit = int(dut.asicdv_bin_hit.value)
        for i, (point, name) in enumerate(bins):
            if hit >> i & 1:
                coverage.sample_bin(point, name)
                first_hit.setdefault((point, name), cycle)
                dut._log.info(f"cycle {cycle}: bin {point}[{name}] hit")
    points = coverage.write(Path.cwd())
    dut._log.info(f"functional coverage: {coverage.summary(points or {})[0]} bins hit; written to coverage.json")
    label = f"{target[0]}[{target[1]}]"
    if target not in first_hit:
        cycles = len(request["steps"])
        raise AssertionError(
            f"bin {label} not filled: its condition never held in {cycles} simulated cycle{'s' * (cycles != 1)} "
            f"of the witness (the proof reached it at step {request['step']})\n"
            f"  witness {request['witness']}\n  reproduce: {request['command']}"
        )
    dut._log.info(f"bin {label} filled at cycle {first_hit[target]} (the proof: step {request['step']})")

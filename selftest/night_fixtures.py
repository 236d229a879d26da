"""cocotb tests for the farm and nights tests (selftest/test_farm_slurm.py, test_nights.py): runs of a
known wall time, a flaky test, a seed-dependent bug, a failure with something to see in its waves.

Run by a regression entry with `module: selftest.night_fixtures` on the crc32 block's build, whose
DUT they leave alone.
"""

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, Timer

SEED = int(os.environ.get("ASICDV_SEED", "0"))  # the run's seed (asicdv's, not cocotb's own)


@cocotb.test()
async def PassesQuickly(dut):
    await Timer(10, unit="ns")


@cocotb.test()
async def TakesAWhile(dut):
    """About 5 s of wall time: long enough to cancel its farm job in the middle."""
    for _ in range(25):
        time.sleep(0.2)
        await Timer(10, unit="ns")


def _results_folder() -> Path:
    """The regression's results folder: the run folder (the working directory) is inside it."""
    here = Path.cwd()
    return next(p for p in (here, *here.parents) if (p / "plan.json").exists())


@cocotb.test()
async def FlakyOnce(dut):
    """Fails the first time it runs with a seed in a results folder, passes when rerun: flaky."""
    folder = _results_folder()
    night = json.loads((folder / "plan.json").read_text())["created"].replace(":", "")
    marker = folder / f"flaky-once-{night}-{SEED}"
    first = not marker.exists()
    marker.touch()
    await Timer(10, unit="ns")
    assert not first, "a failure that does not come back with the same seed"


@cocotb.test()
async def SeedDependent(dut):
    """Fails for every even seed, every time: a reproducible, seed-dependent bug."""
    await Timer(10, unit="ns")
    assert SEED % 2, f"seed {SEED} is even"


@cocotb.test()
async def FailsAfterSomeCycles(dut):
    """Resets the crc32 core, idles it 30 cycles and then reports a mismatch (for the waveform picture)."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst_n.value = 0
    dut.init.value = 0
    dut.next.value = 0
    dut.data.value = 0
    dut.nbytes.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst_n.value = 1
    for cycle in range(30):
        await RisingEdge(dut.clk)
        dut.data.value = cycle
    assert int(dut.crc.value) == 0x1234, f"crc {int(dut.crc.value):#x} != 0x1234"

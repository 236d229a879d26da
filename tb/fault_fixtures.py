"""cocotb tests for tb/test_faults.py (the fault-injection suite): each ignores its DUT (the crc32 core's
build) and behaves as a probe needs. Not collected by pytest (no test_ prefix).

ASICDV_FAULT_DIR (set by the suite in the regression's environment) is where they leave pids and markers.
"""

import os
import time
from pathlib import Path

import cocotb
from cocotb.triggers import Timer


def _mark(name: str) -> Path:
    folder = Path(os.environ["ASICDV_FAULT_DIR"])
    path = folder / f"{name}.{os.environ['ASICDV_SEED']}.{os.getpid()}"
    path.write_text(os.environ.get("ASICDV_ATTEMPT", ""))
    return path


@cocotb.test()
async def Passes(dut):
    await Timer(1, unit="ns")


@cocotb.test()
async def SleepsThenPasses(dut):
    """Holds its simulator for a while (wall clock), then passes."""
    _mark("sleeping")
    time.sleep(float(os.environ.get("ASICDV_FAULT_SLEEP", "3")))
    await Timer(1, unit="ns")


@cocotb.test()
async def PassesLateOnceThenEndsWithoutResult(dut):
    """First attempt: passes late (after the regression was killed, if its simulator outlived it).
    Every later attempt: ends without writing a result, after the first one would have passed."""
    folder = Path(os.environ["ASICDV_FAULT_DIR"])
    if not any(folder.glob("first.*")):
        _mark("first")
        time.sleep(float(os.environ.get("ASICDV_FAULT_FIRST_S", "8")))
        await Timer(1, unit="ns")
        return
    _mark("again")
    time.sleep(float(os.environ.get("ASICDV_FAULT_AGAIN_S", "10")))
    os._exit(0)  # no results file: the verdict must be 'no result', never the first attempt's pass

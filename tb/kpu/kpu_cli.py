"""Service test behind `asicdv kpu run`: one GEMM on the RTL array (pooled: the array's 2x2 max-pool
stage, rows already in window order)."""

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time

from asicdv import clocking, service
from tb.kpu.env import KpuBfm, Layer


@cocotb.test()
async def CliGemm(dut):
    request = service.request()
    with np.load(request["layer"]) as f:
        arrays = {key: f[key] for key in f.files}
    layer = Layer(
        arrays["a"], arrays["b"], arrays.get("bias"), int(request["input_zp"]),
        arrays.get("multiplier"), arrays.get("shift"),
        int(request["output_zp"]), int(request["act_min"]), int(request["act_max"]),
        bool(request.get("pool", False)),
    )  # fmt: skip
    bfm = KpuBfm(dut)
    await bfm.reset()
    start = get_sim_time("ns")
    result = await bfm.gemm(layer)
    np.save(request["out"], result)
    service.respond({"cycles": round((get_sim_time("ns") - start) / clocking.PERIOD_NS),
                     "rows": bfm.rows, "cols": bfm.cols})  # fmt: skip

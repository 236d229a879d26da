"""The KPU service's network request (`asicdv kpu net` on the RTL): a whole .tflite network in one simulation.

Request {"network": {"model": path, "input": X.npy, "rounding": "double"|"single", "out": dir, "progress": file}}.
The network runs layer by layer through models.tflite_net's steps (the same lowering and host ops as
`--model`); each array layer goes through KpuBfm.gemm. Writes every tensor to out/tensors.npz (key
"t<index>") and returns {"layers": {index: {"on", "why", "cycles", "pes"}}, "rows", "cols"}.
What the RTL cannot run yet is computed in Python and says so in "why": depthwise layers on the golden
model; a requantizer rounding the RTL lacks as the array's raw int32 accumulators requantized on the host.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from asicdv import clocking
from models import kpu as model
from models import tflite_net
from tb.kpu.env import KpuBfm, Layer

# What the array's driver (tb/kpu/env.py) can run natively: a per-layer rounding (op_round_single) and depthwise
# tiles (op_depthwise, Layer.a [M, K, N]) come with the RTL's depthwise/rounding modes; until the driver has
# them, depthwise layers run on the model and other roundings as raw accumulators requantized on the host.
DRIVER_ROUNDING = "rounding" in {f.name for f in dataclasses.fields(Layer)}
DRIVER_DEPTHWISE = hasattr(Layer, "depthwise")


async def run_layer(bfm: KpuBfm, lowered: tflite_net.Lowered, rounding: str) -> tuple[np.ndarray, dict]:
    if lowered.kind == "depthwise" and not DRIVER_DEPTHWISE:
        return tflite_net.execute_on_model(lowered, rounding), {"on": "model", "why": "no RTL depthwise mode yet"}
    r = lowered.requant
    native = DRIVER_ROUNDING or rounding == "double"
    requant = {"multiplier": r["multiplier"].astype(np.int32), "shift": r["shift"].astype(np.int32)} if native else {}
    if DRIVER_ROUNDING:
        requant["rounding"] = rounding
    layer = Layer(lowered.a, lowered.b, bias=r["bias"], input_zp=r["input_zp"], output_zp=r["output_zp"],
                  act_min=r["act_min"], act_max=r["act_max"], **requant)  # fmt: skip
    start = clocking.cycles_now()
    out = await bfm.gemm(layer)
    info = {"on": "RTL", "cycles": clocking.cycles_now() - start, "pes": bfm.rows * bfm.cols}
    if not native:
        out = model.requantize(out, r["multiplier"], r["shift"], output_zp=r["output_zp"], act_min=r["act_min"],
                               act_max=r["act_max"], rounding=rounding)  # fmt: skip
        info.update(on="RTL raw", why=f"{rounding}-rounding requant on the host")
    if out.size and (out.min() < model.INT8_MIN or out.max() > model.INT8_MAX):
        raise RuntimeError(f"{layer.describe()}: the RTL returned values outside int8")
    return out.astype(np.int8), info


async def answer_network(dut, request: dict) -> dict:
    req = request["network"]
    net = tflite_net.Network(req["model"])
    x = np.load(req["input"], allow_pickle=False)
    progress = Path(req["progress"]) if req.get("progress") else None
    bfm = KpuBfm(dut)
    await bfm.reset()

    def on_layer(layer, info):
        if progress is not None:
            progress.write_text(str(layer.index))

    steps = net.steps(x, req["rounding"], on_layer)
    try:
        step = next(steps)
        while True:
            _, lowered, rounding = step
            step = steps.send(await run_layer(bfm, lowered, rounding))
    except StopIteration as stop:
        values, infos = stop.value
    computed = {f"t{i}": v for i, v in values.items() if net.tensors[i].data is None}
    np.savez(Path(req["out"]) / "tensors.npz", **computed)
    return {"layers": {str(k): v for k, v in infos.items()}, "rows": bfm.rows, "cols": bfm.cols}

"""The KPU service's network request (`asicdv kpu net` on the RTL): a whole .tflite network in one simulation.

Request {"network": {"model": path, "input": X.npy, "rounding": "double"|"single", "out": dir, "progress": file}}.
The network runs layer by layer through models.tflite_net's steps (the same lowering and host ops as
`--model`); each array layer goes through KpuBfm.gemm. Writes every tensor to out/tensors.npz (key
"t<index>") and returns {"layers": {index: {"on", "cycles", "pes"}}, "rows", "cols"}. Every array layer
(CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) runs on the RTL with its own rounding mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asicdv.testbench import clocking
from models import kpu as model
from models import tflite_net
from tb.kpu.env import KpuBfm, Layer


async def run_layer(bfm: KpuBfm, lowered: tflite_net.Lowered, rounding: str, gemm=None) -> tuple[np.ndarray, dict]:
    """One array layer on the RTL, through `gemm(layer)` (default: the BFM's, unchecked; a test passes its
    env's, so every row also goes through the scoreboard)."""
    r = lowered.requant
    layer = Layer(
        lowered.a,
        lowered.b,
        bias=r["bias"],
        input_zp=r["input_zp"],
        output_zp=r["output_zp"],
        act_min=r["act_min"],
        act_max=r["act_max"],
        multiplier=r["multiplier"].astype(np.int32),
        shift=r["shift"].astype(np.int32),
        rounding=rounding,
    )
    start = clocking.cycles_now()
    out = await (gemm or bfm.gemm)(layer)
    info = {"on": "RTL", "cycles": clocking.cycles_now() - start, "pes": bfm.rows * bfm.cols}
    if out.size and (out.min() < model.INT8_MIN or out.max() > model.INT8_MAX):
        raise RuntimeError(f"{layer.describe()}: the RTL returned values outside int8")
    return out.astype(np.int8), info


async def run_network(bfm: KpuBfm, net: tflite_net.Network, x: np.ndarray, rounding: str, on_layer=None, gemm=None):
    """The whole network on the array (host ops on the model): (values, infos) as Network.steps returns."""
    steps = net.steps(x, rounding, on_layer)
    try:
        step = next(steps)
        while True:
            _, lowered, layer_rounding = step
            step = steps.send(await run_layer(bfm, lowered, layer_rounding, gemm))
    except StopIteration as stop:
        return stop.value


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

    values, infos = await run_network(bfm, net, x, req["rounding"], on_layer)
    computed = {f"t{i}": v for i, v in values.items() if net.tensors[i].data is None}
    np.savez(Path(req["out"]) / "tensors.npz", **computed)
    return {"layers": {str(k): v for k, v in infos.items()}, "rows": bfm.rows, "cols": bfm.cols}

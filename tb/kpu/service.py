"""The RTL service behind `asicdv kpu run` and the bench: GEMM and depthwise layers on the array.

`request(layers, directory)` writes the layers' arrays to `directory/layers.npz` and returns the
JSON request; the answer writes each layer's result to `directory/result<i>.npy` and returns
{"cycles": [per layer], "rows": ROWS, "cols": COLS}. One simulation runs every layer in order.

Request format: {"arrays": npz path, "out": directory, "layers": [per layer {"input_zp", "output_zp",
"act_min", "act_max", "pool", "rounding"}]}; the npz holds a<i>, b<i> and optionally bias<i>,
multiplier<i>, shift<i> (no multiplier: raw int32 output). A layer is a GEMM when a<i> is int8 [M, K]
and depthwise (op_depthwise) when a<i> is int8 [M, K, N] (pixel, tap, channel; e.g.
models.kpu.depthwise_patches) with b<i> int8 [K, N] (models.kpu.depthwise_weights_as_taps).
"rounding" is "double" (TFLite reference, the default when absent) or "single" (op_round_single).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asicdv.testbench import clocking
from asicdv.testbench.service import serve
from tb.kpu.env import KpuBfm, Layer

ARRAYS = ("a", "b", "bias", "multiplier", "shift")
SCALARS = ("input_zp", "output_zp", "act_min", "act_max", "pool")  # ints; "rounding" is a string


def request(layers: list[Layer], directory: Path) -> dict:
    arrays = {f"{name}{i}": getattr(layer, name) for i, layer in enumerate(layers) for name in ARRAYS}
    np.savez(directory / "layers.npz", **{key: value for key, value in arrays.items() if value is not None})
    return {
        "arrays": str(directory / "layers.npz"),
        "out": str(directory),
        "layers": [
            {**{name: int(getattr(layer, name)) for name in SCALARS}, "rounding": layer.rounding} for layer in layers
        ],
    }


def results(response: dict, directory: Path) -> list[np.ndarray]:
    return [np.load(directory / f"result{i}.npy") for i in range(len(response["cycles"]))]


async def answer(dut, request: dict) -> dict:
    if "network" in request:  # `asicdv kpu net`: a whole .tflite network (tb/kpu/net_service.py)
        from tb.kpu.net_service import answer_network

        return await answer_network(dut, request)
    bfm = KpuBfm(dut)
    await bfm.reset()
    cycles = []
    with np.load(request["arrays"]) as arrays:
        for i, scalars in enumerate(request["layers"]):
            layer = Layer(**{name: arrays.get(f"{name}{i}") for name in ARRAYS}, **scalars)
            start = clocking.cycles_now()
            np.save(Path(request["out"]) / f"result{i}.npy", await bfm.gemm(layer))
            cycles.append(clocking.cycles_now() - start)
    return {"cycles": cycles, "rows": bfm.rows, "cols": bfm.cols}


Service = serve(answer)

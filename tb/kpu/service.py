"""The RTL service behind `asicdv kpu run` and the bench: GEMM layers on the array.

`request(layers, directory)` writes the layers' arrays to `directory/layers.npz` and returns the
JSON request; the answer writes each layer's result to `directory/result<i>.npy` and returns
{"cycles": [per layer], "rows": ROWS, "cols": COLS}. One simulation runs every layer in order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asicdv import clocking
from asicdv.service import serve
from tb.kpu.env import KpuBfm, Layer

ARRAYS = ("a", "b", "bias", "multiplier", "shift")
SCALARS = ("input_zp", "output_zp", "act_min", "act_max", "pool")


def request(layers: list[Layer], directory: Path) -> dict:
    arrays = {f"{name}{i}": getattr(layer, name) for i, layer in enumerate(layers) for name in ARRAYS}
    np.savez(directory / "layers.npz", **{key: value for key, value in arrays.items() if value is not None})
    return {
        "arrays": str(directory / "layers.npz"), "out": str(directory),
        "layers": [{name: int(getattr(layer, name)) for name in SCALARS} for layer in layers],
    }  # fmt: skip


def results(response: dict, directory: Path) -> list[np.ndarray]:
    return [np.load(directory / f"result{i}.npy") for i in range(len(response["cycles"]))]


async def answer(dut, request: dict) -> dict:
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

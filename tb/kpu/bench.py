"""KPU figures: MAC utilization for a few shapes and simulated MACs per wall-second."""

import tempfile
from pathlib import Path

import numpy as np

from asicdv import bench, rtl
from asicdv.blocks import get_block

SHAPES = [(16, 16, 256), (64, 64, 256), (8, 8, 1024), (64, 64, 1024), (24, 40, 300), (64, 64, 16)]


def run(report) -> None:
    report("Verilator build, cold (8x8)", bench.cold_build_seconds(get_block("kpu")), "s")
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        for m, n, k in SHAPES:
            layer, out = Path(tmp) / "layer.npz", Path(tmp) / "out.npy"
            a = rng.integers(-128, 128, (m, k)).astype(np.int8)
            b = rng.integers(-128, 128, (k, n)).astype(np.int8)
            np.savez(layer, a=a, b=b)
            request = {"layer": str(layer), "out": str(out), "input_zp": 0, "output_zp": 0, "act_min": -128, "act_max": 127}
            response = rtl.ask("kpu", "tb.kpu.kpu_cli", "CliGemm", request)
            assert np.array_equal(np.load(out), a.astype(np.int64) @ b.astype(np.int64)), "RTL result wrong"
            macs = m * n * k
            array = response["rows"] * response["cols"]
            report(f"M={m} N={n} K={k}: MAC utilization", 100 * macs / (array * response["cycles"]), "%")
            report(f"M={m} N={n} K={k}: simulated MACs per wall-second", macs / response["wall_s"], "MAC/s")

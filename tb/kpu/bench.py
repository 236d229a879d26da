"""KPU figures: MAC utilization for a few shapes and simulated MACs per wall-second."""

import tempfile
from pathlib import Path

import numpy as np

from asicdv import bench, rtl
from asicdv.blocks import get_block
from tb.kpu import service
from tb.kpu.env import Layer

SHAPES = [(16, 16, 256), (64, 64, 256), (8, 8, 1024), (64, 64, 1024), (24, 40, 300), (64, 64, 16)]


def run(report) -> None:
    report("Verilator build, cold (8x8)", bench.cold_build_seconds(get_block("kpu")), "s")
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        for m, n, k in SHAPES:
            a = rng.integers(-128, 128, (m, k)).astype(np.int8)
            b = rng.integers(-128, 128, (k, n)).astype(np.int8)
            response = rtl.ask("kpu", service.request([Layer(a, b)], Path(tmp)))
            result = service.results(response, Path(tmp))[0]
            assert np.array_equal(result, a.astype(np.int64) @ b.astype(np.int64)), "RTL result wrong"
            macs = m * n * k
            array = response["rows"] * response["cols"]
            report(f"M={m} N={n} K={k}: MAC utilization", 100 * macs / (array * response["cycles"][0]), "%")
            report(f"M={m} N={n} K={k}: simulated MACs per wall-second", macs / response["wall_s"], "MAC/s")

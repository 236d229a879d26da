"""Run the KPU overhead prototype: CliGemm (Python drives every operand beat, GPI clock) vs
ProtoGemm (HDL clock, operands from a $readmemh memory) vs the native harness, interleaved,
each result matrix compared with the model."""

import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from asicdv import ROOT, bench, sim
from asicdv.blocks import get_block

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
proto = ROOT / "bench" / "proto"
base = get_block("kpu")
hdl = dataclasses.replace(
    base,
    top="kpu_top_simsrc",
    sources=tuple(base.sources) + (proto / "kpu_top_simsrc.v",),
    build_args=tuple(base.build_args) + ("--timing", "--timescale", "1ns/1ps", "-CFLAGS", "-std=c++20 -fcoroutines"),
)
np_rng = np.random.default_rng(7)
layers = {
    "resnet8": bench.resnet8_layer(np_rng),
    "gemm64x64x1024": bench.kpu_layer(
        np_rng,
        np_rng.integers(-128, 128, (64, 1024)).astype(np.int8),
        np_rng.integers(-128, 128, (1024, 64)).astype(np.int8),
    ),
}
b_cli, b_hdl = sim.build(base), sim.build(hdl)
exe = bench.native_executable(b_cli)
tmp = Path(tempfile.mkdtemp())
report = {}
for name, layer in layers.items():
    expected = bench.kpu_expected(layer)
    beats, tiles = bench.kpu_beats(layer["a"], layer["b"], 8, 8, layer)
    beats_path = tmp / f"{name}.bin"
    beats.astype("<u4").tofile(beats_path)
    np.savez(tmp / "layer.npz", **{k: layer[k] for k in ("a", "b", "bias", "multiplier", "shift")})
    req_cli = {
        "layer": str(tmp / "layer.npz"),
        "out": str(tmp / "out.npy"),
        **{k: layer[k] for k in ("input_zp", "output_zp", "act_min", "act_max")},
    }
    req_hdl = {
        "beats": str(beats_path),
        "out": str(tmp / "out.bin"),
        "rows": 8,
        "cols": 8,
        "result_beats": 8 * len(tiles),
    }
    walls = {"cli": [], "hdl": [], "native": []}
    cycles = {}
    m, n = layer["a"].shape[0], layer["b"].shape[1]
    for _ in range(runs):
        r = sim.run(
            b_cli, "CliGemm", 1, module="tb.kpu.kpu_cli", request=req_cli, run_dir=ROOT / "results" / "proto" / "cli"
        )
        assert r.passed and np.array_equal(np.load(tmp / "out.npy"), expected), r.message
        walls["cli"].append(r.wall_s)
        cycles["cli"] = r.sim_time_ns / 10
        r = sim.run(
            b_hdl,
            "ProtoGemm",
            1,
            module="bench.proto.kpu_proto_test",
            request=req_hdl,
            run_dir=ROOT / "results" / "proto" / "hdl",
        )
        assert r.passed, r.message
        rows_out = np.fromfile(tmp / "out.bin", dtype="<i4").reshape(-1, 8).astype(np.int64)
        result = np.zeros((m, n), dtype=np.int64)
        for t, (m0, n0) in enumerate(tiles):
            blk = rows_out[t * 8 : (t + 1) * 8]
            result[m0 : m0 + 8, n0 : n0 + 8] = blk[: min(8, m - m0), : min(8, n - n0)]
        assert np.array_equal(result, expected), "hdl-source result mismatch"
        walls["hdl"].append(r.wall_s)
        cycles["hdl"] = r.sim_time_ns / 10
        info, result, wall = bench.run_kpu_native(exe, layer)
        assert np.array_equal(result, expected)
        walls["native"].append(wall)
        cycles["native"] = info["cycles"]
    out = {
        f: {
            "cycles": cycles[f],
            "median_s": statistics.median(w),
            "runs": w,
            "cycles_per_s": cycles[f] / statistics.median(w),
        }
        for f, w in walls.items()
    }
    for f in ("cli", "hdl"):
        out[f]["ratio"] = out[f]["cycles_per_s"] / out["native"]["cycles_per_s"]
    report[name] = out
print(json.dumps(report, indent=1))

"""KPU figures for `make bench` (the harness is asicdv.tools.bench): a 64x64x1024 GEMM and
ResNet-8's middle convolution through the cocotb service and through the native harness
(native.cpp); MAC utilization of GEMM, convolution and depthwise layers; model rates; synthesis
figures. Every result matrix is checked exactly against models.kpu."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from asicdv.tools import bench
from asicdv.tools import service_client as rtl
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block
from models import kpu as model

NATIVE = Path(__file__).with_name("native.cpp")
SYNTHESIS = [
    {
        "variant": "default",
        "top": "kpu_top",
        "params": {"ROWS": 8, "COLS": 8},
        "sources": "rtl/kpu/*.v",
        "per": ("MAC", 64.0),
    },
    # The requantizer, one lane (kpu_post COLS=1: all three modes, its 3 stages and the shared multiplier),
    # and its parts: the integer modes' back half (double + single) beside the fp32 mode's two halves.
    {"variant": "requant_lane", "top": "kpu_post", "params": {"COLS": 1}, "sources": "rtl/kpu/*.v", "per": None},
    {"variant": "requant_integer_back", "top": "kpu_requant", "params": {}, "sources": "rtl/kpu/*.v", "per": None},
    {"variant": "requant_fp32_front", "top": "kpu_fp32_norm", "params": {}, "sources": "rtl/kpu/*.v", "per": None},
    {"variant": "requant_fp32_back", "top": "kpu_fp32_round", "params": {}, "sources": "rtl/kpu/*.v", "per": None},
]
GEMM_SHAPES = [(16, 16, 256), (64, 64, 256), (8, 8, 1024), (64, 64, 1024), (24, 40, 300), (64, 64, 16)]
# DS-CNN (MLPerf Tiny keyword spotting): 3x3 depthwise on 25x5x64; MobileNet-style 3x3 stride 2.
DEPTHWISE_LAYERS = [
    ("DS-CNN depthwise 3x3, 25x5x64", (25, 5, 64), 3, 1),
    ("depthwise 3x3 stride 2, 16x16x32", (16, 16, 32), 3, 2),
]


def kpu_beats(a: np.ndarray, b: np.ndarray, rows: int, cols: int, params: dict) -> tuple[np.ndarray, list]:
    """The operand beats tb/kpu/env.py's driver sends (tiles in row-major tile order), as the
    native harness's word records; and the tile list."""
    m, k = a.shape
    n = b.shape[1]
    tiles = [(m0, n0) for m0 in range(0, m, rows) for n0 in range(0, n, cols)]
    aw, bw, pw = (rows * 8 + 31) // 32, (cols * 8 + 31) // 32, cols * 32 // 32
    sw = (cols * 6 + 31) // 32
    rec = aw + bw + 1 + 2 * pw + sw + 6
    out = np.zeros((len(tiles) * k, rec), dtype=np.uint32)
    mult, shift, bias = params["multiplier"], params["shift"], params["bias"]
    for t, (m0, n0) in enumerate(tiles):
        at = np.zeros((k, rows), dtype=np.int8)
        at[:, : min(rows, m - m0)] = a[m0 : m0 + rows].T
        bt = np.zeros((k, cols), dtype=np.int8)
        bt[:, : min(cols, n - n0)] = b[:, n0 : n0 + cols]
        recs = out[t * k : (t + 1) * k]
        recs[:, :aw] = np.frombuffer(at.tobytes(), dtype="<u4").reshape(k, aw)
        recs[:, aw : aw + bw] = np.frombuffer(bt.tobytes(), dtype="<u4").reshape(k, bw)
        recs[-1, aw + bw] = 1  # op_last
        lane = slice(n0, min(n0 + cols, n))

        def column(values, lane=lane):
            v = np.zeros(cols, dtype=np.int32)
            v[: lane.stop - lane.start] = values[lane]
            return v

        first = recs[0, aw + bw + 1 :]
        first[:pw] = column(bias).view(np.uint32)
        first[pw : 2 * pw] = column(mult).view(np.uint32)
        packed_shifts = sum((int(s) & 63) << (6 * i) for i, s in enumerate(column(shift)))
        first[2 * pw : 2 * pw + sw] = bench.int_words(packed_shifts, sw)
        first[2 * pw + sw :] = [
            params["input_zp"] & 0xFF,
            params["output_zp"] & 0xFF,
            params["act_min"] & 0xFF,
            params["act_max"] & 0xFF,
            0,
            0,
        ]
    return out.reshape(-1), tiles


def kpu_layer(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> dict:
    """A layer on operands a, b with random per-channel requantization."""
    n = b.shape[1]
    return {
        "a": a,
        "b": b,
        "bias": rng.integers(-5000, 5000, n).astype(np.int32),
        "multiplier": rng.integers(1 << 29, 1 << 31, n).astype(np.int32),
        "shift": rng.integers(-12, -6, n).astype(np.int32),
        "input_zp": 3,
        "output_zp": -2,
        "act_min": -128,
        "act_max": 127,
    }


def random_layer(rng: np.random.Generator, m: int, n: int, k: int) -> dict:
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    return kpu_layer(rng, a, b)


def kpu_expected(layer: dict) -> np.ndarray:
    keys = ("bias", "input_zp", "multiplier", "shift", "output_zp", "act_min", "act_max")
    return model.gemm(layer["a"], layer["b"], **{key: layer[key] for key in keys})


def run_kpu_native(exe: Path, layer: dict, rows: int = 8, cols: int = 8) -> tuple[dict, np.ndarray, float]:
    beats, tiles = kpu_beats(layer["a"], layer["b"], rows, cols, layer)
    info, out, wall = bench.run_native(exe, beats)
    m, n = layer["a"].shape[0], layer["b"].shape[1]
    rows_out = out.view("<i4").reshape(-1, cols).astype(np.int64)
    result = np.zeros((m, n), dtype=np.int64)
    for t, (m0, n0) in enumerate(tiles):
        block = rows_out[t * rows : (t + 1) * rows]
        result[m0 : m0 + rows, n0 : n0 + cols] = block[: min(rows, m - m0), : min(cols, n - n0)]
    return info, result, wall


def resnet8_layer(rng: np.random.Generator) -> dict:
    """ResNet-8's (TinyML Perf) middle 3x3 convolution: 16x16x32 input, 32 filters, stride 1,
    same padding, as the GEMM the driver sends (im2col: M = 256, K = 288, N = 32)."""
    inp = rng.integers(-128, 128, (16, 16, 32)).astype(np.int8)
    weights = rng.integers(-128, 128, (32, 3, 3, 32)).astype(np.int8)
    a, _ = model.im2col(inp, 3, 3, stride=1, padding="same", input_zp=3)
    return kpu_layer(rng, a, model.conv_weights_as_gemm(weights))


def _checked_native(name: str, layer: dict):
    """native(exe): one run of the layer on that harness, its result matrix checked."""
    expected = kpu_expected(layer)

    def native(exe: Path) -> tuple[dict, float]:
        info, result, wall = run_kpu_native(exe, layer)
        if not np.array_equal(result, expected):
            raise RuntimeError(f"native kpu {name} ({exe.parent.name}): result mismatch")
        return info, wall

    return native


def _side_by_side(name: str, layer: dict, ctx: bench.Context) -> dict:
    expected = kpu_expected(layer)
    executables = bench.native_builds(sim.build(get_block("kpu")), NATIVE)
    native = _checked_native(name, layer)

    with tempfile.TemporaryDirectory() as tmp:
        scalars = {**{k: int(layer[k]) for k in ("input_zp", "output_zp", "act_min", "act_max")}, "pool": 0}
        arrays = {key + "0": layer[key] for key in ("a", "b", "bias", "multiplier", "shift")}
        np.savez(Path(tmp) / "layers.npz", **arrays)
        (Path(tmp) / "tiny").mkdir()
        np.savez(
            Path(tmp) / "tiny" / "layers.npz", a0=np.ones((1, 1), dtype=np.int8), b0=np.ones((1, 1), dtype=np.int8)
        )
        # The request format of tb/kpu/service.py: arrays a<i>, b<i>, ... and per-layer scalars.
        request = {"arrays": str(Path(tmp) / "layers.npz"), "out": tmp, "layers": [scalars]}
        tiny_request = {
            "arrays": str(Path(tmp) / "tiny" / "layers.npz"),
            "out": str(Path(tmp) / "tiny"),
            "layers": [{"input_zp": 0, "output_zp": 0, "act_min": -128, "act_max": 127, "pool": 0}],
        }

        def cocotb():
            result, cycles = bench.run_cocotb("kpu", "default", request, ctx.seed)
            if not np.array_equal(np.load(Path(tmp) / "result0.npy"), expected):
                raise RuntimeError(f"cocotb kpu {name}: result mismatch")
            return cycles, result.wall_s, result.response["answer_wall_s"]

        def startup():
            return bench.run_cocotb("kpu", "default", tiny_request, ctx.seed)[0].wall_s

        return bench.side_by_side(name, ctx.runs, cocotb, native, startup, executables)


def overhead(ctx: bench.Context) -> list[dict]:
    return [
        _side_by_side("kpu: 64x64x1024 GEMM", random_layer(ctx.np_rng, 64, 64, 1024), ctx),
        _side_by_side("kpu: ResNet-8 3x3 conv layer", resnet8_layer(ctx.np_rng), ctx),
    ]


def threads(ctx: bench.Context) -> list[dict]:
    """Verilator --threads 1 and 2 on the KPU's optimized native build (64x64x1024 GEMM)."""
    name = "kpu: 64x64x1024 GEMM"
    native = _checked_native(name, random_layer(ctx.np_rng, 64, 64, 1024))
    return [bench.threads_compare(name, ctx.runs, native, (1, 2), sim.build(get_block("kpu")), NATIVE)]


def _utilization(info: dict, m: int, n: int, k: int) -> float:
    return m * n * k / (64 * info["cycles"])


def hardware(ctx: bench.Context) -> dict:
    """MAC utilization of the 8x8 array: GEMMs and a convolution natively, depthwise layers
    through the service (their tiling is the testbench's)."""
    out: dict = {"kpu_gemm": [], "kpu_conv": []}
    exe = bench.native_executable(sim.build(get_block("kpu")), NATIVE)
    for m, n, k in GEMM_SHAPES:
        layer = random_layer(ctx.np_rng, m, n, k)
        info, result, _ = run_kpu_native(exe, layer)
        if not np.array_equal(result, kpu_expected(layer)):
            raise RuntimeError(f"native kpu {m}x{n}x{k}: result mismatch")
        util = _utilization(info, m, n, k)
        out["kpu_gemm"].append({"M": m, "N": n, "K": k, "cycles": info["cycles"], "mac_utilization": round(util, 4)})
        bench.log(f"  kpu GEMM {m}x{n}x{k}: MAC utilization {100 * util:.1f}%")
    layer = resnet8_layer(ctx.np_rng)
    info, result, _ = run_kpu_native(exe, layer)
    if not np.array_equal(result, kpu_expected(layer)):
        raise RuntimeError("native kpu ResNet-8 layer: result mismatch")
    (m, k), n = layer["a"].shape, layer["b"].shape[1]
    util = _utilization(info, m, n, k)
    out["kpu_conv"].append(
        {
            "layer": "ResNet-8 conv 3x3 16x16x32 -> 32",
            "M": m,
            "N": n,
            "K": k,
            "cycles": info["cycles"],
            "mac_utilization": round(util, 4),
        }
    )
    bench.log(f"  kpu ResNet-8 conv layer: MAC utilization {100 * util:.1f}%")
    out["kpu_depthwise"] = [depthwise_utilization(ctx.np_rng, *shape) for shape in DEPTHWISE_LAYERS]
    out["kpu_rounding"] = [rounding_utilization(ctx.np_rng, rounding) for rounding in ("double", "single", "fp32")]
    return out


def rounding_utilization(np_rng: np.random.Generator, rounding: str, m: int = 64, n: int = 64, k: int = 256) -> dict:
    """One GEMM per requantization mode through the cocotb service (op_round_single / op_round_fp32 are
    per-tile fields the native harness does not drive), checked against models.kpu.gemm in that mode:
    the modes share kpu_post's pipeline, so the cycle counts must be equal."""
    from tb.kpu import service
    from tb.kpu.env import Layer

    a = np_rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = np_rng.integers(-128, 128, (k, n)).astype(np.int8)
    params = kpu_layer(np_rng, a, b)
    if rounding == "fp32":  # real-model-like float scales in the multiplier field
        params["multiplier"] = model.fp32_bits(np_rng.uniform(2.0**-14, 2.0**-8, n).astype(np.float32)).astype(np.int32)
        params["shift"] = np.zeros(n, np.int32)
    requant = {key: params[key] for key in ("bias", "multiplier", "shift", "output_zp", "act_min", "act_max")}
    expected = model.gemm(a, b, input_zp=params["input_zp"], rounding=rounding, **requant)
    layer = Layer(a=a, b=b, input_zp=params["input_zp"], rounding=rounding, **requant)
    with tempfile.TemporaryDirectory() as tmp:
        response = rtl.ask("kpu", service.request([layer], Path(tmp)))
        result = service.results(response, Path(tmp))[0]
    if not np.array_equal(result, expected):
        raise RuntimeError(f"kpu {rounding} GEMM {m}x{n}x{k}: result mismatch")
    cycles = response["cycles"][0]
    util = m * n * k / (64 * cycles)
    bench.log(f"  kpu GEMM {m}x{n}x{k}, rounding {rounding}: MAC utilization {100 * util:.1f}% ({cycles:,} cycles)")
    return {"rounding": rounding, "M": m, "N": n, "K": k, "cycles": cycles, "mac_utilization": round(util, 4)}


def depthwise_utilization(np_rng: np.random.Generator, name: str, shape, k: int, stride: int) -> dict:
    """A depthwise layer through the cocotb service (the depthwise tiling is the testbench's;
    the cycle count is the array's), checked against models.kpu.depthwise_conv2d."""
    from tb.kpu import service
    from tb.kpu.env import Layer

    inp = np_rng.integers(-128, 128, shape).astype(np.int8)
    weights = np_rng.integers(-128, 128, (1, k, k, shape[2])).astype(np.int8)
    params = kpu_layer(np_rng, np.zeros((1, 1), np.int8), np.zeros((1, shape[2]), np.int8))
    requant = {
        key: params[key] for key in ("bias", "multiplier", "shift", "input_zp", "output_zp", "act_min", "act_max")
    }
    expected = model.depthwise_conv2d(inp, weights, stride=stride, **requant)
    patches, _ = model.depthwise_patches(inp, k, k, stride=stride, input_zp=params["input_zp"])
    layer = Layer(a=patches, b=model.depthwise_weights_as_taps(weights), **requant)
    with tempfile.TemporaryDirectory() as tmp:
        response = rtl.ask("kpu", service.request([layer], Path(tmp)))
        result = service.results(response, Path(tmp))[0]
    if not np.array_equal(result, expected.reshape(-1, shape[2])):
        raise RuntimeError(f"kpu {name}: result mismatch")
    pixels, taps, channels = patches.shape
    cycles = response["cycles"][0]
    util = pixels * taps * channels / (64 * cycles)
    bench.log(
        f"  kpu {name}: MAC utilization {100 * util:.1f}% ({pixels * taps * channels:,} MACs in {cycles:,} cycles)"
    )
    return {"layer": name, "M": pixels, "N": channels, "K": taps, "cycles": cycles, "mac_utilization": round(util, 4)}


def model_rates(ctx: bench.Context) -> dict:
    """MACs per second of models.kpu.gemm and of a plain numpy int64 matmul, 64x64x256."""
    a = ctx.np_rng.integers(-128, 128, (64, 256)).astype(np.int8)
    b = ctx.np_rng.integers(-128, 128, (256, 64)).astype(np.int8)
    macs = 64 * 64 * 256
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    return {
        "kpu_model_gemm_macs_per_s": round(bench.rate(lambda: macs if model.gemm(a, b, input_zp=3) is not None else 0)),
        "numpy_int64_matmul_macs_per_s": round(bench.rate(lambda: macs if (a64 @ b64) is not None else 0)),
    }

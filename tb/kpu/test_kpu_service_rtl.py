"""The KPU service (tb/kpu/service.py) runs depthwise layers and both roundings on the RTL: one request
with depthwise (3x3 requantized in single rounding; 10x4 stride 2 raw + max-pool; 12 channels, so
tiles span two pixel blocks) and GEMM layers (single and double rounding), each bit-exact against
models.kpu's direct formulations (depthwise_conv2d, gemm)."""

import numpy as np

from asicdv.tools import service_client as rtl
from models import kpu as model
from tb.kpu import service
from tb.kpu.env import Layer


def requant(rng: np.random.Generator, n: int, rounding: str) -> dict:
    return {
        "multiplier": rng.integers(2**30, 2**31, n).astype(np.int32),
        "shift": rng.integers(-10, 1, n).astype(np.int32),
        "output_zp": int(rng.integers(-20, 20)),
        "rounding": rounding,
    }


def depthwise(rng, h, w, c, kernel, stride, params: dict, pool: bool = False):
    image = rng.integers(-128, 128, (h, w, c)).astype(np.int8)
    weights = rng.integers(-128, 128, (1, *kernel, c)).astype(np.int8)
    bias = rng.integers(-3000, 3000, c).astype(np.int32)
    zp = int(rng.integers(-128, 128))
    patches, (oh, ow) = model.depthwise_patches(image, *kernel, stride=stride, padding="same", input_zp=zp)
    if pool:
        patches = patches[model.pool_order(oh, ow)]
    expected = model.depthwise_conv2d(image, weights, stride=stride, padding="same", bias=bias, input_zp=zp, **params)
    expected = model.maxpool2x2(expected) if pool else expected
    layer = Layer(patches, model.depthwise_weights_as_taps(weights), bias, zp, **params, pool=pool)
    return layer, expected.reshape(-1, c)


def gemm(rng, m, k, n, params: dict):
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    bias = rng.integers(-3000, 3000, n).astype(np.int32)
    return Layer(a, b, bias, 5, **params), model.gemm(a, b, bias=bias, input_zp=5, **params)


def test_depthwise_and_rounding_requests(tmp_path):
    rng = np.random.default_rng(10)
    cases = [
        depthwise(rng, 9, 7, 12, (3, 3), 1, requant(rng, 12, "single")),
        depthwise(rng, 12, 9, 5, (10, 4), 2, {}, pool=True),
        gemm(rng, 13, 20, 11, requant(rng, 11, "single")),
        gemm(rng, 13, 20, 11, requant(rng, 11, "double")),
    ]
    response = rtl.ask("kpu", service.request([layer for layer, _ in cases], tmp_path))
    results = service.results(response, tmp_path)
    for (layer, expected), result in zip(cases, results, strict=True):
        assert np.array_equal(result, expected), f"{layer.describe()}: RTL differs from the model"
    assert all(cycles > 0 for cycles in response["cycles"])

"""`asicdv kpu run` on the RTL is bit-exact against `--model` on random gemm and conv2d layers (and conv2d +
2x2 max-pool)."""

import zlib

import numpy as np
import pytest

from asicdv.tools import cli


def random_layer(rng: np.random.Generator, op: str, requant: bool) -> dict:
    pool = op == "conv2d+pool"
    if op == "gemm":
        m, n, k = (int(x) for x in rng.integers(1, 30, 3))
        arrays = {
            "op": "gemm",
            "a": rng.integers(-128, 128, (m, k)).astype(np.int8),
            "b": rng.integers(-128, 128, (k, n)).astype(np.int8),
        }
    else:
        kernel = int(rng.choice([1, 3]))
        cin, cout = (int(x) for x in rng.integers(1, 10, 2))
        arrays = {
            "op": "conv2d",
            "input": rng.integers(-128, 128, (6, 7, cin)).astype(np.int8),
            "weights": rng.integers(-128, 128, (cout, kernel, kernel, cin)).astype(np.int8),
            "stride": int(rng.choice([1, 2])),
            "padding": str(rng.choice(["same", "valid"])),
        }
        if pool:  # an odd output size, so pixels in no full window are dropped too
            arrays.update(
                input=rng.integers(-128, 128, (11, 9, cin)).astype(np.int8), stride=1, padding="same", pool="max2x2"
            )
        n = cout
    arrays.update(bias=rng.integers(-3000, 3000, n).astype(np.int32), input_zp=int(rng.integers(-128, 128)))
    if requant:
        arrays.update(
            multiplier=rng.integers(2**30, 2**31, n).astype(np.int32),
            shift=rng.integers(-10, 1, n).astype(np.int32),
            output_zp=int(rng.integers(-20, 20)),
            act_min=-128,
            act_max=127,
        )
    return arrays


@pytest.mark.parametrize("op", ["gemm", "conv2d", "conv2d+pool"])
@pytest.mark.parametrize("requant", [False, True], ids=["raw", "requant"])
def test_rtl_matches_model(tmp_path, op, requant):
    rng = np.random.default_rng(zlib.crc32(f"{op}{requant}".encode()))
    path = tmp_path / "layer.npz"
    np.savez(path, **random_layer(rng, op, requant))
    rtl_out, model_out = tmp_path / "rtl.npy", tmp_path / "model.npy"
    assert cli.main(["kpu", "run", str(path), "--out", str(rtl_out)]) == 0
    assert cli.main(["kpu", "run", str(path), "--out", str(model_out), "--model"]) == 0
    rtl, model = np.load(rtl_out), np.load(model_out)
    assert rtl.dtype == model.dtype == (np.int8 if requant else np.int32)
    assert np.array_equal(rtl, model)

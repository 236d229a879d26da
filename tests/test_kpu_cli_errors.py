"""`asicdv kpu run` input checking (no simulator: every case fails before the RTL runs)."""

import numpy as np
import pytest

from asicdv.tools import cli

I8 = np.int8


def layer(tmp_path, **arrays):
    path = tmp_path / "layer.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({"a": np.zeros((2, 3), I8), "b": np.zeros((3, 2), I8)}, "missing key 'op'"),
        ({"op": "fft", "a": np.zeros((2, 3), I8)}, 'op must be "gemm" or "conv2d"'),
        ({"op": "gemm", "a": np.zeros((2, 3), I8)}, "missing key(s) b"),
        ({"op": "gemm", "a": np.zeros((2, 3), np.int16), "b": np.zeros((3, 2), I8)}, "a must have dtype int8"),
        ({"op": "gemm", "a": np.zeros((2, 3), I8), "b": np.zeros((4, 2), I8)}, "inner dimensions differ"),
        (
            {
                "op": "gemm",
                "a": np.zeros((2, 3), I8),
                "b": np.zeros((3, 2), I8),
                "multiplier": np.ones(2, np.int32),
                "shift": np.full(2, 31, np.int32),
            },
            "shift out of range",
        ),
        (
            {"op": "gemm", "a": np.zeros((2, 3), I8), "b": np.zeros((3, 2), I8), "multiplier": np.ones(2, np.int32)},
            "multiplier and shift come together",
        ),
        ({"op": "gemm", "a": np.zeros((2, 3), I8), "b": np.zeros((3, 2), I8), "colour": np.ones(1)}, "unknown key"),
        (
            {
                "op": "conv2d",
                "input": np.zeros((4, 4, 2), I8),
                "weights": np.zeros((3, 5, 5, 2), I8),
                "stride": 1,
                "padding": "valid",
            },
            "'valid' padding needs input size >= kernel extent",
        ),
        (
            {
                "op": "conv2d",
                "input": np.zeros((4, 4, 2), I8),
                "weights": np.zeros((3, 1, 1, 2), I8),
                "stride": 5,
                "padding": "same",
            },
            "stride must be 1..4",
        ),
        (
            {
                "op": "conv2d",
                "input": np.zeros((4, 4, 2), I8),
                "weights": np.zeros((3, 1, 1, 2), I8),
                "stride": 1,
                "padding": "full",
            },
            "padding must be",
        ),
        (
            {"op": "gemm", "a": np.zeros((4, 3), I8), "b": np.zeros((3, 2), I8), "pool": "max2x2"},
            'pool "max2x2" is for conv2d layers only',
        ),
        (
            {
                "op": "conv2d",
                "input": np.zeros((4, 4, 2), I8),
                "weights": np.zeros((3, 1, 1, 2), I8),
                "stride": 1,
                "padding": "same",
                "pool": "avg2x2",
            },
            'pool must be "none" or "max2x2"',
        ),
        (
            {
                "op": "conv2d",
                "input": np.zeros((1, 4, 2), I8),
                "weights": np.zeros((3, 1, 1, 2), I8),
                "stride": 1,
                "padding": "same",
                "pool": "max2x2",
            },
            "2x2 max-pool needs at least 2x2 pixels",
        ),
    ],
)
def test_bad_layer_is_one_line_and_exit_2(tmp_path, arrays, message, capsys):
    argv = ["kpu", "run", str(layer(tmp_path, **arrays)), "--out", str(tmp_path / "out.npy")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "out.npy").exists()


def test_not_an_npz_and_missing_file(tmp_path, capsys):
    text = tmp_path / "layer.npz"
    text.write_text("hello")
    assert cli.main(["kpu", "run", str(text), "--out", str(tmp_path / "o.npy")]) == 2
    assert cli.main(["kpu", "run", str(tmp_path / "none.npz"), "--out", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert "not an .npz file" in err and "no such file" in err


def test_model_mode_writes_the_model_result(tmp_path):
    rng = np.random.default_rng(3)
    a, b = rng.integers(-128, 128, (5, 7)).astype(I8), rng.integers(-128, 128, (7, 4)).astype(I8)
    out = tmp_path / "out.npy"
    assert (
        cli.main(["kpu", "run", str(layer(tmp_path, op="gemm", a=a, b=b, input_zp=3)), "--out", str(out), "--model"])
        == 0
    )
    result = np.load(out)
    assert result.dtype == np.int32 and np.array_equal(result, (a.astype(np.int64) - 3) @ b.astype(np.int64))


def test_model_mode_pools_conv2d(tmp_path):
    rng = np.random.default_rng(5)
    inp, weights = rng.integers(-128, 128, (5, 7, 3)).astype(I8), rng.integers(-128, 128, (4, 1, 1, 3)).astype(I8)
    arrays = dict(op="conv2d", input=inp, weights=weights, stride=1, padding="valid")
    plain, pooled = tmp_path / "plain.npy", tmp_path / "pooled.npy"
    assert cli.main(["kpu", "run", str(layer(tmp_path, **arrays)), "--out", str(plain), "--model"]) == 0
    assert cli.main(["kpu", "run", str(layer(tmp_path, **arrays, pool="none")), "--out", str(pooled), "--model"]) == 0
    assert np.array_equal(np.load(plain), np.load(pooled))
    assert cli.main(["kpu", "run", str(layer(tmp_path, **arrays, pool="max2x2")), "--out", str(pooled), "--model"]) == 0
    full = np.load(plain)
    want = np.maximum.reduce([full[0:4:2, 0:6:2], full[0:4:2, 1:6:2], full[1:4:2, 0:6:2], full[1:4:2, 1:6:2]])
    assert np.load(pooled).shape == (2, 3, 4) and np.array_equal(np.load(pooled), want)

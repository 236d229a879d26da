"""Unit tests of models/kpu.py against independent formulations (no simulator).

The references here are written differently from the model on purpose:
requantization in Python big ints / fractions, gemm and conv2d as explicit
loops over Python ints.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models import kpu

I32_MIN, I32_MAX = -(2**31), 2**31 - 1

# int32 values biased towards the extremes, where the rounding corner cases live.
int32s = st.one_of(
    st.sampled_from([I32_MIN, I32_MIN + 1, -1, 0, 1, I32_MAX - 1, I32_MAX, 1 << 30, -(1 << 30)]),
    st.integers(I32_MIN, I32_MAX),
)
int8s = st.integers(-128, 127)
shifts = st.integers(kpu.SHIFT_MIN, kpu.SHIFT_MAX)
fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
medium = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- references


def ref_srdhm(a: int, b: int) -> int:
    """High 32 bits of 2*a*b, rounded half up (towards +inf), saturating MIN*MIN."""
    if a == b == I32_MIN:
        return I32_MAX
    return (2 * a * b + 2**31) >> 32  # Python >> is floor: exact for big ints


def ref_rdbpot(x: int, e: int) -> int:
    """x / 2**e rounded to nearest, ties away from zero, with exact fractions."""
    f = Fraction(x, 2**e)
    mag = abs(f)
    r = int(mag + Fraction(1, 2))  # floor of a non-negative fraction
    return r if f >= 0 else -r


def ref_wrap32(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def ref_mbqm(x: int, m: int, s: int) -> int:
    left, right = (s, 0) if s > 0 else (0, -s)
    return ref_rdbpot(ref_srdhm(ref_wrap32(x * 2**left), m), right)


def ref_requant(acc: int, m: int, s: int, out_zp: int, lo: int, hi: int) -> int:
    return min(max(ref_mbqm(acc, m, s) + out_zp, lo), hi)


def ref_gemm_raw(a, b, bias, zp):
    """Triple loop in Python ints (no numpy arithmetic)."""
    rows, inner = len(a), len(a[0])
    cols = len(b[0])
    out = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        for j in range(cols):
            total = int(bias[j]) if bias is not None else 0
            for k in range(inner):
                total += (int(a[i][k]) - zp) * int(b[k][j])
            out[i][j] = ref_wrap32(total)
    return out


def ref_conv_raw(inp, weights, stride, padding, bias, zp):
    """Direct nested-loop convolution, TFLite padding computed from scratch."""
    h, w, cin = inp.shape
    cout, kh, kw, _ = weights.shape
    if padding == "same":
        oh, ow = (h + stride - 1) // stride, (w + stride - 1) // stride
        pt = max((oh - 1) * stride + kh - h, 0) // 2
        pl = max((ow - 1) * stride + kw - w, 0) // 2
    else:
        oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
        pt = pl = 0
    out = np.zeros((oh, ow, cout), dtype=object)
    for oy, ox, co in itertools.product(range(oh), range(ow), range(cout)):
        total = int(bias[co]) if bias is not None else 0
        for ky, kx, ci in itertools.product(range(kh), range(kw), range(cin)):
            y, x = oy * stride + ky - pt, ox * stride + kx - pl
            if 0 <= y < h and 0 <= x < w:  # padding contributes (zp - zp) * w = 0
                total += (int(inp[y, x, ci]) - zp) * int(weights[co, ky, kx, ci])
        out[oy, ox, co] = ref_wrap32(total)
    return out


# ---------------------------------------------------------------- primitives


@fast
@given(int32s, int32s)
@example(I32_MIN, I32_MIN)
@example(I32_MIN, I32_MAX)
@example(I32_MAX, I32_MAX)
@example(I32_MIN, 1)
@example(-(2**30), 2**30)
def test_srdhm_matches_bigint(a, b):
    assert int(kpu.saturating_rounding_doubling_high_mul(a, b)) == ref_srdhm(a, b)


def test_srdhm_known_values():
    f = kpu.saturating_rounding_doubling_high_mul
    assert int(f(I32_MIN, I32_MIN)) == I32_MAX  # the saturating case
    assert int(f(I32_MIN, I32_MAX)) == -I32_MAX
    assert int(f(I32_MAX, I32_MAX)) == I32_MAX - 1
    # exact halves round towards +inf: 3/2 -> 2, -3/2 -> -1
    assert int(f(3, 1 << 29)) == 1 and int(f(-3, 1 << 29)) == -1
    assert int(f(3, 1 << 30)) == 2 and int(f(-3, 1 << 30)) == -1


@fast
@given(int32s, st.integers(0, 31))
@example(I32_MIN, 31)
@example(I32_MAX, 31)
@example(-3, 1)
@example(3, 1)
@example(I32_MIN, 0)
def test_rdbpot_matches_fractions(x, e):
    assert int(kpu.rounding_divide_by_pot(x, e)) == ref_rdbpot(x, e)


def test_rdbpot_ties_away_from_zero():
    f = kpu.rounding_divide_by_pot
    assert [int(v) for v in f(np.array([5, -5, 6, -6, 7, -7]), 1)] == [3, -3, 3, -3, 4, -4]
    assert int(f(-(2**30), 31)) == -1 and int(f(2**30, 31)) == 1  # +-0.5 -> +-1
    assert int(f(2**30 - 1, 31)) == 0


@fast
@given(int32s, int32s, shifts)
@example(I32_MIN, I32_MIN, 0)
@example(1 << 20, 1 << 30, 30)  # left shift wraps in int32
@example(I32_MAX, I32_MAX, -31)
def test_mbqm_matches_bigint(x, m, s):
    assert int(kpu.multiply_by_quantized_multiplier(x, m, s)) == ref_mbqm(x, m, s)


def test_mbqm_vectorized_per_channel():
    rng = np.random.default_rng(1)
    x = rng.integers(I32_MIN, I32_MAX, size=(50, 6), endpoint=True)
    m = rng.integers(I32_MIN, I32_MAX, size=6, endpoint=True)
    s = rng.integers(-31, 30, size=6, endpoint=True)
    got = kpu.multiply_by_quantized_multiplier(x, m, s)
    for i, j in itertools.product(range(50), range(6)):
        assert int(got[i, j]) == ref_mbqm(int(x[i, j]), int(m[j]), int(s[j]))


@fast
@given(st.floats(1e-6, 100.0), st.integers(-(2**20), 2**20))
def test_quantize_multiplier_approximates_real_scale(real, x):
    m, s = kpu.quantize_multiplier(real)
    assert m == 0 or 2**30 <= m < 2**31
    # Double rounding: within one unit of the exact product (no overflow for these x).
    if abs(x * real) < 2**30 and abs(x) * 2 ** max(s, 0) < 2**31:
        assert abs(int(kpu.multiply_by_quantized_multiplier(x, m, s)) - x * real) <= 1 + abs(x) * real * 2**-30


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: kpu.multiply_by_quantized_multiplier(1, 1 << 30, 31), "shift"),
        (lambda: kpu.multiply_by_quantized_multiplier(1, 1 << 30, -32), "shift"),
        (lambda: kpu.multiply_by_quantized_multiplier(1, 2**31, 0), "multiplier"),
        (lambda: kpu.multiply_by_quantized_multiplier(2**31, 1, 0), "x"),
        (lambda: kpu.multiply_by_quantized_multiplier(1.5, 1, 0), "x"),
        (lambda: kpu.rounding_divide_by_pot(1, 32), "exponent"),
        (lambda: kpu.saturating_rounding_doubling_high_mul(I32_MIN - 1, 1), "a"),
    ],
)
def test_primitive_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- gemm


def i8(rng, *shape):
    return rng.integers(-128, 127, size=shape, endpoint=True).astype(np.int8)


@medium
@given(st.integers(1, 9), st.integers(1, 40), st.integers(1, 9), int8s, st.booleans(), st.integers(0, 2**32 - 1))
def test_gemm_raw_matches_loops(m, k, n, zp, with_bias, seed):
    rng = np.random.default_rng(seed)
    a, b = i8(rng, m, k), i8(rng, k, n)
    bias = rng.integers(I32_MIN, I32_MAX, size=n, endpoint=True).astype(np.int32) if with_bias else None
    got = kpu.gemm(a, b, bias=bias, input_zp=zp)
    assert got.dtype == np.int32 and got.shape == (m, n)
    assert got.tolist() == ref_gemm_raw(a.tolist(), b.tolist(), bias, zp)


def test_gemm_raw_matches_object_einsum():
    rng = np.random.default_rng(2)
    a, b = i8(rng, 13, 77), i8(rng, 77, 11)
    bias = rng.integers(-(2**20), 2**20, size=11).astype(np.int32)
    want = np.einsum("mk,kn->mn", a.astype(object) - (-37), b.astype(object)) + bias.astype(object)
    assert kpu.gemm(a, b, bias=bias, input_zp=-37).tolist() == want.tolist()


@medium
@given(
    st.integers(1, 6),
    st.integers(1, 30),
    st.integers(1, 6),
    int8s,
    int8s,
    st.tuples(int8s, int8s).map(sorted),
    st.integers(0, 2**32 - 1),
)
def test_gemm_requant_matches_reference(m, k, n, in_zp, out_zp, act, seed):
    rng = np.random.default_rng(seed)
    a, b = i8(rng, m, k), i8(rng, k, n)
    bias = rng.integers(-(2**24), 2**24, size=n).astype(np.int32)
    # mostly realistic TFLite multipliers, sometimes arbitrary int32
    mult = np.where(rng.random(n) < 0.8, rng.integers(2**30, 2**31, size=n), rng.integers(I32_MIN, I32_MAX, size=n))
    shift = rng.integers(-31, 30, size=n, endpoint=True)
    got = kpu.gemm(
        a, b, bias=bias, input_zp=in_zp, multiplier=mult, shift=shift, output_zp=out_zp, act_min=act[0], act_max=act[1]
    )
    assert got.dtype == np.int8
    raw = ref_gemm_raw(a.tolist(), b.tolist(), bias, in_zp)
    want = [
        [ref_requant(raw[i][j], int(mult[j]), int(shift[j]), out_zp, act[0], act[1]) for j in range(n)]
        for i in range(m)
    ]
    assert got.tolist() == want


@pytest.mark.parametrize("a_val, zp, b_val", [(-128, 127, -128), (127, -128, -128), (-128, 127, 127), (127, -128, 127)])
def test_k4096_extremes_do_not_overflow(a_val, zp, b_val):
    k = kpu.K_SAFE
    a = np.full((2, k), a_val, dtype=np.int8)
    b = np.full((k, 3), b_val, dtype=np.int8)
    exact = (a_val - zp) * b_val * k
    assert abs(exact) <= kpu.ACC_BOUND < I32_MAX
    got = kpu.gemm(a, b, input_zp=zp)
    assert (got.astype(np.int64) == exact).all()
    # the documented bias headroom still fits
    headroom = I32_MAX - kpu.ACC_BOUND
    bias = np.full(3, headroom if exact > 0 else -headroom, dtype=np.int32)
    assert (kpu.gemm(a, b, bias=bias, input_zp=zp).astype(np.int64) == exact + bias[0]).all()


def test_accumulator_wraps_like_32bit_hardware():
    a = np.full((1, 1), 127, dtype=np.int8)
    b = np.full((1, 1), 127, dtype=np.int8)
    got = kpu.gemm(a, b, bias=np.array([I32_MAX], dtype=np.int32))
    assert int(got[0, 0]) == ref_wrap32(I32_MAX + 127 * 127)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(a=np.zeros((2, 3), np.int16)), "a must have dtype int8"),
        (dict(b=np.zeros((4, 2), np.int8)), "inner dimensions"),
        (dict(a=np.zeros((2, 3, 1), np.int8)), "a must be 2-D"),
        (dict(a=[[1, 2, 3]]), "a must be a numpy array"),
        (dict(bias=np.zeros(2, np.int64)), "bias must have dtype int32"),
        (dict(bias=np.zeros(3, np.int32)), r"bias must have shape \(2,\)"),
        (dict(input_zp=128), "input_zp out of range"),
        (dict(multiplier=[1 << 30] * 2), "multiplier given without shift"),
        (dict(shift=[0, 0]), "shift given without multiplier"),
        (dict(multiplier=[1 << 30] * 2, shift=[31, 0]), "shift out of range"),
        (dict(multiplier=[1 << 30] * 2, shift=[0, -32]), "shift out of range"),
        (dict(multiplier=[2**31, 0], shift=[0, 0]), "multiplier out of range"),
        (dict(multiplier=[1] * 3, shift=[0] * 3), r"multiplier must be a scalar or have shape \(2,\)"),
        (dict(multiplier=1, shift=0, act_min=5, act_max=4), "act_min"),
        (dict(multiplier=1, shift=0, output_zp=-129), "output_zp out of range"),
        (dict(multiplier=1, shift=0.5), "shift must be an integer array"),
    ],
)
def test_gemm_validation(kwargs, match):
    args = dict(a=np.zeros((2, 3), np.int8), b=np.zeros((3, 2), np.int8))
    args.update(kwargs)
    a, b = args.pop("a"), args.pop("b")
    with pytest.raises(ValueError, match=match):
        kpu.gemm(a, b, **args)


# ---------------------------------------------------------------- conv2d


conv_cases = st.tuples(
    st.integers(1, 7),
    st.integers(1, 7),
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from([1, 3]),
    st.sampled_from([1, 2]),
    st.sampled_from(["same", "valid"]),
    int8s,
    st.integers(0, 2**32 - 1),
)


@medium
@given(conv_cases, st.booleans())
def test_conv2d_matches_direct_loops(case, requant):
    h, w, cin, cout, k, stride, padding, zp, seed = case
    if padding == "valid" and min(h, w) < k:
        return
    rng = np.random.default_rng(seed)
    inp, weights = i8(rng, h, w, cin), i8(rng, cout, k, k, cin)
    bias = rng.integers(-(2**20), 2**20, size=cout).astype(np.int32)
    raw = ref_conv_raw(inp, weights, stride, padding, bias, zp)
    if not requant:
        got = kpu.conv2d(inp, weights, stride=stride, padding=padding, bias=bias, input_zp=zp)
        assert got.dtype == np.int32 and got.tolist() == raw.tolist()
        return
    mult = rng.integers(2**30, 2**31, size=cout)
    shift = rng.integers(-12, 2, size=cout)
    got = kpu.conv2d(
        inp,
        weights,
        stride=stride,
        padding=padding,
        bias=bias,
        input_zp=zp,
        multiplier=mult,
        shift=shift,
        output_zp=-5,
        act_min=-100,
        act_max=120,
    )
    want = [
        [
            [ref_requant(raw[y, x, c], int(mult[c]), int(shift[c]), -5, -100, 120) for c in range(cout)]
            for x in range(raw.shape[1])
        ]
        for y in range(raw.shape[0])
    ]
    assert got.dtype == np.int8 and got.tolist() == want


@medium
@given(conv_cases)
def test_conv2d_equals_gemm_of_im2col(case):
    h, w, cin, cout, k, stride, padding, zp, seed = case
    if padding == "valid" and min(h, w) < k:
        return
    rng = np.random.default_rng(seed)
    inp, weights = i8(rng, h, w, cin), i8(rng, cout, k, k, cin)
    bias = rng.integers(I32_MIN, I32_MAX, size=cout).astype(np.int32)
    mult = rng.integers(2**30, 2**31, size=cout)
    shift = rng.integers(-31, 30, size=cout, endpoint=True)
    patches, (oh, ow) = kpu.im2col(inp, k, k, stride=stride, padding=padding, input_zp=zp)
    assert patches.dtype == np.int8 and patches.shape == (oh * ow, k * k * cin)
    b = kpu.conv_weights_as_gemm(weights)
    for q in (dict(), dict(multiplier=mult, shift=shift, output_zp=3)):
        direct = kpu.conv2d(inp, weights, stride=stride, padding=padding, bias=bias, input_zp=zp, **q)
        via_gemm = kpu.gemm(patches, b, bias=bias, input_zp=zp, **q).reshape(oh, ow, cout)
        assert np.array_equal(direct, via_gemm)


@pytest.mark.parametrize(
    "size, k, stride, padding, want",
    [
        (5, 3, 1, "same", (5, 1)),
        (5, 3, 2, "same", (3, 1)),
        (6, 3, 2, "same", (3, 0)),
        (4, 1, 2, "same", (2, 0)),
        (5, 3, 1, "valid", (3, 0)),
        (6, 3, 2, "valid", (2, 0)),
    ],
)
def test_conv_output_size_tflite(size, k, stride, padding, want):
    assert kpu.conv_output_size(size, k, stride, padding) == want


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(stride=5), "stride must be 1..4"),
        (dict(dilation=3), "dilation must be 1..2"),
        (dict(padding="full"), "padding"),
        (dict(weights=np.zeros((2, 0, 2, 3), np.int8)), "kernel must be at least 1x1"),
        (dict(weights=np.zeros((2, 3, 3, 4), np.int8)), "Cin"),
        (dict(inp=np.zeros((4, 4, 3), np.uint8)), "input must have dtype int8"),
        (dict(inp=np.zeros((2, 2, 3), np.int8), padding="valid"), "valid"),
    ],
)
def test_conv2d_validation(kwargs, match):
    args = dict(inp=np.zeros((4, 4, 3), np.int8), weights=np.zeros((2, 3, 3, 3), np.int8))
    args.update(kwargs)
    inp, weights = args.pop("inp"), args.pop("weights")
    with pytest.raises(ValueError, match=match):
        kpu.conv2d(inp, weights, **args)


# ---------------------------------------------------------------- max-pool


def ref_maxpool(x) -> list:
    """2x2 stride-2 VALID max-pool as nested loops over Python ints."""
    h, w, c = len(x), len(x[0]), len(x[0][0])
    return [
        [
            [max(int(x[2 * y + dy][2 * xx + dx][ch]) for dy in (0, 1) for dx in (0, 1)) for ch in range(c)]
            for xx in range(w // 2)
        ]
        for y in range(h // 2)
    ]


@medium
@given(
    st.integers(2, 9),
    st.integers(2, 9),
    st.integers(1, 4),
    st.sampled_from([np.int8, np.int32]),
    st.integers(0, 2**32 - 1),
)
def test_maxpool2x2_matches_loops(h, w, c, dtype, seed):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, (h, w, c), endpoint=True).astype(dtype)
    got = kpu.maxpool2x2(x)
    assert got.dtype == dtype and got.shape == (h // 2, w // 2, c)
    assert got.tolist() == ref_maxpool(x.tolist())


def test_maxpool2x2_extremes_and_errors():
    x = np.full((2, 2, 2), -128, np.int8)
    x[1, 1, 0] = 127
    assert kpu.maxpool2x2(x).tolist() == [[[127, -128]]]
    with pytest.raises(ValueError, match="at least 2x2"):
        kpu.maxpool2x2(np.zeros((1, 4, 1), np.int8))
    with pytest.raises(ValueError, match=r"\[H, W, C\]"):
        kpu.maxpool2x2(np.zeros((4, 4), np.int8))


@pytest.mark.parametrize("oh, ow", [(2, 2), (3, 5), (4, 4), (5, 2), (6, 7)])
def test_pool_order_is_windows_in_raster_order(oh, ow):
    order = kpu.pool_order(oh, ow).tolist()
    want = [
        (2 * py + dy) * ow + 2 * px + dx
        for py in range(oh // 2)
        for px in range(ow // 2)
        for dy in (0, 1)
        for dx in (0, 1)
    ]
    assert order == want and len(set(order)) == len(order)


def test_maxpool_rows_groups_of_four():
    x = np.arange(24).reshape(8, 3)[::-1]
    assert kpu.maxpool_rows(x).tolist() == [[21, 22, 23], [9, 10, 11]]
    with pytest.raises(ValueError, match="groups of 4"):
        kpu.maxpool_rows(np.zeros((6, 2)))


@medium
@given(conv_cases, st.booleans())
def test_conv2d_pool_matches_loops_and_gemm_rows(case, requant):
    """conv2d(pool=True) == nested-loop max-pool of conv2d, and == the array's view: pooled groups of
    the GEMM over pool_order-ed im2col rows."""
    h, w, cin, cout, k, stride, padding, zp, seed = case
    if padding == "valid" and min(h, w) < k:
        return
    rng = np.random.default_rng(seed)
    inp, weights = i8(rng, h, w, cin), i8(rng, cout, k, k, cin)
    bias = rng.integers(-(2**20), 2**20, size=cout).astype(np.int32)
    q = (
        dict(
            multiplier=rng.integers(2**30, 2**31, size=cout),
            shift=rng.integers(-12, 2, size=cout),
            output_zp=-5,
            act_min=-100,
            act_max=120,
        )
        if requant
        else {}
    )
    full = kpu.conv2d(inp, weights, stride=stride, padding=padding, bias=bias, input_zp=zp, **q)
    oh, ow = full.shape[:2]
    if min(oh, ow) < 2:
        with pytest.raises(ValueError, match="at least 2x2"):
            kpu.conv2d(inp, weights, stride=stride, padding=padding, bias=bias, input_zp=zp, pool=True, **q)
        return
    pooled = kpu.conv2d(inp, weights, stride=stride, padding=padding, bias=bias, input_zp=zp, pool=True, **q)
    assert pooled.dtype == full.dtype and pooled.tolist() == ref_maxpool(full.tolist())
    patches, _ = kpu.im2col(inp, k, k, stride=stride, padding=padding, input_zp=zp)
    rows = kpu.gemm(patches[kpu.pool_order(oh, ow)], kpu.conv_weights_as_gemm(weights), bias=bias, input_zp=zp, **q)
    assert np.array_equal(kpu.maxpool_rows(rows).reshape(pooled.shape), pooled)
